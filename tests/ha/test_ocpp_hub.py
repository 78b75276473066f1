"""OCPP chargers inside Home Assistant: discovery, a full session, control, restarts."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
import ssl
from typing import Any

import aiohttp
from homeassistant.config_entries import SOURCE_INTEGRATION_DISCOVERY, ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.ev_sessions.const import (
    CONF_CHARGER_ID,
    DOMAIN,
    EVENT_CHARGING_FINISHED,
    EVENT_SESSION_ENDED,
    EVENT_SESSION_STARTED,
)
from custom_components.ev_sessions.core.tariff import Tariff
from simulators.ocpp import SimulatedChargePoint

from .helpers import (
    charger_clock,
    entity_id,
    ocpp_charger_entry,
    set_fixed_price,
    state_of,
    wait_state,
    wait_until,
)

Make = Callable[..., SimulatedChargePoint]


def energy(wh: int, power_w: float = 7400.0) -> list[dict[str, Any]]:
    """Sampled values with an exact register and power."""
    return [
        {"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
        {"value": str(power_w), "measurand": "Power.Active.Import", "unit": "W"},
        {"value": "10.5", "measurand": "Current.Import", "phase": "L1", "unit": "A"},
    ]


def _discovery_flows(hass: HomeAssistant) -> list[dict[str, Any]]:
    return [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"]["source"] == SOURCE_INTEGRATION_DISCOVERY
    ]


async def test_unknown_charger_is_discovered_and_accepted_without_reconnect(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """Pending until the user accepts, then Accepted on the same websocket."""
    cp = make_cp("GARAGE-1", vendor="Acme", model="Wallbox 11")
    booting = asyncio.create_task(cp.connect())
    await wait_until(hass, lambda: _discovery_flows(hass), what="discovery flow")
    await wait_until(hass, lambda: cp.boot_status == "Pending", what="boot pending")
    flow = _discovery_flows(hass)[0]
    assert flow["context"]["unique_id"] == "GARAGE-1"
    assert flow["step_id"] == "discovery_confirm"
    assert flow["context"]["title_placeholders"] == {"charger_id": "GARAGE-1"}

    result = await hass.config_entries.flow.async_configure(flow["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_CHARGER_ID] == "GARAGE-1"
    async with asyncio.timeout(5):
        await booting
    assert cp.boot_status == "Accepted"
    assert cp._connect_count == 1  # no reconnect dance

    entry = hass.config_entries.async_entries(DOMAIN)[-1]
    await wait_until(hass, lambda: entry.state is ConfigEntryState.LOADED)
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, "charger_GARAGE-1"), entry.entry_id
    )
    assert device is not None
    assert (device.manufacturer, device.model) == ("Acme", "Wallbox 11")
    await wait_until(
        hass,
        lambda: state_of(hass, "binary_sensor", "charger_GARAGE-1_charger_connected") == "on",
        what="charger connected",
    )


async def test_rejects_unknown_charger_when_configured(
    hass: HomeAssistant, hub_entry: MockConfigEntry, make_cp: Make
) -> None:
    """With the option set, unknown ids are refused and no discovery starts."""
    hass.config_entries.async_update_entry(
        hub_entry, options={**hub_entry.options, "reject_unknown_chargers": True}
    )
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    cp = make_cp("STRANGER")
    with pytest.raises(Exception, match="404"):
        await cp.connect()
    await hass.async_block_till_done()
    assert _discovery_flows(hass) == []


async def test_full_session_shows_in_home_assistant(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """Plug in, start, meter, stop, unplug: entities, events and the stored session agree."""
    entry = ocpp_charger_entry(hass, "CP1")
    assert await hass.config_entries.async_setup(entry.entry_id)
    started = async_capture_events(hass, EVENT_SESSION_STARTED)
    finished = async_capture_events(hass, EVENT_CHARGING_FINISHED)
    ended = async_capture_events(hass, EVENT_SESSION_ENDED)

    cp = make_cp("CP1", power_w=0.0, meter_start_wh=10_000)
    await cp.connect()
    assert cp.boot_status == "Accepted"
    await cp.plug_in(1)
    await wait_state(hass, "sensor", "charger_CP1_status", "preparing")
    assert state_of(hass, "binary_sensor", "charger_CP1_vehicle_connected") == "on"
    await wait_state(hass, "sensor", "site_vehicles_waiting", "1")  # plugged in, no energy yet
    assert await cp.swipe("TAG-ANNA") == "Accepted"
    await cp.start(1, "TAG-ANNA")
    await cp.send_meter_values(1, sampled_values=energy(10_000))
    cp.time_offset = charger_clock(20)  # the charger's clock: 20 minutes of charging
    await cp.send_meter_values(1, sampled_values=energy(12_345))
    await wait_state(hass, "sensor", "charger_CP1_session_energy", "2.345")
    assert state_of(hass, "sensor", "charger_CP1_status") == "charging"
    assert state_of(hass, "binary_sensor", "charger_CP1_charging") == "on"
    await wait_state(hass, "sensor", "site_vehicles_waiting", "0")
    assert state_of(hass, "sensor", "site_occupied_connectors") == "1"
    assert float(state_of(hass, "sensor", "charger_CP1_power")) == 7.4  # shown in kW
    assert float(state_of(hass, "sensor", "charger_CP1_current_l1")) == 10.5
    assert len(started) == 1
    assert started[0].data["charger_id"] == "CP1"

    cp.connector(1).energy_wh = 14_000
    cp.time_offset = charger_clock(35)
    await cp.stop(1, "EVDisconnected")
    cp.time_offset = charger_clock(50)
    await cp.unplug(1)
    await wait_until(hass, lambda: len(ended) == 1, what="session ended event")
    summary = ended[0].data
    assert summary["energy_wh"] == 4_000
    assert summary["stop_reason"] == "ev_disconnected"  # the one vocabulary
    assert summary["charger_name"] == "CP1"
    assert summary["speed_class"] == "normal"
    assert len(finished) == 1
    assert state_of(hass, "sensor", "charger_CP1_status") == "available"
    assert state_of(hass, "sensor", "charger_CP1_session_energy") == "4.0"
    assert state_of(hass, "sensor", "charger_CP1_lifetime_energy") == "4.0"
    # No price source: no cost sensors. Once one is configured they appear, and the last
    # session's cost (once priced) shows in HA's currency.
    registry = er.async_get(hass)
    assert registry.async_get_entity_id("sensor", DOMAIN, "charger_CP1_session_cost") is None
    assert registry.async_get_entity_id("sensor", DOMAIN, "charger_CP1_charger_cost") is None
    await set_fixed_price(hass, hub, Tariff(currency=hass.config.currency))
    assert state_of(hass, "sensor", "charger_CP1_charger_cost") == "unknown"
    hub.runtime_data.hub.engine.set_cost(summary["id"], Decimal("12.34"), "test tariff")
    await wait_state(hass, "sensor", "charger_CP1_session_cost", "12.34")
    cost_state = hass.states.get(entity_id(hass, "sensor", "charger_CP1_session_cost"))
    assert cost_state is not None
    assert cost_state.attributes["unit_of_measurement"] == hass.config.currency

    # The calendar shows the session in any window it overlaps (here: one that starts after
    # the vehicle was plugged in and before it left).
    plugged_in = datetime.fromisoformat(summary["plugged_in_at"])
    events = await hass.services.async_call(
        "calendar",
        "get_events",
        {
            "entity_id": entity_id(hass, "calendar", "site_sessions"),
            "start_date_time": plugged_in + timedelta(minutes=30),
            "end_date_time": plugged_in + timedelta(hours=3),
        },
        blocking=True,
        return_response=True,
    )
    assert events is not None
    [event] = events[entity_id(hass, "calendar", "site_sessions")]["events"]
    assert event["summary"] == "Anna · CP1: 4.00 kWh"  # the member, then the charger
    assert datetime.fromisoformat(event["start"]) == plugged_in
    assert datetime.fromisoformat(event["end"]) == datetime.fromisoformat(summary["unplugged_at"])

    response = await hass.services.async_call(
        DOMAIN, "list_sessions", {}, blocking=True, return_response=True
    )
    assert response is not None
    sessions = response["sessions"]
    assert [s["energy_wh"] for s in sessions] == [4_000]
    assert sessions[0]["transaction_id"] is not None
    assert sessions[0]["idle_s"] == 15 * 60

    export = await hass.services.async_call(
        DOMAIN, "export_sessions", {}, blocking=True, return_response=True
    )
    assert export is not None
    lines = str(export["csv"]).strip().splitlines()
    assert lines[0].startswith("id,charger_id,connector_id")
    assert len(lines) == 2
    assert ",CP1,1," in lines[1]
    assert ",4.0,4000," in lines[1]


async def test_control_from_home_assistant(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """Buttons and the limit reach the charger with spec-conform payloads."""
    entry = ocpp_charger_entry(hass, "CP2")
    assert await hass.config_entries.async_setup(entry.entry_id)
    cp = make_cp("CP2", vendor="Zap", model="Z1", firmware="4.2")
    await cp.connect()
    await cp.plug_in(1)
    await wait_state(hass, "sensor", "charger_CP2_status", "preparing")
    # Added by id before it ever connected: the device learns its identity at boot.
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, "charger_CP2"), entry.entry_id
    )
    assert device is not None
    assert (device.manufacturer, device.model, device.sw_version) == ("Zap", "Z1", "4.2")

    await hass.services.async_call(
        "button",
        "press",
        {"entity_id": entity_id(hass, "button", "charger_CP2_start_charging")},
        blocking=True,
    )
    remote = cp.requests_for("RemoteStartTransaction")
    assert len(remote) == 1
    assert remote[0]["connectorId"] == 1
    assert 0 < len(remote[0]["idTag"]) <= 20
    await wait_state(hass, "sensor", "charger_CP2_status", "charging")

    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": entity_id(hass, "number", "charger_CP2_current_limit"), "value": 0},
        blocking=True,
    )
    profile = cp.requests_for("SetChargingProfile")[-1]["csChargingProfiles"]
    assert profile["chargingProfilePurpose"] == "ChargePointMaxProfile"
    assert profile["chargingSchedule"]["chargingRateUnit"] == "A"
    assert profile["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] == 0
    assert state_of(hass, "number", "charger_CP2_current_limit") == "0.0"

    started = cp.connector(1).transaction_id
    assert started is not None
    await hass.services.async_call(
        "button",
        "press",
        {"entity_id": entity_id(hass, "button", "charger_CP2_stop_charging")},
        blocking=True,
    )
    stop = cp.requests_for("RemoteStopTransaction")
    assert len(stop) == 1
    assert str(stop[0]["transactionId"]) == str(started)


async def test_action_on_disconnected_charger_raises_translated_error(
    hass: HomeAssistant, hub: MockConfigEntry
) -> None:
    """A command to a charger that is not connected fails with a clear error."""
    entry = ocpp_charger_entry(hass, "OFFLINE-1")
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert state_of(hass, "sensor", "charger_OFFLINE-1_lifetime_energy") == "0.0"
    # Its entities are unavailable, so HA skips button presses; the action still answers.
    assert state_of(hass, "button", "charger_OFFLINE-1_stop_charging") == "unavailable"
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, "charger_OFFLINE-1"), entry.entry_id
    )
    assert device is not None
    with pytest.raises(HomeAssistantError) as err:
        await hass.services.async_call(
            DOMAIN, "stop_charging", {"device_id": device.id}, blocking=True
        )
    assert err.value.translation_key == "charger_not_connected"


async def test_session_continues_across_hub_restart(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """HA restarts mid-session: the charger reconnects and the same session goes on."""
    entry = ocpp_charger_entry(hass, "CP3")
    assert await hass.config_entries.async_setup(entry.entry_id)
    ended = async_capture_events(hass, EVENT_SESSION_ENDED)
    cp = make_cp("CP3", power_w=0.0, meter_start_wh=500)
    await cp.connect()
    await cp.plug_in(1)
    await cp.start(1, "TAG-BO")
    cp.time_offset = charger_clock(10)
    await cp.send_meter_values(1, sampled_values=energy(1_500))
    await wait_state(hass, "sensor", "charger_CP3_session_energy", "1.0")

    assert await hass.config_entries.async_reload(hub.entry_id)
    await hass.async_block_till_done()
    await wait_until(
        hass, lambda: entry.state is ConfigEntryState.LOADED, what=f"charger reload {entry.state}"
    )
    await cp.disconnect()
    await cp.connect()  # the charger comes back (no new boot: same transaction)
    cp.time_offset = charger_clock(20)
    await cp.send_meter_values(1, sampled_values=energy(2_500))
    await wait_state(hass, "sensor", "charger_CP3_session_energy", "2.0")
    cp.connector(1).energy_wh = 3_000
    cp.time_offset = charger_clock(30)
    await cp.stop(1, "Local")
    await cp.unplug(1)
    await wait_until(hass, lambda: len(ended) == 1)
    assert ended[0].data["energy_wh"] == 2_500
    response = await hass.services.async_call(
        DOMAIN, "list_sessions", {}, blocking=True, return_response=True
    )
    assert response is not None
    assert [s["energy_wh"] for s in response["sessions"]] == [2_500]


async def test_unload_and_reload_leave_nothing_behind(
    hass: HomeAssistant, hub: MockConfigEntry, hub_port: int
) -> None:
    """Unloading frees the port; reloading listens again."""
    assert await hass.config_entries.async_unload(hub.entry_id)
    await hass.async_block_till_done()
    assert hub.state is ConfigEntryState.NOT_LOADED
    server = await asyncio.start_server(lambda _r, _w: None, "127.0.0.1", hub_port)
    server.close()
    await server.wait_closed()
    assert await hass.config_entries.async_setup(hub.entry_id)
    await hass.async_block_till_done()
    assert hub.state is ConfigEntryState.LOADED
    reader, writer = await asyncio.open_connection("127.0.0.1", hub_port)
    writer.close()
    await writer.wait_closed()
    del reader


async def test_security_profile_2_tls_and_password(
    hass: HomeAssistant, hub_entry: MockConfigEntry, certificate: tuple[str, str], make_cp: Make
) -> None:
    """wss:// with the hub's certificate and the charger's password: in; wrong password: 401."""
    cert, key = certificate
    hass.config_entries.async_update_entry(
        hub_entry, data={**hub_entry.data, "ssl_certfile": cert, "ssl_keyfile": key}
    )
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    entry = ocpp_charger_entry(hass, "SECURE-1", password="correct horse")
    assert await hass.config_entries.async_setup(entry.entry_id)
    trust = ssl.create_default_context(cafile=cert)

    def secure(password: str) -> SimulatedChargePoint:
        cp = make_cp("SECURE-1", password=password, ssl_context=trust)
        cp.url = cp.url.replace("ws://", "wss://")
        return cp

    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await secure("wrong").connect()
    assert err.value.status == 401
    cp = secure("correct horse")
    await cp.connect()
    assert cp.boot_status == "Accepted"
    await wait_state(hass, "binary_sensor", "charger_SECURE-1_charger_connected", "on")


def energy_201(wh: int, power_w: float = 7400.0) -> list[dict[str, Any]]:
    """OCPP 2.0.1 sampled values: numbers, units in unitOfMeasure."""
    return [
        {
            "value": wh,
            "measurand": "Energy.Active.Import.Register",
            "unitOfMeasure": {"unit": "Wh"},
        },
        {"value": power_w, "measurand": "Power.Active.Import", "unitOfMeasure": {"unit": "W"}},
    ]


async def test_ocpp_201_session_in_home_assistant(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """An OCPP 2.0.1 station: TransactionEvents become a session with exact energy."""
    entry = ocpp_charger_entry(hass, "CP201")
    assert await hass.config_entries.async_setup(entry.entry_id)
    ended = async_capture_events(hass, EVENT_SESSION_ENDED)
    cp = make_cp("CP201", version="2.0.1", power_w=0.0, meter_start_wh=2_000)
    await cp.connect()
    assert cp.protocol == "ocpp2.0.1"
    assert await cp.swipe("TAG-BO") == "Accepted"
    await cp.plug_in(1)
    await cp.start(1, "TAG-BO")
    await cp.send_meter_values(1, sampled_values=energy_201(2_000))
    cp.time_offset = charger_clock(15)
    await cp.send_meter_values(1, sampled_values=energy_201(3_500))
    await wait_state(hass, "sensor", "charger_CP201_session_energy", "1.5")
    assert state_of(hass, "sensor", "charger_CP201_status") == "charging"
    cp.connector(1).energy_wh = 4_000
    cp.time_offset = charger_clock(20)
    await cp.stop(1, "EVDisconnected")
    await cp.unplug(1)
    await wait_until(hass, lambda: len(ended) == 1, what="2.0.1 session ended")
    assert ended[0].data["energy_wh"] == 2_000
    assert ended[0].data["member_id"] == "bo"
    await hass.services.async_call(
        "number",
        "set_value",
        {"entity_id": entity_id(hass, "number", "charger_CP201_current_limit"), "value": 10},
        blocking=True,
    )
    profile = cp.requests_for("SetChargingProfile")[-1]["chargingProfile"]
    assert profile["chargingProfilePurpose"] == "ChargingStationMaxProfile"
    assert profile["chargingSchedule"][0]["chargingSchedulePeriod"][0]["limit"] == 10


async def test_states_written_for_one_frame_share_one_context(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """One meter frame is one cause: its state changes share a context (and HA links the
    context to one event only, which keeps a reference cycle per state write away)."""
    entry = ocpp_charger_entry(hass, "CP-CTX")
    assert await hass.config_entries.async_setup(entry.entry_id)
    cp = make_cp("CP-CTX", power_w=0.0)
    await cp.connect()
    await cp.plug_in(1)
    await cp.start(1, "TAG-ANNA")
    await cp.send_meter_values(1, sampled_values=energy(1_000, 7_000))
    await hass.async_block_till_done()
    changes = async_capture_events(hass, "state_changed")
    cp.time_offset = charger_clock(5)
    await cp.send_meter_values(1, sampled_values=[*energy(1_500, 6_000)[:2]])
    await wait_until(hass, lambda: len({e.data["entity_id"] for e in changes}) >= 3)
    await hass.async_block_till_done()
    ours = [e for e in changes if e.data["entity_id"].startswith(("sensor.cp_ctx", "binary"))]
    changed = {e.data["entity_id"] for e in ours}
    assert {
        entity_id(hass, "sensor", "charger_CP-CTX_power"),
        entity_id(hass, "sensor", "charger_CP-CTX_session_energy"),
        entity_id(hass, "sensor", "charger_CP-CTX_lifetime_energy"),
    } <= changed
    assert len({e.context.id for e in ours}) == 1
    # HA made the first of these events the context's origin, and that event holds the new
    # state, which holds the context: a cycle per frame that only a full collection frees
    # (a ~0.35 s pause of hass every ~2 min at 200 chargers). The update unlinks it.
    assert ours[0].context.origin_event is None


async def test_stop_event_and_unload_share_one_shutdown(
    hass: HomeAssistant, hub: MockConfigEntry
) -> None:
    """HA stopping while the hub unloads: the unload returns only when all is closed."""
    runtime = hub.runtime_data
    hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
    await asyncio.sleep(0)  # the stop listener starts the shutdown
    assert runtime.shutdown is not None
    assert await hass.config_entries.async_unload(hub.entry_id)
    assert runtime.shutdown.done()
    assert not runtime.server.running
