"""Commands: the limit lands in the right register, in the right format, with the right FC."""

from __future__ import annotations

import pytest

from custom_components.ev_sessions.chargers.events import (
    ChargerNotConnectedError,
    ClearLimits,
    CommandNotSupportedError,
    ConnectorState,
    GetCurrentLimit,
    Reset,
    SetCurrentLimit,
    StartCharging,
    StopCharging,
    UnlockConnector,
)
from simulators.modbus_devices import ChargerSimulator

from .helpers import DEVICES, rig, wait_state, wait_until

Op = tuple[int, int, tuple[int, ...]]  # (function code, address, values)

#: What each model must receive for a 16 A limit and for a pause.
LIMIT_16: dict[str, list[Op]] = {
    "alfen": [(16, 1210, (0x4180, 0x0000))],  # float32 16.0, both registers in one FC16
    "abb": [(16, 0x4100, (0, 16000))],  # u32 mA, [hi, lo]
    "vestel": [(6, 5004, (16,))],
    "webasto_next": [(16, 5004, (16,))],
    "keba": [(6, 5014, (1,)), (6, 5004, (16000,))],  # enable, then mA with FC6
    "charx": [(16, 1300, (1,)), (16, 1301, (16,))],
    "phoenix_ev_eth": [(5, 400, (1,)), (6, 528, (16,))],  # enable coil, then A
    "phoenix_ev_eth:wallbe": [(5, 400, (1,)), (6, 528, (160,))],  # 0.1 A steps
    "phoenix_em_eth": [(5, 400, (1,)), (6, 300, (16,))],
}
PAUSE: dict[str, list[Op]] = {
    "alfen": [(16, 1210, (0, 0))],
    "abb": [(16, 0x4100, (0, 0))],
    "vestel": [(6, 5004, (0,))],
    "webasto_next": [(16, 5004, (0,))],
    "keba": [(6, 5014, (0,))],  # 5004 cannot be 0 on a P30: disable instead
    "charx": [(16, 1300, (0,))],
    "phoenix_ev_eth": [(5, 400, (0,))],  # clear the enable coil; 528 is never 0
    "phoenix_ev_eth:wallbe": [(5, 400, (0,))],
    "phoenix_em_eth": [(5, 400, (0,))],
}
MAX_32: dict[str, Op] = {
    "alfen": (16, 1210, (0x4200, 0x0000)),
    "abb": (16, 0x4100, (0, 32000)),
    "vestel": (6, 5004, (32,)),
    "webasto_next": (16, 5004, (32,)),
    "keba": (6, 5004, (32000,)),
    "charx": (16, 1301, (32,)),
    "phoenix_ev_eth": (6, 528, (32,)),
    "phoenix_ev_eth:wallbe": (6, 528, (320,)),
    "phoenix_em_eth": (6, 300, (32,)),
}
ENABLE_REGISTER = {"keba", "charx", "phoenix_ev_eth", "phoenix_ev_eth:wallbe", "phoenix_em_eth"}


def _ops_since(sim: ChargerSimulator, mark: int) -> list[Op]:
    return [
        (w.function_code, w.address, w.values) for w in sim.writes[mark:] if w.exception is None
    ]


def _is_subsequence(wanted: list[Op], ops: list[Op]) -> bool:
    it = iter(ops)
    return all(any(op == w for op in it) for w in wanted)


def _paused(sim: ChargerSimulator, model: str) -> bool:
    return (not sim.enabled) if model in ENABLE_REGISTER else sim.current_limit == 0


@pytest.mark.parametrize("model", DEVICES)
async def test_limit_pause_resume_clear(socket_enabled: None, model: str) -> None:
    """16 A, 0 A (pause), Stop/Start, below-minimum and ClearLimits, against a charging car."""
    # rate=100: device time follows real time, so KEBA's 5 s write spacing is checkable
    async with rig(model, rate=100) as r:
        sim, charger, h = r.sim, r.charger, r.handler
        sim.plug_in()
        sim.start_charging(7000)
        await wait_state(h, ConnectorState.CHARGING)

        mark = len(sim.writes)
        result = await charger.execute(SetCurrentLimit(limit_a=16))
        assert result.accepted
        assert result.data == {"limit_a": 16, "paused": False}
        assert _is_subsequence(LIMIT_16[model], _ops_since(sim, mark)), _ops_since(sim, mark)
        assert sim.current_limit == 16
        assert sim.enabled

        mark = len(sim.writes)
        result = await charger.execute(SetCurrentLimit(limit_a=0))
        assert result.data["paused"] is True
        assert _is_subsequence(PAUSE[model], _ops_since(sim, mark)), _ops_since(sim, mark)
        assert _paused(sim, model)
        await wait_state(h, ConnectorState.SUSPENDED_EVSE)
        await wait_until(lambda: h.last_sample().power_w == 0, what="power 0 while paused")

        await charger.execute(SetCurrentLimit(limit_a=16))
        await wait_state(h, ConnectorState.CHARGING)
        await charger.execute(StopCharging())
        assert _paused(sim, model)
        await wait_state(h, ConnectorState.SUSPENDED_EVSE)
        await charger.execute(StartCharging(id_tag="hub"))
        assert sim.current_limit == 16
        assert sim.enabled
        await wait_state(h, ConnectorState.CHARGING)

        await charger.execute(SetCurrentLimit(limit_a=3))  # below the IEC minimum: pause
        assert _paused(sim, model)
        mark = len(sim.writes)
        result = await charger.execute(ClearLimits())
        assert result.data == {"limit_a": 32, "paused": False}
        assert MAX_32[model] in _ops_since(sim, mark)
        await charger.execute(SetCurrentLimit(limit_a=80))  # clamped to the maximum
        assert sim.current_limit == 32
        assert sim.rate_violations == 0
        assert all(w.exception is None for w in sim.writes), [w for w in sim.writes if w.exception]


async def test_installation_maximum_and_fractional_amps(socket_enabled: None) -> None:
    """``max_current_a`` caps every write; integer registers never round a limit up."""
    async with rig("vestel", max_current_a=20) as r:
        await r.charger.execute(ClearLimits())
        assert r.sim.current_limit == 20
        await r.charger.execute(SetCurrentLimit(limit_a=10.9))
        assert r.sim.current_limit == 10


async def test_unsupported_and_offline_commands(socket_enabled: None) -> None:
    """Unsupported commands raise; commands while unreachable raise ChargerNotConnectedError."""
    async with rig("alfen") as r:
        with pytest.raises(CommandNotSupportedError):
            await r.charger.execute(Reset())
        with pytest.raises(CommandNotSupportedError):
            await r.charger.execute(UnlockConnector())
        with pytest.raises(CommandNotSupportedError):
            await r.charger.execute(SetCurrentLimit(connector_id=2, limit_a=10))
        result = await r.charger.execute(SetCurrentLimit(limit_a=-1))
        assert not result.accepted
        await r.sim.go_offline()
        await wait_until(lambda: not r.charger.connected, what="offline")
        with pytest.raises(ChargerNotConnectedError):
            await r.charger.execute(SetCurrentLimit(limit_a=10))


@pytest.mark.parametrize("model", DEVICES)
async def test_the_limit_in_force_is_read_back(socket_enabled: None, model: str) -> None:
    """GetCurrentLimit: the charger's own setting before the hub set one (read from the limit
    register, or what the hub's watchdog keeps writing), then what the hub commanded."""
    async with rig(model, rate=100) as r:
        sim, charger = r.sim, r.charger
        sim.plug_in()
        await wait_state(r.handler, ConnectorState.PREPARING)
        before = await charger.execute(GetCurrentLimit())
        assert before.accepted
        assert before.data["limit_a"] == pytest.approx(sim.current_limit, abs=0.1)
        await charger.execute(SetCurrentLimit(limit_a=16))
        assert (await charger.execute(GetCurrentLimit())).data == {"limit_a": 16, "paused": False}
        await charger.execute(SetCurrentLimit(limit_a=0))
        assert (await charger.execute(GetCurrentLimit())).data == {"limit_a": 0, "paused": True}
        with pytest.raises(CommandNotSupportedError):
            await charger.execute(GetCurrentLimit(connector_id=2))
