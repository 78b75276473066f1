"""The ``prices`` table: price intervals as they were known, every version kept.

An interval is identified by its source and start. Saving keeps the first price known for it
unless told to replace it (:class:`PriceReplace`); a replacement is a new row, never an update,
so the prices as they were known at any time stay readable (:func:`select_prices` with
``known_at``): a session priced then can be priced again exactly as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Any

from sqlalchemy import Connection, Row, insert, select

from custom_components.ev_sessions.core.prices import PriceInterval

from .schema import prices_table

#: Starts per ``IN (...)`` query.
_BATCH = 500


class PriceReplace(StrEnum):
    """Whether saving an interval replaces a price already stored for its source and start."""

    NEVER = "never"  # the first known price stays
    ESTIMATED = "estimated"  # only an estimated price is replaced (by a real one)
    ALWAYS = "always"  # an explicit correction: the new price replaces a different one


def save_prices(
    conn: Connection, intervals: Sequence[PriceInterval], replace: PriceReplace
) -> list[PriceInterval]:
    """Store the intervals that are new or replace a stored price; the ones stored."""
    current = _latest(conn, intervals)
    stored: list[PriceInterval] = []
    for interval in intervals:
        key = (interval.source, interval.start)
        known = current.get(key)
        if known is not None and not _replaces(interval, known, replace):
            continue
        current[key] = interval
        stored.append(interval)
    if stored:
        conn.execute(insert(prices_table), [_row(interval) for interval in stored])
    return stored


def _replaces(new: PriceInterval, known: PriceInterval, replace: PriceReplace) -> bool:
    if _same(new, known):
        return False
    if replace is PriceReplace.ALWAYS:
        return True
    return replace is PriceReplace.ESTIMATED and known.estimated and not new.estimated


def _same(a: PriceInterval, b: PriceInterval) -> bool:
    return (a.price, a.currency, a.length, a.estimated) == (
        b.price,
        b.currency,
        b.length,
        b.estimated,
    )


def _latest(
    conn: Connection, intervals: Sequence[PriceInterval]
) -> dict[tuple[str, datetime], PriceInterval]:
    """The latest stored version of each (source, start) among ``intervals``."""
    table = prices_table
    by_source: dict[str, list[datetime]] = {}
    for interval in intervals:
        by_source.setdefault(interval.source, []).append(interval.start)
    latest: dict[tuple[str, datetime], PriceInterval] = {}
    for source, starts in by_source.items():
        for index in range(0, len(starts), _BATCH):
            stmt = (
                select(table)
                .where(table.c.source == source, table.c.start.in_(starts[index : index + _BATCH]))
                .order_by(table.c.id)
            )
            for row in conn.execute(stmt):
                latest[(row.source, row.start)] = interval_of_row(row)
    return latest


def select_prices(
    conn: Connection,
    start: datetime,
    end: datetime,
    source: str | None,
    known_at: datetime | None,
) -> list[PriceInterval]:
    """The intervals overlapping ``[start, end)`` as they were known at ``known_at``.

    Per source and start the latest version stored with ``fetched_at <= known_at`` (the latest
    of all without ``known_at``); sorted by source and start.
    """
    table = prices_table
    conds: list[Any] = [table.c.start < end, table.c.end > start]
    if source is not None:
        conds.append(table.c.source == source)
    if known_at is not None:
        conds.append(table.c.fetched_at <= known_at)
    stmt = select(table).where(*conds).order_by(table.c.id)
    latest: dict[tuple[str, datetime], PriceInterval] = {}
    for row in conn.execute(stmt):
        latest[(row.source, row.start)] = interval_of_row(row)
    return [latest[key] for key in sorted(latest)]


def _row(interval: PriceInterval) -> dict[str, object]:
    return {
        "source": interval.source,
        "start": interval.start,
        "end": interval.end,
        "length_s": round(interval.length.total_seconds()),
        "price": str(interval.price),
        "currency": interval.currency,
        "fetched_at": interval.fetched_at,
        "estimated": interval.estimated,
    }


def interval_of_row(row: Row[Any]) -> PriceInterval:
    """The interval a ``prices`` row holds."""
    return PriceInterval(
        source=row.source,
        start=row.start,
        length=timedelta(seconds=int(row.length_s)),
        price=Decimal(row.price),
        currency=row.currency,
        fetched_at=row.fetched_at,
        estimated=bool(row.estimated),
    )
