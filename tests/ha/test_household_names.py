"""What a household reads: member and charger names next to the ids (issue 11)."""

from __future__ import annotations

from collections.abc import Callable
import csv
from datetime import UTC, datetime
import io

from homeassistant.components.logbook.const import LOGBOOK_ENTRY_MESSAGE, LOGBOOK_ENTRY_NAME
from homeassistant.components.sensor import SensorStateClass
from homeassistant.core import Event, HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.ev_sessions.const import (
    DOMAIN,
    EVENT_CHARGING_FINISHED,
    EVENT_SESSION_ENDED,
    EVENT_SESSION_STARTED,
)
from custom_components.ev_sessions.core.model import ConnectorView, Session, SpeedClass
from custom_components.ev_sessions.logbook import async_describe_events
from custom_components.ev_sessions.sensor import SITE_SENSORS, _speed_class as speed_class_of

from .helpers import charger_clock, ocpp_charger_entry, wait_until
from .test_ocpp_hub import Make, energy


async def test_events_list_and_export_carry_member_and_charger_names(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """Anna charges at the charger named Garage: every output says so, ids kept too."""
    started = async_capture_events(hass, EVENT_SESSION_STARTED)
    finished = async_capture_events(hass, EVENT_CHARGING_FINISHED)
    ended = async_capture_events(hass, EVENT_SESSION_ENDED)
    entry = ocpp_charger_entry(hass, "CP-N")
    hass.config_entries.async_update_entry(entry, title="Garage")
    assert await hass.config_entries.async_setup(entry.entry_id)
    cp = make_cp("CP-N", power_w=0.0, meter_start_wh=1_000)
    await cp.connect()
    await cp.plug_in(1)
    await cp.start(1, "TAG-ANNA")
    await cp.send_meter_values(1, sampled_values=energy(1_000))
    cp.time_offset = charger_clock(30)
    cp.connector(1).energy_wh = 3_000
    await cp.stop(1, "Local")
    await cp.unplug(1)
    await wait_until(hass, lambda: len(ended) == 1)
    # Plugged in before the tag: nobody yet, then Anna.
    assert (started[0].data["member_name"], started[0].data["charger_name"]) == (None, "Garage")
    data = ended[0].data
    assert (data["member_id"], data["member_name"]) == ("anna", "Anna")
    assert (data["charger_id"], data["charger_name"]) == ("CP-N", "Garage")
    for event in finished:
        assert event.data["member_name"] == "Anna"

    listed = await hass.services.async_call(
        DOMAIN, "list_sessions", {}, blocking=True, return_response=True
    )
    assert listed is not None
    row = listed["sessions"][0]
    assert (row["member_id"], row["member_name"]) == ("anna", "Anna")
    assert (row["charger_id"], row["charger_name"]) == ("CP-N", "Garage")

    exported = await hass.services.async_call(
        DOMAIN, "export_sessions", {}, blocking=True, return_response=True
    )
    assert exported is not None
    rows = list(csv.DictReader(io.StringIO(str(exported["csv"]))))
    assert (rows[0]["charger_name"], rows[0]["member_name"]) == ("Garage", "Anna")
    assert (rows[0]["charger_id"], rows[0]["member_id"]) == ("CP-N", "anna")


async def test_logbook_lines_say_who_charged(hass: HomeAssistant) -> None:
    """The finished and ended lines name the member; a guest's session names nobody."""
    described: dict[str, Callable[[Event], dict[str, str]]] = {}

    def collect(_domain: str, event_type: str, describe: Callable[[Event], dict[str, str]]) -> None:
        described[event_type] = describe

    async_describe_events(hass, collect)
    anna = {"charger_name": "Garage", "energy_kwh": 2.5, "member_name": "Anna"}
    guest = {**anna, "member_name": None}
    finished = described[EVENT_CHARGING_FINISHED]
    ended = described[EVENT_SESSION_ENDED]
    assert finished(Event(EVENT_CHARGING_FINISHED, anna))[LOGBOOK_ENTRY_MESSAGE] == (
        "finished charging for Anna after 2.5 kWh"
    )
    assert ended(Event(EVENT_SESSION_ENDED, anna))[LOGBOOK_ENTRY_MESSAGE] == (
        "session ended: 2.5 kWh for Anna, vehicle unplugged"
    )
    assert ended(Event(EVENT_SESSION_ENDED, guest))[LOGBOOK_ENTRY_MESSAGE] == (
        "session ended: 2.5 kWh, vehicle unplugged"
    )
    assert ended(Event(EVENT_SESSION_ENDED, anna))[LOGBOOK_ENTRY_NAME] == "Garage"


def test_speed_class_stays_on_the_last_known_class_until_the_new_session_has_one() -> None:
    """No "Unknown → Normal" logbook line at each plug-in: the class changes only when it does."""
    at = datetime(2026, 12, 1, 18, tzinfo=UTC)
    last = Session(id="s1", charger_id="CP", connector_id=1, plugged_in_at=at)
    last.speed_class = SpeedClass.NORMAL
    running = Session(id="s2", charger_id="CP", connector_id=1, plugged_in_at=at)
    view = ConnectorView(charger_id="CP", connector_id=1, session=running, last_session=last)
    assert speed_class_of(view) == "normal"  # just plugged in: not yet classified
    running.speed_class = SpeedClass.FAST
    assert speed_class_of(view) == "fast"
    assert speed_class_of(ConnectorView(charger_id="CP", connector_id=1)) is None


def test_energy_today_has_a_state_class() -> None:
    """Energy today grows through the day and restarts at midnight: a total_increasing sensor."""
    description = next(d for d in SITE_SENSORS if d.key == "energy_today")
    assert description.state_class is SensorStateClass.TOTAL_INCREASING
    assert description.native_unit_of_measurement == "kWh"
