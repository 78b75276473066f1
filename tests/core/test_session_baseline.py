"""A session's meter starts at the last reading taken while no energy flowed.

A polled charger (Modbus) is seen charging only at the first poll after the car started: the
energy delivered since the previous poll is counted in the lifetime energy, and must be in the
session too (the sum of session energy equals the meter's rise).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from custom_components.ev_sessions.chargers.events import ConnectorState
from custom_components.ev_sessions.core import Session, SessionEngine

from .helpers import CP, Harness, at, sample, status

S = ConnectorState
R0 = 1_000_000


@pytest.fixture
async def harness(db_url: str) -> AsyncIterator[Harness]:
    """Engines over one fresh database (each backend), stopped after the test."""
    h = Harness(db_url)
    yield h
    await h.close()


def _slots_wh(engine: SessionEngine, session: Session) -> int:
    """The energy of the session's slots (closed and open)."""
    return sum(slot.energy_wh for slot in engine.session_slots(session.id))


def _charge(engine: SessionEngine, start_min: float, start_wh: int, polls: int) -> int:
    """A car seen charging at the poll after it started (status first, as the Modbus adapter
    reports an arrival), then polled every minute at 11 kW (184 Wh/min); the last register."""
    engine.handle_event(status(at(start_min), S.CHARGING))
    register = start_wh
    for i in range(polls):
        register += 184
        engine.handle_event(
            sample(at(start_min + i), energy_register_wh=register, power_w=11_040.0)
        )
    return register


def _unplug(engine: SessionEngine, minute: float, register: int) -> Session:
    engine.handle_event(sample(at(minute), energy_register_wh=register, power_w=0.0))
    engine.handle_event(status(at(minute), S.AVAILABLE))
    session = engine.connector(CP, 1).last_session
    assert session is not None
    return session


async def test_energy_before_the_first_poll_in_the_session_counts(harness: Harness) -> None:
    """The idle poll before the car was seen is the session's meter start."""
    engine = await harness.engine()
    engine.handle_event(status(at(0), S.AVAILABLE))
    engine.handle_event(sample(at(0), energy_register_wh=R0, power_w=0.0))
    last = _charge(engine, 1, R0, polls=10)
    session = _unplug(engine, 12, last)
    assert session.meter_start_wh == R0
    assert session.meter_stop_wh == last
    assert session.energy_wh == last - R0 == 1_840
    assert engine.lifetime_energy_wh(CP) == last - R0
    assert _slots_wh(engine, session) == session.energy_wh


async def test_energy_read_before_the_session_was_seen_counts(harness: Harness) -> None:
    """Readings with energy flowing before the session started (state not yet known)."""
    engine = await harness.engine()
    engine.handle_event(sample(at(0), energy_register_wh=R0, power_w=0.0))
    engine.handle_event(sample(at(1), energy_register_wh=R0 + 3, power_w=2_000.0))
    engine.handle_event(sample(at(2), energy_register_wh=R0 + 150, power_w=11_040.0))
    last = _charge(engine, 3, R0 + 150, polls=5)
    session = _unplug(engine, 9, last)
    assert session.meter_start_wh == R0
    assert session.energy_wh == last - R0 == engine.lifetime_energy_wh(CP)
    assert _slots_wh(engine, session) == session.energy_wh
    assert session.profile[0].energy_wh == 150


async def test_back_to_back_sessions_sum_to_the_meter_rise(harness: Harness) -> None:
    """Unplug and replug with no idle poll between: nothing is counted twice or lost."""
    engine = await harness.engine()
    engine.handle_event(status(at(0), S.AVAILABLE))
    engine.handle_event(sample(at(0), energy_register_wh=R0, power_w=0.0))
    first_end = _charge(engine, 1, R0, polls=5)
    first = _unplug(engine, 7, first_end)
    second_end = _charge(engine, 8, first_end, polls=4)
    second = _unplug(engine, 13, second_end)
    assert first.energy_wh == 5 * 184
    assert second.meter_start_wh == first_end
    assert second.energy_wh == 4 * 184
    assert first.energy_wh + second.energy_wh == engine.lifetime_energy_wh(CP)
    assert _slots_wh(engine, second) == second.energy_wh


async def test_an_old_idle_reading_is_not_a_baseline(harness: Harness) -> None:
    """After a gap longer than gap_after (hub down), the first reading in the session is."""
    engine = await harness.engine(gap_after=timedelta(minutes=15))
    engine.handle_event(status(at(0), S.AVAILABLE))
    engine.handle_event(sample(at(0), energy_register_wh=R0, power_w=0.0))
    last = _charge(engine, 60, R0 + 5_000, polls=3)
    session = _unplug(engine, 64, last)
    assert session.meter_start_wh == R0 + 5_000 + 184
    assert session.energy_wh == 2 * 184
