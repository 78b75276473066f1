"""The planned-charging blueprints (issue 13) load in Home Assistant and run: a switch follows
the charge-now sensor, a plan that cannot meet its ready-by time warns, and the charging
finished notification carries the energy and the cost."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
import shutil
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import async_mock_service

from custom_components.ev_sessions.const import EVENT_CHARGING_FINISHED

BLUEPRINTS = Path(__file__).parents[2] / "blueprints" / "automation" / "ev_sessions"


async def _automation(
    hass: HomeAssistant, tmp_path: Path, name: str, inputs: dict[str, Any]
) -> None:
    """One automation from the shipped blueprint ``name`` (loaded and validated by HA)."""
    hass.config.config_dir = str(tmp_path)
    target = tmp_path / "blueprints" / "automation" / "ev_sessions"
    target.mkdir(parents=True, exist_ok=True)
    shutil.copy(BLUEPRINTS / name, target / name)
    assert await async_setup_component(
        hass,
        "automation",
        {"automation": {"use_blueprint": {"path": f"ev_sessions/{name}", "input": inputs}}},
    )
    await hass.async_block_till_done()
    assert hass.states.async_entity_ids("automation")
    state = hass.states.get(hass.states.async_entity_ids("automation")[0])
    assert state is not None
    assert state.state == "on"  # validated and loaded, not "unavailable"


async def test_switch_follows_the_charge_now_sensor(hass: HomeAssistant, tmp_path: Path) -> None:
    """Charge now on: the input_boolean goes on; off: it goes off."""
    assert await async_setup_component(hass, "homeassistant", {})
    assert await async_setup_component(hass, "input_boolean", {"input_boolean": {"car": {}}})
    hass.states.async_set("binary_sensor.garage_charge_now", "off")
    await _automation(
        hass,
        tmp_path,
        "charge_in_cheapest_hours.yaml",
        {"charge_now": "binary_sensor.garage_charge_now", "switch": "input_boolean.car"},
    )
    hass.states.async_set("binary_sensor.garage_charge_now", "on")
    await hass.async_block_till_done()
    assert hass.states.get("input_boolean.car").state == "on"  # type: ignore[union-attr]
    hass.states.async_set("binary_sensor.garage_charge_now", "off")
    await hass.async_block_till_done()
    assert hass.states.get("input_boolean.car").state == "off"  # type: ignore[union-attr]


async def test_a_plan_that_cannot_meet_its_ready_by_warns(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """The plan state turns cannot_meet_ready_by: one notification naming the ready-by time."""
    calls = async_mock_service(hass, "notify", "phone")
    hass.states.async_set("sensor.garage_plan_state", "planned")
    await _automation(
        hass,
        tmp_path,
        "warn_plan_cannot_meet_ready_by.yaml",
        {"plan_state": "sensor.garage_plan_state", "notify_action": "notify.phone"},
    )
    hass.states.async_set(
        "sensor.garage_plan_state",
        "cannot_meet_ready_by",
        {"ready_by": "2026-12-08T07:00:00+00:00"},
    )
    await hass.async_block_till_done()
    assert len(calls) == 1
    assert calls[0].data["title"] == "Charging plan cannot be met"
    local = dt_util.as_local(datetime(2026, 12, 8, 7, 0, tzinfo=UTC)).strftime("%H:%M")
    assert calls[0].data["message"] == (
        f"sensor.garage_plan_state: not enough time to charge by {local}; charging now."
    )


async def test_charging_finished_notification_has_energy_and_cost(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """12.345 kWh for 30.86 SEK: both in the message."""
    calls = async_mock_service(hass, "notify", "phone")
    await _automation(
        hass, tmp_path, "notify_charging_finished.yaml", {"notify_action": "notify.phone"}
    )
    hass.bus.async_fire(
        EVENT_CHARGING_FINISHED,
        {
            "charger_id": "CP1",
            "charger_name": "Garage",
            "energy_kwh": 12.345,
            "cost": "30.86",
            "currency": "SEK",
        },
    )
    await hass.async_block_till_done()
    assert len(calls) == 1
    assert calls[0].data["message"] == "Garage: 12.345 kWh charged, 30.86 SEK."
