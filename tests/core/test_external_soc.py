"""A state of charge from outside the charger (issue 11: SoC from a chosen HA entity)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from custom_components.ev_sessions.chargers.events import ConnectorState

from .helpers import CP, Harness, at, sample, status


@pytest.fixture
async def harness(db_url: str) -> AsyncIterator[Harness]:
    """Engines over one fresh database, stopped after the test."""
    h = Harness(db_url)
    yield h
    await h.close()


async def test_external_soc_estimates_the_end_until_the_charger_reports_one(
    harness: Harness,
) -> None:
    """A charger without SoC: the car's SoC from outside is shown and, with the battery
    capacity, gives the end; once the charger reports a SoC itself, the outside one is ignored."""
    engine = await harness.engine()
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    for m in range(11):
        engine.handle_event(
            sample(at(m), energy_register_wh=1_000 + 10_000 * m // 60, power_w=10_000.0)
        )
    harness.clock.now = at(10)
    engine.set_target(CP, 1, soc_pct=100.0, battery_wh=60_000)
    view = engine.connector(CP, 1)
    assert (view.soc_pct, view.estimated_end_at) == (None, None)
    engine.set_external_soc(CP, 1, 50.0)
    assert view.soc_pct == 50.0
    assert view.estimated_end_at == at(10 + 180)  # 50 % of 60 kWh at 10 kW
    session = view.session
    assert session is not None
    assert session.tracking.soc_start_pct == 50.0  # where a learnt capacity starts from
    engine.set_external_soc(CP, 1, None)  # the source became unavailable
    assert (view.soc_pct, view.estimated_end_at) == (None, None)
    engine.handle_event(sample(at(11), energy_register_wh=2_850, power_w=10_000.0, soc_pct=70.0))
    engine.set_external_soc(CP, 1, 40.0)
    assert view.soc_pct == 70.0
