"""The current limit in HA: the limit entity and the set_current_limit action set one limit
(one scope, replaced rather than stacked), and the entity shows the limit in force. The
whole charger's limit is the user's wish in the current arbiter, sent as the charger's overall
maximum (ChargePointMaxProfile / ChargingStationMaxProfile, id 3000)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_sessions.const import DOMAIN
from custom_components.ev_sessions.core import ArbiterSettings, LimitSource
from simulators.ocpp import SimulatedChargePoint

from .helpers import entity_id, ocpp_charger_entry, state_of, wait_state, wait_until

Make = Callable[..., SimulatedChargePoint]
TX_DEFAULT = "TxDefaultProfile"
MAX_16 = "ChargePointMaxProfile"
MAX_201 = "ChargingStationMaxProfile"


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
    # one profile, the charger's maximum, the latest limit; the entity shows it
    purpose = MAX_16 if version == "1.6" else MAX_201
    assert cp.connector(1).profiles == {3000: (purpose, 16.0)}
    await wait_state(hass, "number", "charger_CP-LIM_current_limit", "16.0")
    await hass.services.async_call(
        DOMAIN,
        "set_current_limit",
        {"device_id": device_id, "connector": 1, "current": 6},
        blocking=True,
    )
    assert cp.connector(1).profiles == {3000: (purpose, 6.0)}
    await wait_state(hass, "number", "charger_CP-LIM_current_limit", "6.0")
    scopes = {
        request.get("connectorId", request.get("evseId"))
        for request in cp.requests_for("SetChargingProfile")
    }
    assert scopes == {0}


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


async def test_a_limit_between_0_and_the_minimum_is_refused(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """3 A is neither a pause nor a current the charger can offer: refused, saying why."""
    entry = ocpp_charger_entry(hass, "CP-MIN")
    assert await hass.config_entries.async_setup(entry.entry_id)
    cp = make_cp("CP-MIN")
    await cp.connect()
    await wait_state(hass, "binary_sensor", "charger_CP-MIN_charger_connected", "on")
    device_id = _device_id(hass, "CP-MIN", entry)
    with pytest.raises(ServiceValidationError) as raised:
        await hass.services.async_call(
            DOMAIN, "set_current_limit", {"device_id": device_id, "current": 3}, blocking=True
        )
    assert raised.value.translation_key == "current_limit_out_of_range"
    assert raised.value.translation_placeholders == {"current": "3", "min": "6", "max": "32"}
    assert "0 A pauses charging" in str(raised.value)
    number = entity_id(hass, "number", "charger_CP-MIN_current_limit")
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            "number", "set_value", {"entity_id": number, "value": 3}, blocking=True
        )
    assert cp.requests_for("SetChargingProfile") == []
    # 0 pauses, 6 is the least current
    for current in (0, 6):
        await hass.services.async_call(
            DOMAIN, "set_current_limit", {"device_id": device_id, "current": current}, blocking=True
        )
        assert cp.connector(1).profiles == {3000: (MAX_16, float(current))}


async def test_the_configured_maximum_bounds_the_entity_and_the_action(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """The charger's options carry its maximum current (fuse): the slider ends there and the
    action refuses more; without the option the maximum is 32 A."""
    entry = ocpp_charger_entry(hass, "CP-MAX")
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    number = entity_id(hass, "number", "charger_CP-MAX_current_limit")
    state = hass.states.get(number)
    assert state is not None
    assert state.attributes["max"] == 32
    assert state.attributes["min"] == 0

    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["step_id"] == "charger"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"max_current_a": 16}
    )
    assert entry.options["max_current_a"] == 16.0
    await hass.async_block_till_done()
    state = hass.states.get(number)
    assert state is not None
    assert state.attributes["max"] == 16

    cp = make_cp("CP-MAX")
    await cp.connect()
    await wait_state(hass, "binary_sensor", "charger_CP-MAX_charger_connected", "on")
    device_id = _device_id(hass, "CP-MAX", entry)
    with pytest.raises(ServiceValidationError) as raised:
        await hass.services.async_call(
            DOMAIN, "set_current_limit", {"device_id": device_id, "current": 20}, blocking=True
        )
    assert raised.value.translation_placeholders == {"current": "20", "min": "6", "max": "16"}
    assert cp.requests_for("SetChargingProfile") == []
    await hass.services.async_call(
        DOMAIN, "set_current_limit", {"device_id": device_id, "current": 16}, blocking=True
    )
    assert cp.connector(1).profiles == {3000: (MAX_16, 16.0)}


async def test_the_users_limit_cannot_override_a_smaller_wish_of_the_site(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """The user's limit is one wish of the current arbiter: the charger gets the smallest."""
    entry = ocpp_charger_entry(hass, "CP-ARB")
    assert await hass.config_entries.async_setup(entry.entry_id)
    cp = make_cp("CP-ARB", version="1.6")
    await cp.connect()
    await wait_state(hass, "binary_sensor", "charger_CP-ARB_charger_connected", "on")
    site = hub.runtime_data.hub.site
    site.current.settings = ArbiterSettings(min_interval=timedelta(0))  # rises without delay
    site.current.request("CP-ARB", LimitSource.BUDGET, 8)
    await site.async_wait_idle()
    assert cp.connector(1).profiles == {3000: (MAX_16, 8.0)}
    number = entity_id(hass, "number", "charger_CP-ARB_current_limit")
    await hass.services.async_call(
        "number", "set_value", {"entity_id": number, "value": 16}, blocking=True
    )
    assert cp.connector(1).profiles == {3000: (MAX_16, 8.0)}
    await wait_state(hass, "number", "charger_CP-ARB_current_limit", "8.0")
    assert site.current.decision("CP-ARB").wishes == {
        LimitSource.USER: 16.0,
        LimitSource.BUDGET: 8.0,
    }
    # The budget lets go: the user's limit holds.
    site.current.request("CP-ARB", LimitSource.BUDGET, None)
    await site.async_wait_idle()
    assert cp.connector(1).profiles == {3000: (MAX_16, 16.0)}
