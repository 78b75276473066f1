"""Energy slots: the exact Wh of a session per UTC quarter-hour, measured from its readings."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.ev_sessions.chargers.events import ConnectorState
from custom_components.ev_sessions.core import (
    EngineSettings,
    ProfilePoint,
    SessionEngine,
    SessionStore,
)
from custom_components.ev_sessions.core.energy import close_slot, meter_slot, slots_from_profile
from custom_components.ev_sessions.core.model import Session
from custom_components.ev_sessions.core.slots import SLOT_LENGTH, EnergySlot, slot_start

from .helpers import CP, T0, Harness, at, ended, sample, started, status


@pytest.fixture
async def harness(db_url: str) -> AsyncIterator[Harness]:
    """Engines over one fresh database (each backend), stopped after the test."""
    h = Harness(db_url)
    yield h
    await h.close()


def _slot(minute: int, energy_wh: int, power: float | None, closed: datetime | None) -> EnergySlot:
    return EnergySlot(
        session_id="s",
        start=at(minute),
        energy_wh=energy_wh,
        max_power_w=power,
        closed_at=closed,
    )


def _shape(slots: list[EnergySlot]) -> list[tuple[datetime, int, float | None, datetime | None]]:
    return [(s.start, s.energy_wh, s.max_power_w, s.closed_at) for s in slots]


# --------------------------------------------------------------------------- the type


def test_slot_start_is_the_utc_quarter_hour() -> None:
    """Aligned in UTC whatever the zone: a DST day and a half-hour zone alike."""
    stockholm = ZoneInfo("Europe/Stockholm")
    # 2026-03-29 03:07 CEST, the first hour after the spring change, is 01:07 UTC
    assert slot_start(datetime(2026, 3, 29, 3, 7, tzinfo=stockholm)) == datetime(
        2026, 3, 29, 1, 0, tzinfo=UTC
    )
    # 10:50 in India (+05:30) is 05:20 UTC: the slot starts 05:15 UTC, 10:45 local
    assert slot_start(datetime(2026, 3, 2, 10, 50, tzinfo=ZoneInfo("Asia/Kolkata"))) == datetime(
        2026, 3, 2, 5, 15, tzinfo=UTC
    )
    assert slot_start(at(15)) == at(15)
    assert slot_start(at(29, seconds=59.999)) == at(15)
    slot = EnergySlot(session_id="s", start=at(30), energy_wh=1)
    assert slot.end == at(45) == at(30) + SLOT_LENGTH
    assert slot.closed_at is None


# --------------------------------------------------------------------------- the rule


def _session() -> Session:
    return Session(id="s", charger_id=CP, connector_id=1, plugged_in_at=T0)


def test_a_reading_counts_in_the_slot_where_it_was_taken() -> None:
    """The reading after a boundary closes the slot before it; a straddling reading's energy
    counts after the boundary; an early-stamped reading counts in the open slot."""
    session = _session()
    assert meter_slot(session, at(1), energy_wh=0, power_w=7000.0, now=at(1)) is None
    assert meter_slot(session, at(14), energy_wh=120, power_w=7200.0, now=at(14)) is None
    closed = meter_slot(session, at(16), energy_wh=50, power_w=7100.0, now=at(16, 1))
    assert closed == _slot(0, 120, 7200.0, at(16, 1))
    # stamped before the open slot (accepted out of order): it counts in the open slot
    assert meter_slot(session, at(13), energy_wh=5, power_w=None, now=at(17)) is None
    assert session.open_slot == _slot(15, 55, 7100.0, None)
    # a gap over a whole quarter-hour: no slot for it, its energy counts where it is reported
    closed = meter_slot(session, at(47), energy_wh=300, power_w=0.0, now=at(47))
    assert closed == _slot(15, 55, 7100.0, at(47))
    assert session.open_slot == _slot(45, 300, 0.0, None)
    assert close_slot(session, at(50)) == _slot(45, 300, 0.0, at(50))
    assert session.open_slot is None
    assert _shape(session.slots) == _shape(
        [
            _slot(0, 120, 7200.0, at(16, 1)),
            _slot(15, 55, 7100.0, at(47)),
            _slot(45, 300, 0.0, at(50)),
        ]
    )


def test_a_quarter_hour_without_energy_or_power_has_no_slot() -> None:
    """Idle with 0 W: no slot; power without a register step (a coarse register) is kept."""
    session = _session()
    meter_slot(session, at(1), power_w=0.0, now=at(1))
    meter_slot(session, at(16), power_w=3500.0, now=at(16))  # closes an empty slot: dropped
    assert session.slots == []
    meter_slot(session, at(31), energy_wh=1000, power_w=3500.0, now=at(31))
    assert _shape(session.slots) == [(at(15), 0, 3500.0, at(31))]
    assert close_slot(session, at(32)) == _slot(30, 1000, 3500.0, at(32))
    assert close_slot(session, at(33)) is None


def test_slots_from_a_stored_profile() -> None:
    """Migrated sessions: energy between points counts in the later point's slot; the slots
    always sum to the session's energy."""
    points = [
        ProfilePoint(at=at(0), energy_wh=0, power_w=7000.0),
        ProfilePoint(at=at(10), energy_wh=1200, power_w=7200.0),
        ProfilePoint(at=at(20), energy_wh=2400, power_w=7100.0),  # straddles 17:15
        ProfilePoint(at=at(50), energy_wh=2400, power_w=0.0),  # idle: no energy, 0 W
        ProfilePoint(at=at(65), energy_wh=2500, power_w=400.0),
    ]
    closed, open_slot = slots_from_profile("s", points, 2500, fallback_at=at(0), ended_at=at(70))
    assert open_slot is None
    assert _shape(closed) == [
        (at(0), 1200, 7200.0, at(20)),
        (at(15), 1200, 7100.0, at(50)),
        (at(60), 100, 400.0, at(70)),  # 17:45 had 0 W and nothing drawn: no slot
    ]
    # still open: the last slot is the open one
    closed, open_slot = slots_from_profile("s", points, 2500, fallback_at=at(0), ended_at=None)
    assert [s.start for s in closed] == [at(0), at(15)]
    assert open_slot == _slot(60, 100, 400.0, None)
    # no profile (schema 1): all the energy in the slot of the end
    closed, open_slot = slots_from_profile("s", [], 5000, fallback_at=at(44), ended_at=at(44))
    assert _shape(closed) == [(at(30), 5000, None, at(44))]
    # a cut profile: the missing energy goes to the last slot; too much is taken from the end
    closed, _ = slots_from_profile("s", points[:3], 2500, fallback_at=at(0), ended_at=at(20))
    assert [s.energy_wh for s in closed] == [1200, 1300]
    closed, _ = slots_from_profile("s", points, 1000, fallback_at=at(0), ended_at=at(70))
    assert [s.energy_wh for s in closed] == [1000, 0, 0]  # kept for their power


# --------------------------------------------------------------------------- the engine


async def test_engine_meters_each_quarter_hour(harness: Harness) -> None:
    """Register readings every few minutes, some across a boundary, one gap: exact slots, the
    open one visible, each reported as it closes, and stored."""
    engine = await harness.engine()
    closed: list[EnergySlot] = []
    engine.closed_slots.add(closed.append)
    readings = [  # minute, register, power
        (0, 1000, 7000.0),
        (7, 1100, 7200.0),
        (14, 1220, 7100.0),
        (16, 1270, 7300.0),  # 14 -> 16 straddles 17:15: counts after it
        (29, 1470, 7000.0),
        (31, 1510, 6000.0),
        (46, 1810, 5000.0),  # a gap over 17:45's boundary
    ]
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    for minute, register, power in readings:
        harness.clock.now = at(minute)
        engine.handle_event(sample(at(minute), energy_register_wh=register, power_w=power))
    session = engine.connector(CP, 1).session
    assert session is not None
    sid = session.id
    assert engine.open_slot(sid) == EnergySlot(
        session_id=sid, start=at(45), energy_wh=300, max_power_w=5000.0
    )
    assert [
        (s.start, s.energy_wh, s.max_power_w, s.closed_at) for s in engine.session_slots(sid)
    ] == [
        (at(0), 220, 7200.0, at(16)),
        (at(15), 250, 7300.0, at(31)),
        (at(30), 40, 6000.0, at(46)),
    ]
    harness.clock.now = at(47)
    engine.handle_event(status(at(47), ConnectorState.AVAILABLE))
    assert engine.open_slot(sid) is None
    slots = engine.session_slots(sid)
    assert [s.energy_wh for s in slots] == [220, 250, 40, 300]
    assert slots[-1].closed_at == at(47)
    assert sum(s.energy_wh for s in slots) == session.energy_wh == 810
    assert closed == slots
    [stored] = await engine.async_sessions()
    assert stored.slots == slots
    assert stored.open_slot is None
    assert stored.slots_energy_wh == stored.energy_wh == 810


async def test_resets_out_of_order_and_replays_stay_exact(harness: Harness) -> None:
    """A meter reset, a replayed and an out-of-order reading: the slots hold exactly what the
    session counted, an early-stamped reading that counts goes to the open slot."""
    engine = await harness.engine()
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    for minute, register in ((0, 5000), (5, 5100), (10, 20), (12, 80), (12, 80), (11, 70)):
        engine.handle_event(sample(at(minute), energy_register_wh=register, power_w=3600.0))
    engine.handle_event(sample(at(16), energy_register_wh=150, power_w=3600.0))
    # stamped before 17:15 but the register moved on: counted (as the charger's clock was
    # ahead before), in the open slot since 17:00 is closed
    engine.handle_event(sample(at(14), energy_register_wh=160, power_w=3600.0))
    session = engine.connector(CP, 1).session
    assert session is not None
    assert session.energy_wh == 100 + 60 + 70 + 10
    assert [(s.start, s.energy_wh) for s in session.slots] == [(at(0), 160)]
    assert session.open_slot is not None
    assert (session.open_slot.start, session.open_slot.energy_wh) == (at(15), 80)
    assert session.slots_energy_wh == session.energy_wh


async def test_energy_after_the_end_is_a_slot_of_its_own(harness: Harness) -> None:
    """The transaction's final meter value arrives after the unplug: a closed slot is added
    (same start as the last one), the closed ones are not changed."""
    engine = await harness.engine()
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    engine.handle_event(started(at(0), "7", 1000))
    for minute, register in ((5, 1100), (10, 1200), (14, 1300), (20, 1500)):
        engine.handle_event(sample(at(minute), transaction_id="7", energy_register_wh=register))
    engine.handle_event(status(at(21), ConnectorState.AVAILABLE))
    session = engine.connector(CP, 1).last_session
    assert session is not None
    before = list(session.slots)
    assert [(s.start, s.energy_wh) for s in before] == [(at(0), 300), (at(15), 200)]
    engine.handle_event(ended(at(21.5), "7", 1530))
    assert session.energy_wh == 530
    assert session.slots[:2] == before
    assert [(s.start, s.energy_wh) for s in session.slots] == [
        (at(0), 300),
        (at(15), 200),
        (at(15), 30),
    ]
    assert session.open_slot is None
    [stored] = await engine.async_sessions()
    assert [(s.start, s.energy_wh) for s in stored.slots] == [
        (at(0), 300),
        (at(15), 200),
        (at(15), 30),
    ]


async def test_retroactive_session_has_its_slot(harness: Harness) -> None:
    """A transaction end never seen started: its energy is one closed slot."""
    engine = await harness.engine()
    engine.handle_event(sample(at(0), energy_register_wh=1000))
    engine.handle_event(ended(at(33), "x", 1600))
    session = engine.connector(CP, 1).last_session
    assert session is not None
    assert session.energy_wh == 600
    assert [(s.start, s.energy_wh, s.closed_at) for s in session.slots] == [(at(30), 600, T0)]


async def test_restart_mid_slot_loses_no_energy(harness: Harness) -> None:
    """Stopped in the middle of a quarter-hour: the open slot's energy is restored and the
    slot closes with all of it."""
    engine = await harness.engine()
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    for minute in range(11):
        engine.handle_event(sample(at(minute), energy_register_wh=2000 + 30 * minute))
    await engine.async_stop()

    engine = await harness.engine()
    session = engine.connector(CP, 1).session
    assert session is not None
    assert session.open_slot is not None
    assert (session.open_slot.start, session.open_slot.energy_wh) == (at(0), 300)
    for minute in range(11, 21):
        engine.handle_event(sample(at(minute), energy_register_wh=2000 + 30 * minute))
    assert [(s.start, s.energy_wh) for s in session.slots] == [(at(0), 420)]
    assert session.open_slot is not None
    assert (session.open_slot.start, session.open_slot.energy_wh) == (at(15), 180)
    assert session.slots_energy_wh == session.energy_wh == 600


async def test_crash_mid_slot_loses_no_energy(harness: Harness) -> None:
    """The process dies without its final write: what was not written is counted again from
    the register by the next reading, in the slot where that reading is taken."""
    engine = await harness.engine(flush_interval=timedelta(hours=1))
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    for minute in range(7):
        engine.handle_event(sample(at(minute), energy_register_wh=2000 + 30 * minute))
    await engine.async_flush()
    for minute in range(7, 12):  # never written
        engine.handle_event(sample(at(minute), energy_register_wh=2000 + 30 * minute))
    await _crash(engine)

    engine = await harness.engine()
    session = engine.connector(CP, 1).session
    assert session is not None
    assert session.open_slot is not None
    assert (session.open_slot.start, session.open_slot.energy_wh) == (at(0), 180)
    engine.handle_event(sample(at(14), energy_register_wh=2000 + 30 * 14))
    engine.handle_event(sample(at(17), energy_register_wh=2000 + 30 * 17))
    assert [(s.start, s.energy_wh) for s in session.slots] == [(at(0), 420)]
    assert session.slots_energy_wh == session.energy_wh == 510


async def _crash(engine: SessionEngine) -> None:
    """Stop an engine the way a killed process does: no final write."""
    engine._stopped = True
    assert engine._task is not None
    engine._task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await engine._task
    await engine._store.async_close()


# --------------------------------------------------------------------------- property

_READING = st.tuples(
    st.integers(min_value=-120, max_value=1200),  # seconds since the previous reading
    st.integers(min_value=-3000, max_value=400),  # register step (a drop: a meter reset)
    st.one_of(st.none(), st.floats(min_value=0, max_value=22_000)),
)


@settings(max_examples=60, deadline=None)
@given(readings=st.lists(_READING, min_size=1, max_size=60), end=st.booleans())
def test_slots_always_sum_to_the_session_energy(
    readings: list[tuple[int, int, float | None]], end: bool
) -> None:
    """Any order, resets, gaps, replays: the slots sum to the energy, closed slots never
    change, starts never go back."""
    engine = SessionEngine(
        SessionStore("sqlite://"),
        clock=lambda: T0,
        settings=EngineSettings(future_tolerance=timedelta(days=1)),
    )
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    session = engine.connector(CP, 1).session
    assert session is not None
    when, register = T0, 50_000
    for step_s, step_wh, power in readings:
        when += timedelta(seconds=step_s)
        register = max(register + step_wh, 0)
        before = list(session.slots)
        engine.handle_event(sample(when, energy_register_wh=register, power_w=power))
        assert session.slots[: len(before)] == before
        assert session.slots_energy_wh == session.energy_wh
        starts = [s.start for s in session.slots]
        assert starts == sorted(starts)
        if session.open_slot is not None and starts:
            assert session.open_slot.start > starts[-1]
    if end:
        engine.handle_event(status(max(when, T0), ConnectorState.AVAILABLE))
        assert session.open_slot is None
        assert sum(s.energy_wh for s in session.slots) == session.energy_wh
