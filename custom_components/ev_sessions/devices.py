"""The integration's Home Assistant devices: namespaced identifiers, the hub link, the migration.

Each kind of device has its own namespace, so no charger id can name another device: the hub is
``(DOMAIN, "hub")``, a charger ``(DOMAIN, "charger_<id>")``, a member ``(DOMAIN, "member_<id>")``.
Entity unique ids use the same prefixes (``site_<key>``, ``charger_<id>_<key>``,
``member_<id>_<key>``). Chargers hang under the hub device (``via_device_id``).

Entries made before the namespaces (config entry version 1.1) named a charger's device
``(DOMAIN, "<id>")`` and its entities ``<id>_<key>``: a charger called "hub" or "member_anna"
took the hub's or a member's names. :func:`async_namespace_entries` renames them in place: the
device keeps its id (automations, area, name) and every entity its entity id (history).
"""

from __future__ import annotations

from typing import Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import device_registry as dr, entity_registry as er

from .const import (
    CONF_CHARGER_ID,
    CONF_ENTRY_TYPE,
    DOMAIN,
    ENTRY_TYPE_CHARGER,
    ENTRY_TYPE_HUB,
    LOGGER,
)

#: The hub (site) device.
HUB_IDENTIFIER: Final = (DOMAIN, "hub")
_CHARGER_PREFIX: Final = "charger_"
_MEMBER_PREFIX: Final = "member_"

#: Config entry minor version from which device identifiers and unique ids are namespaced.
NAMESPACED_MINOR_VERSION: Final = 2


def charger_identifier(charger_id: str) -> tuple[str, str]:
    """The device identifier of a charger."""
    return (DOMAIN, f"{_CHARGER_PREFIX}{charger_id}")


def member_identifier(member_id: str) -> tuple[str, str]:
    """The device identifier of a member."""
    return (DOMAIN, f"{_MEMBER_PREFIX}{member_id}")


def charger_id_of(identifier: tuple[str, str]) -> str | None:
    """The charger id in a charger's device identifier (``None`` for any other device)."""
    domain, value = identifier
    if domain != DOMAIN or not value.startswith(_CHARGER_PREFIX):
        return None
    return value[len(_CHARGER_PREFIX) :]


def member_id_of(identifier: tuple[str, str]) -> str | None:
    """The member id in a member's device identifier (``None`` for any other device)."""
    domain, value = identifier
    if domain != DOMAIN or not value.startswith(_MEMBER_PREFIX):
        return None
    return value[len(_MEMBER_PREFIX) :]


def charger_unique_id(charger_id: str, key: str) -> str:
    """The unique id of a charger's entity (``key`` includes any connector suffix)."""
    return f"{_CHARGER_PREFIX}{charger_id}_{key}"


def hub_device_info() -> dr.DeviceInfo:
    """Device info of the hub (the site)."""
    return dr.DeviceInfo(
        identifiers={HUB_IDENTIFIER}, name="EV Sessions", manufacturer="EV Sessions"
    )


@callback
def async_register_hub_device(hass: HomeAssistant, hub_entry: ConfigEntry) -> None:
    """Register the hub's device now, so chargers set up before its entities can link to it."""
    dr.async_get(hass).async_get_or_create(config_entry_id=hub_entry.entry_id, **hub_device_info())


@callback
def async_link_charger_device(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Register the charger's device (if new) under the hub's device."""
    registry = dr.async_get(hass)
    hub_device = next(
        (
            device
            for device in registry.async_get_devices(identifiers={HUB_IDENTIFIER})
            if _is_hub_entry(hass.config_entries.async_get_entry(device.config_entry_id))
        ),
        None,
    )
    if hub_device is None:  # the hub registers its device before it takes chargers
        LOGGER.debug("No hub device to link charger %s to", entry.title)
        return
    registry.async_get_or_create(
        config_entry_id=entry.entry_id,
        identifiers={charger_identifier(entry.data[CONF_CHARGER_ID])},
        via_device_id=hub_device.id,
    )


def _is_hub_entry(entry: ConfigEntry | None) -> bool:
    return (
        entry is not None
        and entry.domain == DOMAIN
        and entry.data.get(CONF_ENTRY_TYPE) == ENTRY_TYPE_HUB
    )


async def async_namespace_entries(hass: HomeAssistant) -> None:
    """Namespace the devices and unique ids of all charger entries older than 1.2; mark every
    entry of the integration 1.2.

    All at once, longest charger id first: a charger "charger_X" holds, under the old names,
    the unique ids charger "X" gets under the new ones, so it moves out of the way first.
    """
    old = [
        entry
        for entry in hass.config_entries.async_entries(DOMAIN)
        if entry.version == 1 and entry.minor_version < NAMESPACED_MINOR_VERSION
    ]
    chargers = [entry for entry in old if entry.data.get(CONF_ENTRY_TYPE) == ENTRY_TYPE_CHARGER]
    for entry in sorted(chargers, key=lambda e: len(e.data[CONF_CHARGER_ID]), reverse=True):
        await _namespace_charger(hass, entry)
    for entry in old:
        hass.config_entries.async_update_entry(entry, minor_version=NAMESPACED_MINOR_VERSION)


async def _namespace_charger(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Rename one charger's device identifier and entity unique ids; ids are kept."""
    charger_id: str = entry.data[CONF_CHARGER_ID]
    devices = dr.async_get(hass)
    old_identifier = (DOMAIN, charger_id)
    device = devices.async_get_device_by_identifier(old_identifier, entry.entry_id)
    if device is not None:
        devices.async_update_device(
            device.id,
            new_identifiers=(device.identifiers - {old_identifier})
            | {charger_identifier(charger_id)},
        )
    entities = er.async_get(hass)
    old_prefix = f"{charger_id}_"

    @callback
    def rename(entity: er.RegistryEntry) -> dict[str, str] | None:
        if not entity.unique_id.startswith(old_prefix):
            return None
        new_unique_id = charger_unique_id(charger_id, entity.unique_id[len(old_prefix) :])
        if entities.async_get_entity_id(entity.domain, DOMAIN, new_unique_id) is not None:
            LOGGER.warning(
                "Cannot rename %s to unique id %s: already taken", entity.entity_id, new_unique_id
            )
            return None
        return {"new_unique_id": new_unique_id}

    await er.async_migrate_entries(hass, entry.entry_id, rename)
