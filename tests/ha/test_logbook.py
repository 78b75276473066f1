"""Logbook lines of the integration's own events."""

from __future__ import annotations

from collections.abc import Callable

from homeassistant.components.logbook.const import (
    LOGBOOK_ENTRY_ICON,
    LOGBOOK_ENTRY_MESSAGE,
    LOGBOOK_ENTRY_NAME,
)
from homeassistant.core import Event, HomeAssistant

from custom_components.ev_sessions.const import (
    DOMAIN,
    EVENT_CHARGING_FINISHED,
    EVENT_SESSION_ENDED,
    EVENT_SESSION_STARTED,
)
from custom_components.ev_sessions.logbook import async_describe_events

Describe = Callable[[Event], dict[str, str]]


async def test_every_line_has_a_name_a_message_and_an_icon(hass: HomeAssistant) -> None:
    """Each of the integration's lines carries an icon (HA shows a blank one otherwise).

    Tag decisions are not among them: the charger's Tag event entity logs each one once.
    """
    described: dict[str, Describe] = {}

    def collect(domain: str, event_type: str, describe: Describe) -> None:
        assert domain == DOMAIN
        described[event_type] = describe

    async_describe_events(hass, collect)
    data = {"charger_name": "Garage", "energy_kwh": 2.5, "reason": "unknown", "member_name": "Bo"}
    lines = {kind: describe(Event(kind, data)) for kind, describe in described.items()}
    assert set(lines) == {
        EVENT_SESSION_STARTED,
        EVENT_CHARGING_FINISHED,
        EVENT_SESSION_ENDED,
    }
    for kind, line in lines.items():
        assert line[LOGBOOK_ENTRY_NAME] == "Garage", kind
        assert line[LOGBOOK_ENTRY_MESSAGE], kind
        assert line.get(LOGBOOK_ENTRY_ICON, "").startswith("mdi:"), kind
    assert lines[EVENT_SESSION_STARTED][LOGBOOK_ENTRY_ICON] == "mdi:ev-station"
