"""OCPP as a strict station sees it (issue 17): only valid frames, in the right order, one limit
per scope. The simulator runs strict: it validates every frame of ours with the ocpp schemas."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from custom_components.ev_sessions.chargers.events import (
    AuthorizationListEntry,
    AuthorizationStatus,
    BootDecision,
    ChargerConnected,
    ChargerError,
    ChargerEvent,
    ClearLimits,
    GetAuthorizationListVersion,
    GetCurrentLimit,
    InvalidCommandError,
    PushAuthorizationList,
    SetCurrentLimit,
)
from custom_components.ev_sessions.chargers.ocpp import OcppServer
from custom_components.ev_sessions.chargers.ocpp.connection import ChargerNotAcceptedError
from simulators.ocpp import SimConfig, SimulatedChargePoint

from .helpers import RecordingHandler, charge_point, running_server, url, wait_until

pytestmark = pytest.mark.usefixtures("socket_enabled")

VERSIONS = ["1.6", "2.0.1"]
TX_DEFAULT = "TxDefaultProfile"


class EagerHandler(RecordingHandler):
    """Asks the charger for its local list version as soon as it is connected (as the hub's
    local-list sync does), and records how that went."""

    def __init__(self) -> None:
        super().__init__()
        self.server: OcppServer | None = None
        self.outcomes: list[str] = []
        self._tasks: set[asyncio.Task[None]] = set()

    def handle_event(self, event: ChargerEvent) -> None:
        super().handle_event(event)
        if isinstance(event, ChargerConnected) and self.server is not None:
            task = asyncio.get_running_loop().create_task(self._ask(event.charger_id))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _ask(self, charger_id: str) -> None:
        assert self.server is not None
        try:
            result = await self.server.execute(charger_id, GetAuthorizationListVersion())
        except ChargerError as error:
            self.outcomes.append(type(error).__name__)
        else:
            self.outcomes.append(result.status)


class OrderedStation(SimulatedChargePoint):
    """A simulated station that records the kind of every frame it receives, in order."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: (message type, action of a CALL or "answer")
        self.frames: list[tuple[int, str]] = []

    def intercept(self, raw: str) -> bool:
        message = json.loads(raw)
        self.frames.append((message[0], message[2] if message[0] == 2 else "answer"))
        return super().intercept(raw)


def station(server: OcppServer, charger_id: str, version: str, **config: Any) -> OrderedStation:
    return OrderedStation(
        url(server, charger_id), SimConfig(charger_id=charger_id, version=version, **config)
    )


# ---------------------------------------------------------------------- boot before anything


@pytest.mark.parametrize("version", VERSIONS)
async def test_nothing_is_sent_before_the_boot_is_answered(version: str) -> None:
    """A known station connecting after a hub restart boots: its BootNotification is answered
    before anything else goes out (the hub's first command waits for it)."""
    handler = EagerHandler()
    async with running_server(handler, known=lambda _: True) as (server, _):
        handler.server = server
        cp = station(server, "CS1", version)
        try:
            await cp.connect()
            await wait_until(lambda: handler.outcomes == ["Accepted"])
            assert cp.frames[0] == (3, "answer")  # the answer to its BootNotification
            assert (2, "GetLocalListVersion") in cp.frames
            assert len(handler.of(ChargerConnected)) == 1
        finally:
            await cp.close()


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_pending_station_gets_nothing_but_its_boot_trigger(version: str) -> None:
    handler = EagerHandler()
    handler.boot["CS1"] = BootDecision.PENDING
    async with running_server(handler, known=lambda _: True) as (server, _):
        handler.server = server
        cp = station(server, "CS1", version)
        try:
            await cp.connect(boot=False)
            assert await cp.boot(until_accepted=False) == "Pending"
            with pytest.raises(ChargerNotAcceptedError):
                await server.execute("CS1", GetAuthorizationListVersion())
            await asyncio.sleep(server.settings.resume_grace + 0.1)
            assert cp.requests == []
            assert handler.of(ChargerConnected) == []
            server.accept("CS1")  # the user lets it in: it is asked to boot again
            await wait_until(lambda: handler.outcomes == ["Accepted"])
            assert [action for action, _ in cp.requests] == [
                "TriggerMessage",
                "GetLocalListVersion",
            ]
        finally:
            await cp.close()


async def test_a_station_that_resumes_without_booting_is_commanded_after_its_first_message() -> (
    None
):
    """After a hub restart a known station reconnects without a boot: nothing goes out until
    it shows that it resumes (any message other than a BootNotification)."""
    handler = EagerHandler()
    async with running_server(handler, known=lambda _: True, resume_grace=30.0) as (server, _):
        handler.server = server
        cp = station(server, "CS1", "2.0.1")
        try:
            await cp.connect(boot=False)
            await asyncio.sleep(0.1)
            with pytest.raises(ChargerNotAcceptedError):
                await server.execute("CS1", GetAuthorizationListVersion())
            assert cp.requests == []
            await cp.heartbeat()
            await wait_until(lambda: handler.outcomes == ["Accepted"])
            assert [action for action, _ in cp.requests] == ["GetLocalListVersion"]
        finally:
            await cp.close()


# ---------------------------------------------------------------------- local lists


@pytest.mark.parametrize(
    ("version", "version_key"), [("1.6", "listVersion"), ("2.0.1", "versionNumber")]
)
async def test_an_empty_full_list_is_sent_without_the_list(version: str, version_key: str) -> None:
    """A hub without members clears the list: 2.0.1 forbids an empty localAuthorizationList."""
    async with running_server() as (server, _), charge_point(server, "CS1", version=version) as cp:
        result = await server.execute("CS1", PushAuthorizationList(version=3, entries=[]))
        assert (result.accepted, result.status) == (True, "Accepted")
        assert cp.requests_for("SendLocalList") == [{version_key: 3, "updateType": "Full"}]
        assert cp.local_list_version == 3
        assert cp.errors == []


@pytest.mark.parametrize(("version", "too_long"), [("1.6", 21), ("2.0.1", 37)])
async def test_a_list_with_tags_the_protocol_cannot_carry_is_sent_without_them(
    version: str, too_long: int
) -> None:
    async with running_server() as (server, _), charge_point(server, "CS1", version=version) as cp:
        entries = [
            AuthorizationListEntry(id_tag="T" * too_long, status=AuthorizationStatus.ACCEPTED),
            AuthorizationListEntry(id_tag="TAG-1", status=AuthorizationStatus.ACCEPTED),
        ]
        result = await server.execute("CS1", PushAuthorizationList(version=1, entries=entries))
        assert result.accepted
        assert result.data["left_out"] == 1
        [request] = cp.requests_for("SendLocalList")
        assert len(request["localAuthorizationList"]) == 1
        # a list the hub built wrongly is a charger error (caught by a sync), never a bare one
        removal = [AuthorizationListEntry(id_tag="TAG-1", status=None)]
        with pytest.raises(ChargerError) as refused:
            await server.execute("CS1", PushAuthorizationList(version=2, entries=removal))
        assert isinstance(refused.value, InvalidCommandError)
        assert len(cp.requests_for("SendLocalList")) == 1


# ---------------------------------------------------------------------- one limit per scope


@pytest.mark.parametrize("version", VERSIONS)
async def test_one_limit_per_scope_on_a_single_connector_station(version: str) -> None:
    """Connector 1 and the whole charger are one scope: the second limit replaces the first
    (one profile), and a whole-charger limit an earlier version left is cleared by its id."""
    async with running_server() as (server, _), charge_point(server, "CS1", version=version) as cp:
        cp.apply_profile(0, 1000, TX_DEFAULT, {"charging_schedule_period": [{"limit": 6}]})
        cp.apply_profile(1, 77, TX_DEFAULT, {"charging_schedule_period": [{"limit": 32}]})
        assert (await server.execute("CS1", SetCurrentLimit(connector_id=1, limit_a=16))).accepted
        assert (await server.execute("CS1", SetCurrentLimit(connector_id=0, limit_a=10))).accepted
        # someone else's profile (77) stays; ours is one profile with the latest limit
        assert cp.connector(1).profiles == {77: (TX_DEFAULT, 32.0), 1001: (TX_DEFAULT, 10.0)}
        scopes = [
            request.get("connectorId", request.get("evseId"))
            for request in cp.requests_for("SetChargingProfile")
        ]
        assert scopes == [1, 1]
        assert (await server.execute("CS1", ClearLimits(connector_id=0))).accepted
        assert cp.connector(1).profiles == {77: (TX_DEFAULT, 32.0)}
        assert cp.errors == []


@pytest.mark.parametrize("version", VERSIONS)
async def test_a_whole_charger_limit_replaces_the_connectors_own(version: str) -> None:
    async with (
        running_server() as (server, _),
        charge_point(server, "CS2", version=version, connectors=2) as cp,
    ):
        assert (await server.execute("CS2", SetCurrentLimit(connector_id=2, limit_a=16))).accepted
        assert (await server.execute("CS2", SetCurrentLimit(connector_id=0, limit_a=10))).accepted
        assert cp.connector(1).profiles == {1000: (TX_DEFAULT, 10.0)}
        assert cp.connector(2).profiles == {1000: (TX_DEFAULT, 10.0)}


@pytest.mark.parametrize("version", VERSIONS)
async def test_the_limit_in_force_is_read_back(version: str) -> None:
    async with running_server() as (server, _), charge_point(server, "CS1", version=version) as cp:
        result = await server.execute("CS1", GetCurrentLimit(connector_id=0))
        assert (result.accepted, result.data["limit_a"]) == (False, None)
        await server.execute("CS1", SetCurrentLimit(connector_id=0, limit_a=10))
        result = await server.execute("CS1", GetCurrentLimit(connector_id=0))
        assert result.data == {"limit_a": 10.0, "source": "charger"}
        [request] = cp.requests_for("GetCompositeSchedule")[-1:]
        assert request["chargingRateUnit"] == "A"
        # a lower limit set on the charger by something else is what is in force
        cp.apply_profile(
            1, 77, "ChargePointMaxProfile", {"charging_schedule_period": [{"limit": 8}]}
        )
        result = await server.execute("CS1", GetCurrentLimit(connector_id=1))
        assert result.data["limit_a"] == 8.0


@pytest.mark.parametrize("version", VERSIONS)
async def test_without_a_composite_schedule_the_limit_last_accepted_is_read_back(
    version: str,
) -> None:
    async with (
        running_server() as (server, _),
        charge_point(server, "CS1", version=version, composite_schedule=False) as cp,
    ):
        await server.execute("CS1", SetCurrentLimit(connector_id=1, limit_a=13))
        result = await server.execute("CS1", GetCurrentLimit(connector_id=0))
        assert result.data == {"limit_a": 13.0, "source": "hub"}
        assert len(cp.requests_for("GetCompositeSchedule")) == 1


# ---------------------------------------------------------------------- measurands


async def test_only_measurands_the_station_offers_are_requested() -> None:
    offered = frozenset({"Energy.Active.Import.Register", "Power.Active.Import", "Voltage"})
    async with (
        running_server(configure_on_boot=True, meter_interval=7) as (server, _),
        charge_point(server, "CS1", version="2.0.1", supported_measurands=offered) as cp,
    ):
        await cp.wait_for_request("SetVariables", 2)
        await asyncio.sleep(0.1)
        measurands = [
            item["attributeValue"]
            for request in cp.requests_for("SetVariables")
            for item in request["setVariableData"]
            if item["variable"]["name"] == "TxUpdatedMeasurands"
        ]
        assert measurands == ["Energy.Active.Import.Register,Power.Active.Import,Voltage"]
        configured = server.charger_diagnostics("CS1")["configured"]
        assert configured["SampledDataCtrlr.TxUpdatedMeasurands"]["status"] == "Accepted"
