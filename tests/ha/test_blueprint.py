"""The shipped blueprint loads in Home Assistant and reacts to our event."""

from __future__ import annotations

from pathlib import Path
import shutil

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import async_mock_service

from custom_components.ev_sessions.const import EVENT_CHARGING_FINISHED

BLUEPRINT = (
    Path(__file__).parents[2]
    / "blueprints"
    / "automation"
    / "ev_sessions"
    / "notify_charging_finished.yaml"
)


async def test_notify_blueprint_sends_the_energy(hass: HomeAssistant, tmp_path: Path) -> None:
    """An automation from the blueprint notifies with the session's energy."""
    hass.config.config_dir = str(tmp_path)
    target = tmp_path / "blueprints" / "automation" / "ev_sessions"
    target.mkdir(parents=True)
    shutil.copy(BLUEPRINT, target / BLUEPRINT.name)
    calls = async_mock_service(hass, "notify", "phone")
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "use_blueprint": {
                    "path": f"ev_sessions/{BLUEPRINT.name}",
                    "input": {"notify_action": "notify.phone"},
                }
            }
        },
    )
    hass.bus.async_fire(
        EVENT_CHARGING_FINISHED,
        {"charger_id": "CP1", "charger_name": "Garage", "energy_kwh": 12.345},
    )
    await hass.async_block_till_done()
    assert len(calls) == 1
    assert calls[0].data["title"] == "Charging finished"
    assert calls[0].data["message"] == "Garage: 12.345 kWh charged."
