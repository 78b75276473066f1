"""Unit tests of the adapter's pure parts, plus the per-frame cost of MeterValues."""

from __future__ import annotations

import ast
import base64
from datetime import UTC, datetime, timedelta
import json
from pathlib import Path
import statistics
import time
from typing import Any

import pytest

from custom_components.ev_sessions.chargers.events import (
    ChargerEvent,
    MeterSample,
    SampleContext,
    SchedulePeriod,
)
from custom_components.ev_sessions.chargers.ocpp import TransactionIdFactory, charger_id_from_path
from custom_components.ev_sessions.chargers.ocpp.charging_profiles import (
    ProfileIds,
    limit_at_start,
    schedule_periods,
)
from custom_components.ev_sessions.chargers.ocpp.connection import ServerContext, short_tag
from custom_components.ev_sessions.chargers.ocpp.lenient import Unusable, repair
from custom_components.ev_sessions.chargers.ocpp.meter import parse_meter_values
from custom_components.ev_sessions.chargers.ocpp.schemas import schema, validator
from custom_components.ev_sessions.chargers.ocpp.server import basic_credentials
from custom_components.ev_sessions.chargers.ocpp.state import ChargerState, OcppServerSettings
from custom_components.ev_sessions.chargers.ocpp.timeutil import iso, parse_timestamp
from custom_components.ev_sessions.chargers.ocpp.v16 import V16Connection

from .helpers import RecordingHandler

ROOT = Path(__file__).resolve().parents[3]
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def _parse(meter_values: list[dict[str, Any]], *, v201: bool = False) -> list[MeterSample]:
    deviations: list[tuple[str, str]] = []
    samples = parse_meter_values(
        meter_values,
        v201=v201,
        charger_id="CP",
        connector_id=1,
        transaction_id="9",
        received=NOW,
        offline_after=timedelta(minutes=2),
        offline=False,
        deviate=lambda kind, detail: deviations.append((kind, detail)),
    )
    _parse.deviations = deviations  # type: ignore[attr-defined]
    return samples


def test_meter_total_wins_over_phases_and_contexts() -> None:
    (sample,) = _parse(
        [
            {
                "timestamp": "2026-06-01T11:59:00Z",
                "sampledValue": [
                    {"value": "100", "phase": "L1", "context": "Transaction.Begin"},
                    {"value": "200", "phase": "L2"},
                    {"value": "12.3456", "unit": "kWh"},
                    {"value": "11", "measurand": "Power.Active.Import", "unit": "kW"},
                    {"value": "1", "measurand": "Power.Active.Import", "phase": "L1", "unit": "kW"},
                    {"value": "400", "measurand": "Voltage", "phase": "L1-L2"},
                    {"value": "16", "measurand": "Current.Offered"},
                ],
            }
        ]
    )
    assert sample.energy_register_wh == 12346
    assert sample.power_w == 11000.0
    assert sample.voltage_v == (400.0, None, None)  # line-to-line only when nothing else
    assert sample.context is SampleContext.TRANSACTION_BEGIN
    assert sample.at == datetime(2026, 6, 1, 11, 59, tzinfo=UTC)
    assert sample.offline is False


def test_meter_old_timestamp_is_offline_and_signed_or_bad_values_skipped() -> None:
    samples = _parse(
        [
            {
                "timestamp": "2026-06-01T10:00:00+02:00",
                "sampledValue": [
                    {"value": "abc"},
                    {"value": "AAECAw==", "format": "SignedData"},
                    {"value": "7", "measurand": "Power.Active.Import", "phase": "L1"},
                    {"value": "8", "measurand": "Power.Active.Import", "phase": "L2"},
                    {"value": "230", "measurand": "Voltage", "unit": "kV"},
                ],
            },
            {
                "timestamp": "2026-06-01T12:00:00Z",
                "sampledValue": [{"value": "1", "measurand": "RPM"}],
            },
        ]
    )
    assert len(samples) == 1  # the second entry carries nothing we use
    (sample,) = samples
    assert sample.at == datetime(2026, 6, 1, 8, 0, tzinfo=UTC)
    assert sample.offline is True
    assert sample.energy_register_wh is None
    assert sample.power_w == 15.0
    assert sample.voltage_v == (230.0, None, None)
    kinds = {kind for kind, _ in _parse.deviations}  # type: ignore[attr-defined]
    assert kinds == {"unparsable_value", "unit_mismatch:Voltage"}


def test_meter_201_multiplier_and_default_unit() -> None:
    (sample,) = _parse(
        [
            {
                "timestamp": "2026-06-01T12:00:00Z",
                "sampledValue": [
                    {"value": 7.5, "unitOfMeasure": {"unit": "kWh"}},
                    {
                        "value": 3.2,
                        "measurand": "Power.Active.Import",
                        "unitOfMeasure": {"multiplier": 3},
                    },
                    {"value": 80, "measurand": "SoC", "context": "Sample.Clock"},
                ],
            }
        ],
        v201=True,
    )
    assert sample.energy_register_wh == 7500
    assert sample.power_w == 3200.0
    assert sample.soc_pct == 80.0
    assert sample.context is SampleContext.CLOCK


def test_parse_timestamp_cases() -> None:
    assert parse_timestamp("2026-06-01T11:00:00.123Z", NOW) == (
        datetime(2026, 6, 1, 11, 0, 0, 123000, tzinfo=UTC),
        None,
    )
    assert parse_timestamp(None, NOW) == (NOW, None)
    assert parse_timestamp(12345, NOW) == (NOW, "timestamp_invalid")
    assert parse_timestamp("2014-12-31T23:59:59Z", NOW) == (NOW, "timestamp_absurd")
    assert parse_timestamp("2026-06-03T12:00:00Z", NOW) == (NOW, "timestamp_in_future")
    assert parse_timestamp("2026-06-01T12:06:00Z", NOW) == (NOW, "timestamp_in_future")
    assert parse_timestamp("2026-06-01T12:04:00Z", NOW)[1] is None  # within the tolerance
    assert parse_timestamp("2026-06-01T12:04:00Z", NOW, timedelta(minutes=1)) == (
        NOW,
        "timestamp_in_future",
    )
    assert parse_timestamp("9999-12-31T23:59:59-14:00", NOW) == (NOW, "timestamp_invalid")
    assert parse_timestamp("2026-06-01T11:00:00", NOW)[1] == "timestamp_without_timezone"
    assert iso(datetime(2026, 1, 2, 3, 4, 5, 678900, tzinfo=UTC)) == "2026-01-02T03:04:05.678Z"


def test_lenient_repair_rules() -> None:
    definition = schema("1.6", "StatusNotification")
    assert definition is not None
    fixed, deviations = repair(
        {"connectorId": 1.0, "status": "charging", "vendorErrorCode": 5, "extra": True},
        definition,
        "StatusNotification",
    )
    assert fixed["errorCode"] == "NoError"  # a missing errorCode defaults
    assert fixed["status"] == "Charging"
    assert fixed["vendorErrorCode"] == "5"
    assert fixed["connectorId"] == 1
    assert {d.kind for d in deviations} == {
        "missing_property:StatusNotification.errorCode",
        "enum_case:StatusNotification.status",
        "number_for_string:StatusNotification.vendorErrorCode",
        "unknown_property:StatusNotification.payload",
    }
    # invented property names never become deviation kinds of their own: one per object
    invented = {f"x{n}": n for n in range(500)}
    _, deviations = repair(
        {"connectorId": 1, "status": "Available", "errorCode": "NoError", **invented},
        definition,
        "StatusNotification",
    )
    assert [d.kind for d in deviations] == ["unknown_property:StatusNotification.payload"]
    assert "and 495 more" in deviations[0].detail
    with pytest.raises(Unusable) as error:
        repair({"connectorId": True, "status": "Available"}, definition, "StatusNotification")
    assert error.value.rule == "type"
    with pytest.raises(Unusable):
        repair([], definition, "StatusNotification")
    meter = schema("1.6", "MeterValues")
    assert meter is not None
    fixed, deviations = repair(
        {"connectorId": 1, "meterValue": {"timestamp": "x", "sampledValue": [{"value": "1"}]}},
        meter,
        "MeterValues",
    )
    assert isinstance(fixed["meterValue"], list)
    assert [d.kind for d in deviations] == ["object_for_array:MeterValues.meterValue"]
    tx = schema("2.0.1", "TransactionEvent")
    assert tx is not None
    with pytest.raises(Unusable):
        repair({"eventType": "Started", "offline": "maybe"}, tx, "TransactionEvent")


def test_schemas_are_cached_and_refuse_odd_names() -> None:
    assert validator("1.6", "Heartbeat") is validator("1.6", "Heartbeat")
    assert validator("1.6", "../../etc/passwd") is None
    assert validator("2.0.1", "NoSuchAction") is None


def test_transaction_ids_unique_positive_increasing() -> None:
    clock = iter([1000.0, 1000.0, 999.0, 2**31 / 1000 + 5.0])
    factory = TransactionIdFactory(clock=lambda: next(clock))
    ids = [factory() for _ in range(4)]
    assert ids[:3] == [1_000_000, 1_000_001, 1_000_002]
    assert ids[3] > 0
    assert len(set(ids)) == 4


def test_charger_id_from_path_and_basic_credentials() -> None:
    assert charger_id_from_path("/ocpp/CP1") == "CP1"
    assert charger_id_from_path("/ocpp/CP%2F1/") == "CP/1"
    assert charger_id_from_path("/CP1?x=1") == "CP1"
    assert charger_id_from_path("/") is None
    token = base64.b64encode(b"CP1:p:w").decode()
    assert basic_credentials(f"Basic {token}") == ("CP1", "p:w")
    assert basic_credentials("Bearer abc") is None
    assert basic_credentials("Basic !!!") is None
    assert basic_credentials("Basic " + base64.b64encode(b"nocolon").decode()) is None


def test_schedule_periods_validation() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    start, periods = schedule_periods(
        [SchedulePeriod(start=t0, limit_a=6), SchedulePeriod(start=t0, limit_a=7)]
    )
    assert (start, periods) == (t0, [(0, 7)])
    with pytest.raises(ValueError, match="negative"):
        schedule_periods([SchedulePeriod(start=t0, limit_a=-1)])
    with pytest.raises(ValueError, match="timezone"):
        schedule_periods([SchedulePeriod(start=datetime(2026, 1, 1), limit_a=1)])  # noqa: DTZ001


def test_short_tag_never_shows_full_tag() -> None:
    assert short_tag("04A2B3C4D5") == "04A2…"
    assert short_tag(None) == "-"


def test_no_homeassistant_import_in_adapter_or_simulator() -> None:
    files = [*(ROOT / "custom_components/ev_sessions/chargers/ocpp").glob("*.py")]
    files.extend((ROOT / "simulators/ocpp").glob("*.py"))
    for path in files:
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(name.split(".")[0] == "homeassistant" for name in names), path


class _FakeWs:
    closed = False

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send_str(self, text: str) -> None:
        self.sent.append(text)


class _Sink(RecordingHandler):
    def handle_event(self, event: ChargerEvent) -> None:
        self.last = event


async def test_meter_values_frame_cost_well_under_a_millisecond() -> None:
    """Full server-side handling of a 9-value MeterValues frame (no socket)."""
    ws = _FakeWs()
    settings = OcppServerSettings()
    context = ServerContext(
        handler=_Sink(), settings=settings, new_transaction_id=TransactionIdFactory()
    )
    state = ChargerState(charger_id="PERF", accepted=True)
    connection = V16Connection(ws, state, context)  # type: ignore[arg-type]
    values = [
        {
            "value": "123456",
            "measurand": "Energy.Active.Import.Register",
            "unit": "Wh",
            "context": "Sample.Periodic",
        },
        {
            "value": "7400.0",
            "measurand": "Power.Active.Import",
            "unit": "W",
            "context": "Sample.Periodic",
        },
        *[
            {
                "value": "10.7",
                "measurand": "Current.Import",
                "phase": f"L{p}",
                "unit": "A",
                "context": "Sample.Periodic",
            }
            for p in (1, 2, 3)
        ],
        *[
            {
                "value": "230.1",
                "measurand": "Voltage",
                "phase": f"L{p}-N",
                "unit": "V",
                "context": "Sample.Periodic",
            }
            for p in (1, 2, 3)
        ],
        {"value": "55", "measurand": "SoC", "unit": "Percent", "context": "Sample.Periodic"},
    ]
    stamp = iso(datetime.now(UTC))
    frame = json.dumps(
        [
            2,
            "id",
            "MeterValues",
            {
                "connectorId": 1,
                "transactionId": 42,
                "meterValue": [{"timestamp": stamp, "sampledValue": values}],
            },
        ]
    )
    for _ in range(50):  # warm up (schema compilation)
        await connection._route(frame)
    timings = []
    for _ in range(300):
        started = time.perf_counter()
        await connection._route(frame)
        timings.append(time.perf_counter() - started)
    sample = context.handler.last  # type: ignore[attr-defined]
    assert isinstance(sample, MeterSample)
    assert sample.energy_register_wh == 123456
    assert sample.current_a == (10.7, 10.7, 10.7)
    assert ws.sent[-1] == '[3,"id",{}]'
    assert statistics.median(timings) < 0.0005, statistics.median(timings)


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        (
            {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 16}]},
            16.0,
        ),
        (
            {
                "chargingRateUnit": "W",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 7400}],
            },
            None,
        ),
        ("16 A", None),
        ({"chargingRateUnit": "A", "chargingSchedulePeriod": "16"}, None),
        (
            {
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [
                    "first",
                    {"startPeriod": 60, "limit": 6},
                    {"startPeriod": 0, "limit": 10},
                ],
            },
            10.0,
        ),
    ],
)
def test_the_limit_a_composite_schedule_gives_now(schedule: object, expected: float | None) -> None:
    """Only a schedule in A says the limit now (the period starting at 0); anything else a
    charger sends says nothing."""
    assert limit_at_start(schedule) == expected


def test_profile_ids_of_a_connectors_scope() -> None:
    """Clearing one connector's limits of a charger with two: its limit and its schedule only."""
    assert ProfileIds.of_scope(2, connectors=2) == [ProfileIds.limit(2), ProfileIds.schedule(2)]
    assert ProfileIds.of_scope(0, connectors=2) == [
        ProfileIds.limit(0),
        ProfileIds.limit(1),
        ProfileIds.limit(2),
        ProfileIds.schedule(1),
        ProfileIds.schedule(2),
    ]
