"""L2/L3 sensors of an OCPP charger: once it reports those phases, never on a single-phase
charger (issue 11)."""

from __future__ import annotations

from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_sessions.const import DOMAIN

from .helpers import charger_clock, entity_id, ocpp_charger_entry, state_of, wait_state
from .test_ocpp_hub import Make, energy

L2_L3 = ("current_l2", "current_l3", "voltage_l2", "voltage_l3")


def _three_phase(wh: int) -> list[dict[str, Any]]:
    """A frame of a three-phase charger: the register, power, and current and voltage per phase."""
    return [
        {"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
        {"value": "11000", "measurand": "Power.Active.Import", "unit": "W"},
        *(
            {"value": value, "measurand": measurand, "phase": phase, "unit": unit}
            for measurand, unit, values in (
                ("Current.Import", "A", ("16.1", "15.9", "16.0")),
                ("Voltage", "V", ("230", "231", "229")),
            )
            for phase, value in zip(("L1", "L2", "L3"), values, strict=True)
        ),
    ]


def _registered(hass: HomeAssistant, charger_id: str) -> list[str]:
    registry = er.async_get(hass)
    return [
        key
        for key in L2_L3
        if registry.async_get_entity_id("sensor", DOMAIN, f"charger_{charger_id}_{key}")
    ]


async def _charging(hass: HomeAssistant, make_cp: Make, charger_id: str):  # type: ignore[no-untyped-def]
    entry = ocpp_charger_entry(hass, charger_id)
    assert await hass.config_entries.async_setup(entry.entry_id)
    cp = make_cp(charger_id, power_w=0.0, meter_start_wh=1_000)
    await cp.connect()
    await cp.plug_in(1)
    await cp.start(1, "TAG-ANNA")
    return entry, cp


async def test_single_phase_ocpp_charger_has_no_l2_l3(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """A charger that reports only L1 never gets L2/L3 sensors."""
    _entry, cp = await _charging(hass, make_cp, "CP-1PH")
    assert _registered(hass, "CP-1PH") == []  # not before it said anything
    await cp.send_meter_values(1, sampled_values=energy(1_000))
    cp.time_offset = charger_clock(10)
    await cp.send_meter_values(1, sampled_values=energy(2_000))
    await wait_state(hass, "sensor", "charger_CP-1PH_current_l1", "10.5")
    assert _registered(hass, "CP-1PH") == []


async def test_three_phase_ocpp_charger_gets_l2_l3_once_reported_and_keeps_them(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """The first frame with L2/L3 values adds their sensors, with those values; after a reload
    they are there from the start (not left behind as restored, unavailable entities)."""
    entry, cp = await _charging(hass, make_cp, "CP-3PH")
    assert _registered(hass, "CP-3PH") == []
    await cp.send_meter_values(1, sampled_values=_three_phase(1_000))
    await wait_state(hass, "sensor", "charger_CP-3PH_current_l2", "15.9")
    assert _registered(hass, "CP-3PH") == list(L2_L3)
    assert state_of(hass, "sensor", "charger_CP-3PH_current_l3") == "16.0"
    await cp.close()
    assert await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    for key in ("current_l2", "current_l3"):  # the voltages are disabled by default
        state = hass.states.get(entity_id(hass, "sensor", f"charger_CP-3PH_{key}"))
        assert state is not None
        assert "restored" not in state.attributes, key
