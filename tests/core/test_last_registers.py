"""The engine restores the last registers it applied, so adapters can continue from them."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from custom_components.ev_sessions.chargers.events import ConnectorState
from custom_components.ev_sessions.chargers.modbus.energy import LifetimeFromSession

from .helpers import CP, Harness, at, sample, status


@pytest.fixture
async def harness(db_url: str) -> AsyncIterator[Harness]:
    """Engines over one fresh database (each backend), stopped after the test."""
    h = Harness(db_url)
    yield h
    await h.close()


async def test_last_registers_survive_a_restart(harness: Harness) -> None:
    """Register and session register of the last applied sample, before and after a restart."""
    engine = await harness.engine()
    assert engine.last_registers(CP, 1) == (None, None)
    engine.handle_event(status(at(0), ConnectorState.PREPARING))
    engine.handle_event(sample(at(1), energy_register_wh=5_000, session_energy_wh=0))
    engine.handle_event(sample(at(2), energy_register_wh=5_600, session_energy_wh=600))
    assert engine.last_registers(CP, 1) == (5_600, 600)
    assert engine.last_registers(CP, 2) == (None, None)
    await engine.async_stop()

    again = await harness.engine()
    assert again.last_registers(CP, 1) == (5_600, 600)


@pytest.mark.parametrize(
    ("session_after", "expected"),
    [
        (900, 5_900),  # the same session went on while the adapter was down
        (600, 5_600),  # nothing happened
        (250, 5_850),  # a new session started meanwhile: the old one is not counted twice
    ],
)
async def test_session_built_counter_continues_without_anomaly(
    harness: Harness, session_after: int, expected: int
) -> None:
    """ABB-style counter restored from the engine: no reset, nothing lost or doubled."""
    engine = await harness.engine()
    counter = LifetimeFromSession(5_000)
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    for minute, session in ((1, 0), (2, 600)):
        register = round(counter.update(session))
        engine.handle_event(
            sample(at(minute), energy_register_wh=register, session_energy_wh=session)
        )
    total = engine.lifetime_energy_wh(CP)
    await engine.async_stop()

    again = await harness.engine()
    start, last_session = again.last_registers(CP, 1)
    assert start is not None
    restored = LifetimeFromSession(start, last_session)
    register = round(restored.update(session_after))
    assert register == expected
    again.handle_event(sample(at(5), energy_register_wh=register, session_energy_wh=session_after))
    assert again.lifetime_energy_wh(CP) == total + expected - 5_600
    session = again.connector(CP, 1).session
    assert session is not None
    assert session.anomalies == []
