"""Logbook: sessions in plain language.

Each tag decision is one line: the charger's *Tag* event entity records it (translated, on the
charger's device, accepted ones too). The ``ev_sessions_tag_rejected`` and ``_tag_learned`` bus
events stay for automations but are not described here, else every decision would show twice.
"""

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

#: Icons of the integration's own lines (without one HA shows a blank icon).
ICON_SESSION = "mdi:ev-station"
ICON_FINISHED = "mdi:battery-charging-100"
ICON_ENDED = "mdi:power-plug-off"


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

    async_describe_event(DOMAIN, EVENT_SESSION_STARTED, started)
    async_describe_event(DOMAIN, EVENT_CHARGING_FINISHED, finished)
    async_describe_event(DOMAIN, EVENT_SESSION_ENDED, ended)
