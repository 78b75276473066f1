"""Less common messages, failing hubs and chargers that answer with errors."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from custom_components.ev_sessions.chargers.events import (
    AuthorizationRequest,
    AuthorizationResult,
    AuthorizationStatus,
    BootDecision,
    ChangeConfiguration,
    ChargerConnected,
    ChargerDisconnected,
    ChargerEvent,
    ChargerInfo,
    ChargerNotConnectedError,
    CommandNotSupportedError,
    ConnectorState,
    GetAuthorizationListVersion,
    ProtocolDeviation,
    Reset,
    StatusChanged,
    TagPresented,
    TransactionEnded,
    TransactionStarted,
)
from custom_components.ev_sessions.chargers.ocpp.connection import MAX_CALLS_IN_FLIGHT as MAX
from custom_components.ev_sessions.chargers.ocpp.v201 import split_key, variable_key
from simulators.ocpp import demo as run_demo

from .helpers import RecordingHandler, charge_point, running_server, wait_until

pytestmark = pytest.mark.usefixtures("socket_enabled")


def call(unique_id: str, action: str, payload: object) -> str:
    return json.dumps([2, unique_id, action, payload])


class SlowHandler(RecordingHandler):
    """A hub whose authorization waits until released."""

    def __init__(self) -> None:
        super().__init__()
        self.release = asyncio.Event()

    async def authorize(self, request: AuthorizationRequest) -> AuthorizationResult:
        await self.release.wait()
        return await super().authorize(request)


async def test_requests_awaiting_an_answer_are_capped() -> None:
    """A charger that floods requests without waiting for answers gets a CALLERROR for those
    beyond the cap at once (no work, nothing queued); the ones in flight are answered."""
    async with (
        running_server(SlowHandler()) as (server, handler),
        charge_point(server, "CP1") as cp,
    ):
        assert isinstance(handler, SlowHandler)
        frames = [call(f"a{n}", "Authorize", {"idTag": f"T{n}"}) for n in range(MAX + 3)]
        pending = [asyncio.ensure_future(cp.send_raw(frame)) for frame in frames]
        await wait_until(lambda: sum(task.done() for task in pending) == 3)
        refused = [task.result() for task in pending if task.done()]
        assert all(reply is not None and reply[0] == 4 for reply in refused)
        assert {reply[2] for reply in refused if reply} == {"GenericError"}
        handler.release.set()
        replies = await asyncio.gather(*pending)
        answered = [reply for reply in replies if reply is not None and reply[0] == 3]
        assert len(answered) == MAX
        assert all(reply[2]["idTagInfo"]["status"] == "Accepted" for reply in answered)
        assert "calls_in_flight" in server.charger_diagnostics("CP1")["deviations"]
        # once answered, the charger may ask again
        assert (await cp.send_raw(call("b", "Authorize", {"idTag": "T"})) or [])[0] == 3


async def test_our_responses_are_checked_and_empty_ones_once_per_action(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Our own responses are checked against their schema (a bug of ours is logged, the
    charger still answered); the empty response of a frequent message only once."""
    from custom_components.ev_sessions.chargers.ocpp import connection, schemas

    connection._EMPTY_REPLY_CHECKED.clear()
    async with running_server() as (server, _handler), charge_point(server, "CP1") as cp:
        frame = {"connectorId": 1, "meterValue": []}
        assert await cp.send_raw(call("m1", "MeterValues", frame)) == [3, "m1", {}]
        assert ("1.6", "MeterValues") in connection._EMPTY_REPLY_CHECKED
        checked: list[str] = []
        original = schemas.validator

        def spy(version: str, action: str, *, response: bool = False) -> Any:
            checked.append(action)
            return original(version, action, response=response)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(schemas, "validator", spy)
            assert await cp.send_raw(call("m2", "MeterValues", frame)) == [3, "m2", {}]
            assert checked == ["MeterValues"]  # the request only, not our empty answer

            def broken(version: str, action: str, *, response: bool = False) -> Any:
                if not response:
                    return original(version, action)

                def refuse(_payload: object) -> None:
                    raise schemas.SchemaError("broken on purpose")

                return refuse

            patch.setattr(schemas, "validator", broken)
            reply = await cp.send_raw(call("h", "Heartbeat", {}))
        assert reply is not None
        assert reply[:2] == [3, "h"]
        assert "our Heartbeat response is invalid" in caplog.text


class FailingHandler(RecordingHandler):
    """A hub whose every callback raises."""

    def handle_event(self, event: ChargerEvent) -> None:
        super().handle_event(event)
        raise RuntimeError("hub bug")

    async def authorize(self, request: AuthorizationRequest) -> AuthorizationResult:
        raise RuntimeError("hub bug")

    async def boot_decision(self, charger_id: str, info: ChargerInfo) -> BootDecision:
        raise RuntimeError("hub bug")


async def test_failing_hub_never_breaks_the_connection() -> None:
    async with (
        running_server(FailingHandler()) as (server, handler),
        charge_point(server, "CP1", connect=False) as cp,
    ):
        await cp.connect(boot=False)
        assert await cp.boot(until_accepted=False) == "Pending"
        server.accept("CP1")
        await wait_until(lambda: cp.boot_status == "Accepted")
        assert await cp.swipe("TAG1") == "Invalid"
        assert cp.connected
        assert handler.of(ChargerConnected)


async def test_notifications_16() -> None:
    async with running_server() as (server, handler), charge_point(server, "CP1") as cp:
        frames = [
            ("d", "DataTransfer", {"vendorId": "acme", "messageId": "x", "data": "1"}),
            ("f", "FirmwareStatusNotification", {"status": "Installed"}),
            ("g", "DiagnosticsStatusNotification", {"status": "Uploaded"}),
            (
                "s",
                "SecurityEventNotification",
                {"type": "Reboot", "timestamp": "2025-01-01T00:00:00Z"},
            ),
            ("l", "LogStatusNotification", {"status": "Idle"}),
            ("h", "Heartbeat", {}),
        ]
        replies = [await cp.send_raw(call(*frame)) for frame in frames]
        assert replies[0] == [3, "d", {"status": "UnknownVendorId"}]
        assert [r[:2] for r in replies if r is not None] == [[3, f[0]] for f in frames]
        assert isinstance(replies[-1], list)
        assert replies[-1][2]["currentTime"].endswith("Z")
        notifications = server.charger_diagnostics("CP1")["notifications"]
        assert notifications["FirmwareStatusNotification"] == "Installed"
        assert notifications["DiagnosticsStatusNotification"] == "Uploaded"
        assert notifications["SecurityEventNotification"] == "Reboot"
        assert notifications["LogStatusNotification"] == "Idle"
        assert notifications["DataTransfer"] == {"vendorId": "acme", "messageId": "x"}
        reply = await cp.send_raw(
            call(
                "u",
                "StatusNotification",
                {"connectorId": 3, "errorCode": "NoError", "status": "Occupied"},
            )
        )
        assert reply == [3, "u", {}]
        unknown = await handler.wait_for(StatusChanged, where=lambda e: e.connector_id == 3)
        assert unknown.state is ConnectorState.UNKNOWN
        assert server.charger_diagnostics("CP1")["connectors"] == 3


async def test_notifications_201() -> None:
    async with (
        running_server() as (server, handler),
        charge_point(server, "CS1", version="2.0.1") as cp,
    ):
        frames = [
            ("d", "DataTransfer", {"vendorId": "acme"}),
            ("f", "FirmwareStatusNotification", {"status": "Installed"}),
            ("l", "LogStatusNotification", {"status": "Idle"}),
            (
                "s",
                "SecurityEventNotification",
                {"type": "Reboot", "timestamp": "2025-01-01T00:00:00Z"},
            ),
            (
                "e",
                "NotifyEvent",
                {
                    "generatedAt": "2025-01-01T00:00:00Z",
                    "seqNo": 0,
                    "eventData": [
                        {
                            "eventId": 1,
                            "timestamp": "2025-01-01T00:00:00Z",
                            "trigger": "Delta",
                            "actualValue": "Faulted",
                            "eventNotificationType": "HardWiredNotification",
                            "component": {"name": "Connector"},
                            "variable": {"name": "AvailabilityState"},
                        }
                    ],
                },
            ),
            (
                "r",
                "NotifyReport",
                {
                    "requestId": 99,
                    "generatedAt": "2025-01-01T00:00:00Z",
                    "seqNo": 0,
                    "reportData": [
                        {
                            "component": {"name": "EVSE", "evse": {"id": 2}},
                            "variable": {"name": "Power", "instance": "max"},
                            "variableAttribute": [{"value": "11000"}],
                        }
                    ],
                },
            ),
        ]
        for frame in frames:
            reply = await cp.send_raw(call(*frame))
            assert reply is not None
            assert reply[:2] == [3, frame[0]]
        diagnostics = server.charger_diagnostics("CS1")
        assert diagnostics["notifications"]["NotifyEvent"][0]["value"] == "Faulted"
        assert diagnostics["configuration"]["EVSE@2.Power[max]"] == "11000"
        assert diagnostics["connectors"] == 2
        tx = {
            "eventType": "Started",
            "timestamp": "2025-01-01T00:00:00Z",
            "triggerReason": "CablePluggedIn",
            "seqNo": 0,
            "transactionInfo": {"transactionId": "T-1", "chargingState": "EVConnected"},
        }
        assert await cp.send_raw(call("t1", "TransactionEvent", tx)) == [3, "t1", {}]
        started = await handler.wait_for(TransactionStarted)
        assert (started.connector_id, started.id_tag) == (1, None)
        tx |= {
            "eventType": "Updated",
            "triggerReason": "Authorized",
            "seqNo": 1,
            "idToken": {"idToken": "LATE-TAG", "type": "ISO14443"},
            "transactionInfo": {"transactionId": "T-1", "chargingState": "SuspendedEV"},
        }
        reply = await cp.send_raw(call("t2", "TransactionEvent", tx))
        assert reply == [3, "t2", {"idTokenInfo": {"status": "Accepted"}}]
        tag = await handler.wait_for(TagPresented)
        assert (tag.id_tag, tag.connector_id) == ("LATE-TAG", 1)
        suspended = await handler.wait_for(
            StatusChanged, where=lambda e: e.state is ConnectorState.SUSPENDED_EV
        )
        assert suspended.connector_id == 1
        status = {
            "timestamp": "2025-01-01T00:00:00Z",
            "connectorStatus": "Occupied",
            "evseId": 1,
            "connectorId": 1,
        }
        count = len(handler.of(StatusChanged))
        assert await cp.send_raw(call("o", "StatusNotification", status)) == [3, "o", {}]
        assert len(handler.of(StatusChanged)) == count  # occupied during a transaction
        tx |= {
            "eventType": "Ended",
            "seqNo": 2,
            "transactionInfo": {"transactionId": "T-1", "chargingState": "Idle"},
        }
        tx.pop("idToken")
        assert await cp.send_raw(call("t3", "TransactionEvent", tx)) == [3, "t3", {}]
        ended = await handler.wait_for(TransactionEnded)
        assert (ended.transaction_id, ended.connector_id, ended.meter_stop_wh) == ("T-1", 1, None)
        available = handler.of(StatusChanged)[-1]
        assert available.state is ConnectorState.AVAILABLE
        kinds = {d.kind for d in handler.of(ProtocolDeviation, "CS1")}
        assert "started_without_evse" in kinds


async def test_charger_errors_map_to_results() -> None:
    async with running_server() as (server, _handler), charge_point(server, "CP1") as cp:
        assert cp._cp is not None

        def refuse(**_: Any) -> Any:
            raise ValueError("no")

        cp._cp.route_map["Reset"]["_on_action"] = refuse
        result = await server.execute("CP1", Reset())
        assert (result.accepted, result.status) == (False, "InternalError")
        del cp._cp.route_map["GetLocalListVersion"]
        with pytest.raises(CommandNotSupportedError):
            await server.execute("CP1", GetAuthorizationListVersion())
        await cp.disconnect()
        await wait_until(lambda: not server.is_connected("CP1"))
        with pytest.raises(ChargerNotConnectedError):
            await server.execute("CP1", Reset())


async def test_learns_connector_count_from_configuration() -> None:
    async with (
        running_server(configure_on_boot=True) as (server, handler),
        charge_point(server, "TRIO", connectors=3) as cp,
    ):
        await cp.wait_for_request("ChangeConfiguration", 2)
        again = await handler.wait_for(ChargerConnected, 2)
        assert again.info.connectors == 3
        assert server.charger_diagnostics("TRIO")["connectors"] == 3


async def test_demo_cli_charges_a_session() -> None:
    async with running_server(pending_interval=1) as (server, handler):
        handler.tags["DEMO0001"] = AuthorizationStatus.ACCEPTED
        url = f"ws://127.0.0.1:{server.port}/DEMO"
        demo = asyncio.create_task(run_demo(url, "1.6", "DEMO0001", 0.001, 11000.0))
        try:
            ended = await handler.wait_for(TransactionEnded)
            assert ended.id_tag == "DEMO0001"
            started = handler.of(TransactionStarted)[0]
            assert started.transaction_id == ended.transaction_id
        finally:
            demo.cancel()
            with pytest.raises(asyncio.CancelledError):
                await demo


def test_key_helpers() -> None:
    assert split_key("A.B.C") == ("A", "B.C")
    with pytest.raises(ValueError, match="Component"):
        split_key(".B")
    assert variable_key({"name": "C", "instance": "1"}, {"name": "V"}) == "C[1].V"


async def test_binary_frame_tolerated_and_invalid_request_refused_before_sending() -> None:
    async with running_server() as (server, handler), charge_point(server, "CP1") as cp:
        assert cp._ws is not None
        await cp._ws.send_bytes(b'[2,"bin","Heartbeat",{}]')
        deviation = await handler.wait_for(ProtocolDeviation)
        assert deviation.kind == "binary_frame"
        with pytest.raises(ValueError, match="invalid ChangeConfiguration request"):
            await server.execute("CP1", ChangeConfiguration(key="K" * 51, value="1"))
        assert cp.requests_for("ChangeConfiguration") == []
        assert cp.connected


async def test_silent_charger_is_disconnected(socket_enabled: None) -> None:
    """No frame for two heartbeat intervals (plus grace): the hub closes the dead link."""
    async with (
        running_server(heartbeat_interval=1, liveness_grace=0.2) as (server, handler),
        charge_point(server, "SILENT") as cp,
    ):
        assert cp.connected
        started = asyncio.get_running_loop().time()
        disconnected = await handler.wait_for(ChargerDisconnected, wait=5.0)
        assert disconnected.charger_id == "SILENT"
        assert asyncio.get_running_loop().time() - started >= 1.5  # not before ~2.2 s of silence
        assert not server.is_connected("SILENT")
