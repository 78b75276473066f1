"""Set up and tear down one charger entry (OCPP or Modbus)."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady

from .chargers.modbus import ModbusCharger, profile_for
from .const import (
    CONF_CHARGER_ID,
    CONF_ENTRY_TYPE,
    CONF_MODEL,
    CONF_PROTOCOL,
    CONF_UNIT_ID,
    DOMAIN,
    ENTRY_TYPE_HUB,
    PROTOCOL_MODBUS,
)
from .coordinator import ChargerCoordinator, ChargerRuntimeData, HubRuntimeData
from .hub import ChargerLink, Hub


def loaded_hub(hass: HomeAssistant) -> Hub | None:
    """The running hub (loaded, or far enough in its setup to take chargers), if any."""
    for entry in hass.config_entries.async_entries(DOMAIN, include_ignore=False):
        if entry.data.get(CONF_ENTRY_TYPE) != ENTRY_TYPE_HUB or entry.state not in (
            ConfigEntryState.LOADED,
            ConfigEntryState.SETUP_IN_PROGRESS,
        ):
            continue
        runtime: HubRuntimeData | None = getattr(entry, "runtime_data", None)
        if runtime is not None and not runtime.closed:
            return runtime.hub
    return None


async def async_setup_charger(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Attach the charger to the hub; Modbus chargers also get their poller."""
    hub = loaded_hub(hass)
    if hub is None:
        raise ConfigEntryNotReady(translation_domain=DOMAIN, translation_key="hub_not_ready")
    charger_id: str = entry.data[CONF_CHARGER_ID]
    protocol: str = entry.data[CONF_PROTOCOL]
    link = ChargerLink(charger_id=charger_id, entry_id=entry.entry_id, protocol=protocol)
    adapter: ModbusCharger | None = None
    if protocol == PROTOCOL_MODBUS:
        adapter = ModbusCharger(
            charger_id,
            entry.data[CONF_HOST],
            int(entry.data[CONF_PORT]),
            profile_for(entry.data[CONF_MODEL]),
            hub,
            unit_id=int(entry.data[CONF_UNIT_ID]),
        )
        link.execute = adapter.execute
    coordinator = ChargerCoordinator(hass, entry, hub, charger_id)
    entry.runtime_data = ChargerRuntimeData(
        hub=hub, link=link, coordinator=coordinator, adapter=adapter
    )
    entry.async_on_unload(hub.register_charger(link))
    entry.async_on_unload(coordinator.async_start())
    if adapter is not None:
        await adapter.start()


async def async_unload_charger(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Stop the Modbus poller (OCPP chargers stay connected to the hub's server)."""
    runtime: ChargerRuntimeData = entry.runtime_data
    if runtime.adapter is not None:
        await runtime.adapter.stop()
