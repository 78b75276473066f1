"""The price table: intervals as they were known, the first price kept unless replaced."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from custom_components.ev_sessions.core import SessionStore
from custom_components.ev_sessions.core.prices import PriceInterval
from custom_components.ev_sessions.core.storage import PriceReplace

from .helpers import at

HOUR = timedelta(hours=1)
QUARTER = timedelta(minutes=15)


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[SessionStore]:
    """An open store."""
    store = SessionStore(f"sqlite:///{tmp_path / 'ev.db'}")
    await store.async_open()
    yield store
    await store.async_close()


def _price(
    minute: int,
    price: str,
    *,
    fetched: datetime,
    source: str = "sensor.nordpool",
    length: timedelta = QUARTER,
    estimated: bool = False,
) -> PriceInterval:
    return PriceInterval(
        source=source,
        start=at(minute),
        length=length,
        price=Decimal(price),
        currency="SEK",
        fetched_at=fetched,
        estimated=estimated,
    )


def _prices(intervals: list[PriceInterval]) -> list[tuple[datetime, Decimal, bool]]:
    return [(i.start, i.price, i.estimated) for i in intervals]


async def test_first_known_price_is_kept(store: SessionStore) -> None:
    """Saving again changes nothing; a different price for a stored interval is not taken
    unless replacing is asked for. Prices stay exact Decimals."""
    day = [_price(m, f"1.{m:02d}123456789", fetched=at(-60)) for m in (0, 15, 30, 45)]
    assert await store.async_save_prices(day) == day
    assert await store.async_save_prices(day) == []
    changed = _price(15, "9.99", fetched=at(-30))
    assert await store.async_save_prices([changed]) == []
    stored = await store.async_prices(start=at(0), end=at(60))
    assert stored == day
    assert stored[1].price == Decimal("1.15123456789")


async def test_replacements_keep_every_version(store: SessionStore) -> None:
    """An estimate is replaced by the real price (ESTIMATED), a real price only by ALWAYS;
    reading as known at a time gives the versions of that time."""
    estimate = _price(0, "2.00", fetched=at(-60), estimated=True)
    real = _price(15, "1.50", fetched=at(-60))
    await store.async_save_prices([estimate, real])
    late_real = _price(0, "1.10", fetched=at(30))
    correction = _price(15, "1.40", fetched=at(30))
    stored = await store.async_save_prices([late_real, correction], replace=PriceReplace.ESTIMATED)
    assert stored == [late_real]  # a real price is not replaced by ESTIMATED
    assert await store.async_save_prices([correction], replace=PriceReplace.ALWAYS) == [correction]
    assert _prices(await store.async_prices(start=at(0), end=at(30))) == [
        (at(0), Decimal("1.10"), False),
        (at(15), Decimal("1.40"), False),
    ]
    assert _prices(await store.async_prices(start=at(0), end=at(30), known_at=at(0))) == [
        (at(0), Decimal("2.00"), True),
        (at(15), Decimal("1.50"), False),
    ]
    assert await store.async_prices(start=at(0), end=at(30), known_at=at(-61)) == []
    # an estimate never replaces a real price, whatever is asked
    assert (
        await store.async_save_prices(
            [_price(0, "3.00", fetched=at(40), estimated=True)], replace=PriceReplace.ESTIMATED
        )
        == []
    )


async def test_range_and_source(store: SessionStore) -> None:
    """Intervals overlapping the range (an hourly one that began before it too), per source."""
    fetched = at(-600)
    await store.async_save_prices(
        [
            _price(-60, "1.0", fetched=fetched, length=HOUR),
            _price(0, "2.0", fetched=fetched, length=HOUR),
            _price(60, "3.0", fetched=fetched, length=HOUR),
            _price(0, "0.5", fetched=fetched, source="fixed", length=QUARTER),
        ]
    )
    # "fixed" [17:00, 17:15) ends before the range; the hour from 17:00 overlaps it
    assert _prices(await store.async_prices(start=at(30), end=at(45))) == [
        (at(0), Decimal("2.0"), False)
    ]
    found = await store.async_prices(start=at(0), end=at(61), source="sensor.nordpool")
    assert [(i.start, i.length) for i in found] == [(at(0), HOUR), (at(60), HOUR)]
    both = await store.async_prices(start=at(0), end=at(15))
    assert [(i.source, i.price) for i in both] == [
        ("fixed", Decimal("0.5")),
        ("sensor.nordpool", Decimal("2.0")),
    ]
