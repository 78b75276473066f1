"""EV Sessions: Home Assistant as the charging backend for home and workplace chargers."""

from __future__ import annotations

import contextlib

from homeassistant.config_entries import ConfigEntry, ConfigEntryState, OperationNotAllowed
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from .const import CONF_ENTRY_TYPE, DOMAIN, ENTRY_TYPE_CHARGER, ENTRY_TYPE_HUB
from .devices import async_link_charger_device, async_namespace_entries, async_register_hub_device
from .services import async_setup_services
from .setup_charger import async_setup_charger, async_unload_charger
from .setup_hub import async_setup_hub, async_unload_hub
from .stale_devices import (
    async_remove_config_entry_device as async_remove_config_entry_device,  # HA calls it
)

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

HUB_PLATFORMS = [Platform.BINARY_SENSOR, Platform.CALENDAR, Platform.SENSOR]
CHARGER_PLATFORMS = [
    Platform.BINARY_SENSOR,
    Platform.BUTTON,
    Platform.EVENT,
    Platform.NUMBER,
    Platform.SELECT,
    Platform.SENSOR,
    Platform.TIME,
]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions (they exist even before any entry is set up)."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Set up the hub or a charger."""
    if entry.data[CONF_ENTRY_TYPE] == ENTRY_TYPE_HUB:
        async_register_hub_device(hass, entry)
        await async_setup_hub(hass, entry)
        await hass.config_entries.async_forward_entry_setups(entry, HUB_PLATFORMS)
        # Chargers that waited for the hub (or were unloaded with it) come up now. While HA
        # starts, it sets up the not-yet-loaded ones itself.
        for other in _charger_entries(hass):
            if other.state is ConfigEntryState.SETUP_RETRY or (
                other.state is ConfigEntryState.NOT_LOADED and hass.is_running
            ):
                hass.config_entries.async_schedule_reload(other.entry_id)
        return True
    await async_setup_charger(hass, entry)
    async_link_charger_device(hass, entry)
    await hass.config_entries.async_forward_entry_setups(entry, CHARGER_PLATFORMS)
    return True


async def async_migrate_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Bring entries of older versions up to date (1.1 -> 1.2: namespaced device identifiers
    and unique ids, done for all entries at once; see ``devices``)."""
    await async_namespace_entries(hass)
    return True


def _charger_entries(hass: HomeAssistant) -> list[ConfigEntry]:
    return [
        entry
        for entry in hass.config_entries.async_entries(DOMAIN, include_ignore=False)
        if entry.data.get(CONF_ENTRY_TYPE) == ENTRY_TYPE_CHARGER and entry.disabled_by is None
    ]


async def async_unload_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Unload the hub or a charger, leaving no task, socket or timer behind."""
    if entry.data[CONF_ENTRY_TYPE] == ENTRY_TYPE_HUB:
        # Chargers hang on the hub: unload them first; the next hub setup brings them back.
        # (One already being unloaded, e.g. when all entries are unloaded at once, is left
        # to finish on its own.)
        for other in _charger_entries(hass):
            if other.state is ConfigEntryState.LOADED:
                with contextlib.suppress(OperationNotAllowed):
                    await hass.config_entries.async_unload(other.entry_id)
        if not await hass.config_entries.async_unload_platforms(entry, HUB_PLATFORMS):
            return False
        await async_unload_hub(hass, entry)
        return True
    if not await hass.config_entries.async_unload_platforms(entry, CHARGER_PLATFORMS):
        return False
    await async_unload_charger(hass, entry)
    return True
