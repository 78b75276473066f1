"""EV Sessions: Home Assistant as the charging backend for home and workplace chargers."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_validation as cv
from homeassistant.helpers.typing import ConfigType

from .const import CONF_ENTRY_TYPE, DOMAIN, ENTRY_TYPE_HUB
from .services import async_setup_services
from .setup_charger import async_setup_charger, async_unload_charger
from .setup_hub import async_setup_hub, async_unload_hub

CONFIG_SCHEMA = cv.config_entry_only_config_schema(DOMAIN)

HUB_PLATFORMS = [Platform.CALENDAR, Platform.SENSOR]
CHARGER_PLATFORMS = [Platform.BINARY_SENSOR, Platform.BUTTON, Platform.NUMBER, Platform.SENSOR]


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Register the actions (they exist even before any entry is set up)."""
    async_setup_services(hass)
    return True


async def async_setup_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Set up the hub or a charger."""
    if entry.data[CONF_ENTRY_TYPE] == ENTRY_TYPE_HUB:
        await async_setup_hub(hass, entry)
        await hass.config_entries.async_forward_entry_setups(entry, HUB_PLATFORMS)
        # Chargers that waited for the hub can come up now.
        for other in hass.config_entries.async_entries(DOMAIN):
            if other.state is ConfigEntryState.SETUP_RETRY:
                hass.config_entries.async_schedule_reload(other.entry_id)
        return True
    await async_setup_charger(hass, entry)
    await hass.config_entries.async_forward_entry_setups(entry, CHARGER_PLATFORMS)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: ConfigEntry) -> bool:
    """Unload the hub or a charger, leaving no task, socket or timer behind."""
    if entry.data[CONF_ENTRY_TYPE] == ENTRY_TYPE_HUB:
        if not await hass.config_entries.async_unload_platforms(entry, HUB_PLATFORMS):
            return False
        await async_unload_hub(hass, entry)
        # Chargers hold the old hub: reload them so they attach to the next one (or wait for it).
        for other in hass.config_entries.async_entries(DOMAIN):
            if other.entry_id != entry.entry_id and other.state is ConfigEntryState.LOADED:
                hass.config_entries.async_schedule_reload(other.entry_id)
        return True
    if not await hass.config_entries.async_unload_platforms(entry, CHARGER_PLATFORMS):
        return False
    await async_unload_charger(hass, entry)
    return True
