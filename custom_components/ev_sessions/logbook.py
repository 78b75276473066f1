"""Logbook: sessions and tag decisions in plain language."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.components.logbook.const import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.core import Event, HomeAssistant, callback

from .const import DOMAIN, EVENT_CHARGING_FINISHED, EVENT_SESSION_ENDED, EVENT_SESSION_STARTED
from .members import EVENT_TAG_LEARNED, EVENT_TAG_REJECTED


def _name(data: Mapping[str, Any]) -> str:
    return str(data.get("charger_name") or data.get("charger_id") or "Charger")


@callback
def async_describe_events(
    hass: HomeAssistant,
    async_describe_event: Callable[[str, str, Callable[[Event], dict[str, str]]], None],
) -> None:
    """Describe the integration's events."""

    @callback
    def started(event: Event) -> dict[str, str]:
        return {LOGBOOK_ENTRY_NAME: _name(event.data), LOGBOOK_ENTRY_MESSAGE: "vehicle plugged in"}

    @callback
    def finished(event: Event) -> dict[str, str]:
        return {
            LOGBOOK_ENTRY_NAME: _name(event.data),
            LOGBOOK_ENTRY_MESSAGE: f"finished charging after {event.data.get('energy_kwh')} kWh",
        }

    @callback
    def ended(event: Event) -> dict[str, str]:
        return {
            LOGBOOK_ENTRY_NAME: _name(event.data),
            LOGBOOK_ENTRY_MESSAGE: (
                f"session ended: {event.data.get('energy_kwh')} kWh, vehicle unplugged"
            ),
        }

    @callback
    def rejected(event: Event) -> dict[str, str]:
        return {
            LOGBOOK_ENTRY_NAME: _name(event.data),
            LOGBOOK_ENTRY_MESSAGE: f"refused a tag ({event.data.get('reason')})",
        }

    @callback
    def learned(event: Event) -> dict[str, str]:
        return {
            LOGBOOK_ENTRY_NAME: _name(event.data),
            LOGBOOK_ENTRY_MESSAGE: f"learned a tag for {event.data.get('member_name')}",
        }

    async_describe_event(DOMAIN, EVENT_SESSION_STARTED, started)
    async_describe_event(DOMAIN, EVENT_CHARGING_FINISHED, finished)
    async_describe_event(DOMAIN, EVENT_SESSION_ENDED, ended)
    async_describe_event(DOMAIN, EVENT_TAG_REJECTED, rejected)
    async_describe_event(DOMAIN, EVENT_TAG_LEARNED, learned)
