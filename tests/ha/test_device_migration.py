"""Namespaced device identifiers: old charger devices are renamed in place, nothing collides."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_sessions.const import DOMAIN

from .helpers import ocpp_charger_entry, state_of

#: Old entries named a charger's device by its bare id, so these took the hub's and Anna's names.
OLD_CHARGERS = ("CP-OLD", "hub", "member_anna")


async def _stop_error(hass: HomeAssistant, device_id: str) -> str | None:
    """The translation key the stop action fails with for a device."""
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN, "stop_charging", {"device_id": device_id}, blocking=True
        )
    return err.value.translation_key


async def test_old_charger_devices_keep_their_ids_entities_and_history(
    hass: HomeAssistant, hub_entry: MockConfigEntry
) -> None:
    """Entries of version 1.1 get the new identifiers and unique ids; the device id and every
    entity id stay; the hub and the member no longer share a name with a charger."""
    devices = dr.async_get(hass)
    entities = er.async_get(hass)
    old_hub_device = devices.async_get_or_create(
        config_entry_id=hub_entry.entry_id, identifiers={(DOMAIN, "hub")}, name="EV Sessions"
    )
    before: dict[str, tuple[MockConfigEntry, str, str]] = {}
    for charger_id in OLD_CHARGERS:
        entry = ocpp_charger_entry(hass, charger_id)
        assert (entry.version, entry.minor_version) == (1, 1)
        device = devices.async_get_or_create(
            config_entry_id=entry.entry_id, identifiers={(DOMAIN, charger_id)}
        )
        entity = entities.async_get_or_create(
            "sensor",
            DOMAIN,
            f"{charger_id}_lifetime_energy",
            config_entry=entry,
            device_id=device.id,
        )
        before[charger_id] = (entry, device.id, entity.entity_id)
    # Under the old names the charger "member_anna" held Anna's "charging" unique id.
    anna_charger_entry, anna_charger_device, _ = before["member_anna"]
    held = entities.async_get_or_create(
        "binary_sensor",
        DOMAIN,
        "member_anna_charging",
        config_entry=anna_charger_entry,
        device_id=anna_charger_device,
    )

    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    await hass.async_block_till_done()  # the hub brings its chargers up

    hub_device = devices.async_get_device_by_identifier((DOMAIN, "hub"), hub_entry.entry_id)
    assert hub_device is not None
    assert hub_device.id == old_hub_device.id
    for charger_id, (entry, device_id, entity_id) in before.items():
        assert entry.state is ConfigEntryState.LOADED
        assert (entry.version, entry.minor_version) == (1, 2)
        device = devices.async_get(device_id)
        assert isinstance(device, dr.DeviceEntry)
        assert device.identifiers == {(DOMAIN, f"charger_{charger_id}")}
        assert device.via_device_id == hub_device.id
        entity = entities.async_get(entity_id)
        assert entity is not None
        assert entity.unique_id == f"charger_{charger_id}_lifetime_energy"
        assert entity.device_id == device_id
        assert state_of(hass, "sensor", f"charger_{charger_id}_lifetime_energy") == "0.0"
    assert (hub_entry.version, hub_entry.minor_version) == (1, 2)

    # One device per name: the hub's and Anna's are theirs alone.
    assert devices.async_get_devices(identifiers={(DOMAIN, "hub")}) == [hub_device]
    [anna_device] = devices.async_get_devices(identifiers={(DOMAIN, "member_anna")})
    assert anna_device.config_entry_id == hub_entry.entry_id
    moved = entities.async_get(held.entity_id)
    assert moved is not None
    assert moved.unique_id == "charger_member_anna_charging"
    assert moved.device_id == anna_charger_device
    # ... so Anna's own entity now exists, on her device.
    anna_charging = entities.async_get_entity_id("binary_sensor", DOMAIN, "member_anna_charging")
    assert anna_charging is not None
    anna_entity = entities.async_get(anna_charging)
    assert anna_entity is not None
    assert anna_entity.device_id == anna_device.id
    assert anna_entity.config_entry_id == hub_entry.entry_id

    # Actions resolve the charger "hub" by its device, never by the hub's or a member's.
    assert await _stop_error(hass, before["hub"][1]) == "charger_not_connected"
    assert await _stop_error(hass, hub_device.id) == "unknown_charger_device"
    assert await _stop_error(hass, anna_device.id) == "unknown_charger_device"


async def test_new_charger_named_hub_gets_its_own_device_under_the_hub(
    hass: HomeAssistant, hub: MockConfigEntry
) -> None:
    """A charger added today is ``charger_<id>``, linked to the hub, entities ``charger_<id>_*``."""
    entry = ocpp_charger_entry(hass, "hub")
    hass.config_entries.async_update_entry(entry, minor_version=2)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    devices = dr.async_get(hass)
    hub_device = devices.async_get_device_by_identifier((DOMAIN, "hub"), hub.entry_id)
    charger_device = devices.async_get_device_by_identifier((DOMAIN, "charger_hub"), entry.entry_id)
    assert hub_device is not None
    assert charger_device is not None
    assert charger_device.id != hub_device.id
    assert charger_device.via_device_id == hub_device.id
    assert hub_device.identifiers == {(DOMAIN, "hub")}
    assert hub_device.name == "EV Sessions"
    assert devices.async_get_device_by_identifier((DOMAIN, "hub"), entry.entry_id) is None
    assert state_of(hass, "sensor", "charger_hub_lifetime_energy") == "0.0"
    site_entity = er.async_get(hass).async_get_entity_id(
        "sensor", DOMAIN, "site_occupied_connectors"
    )
    assert site_entity is not None
    site = er.async_get(hass).async_get(site_entity)
    assert site is not None
    assert site.device_id == hub_device.id
    assert await _stop_error(hass, charger_device.id) == "charger_not_connected"
    assert await _stop_error(hass, hub_device.id) == "unknown_charger_device"
