"""Nothing a charger sends can break the record: the adapter's share (issue 9).

Implausible numbers are dropped value by value, broken JSON is answered, timestamps from the
future are replaced, ends of transactions never issued create nothing, connector ids are
range-checked, transaction answers wait until the change is stored, and a bug of ours answers
with a CALLERROR instead of silence.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import UTC, datetime, timedelta
import json
from typing import Any

import pytest

from custom_components.ev_sessions.chargers.events import (
    DEFAULT_MAX_CONNECTORS,
    AuthorizationRequest,
    AuthorizationResult,
    ChargerEvent,
    MeterSample,
    ProtocolDeviation,
    StatusChanged,
    TagPresented,
    TransactionEnded,
    TransactionStarted,
)
from custom_components.ev_sessions.chargers.ocpp import server as server_module
from custom_components.ev_sessions.chargers.ocpp.connection import Payload, on
from custom_components.ev_sessions.chargers.ocpp.v16 import V16Connection

from .helpers import RecordingHandler, charge_point, running_server, wait_until

pytestmark = pytest.mark.usefixtures("socket_enabled")

ENERGY = "Energy.Active.Import.Register"
POWER = "Power.Active.Import"
CURRENT = "Current.Import"
VOLTAGE = "Voltage"
SOC = "SoC"


def call(unique_id: str, action: str, payload: object) -> str:
    return json.dumps([2, unique_id, action, payload])


def stamp(at: datetime | None = None) -> str:
    return (at or datetime.now(UTC)).isoformat().replace("+00:00", "Z")


def kinds(handler: RecordingHandler, charger_id: str) -> Counter[str]:
    return Counter(d.kind for d in handler.of(ProtocolDeviation, charger_id))


def sv16(value: object, measurand: str = ENERGY, **extra: Any) -> dict[str, Any]:
    return {"value": value, "measurand": measurand, **extra}


def meter16(unique_id: str, *values: dict[str, Any], connector: int = 1, at: str = "") -> str:
    return call(
        unique_id,
        "MeterValues",
        {
            "connectorId": connector,
            "meterValue": [{"timestamp": at or stamp(), "sampledValue": list(values)}],
        },
    )


def sv201(value: object, measurand: str = ENERGY, **extra: Any) -> dict[str, Any]:
    return {"value": value, "measurand": measurand, **extra}


def meter201(unique_id: str, *values: dict[str, Any], evse: int = 1) -> str:
    return call(
        unique_id,
        "MeterValues",
        {"evseId": evse, "meterValue": [{"timestamp": stamp(), "sampledValue": list(values)}]},
    )


def samples_of(handler: RecordingHandler, charger_id: str) -> list[MeterSample]:
    return handler.of(MeterSample, charger_id)


async def start16(cp: Any, unique_id: str, meter_start: object = 1000, connector: int = 1) -> Any:
    return await cp.send_raw(
        call(
            unique_id,
            "StartTransaction",
            {
                "connectorId": connector,
                "idTag": "TAG1",
                "meterStart": meter_start,
                "timestamp": stamp(),
            },
        )
    )


def stop16_frame(
    unique_id: str, transaction_id: object, meter_stop: object = 5000, **extra: Any
) -> str:
    return call(
        unique_id,
        "StopTransaction",
        {
            "transactionId": transaction_id,
            "meterStop": meter_stop,
            "timestamp": stamp(),
            **extra,
        },
    )


def tx_event(
    unique_id: str,
    event_type: str,
    transaction_id: str,
    *values: dict[str, Any],
    evse: int | None = 1,
    seq: int = 0,
    token: str | None = None,
) -> str:
    payload: dict[str, Any] = {
        "eventType": event_type,
        "timestamp": stamp(),
        "triggerReason": "Authorized" if event_type == "Started" else "MeterValuePeriodic",
        "seqNo": seq,
        "transactionInfo": {"transactionId": transaction_id},
    }
    if evse is not None:
        payload["evse"] = {"id": evse, "connectorId": 1}
    if values:
        payload["meterValue"] = [{"timestamp": stamp(), "sampledValue": list(values)}]
    if token is not None:
        payload["idToken"] = {"idToken": token, "type": "ISO14443"}
    return call(unique_id, "TransactionEvent", payload)


# --------------------------------------------------------------------------- implausible values


async def test_implausible_meter_values_16_are_dropped_one_by_one() -> None:
    async with running_server() as (server, handler), charge_point(server, "CP1") as cp:
        frames = [
            meter16("a", sv16("NaN"), sv16("3000", POWER)),
            meter16("b", sv16("1500"), sv16("Infinity", POWER)),
            meter16("c", sv16("9223372036854775808"), sv16("230", VOLTAGE)),
            meter16("d", sv16("-5000"), sv16("-Infinity", CURRENT, phase="L1")),
            meter16("e", sv16("1e30", unit="kWh"), sv16("150", SOC), sv16("-1", VOLTAGE)),
            # JSON numbers where 1.6 wants strings (tolerated): huge ones dropped too
            meter16("f", sv16(1e30), sv16(9223372036854775808, POWER), sv16("16", CURRENT)),
            meter16("g", sv16("2000"), sv16("1e400", POWER), sv16("55", SOC)),
        ]
        for frame in frames:
            reply = await cp.send_raw(frame)
            assert reply is not None
            assert reply[0] == 3, reply
            assert reply[2] == {}
        # "d" and "e" kept nothing usable: no sample for them
        a, b, c, f, g = samples_of(handler, "CP1")
        assert (a.energy_register_wh, a.power_w) == (None, 3000.0)
        assert (b.energy_register_wh, b.power_w) == (1500, None)
        assert (c.energy_register_wh, c.voltage_v) == (None, (230.0, None, None))
        assert (f.energy_register_wh, f.power_w, f.current_a) == (None, None, (16.0, None, None))
        assert (g.energy_register_wh, g.power_w, g.soc_pct) == (2000, None, 55.0)
        found = kinds(handler, "CP1")
        for measurand in (ENERGY, POWER, CURRENT, VOLTAGE, SOC):
            assert found[f"implausible_value:{measurand}"] == 1  # one deviation per kind
        assert cp.connected


async def test_implausible_meter_values_201_are_dropped_one_by_one() -> None:
    async with (
        running_server() as (server, handler),
        charge_point(server, "CS1", version="2.0.1") as cp,
    ):
        frames = [
            meter201("a", sv201("NaN"), sv201(3000, POWER)),
            meter201("b", sv201(1500), sv201("Infinity", POWER)),
            meter201("c", sv201(9223372036854775808), sv201(230, VOLTAGE)),
            meter201("d", sv201(-5000), sv201("-Infinity", CURRENT, phase="L1")),
            meter201("e", sv201(1e30), sv201(150, SOC), sv201(-1, VOLTAGE)),
            meter201("f", sv201("1e30"), sv201(7, POWER, unitOfMeasure={"multiplier": 400})),
            # a JSON number beyond float (parses as infinity)
            meter201("g", sv201(2000), sv201("<big>", POWER), sv201(16, CURRENT)).replace(
                '"<big>"', "1e400"
            ),
        ]
        for frame in frames:
            reply = await cp.send_raw(frame)
            assert reply is not None
            assert reply[0] == 3, reply
        # "d", "e" and "f" kept nothing usable: no sample for them
        a, b, c, g = samples_of(handler, "CS1")
        assert (a.energy_register_wh, a.power_w) == (None, 3000.0)
        assert (b.energy_register_wh, b.power_w) == (1500, None)
        assert (c.energy_register_wh, c.voltage_v) == (None, (230.0, None, None))
        assert (g.energy_register_wh, g.power_w) == (2000, None)
        assert g.current_a == (16.0, None, None)
        found = kinds(handler, "CS1")
        for measurand in (ENERGY, POWER, CURRENT, VOLTAGE, SOC):
            assert found[f"implausible_value:{measurand}"] == 1


async def test_meter_start_and_stop_implausible_are_dropped_not_the_transaction() -> None:
    async with running_server() as (server, handler), charge_point(server, "CP1") as cp:
        for unique_id, meter_start in (("s1", -5000), ("s2", "NaN"), ("s3", 1e30), ("s4", 2**63)):
            reply = await start16(cp, unique_id, meter_start)
            assert reply is not None
            assert reply[0] == 3, reply
            assert reply[2]["idTagInfo"]["status"] == "Accepted"
            assert reply[2]["transactionId"] > 0
        started = handler.of(TransactionStarted, "CP1")
        assert [s.meter_start_wh for s in started] == [None, None, None, None]
        assert kinds(handler, "CP1")["implausible_value:meterStart"] == 1
        ids = [s.transaction_id for s in started]
        for unique_id, transaction_id, meter_stop in (
            ("e1", ids[0], "Infinity"),
            ("e2", ids[1], -1),
            ("e3", ids[2], 10**13),
        ):
            reply = await cp.send_raw(stop16_frame(unique_id, int(transaction_id), meter_stop))
            assert reply == [3, unique_id, {}]
        ended = handler.of(TransactionEnded, "CP1")
        assert [e.transaction_id for e in ended] == ids[:3]
        assert [e.meter_stop_wh for e in ended] == [None, None, None]
        assert kinds(handler, "CP1")["implausible_value:meterStop"] == 1


async def test_nan_in_transaction_data_keeps_the_transaction_end() -> None:
    async with running_server() as (server, handler), charge_point(server, "CP1") as cp:
        reply = await start16(cp, "s", 1000)
        assert reply is not None
        transaction_id = reply[2]["transactionId"]
        data = [
            {"timestamp": stamp(), "sampledValue": [sv16("NaN"), sv16("3500", POWER)]},
            {"timestamp": stamp(), "sampledValue": [sv16("4000", context="Transaction.End")]},
        ]
        reply = await cp.send_raw(
            stop16_frame("e", transaction_id, 4000, transactionData=data, idTag="TAG1")
        )
        assert reply == [3, "e", {"idTagInfo": {"status": "Accepted"}}]
        ended = handler.of(TransactionEnded, "CP1")
        assert len(ended) == 1
        assert ended[0].meter_stop_wh == 4000
        assert ended[0].connector_id == 1
        samples = samples_of(handler, "CP1")
        assert [(s.energy_register_wh, s.power_w) for s in samples] == [
            (None, 3500.0),
            (4000, None),
        ]
        assert kinds(handler, "CP1")[f"implausible_value:{ENERGY}"] == 1


async def test_nan_in_transaction_event_201_keeps_the_transaction() -> None:
    async with (
        running_server() as (server, handler),
        charge_point(server, "CS1", version="2.0.1") as cp,
    ):
        begin = sv201(1000, context="Transaction.Begin")
        reply = await cp.send_raw(tx_event("t1", "Started", "TX-1", begin, sv201("NaN", POWER)))
        assert reply == [3, "t1", {}]
        reply = await cp.send_raw(
            tx_event("t2", "Updated", "TX-1", sv201("Infinity"), sv201(7000, POWER), seq=1)
        )
        assert reply == [3, "t2", {}]
        end = sv201(3000, context="Transaction.End")
        reply = await cp.send_raw(tx_event("t3", "Ended", "TX-1", end, sv201(1e30, SOC), seq=2))
        assert reply == [3, "t3", {}]
        (started,) = handler.of(TransactionStarted, "CS1")
        (ended,) = handler.of(TransactionEnded, "CS1")
        assert started.meter_start_wh == 1000
        assert ended.meter_stop_wh == 3000
        assert ended.retroactive  # 2.0.1 stations issue their own ids
        powers = [s.power_w for s in samples_of(handler, "CS1")]
        assert powers == [None, 7000.0, None]


# --------------------------------------------------------------------------- broken JSON


@pytest.mark.parametrize(
    ("version", "code"), [("1.6", "FormationViolation"), ("2.0.1", "FormatViolation")]
)
async def test_json_constants_and_deep_nesting_get_a_callerror(version: str, code: str) -> None:
    async with (
        running_server() as (server, _),
        charge_point(server, "CP1", version=version) as cp,
    ):
        frames = {
            "n1": '[2,"n1","Heartbeat",{"x":NaN}]',
            "n2": '[2,"n2","Heartbeat",{"x":Infinity}]',
            "n3": '[2,"n3","Heartbeat",{"x":-Infinity}]',
            "deep": '[2,"deep","Heartbeat",' + "[" * 100_000 + "]" * 100_000 + "]",
            "open": '[2,"open","Heartbeat",' + "[" * 100_000,
        }
        for unique_id, frame in frames.items():
            reply = await cp.send_raw(frame, wait=3.0)
            assert reply is not None, unique_id
            assert reply[:3] == [4, unique_id, code]
        reply = await cp.send_raw(call("hb", "Heartbeat", {}))
        assert reply is not None
        assert reply[:2] == [3, "hb"]
        assert cp.connected


async def test_nan_literal_in_meter_values_is_refused_not_stored() -> None:
    async with running_server() as (server, handler), charge_point(server, "CP1") as cp:
        frame = (
            '[2,"m","MeterValues",{"connectorId":1,"meterValue":[{"timestamp":"'
            + stamp()
            + '","sampledValue":[{"value":NaN}]}]}]'
        )
        reply = await cp.send_raw(frame)
        assert reply is not None
        assert reply[:3] == [4, "m", "FormationViolation"]
        assert samples_of(handler, "CP1") == []


# --------------------------------------------------------------------------- clock


async def test_timestamps_from_the_future_are_replaced_by_the_receive_time() -> None:
    tolerance = timedelta(minutes=5)
    async with running_server() as (server, handler), charge_point(server, "CP1") as cp:
        future = datetime.now(UTC) + timedelta(hours=2)
        frames = [
            call(
                "st",
                "StatusNotification",
                {
                    "connectorId": 1,
                    "errorCode": "NoError",
                    "status": "Preparing",
                    "timestamp": stamp(future),
                },
            ),
            call(
                "tx",
                "StartTransaction",
                {"connectorId": 1, "idTag": "T", "meterStart": 0, "timestamp": stamp(future)},
            ),
            meter16("m1", sv16("100"), at=stamp(future)),
            meter16("m2", sv16("200")),
            meter16("m3", sv16("300"), at=stamp(datetime.now(UTC) + timedelta(minutes=2))),
        ]
        received: list[datetime] = []
        for frame in frames:
            reply = await cp.send_raw(frame)
            received.append(datetime.now(UTC))
            assert reply is not None
            assert reply[0] == 3
        transaction_id = handler.of(TransactionStarted, "CP1")[0].transaction_id
        reply = await cp.send_raw(
            stop16_frame(
                "sp",
                int(transaction_id),
                400,
                timestamp=stamp(future),
                transactionData=[{"timestamp": stamp(future), "sampledValue": [sv16("400")]}],
            )
        )
        assert reply == [3, "sp", {}]
        last = datetime.now(UTC)
        events: list[ChargerEvent] = [
            e
            for e in handler.events
            if e.charger_id == "CP1" and not isinstance(e, ProtocolDeviation)
        ]
        assert len(events) >= 7
        for event in events:
            assert event.at <= last + tolerance, event
        # the 2 h stamps became the receive time; the one 2 minutes ahead is within tolerance
        first = next(s for s in samples_of(handler, "CP1") if s.energy_register_wh == 100)
        assert first.at <= received[2]
        m3 = next(s for s in samples_of(handler, "CP1") if s.energy_register_wh == 300)
        assert m3.at > received[4]
        (ended,) = handler.of(TransactionEnded, "CP1")
        assert ended.at <= last
        assert kinds(handler, "CP1")["timestamp_in_future"] == 1


async def test_clock_tolerance_is_a_setting() -> None:
    async with (
        running_server(clock_tolerance=30.0) as (server, handler),
        charge_point(server, "CP1") as cp,
    ):
        reply = await cp.send_raw(
            meter16("m", sv16("100"), at=stamp(datetime.now(UTC) + timedelta(minutes=2)))
        )
        assert reply == [3, "m", {}]
        (sample,) = samples_of(handler, "CP1")
        assert sample.at <= datetime.now(UTC)
        assert kinds(handler, "CP1")["timestamp_in_future"] == 1


# --------------------------------------------------------------------------- unknown transactions


async def test_stop_of_a_transaction_never_issued_creates_nothing_retroactive() -> None:
    async with running_server() as (server, handler), charge_point(server, "CP1") as cp:
        data = [{"timestamp": stamp(), "sampledValue": [sv16("99999")]}]
        reply = await cp.send_raw(
            stop16_frame("u", 987654, 5000, idTag="TAG1", transactionData=data)
        )
        assert reply == [3, "u", {"idTagInfo": {"status": "Accepted"}}]  # the charger dequeues
        (phantom,) = handler.of(TransactionEnded, "CP1")
        assert phantom.transaction_id == "987654"
        assert phantom.retroactive is False
        assert phantom.connector_id is None
        assert samples_of(handler, "CP1") == []  # not the charger's own (connector 0) meter
        assert kinds(handler, "CP1")["unknown_transaction"] == 1
        # an issued one: no deviation, and still not retroactive (1.6 ids are ours)
        reply = await start16(cp, "s", 0)
        assert reply is not None
        reply = await cp.send_raw(stop16_frame("e", reply[2]["transactionId"], 100))
        assert reply == [3, "e", {}]
        ended = handler.of(TransactionEnded, "CP1")[1]
        assert ended.retroactive is False
        assert ended.connector_id == 1
        assert kinds(handler, "CP1")["unknown_transaction"] == 1


async def test_stop_with_a_transaction_id_that_is_no_integer() -> None:
    async with running_server() as (server, handler), charge_point(server, "CP1") as cp:
        reply = await start16(cp, "s", 0)
        assert reply is not None
        transaction_id = reply[2]["transactionId"]
        # never rounded onto a real transaction
        reply = await cp.send_raw(stop16_frame("f", transaction_id + 0.5, 100))
        assert reply is not None
        assert reply[:3] == [4, "f", "TypeConstraintViolation"]
        reply = await cp.send_raw(stop16_frame("n", "NaN", 100))
        assert reply is not None
        assert reply[:3] == [4, "n", "TypeConstraintViolation"]
        reply = await cp.send_raw(stop16_frame("s", str(transaction_id), 100))  # lenient
        assert reply == [3, "s", {}]
        (ended,) = handler.of(TransactionEnded, "CP1")
        assert ended.transaction_id == str(transaction_id)
        assert ended.connector_id == 1


# --------------------------------------------------------------------------- connector ids


def status16(unique_id: str, connector: int) -> str:
    return call(
        unique_id,
        "StatusNotification",
        {"connectorId": connector, "errorCode": "NoError", "status": "Available"},
    )


async def test_connector_ids_out_of_range_16() -> None:
    async with running_server() as (server, handler), charge_point(server, "CP1") as cp:
        booted = len(handler.of(StatusChanged, "CP1"))
        for unique_id, connector in (("a", 99), ("b", 2**31 - 1), ("c", -1)):
            reply = await cp.send_raw(status16(unique_id, connector))
            assert reply is not None
            assert reply[:3] == [4, unique_id, "PropertyConstraintViolation"]
            reply = await cp.send_raw(meter16("m" + unique_id, sv16("10"), connector=connector))
            assert reply is not None
            assert reply[:3] == [4, "m" + unique_id, "PropertyConstraintViolation"]
        for unique_id, connector in (("s1", 99), ("s2", 2**31 - 1), ("s3", 0), ("s4", -5)):
            reply = await start16(cp, unique_id, 0, connector=connector)
            assert reply is not None
            assert reply[0] == 3
            assert reply[2]["idTagInfo"] == {"status": "Invalid"}
            assert reply[2]["transactionId"] > 0
        assert len(handler.of(StatusChanged, "CP1")) == booted
        assert samples_of(handler, "CP1") == []
        assert handler.of(TransactionStarted, "CP1") == []
        assert handler.auth_requests == []
        assert kinds(handler, "CP1")["connector_out_of_range"] == 1
        # the charger itself (0) and the default bound are fine
        for unique_id, connector in (("z", 0), ("top", DEFAULT_MAX_CONNECTORS)):
            assert await cp.send_raw(status16(unique_id, connector)) == [3, unique_id, {}]
        assert await cp.send_raw(meter16("mz", sv16("10"), connector=0)) == [3, "mz", {}]
        assert [e.connector_id for e in handler.of(StatusChanged, "CP1")[booted:]] == [
            0,
            DEFAULT_MAX_CONNECTORS,
        ]
        assert server.charger_diagnostics("CP1")["connectors"] == DEFAULT_MAX_CONNECTORS


async def test_connector_bound_is_the_reported_number_of_connectors_16() -> None:
    async with (
        running_server(configure_on_boot=True, meter_interval=None, measurands=()) as (
            server,
            handler,
        ),
        charge_point(server, "CP2", connectors=2) as cp,
    ):
        await wait_until(lambda: server.charger_diagnostics("CP2")["reported_connectors"] == 2)
        booted = len(handler.of(StatusChanged, "CP2"))
        assert await cp.send_raw(status16("ok", 2)) == [3, "ok", {}]
        reply = await cp.send_raw(status16("no", 3))
        assert reply is not None
        assert reply[:3] == [4, "no", "PropertyConstraintViolation"]
        reply = await start16(cp, "s3", 0, connector=3)
        assert reply is not None
        assert reply[2]["idTagInfo"] == {"status": "Invalid"}
        assert [e.connector_id for e in handler.of(StatusChanged, "CP2")[booted:]] == [2]


async def test_connector_ids_out_of_range_201() -> None:
    async with (
        running_server() as (server, handler),
        charge_point(server, "CS1", version="2.0.1") as cp,
    ):
        status = {"connectorStatus": "Available", "connectorId": 1, "timestamp": stamp()}
        booted = len(handler.of(StatusChanged, "CS1"))
        for unique_id, evse in (("a", 99), ("b", 2**31 - 1), ("c", -1)):
            reply = await cp.send_raw(
                call(unique_id, "StatusNotification", {**status, "evseId": evse})
            )
            assert reply is not None
            assert reply[:3] == [4, unique_id, "PropertyConstraintViolation"]
            reply = await cp.send_raw(meter201("m" + unique_id, sv201(10), evse=evse))
            assert reply is not None
            assert reply[:3] == [4, "m" + unique_id, "PropertyConstraintViolation"]
        reply = await cp.send_raw(tx_event("t1", "Started", "TX-9", sv201(5), evse=99))
        assert reply == [3, "t1", {}]
        reply = await cp.send_raw(tx_event("t2", "Started", "TX-8", evse=0, token="TAG1"))
        assert reply == [3, "t2", {"idTokenInfo": {"status": "Invalid"}}]
        assert len(handler.of(StatusChanged, "CS1")) == booted
        assert samples_of(handler, "CS1") == []
        assert handler.of(TransactionStarted, "CS1") == []
        assert handler.of(TagPresented, "CS1") == []
        reply = await cp.send_raw(call("z", "StatusNotification", {**status, "evseId": 0}))
        assert reply == [3, "z", {}]
        # a report of the device model with two EVSEs sets the bound
        report = {
            "requestId": 1,
            "generatedAt": stamp(),
            "seqNo": 0,
            "tbc": False,
            "reportData": [
                {
                    "component": {"name": "EVSE", "evse": {"id": evse}},
                    "variable": {"name": "AvailabilityState"},
                    "variableAttribute": [{"value": "Available"}],
                }
                for evse in (1, 2)
            ],
        }
        assert await cp.send_raw(call("r", "NotifyReport", report)) == [3, "r", {}]
        assert server.charger_diagnostics("CS1")["reported_connectors"] == 2
        assert await cp.send_raw(call("e2", "StatusNotification", {**status, "evseId": 2})) == [
            3,
            "e2",
            {},
        ]
        reply = await cp.send_raw(call("e3", "StatusNotification", {**status, "evseId": 3}))
        assert reply is not None
        assert reply[:3] == [4, "e3", "PropertyConstraintViolation"]
        assert [e.connector_id for e in handler.of(StatusChanged, "CS1")[booted:]] == [0, 2]


# --------------------------------------------------------------------------- durable answers


class GatedHandler(RecordingHandler):
    """A hub whose storage is slow: persist() returns only once ``gate`` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def persist(self, charger_id: str) -> None:
        await super().persist(charger_id)
        await self.gate.wait()


async def _answer_waits_for_the_gate(cp: Any, handler: GatedHandler, frame: str) -> list[Any]:
    handler.gate.clear()
    answer = asyncio.create_task(cp.send_raw(frame))
    await wait_until(lambda: len(handler.persisted) > 0)
    await asyncio.sleep(0.1)
    assert not answer.done()  # not before the change is stored
    handler.gate.set()
    reply = await answer
    assert reply is not None
    return reply


async def test_transaction_answers_16_wait_until_stored() -> None:
    async with running_server() as (server, handler), charge_point(server, "CP1") as cp:
        reply = await start16(cp, "s", 0)
        assert reply is not None
        (started,) = handler.of(TransactionStarted, "CP1")
        assert handler.persisted == [handler.events.index(started) + 1]
        reply = await cp.send_raw(stop16_frame("e", reply[2]["transactionId"], 100))
        assert reply == [3, "e", {}]
        (ended,) = handler.of(TransactionEnded, "CP1")
        assert handler.persisted[1] == handler.events.index(ended) + 1
        # meter values stay batched: no persist for them
        assert await cp.send_raw(meter16("m", sv16("200"))) == [3, "m", {}]
        assert len(handler.persisted) == 2
    gated = GatedHandler()
    async with running_server(gated) as (server, _), charge_point(server, "CP1") as cp:
        frame = call(
            "s",
            "StartTransaction",
            {"connectorId": 1, "idTag": "TAG1", "meterStart": 0, "timestamp": stamp()},
        )
        reply = await _answer_waits_for_the_gate(cp, gated, frame)
        assert reply[:2] == [3, "s"]
        gated.persisted.clear()
        frame = stop16_frame("e", reply[2]["transactionId"], 100)
        reply = await _answer_waits_for_the_gate(cp, gated, frame)
        assert reply == [3, "e", {}]


async def test_transaction_event_answers_201_wait_until_stored() -> None:
    async with (
        running_server() as (server, handler),
        charge_point(server, "CS1", version="2.0.1") as cp,
    ):
        assert await cp.send_raw(tx_event("t1", "Started", "TX-1", sv201(10))) == [3, "t1", {}]
        (started,) = handler.of(TransactionStarted, "CS1")
        assert handler.persisted == [handler.events.index(started) + 2]  # + its sample
        assert await cp.send_raw(tx_event("t2", "Updated", "TX-1", sv201(20), seq=1)) == [
            3,
            "t2",
            {},
        ]
        assert len(handler.persisted) == 1  # updates stay batched
        reply = await cp.send_raw(tx_event("t3", "Ended", "TX-1", sv201(30), seq=2, token="T"))
        assert reply == [3, "t3", {"idTokenInfo": {"status": "Accepted"}}]
        (ended,) = handler.of(TransactionEnded, "CS1")
        assert handler.persisted[1] > handler.events.index(ended)
    gated = GatedHandler()
    async with (
        running_server(gated) as (server, _),
        charge_point(server, "CS1", version="2.0.1") as cp,
    ):
        reply = await _answer_waits_for_the_gate(cp, gated, tx_event("t1", "Started", "TX-2"))
        assert reply == [3, "t1", {}]
        gated.persisted.clear()
        frame = tx_event("t2", "Ended", "TX-2", seq=1, token="T")
        reply = await _answer_waits_for_the_gate(cp, gated, frame)
        assert reply[:2] == [3, "t2"]


class FailingPersistHandler(RecordingHandler):
    """A hub whose persist() raises (a bug): the charger is still answered."""

    async def persist(self, charger_id: str) -> None:
        raise RuntimeError("storage bug")


async def test_a_failing_persist_still_answers() -> None:
    async with (
        running_server(FailingPersistHandler()) as (server, handler),
        charge_point(server, "CP1") as cp,
    ):
        reply = await start16(cp, "s", 0)
        assert reply is not None
        assert reply[2]["idTagInfo"] == {"status": "Accepted"}
        assert handler.of(TransactionStarted, "CP1")


# --------------------------------------------------------------------------- never silence


class BadAnswerHandler(RecordingHandler):
    """A hub that answers authorizations with something that is no status (a bug)."""

    async def authorize(self, request: AuthorizationRequest) -> AuthorizationResult:
        return AuthorizationResult(status="Maybe")  # type: ignore[arg-type]


class BuggyV16Connection(V16Connection):
    """A 1.6 connection with a synchronous handler that fails (stands in for any bug)."""

    @on("DataTransfer")
    def on_data_transfer(self, payload: Payload, received: datetime) -> Payload:
        raise KeyError("bug")


async def test_unexpected_errors_are_answered_with_internal_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async with (
        running_server(BadAnswerHandler()) as (server, _),
        charge_point(server, "CP1") as cp,
    ):
        reply = await cp.send_raw(call("a", "Authorize", {"idTag": "TAG1"}))  # async path
        assert reply is not None
        assert reply[:3] == [4, "a", "InternalError"]
        monkeypatch.setitem(server_module.PROTOCOLS, "ocpp1.6", BuggyV16Connection)
        async with charge_point(server, "CP2") as buggy:
            reply = await buggy.send_raw(call("d", "DataTransfer", {"vendorId": "x"}))  # sync
            assert reply is not None
            assert reply[:3] == [4, "d", "InternalError"]
            assert await buggy.send_raw(call("h", "Heartbeat", {})) is not None


async def test_numbers_beyond_float_in_integer_fields_are_answered() -> None:
    async with running_server() as (server, handler), charge_point(server, "CP1") as cp:
        frame = status16("c", 1).replace('"connectorId": 1', '"connectorId": 1e400')
        reply = await cp.send_raw(frame, wait=2.0)
        assert reply is not None  # was silence: rounding infinity raised outside the handler
        assert reply[:3] == [4, "c", "TypeConstraintViolation"]
        frame = call(
            "s",
            "StartTransaction",
            {"connectorId": 1, "idTag": "TAG1", "meterStart": "<big>", "timestamp": stamp()},
        ).replace('"<big>"', "-1e400")
        reply = await cp.send_raw(frame, wait=2.0)
        assert reply is not None
        assert reply[0] == 3
        (started,) = handler.of(TransactionStarted, "CP1")
        assert started.meter_start_wh is None


async def test_an_absurd_number_of_connectors_is_not_believed() -> None:
    async with (
        running_server(configure_on_boot=True, meter_interval=None, measurands=()) as (
            server,
            handler,
        ),
        charge_point(server, "CP100", connectors=100) as cp,
    ):
        await wait_until(lambda: "implausible_value:NumberOfConnectors" in kinds(handler, "CP100"))
        assert server.charger_diagnostics("CP100")["reported_connectors"] is None
        reply = await cp.send_raw(status16("no", DEFAULT_MAX_CONNECTORS + 1))
        assert reply is not None
        assert reply[:3] == [4, "no", "PropertyConstraintViolation"]


async def test_deviation_details_and_issued_ids_are_bounded() -> None:
    """What a charger sends is quoted in a deviation only up to a bound, and the ids the
    server remembers having issued do not grow without end."""
    from custom_components.ev_sessions.chargers.ocpp import connection as ocpp_connection

    async with running_server() as (server, handler), charge_point(server, "CP1") as cp:
        huge = "x" * 100_000
        answer = await cp.send_raw(
            json.dumps(
                [
                    2,
                    "m1",
                    "MeterValues",
                    {
                        "connectorId": 1,
                        "meterValue": [{"timestamp": huge, "sampledValue": [{"value": "1"}]}],
                    },
                ]
            )
        )
        assert answer is not None
        details = server.charger_diagnostics("CP1")["deviations"]
        assert details
        assert all(len(text) <= ocpp_connection.MAX_DEVIATION_TEXT for text in details.values())
        connection = server._connections["CP1"]
        issued = connection.context.issued_ids
        for number in range(ocpp_connection.MAX_ISSUED_IDS + 5):
            issued[10_000_000 + number] = None
        connection._new_transaction_id()  # type: ignore[attr-defined]
        assert len(issued) == ocpp_connection.MAX_ISSUED_IDS
    assert handler is not None


async def test_unsolicited_reports_cannot_grow_the_stored_configuration_without_end(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A 2.0.1 station sending report after report of invented variables: the configuration
    kept stops at the cap (known variables still update), reported once as a deviation."""
    from custom_components.ev_sessions.chargers.ocpp import v201

    monkeypatch.setattr(v201, "MAX_CONFIGURATION_KEYS", 50)
    async with (
        running_server() as (server, _handler),
        charge_point(server, "CS1", version="2.0.1") as cp,
    ):
        known = len(server.charger_diagnostics("CS1")["configuration"])

        def report(request: int, names: range, value: str) -> dict[str, Any]:
            return {
                "requestId": request,
                "generatedAt": stamp(),
                "seqNo": 0,
                "tbc": False,
                "reportData": [
                    {
                        "component": {"name": "Junk"},
                        "variable": {"name": f"V{n}"},
                        "variableAttribute": [{"value": value}],
                        "variableCharacteristics": {
                            "dataType": "string",
                            "valuesList": "a,b",
                            "supportsMonitoring": False,
                        },
                    }
                    for n in names
                ],
            }

        for request in range(3):
            start = request * 40
            frame = call(
                f"r{request}", "NotifyReport", report(90 + request, range(start, start + 40), "1")
            )
            assert await cp.send_raw(frame) == [3, f"r{request}", {}]
        diagnostics = server.charger_diagnostics("CS1")
        assert len(diagnostics["configuration"]) == 50
        assert "configuration_full" in diagnostics["deviations"]
        # a variable already kept is still updated
        frame = call("u", "NotifyReport", report(99, range(1), "2"))
        assert await cp.send_raw(frame) == [3, "u", {}]
        assert server.charger_diagnostics("CS1")["configuration"]["Junk.V0"] == "2"
        assert known < 50


async def test_a_frame_over_the_size_limit_closes_only_that_connection() -> None:
    """A frame larger than ``max_frame_bytes`` ends the sender's connection (close 1009); the
    hub goes on serving the other chargers."""
    async with (
        running_server(max_frame_bytes=64 * 1024) as (server, handler),
        charge_point(server, "BIG") as big,
        charge_point(server, "GOOD") as good,
    ):
        answer = await big.send_raw(
            json.dumps([2, "b1", "DataTransfer", {"vendorId": "x", "data": "x" * 100_000}]),
            wait=1.0,
        )
        assert answer is None
        await wait_until(lambda: not server.is_connected("BIG"))
        assert server.is_connected("GOOD")
        await good.heartbeat()
        assert handler is not None
