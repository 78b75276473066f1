"""The current limit in HA: the limit entity and the set_current_limit action set one limit
(one scope, replaced rather than stacked), and the entity shows the limit in force."""

from __future__ import annotations

from collections.abc import Callable

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_sessions.const import DOMAIN
from simulators.ocpp import SimulatedChargePoint

from .helpers import entity_id, ocpp_charger_entry, state_of, wait_state, wait_until

Make = Callable[..., SimulatedChargePoint]
TX_DEFAULT = "TxDefaultProfile"


def _device_id(hass: HomeAssistant, charger_id: str, entry: MockConfigEntry) -> str:
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"charger_{charger_id}"), entry.entry_id
    )
    assert device is not None
    return device.id


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_entity_and_action_set_one_limit(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make, version: str
) -> None:
    entry = ocpp_charger_entry(hass, "CP-LIM")
    assert await hass.config_entries.async_setup(entry.entry_id)
    cp = make_cp("CP-LIM", version=version)
    await cp.connect()
    await wait_state(hass, "binary_sensor", "charger_CP-LIM_charger_connected", "on")
    number = entity_id(hass, "number", "charger_CP-LIM_current_limit")
    await hass.services.async_call(
        "number", "set_value", {"entity_id": number, "value": 10}, blocking=True
    )
    assert state_of(hass, "number", "charger_CP-LIM_current_limit") == "10.0"
    device_id = _device_id(hass, "CP-LIM", entry)
    await hass.services.async_call(
        DOMAIN, "set_current_limit", {"device_id": device_id, "current": 16}, blocking=True
    )
    # one profile on the one connector, the latest limit; the entity shows it
    assert cp.connector(1).profiles == {1001: (TX_DEFAULT, 16.0)}
    await wait_state(hass, "number", "charger_CP-LIM_current_limit", "16.0")
    await hass.services.async_call(
        DOMAIN,
        "set_current_limit",
        {"device_id": device_id, "connector": 1, "current": 6},
        blocking=True,
    )
    assert cp.connector(1).profiles == {1001: (TX_DEFAULT, 6.0)}
    await wait_state(hass, "number", "charger_CP-LIM_current_limit", "6.0")
    scopes = {
        request.get("connectorId", request.get("evseId"))
        for request in cp.requests_for("SetChargingProfile")
    }
    assert scopes == {1}


async def test_entity_shows_the_limit_in_force_when_the_charger_connects(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    entry = ocpp_charger_entry(hass, "CS-FORCE")
    assert await hass.config_entries.async_setup(entry.entry_id)
    cp = make_cp("CS-FORCE", version="2.0.1")
    cp.apply_profile(1, 77, TX_DEFAULT, {"charging_schedule_period": [{"limit": 12}]})
    await cp.connect()
    await wait_state(hass, "number", "charger_CS-FORCE_current_limit", "12.0")
    await wait_until(hass, lambda: bool(cp.requests_for("GetCompositeSchedule")))
    assert cp.requests_for("GetCompositeSchedule")[0]["chargingRateUnit"] == "A"
