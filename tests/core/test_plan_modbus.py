"""Live plan execution over the Modbus simulators (issue 13).

A site whose planner runs on a settable clock drives a real Modbus adapter polling a simulated
charger (device time 200 x, the adapter's periods scaled to match, as in
``tests/chargers/modbus``). The plan charges 18:00-19:00 only: outside the window the charger is
paused the profile's way (a 0 A setpoint, or the enable register cleared); inside it the
setpoint is the plan's 16 A. Each state holds for longer than the device's watchdog timeout: the
adapter re-sends what the plan wants within the profile's watchdog period, so the device never
falls back to its safe current.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
import itertools

import pytest

from custom_components.ev_sessions.chargers.events import ConnectorState
from custom_components.ev_sessions.core import ChargerLink, Execution, PlanSettings
from tests.chargers.modbus.helpers import Rig as ModbusRig, rig as modbus_rig, wait_state

from .helpers import CP, T0, Clock
from .test_charge_planning import MemoryStore, quarter_prices, with_prices
from .test_site import MakeRig, make_rig  # noqa: F401  (the fixture)

#: Device time runs this many times faster than real time; the adapter's periods are scaled
#: to match.
RATE = 200
#: Device seconds each state is held: longer than every watchdog timeout of the simulated
#: devices (Alfen 60 s, KEBA 30 s).
HOLD_S = 70
#: model -> (setpoint address, watchdog period of its profile in device seconds or None,
#: pauses by its enable register)
MODELS: dict[str, tuple[int, float | None, bool]] = {
    "alfen": (1210, 25, False),  # 0 A pauses; the setpoint itself is rewritten every 25 s
    "keba": (5004, 15, True),  # the enable register pauses; the failsafe is fed every 15 s
    "phoenix_ev_eth": (528, None, True),  # the enable coil pauses; no watchdog
}


async def _hold(sim_rig: ModbusRig) -> None:
    """Let HOLD_S device seconds pass with the adapter running."""
    await asyncio.sleep(HOLD_S / RATE)


def _paused(sim_rig: ModbusRig, by_enable: bool) -> bool:
    sim = sim_rig.sim
    return not sim.enabled if by_enable else sim.effective_limit == 0


@pytest.mark.parametrize("model", sorted(MODELS))
async def test_the_setpoint_follows_the_plan_per_window_through_the_watchdog(
    make_rig: MakeRig,  # noqa: F811
    socket_enabled: None,
    model: str,
) -> None:
    address, period, by_enable = MODELS[model]
    rig = await make_rig(Clock())  # the planner's clock at 17:00 UTC
    await with_prices(rig, quarter_prices(T0, {4, 5, 6, 7}))  # cheap 18:00-19:00 UTC
    async with modbus_rig(model, rate=RATE, watchdog=True, time_scale=1 / RATE) as sim_rig:
        sim = sim_rig.sim
        sim.plug_in()
        sim.start_charging(11000)
        await wait_state(sim_rig.handler, ConnectorState.CHARGING)
        rig.site.register_charger(ChargerLink(charger_id=CP, send=sim_rig.charger.execute))
        await rig.site.planning.async_start(MemoryStore())
        plan = await rig.site.planning.async_set_settings(
            CP, PlanSettings(energy_wh=11040, ready_by_at=T0 + timedelta(hours=6))
        )
        assert plan.execution is Execution.LIVE

        # 17:00: before the window the charger is paused, and stays paused past its watchdog.
        await rig.site.async_wait_idle()
        await _hold(sim_rig)
        assert _paused(sim_rig, by_enable), model
        assert sim.physics.fallbacks == 0

        # 18:00: the window: the plan's 16 A, held past the watchdog timeout.
        rig.clock.now = T0 + timedelta(hours=1)
        rig.site.planning.async_refresh(CP)
        await rig.site.async_wait_idle()
        window_from = len(sim.writes_to(address))
        await _hold(sim_rig)
        assert (sim.enabled, sim.current_limit, sim.effective_limit) == (True, 16, 16), model
        assert sim.physics.fallbacks == 0
        if period is not None and not by_enable:
            # The setpoint is re-sent within the watchdog period, always with the plan's value.
            writes = sim.writes_to(address)[window_from:]
            gaps = [b.at - a.at for a, b in itertools.pairwise(writes)]
            assert len(writes) >= 2, writes
            assert max(gaps) <= period * 1.5 + 2, gaps

        # 19:00: after the window, paused again (and kept paused).
        rig.clock.now = T0 + timedelta(hours=2)
        rig.site.planning.async_refresh(CP)
        await rig.site.async_wait_idle()
        await _hold(sim_rig)
        assert _paused(sim_rig, by_enable), model
        assert sim.physics.fallbacks == 0
        await rig.site.planning.async_stop()
