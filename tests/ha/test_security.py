"""Nobody can pose as a charger, inside Home Assistant: passwords on admission, pinned identity,
unknown ids kept away from the record, the hub options form, stricter policies."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
from homeassistant.components.repairs import DOMAIN as REPAIRS_DOMAIN, repairs_flow_manager
from homeassistant.config_entries import SOURCE_INTEGRATION_DISCOVERY, ConfigEntryState
from homeassistant.const import CONF_PASSWORD
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_sessions.const import (
    CONF_FAST_MIN_KW,
    CONF_METER_INTERVAL,
    CONF_REJECT_UNKNOWN,
    CONF_SLOW_MAX_KW,
    DOMAIN,
)
from custom_components.ev_sessions.hub import CONF_ALLOW_WITHOUT_PASSWORD, CONF_IDENTITY
from simulators.ocpp import SimulatedChargePoint

from .helpers import entity_id, ocpp_charger_entry, wait_until
from .test_ocpp_hub import Make


async def _handshake(port: int, charger_id: str, password: str | None = None) -> int:
    """The HTTP status of a bare websocket handshake (101: let in)."""
    headers = {"Authorization": aiohttp.encode_basic_auth(charger_id, password)} if password else {}
    async with aiohttp.ClientSession() as session:
        try:
            ws = await session.ws_connect(
                f"ws://127.0.0.1:{port}/ocpp/{charger_id}", protocols=("ocpp1.6",), headers=headers
            )
        except aiohttp.WSServerHandshakeError as error:
            return error.status
        await ws.close()
        return 101


async def _admitted(
    hass: HomeAssistant, make_cp: Make, charger_id: str, **cfg: Any
) -> tuple[MockConfigEntry, SimulatedChargePoint]:
    entry = ocpp_charger_entry(hass, charger_id)
    assert await hass.config_entries.async_setup(entry.entry_id)
    cp = make_cp(charger_id, **cfg)
    await cp.connect()
    return entry, cp


async def test_admitted_charger_gets_a_password_and_must_use_it(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make, hub_port: int
) -> None:
    """A random password is set on the charger (1.6 AuthorizationKey), stored, then required;
    its identity is pinned; member tags follow only after the password."""
    entry, cp = await _admitted(hass, make_cp, "CP1")
    await wait_until(hass, lambda: CONF_PASSWORD in entry.data, what="password stored")
    password = entry.data[CONF_PASSWORD]
    assert len(password) == 20
    assert cp.config.password == password  # the charger stored it
    changes = cp.requests_for("ChangeConfiguration")
    assert changes[:2] == [
        {"key": "AuthorizationKey", "value": password.encode().hex()},
        {"key": "SecurityProfile", "value": "1"},
    ]
    assert entry.data[CONF_IDENTITY] == {
        "vendor": "ev_sessions",
        "model": "Simulator",
        "serial": "SIM-0001",
    }
    await wait_until(hass, lambda: bool(cp.requests_for("SendLocalList")), what="local list")
    assert cp.connected  # the connection that took the password stays
    # an impersonator without the password is refused, with a wrong one too
    assert await _handshake(hub_port, "CP1") == 401
    assert await _handshake(hub_port, "CP1", "not-the-password-123") == 401
    # the real charger comes back with it
    await cp.disconnect()
    await cp.connect()
    assert await cp.swipe("TAG-ANNA") == "Accepted"


async def test_discovered_201_charger_gets_a_password_when_accepted(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    cp = make_cp("CS-NEW", version="2.0.1")
    booting = asyncio.create_task(cp.connect())
    await wait_until(hass, lambda: cp.boot_status == "Pending", what="pending")
    [flow] = [
        f
        for f in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if f["context"]["source"] == SOURCE_INTEGRATION_DISCOVERY
    ]
    result = await hass.config_entries.flow.async_configure(flow["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    async with asyncio.timeout(5):
        await booting
    entry = result["result"]
    await wait_until(hass, lambda: CONF_PASSWORD in entry.data, what="password stored")
    # the password's SetVariables (the post-boot configuration may send its own as well)
    [request] = [
        r
        for r in cp.requests_for("SetVariables")
        if r["setVariableData"][0]["component"] == {"name": "SecurityCtrlr"}
    ]
    assert request["setVariableData"][0]["attributeValue"] == entry.data[CONF_PASSWORD]
    assert cp.config.password == entry.data[CONF_PASSWORD]


async def test_charger_refusing_a_password_gets_no_tags_until_the_user_confirms(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    assert await async_setup_component(hass, REPAIRS_DOMAIN, {})
    entry, cp = await _admitted(hass, make_cp, "CP-OLD", password_answer="NotSupported")
    issue_id = f"charger_without_password_{entry.entry_id}"
    await wait_until(
        hass, lambda: (DOMAIN, issue_id) in ir.async_get(hass).issues, what="repair issue"
    )
    issue = ir.async_get(hass).issues[(DOMAIN, issue_id)]
    assert issue.translation_placeholders == {"charger": "CP-OLD", "status": "NotSupported"}
    assert CONF_PASSWORD not in entry.data
    await asyncio.sleep(0.2)
    await hass.async_block_till_done()
    assert cp.requests_for("SendLocalList") == []  # no member tags for an impersonable charger
    assert cp.requests_for("GetLocalListVersion") == []
    assert await cp.swipe("TAG-ANNA") == "Accepted"  # it keeps working

    manager = repairs_flow_manager(hass)
    assert manager is not None
    flow = await manager.async_init(DOMAIN, data={"issue_id": issue_id})
    assert flow["step_id"] == "confirm"
    result = await manager.async_configure(flow["flow_id"], {})
    assert result["type"] == "create_entry"
    await hass.async_block_till_done()
    assert entry.options[CONF_ALLOW_WITHOUT_PASSWORD] is True
    await wait_until(hass, lambda: bool(cp.requests_for("SendLocalList")), what="local list")
    assert (DOMAIN, issue_id) not in ir.async_get(hass).issues


async def test_boot_with_another_serial_is_refused_and_reported(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    assert await async_setup_component(hass, REPAIRS_DOMAIN, {})
    entry, cp = await _admitted(hass, make_cp, "CP-PIN")
    await wait_until(hass, lambda: CONF_PASSWORD in entry.data, what="password stored")
    password = entry.data[CONF_PASSWORD]
    await cp.close()
    # someone with the password (or the charger after a board swap) boots as other hardware
    other = make_cp("CP-PIN", serial="SIM-9999", password=password)
    await other.connect(boot=False)
    assert await other.boot(until_accepted=False) == "Rejected"
    issue_id = f"charger_identity_changed_{entry.entry_id}"
    issue = ir.async_get(hass).issues[(DOMAIN, issue_id)]
    assert issue.translation_placeholders == {
        "charger": "CP-PIN",
        "pinned": "ev_sessions / Simulator / SIM-0001",
        "seen": "ev_sessions / Simulator / SIM-9999",
    }
    answer = await other.send_raw('[2,"hb","Heartbeat",{}]')
    assert answer is not None
    assert answer[2] == "SecurityError"
    # the user replaced the charger: confirm, and the new hardware gets in
    manager = repairs_flow_manager(hass)
    assert manager is not None
    flow = await manager.async_init(DOMAIN, data={"issue_id": issue_id})
    result = await manager.async_configure(flow["flow_id"], {})
    assert result["type"] == "create_entry"
    assert entry.data[CONF_IDENTITY]["serial"] == "SIM-9999"
    await wait_until(hass, lambda: other.boot_status == "Accepted", what="accepted after repair")


async def test_unknown_id_reaches_nothing_and_its_discovery_goes_with_it(
    hass: HomeAssistant, hub: MockConfigEntry, hub_port: int
) -> None:
    """With "reject unknown" off, a stranger gets BootNotification Pending (and a discovery)
    and SecurityError for everything else; no session is recorded."""
    start = {
        "connectorId": 1,
        "idTag": "TAG-ANNA",
        "meterStart": 0,
        "timestamp": "2025-01-01T00:00:00Z",
    }
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(
            f"ws://127.0.0.1:{hub_port}/ocpp/STRANGER", protocols=("ocpp1.6",)
        ) as ws,
    ):

        async def exchange(frame: list[Any]) -> list[Any]:
            await ws.send_str(json.dumps(frame))
            async with asyncio.timeout(3):
                while True:
                    message = json.loads(await ws.receive_str())
                    if message[0] in (3, 4) and message[1] == frame[1]:
                        return list(message)

        for frame in (
            [2, "1", "StartTransaction", start],
            [
                2,
                "2",
                "StopTransaction",
                {"transactionId": 1, "meterStop": 5000, "timestamp": "2025-01-01T01:00:00Z"},
            ],
        ):
            assert (await exchange(frame))[2] == "SecurityError"
        boot = await exchange(
            [2, "3", "BootNotification", {"chargePointVendor": "X", "chargePointModel": "Y"}]
        )
        assert boot[2]["status"] == "Pending"
        assert (await exchange([2, "4", "StartTransaction", start]))[2] == "SecurityError"
        await hass.async_block_till_done()
        assert _discoveries(hass) == ["STRANGER"]
    await wait_until(hass, lambda: _discoveries(hass) == [], what="discovery dropped")
    response = await hass.services.async_call(
        DOMAIN, "list_sessions", {}, blocking=True, return_response=True
    )
    assert response is not None
    assert response["sessions"] == []
    assert hub.runtime_data.hub.engine.connectors("STRANGER") == []


def _discoveries(hass: HomeAssistant) -> list[str]:
    return [
        f["context"]["unique_id"]
        for f in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if f["context"]["source"] == SOURCE_INTEGRATION_DISCOVERY
    ]


async def test_hub_options_with_the_hub_loaded_take_effect(
    hass: HomeAssistant, hub: MockConfigEntry, hub_port: int
) -> None:
    """The options form works while the hub runs; "reject unknown chargers" then refuses."""
    assert await _handshake(hub_port, "STRANGER") == 101
    result = await hass.config_entries.options.async_init(hub.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "hub"}
    )
    assert result["step_id"] == "hub"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            CONF_REJECT_UNKNOWN: True,
            CONF_METER_INTERVAL: 10,
            CONF_SLOW_MAX_KW: 3.7,
            CONF_FAST_MIN_KW: 11.0,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert hub.state is ConfigEntryState.LOADED
    assert hub.runtime_data.hub.site.settings.reject_unknown is True
    assert await _handshake(hub_port, "STRANGER") == 404


async def test_removed_charger_is_a_stranger_again(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    entry, cp = await _admitted(hass, make_cp, "CP-GONE", password_answer="Rejected")
    await hass.async_block_till_done()
    assert await hass.config_entries.async_remove(entry.entry_id)
    await wait_until(hass, lambda: not cp.connected, what="connection closed")
    await cp.connect(boot=False)
    assert await cp.boot(until_accepted=False) == "Pending"
    answer = await cp.send_raw('[2,"hb","Heartbeat",{}]')
    assert answer is not None
    assert answer[2] == "SecurityError"


async def test_stricter_policy_clears_the_charger_cache(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    _entry, cp = await _admitted(hass, make_cp, "CP-POL")
    # the first (full) local list is followed by a ClearCache of its own
    await wait_until(hass, lambda: bool(cp.requests_for("ClearCache")), what="first list")
    await hass.async_block_till_done()
    select = entity_id(hass, "select", "charger_CP-POL_authorization")
    before = len(cp.requests_for("ClearCache"))
    assert before == 1

    async def choose(option: str) -> None:
        await hass.services.async_call(
            "select", "select_option", {"entity_id": select, "option": option}, blocking=True
        )
        await asyncio.sleep(0.1)
        await hass.async_block_till_done()

    await choose("free")
    assert len(cp.requests_for("ClearCache")) == before  # looser: nothing to forget
    await choose("members_only")
    await wait_until(
        hass, lambda: len(cp.requests_for("ClearCache")) == before + 1, what="cache cleared"
    )
    await choose("members_and_guests")
    assert len(cp.requests_for("ClearCache")) == before + 1


@pytest.fixture(autouse=True)
def _sockets(socket_enabled: None) -> None:
    """Every test here talks to the hub over real sockets."""


async def test_password_typed_in_the_options_drops_the_unauthenticated_connection(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make, hub_port: int
) -> None:
    """A charger that refused a generated password; the user sets one on it by hand."""
    entry, cp = await _admitted(hass, make_cp, "CP-HAND", password_answer="Rejected")
    await hass.async_block_till_done()
    assert cp.connected
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["step_id"] == "charger"
    await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PASSWORD: "typed-by-hand-1234"}
    )
    await wait_until(hass, lambda: not cp.connected, what="unauthenticated connection dropped")
    assert await _handshake(hub_port, "CP-HAND") == 401
    assert await _handshake(hub_port, "CP-HAND", "typed-by-hand-1234") == 101
    assert entry.state is ConfigEntryState.LOADED
