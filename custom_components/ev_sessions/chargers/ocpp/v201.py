"""OCPP 2.0.1: translate charging station CALLs into events and commands into CALLs.

An EVSE is what the normalized events call a connector: ``connector_id`` is the ``evseId``.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
import itertools
import logging
from typing import Any

from ocpp.v201.enums import Action

from custom_components.ev_sessions.chargers.events import (
    AuthorizationResult,
    AuthorizationStatus,
    ChangeConfiguration,
    ChargerCommand,
    ChargerInfo,
    ClearAuthorizationCache,
    ClearLimits,
    CommandNotSupportedError,
    CommandResult,
    ConnectorState,
    GetAuthorizationListVersion,
    GetConfiguration,
    MeterSample,
    PushAuthorizationList,
    Reset,
    SampleContext,
    SetAvailability,
    SetChargerPassword,
    SetChargingSchedule,
    SetCurrentLimit,
    StartCharging,
    StatusChanged,
    StopCharging,
    TagPresented,
    TransactionEnded,
    TransactionStarted,
    TriggerMessage,
    UnlockConnector,
)

from .charging_profiles import ProfileIds, schedule_periods, standing_start
from .connection import (
    CallRejectedError,
    ErrorCodes,
    OcppCallError,
    OcppConnection,
    Payload,
    on,
    short_tag,
)
from .meter import parse_meter_values
from .timeutil import iso

_LOGGER = logging.getLogger(__name__)

ID_TOKEN_MAX = 36
CONNECTOR_STATES: dict[str, ConnectorState] = {
    "Available": ConnectorState.AVAILABLE,
    "Occupied": ConnectorState.PREPARING,
    "Reserved": ConnectorState.RESERVED,
    "Unavailable": ConnectorState.UNAVAILABLE,
    "Faulted": ConnectorState.FAULTED,
}
CHARGING_STATES: dict[str, ConnectorState] = {
    "Charging": ConnectorState.CHARGING,
    "EVConnected": ConnectorState.PREPARING,
    "SuspendedEV": ConnectorState.SUSPENDED_EV,
    "SuspendedEVSE": ConnectorState.SUSPENDED_EVSE,
}
AUTH_STATUS: dict[AuthorizationStatus, str] = {
    AuthorizationStatus.ACCEPTED: "Accepted",
    AuthorizationStatus.INVALID: "Invalid",
    AuthorizationStatus.BLOCKED: "Blocked",
    AuthorizationStatus.EXPIRED: "Expired",
    AuthorizationStatus.CONCURRENT_TX: "ConcurrentTx",
}
TRIGGERS = frozenset(
    {
        "BootNotification",
        "LogStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "MeterValues",
        "SignChargingStationCertificate",
        "SignV2GCertificate",
        "StatusNotification",
        "TransactionEvent",
        "SignCombinedCertificate",
        "PublishFirmwareStatusNotification",
    }
)
ACCEPTED = frozenset({"Accepted"})
_SET_OK = frozenset({"Accepted", "RebootRequired"})
#: BasicAuthPassword is a passwordString of 16 to 40 characters.
PASSWORD_LENGTH = (16, 40)
_report_ids = itertools.count(1)


def id_token_info(result: AuthorizationResult, token_type: str) -> Payload:
    """2.0.1 ``idTokenInfo`` for an authorization result."""
    info: Payload = {"status": AUTH_STATUS[result.status]}
    if result.expiry is not None:
        info["cacheExpiryDateTime"] = iso(result.expiry)
    if result.parent_id_tag is not None:
        info["groupIdToken"] = {"idToken": result.parent_id_tag[:ID_TOKEN_MAX], "type": token_type}
    return info


def check_id_token(id_token: str) -> None:
    """Raise :class:`ValueError` for an id token 2.0.1 cannot carry."""
    if not id_token or len(id_token) > ID_TOKEN_MAX:
        raise ValueError(f"OCPP 2.0.1 id tokens are 1 to {ID_TOKEN_MAX} characters")


def variable_key(component: Payload, variable: Payload) -> str:
    """``Component.Variable`` (with ``[instance]`` suffixes when present)."""
    name = str(component.get("name"))
    if component.get("instance"):
        name += f"[{component['instance']}]"
    evse = component.get("evse")
    if isinstance(evse, dict) and "id" in evse:
        name += f"@{evse['id']}"
    var = str(variable.get("name"))
    if variable.get("instance"):
        var += f"[{variable['instance']}]"
    return f"{name}.{var}"


def split_key(key: str) -> tuple[str, str]:
    """``"Component.Variable"`` -> ``("Component", "Variable")``; ValueError without a dot."""
    component, dot, variable = key.partition(".")
    if not dot or not component or not variable:
        raise ValueError(f"OCPP 2.0.1 configuration keys are 'Component.Variable', got {key!r}")
    return component, variable


class V201Connection(OcppConnection):
    """A charging station speaking OCPP 2.0.1."""

    version = "2.0.1"
    protocol = "ocpp2.0.1"
    errors = ErrorCodes(
        format_violation="FormatViolation",
        bad_frame="RpcFrameworkError",
        bad_message_type="MessageTypeNotSupported",
    )
    known_actions = frozenset(action.value for action in Action)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._reports: dict[int, tuple[dict[str, str | None], asyncio.Future[None]]] = {}
        #: The highest EVSE id seen in the NotifyReport being received.
        self._report_evses = 0

    @property
    def token_type(self) -> str:
        """idToken type used for tokens we send."""
        return self.settings.id_token_type

    # ------------------------------------------------------------------ from the station

    @on(Action.boot_notification)
    async def on_boot_notification(self, payload: Payload, received: datetime) -> Any:
        """BootNotification: ask the hub, answer Accepted/Pending/Rejected."""
        station = payload.get("chargingStation") or {}
        info = ChargerInfo(
            vendor=station.get("vendorName"),
            model=station.get("model"),
            serial=station.get("serialNumber"),
            firmware=station.get("firmwareVersion"),
            protocol=self.protocol,
            connectors=self.state.connectors,
        )
        decision = await self.decide_boot(info)
        return self.boot_reply(decision, received)

    @on(Action.heartbeat)
    def on_heartbeat(self, payload: Payload, received: datetime) -> Payload:
        """Heartbeat: our time."""
        return {"currentTime": iso(received)}

    @on(Action.status_notification)
    def on_status_notification(self, payload: Payload, received: datetime) -> Payload:
        """StatusNotification: the state of an EVSE's connector."""
        at = self.charger_time(payload.get("timestamp"), received)
        evse_id: int = payload["evseId"]
        self._check_evse(evse_id, zero=True, what="StatusNotification evseId")
        self.state.connectors = max(self.state.connectors, evse_id)
        status = payload.get("connectorStatus")
        state = CONNECTOR_STATES.get(status) if isinstance(status, str) else None
        if state is None:
            self.deviate("unknown_status", f"connectorStatus {status!r}")
            state = ConnectorState.UNKNOWN
        if state is ConnectorState.PREPARING and evse_id in self.state.transactions:
            return {}  # occupied during a transaction: TransactionEvent tells the details
        self.emit(
            StatusChanged(charger_id=self.charger_id, at=at, connector_id=evse_id, state=state)
        )
        return {}

    @on(Action.authorize)
    async def on_authorize(self, payload: Payload, received: datetime) -> Payload:
        """Authorize: the hub decides."""
        id_token: str = payload["idToken"]["idToken"]
        result = await self.authorize(id_token, None, received)
        self.emit(
            TagPresented(
                charger_id=self.charger_id,
                at=received,
                connector_id=None,
                id_tag=id_token,
                status=result.status,
            )
        )
        return {"idTokenInfo": id_token_info(result, self.token_type)}

    @on(Action.transaction_event)
    def on_transaction_event(self, payload: Payload, received: datetime) -> Any:
        """TransactionEvent Started/Updated/Ended.

        Started and Ended are answered once they are stored; Updated (the meter values of a
        running transaction, the high-rate message) is answered at once unless a token asks
        for a decision.
        """
        at = self.charger_time(payload.get("timestamp"), received)
        info: Payload = payload["transactionInfo"]
        transaction_id = str(info["transactionId"])
        event_type = payload["eventType"]
        offline = bool(payload.get("offline", False))
        evse = payload.get("evse")
        connector_id: int | None = evse.get("id") if isinstance(evse, dict) else None
        id_token = payload.get("idToken")
        token = id_token.get("idToken") if isinstance(id_token, dict) else None
        if connector_id is not None and not self.connector_in_range(
            connector_id, zero=False, what="TransactionEvent evse.id"
        ):
            # Answered without a CALLERROR (a transaction message would be retried), nothing
            # emitted; a token is answered Invalid so that the station stops the transaction.
            if token is None:
                return {}
            return {"idTokenInfo": {"status": "Invalid"}}
        if connector_id is None:
            connector_id = self.state.tx_connectors.get(transaction_id)
        samples = parse_meter_values(
            payload.get("meterValue") or (),
            v201=True,
            charger_id=self.charger_id,
            connector_id=connector_id or 0,
            transaction_id=transaction_id,
            received=received,
            offline_after=None,
            offline=offline,
            deviate=self.deviate,
            max_ahead=self.settings.clock_tolerance_delta,
        )
        if event_type == "Started":
            if connector_id is None:
                self.deviate("started_without_evse", f"transaction {transaction_id}")
                connector_id = 1
            self.state.start_transaction(connector_id, transaction_id)
            self.emit(
                TransactionStarted(
                    charger_id=self.charger_id,
                    at=at,
                    connector_id=connector_id,
                    transaction_id=transaction_id,
                    id_tag=token,
                    meter_start_wh=_energy(samples, SampleContext.TRANSACTION_BEGIN),
                    offline=offline,
                )
            )
        elif connector_id is not None and event_type != "Ended":
            self.state.start_transaction(connector_id, transaction_id)
        for sample in samples:
            self.emit(sample)
        charging_state = info.get("chargingState")
        if event_type == "Ended":
            known = self.state.end_transaction(transaction_id)
            connector_id = connector_id if connector_id is not None else known
            self.emit(
                TransactionEnded(
                    charger_id=self.charger_id,
                    at=at,
                    transaction_id=transaction_id,
                    connector_id=connector_id,
                    id_tag=token,
                    meter_stop_wh=_energy(samples, SampleContext.TRANSACTION_END),
                    reason=info.get("stoppedReason"),
                    offline=offline,
                )
            )
            if connector_id is not None and charging_state is not None:
                state = (
                    ConnectorState.AVAILABLE
                    if charging_state == "Idle"
                    else ConnectorState.FINISHING
                )
                self._status(connector_id, state, at)
        elif connector_id is not None and charging_state in CHARGING_STATES:
            self._status(connector_id, CHARGING_STATES[charging_state], at)
        durable = event_type in {"Started", "Ended"}
        if token is None:
            return self.persisted({}) if durable else {}
        return self._token_reply(
            token, connector_id, at, tag_event=event_type != "Started", durable=durable
        )

    async def _token_reply(
        self,
        token: str,
        connector_id: int | None,
        at: datetime,
        *,
        tag_event: bool,
        durable: bool = False,
    ) -> Payload:
        if durable:
            await self.persist()
        result = await self.authorize(token, connector_id, at)
        if tag_event:
            self.emit(
                TagPresented(
                    charger_id=self.charger_id,
                    at=at,
                    connector_id=connector_id,
                    id_tag=token,
                    status=result.status,
                )
            )
        return {"idTokenInfo": id_token_info(result, self.token_type)}

    def _status(self, connector_id: int, state: ConnectorState, at: datetime) -> None:
        self.emit(
            StatusChanged(charger_id=self.charger_id, at=at, connector_id=connector_id, state=state)
        )

    @on(Action.meter_values)
    def on_meter_values(self, payload: Payload, received: datetime) -> Payload:
        """MeterValues outside transactions (or the main meter with evseId 0)."""
        evse_id: int = payload["evseId"]
        self._check_evse(evse_id, zero=True, what="MeterValues evseId")
        for sample in parse_meter_values(
            payload["meterValue"],
            v201=True,
            charger_id=self.charger_id,
            connector_id=evse_id,
            transaction_id=self.state.transactions.get(evse_id) if evse_id else None,
            received=received,
            offline_after=None,
            offline=False,
            deviate=self.deviate,
            max_ahead=self.settings.clock_tolerance_delta,
        ):
            self.emit(sample)
        return {}

    def _check_evse(self, evse_id: int, *, zero: bool, what: str) -> None:
        """Raise :class:`CallRejectedError` (PropertyConstraintViolation) when out of range."""
        if not self.connector_in_range(evse_id, zero=zero, what=what):
            raise CallRejectedError(
                "PropertyConstraintViolation", f"{what} {evse_id!r:.30} out of range"
            )

    @on(Action.notify_report)
    def on_notify_report(self, payload: Payload, received: datetime) -> Payload:
        """NotifyReport: configuration variables (answer to GetBaseReport)."""
        values: dict[str, str | None] = {}
        for item in payload.get("reportData") or ():
            component, variable = item["component"], item["variable"]
            for attribute in item.get("variableAttribute") or ():
                if attribute.get("type", "Actual") == "Actual":
                    values[variable_key(component, variable)] = attribute.get("value")
            evse = component.get("evse")
            if isinstance(evse, dict) and isinstance(evse.get("id"), int):
                self._report_evses = max(self._report_evses, evse["id"])
        self.state.configuration.update(values)
        if not payload.get("tbc", False):
            self._learn_evses()
        waiting = self._reports.get(payload["requestId"])
        if waiting is not None:
            waiting[0].update(values)
            if not payload.get("tbc", False) and not waiting[1].done():
                waiting[1].set_result(None)
        return {}

    def _learn_evses(self) -> None:
        """At the end of a report: the EVSEs in it are the station's (the connector bound)."""
        count, self._report_evses = self._report_evses, 0
        if count <= 0:
            return  # a report without the EVSE components (not a full inventory)
        if not self.state.report_connectors(count):
            self.deviate("implausible_value:EVSE", f"EVSE id {count!r:.30} not believed")
            return
        self.state.connectors = max(self.state.connectors, count)

    @on(Action.notify_event)
    def on_notify_event(self, payload: Payload, received: datetime) -> Payload:
        """NotifyEvent: the latest events are kept for diagnostics."""
        events = [
            {
                "component": item.get("component", {}).get("name"),
                "variable": item.get("variable", {}).get("name"),
                "trigger": item.get("trigger"),
                "value": item.get("actualValue"),
                "at": item.get("timestamp"),
            }
            for item in payload.get("eventData") or ()
        ]
        self.state.notifications["NotifyEvent"] = events[-20:]
        return {}

    # ------------------------------------------------------------------ after boot

    async def configure(self) -> None:
        """Read the configuration (GetBaseReport), then set the sample interval and measurands."""
        configured = self.state.configured
        report = await self._base_report()
        configured["GetBaseReport"] = report.status
        if report.accepted:
            values = report.data.get("configuration")
            if isinstance(values, dict):
                self.state.configuration.update(values)
        interval = self.settings.meter_interval
        if interval is not None:
            status = await self._set_variable(
                "SampledDataCtrlr", "TxUpdatedInterval", str(interval)
            )
            configured["SampledDataCtrlr.TxUpdatedInterval"] = {"value": interval, "status": status}
        if self.settings.measurands:
            for measurands in (self.settings.measurands, self.settings.fallback_measurands):
                value = ",".join(measurands)
                status = await self._set_variable("SampledDataCtrlr", "TxUpdatedMeasurands", value)
                configured["SampledDataCtrlr.TxUpdatedMeasurands"] = {
                    "value": value,
                    "status": status,
                }
                if status in _SET_OK:
                    break

    async def _set_variable(self, component: str, variable: str, value: str) -> str:
        try:
            answer = await self.call(
                "SetVariables",
                {
                    "setVariableData": [
                        {
                            "attributeValue": value,
                            "component": {"name": component},
                            "variable": {"name": variable},
                        }
                    ]
                },
            )
        except OcppCallError as error:
            return error.code
        results = answer.get("setVariableResult") or [{}]
        status = str(results[0].get("attributeStatus"))
        if status in _SET_OK:
            self.state.configuration[f"{component}.{variable}"] = value
        return status

    # ------------------------------------------------------------------ commands

    async def execute(self, command: ChargerCommand) -> CommandResult:
        """Carry out a normalized command with the matching 2.0.1 CALL."""
        match command:
            case StartCharging():
                check_id_token(command.id_tag)
                _LOGGER.info(
                    "%s: remote start on %s for %s",
                    self.charger_id,
                    command.connector_id,
                    short_tag(command.id_tag),
                )
                payload: Payload = {
                    "idToken": {"idToken": command.id_tag, "type": self.token_type},
                    "remoteStartId": next(self.state.remote_start_ids),
                }
                if command.connector_id > 0:
                    payload["evseId"] = command.connector_id
                return await self.command("RequestStartTransaction", payload, ok=ACCEPTED)
            case StopCharging():
                transaction_id = command.transaction_id or self.state.transactions.get(
                    command.connector_id
                )
                if transaction_id is None:
                    return CommandResult(accepted=False, status="NoTransaction")
                return await self.command(
                    "RequestStopTransaction", {"transactionId": transaction_id}, ok=ACCEPTED
                )
            case SetCurrentLimit():
                return await self._set_limit(command)
            case SetChargingSchedule():
                return await self._set_schedule(command)
            case ClearLimits():
                return await self._clear_limits(command.connector_id)
            case UnlockConnector():
                return await self.command(
                    "UnlockConnector",
                    {"evseId": command.connector_id, "connectorId": 1},
                    ok=frozenset({"Unlocked"}),
                )
            case SetAvailability():
                payload = {"operationalStatus": "Operative" if command.available else "Inoperative"}
                if command.connector_id > 0:
                    payload["evse"] = {"id": command.connector_id}
                return await self.command(
                    "ChangeAvailability", payload, ok=frozenset({"Accepted", "Scheduled"})
                )
            case Reset():
                return await self.command(
                    "Reset",
                    {"type": "Immediate" if command.hard else "OnIdle"},
                    ok=frozenset({"Accepted", "Scheduled"}),
                )
            case TriggerMessage():
                if command.message not in TRIGGERS:
                    raise CommandNotSupportedError(f"OCPP 2.0.1 cannot trigger {command.message!r}")
                payload = {"requestedMessage": command.message}
                if command.connector_id:
                    payload["evse"] = {"id": command.connector_id}
                return await self.command("TriggerMessage", payload, ok=ACCEPTED)
            case ChangeConfiguration():
                component, variable = split_key(command.key)
                status = await self._set_variable(component, variable, command.value)
                if status in {"NotImplemented", "NotSupported"}:
                    raise CommandNotSupportedError(f"{self.charger_id}: SetVariables")
                return CommandResult(accepted=status in _SET_OK, status=status)
            case GetConfiguration():
                return await self._get_configuration(command)
            case PushAuthorizationList():
                return await self._send_local_list(command)
            case GetAuthorizationListVersion():
                answer = await self._call_or_unsupported("GetLocalListVersion", {})
                version = answer.get("versionNumber")
                return CommandResult(accepted=True, status="Accepted", data={"version": version})
            case ClearAuthorizationCache():
                return await self.command("ClearCache", {}, ok=ACCEPTED)
            case SetChargerPassword():
                return await self._set_password(command)
        raise CommandNotSupportedError(f"OCPP 2.0.1 cannot {type(command).__name__}")

    async def _set_password(self, command: SetChargerPassword) -> CommandResult:
        """``SecurityCtrlr.BasicAuthPassword`` (16 to 40 characters; never kept or logged)."""
        if not PASSWORD_LENGTH[0] <= len(command.password) <= PASSWORD_LENGTH[1]:
            raise ValueError("OCPP 2.0.1 passwords are 16 to 40 characters")
        try:
            answer = await self.call(
                "SetVariables",
                {
                    "setVariableData": [
                        {
                            "attributeValue": command.password,
                            "component": {"name": "SecurityCtrlr"},
                            "variable": {"name": "BasicAuthPassword"},
                        }
                    ]
                },
            )
        except OcppCallError as error:
            return CommandResult(accepted=False, status=error.code)
        results = answer.get("setVariableResult") or [{}]
        status = str(results[0].get("attributeStatus"))
        accepted = status in _SET_OK
        if accepted:
            self.authenticated_with = command.password  # this connection got it from us
        return CommandResult(accepted=accepted, status=status)

    async def _call_or_unsupported(self, action: str, payload: Payload) -> Payload:
        try:
            return await self.call(action, payload)
        except OcppCallError as error:
            if error.code in {"NotImplemented", "NotSupported"}:
                raise CommandNotSupportedError(f"{self.charger_id}: {action}") from error
            raise

    def _profile(
        self,
        *,
        profile_id: int,
        purpose: str,
        start: datetime,
        periods: list[tuple[int, float]],
        transaction_id: str | None = None,
    ) -> Payload:
        profile: Payload = {
            "id": profile_id,
            "stackLevel": 0,
            "chargingProfilePurpose": purpose,
            "chargingProfileKind": "Absolute",
            "chargingSchedule": [
                {
                    "id": profile_id,
                    "startSchedule": iso(start),
                    "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [
                        {"startPeriod": offset, "limit": round(limit, 1)}
                        for offset, limit in periods
                    ],
                }
            ],
        }
        if transaction_id is not None:
            profile["transactionId"] = transaction_id
        return profile

    async def _set_limit(self, command: SetCurrentLimit) -> CommandResult:
        if command.limit_a < 0:
            raise ValueError(f"a current limit cannot be negative: {command.limit_a}")
        connector_id = command.connector_id
        profile = self._profile(
            profile_id=ProfileIds.limit(connector_id),
            purpose="TxDefaultProfile",
            start=standing_start(),
            periods=[(0, command.limit_a)],
        )
        result = await self.command(
            "SetChargingProfile", {"evseId": connector_id, "chargingProfile": profile}, ok=ACCEPTED
        )
        if result.accepted:
            connectors = list(self.state.transactions) if connector_id == 0 else [connector_id]
            for connector in connectors:
                if connector in self.state.transactions:
                    try:
                        await self.call(
                            "ClearChargingProfile",
                            {"chargingProfileId": ProfileIds.schedule(connector)},
                        )
                    except OcppCallError as error:
                        _LOGGER.debug("%s: clearing TxProfile failed: %s", self.charger_id, error)
        return result

    async def _set_schedule(self, command: SetChargingSchedule) -> CommandResult:
        start, periods = schedule_periods(command.periods)
        connector_id = command.connector_id
        transaction_id = self.state.transactions.get(connector_id)
        if transaction_id is not None:
            profile = self._profile(
                profile_id=ProfileIds.schedule(connector_id),
                purpose="TxProfile",
                start=start,
                periods=periods,
                transaction_id=transaction_id,
            )
        else:
            profile = self._profile(
                profile_id=ProfileIds.limit(connector_id),
                purpose="TxDefaultProfile",
                start=start,
                periods=periods,
            )
        return await self.command(
            "SetChargingProfile", {"evseId": connector_id, "chargingProfile": profile}, ok=ACCEPTED
        )

    async def _clear_limits(self, connector_id: int) -> CommandResult:
        statuses: list[str] = []
        for purpose in ("TxDefaultProfile", "TxProfile"):
            criteria: Payload = {"chargingProfilePurpose": purpose}
            if connector_id > 0:
                criteria["evseId"] = connector_id
            result = await self.command(
                "ClearChargingProfile", {"chargingProfileCriteria": criteria}, ok=ACCEPTED
            )
            statuses.append(result.status)
        accepted = "Accepted" in statuses
        return CommandResult(
            accepted=accepted or all(status == "Unknown" for status in statuses),
            status="Accepted" if accepted else statuses[0],
            data={"statuses": statuses},
        )

    async def _get_configuration(self, command: GetConfiguration) -> CommandResult:
        if command.keys:
            data = []
            for key in command.keys:
                component, variable = split_key(key)
                data.append({"component": {"name": component}, "variable": {"name": variable}})
            answer = await self._call_or_unsupported("GetVariables", {"getVariableData": data})
            values: dict[str, str | None] = {}
            unknown: list[str] = []
            for item in answer.get("getVariableResult") or ():
                key = variable_key(item.get("component", {}), item.get("variable", {}))
                if item.get("attributeStatus") == "Accepted":
                    values[key] = item.get("attributeValue")
                else:
                    unknown.append(key)
            self.state.configuration.update(values)
            return CommandResult(
                accepted=True,
                status="Accepted",
                data={"configuration": values, "readonly": [], "unknown": unknown},
            )
        return await self._base_report()

    async def _base_report(self) -> CommandResult:
        request_id = next(_report_ids)
        values: dict[str, str | None] = {}
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._reports[request_id] = (values, done)
        try:
            answer = await self._call_or_unsupported(
                "GetBaseReport", {"requestId": request_id, "reportBase": "FullInventory"}
            )
            status = str(answer.get("status"))
            if status != "Accepted":
                return CommandResult(accepted=False, status=status)
            try:
                async with asyncio.timeout(self.settings.command_timeout):
                    await done
            except TimeoutError:
                return CommandResult(
                    accepted=False, status="Timeout", data={"configuration": dict(values)}
                )
        finally:
            del self._reports[request_id]
        return CommandResult(
            accepted=True,
            status="Accepted",
            data={"configuration": values, "readonly": [], "unknown": []},
        )

    async def _send_local_list(self, command: PushAuthorizationList) -> CommandResult:
        entries: list[Payload] = []
        for entry in command.entries:
            check_id_token(entry.id_tag)
            item: Payload = {"idToken": {"idToken": entry.id_tag, "type": self.token_type}}
            if entry.status is not None:
                item["idTokenInfo"] = id_token_info(
                    AuthorizationResult(
                        status=entry.status, expiry=entry.expiry, parent_id_tag=entry.parent_id_tag
                    ),
                    self.token_type,
                )
            elif command.full:
                raise ValueError("a full local list cannot remove tags (status None)")
            entries.append(item)
        return await self.command(
            "SendLocalList",
            {
                "versionNumber": command.version,
                "updateType": "Full" if command.full else "Differential",
                "localAuthorizationList": entries,
            },
            ok=ACCEPTED,
        )


def _energy(samples: list[MeterSample], context: SampleContext) -> int | None:
    """The energy register of the samples with ``context`` (else of the last sample with one)."""
    for sample in samples:
        if sample.context is context and sample.energy_register_wh is not None:
            return sample.energy_register_wh
    for sample in reversed(samples):
        if sample.energy_register_wh is not None:
            return sample.energy_register_wh
    return None
