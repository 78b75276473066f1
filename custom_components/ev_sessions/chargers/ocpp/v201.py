"""OCPP 2.0.1: translate charging station CALLs into events, and the command flows' requests
into 2.0.1 payloads (the flows themselves are in :mod:`.commands`).

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
    AuthorizationListEntry,
    AuthorizationResult,
    AuthorizationStatus,
    ChargerInfo,
    CommandResult,
    ConnectorState,
    GetConfiguration,
    InvalidCommandError,
    MeterSample,
    SampleContext,
    StatusChanged,
    TagPresented,
    TransactionEnded,
    TransactionStarted,
)

from .charging_profiles import ProfileSpec
from .commands import CONFIG_OK, CommandConnection, ConfigKeys, ConfigStep, Request
from .connection import ErrorCodes, Payload, on
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
#: BasicAuthPassword is a passwordString of 16 to 40 characters.
PASSWORD_LENGTH = (16, 40)
_report_ids = itertools.count(1)
#: At most this many configuration variables (and value lists) are kept per station.
MAX_CONFIGURATION_KEYS = 5_000


def id_token_info(result: AuthorizationResult, token_type: str) -> Payload:
    """2.0.1 ``idTokenInfo`` for an authorization result."""
    info: Payload = {"status": AUTH_STATUS[result.status]}
    if result.expiry is not None:
        info["cacheExpiryDateTime"] = iso(result.expiry)
    if result.parent_id_tag is not None:
        info["groupIdToken"] = {"idToken": result.parent_id_tag[:ID_TOKEN_MAX], "type": token_type}
    return info


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
    """``"Component.Variable"`` -> ``("Component", "Variable")``; InvalidCommandError without."""
    component, dot, variable = key.partition(".")
    if not dot or not component or not variable:
        raise InvalidCommandError(
            f"OCPP 2.0.1 configuration keys are 'Component.Variable', got {key!r}"
        )
    return component, variable


class V201Connection(CommandConnection):
    """A charging station speaking OCPP 2.0.1."""

    version = "2.0.1"
    protocol = "ocpp2.0.1"
    errors = ErrorCodes(
        format_violation="FormatViolation",
        bad_frame="RpcFrameworkError",
        bad_message_type="MessageTypeNotSupported",
    )
    known_actions = frozenset(action.value for action in Action)
    #: While Pending a CSMS may read and change the configuration (and trigger a boot).
    provisioning_actions = frozenset({"GetVariables", "SetVariables", "GetBaseReport", "GetReport"})
    tag_max = ID_TOKEN_MAX
    max_purpose = "ChargingStationMaxProfile"
    triggers = TRIGGERS
    config_keys = ConfigKeys(
        interval="SampledDataCtrlr.TxUpdatedInterval",
        measurands="SampledDataCtrlr.TxUpdatedMeasurands",
    )
    list_version_key = "versionNumber"

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

    def boot_info(self, payload: Payload) -> ChargerInfo:
        """BootNotification: the chargingStation."""
        station = payload.get("chargingStation") or {}
        return ChargerInfo(
            vendor=station.get("vendorName"),
            model=station.get("model"),
            serial=station.get("serialNumber"),
            firmware=station.get("firmwareVersion"),
            protocol=self.protocol,
            connectors=self.state.connectors,
        )

    def authorize_token(self, payload: Payload) -> str:
        """Authorize: the idToken's value."""
        id_token: str = payload["idToken"]["idToken"]
        return id_token

    def authorize_reply(self, result: AuthorizationResult) -> Payload:
        """Authorize: the idTokenInfo."""
        return {"idTokenInfo": id_token_info(result, self.token_type)}

    @on(Action.status_notification)
    def on_status_notification(self, payload: Payload, received: datetime) -> Payload:
        """StatusNotification: the state of an EVSE's connector."""
        at = self.charger_time(payload.get("timestamp"), received)
        evse_id: int = payload["evseId"]
        self.check_connector(evse_id, zero=True, what="StatusNotification evseId")
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
        samples = self.meter_samples(
            payload.get("meterValue") or (),
            connector_id=connector_id or 0,
            transaction_id=transaction_id,
            received=received,
            offline=offline,
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
        self.check_connector(evse_id, zero=True, what="MeterValues evseId")
        for sample in self.meter_samples(
            payload["meterValue"],
            connector_id=evse_id,
            transaction_id=self.state.transactions.get(evse_id) if evse_id else None,
            received=received,
        ):
            self.emit(sample)
        return {}

    @on(Action.notify_report)
    def on_notify_report(self, payload: Payload, received: datetime) -> Payload:
        """NotifyReport: configuration variables (answer to GetBaseReport), and the values a
        variable allows (its ``valuesList``, e.g. the measurands the station can sample)."""
        values: dict[str, str | None] = {}
        for item in payload.get("reportData") or ():
            component, variable = item["component"], item["variable"]
            key = variable_key(component, variable)
            for attribute in item.get("variableAttribute") or ():
                if attribute.get("type", "Actual") == "Actual":
                    values[key] = attribute.get("value")
            characteristics = item.get("variableCharacteristics")
            if isinstance(characteristics, dict):
                allowed = characteristics.get("valuesList")
                if isinstance(allowed, str) and (
                    key in self.state.values_lists
                    or len(self.state.values_lists) < MAX_CONFIGURATION_KEYS
                ):
                    self.state.values_lists[key] = frozenset(
                        value.strip() for value in allowed.split(",") if value.strip()
                    )
            evse = component.get("evse")
            if isinstance(evse, dict) and isinstance(evse.get("id"), int):
                self._report_evses = max(self._report_evses, evse["id"])
        values = self._within_cap(values)
        self.state.configuration.update(values)
        if not payload.get("tbc", False):
            self._learn_evses()
        waiting = self._reports.get(payload["requestId"])
        if waiting is not None:
            waiting[0].update(values)
            if not payload.get("tbc", False) and not waiting[1].done():
                waiting[1].set_result(None)
        return {}

    def _within_cap(self, values: dict[str, str | None]) -> dict[str, str | None]:
        """``values`` without the new keys beyond :data:`MAX_CONFIGURATION_KEYS` (reports, also
        unsolicited ones, cannot grow the stored configuration without end)."""
        known = self.state.configuration
        room = MAX_CONFIGURATION_KEYS - len(known)
        new = [key for key in values if key not in known]
        if len(new) <= room:
            return values
        dropped = set(new[max(room, 0) :])
        self.deviate(
            "configuration_full",
            f"more than {MAX_CONFIGURATION_KEYS} variables reported; {len(dropped)} ignored",
        )
        return {key: value for key, value in values.items() if key not in dropped}

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

    async def read_configuration(self) -> None:
        """GetBaseReport (FullInventory): every variable, the EVSEs, the allowed values."""
        report = await self._base_report()
        self.state.configured["GetBaseReport"] = report.status

    async def get_configuration(self, command: GetConfiguration) -> CommandResult:
        """GetVariables of the keys ("Component.Variable"), or the full base report."""
        if not command.keys:
            return await self._base_report()
        data = []
        for key in command.keys:
            component, variable = split_key(key)
            data.append({"component": {"name": component}, "variable": {"name": variable}})
        answer = await self.call_or_unsupported(("GetVariables", {"getVariableData": data}))
        values: dict[str, str | None] = {}
        unknown: list[str] = []
        for item in answer.get("getVariableResult") or ():
            if not isinstance(item, dict):
                continue  # a deviation already (the answer failed its schema)
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

    async def _base_report(self) -> CommandResult:
        request_id = next(_report_ids)
        values: dict[str, str | None] = {}
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._reports[request_id] = (values, done)
        try:
            answer = await self.call_or_unsupported(
                ("GetBaseReport", {"requestId": request_id, "reportBase": "FullInventory"})
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

    # ------------------------------------------------------------------ command payloads

    def start_request(self, connector_id: int, id_tag: str) -> Request:
        """RequestStartTransaction (connector = EVSE)."""
        payload: Payload = {
            "idToken": {"idToken": id_tag, "type": self.token_type},
            "remoteStartId": next(self.state.remote_start_ids),
        }
        if connector_id > 0:
            payload["evseId"] = connector_id
        return "RequestStartTransaction", payload

    def stop_request(self, transaction_id: str) -> Request:
        """RequestStopTransaction."""
        return "RequestStopTransaction", {"transactionId": transaction_id}

    def profile_request(self, scope: int, profile: ProfileSpec) -> Request:
        """SetChargingProfile with chargingProfile (one schedule, same id as the profile)."""
        payload: Payload = {
            "id": profile.profile_id,
            "stackLevel": profile.stack_level,
            "chargingProfilePurpose": profile.purpose,
            "chargingProfileKind": "Absolute",
            "chargingSchedule": [
                {
                    "id": profile.profile_id,
                    "startSchedule": iso(profile.start),
                    "chargingRateUnit": "A",
                    "chargingSchedulePeriod": [
                        {"startPeriod": offset, "limit": round(limit, 1)}
                        for offset, limit in profile.periods
                    ],
                }
            ],
        }
        if profile.transaction_id is not None:
            payload["transactionId"] = profile.transaction_id
        return "SetChargingProfile", {"evseId": scope, "chargingProfile": payload}

    def clear_profile_request(self, profile_id: int) -> Request:
        """ClearChargingProfile by chargingProfileId."""
        return "ClearChargingProfile", {"chargingProfileId": profile_id}

    def composite_request(self, scope: int, seconds: int) -> Request:
        """GetCompositeSchedule of an EVSE (0: the grid connection)."""
        return "GetCompositeSchedule", {
            "evseId": scope,
            "duration": seconds,
            "chargingRateUnit": "A",
        }

    def composite_schedule(self, answer: Payload) -> object:
        """GetCompositeSchedule answer: schedule."""
        return answer.get("schedule")

    def unlock_request(self, connector_id: int) -> Request:
        """UnlockConnector (the EVSE's connector 1)."""
        return "UnlockConnector", {"evseId": connector_id, "connectorId": 1}

    def availability_request(self, connector_id: int, available: bool) -> Request:
        """ChangeAvailability (of an EVSE, or the station)."""
        payload: Payload = {"operationalStatus": "Operative" if available else "Inoperative"}
        if connector_id > 0:
            payload["evse"] = {"id": connector_id}
        return "ChangeAvailability", payload

    def reset_request(self, hard: bool) -> Request:
        """Reset Immediate / OnIdle."""
        return "Reset", {"type": "Immediate" if hard else "OnIdle"}

    def trigger_request(self, message: str, connector_id: int | None) -> Request:
        """TriggerMessage (of an EVSE when one is named)."""
        payload: Payload = {"requestedMessage": message}
        if connector_id:
            payload["evse"] = {"id": connector_id}
        return "TriggerMessage", payload

    def set_config_request(self, key: str, value: str) -> Request:
        """SetVariables of one "Component.Variable"."""
        component, variable = split_key(key)
        return "SetVariables", {
            "setVariableData": [
                {
                    "attributeValue": value,
                    "component": {"name": component},
                    "variable": {"name": variable},
                }
            ]
        }

    def set_config_status(self, answer: Payload) -> str:
        """SetVariables answer: the attributeStatus of the one variable."""
        results = answer.get("setVariableResult")
        first = results[0] if isinstance(results, list) and results else None
        return str(first.get("attributeStatus")) if isinstance(first, dict) else "None"

    def local_list_request(self, version: int, full: bool) -> Request:
        """SendLocalList (versionNumber, updateType)."""
        return "SendLocalList", {
            "versionNumber": version,
            "updateType": "Full" if full else "Differential",
        }

    def list_entry(self, entry: AuthorizationListEntry) -> Payload:
        """idToken, with idTokenInfo unless it is removed."""
        item: Payload = {"idToken": {"idToken": entry.id_tag, "type": self.token_type}}
        if entry.status is not None:
            item["idTokenInfo"] = id_token_info(
                AuthorizationResult(
                    status=entry.status, expiry=entry.expiry, parent_id_tag=entry.parent_id_tag
                ),
                self.token_type,
            )
        return item

    def password_steps(self, password: str, tls: bool) -> list[ConfigStep]:
        """``SecurityCtrlr.BasicAuthPassword`` (16 to 40 characters)."""
        if not PASSWORD_LENGTH[0] <= len(password) <= PASSWORD_LENGTH[1]:
            raise InvalidCommandError("OCPP 2.0.1 passwords are 16 to 40 characters")
        return [ConfigStep("SecurityCtrlr.BasicAuthPassword", password, CONFIG_OK, secret=True)]


def _energy(samples: list[MeterSample], context: SampleContext) -> int | None:
    """The energy register of the samples with ``context`` (else of the last sample with one)."""
    for sample in samples:
        if sample.context is context and sample.energy_register_wh is not None:
            return sample.energy_register_wh
    for sample in reversed(samples):
        if sample.energy_register_wh is not None:
            return sample.energy_register_wh
    return None
