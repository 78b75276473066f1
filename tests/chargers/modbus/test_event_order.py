"""Event order around state changes: a session's first reading and last reading belong to it."""

from __future__ import annotations

from custom_components.ev_sessions.chargers.events import (
    ConnectorState,
    MeterSample,
    StatusChanged,
)

from .helpers import rig, wait_state

S = ConnectorState


async def test_status_before_sample_on_arrival_sample_before_status_on_departure(
    socket_enabled: None,
) -> None:
    """Plugged in and charging within one poll: CHARGING comes first, then the baseline;
    at the unplug the final reading comes first, then AVAILABLE."""
    async with rig("abb") as r:
        r.sim.plug_in()
        r.sim.start_charging(7000)
        await wait_state(r.handler, S.CHARGING)
        r.sim.advance(360)
        r.sim.unplug()
        await wait_state(r.handler, S.AVAILABLE)
    events = [e for e in r.handler.events if isinstance(e, MeterSample | StatusChanged)]
    charging = next(
        i for i, e in enumerate(events) if isinstance(e, StatusChanged) and e.state is S.CHARGING
    )
    first = events[charging + 1]
    assert isinstance(first, MeterSample)
    assert first.power_w == 7000
    assert first.energy_register_wh == 0
    last_status = events[-1]
    assert isinstance(last_status, StatusChanged)
    assert last_status.state is S.AVAILABLE
    final = events[-2]
    assert isinstance(final, MeterSample)
    assert final.energy_register_wh == 700
