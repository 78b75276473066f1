"""The charger's own meter reading, next to the lifetime energy HA counts (issue 11)."""

from __future__ import annotations

from collections.abc import AsyncIterator

from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_sessions.const import DOMAIN
from simulators.modbus import ChargerSimulator

from .helpers import charger_clock, entity_id, fast_modbus, ocpp_charger_entry, state_of, wait_state
from .test_modbus import CID, _modbus_entry, _set_up, _simulator
from .test_ocpp_hub import Make, energy


@pytest.fixture
def hub_entry(hass: HomeAssistant, hub_entry: MockConfigEntry) -> MockConfigEntry:
    """The hub entry, its Modbus pollers 100 times faster (a 5 s poll takes 50 ms)."""
    return fast_modbus(hass, hub_entry)


@pytest.fixture
async def sims() -> AsyncIterator[list[ChargerSimulator]]:
    started: list[ChargerSimulator] = []
    yield started
    for sim in started:
        await sim.stop()


async def test_ocpp_meter_reading_is_the_register_and_lifetime_counts_from_first_sight(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """A charger whose register reads 123.456 kWh: the diagnostic meter reading says so;
    the lifetime energy HA counts starts at 0 and rises with the register."""
    entry = ocpp_charger_entry(hass, "CP-MR")
    assert await hass.config_entries.async_setup(entry.entry_id)
    cp = make_cp("CP-MR", power_w=0.0, meter_start_wh=123_456)
    await cp.connect()
    await cp.plug_in(1)
    await cp.start(1, "TAG-ANNA")
    await cp.send_meter_values(1, sampled_values=energy(123_456))
    await wait_state(hass, "sensor", "charger_CP-MR_meter_reading", "123.456")
    assert state_of(hass, "sensor", "charger_CP-MR_lifetime_energy") == "0.0"
    cp.time_offset = charger_clock(10)
    await cp.send_meter_values(1, sampled_values=energy(124_000))
    await wait_state(hass, "sensor", "charger_CP-MR_meter_reading", "124.0")
    await wait_state(hass, "sensor", "charger_CP-MR_lifetime_energy", "0.544")
    registered = er.async_get(hass).async_get(
        entity_id(hass, "sensor", "charger_CP-MR_meter_reading")
    )
    assert registered is not None
    assert registered.entity_category is EntityCategory.DIAGNOSTIC
    state = hass.states.get(registered.entity_id)
    assert state is not None
    assert state.attributes["unit_of_measurement"] == "kWh"
    assert "state_class" not in state.attributes  # the lifetime energy is the one for statistics
    assert state.attributes["friendly_name"] == "CP-MR Meter reading"


async def test_modbus_meter_reading_only_from_a_lifetime_register(
    hass: HomeAssistant, hub: MockConfigEntry, sims: list[ChargerSimulator]
) -> None:
    """KEBA has a lifetime register: its reading is shown. ABB has only a session register
    (the lifetime counter is the hub's): no meter reading entity."""
    sim = await _simulator(sims, "keba")
    entry = _modbus_entry(hass, "keba", sim.port)
    await _set_up(hass, entry)
    await wait_state(hass, "sensor", f"charger_{CID}_meter_reading", "1000.0")
    assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
    er.async_get(hass).async_remove(entity_id(hass, "sensor", f"charger_{CID}_meter_reading"))
    await hass.config_entries.async_remove(entry.entry_id)
    abb = await _simulator(sims, "abb")
    entry = _modbus_entry(hass, "abb", abb.port)
    await _set_up(hass, entry)
    registry = er.async_get(hass)
    assert registry.async_get_entity_id("sensor", DOMAIN, f"charger_{CID}_meter_reading") is None
    assert registry.async_get_entity_id("sensor", DOMAIN, f"charger_{CID}_lifetime_energy")
    assert await hass.config_entries.async_unload(hub.entry_id)
    await hass.async_block_till_done()
