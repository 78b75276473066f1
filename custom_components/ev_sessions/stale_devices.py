"""Stale devices: which of the integration's devices a user may delete from the UI.

A device in use cannot be deleted: the hub's, a member's while the member is in the hub, a
charger's while it has its own entry. Every other device of an entry (a member removed while
its device stayed, a charger whose entry is gone but whose device still hangs on the hub, an
identifier no device of ours has any more) can be deleted (quality scale rule stale-devices).
"""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr

from .const import CONF_CHARGER_ID, CONF_ENTRY_TYPE, DOMAIN, ENTRY_TYPE_CHARGER, ENTRY_TYPE_HUB
from .devices import HUB_IDENTIFIER, charger_identifier, member_identifier
from .member_flow import SUBENTRY_MEMBER


def identifiers_in_use(hass: HomeAssistant) -> set[tuple[str, str]]:
    """The device identifiers of the hub, of every member and of every charger entry."""
    in_use: set[tuple[str, str]] = set()
    for entry in hass.config_entries.async_entries(DOMAIN):
        kind = entry.data.get(CONF_ENTRY_TYPE)
        if kind == ENTRY_TYPE_HUB:
            in_use.add(HUB_IDENTIFIER)
            in_use.update(
                member_identifier(subentry.data["id"])
                for subentry in entry.subentries.values()
                if subentry.subentry_type == SUBENTRY_MEMBER and "id" in subentry.data
            )
        elif kind == ENTRY_TYPE_CHARGER:
            in_use.add(charger_identifier(entry.data[CONF_CHARGER_ID]))
    return in_use


async def async_remove_config_entry_device(
    hass: HomeAssistant, config_entry: ConfigEntry, device_entry: dr.DeviceEntry
) -> bool:
    """Whether the user may delete the device from the entry: only when it is not in use."""
    return not device_entry.identifiers & identifiers_in_use(hass)
