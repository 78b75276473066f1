"""A custom profile (as the options flow would build it) against a simulator of it."""

from __future__ import annotations

from typing import Any

from custom_components.ev_sessions.chargers.events import ConnectorState, SetCurrentLimit
from custom_components.ev_sessions.chargers.modbus import custom_profile, probe_modbus_charger

from .helpers import HOST, rig, wait_energy, wait_state

ACME: dict[str, Any] = {
    "title": "ACME Wallbox",
    "vendor": "ACME",
    "model": "W1",
    "unit_id": 3,
    "identity": {"serial": {"address": 10, "type": "string", "length": 4}},
    "values": {
        "energy_total_wh": {"address": 100, "type": "u32", "scale": 10},
        "power_w": {"address": 102, "type": "f32", "word_order": "little"},
        "session_energy_wh": {"address": 106, "type": "u32"},
        "current_l1_a": {"address": 110, "type": "u16", "scale": 0.01},
    },
    "state": {
        "status": {"address": 120},
        "iec": {"0": "A", "1": "B", "2": "C", "9": "F"},
    },
    "limit": {"register": {"address": 200}, "write": "fc6", "unit": "A"},
    "merge_gap": 4,
    "poll_interval_s": 2,
}


async def test_custom_profile_session_and_limit(socket_enabled: None) -> None:
    """Generic simulator behaviour from the same dict; session metered; limit written."""
    profile = custom_profile(ACME)
    async with rig(profile) as r:
        info = await probe_modbus_charger(HOST, r.sim.port, None, profile, timeout_s=1)
        assert (info.vendor, info.model) == ("ACME", "W1")
        r.sim.plug_in()
        await wait_state(r.handler, ConnectorState.PREPARING)
        r.sim.start_charging(11000)
        await wait_state(r.handler, ConnectorState.CHARGING)
        r.sim.advance(1800)
        await wait_energy(r.handler, 1_005_500)
        sample = r.handler.last_sample()
        assert sample.session_energy_wh == 5500
        assert sample.power_w == 11000
        await r.charger.execute(SetCurrentLimit(limit_a=10))
        assert (6, 200, (10,)) in [(w.function_code, w.address, w.values) for w in r.sim.writes]
        assert r.sim.current_limit == 10
        r.sim.unplug()
        await wait_state(r.handler, ConnectorState.AVAILABLE)
