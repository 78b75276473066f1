"""A register read with the wrong word order (or scale) is caught and named, once."""

from __future__ import annotations

from collections.abc import AsyncIterator
import contextlib
from typing import Any

import pytest

from custom_components.ev_sessions.chargers.events import ConnectorState, ProtocolDeviation
from custom_components.ev_sessions.chargers.modbus import ModbusCharger, custom_profile
from custom_components.ev_sessions.chargers.modbus.plausibility import RiseWatch
from simulators.modbus_devices import start_simulator

from .helpers import HOST, TIME_SCALE, RecordingHandler, wait_state, wait_until

#: An LSW-first controller, as it really is.
DEVICE: dict[str, Any] = {
    "title": "LSW Wallbox",
    "unit_id": 4,
    "defaults": {"word_order": "little"},
    "values": {
        "energy_total_wh": {"address": 100, "type": "u32"},
        "power_w": {"address": 102, "type": "u32"},
    },
    "state": {"status": {"address": 120}, "iec": {"0": "A", "1": "B", "2": "C"}},
    "limit": {"register": {"address": 200}, "write": "fc6"},
}
#: The same controller as a user first described it: word order forgotten.
WRONG_ORDER: dict[str, Any] = {k: v for k, v in DEVICE.items() if k != "defaults"}


@contextlib.asynccontextmanager
async def charging(adapter_profile: dict[str, Any]) -> AsyncIterator[tuple[Any, RecordingHandler]]:
    """The LSW device charging at 11 kW, polled with ``adapter_profile``."""
    sim = await start_simulator(custom_profile(DEVICE), 0, host=HOST, watchdog=False)
    handler = RecordingHandler()
    charger = ModbusCharger(
        "cp1",
        HOST,
        sim.port,
        custom_profile(adapter_profile),
        handler,
        time_scale=TIME_SCALE,
        request_timeout_s=1.0,
    )
    await charger.start()
    try:
        await wait_state(handler, ConnectorState.AVAILABLE)
        sim.plug_in()
        sim.start_charging(11000)
        await wait_state(handler, ConnectorState.CHARGING)
        yield sim, handler
    finally:
        await charger.stop()
        await sim.stop()


async def _poll_steps(sim: Any, handler: RecordingHandler, steps: int) -> None:
    """``steps`` x 5 device seconds at 11 kW (about 15 Wh), each seen by a poll."""
    for _ in range(steps):
        before = handler.energies[-1]
        sim.advance(5)
        await wait_until(lambda b=before: handler.energies[-1] != b, what="a new reading")


async def test_wrong_word_order_is_reported_once_with_register_and_causes(
    socket_enabled: None,
) -> None:
    async with charging(WRONG_ORDER) as (sim, handler):
        await _poll_steps(sim, handler, 5)
        deviations = handler.of(ProtocolDeviation)
        assert [d.kind for d in deviations] == ["implausible_register:energy_total_wh"]
        detail = deviations[0].detail
        assert detail.startswith(
            "energy_total_wh (holding register 100, u32, word_order big, scale 1): "
        )
        # the power register is wrong too (hundreds of MW): counted as 60 kW at most, x 1.5
        assert "Wh in 5 s, 3 rises in a row faster than 90 kW" in detail
        assert detail.endswith("check its word_order (low word first?) and scale")
        # the readings really are 65,536 Wh apart per 10 Wh: the low word comes first
        jumps = {b - a for a, b in zip(handler.energies, handler.energies[1:], strict=False)}
        assert all(j % 65536 == 0 for j in jumps if j > 0)


async def test_the_right_word_order_meters_without_a_deviation(socket_enabled: None) -> None:
    async with charging(DEVICE) as (sim, handler):
        start = handler.energies[-1]
        await _poll_steps(sim, handler, 5)
        assert handler.of(ProtocolDeviation) == []
        assert handler.energies[-1] == pytest.approx(start + 5 * 5 * 11000 / 3600, abs=1)


def test_rise_watch_counts_impossible_rises_in_a_row() -> None:
    """22 kW max: 1 kWh in 10 s is possible only with the slack; plausible rises reset."""
    watch = RiseWatch(max_power_w=22_000, slack_wh=100, after=3)
    assert watch.feed(1000, 0, None) is None
    assert watch.feed(70_000, 10, None) is None  # 1st impossible rise
    assert watch.feed(70_020, 20, 7000) is None  # plausible: the run is broken
    assert watch.feed(140_000, 30, None) is None
    assert watch.feed(140_000, 40, None) is None  # no change: neither counts nor resets
    assert watch.feed(100, 50, None) is None  # a drop: neither
    assert watch.feed(70_000, 60, None) is None  # 2nd
    found = watch.feed(140_000, 70, None)  # 3rd in a row
    assert found is not None
    assert (found.previous_wh, found.value_wh, found.seconds, found.count) == (
        70_000,
        140_000,
        10,
        3,
    )
    assert watch.feed(210_000, 80, None) is None  # reported once per run
    # a measured power above the maximum widens what is plausible, up to 60 kW (80 A AC):
    # a power register read in the wrong word order says hundreds of MW
    fast = RiseWatch(max_power_w=11_000, slack_wh=0, after=1)
    fast.feed(0, 0, 50_000)
    assert fast.feed(200, 10, 50_000) is None
    assert fast.feed(600, 20, 720_896_000) is not None


async def test_an_out_of_range_reading_is_dropped(socket_enabled: None) -> None:
    """A u64 read in the wrong order is beyond any meter: dropped, reported once."""
    device = {**DEVICE, "values": {"energy_total_wh": {"address": 100, "type": "u64"}}}
    wrong = {
        **device,
        "defaults": {"word_order": "big"},
    }
    sim = await start_simulator(custom_profile(device), 0, host=HOST, watchdog=False)
    handler = RecordingHandler()
    charger = ModbusCharger(
        "cp1", HOST, sim.port, custom_profile(wrong), handler, time_scale=TIME_SCALE
    )
    await charger.start()
    try:
        await wait_until(lambda: bool(handler.of(ProtocolDeviation)), what="a deviation")
        (deviation,) = handler.of(ProtocolDeviation)
        assert deviation.kind == "implausible_value:energy_total_wh"
        assert "not a meter reading; dropped" in deviation.detail
        assert handler.energies == []
    finally:
        await charger.stop()
        await sim.stop()
