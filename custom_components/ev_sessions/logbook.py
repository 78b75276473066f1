"""Logbook: sessions and tag decisions in plain language."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.components.logbook.const import (
    LOGBOOK_ENTRY_ICON,
    LOGBOOK_ENTRY_MESSAGE,
    LOGBOOK_ENTRY_NAME,
)
from homeassistant.core import Event, HomeAssistant, callback

from .const import DOMAIN, EVENT_CHARGING_FINISHED, EVENT_SESSION_ENDED, EVENT_SESSION_STARTED
from .members import EVENT_TAG_LEARNED, EVENT_TAG_REJECTED

#: Icons of the integration's own lines (without one HA shows a blank icon).
ICON_SESSION = "mdi:ev-station"
ICON_FINISHED = "mdi:battery-charging-100"
ICON_ENDED = "mdi:power-plug-off"
ICON_TAG_REJECTED = "mdi:card-remove-outline"
ICON_TAG_LEARNED = "mdi:card-account-details-outline"


def _name(data: Mapping[str, Any]) -> str:
    return str(data.get("charger_name") or data.get("charger_id") or "Charger")


def _for_whom(data: Mapping[str, Any]) -> str:
    """ " for Anna" when the session has a member (by name), else nothing."""
    name = data.get("member_name")
    return f" for {name}" if name else ""


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, str]]], None],
) -> None:
    """Describe the integration's events."""

    @callback
    def started(event: Event) -> dict[str, str]:
        return {
            LOGBOOK_ENTRY_NAME: _name(event.data),
            LOGBOOK_ENTRY_MESSAGE: "vehicle plugged in",
            LOGBOOK_ENTRY_ICON: ICON_SESSION,
        }

    @callback
    def finished(event: Event) -> dict[str, str]:
        return {
            LOGBOOK_ENTRY_NAME: _name(event.data),
            LOGBOOK_ENTRY_MESSAGE: (
                f"finished charging{_for_whom(event.data)} after {event.data.get('energy_kwh')} kWh"
            ),
            LOGBOOK_ENTRY_ICON: ICON_FINISHED,
        }

    @callback
    def ended(event: Event) -> dict[str, str]:
        return {
            LOGBOOK_ENTRY_NAME: _name(event.data),
            LOGBOOK_ENTRY_MESSAGE: (
                f"session ended: {event.data.get('energy_kwh')} kWh{_for_whom(event.data)}, "
                "vehicle unplugged"
            ),
            LOGBOOK_ENTRY_ICON: ICON_ENDED,
        }

    @callback
    def rejected(event: Event) -> dict[str, str]:
        return {
            LOGBOOK_ENTRY_NAME: _name(event.data),
            LOGBOOK_ENTRY_MESSAGE: f"refused a tag ({event.data.get('reason')})",
            LOGBOOK_ENTRY_ICON: ICON_TAG_REJECTED,
        }

    @callback
    def learned(event: Event) -> dict[str, str]:
        return {
            LOGBOOK_ENTRY_NAME: _name(event.data),
            LOGBOOK_ENTRY_MESSAGE: f"learned a tag for {event.data.get('member_name')}",
            LOGBOOK_ENTRY_ICON: ICON_TAG_LEARNED,
        }

    async_describe_event(DOMAIN, EVENT_SESSION_STARTED, started)
    async_describe_event(DOMAIN, EVENT_CHARGING_FINISHED, finished)
    async_describe_event(DOMAIN, EVENT_SESSION_ENDED, ended)
    async_describe_event(DOMAIN, EVENT_TAG_REJECTED, rejected)
    async_describe_event(DOMAIN, EVENT_TAG_LEARNED, learned)
