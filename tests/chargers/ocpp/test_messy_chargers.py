"""Broken frames and non-compliant payloads: the right CALLERROR or lenient acceptance."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
import json

import pytest

from custom_components.ev_sessions.chargers.events import (
    MeterSample,
    ProtocolDeviation,
    StatusChanged,
    TransactionEnded,
)

from .helpers import RecordingHandler, charge_point, running_server, wait_until

pytestmark = pytest.mark.usefixtures("socket_enabled")


def call(unique_id: str, action: str, payload: object) -> str:
    return json.dumps([2, unique_id, action, payload])


def deviation_kinds(handler: RecordingHandler, charger_id: str) -> Counter[str]:
    return Counter(d.kind for d in handler.of(ProtocolDeviation, charger_id))


async def test_broken_frames_16_answered_and_connection_survives() -> None:
    async with (
        running_server() as (server, handler),
        charge_point(server, "MESSY") as messy,
        charge_point(server, "GOOD") as good,
    ):
        reply = await messy.send_raw("this is not json")
        assert reply is not None
        assert reply[:3] == [4, "-1", "FormationViolation"]
        reply = await messy.send_raw('[2,"abc","Heartbeat",{')
        assert reply is not None
        assert reply[:3] == [4, "abc", "FormationViolation"]
        reply = await messy.send_raw('{"not": "an array"}')
        assert reply is not None
        assert reply[:2] == [4, "-1"]
        reply = await messy.send_raw('[2,"short","Heartbeat"]')
        assert reply is not None
        assert reply[:3] == [4, "short", "FormationViolation"]
        reply = await messy.send_raw(call("u1", "MakeCoffee", {}))
        assert reply is not None
        assert reply[:3] == [4, "u1", "NotImplemented"]
        reply = await messy.send_raw(call("u2", "ReserveNow", {}))
        assert reply is not None
        assert reply[:3] == [4, "u2", "NotSupported"]
        reply = await messy.send_raw('[7,"t1",{}]')
        assert reply is not None
        assert reply[:3] == [4, "t1", "PropertyConstraintViolation"]
        reply = await messy.send_raw(
            call(
                "ty",
                "StatusNotification",
                {"connectorId": "one", "errorCode": "NoError", "status": "Available"},
            )
        )
        assert reply is not None
        assert reply[:3] == [4, "ty", "TypeConstraintViolation"]
        reply = await messy.send_raw(
            call("rq", "StatusNotification", {"connectorId": 1, "errorCode": "NoError"})
        )
        assert reply is not None
        assert reply[:3] == [4, "rq", "OccurenceConstraintViolation"]
        # still connected and working, and the other charger never noticed
        assert messy.connected
        assert await messy.swipe("TAG1") == "Accepted"
        await good.send_meter_values(1)
        sample = await handler.wait_for(MeterSample, where=lambda e: e.charger_id == "GOOD")
        assert sample.energy_register_wh == 0
        assert deviation_kinds(handler, "GOOD") == Counter()
        kinds = deviation_kinds(handler, "MESSY")
        assert kinds["bad_frame"] == 1
        assert kinds["rejected:type:StatusNotification"] == 1
        assert kinds["rejected:required:StatusNotification"] == 1


async def test_lenient_acceptance_16_single_deviation_per_kind() -> None:
    async with running_server() as (server, handler), charge_point(server, "MESSY") as cp:
        status = {
            "connectorId": "1",
            "errorCode": "Error",
            "status": "Faulted",
            "info": "x" * 60,
        }
        for unique_id in ("s1", "s2"):
            reply = await cp.send_raw(call(unique_id, "StatusNotification", status))
            assert reply == [3, unique_id, {}]
        changed = await handler.wait_for(StatusChanged, 3)
        assert changed.connector_id == 1
        assert changed.error_code == "OtherError"
        assert changed.info == "x" * 50
        meter = {
            "connectorId": "1",
            "transactionId": "77",
            "meterValue": [
                {
                    "timestamp": "2025-01-01T10:00:00",
                    "sampledValue": [
                        {
                            "value": 1.5,
                            "measurand": "Energy.Active.Import.Register",
                            "unit": "kWh",
                            "phase": "L1",
                        },
                        {
                            "value": "2.25",
                            "measurand": "Energy.Active.Import.Register",
                            "unit": "kWh",
                            "phase": "L2",
                        },
                        {"value": "3,7", "measurand": "Power.Active.Import", "unit": "kW"},
                        {"value": "49.9", "measurand": "Frequency", "unit": "Hz"},
                        {"value": "231", "measurand": "Voltage", "phase": "L1-N"},
                        {
                            "value": "16",
                            "measurand": "Current.Import",
                            "unit": "A",
                            "context": "Sample.Weird",
                        },
                    ],
                }
            ],
        }
        for unique_id in ("m1", "m2"):
            reply = await cp.send_raw(call(unique_id, "MeterValues", meter))
            assert reply == [3, unique_id, {}]
        sample = await handler.wait_for(MeterSample, 2)
        assert sample.connector_id == 1
        assert sample.transaction_id == "77"
        assert sample.energy_register_wh == 3750  # per-phase registers summed, kWh -> Wh
        assert sample.power_w == 3700.0  # kW -> W, decimal comma
        assert sample.voltage_v == (231.0, None, None)
        assert sample.current_a == (16.0, None, None)
        assert sample.at == datetime(2025, 1, 1, 10, 0, tzinfo=UTC)  # naive read as UTC
        kinds = deviation_kinds(handler, "MESSY")
        expected = {
            "string_for_number:StatusNotification.connectorId",
            "enum_alias:StatusNotification.errorCode",
            "string_too_long:StatusNotification.info",
            "string_for_number:MeterValues.connectorId",
            "string_for_number:MeterValues.transactionId",
            "number_for_string:MeterValues.meterValue.sampledValue.value",
            "enum_alias:MeterValues.meterValue.sampledValue.unit",
            "unknown_enum:MeterValues.meterValue.sampledValue.context",
        }
        assert expected <= set(kinds)
        assert all(kinds[kind] == 1 for kind in kinds)
        diagnostics = server.charger_diagnostics("MESSY")["deviations"]
        assert expected <= set(diagnostics)
        assert cp.connected


async def test_timestamps_without_zone_absurd_and_future() -> None:
    async with running_server() as (server, handler), charge_point(server, "CLOCK") as cp:
        before = datetime.now(UTC)
        for unique_id, stamp in (
            ("a", "2025-02-03T04:05:06"),
            ("b", "2001-01-01T00:00:00Z"),
            ("c", (before + timedelta(days=3)).isoformat()),
            ("d", "yesterday"),
        ):
            reply = await cp.send_raw(
                call(
                    unique_id,
                    "StatusNotification",
                    {
                        "connectorId": 1,
                        "errorCode": "NoError",
                        "status": "Available",
                        "timestamp": stamp,
                    },
                )
            )
            assert reply == [3, unique_id, {}]
        await handler.wait_for(StatusChanged, 5)
        naive, absurd, future, garbage = handler.of(StatusChanged)[1:]
        assert naive.at == datetime(2025, 2, 3, 4, 5, 6, tzinfo=UTC)
        assert absurd.at >= before
        assert future.at >= before
        assert future.at < before + timedelta(minutes=1)
        assert garbage.at >= before
        kinds = deviation_kinds(handler, "CLOCK")
        assert kinds["timestamp_without_timezone"] == 1
        assert kinds["timestamp_absurd"] == 1
        assert kinds["timestamp_in_future"] == 1
        assert kinds["timestamp_invalid"] == 1


async def test_broken_frames_201() -> None:
    async with (
        running_server() as (server, handler),
        charge_point(server, "CS1", version="2.0.1") as cp,
    ):
        reply = await cp.send_raw("nope")
        assert reply is not None
        assert reply[:3] == [4, "-1", "RpcFrameworkError"]
        reply = await cp.send_raw('[2,"x1","Heartbeat",{"oops"')
        assert reply is not None
        assert reply[:3] == [4, "x1", "FormatViolation"]
        reply = await cp.send_raw('[5,"t2",{}]')
        assert reply is not None
        assert reply[:3] == [4, "t2", "MessageTypeNotSupported"]
        reply = await cp.send_raw(call("u", "MakeCoffee", {}))
        assert reply is not None
        assert reply[:3] == [4, "u", "NotImplemented"]
        reply = await cp.send_raw(
            call(
                "tx",
                "TransactionEvent",
                {
                    "eventType": "Ended",
                    "timestamp": "2025-05-05T05:05:05Z",
                    "triggerReason": "EVDeparted",
                    "seqNo": "4",
                    "offline": "true",
                    "transactionInfo": {
                        "transactionId": "OLD-TX",
                        "stoppedReason": "EVDisconnected",
                    },
                    "evse": {"id": 2},
                    "meterValue": [
                        {
                            "timestamp": "2025-05-05T05:05:05Z",
                            "sampledValue": [
                                {
                                    "value": "12.5",
                                    "context": "Transaction.End",
                                    "unitOfMeasure": {"unit": "kWh"},
                                }
                            ],
                        }
                    ],
                },
            )
        )
        assert reply == [3, "tx", {}]
        ended = await handler.wait_for(TransactionEnded)
        assert ended.transaction_id == "OLD-TX"
        assert ended.connector_id == 2
        assert ended.offline is True
        assert ended.meter_stop_wh == 12500
        assert ended.reason == "EVDisconnected"
        assert ended.at == datetime(2025, 5, 5, 5, 5, 5, tzinfo=UTC)
        kinds = deviation_kinds(handler, "CS1")
        assert kinds["string_for_boolean:TransactionEvent.offline"] == 1
        assert kinds["string_for_number:TransactionEvent.seqNo"] == 1
        assert cp.connected
        assert await cp.swipe("TAG") == "Accepted"


async def test_201_multiplier_and_meter_values_outside_transaction() -> None:
    async with (
        running_server() as (server, handler),
        charge_point(server, "CS1", version="2.0.1") as cp,
    ):
        await cp.send_meter_values(
            1,
            context="Sample.Clock",
            sampled_values=[
                {"value": 12.345, "unitOfMeasure": {"unit": "Wh", "multiplier": 3}},
                {"value": 230, "measurand": "Voltage", "phase": "L3-N"},
                {"value": 55, "measurand": "SoC", "unitOfMeasure": {"unit": "Percent"}},
            ],
        )
        sample = await handler.wait_for(MeterSample)
        assert sample.energy_register_wh == 12345
        assert sample.voltage_v == (None, None, 230.0)
        assert sample.soc_pct == 55.0
        assert sample.transaction_id is None
        assert sample.connector_id == 1


async def test_boot_trigger_for_charger_that_does_not_boot() -> None:
    async with (
        running_server(boot_grace=0.1) as (server, handler),
        charge_point(server, "QUIET", connect=False) as cp,
    ):
        await cp.connect(boot=False)
        await cp.wait_for_request("TriggerMessage")
        assert cp.requests_for("TriggerMessage") == [{"requestedMessage": "BootNotification"}]
        await wait_until(lambda: cp.boot_status == "Accepted")
        assert len(handler.boot_requests) == 1
