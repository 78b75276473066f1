"""The car's SoC from a chosen HA entity, for a charger that reports none (issue 11)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_sessions.charger_options import CONF_SOC_ENTITY
from simulators.modbus import ChargerSimulator
from simulators.ocpp import SimulatedChargePoint

from .helpers import fast_modbus, ocpp_charger_entry, state_of, wait_state, wait_until
from .test_estimated_end import _with_soc
from .test_modbus import CID, _modbus_entry, _set_up, _simulator
from .test_ocpp_hub import energy

Make = Callable[..., SimulatedChargePoint]
CAR = "sensor.car_battery"


def _car(hass: HomeAssistant, state: str) -> None:
    hass.states.async_set(CAR, state, {"device_class": "battery", "unit_of_measurement": "%"})


def _end(hass: HomeAssistant) -> datetime:
    return datetime.fromisoformat(state_of(hass, "sensor", "charger_CP-CAR_estimated_end"))


async def test_soc_from_the_chosen_entity_gives_the_estimated_end(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """Chosen in the charger's options with a 40 kWh battery: the car at 50 % and 10 kW is
    full in 2 hours, at 75 % in 1 hour; unknown car state: no estimate; once the charger
    reports a SoC itself, the charger's counts."""
    _car(hass, "50")
    entry = ocpp_charger_entry(hass, "CP-CAR")
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"battery_capacity_kwh": 40, CONF_SOC_ENTITY: CAR}
    )
    assert entry.options[CONF_SOC_ENTITY] == CAR
    await hass.async_block_till_done()  # the charger reloads with the option
    cp = make_cp("CP-CAR", power_w=0.0)
    cp.time_offset = timedelta(0)  # the charger's clock is HA's: estimates count from now
    await cp.connect()
    await cp.plug_in(1)
    await cp.start(1, "TAG-ANNA")
    await cp.send_meter_values(1, sampled_values=energy(1_000, power_w=10_000.0))
    await wait_state(hass, "sensor", "charger_CP-CAR_power", "10.0")
    before = dt_util.utcnow()
    _car(hass, "50.0")
    await wait_until(
        hass, lambda: state_of(hass, "sensor", "charger_CP-CAR_estimated_end") != "unavailable"
    )
    assert before + timedelta(hours=2) - timedelta(seconds=5) <= _end(hass)
    assert _end(hass) <= dt_util.utcnow() + timedelta(hours=2)
    _car(hass, "75")
    await wait_until(hass, lambda: _end(hass) < before + timedelta(hours=1, minutes=1))
    _car(hass, "unavailable")
    await wait_state(hass, "sensor", "charger_CP-CAR_estimated_end", "unavailable")
    await cp.send_meter_values(1, sampled_values=_with_soc(2_000, 90))
    await wait_until(
        hass, lambda: state_of(hass, "sensor", "charger_CP-CAR_estimated_end") != "unavailable"
    )
    _car(hass, "10")  # the charger's own SoC wins from now on
    await hass.async_block_till_done()
    charger_end = _end(hass)
    assert charger_end < dt_util.utcnow() + timedelta(minutes=30)  # 10 % of 40 kWh at 10 kW


async def test_the_option_can_be_removed(hass: HomeAssistant, hub: MockConfigEntry) -> None:
    """Emptying the field removes the option; the other options stay."""
    entry = ocpp_charger_entry(hass, "CP-CAR")
    hass.config_entries.async_update_entry(
        entry, options={CONF_SOC_ENTITY: CAR, "battery_capacity_kwh": 40.0}
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    await hass.config_entries.options.async_configure(
        result["flow_id"], {"battery_capacity_kwh": 40}
    )
    assert CONF_SOC_ENTITY not in entry.options
    assert entry.options["battery_capacity_kwh"] == 40.0


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


async def test_modbus_charger_takes_the_car_from_its_options(
    hass: HomeAssistant, hub: MockConfigEntry, sims: list[ChargerSimulator]
) -> None:
    """A Modbus charger's options offer the car (battery and SoC sensor) next to the register
    map; with them, a charging session gets an estimated end from the car's SoC."""
    _car(hass, "50")
    sim = await _simulator(sims, "keba")
    entry = _modbus_entry(hass, "keba", sim.port)
    await _set_up(hass, entry)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["car", "modbus", "charger_budget"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "car"}
    )
    assert result["step_id"] == "car"
    await hass.config_entries.options.async_configure(
        result["flow_id"], {"battery_capacity_kwh": 40, CONF_SOC_ENTITY: CAR}
    )
    assert (entry.options["battery_capacity_kwh"], entry.options[CONF_SOC_ENTITY]) == (
        40.0,
        CAR,
    )
    await hass.async_block_till_done()  # reloaded with the car
    await wait_state(hass, "sensor", f"charger_{CID}_status", "available")
    assert state_of(hass, "sensor", f"charger_{CID}_estimated_end") == "unknown"  # no session
    sim.plug_in()
    sim.start_charging(7200.0)
    await wait_state(hass, "sensor", f"charger_{CID}_status", "charging")
    await wait_until(
        hass,
        lambda: state_of(hass, "sensor", f"charger_{CID}_estimated_end")
        not in ("unknown", "unavailable"),
    )
    assert await hass.config_entries.async_unload(hub.entry_id)
    await hass.async_block_till_done()
