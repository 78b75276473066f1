"""What the members' statistics read from the store (issue 16): a few totals per ended session
to check a series, and slots and costs to rebuild one, never the power profiles."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from custom_components.ev_sessions.core import (
    EnergySlot,
    ProfilePoint,
    SeriesEnd,
    SeriesTotals,
    Session,
    SessionStore,
    member_hours,
    series_current,
    series_totals,
)

T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)


def _session(
    sid: str, member: str | None, slots: list[tuple[int, int]], cost: str | None, *, ended: bool
) -> Session:
    """A session with slots given as (minutes after T0, Wh) and a power profile."""
    session = Session(id=sid, charger_id="CP1", connector_id=1, plugged_in_at=T0, member_id=member)
    session.slots = [
        EnergySlot(session_id=sid, start=T0 + timedelta(minutes=m), energy_wh=wh, closed_at=T0)
        for m, wh in slots
    ]
    session.energy_wh = sum(wh for _, wh in slots)
    session.profile = [
        ProfilePoint(at=T0 + timedelta(minutes=m), power_w=7000.0, energy_wh=m * 100)
        for m in (0, 1)
    ]
    session.cost = None if cost is None else Decimal(cost)
    session.unplugged_at = T0 + timedelta(hours=5) if ended else None
    return session


SESSIONS = [
    _session("a1", "anna", [(0, 1000), (15, 2000), (75, 500)], "7.50", ended=True),
    _session("a2", "anna", [(180, 0), (195, 400)], None, ended=True),
    _session("a3", "anna", [(240, 9000)], "9.00", ended=False),  # open: not counted yet
    _session("b1", "bo", [], "3.00", ended=True),  # fees only
    _session("g1", None, [(0, 800)], "1.00", ended=True),  # unattributed
]


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[SessionStore]:
    """An open store holding :data:`SESSIONS` (each backend)."""
    store = SessionStore(db_url)
    await store.async_open()
    await store.async_save(SESSIONS)
    yield store
    await store.async_close()


async def test_member_figures_give_the_hours_of_the_full_sessions(store: SessionStore) -> None:
    """Rebuilt from slots and costs alone, the series are those of the whole sessions."""
    figures = await store.async_member_figures(["anna", "bo"])
    assert {f.member_id for f in figures} == {"anna", "bo"}
    assert member_hours(figures, "SEK") == member_hours(SESSIONS, "SEK")
    assert await store.async_member_figures(["nobody"]) == []


async def test_session_sums_give_how_each_series_ends(store: SessionStore) -> None:
    """Anna: 3.9 kWh and 7.50 up to the hour of her last slot with energy (12:00); Bo's fee
    counts in the hour he plugged in; the open and the unattributed sessions are left out."""
    totals = series_totals(await store.async_session_sums())
    assert totals == {
        "anna": SeriesTotals(
            last_hour=T0 + timedelta(hours=3), energy_wh=3900, cost=Decimal("7.50")
        ),
        "bo": SeriesTotals(last_hour=T0, energy_wh=0, cost=Decimal("3.00")),
    }
    for member_id, rows in member_hours(SESSIONS, "SEK").items():
        last = rows[-1]
        end = SeriesEnd(
            start=last.start, energy_kwh=last.energy_sum_wh / 1000, cost=float(last.cost_sum)
        )
        assert series_current(totals[member_id], end, "SEK")


def test_a_series_is_current_only_with_its_last_hour_and_both_sums() -> None:
    """Another last hour, a Wh more or an öre more: not current; float noise is."""
    totals = SeriesTotals(last_hour=T0, energy_wh=3900, cost=Decimal("7.50"))
    assert series_current(totals, SeriesEnd(start=T0, energy_kwh=3.9000000001, cost=7.5), "SEK")
    assert not series_current(totals, None, "SEK")
    later = T0 + timedelta(hours=1)
    assert not series_current(totals, SeriesEnd(start=later, energy_kwh=3.9, cost=7.5), "SEK")
    assert not series_current(totals, SeriesEnd(start=T0, energy_kwh=3.901, cost=7.5), "SEK")
    assert not series_current(totals, SeriesEnd(start=T0, energy_kwh=3.9, cost=7.51), "SEK")
