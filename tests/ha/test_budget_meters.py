"""The power budget's meters read from HA entities (issue 16 coverage): a grid power meter in W
or kW, a solar production entity, and values that are no number or not there are no reading
(the budget then falls back, never taking a wrong number for a meter)."""

from __future__ import annotations

from homeassistant.core import HomeAssistant

from custom_components.ev_sessions.budget_flow import BudgetConfig, budget_config
from custom_components.ev_sessions.budget_glue import read_grid, read_solar


def _config(**budget: object) -> BudgetConfig:
    config = budget_config({"power_budget": {"fuse_a": 25, **budget}})
    assert config is not None
    return config


async def test_a_grid_power_meter_in_watts_or_kilowatts(hass: HomeAssistant) -> None:
    config = _config(grid_power_entity="sensor.grid")
    assert config.settings.grid_meter
    assert read_grid(hass, config) is None  # no such entity yet
    hass.states.async_set("sensor.grid", "3.2", {"unit_of_measurement": "kW"})
    reading = read_grid(hass, config)
    state = hass.states.get("sensor.grid")
    assert reading is not None
    assert state is not None
    assert (reading.power_w, reading.currents_a, reading.at) == (3200.0, None, state.last_reported)
    hass.states.async_set("sensor.grid", "-450", {"unit_of_measurement": "W"})
    reading = read_grid(hass, config)
    assert reading is not None
    assert reading.power_w == -450.0  # exporting
    for broken in ("unavailable", "unknown", "n/a"):
        hass.states.async_set("sensor.grid", broken, {"unit_of_measurement": "W"})
        assert read_grid(hass, config) is None, broken


async def test_solar_production_or_export(hass: HomeAssistant) -> None:
    production = _config(solar_entity="sensor.pv", solar_kind="production")
    hass.states.async_set("sensor.pv", "4.5", {"unit_of_measurement": "kW"})
    reading = read_solar(hass, production)
    assert reading is not None
    assert (reading.production_w, reading.export_w) == (4500.0, None)
    export = _config(solar_entity="sensor.pv")
    reading = read_solar(hass, export)
    assert reading is not None
    assert (reading.production_w, reading.export_w) == (None, 4500.0)
    hass.states.async_set("sensor.pv", "cloudy")
    assert read_solar(hass, export) is None
