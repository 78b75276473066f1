"""Outages: reported once, reconnected with backoff, no energy lost across the gap."""

from __future__ import annotations

import asyncio
import itertools
import logging

import pytest

from custom_components.ev_sessions.chargers.events import (
    ChargerConnected,
    ChargerDisconnected,
    ConnectorState,
    MeterSample,
    SetCurrentLimit,
)

from .helpers import DEVICES, rig, wait_energy, wait_state, wait_until

START_WH = {"abb": 0}


@pytest.mark.parametrize("model", DEVICES)
async def test_outage_mid_session_loses_no_energy(
    socket_enabled: None, model: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Charging at 7 kW; the device vanishes for 30 device minutes; the deltas still add up."""
    caplog.set_level(logging.INFO, logger="custom_components.ev_sessions.chargers.modbus")
    async with rig(model, backoff_max_s=10) as r:  # reconnect attempts at most 0.1 s apart
        sim, h = r.sim, r.handler
        start = START_WH.get(model, 1_000_000)
        sim.plug_in()
        sim.start_charging(7000)
        await wait_state(h, ConnectorState.CHARGING)
        sim.advance(1800)
        await wait_energy(h, start + 3500)

        await sim.go_offline()
        await wait_until(lambda: bool(h.of(ChargerDisconnected)), what="disconnect event")
        sim.advance(1800)  # the car keeps charging while we cannot see it
        await asyncio.sleep(0.12)  # several failed reconnects (backoff 10, 20, 40... ms)
        assert len(h.of(ChargerDisconnected)) == 1
        assert not r.charger.connected

        await sim.back_online()
        await wait_energy(h, start + 7000)
        assert len(h.of(ChargerConnected)) == 2
        await wait_state(h, ConnectorState.CHARGING)  # the state is re-reported after the gap

    energies = h.energies
    deltas = [b - a for a, b in itertools.pairwise(energies)]
    assert all(d >= 0 for d in deltas)
    assert sum(deltas) == 7000
    lost = [rec for rec in caplog.records if "unreachable" in rec.getMessage()]
    back = [rec for rec in caplog.records if "is back" in rec.getMessage()]
    assert len(lost) == 1
    assert len(back) == 1
    disconnected = h.of(ChargerDisconnected)
    assert [e.reason for e in disconnected][-1] == "stopped"


async def test_limit_reapplied_after_outage(socket_enabled: None) -> None:
    """A device that fell back during an outage gets the hub's limit again on return."""
    async with rig("vestel") as r:
        await r.charger.execute(SetCurrentLimit(limit_a=10))
        await r.sim.go_offline()
        await wait_until(lambda: not r.charger.connected)
        r.sim.physics.setpoint_a = 6  # e.g. rebooted into its failsafe current
        await r.sim.back_online()
        await wait_until(lambda: r.sim.current_limit == 10, what="limit re-applied")


async def test_idle_close_reconnects_silently(socket_enabled: None) -> None:
    """Alfen closes idle connections: one dropped socket is not an outage."""
    async with rig("alfen") as r:
        r.sim.plug_in()
        await wait_state(r.handler, ConnectorState.PREPARING)
        for _ in range(3):
            r.sim.drop_connections()
            target = r.sim.reads + 8
            await wait_until(lambda: r.sim.reads >= target, what="polling resumed")  # noqa: B023
        r.sim.start_charging(7000)
        r.sim.advance(360)
        await wait_energy(r.handler, 1_000_700)
        assert r.handler.of(ChargerDisconnected) == []
        assert len(r.handler.of(ChargerConnected)) == 1


async def test_unreachable_from_the_start(socket_enabled: None) -> None:
    """Start against a dead port: no events until the device appears, then connected once."""
    async with rig("charx", start=False) as r:
        await r.sim.go_offline()
        await r.charger.start()
        await asyncio.sleep(0.2)
        assert r.handler.events == []
        await r.sim.back_online()
        await wait_state(r.handler, ConnectorState.AVAILABLE)
        assert len(r.handler.of(ChargerConnected)) == 1
        assert isinstance(r.handler.events[1], MeterSample)
