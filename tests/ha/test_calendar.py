"""The sessions calendar: a running session is an ongoing event; titles name who and where."""

from __future__ import annotations

from datetime import datetime, timedelta

from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_component import async_update_entity
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_sessions.chargers.events import ConnectorState, MeterSample, StatusChanged
from custom_components.ev_sessions.core.model import utcnow

from .helpers import entity_id, ocpp_charger_entry


async def _calendar_events(hass: HomeAssistant, start: datetime, end: datetime) -> list[dict]:
    calendar = entity_id(hass, "calendar", "site_sessions")
    response = await hass.services.async_call(
        "calendar",
        "get_events",
        {"entity_id": calendar, "start_date_time": start, "end_date_time": end},
        blocking=True,
        return_response=True,
    )
    assert response is not None
    return list(response[calendar]["events"])


async def test_running_session_is_an_ongoing_event_named_by_member_and_charger(
    hass: HomeAssistant, hub: MockConfigEntry
) -> None:
    """While a car charges the calendar is on; the event runs past now and its title says
    who charged where (names, not ids); after unplugging it ends at the unplug time."""
    charger = ocpp_charger_entry(hass, "CP1")
    hass.config_entries.async_update_entry(charger, title="Garage")
    assert await hass.config_entries.async_setup(charger.entry_id)
    await hass.async_block_till_done()
    site = hub.runtime_data.hub.site
    engine = hub.runtime_data.hub.engine
    start = utcnow() - timedelta(minutes=30)
    for event in (
        StatusChanged(charger_id="CP1", at=start, connector_id=1, state=ConnectorState.CHARGING),
        MeterSample(charger_id="CP1", at=start, connector_id=1, energy_register_wh=10_000),
        MeterSample(charger_id="CP1", at=utcnow(), connector_id=1, energy_register_wh=12_500),
    ):
        site.handle_event(event)
    session = engine.connector("CP1", 1).session
    assert session is not None
    engine.attribute(session.id, "anna", None)

    calendar = entity_id(hass, "calendar", "site_sessions")
    await async_update_entity(hass, calendar)
    state = hass.states.get(calendar)
    assert state is not None
    assert state.state == "on"
    assert state.attributes["message"] == "Anna · Garage: 2.50 kWh"
    assert dt_util.parse_datetime(state.attributes["end_time"]) is not None

    now = dt_util.utcnow()
    [event] = await _calendar_events(hass, now - timedelta(hours=1), now + timedelta(hours=1))
    assert event["summary"] == "Anna · Garage: 2.50 kWh"
    assert datetime.fromisoformat(event["start"]) == start
    assert datetime.fromisoformat(event["end"]) > dt_util.utcnow()

    unplugged = utcnow()
    site.handle_event(
        StatusChanged(
            charger_id="CP1", at=unplugged, connector_id=1, state=ConnectorState.AVAILABLE
        )
    )
    await site.persist("CP1")
    await async_update_entity(hass, calendar)
    assert hass.states.get(calendar).state == "off"  # type: ignore[union-attr]
    [event] = await _calendar_events(hass, now - timedelta(hours=1), now + timedelta(hours=1))
    assert event["summary"] == "Anna · Garage: 2.50 kWh"
    assert datetime.fromisoformat(event["end"]) == unplugged
