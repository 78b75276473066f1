"""Property-based: generated hostile OCPP frames never break the record.

A real OCPP server feeds a real session engine over a real SQLite file. Two accepted chargers
(one 1.6J, one 2.0.1) send frames that ``hypothesis`` generates: well-formed and malformed
MeterValues, transaction starts and ends, status notifications, with NaN / infinite / huge /
negative numbers (as JSON numbers, JSON ``NaN`` literals and strings), absurd connector ids,
timestamps far in the future or past, and raw junk (truncated, deeply nested). Meanwhile a
well-behaved charger runs a session. After every example:

* every frame that carried a readable unique id got an answer (CALLRESULT or CALLERROR);
* the hub still serves the well-behaved charger;
* everything is written (a flush succeeds) and the stored record can be read;
* no stored session or lifetime counter is negative or absurd.

At the end the well-behaved charger's session is stored with its exact energy.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
import itertools
import json
import os
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings, strategies as st
import pytest

from custom_components.ev_sessions.chargers.events import (
    AuthorizationRequest,
    AuthorizationResult,
    AuthorizationStatus,
    BootDecision,
    ChargerEvent,
    ChargerInfo,
)
from custom_components.ev_sessions.chargers.ocpp import OcppServer
from custom_components.ev_sessions.core import EngineSettings, SessionEngine, SessionStore
from simulators.ocpp import SimConfig, SimulatedChargePoint

from .helpers import FAST, url

pytestmark = pytest.mark.usefixtures("socket_enabled")

#: More than any session here can hold: 400 kW for a day (timestamps reach back a day).
ABSURD_WH = 10_000_000
EXAMPLES = int(os.environ.get("EV_SESSIONS_FUZZ_EXAMPLES", "40"))


class EngineHandler:
    """The adapter's handler, forwarding to a real engine (as the hub does)."""

    def __init__(self, engine: SessionEngine) -> None:
        self.engine = engine

    def handle_event(self, event: ChargerEvent) -> None:
        self.engine.handle_event(event)

    async def authorize(self, request: AuthorizationRequest) -> AuthorizationResult:
        return AuthorizationResult(status=AuthorizationStatus.ACCEPTED)

    async def boot_decision(self, charger_id: str, info: ChargerInfo) -> BootDecision:
        return BootDecision.ACCEPTED

    async def persist(self, charger_id: str) -> None:
        await self.engine.async_persist()


@dataclass
class Site:
    """The running hub and its chargers."""

    engine: SessionEngine
    store: SessionStore
    good: SimulatedChargePoint
    evil16: SimulatedChargePoint
    evil201: SimulatedChargePoint
    good_tx: int
    good_register: int = 1000
    ids: itertools.count[int] = field(default_factory=itertools.count)

    def unique(self) -> str:
        return f"f{next(self.ids)}"


@pytest.fixture
async def site(tmp_path: Path) -> AsyncIterator[Site]:
    store = SessionStore(f"sqlite:///{tmp_path / 'fuzz.db'}")
    engine = SessionEngine(store, settings=EngineSettings())
    await engine.async_start()
    server = OcppServer(EngineHandler(engine), FAST)
    await server.start()
    chargers = {
        name: SimulatedChargePoint(
            url(server, name), SimConfig(charger_id=name, version=version, strict=False)
        )
        for name, version in (("GOOD", "1.6"), ("EVIL16", "1.6"), ("EVIL201", "2.0.1"))
    }
    try:
        for cp in chargers.values():
            await cp.connect()
        good = chargers["GOOD"]
        answer = await good.send_raw(
            _call(
                "start",
                "StartTransaction",
                {
                    "connectorId": 1,
                    "idTag": "GOODTAG",
                    "meterStart": 1000,
                    "timestamp": (datetime.now(UTC) - timedelta(hours=1)).isoformat(),
                },
            )
        )
        assert answer is not None
        assert answer[0] == 3
        yield Site(
            engine=engine,
            store=store,
            good=good,
            evil16=chargers["EVIL16"],
            evil201=chargers["EVIL201"],
            good_tx=int(answer[2]["transactionId"]),
        )
    finally:
        for cp in chargers.values():
            await cp.close()
        await server.stop()
        await engine.async_stop()


# --------------------------------------------------------------------------- strategies

HOSTILE_NUMBERS: list[Any] = [
    float("nan"),
    float("inf"),
    float("-inf"),
    1e30,
    -1e30,
    2**63,
    2**64 + 1,
    -5000,
    -1,
    0,
    "NaN",
    "Infinity",
    "-Infinity",
    "1e30",
    "9223372036854775808",
    "-5000",
    "",
    "abc",
]
numbers = st.one_of(
    st.sampled_from(HOSTILE_NUMBERS),
    st.integers(min_value=0, max_value=100_000),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(2**70), max_value=2**70),
)
connector_ids = st.one_of(
    st.integers(min_value=-2, max_value=3),
    st.sampled_from([99, 2**31 - 1, 2**63, -(2**31)]),
)
offsets = st.sampled_from(
    [
        timedelta(0),
        timedelta(seconds=-30),
        timedelta(hours=-23),
        timedelta(hours=2),
        timedelta(days=3650),
    ]
)
timestamps = st.one_of(
    offsets.map(lambda off: (datetime.now(UTC) + off).isoformat()),
    st.sampled_from(["", "yesterday", "2026-13-45T99:99:99Z", "9999-12-31T23:59:59Z"]),
)
measurands = st.sampled_from(
    [
        "Energy.Active.Import.Register",
        "Power.Active.Import",
        "Current.Import",
        "Voltage",
        "SoC",
        "Frequency",
    ]
)


@st.composite
def sampled_values16(draw: st.DrawFn) -> dict[str, Any]:
    value: dict[str, Any] = {"value": draw(numbers), "measurand": draw(measurands)}
    if draw(st.booleans()):
        value["value"] = str(value["value"])
    if draw(st.booleans()):
        value["unit"] = draw(st.sampled_from(["Wh", "kWh", "W", "kW", "A", "V", "Percent"]))
    if draw(st.booleans()):
        value["phase"] = draw(st.sampled_from(["L1", "L2", "L3", "L1-N"]))
    return value


@st.composite
def meter_values16(draw: st.DrawFn) -> list[dict[str, Any]]:
    return [
        {
            "timestamp": draw(timestamps),
            "sampledValue": draw(st.lists(sampled_values16(), min_size=1, max_size=4)),
        }
        for _ in range(draw(st.integers(1, 3)))
    ]


@st.composite
def frames16(draw: st.DrawFn) -> tuple[str, Any]:
    kind = draw(st.sampled_from(["meter", "start", "stop", "status", "heartbeat"]))
    if kind == "meter":
        payload: dict[str, Any] = {
            "connectorId": draw(connector_ids),
            "meterValue": draw(meter_values16()),
        }
        if draw(st.booleans()):
            payload["transactionId"] = draw(st.integers(-5, 2**40))
        return "MeterValues", payload
    if kind == "start":
        return "StartTransaction", {
            "connectorId": draw(connector_ids),
            "idTag": draw(st.sampled_from(["TAG1", "X" * 25, ""])),
            "meterStart": draw(numbers),
            "timestamp": draw(timestamps),
        }
    if kind == "stop":
        payload = {
            "transactionId": draw(st.integers(-5, 2**40)),
            "meterStop": draw(numbers),
            "timestamp": draw(timestamps),
        }
        if draw(st.booleans()):
            payload["transactionData"] = draw(meter_values16())
        return "StopTransaction", payload
    if kind == "status":
        return "StatusNotification", {
            "connectorId": draw(connector_ids),
            "errorCode": "NoError",
            "status": draw(st.sampled_from(["Available", "Preparing", "Charging", "Finishing"])),
            "timestamp": draw(timestamps),
        }
    return "Heartbeat", {}


@st.composite
def meter_values201(draw: st.DrawFn) -> list[dict[str, Any]]:
    entries = []
    for _ in range(draw(st.integers(1, 2))):
        values = []
        for _ in range(draw(st.integers(1, 3))):
            value: dict[str, Any] = {"value": draw(numbers), "measurand": draw(measurands)}
            if draw(st.booleans()):
                value["unitOfMeasure"] = {
                    "unit": draw(st.sampled_from(["Wh", "kWh", "W"])),
                    "multiplier": draw(st.integers(-3, 30)),
                }
            values.append(value)
        entries.append({"timestamp": draw(timestamps), "sampledValue": values})
    return entries


@st.composite
def frames201(draw: st.DrawFn) -> tuple[str, Any]:
    kind = draw(st.sampled_from(["meter", "tx", "status"]))
    if kind == "meter":
        return "MeterValues", {"evseId": draw(connector_ids), "meterValue": draw(meter_values201())}
    if kind == "status":
        return "StatusNotification", {
            "timestamp": draw(timestamps),
            "connectorStatus": draw(st.sampled_from(["Available", "Occupied", "Faulted"])),
            "evseId": draw(connector_ids),
            "connectorId": draw(st.integers(-1, 3)),
        }
    payload: dict[str, Any] = {
        "eventType": draw(st.sampled_from(["Started", "Updated", "Ended"])),
        "timestamp": draw(timestamps),
        "triggerReason": "MeterValuePeriodic",
        "seqNo": draw(st.integers(-1, 2**40)),
        "transactionInfo": {"transactionId": draw(st.sampled_from(["T1", "T2", "x" * 40]))},
        "evse": {"id": draw(connector_ids), "connectorId": 1},
    }
    if draw(st.booleans()):
        payload["meterValue"] = draw(meter_values201())
    return "TransactionEvent", payload


JUNK = [
    "[2,",
    "[2, 1, 2, 3]",
    '[2,"junk","Heartbeat",' + "[" * 100_000 + "]" * 100_000 + "]",
    '[2,"junk","MeterValues",{"connectorId":1,"meterValue":NaN}]',
    '[2,"junk","Heartbeat",{"x":Infinity}]',
    "\x00\x01",
    "null",
]


# --------------------------------------------------------------------------- the property


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _call(unique_id: str, action: str, payload: Any) -> str:
    return json.dumps([2, unique_id, action, payload])


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    evil16=st.lists(frames16(), max_size=5),
    evil201=st.lists(frames201(), max_size=5),
    junk=st.lists(st.sampled_from(JUNK), max_size=2),
)
async def test_hostile_frames_never_break_the_record(
    site: Site,
    evil16: list[tuple[str, Any]],
    evil201: list[tuple[str, Any]],
    junk: list[str],
) -> None:
    for charger, frames in ((site.evil16, evil16), (site.evil201, evil201)):
        for action, payload in frames:
            unique_id = site.unique()
            answer = await charger.send_raw(_call(unique_id, action, payload), wait=5.0)
            assert answer is not None, f"no answer to {action} {payload!r:.300}"
            assert answer[0] in (3, 4)
            assert answer[1] == unique_id
    for template in junk:
        unique_id = site.unique()
        frame = template.replace('"junk"', json.dumps(unique_id))
        answer = await site.evil16.send_raw(frame, wait=5.0)
        if f'"{unique_id}"' in frame:
            assert answer is not None, f"no answer to {frame[:80]!r}"
            assert answer[:2] == [4, unique_id]

    # the well-behaved charger is still served, and its session still counts
    site.good_register += 7
    answer = await site.good.send_raw(
        _call(
            site.unique(),
            "MeterValues",
            {
                "connectorId": 1,
                "transactionId": site.good_tx,
                "meterValue": [
                    {
                        "timestamp": _now(),
                        "sampledValue": [{"value": str(site.good_register)}],
                    }
                ],
            },
        )
    )
    assert answer is not None
    assert answer[0] == 3

    # everything is written and readable; nothing negative or absurd
    await site.engine.async_flush()
    stored = await site.engine.async_sessions()
    for session in stored:
        assert 0 <= session.energy_wh <= ABSURD_WH, session
        for register in (session.meter_start_wh, session.meter_stop_wh):
            assert register is None or register >= 0, session
    for record in await site.store.async_load_lifetimes():
        assert 0 <= record.total_wh <= ABSURD_WH, record
    good = [s for s in stored if s.charger_id == "GOOD"]
    assert len(good) == 1, stored
    assert good[0].energy_wh == site.good_register - 1000


async def test_good_session_is_stored_exactly_after_the_fuzz(site: Site) -> None:
    """The end of the well-behaved session (answered after it is written) is exact."""
    answer = await site.evil16.send_raw(
        _call(
            "nan-meter",
            "MeterValues",
            {
                "connectorId": 1,
                "meterValue": [{"timestamp": _now(), "sampledValue": [{"value": "NaN"}]}],
            },
        )
    )
    assert answer is not None
    answer = await site.good.send_raw(
        _call(
            "stop",
            "StopTransaction",
            {"transactionId": site.good_tx, "meterStop": 4000, "timestamp": _now()},
        )
    )
    assert answer is not None
    assert answer[0] == 3
    # answered only once durable: the row is in the database without another flush
    rows = await site.store.async_sessions(charger_id="GOOD")
    assert [(s.energy_wh, s.meter_stop_wh) for s in rows] == [(3000, 4000)]
