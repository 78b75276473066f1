"""Commands: what the charge point receives for each normalized command, and the results."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest

from custom_components.ev_sessions.chargers.events import (
    AuthorizationListEntry,
    AuthorizationStatus,
    ChangeConfiguration,
    ChargerNotConnectedError,
    ChargerTimeoutError,
    ClearAuthorizationCache,
    ClearLimits,
    CommandNotSupportedError,
    ConnectorState,
    GetAuthorizationListVersion,
    GetConfiguration,
    PushAuthorizationList,
    Reset,
    SchedulePeriod,
    SetAvailability,
    SetChargingSchedule,
    SetCurrentLimit,
    StartCharging,
    StatusChanged,
    StopCharging,
    TransactionEnded,
    TransactionStarted,
    TriggerMessage,
    UnlockConnector,
)

from .helpers import charge_point, running_server, wait_until

pytestmark = pytest.mark.usefixtures("socket_enabled")


async def test_remote_start_stop_16() -> None:
    async with running_server() as (server, handler), charge_point(server, "CP1") as cp:
        await cp.plug_in(1)
        result = await server.execute("CP1", StartCharging(connector_id=1, id_tag="A" * 20))
        assert (result.accepted, result.status) == (True, "Accepted")
        assert cp.requests_for("RemoteStartTransaction") == [{"connectorId": 1, "idTag": "A" * 20}]
        started = await handler.wait_for(TransactionStarted)
        assert started.id_tag == "A" * 20
        await wait_until(lambda: str(cp.connector(1).transaction_id) == started.transaction_id)
        result = await server.execute("CP1", StopCharging(connector_id=1))
        assert result.accepted
        assert cp.requests_for("RemoteStopTransaction") == [
            {"transactionId": int(started.transaction_id)}
        ]
        ended = await handler.wait_for(TransactionEnded)
        assert (ended.transaction_id, ended.reason) == (started.transaction_id, "Remote")
        # nothing running any more
        result = await server.execute("CP1", StopCharging(connector_id=1))
        assert (result.accepted, result.status) == (False, "NoTransaction")


async def test_id_tag_over_20_characters_is_refused_before_sending() -> None:
    async with running_server() as (server, _handler), charge_point(server, "CP1") as cp:
        with pytest.raises(ValueError, match="20"):
            await server.execute("CP1", StartCharging(id_tag="B" * 21))
        assert cp.requests_for("RemoteStartTransaction") == []


async def test_remote_start_stop_201() -> None:
    async with (
        running_server() as (server, handler),
        charge_point(server, "CS1", version="2.0.1") as cp,
    ):
        await cp.plug_in(1)
        result = await server.execute("CS1", StartCharging(connector_id=1, id_tag="TOKEN-1"))
        assert result.accepted
        request = cp.requests_for("RequestStartTransaction")[0]
        assert request["idToken"] == {"idToken": "TOKEN-1", "type": "ISO14443"}
        assert request["evseId"] == 1
        assert request["remoteStartId"] == 1
        started = await handler.wait_for(TransactionStarted)
        await wait_until(lambda: cp.connector(1).transaction_id == started.transaction_id)
        result = await server.execute("CS1", StopCharging(connector_id=1))
        assert result.accepted
        assert cp.requests_for("RequestStopTransaction") == [
            {"transactionId": started.transaction_id}
        ]
        ended = await handler.wait_for(TransactionEnded)
        assert ended.reason == "Remote"


async def test_current_limit_16_profile_and_zero_suspends() -> None:
    """On a charger with one connector the whole charger is connector 1: one limit there."""
    async with running_server() as (server, handler), charge_point(server, "CP1") as cp:
        await cp.plug_in(1)
        await cp.start(1, "TAG1")
        result = await server.execute("CP1", SetCurrentLimit(connector_id=0, limit_a=16))
        assert (result.accepted, result.status) == (True, "Accepted")
        request = cp.requests_for("SetChargingProfile")[0]
        assert request["connectorId"] == 1
        profile = request["csChargingProfiles"]
        assert profile["chargingProfilePurpose"] == "TxDefaultProfile"
        assert profile["stackLevel"] == 0
        assert profile["chargingProfileId"] == 1001
        assert profile["chargingProfileKind"] == "Absolute"
        schedule = profile["chargingSchedule"]
        assert schedule["chargingRateUnit"] == "A"
        assert schedule["chargingSchedulePeriod"] == [{"startPeriod": 0, "limit": 16.0}]
        start = datetime.fromisoformat(schedule["startSchedule"])
        assert start <= datetime.now(UTC)
        assert cp.connector(1).limit_a == 16
        await server.execute("CP1", SetCurrentLimit(connector_id=0, limit_a=0))
        suspended = await handler.wait_for(
            StatusChanged, where=lambda e: e.state is ConnectorState.SUSPENDED_EVSE
        )
        assert suspended.connector_id == 1
        assert cp.power_of(cp.connector(1)) == 0.0
        cleared_before = len(cp.requests_for("ClearChargingProfile"))
        result = await server.execute("CP1", ClearLimits(connector_id=0))
        assert result.accepted
        # only the hub's own profile, by its id (never by purpose: others' profiles stay)
        assert cp.requests_for("ClearChargingProfile")[cleared_before:] == [{"id": 1001}]
        await handler.wait_for(StatusChanged, 2, where=lambda e: e.state is ConnectorState.CHARGING)


async def test_charging_schedule_16_tx_profile_and_default() -> None:
    async with running_server() as (server, _handler), charge_point(server, "CP1") as cp:
        t0 = datetime(2030, 1, 1, 22, 0, tzinfo=UTC)
        periods = [
            SchedulePeriod(start=t0 + timedelta(hours=1), limit_a=6),
            SchedulePeriod(start=t0, limit_a=32),
        ]
        result = await server.execute("CP1", SetChargingSchedule(connector_id=1, periods=periods))
        assert result.accepted
        profile = cp.requests_for("SetChargingProfile")[0]["csChargingProfiles"]
        assert profile["chargingProfilePurpose"] == "TxDefaultProfile"
        assert "transactionId" not in profile
        assert profile["chargingSchedule"]["startSchedule"] == "2030-01-01T22:00:00.000Z"
        assert profile["chargingSchedule"]["chargingSchedulePeriod"] == [
            {"startPeriod": 0, "limit": 32.0},
            {"startPeriod": 3600, "limit": 6.0},
        ]
        await cp.plug_in(1)
        transaction_id = await cp.start(1, "TAG1")
        await server.execute("CP1", SetChargingSchedule(connector_id=1, periods=periods))
        request = cp.requests_for("SetChargingProfile")[1]
        assert request["connectorId"] == 1
        profile = request["csChargingProfiles"]
        assert profile["chargingProfilePurpose"] == "TxProfile"
        assert profile["transactionId"] == int(str(transaction_id))
        assert profile["chargingProfileId"] == 2001
        # a standing limit afterwards drops our TxProfile so the limit applies
        await server.execute("CP1", SetCurrentLimit(connector_id=1, limit_a=10))
        # (and a whole-charger limit an earlier version may have left: once, by its id)
        assert cp.requests_for("ClearChargingProfile") == [{"id": 1000}, {"id": 2001}]
        with pytest.raises(ValueError, match="period"):
            await server.execute("CP1", SetChargingSchedule(connector_id=1, periods=[]))


async def test_limits_201() -> None:
    async with (
        running_server() as (server, _handler),
        charge_point(server, "CS1", version="2.0.1") as cp,
    ):
        result = await server.execute("CS1", SetCurrentLimit(connector_id=1, limit_a=10.5))
        assert result.accepted
        request = cp.requests_for("SetChargingProfile")[0]
        assert request["evseId"] == 1
        profile = request["chargingProfile"]
        assert (profile["id"], profile["stackLevel"]) == (1001, 0)
        assert profile["chargingProfilePurpose"] == "TxDefaultProfile"
        assert profile["chargingSchedule"][0]["chargingRateUnit"] == "A"
        assert profile["chargingSchedule"][0]["chargingSchedulePeriod"] == [
            {"startPeriod": 0, "limit": 10.5}
        ]
        await cp.plug_in(1)
        transaction_id = await cp.start(1, "TAG1")
        t0 = datetime.now(UTC)
        await server.execute(
            "CS1",
            SetChargingSchedule(
                connector_id=1,
                periods=[
                    SchedulePeriod(start=t0, limit_a=8),
                    SchedulePeriod(start=t0 + timedelta(minutes=30), limit_a=0),
                ],
            ),
        )
        profile = cp.requests_for("SetChargingProfile")[1]["chargingProfile"]
        assert profile["chargingProfilePurpose"] == "TxProfile"
        assert profile["transactionId"] == transaction_id
        assert profile["chargingSchedule"][0]["chargingSchedulePeriod"] == [
            {"startPeriod": 0, "limit": 8.0},
            {"startPeriod": 1800, "limit": 0.0},
        ]
        result = await server.execute("CS1", ClearLimits(connector_id=1))
        assert result.accepted
        # the hub's own profiles by id: an earlier whole-charger limit (checked once, after the
        # first limit), then the limit and the schedule it set
        assert cp.requests_for("ClearChargingProfile") == [
            {"chargingProfileId": 1000},
            {"chargingProfileId": 1001},
            {"chargingProfileId": 2001},
        ]


async def test_other_commands_16() -> None:
    async with running_server() as (server, _handler), charge_point(server, "CP1") as cp:
        result = await server.execute("CP1", UnlockConnector(connector_id=1))
        assert (result.accepted, result.status) == (True, "Unlocked")
        assert cp.requests_for("UnlockConnector") == [{"connectorId": 1}]
        result = await server.execute("CP1", SetAvailability(connector_id=0, available=False))
        assert result.accepted
        assert cp.requests_for("ChangeAvailability") == [{"connectorId": 0, "type": "Inoperative"}]
        result = await server.execute("CP1", Reset(hard=True))
        assert result.accepted
        assert cp.requests_for("Reset") == [{"type": "Hard"}]
        result = await server.execute("CP1", TriggerMessage(message="Heartbeat"))
        assert result.accepted
        assert cp.requests_for("TriggerMessage") == [{"requestedMessage": "Heartbeat"}]
        with pytest.raises(CommandNotSupportedError):
            await server.execute("CP1", TriggerMessage(message="TransactionEvent"))
        result = await server.execute(
            "CP1", ChangeConfiguration(key="MeterValueSampleInterval", value="15")
        )
        assert result.accepted
        assert cp.requests_for("ChangeConfiguration") == [
            {"key": "MeterValueSampleInterval", "value": "15"}
        ]
        assert cp.configuration["MeterValueSampleInterval"] == "15"
        result = await server.execute("CP1", ChangeConfiguration(key="NoSuchKey", value="1"))
        assert (result.accepted, result.status) == (False, "NotSupported")
        result = await server.execute(
            "CP1", GetConfiguration(keys=["MeterValueSampleInterval", "Nope"])
        )
        assert result.data["configuration"] == {"MeterValueSampleInterval": "15"}
        assert result.data["unknown"] == ["Nope"]
        result = await server.execute("CP1", GetConfiguration())
        assert result.data["configuration"]["NumberOfConnectors"] == "1"
        assert result.data["readonly"] == ["NumberOfConnectors"]
        expiry = datetime(2031, 5, 1, tzinfo=UTC)
        result = await server.execute(
            "CP1",
            PushAuthorizationList(
                version=3,
                entries=[
                    AuthorizationListEntry(
                        id_tag="FAMILY1",
                        status=AuthorizationStatus.ACCEPTED,
                        expiry=expiry,
                        parent_id_tag="PARENT",
                    ),
                    AuthorizationListEntry(id_tag="LOST", status=AuthorizationStatus.BLOCKED),
                ],
            ),
        )
        assert result.accepted
        assert cp.requests_for("SendLocalList") == [
            {
                "listVersion": 3,
                "updateType": "Full",
                "localAuthorizationList": [
                    {
                        "idTag": "FAMILY1",
                        "idTagInfo": {
                            "status": "Accepted",
                            "expiryDate": "2031-05-01T00:00:00.000Z",
                            "parentIdTag": "PARENT",
                        },
                    },
                    {"idTag": "LOST", "idTagInfo": {"status": "Blocked"}},
                ],
            }
        ]
        await server.execute(
            "CP1",
            PushAuthorizationList(
                version=4,
                full=False,
                entries=[AuthorizationListEntry(id_tag="LOST", status=None)],
            ),
        )
        assert cp.requests_for("SendLocalList")[1] == {
            "listVersion": 4,
            "updateType": "Differential",
            "localAuthorizationList": [{"idTag": "LOST"}],
        }
        result = await server.execute("CP1", GetAuthorizationListVersion())
        assert result.data == {"version": 4}
        result = await server.execute("CP1", ClearAuthorizationCache())
        assert result.accepted
        assert cp.requests_for("ClearCache") == [{}]


async def test_other_commands_201() -> None:
    async with (
        running_server() as (server, _handler),
        charge_point(server, "CS1", version="2.0.1") as cp,
    ):
        assert (await server.execute("CS1", UnlockConnector(connector_id=1))).status == "Unlocked"
        assert cp.requests_for("UnlockConnector") == [{"evseId": 1, "connectorId": 1}]
        await server.execute("CS1", SetAvailability(connector_id=1, available=True))
        assert cp.requests_for("ChangeAvailability") == [
            {"operationalStatus": "Operative", "evse": {"id": 1}}
        ]
        await server.execute("CS1", Reset())
        assert cp.requests_for("Reset") == [{"type": "OnIdle"}]
        await server.execute("CS1", TriggerMessage(message="StatusNotification", connector_id=1))
        assert cp.requests_for("TriggerMessage") == [
            {"requestedMessage": "StatusNotification", "evse": {"id": 1}}
        ]
        result = await server.execute(
            "CS1", ChangeConfiguration(key="SampledDataCtrlr.TxUpdatedInterval", value="20")
        )
        assert result.accepted
        assert cp.requests_for("SetVariables") == [
            {
                "setVariableData": [
                    {
                        "attributeValue": "20",
                        "component": {"name": "SampledDataCtrlr"},
                        "variable": {"name": "TxUpdatedInterval"},
                    }
                ]
            }
        ]
        with pytest.raises(ValueError, match=r"Component\.Variable"):
            await server.execute("CS1", ChangeConfiguration(key="NoDot", value="1"))
        result = await server.execute(
            "CS1", GetConfiguration(keys=["SampledDataCtrlr.TxUpdatedInterval", "X.Y"])
        )
        assert result.data["configuration"] == {"SampledDataCtrlr.TxUpdatedInterval": "20"}
        assert result.data["unknown"] == ["X.Y"]
        result = await server.execute("CS1", GetConfiguration())
        assert result.accepted
        assert result.data["configuration"]["EVSE.Count"] == "1"
        await server.execute(
            "CS1",
            PushAuthorizationList(
                version=2,
                entries=[
                    AuthorizationListEntry(
                        id_tag="CARD", status=AuthorizationStatus.ACCEPTED, parent_id_tag="HOME"
                    )
                ],
            ),
        )
        assert cp.requests_for("SendLocalList") == [
            {
                "versionNumber": 2,
                "updateType": "Full",
                "localAuthorizationList": [
                    {
                        "idToken": {"idToken": "CARD", "type": "ISO14443"},
                        "idTokenInfo": {
                            "status": "Accepted",
                            "groupIdToken": {"idToken": "HOME", "type": "ISO14443"},
                        },
                    }
                ],
            }
        ]
        assert (await server.execute("CS1", GetAuthorizationListVersion())).data == {"version": 2}
        assert (await server.execute("CS1", ClearAuthorizationCache())).accepted


async def test_command_errors() -> None:
    async with running_server(command_timeout=0.3) as (server, _handler):
        with pytest.raises(ChargerNotConnectedError):
            await server.execute("NOBODY", Reset())
        async with charge_point(server, "CP1") as cp:
            # a charger that never answers
            cp._cp.route_message = _swallow  # type: ignore[union-attr, method-assign]
            with pytest.raises(ChargerTimeoutError):
                await server.execute("CP1", Reset())


async def _swallow(_raw: str) -> None:
    await asyncio.sleep(0)


async def test_configuration_after_boot_falls_back_without_soc() -> None:
    async with (
        running_server(configure_on_boot=True, meter_interval=5) as (server, _handler),
        charge_point(
            server,
            "CP1",
            supported_measurands=frozenset(
                {"Energy.Active.Import.Register", "Power.Active.Import", "Current.Import"}
            ),
        ) as cp,
    ):
        await cp.wait_for_request("ChangeConfiguration", 3)
        await asyncio.sleep(0.05)
        assert cp.requests_for("GetConfiguration") == [{}]
        assert [r["value"] for r in cp.requests_for("ChangeConfiguration")] == [
            "5",
            "Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,SoC",
            "Energy.Active.Import.Register,Power.Active.Import,Current.Import",
        ]
        diagnostics = server.charger_diagnostics("CP1")
        assert diagnostics["configured"]["MeterValueSampleInterval"] == {
            "value": 5,
            "status": "Accepted",
        }
        assert diagnostics["configured"]["MeterValuesSampledData"] == {
            "value": "Energy.Active.Import.Register,Power.Active.Import,Current.Import",
            "status": "Accepted",
        }
        assert diagnostics["configuration"]["NumberOfConnectors"] == "1"


async def test_configuration_after_boot_201() -> None:
    async with (
        running_server(configure_on_boot=True, meter_interval=7) as (server, _handler),
        charge_point(server, "CS1", version="2.0.1") as cp,
    ):
        await cp.wait_for_request("SetVariables", 2)
        await asyncio.sleep(0.05)
        configured = server.charger_diagnostics("CS1")["configured"]
        assert configured["SampledDataCtrlr.TxUpdatedInterval"] == {
            "value": 7,
            "status": "Accepted",
        }
        assert configured["SampledDataCtrlr.TxUpdatedMeasurands"]["status"] == "Accepted"
        assert cp.configuration["SampledDataCtrlr.TxUpdatedInterval"] == "7"
        # The configuration was read first (GetBaseReport answered by NotifyReport).
        assert configured["GetBaseReport"] == "Accepted"
        assert [a for a, _ in cp.requests][:1] == ["GetBaseReport"]
        diagnostics = server.charger_diagnostics("CS1")
        assert diagnostics["configuration"]["EVSE.Count"] == "1"
