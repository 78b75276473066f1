"""OCPP 1.6J: translate charger CALLs into events and commands into CALLs."""

from __future__ import annotations

from collections.abc import Awaitable
from datetime import datetime
import logging
from typing import Any

from ocpp.v16.enums import Action

from custom_components.ev_sessions.chargers.events import (
    AuthorizationListEntry,
    AuthorizationResult,
    AuthorizationStatus,
    ChangeConfiguration,
    ChargerCommand,
    ChargerConnected,
    ChargerInfo,
    ClearAuthorizationCache,
    ClearLimits,
    CommandNotSupportedError,
    CommandResult,
    ConnectorState,
    GetAuthorizationListVersion,
    GetConfiguration,
    PushAuthorizationList,
    Reset,
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
    Reply,
    on,
    short_tag,
)
from .meter import parse_meter_values, register_wh
from .timeutil import iso, utcnow

_LOGGER = logging.getLogger(__name__)

ID_TAG_MAX = 20
STATES: dict[str, ConnectorState] = {
    "Available": ConnectorState.AVAILABLE,
    "Preparing": ConnectorState.PREPARING,
    "Charging": ConnectorState.CHARGING,
    "SuspendedEV": ConnectorState.SUSPENDED_EV,
    "SuspendedEVSE": ConnectorState.SUSPENDED_EVSE,
    "Finishing": ConnectorState.FINISHING,
    "Reserved": ConnectorState.RESERVED,
    "Unavailable": ConnectorState.UNAVAILABLE,
    "Faulted": ConnectorState.FAULTED,
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
        "DiagnosticsStatusNotification",
        "FirmwareStatusNotification",
        "Heartbeat",
        "MeterValues",
        "StatusNotification",
    }
)
ACCEPTED = frozenset({"Accepted"})


def id_tag_info(result: AuthorizationResult) -> Payload:
    """1.6 ``idTagInfo`` for an authorization result."""
    info: Payload = {"status": AUTH_STATUS[result.status]}
    if result.expiry is not None:
        info["expiryDate"] = iso(result.expiry)
    if result.parent_id_tag is not None:
        info["parentIdTag"] = result.parent_id_tag[:ID_TAG_MAX]
    return info


def check_id_tag(id_tag: str) -> None:
    """Raise :class:`ValueError` for an id tag 1.6 cannot carry."""
    if not id_tag or len(id_tag) > ID_TAG_MAX:
        raise ValueError(f"OCPP 1.6 id tags are 1 to {ID_TAG_MAX} characters, got {len(id_tag)}")


class V16Connection(OcppConnection):
    """A charger speaking OCPP 1.6J."""

    version = "1.6"
    protocol = "ocpp1.6"
    errors = ErrorCodes(
        format_violation="FormationViolation",
        bad_frame="FormationViolation",
        bad_message_type="PropertyConstraintViolation",
    )
    known_actions = frozenset(action.value for action in Action)

    # ------------------------------------------------------------------ from the charger

    @on(Action.boot_notification)
    async def on_boot_notification(self, payload: Payload, received: datetime) -> Reply:
        """BootNotification: ask the hub, answer Accepted/Pending/Rejected."""
        info = ChargerInfo(
            vendor=payload.get("chargePointVendor"),
            model=payload.get("chargePointModel"),
            serial=payload.get("chargePointSerialNumber") or payload.get("chargeBoxSerialNumber"),
            firmware=payload.get("firmwareVersion"),
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
        """StatusNotification: connector (0 = station) state."""
        at = self.charger_time(payload.get("timestamp"), received)
        connector_id: int = payload["connectorId"]
        self._check_connector(connector_id, zero=True, what="StatusNotification connectorId")
        self.state.connectors = max(self.state.connectors, connector_id)
        error_code = payload.get("errorCode")
        status = payload.get("status")
        state = STATES.get(status, ConnectorState.UNKNOWN) if isinstance(status, str) else None
        if state is ConnectorState.UNKNOWN:
            self.deviate("unknown_status", f"status {status!r}")
        self.emit(
            StatusChanged(
                charger_id=self.charger_id,
                at=at,
                connector_id=connector_id,
                state=state or ConnectorState.UNKNOWN,
                error_code=None if error_code in (None, "NoError") else error_code,
                info=payload.get("info") or payload.get("vendorErrorCode"),
            )
        )
        return {}

    @on(Action.authorize)
    async def on_authorize(self, payload: Payload, received: datetime) -> Payload:
        """Authorize: the hub decides."""
        id_tag: str = payload["idTag"]
        result = await self.authorize(id_tag, None, received)
        _LOGGER.debug("%s: tag %s is %s", self.charger_id, short_tag(id_tag), result.status)
        self.emit(
            TagPresented(
                charger_id=self.charger_id,
                at=received,
                connector_id=None,
                id_tag=id_tag,
                status=result.status,
            )
        )
        return {"idTagInfo": id_tag_info(result)}

    def _new_transaction_id(self) -> int:
        issued = self.context.issued_ids
        transaction_id = self.context.new_transaction_id()
        while transaction_id in issued or transaction_id <= 0:
            transaction_id = self.context.new_transaction_id()
        issued.add(transaction_id)
        return transaction_id

    @on(Action.start_transaction)
    async def on_start_transaction(self, payload: Payload, received: datetime) -> Payload:
        """StartTransaction: assign a transaction id, ask the hub about the tag.

        Answered once the start is stored (the charger then forgets it).
        """
        at = self.charger_time(payload.get("timestamp"), received)
        connector_id: int = payload["connectorId"]
        id_tag: str = payload["idTag"]
        meter_start = register_wh(payload.get("meterStart"), "meterStart", self.deviate)
        if not self.connector_in_range(
            connector_id, zero=False, what="StartTransaction connectorId"
        ):
            # No CALLERROR: the charger would retry a transaction message and keep charging
            # meanwhile. Invalid with a real (issued) id is what a strict charger handles best:
            # it stops the energy and sends a StopTransaction for that id, which ends nothing.
            return {"transactionId": self._new_transaction_id(), "idTagInfo": {"status": "Invalid"}}
        result = await self.authorize(id_tag, connector_id, at)
        transaction_id = str(self._new_transaction_id())
        self.state.start_transaction(connector_id, transaction_id)
        self.emit(
            TransactionStarted(
                charger_id=self.charger_id,
                at=at,
                connector_id=connector_id,
                transaction_id=transaction_id,
                id_tag=id_tag,
                meter_start_wh=meter_start,
                offline=received - at > self.settings.offline_delta,
            )
        )
        await self.persist()
        return {"transactionId": int(transaction_id), "idTagInfo": id_tag_info(result)}

    @on(Action.stop_transaction)
    def on_stop_transaction(self, payload: Payload, received: datetime) -> Awaitable[Payload]:
        """StopTransaction: its meter values, then the end; answered once that is stored.

        The events are emitted at once (in frame order), the answer waits for
        :meth:`persist`. Ends of transactions this server never issued are answered too (so
        the charger drops them) but marked not retroactive: in 1.6 the central system issues
        the ids, so the engine records no session for them.
        """
        at = self.charger_time(payload.get("timestamp"), received)
        raw_id = payload["transactionId"]
        transaction_id = str(raw_id)
        known = transaction_id in self.state.tx_connectors
        connector_id = self.state.end_transaction(transaction_id)
        if not known and raw_id not in self.context.issued_ids:
            self.deviate(
                "unknown_transaction",
                f"StopTransaction for transaction {transaction_id:.30}, never issued here",
            )
        offline = received - at > self.settings.offline_delta
        if connector_id is not None:
            # without a connector they are not the charger's own (connector 0) readings
            for sample in parse_meter_values(
                payload.get("transactionData") or (),
                v201=False,
                charger_id=self.charger_id,
                connector_id=connector_id,
                transaction_id=transaction_id,
                received=received,
                offline_after=self.settings.offline_delta,
                offline=offline,
                deviate=self.deviate,
                max_ahead=self.settings.clock_tolerance_delta,
            ):
                self.emit(sample)
        id_tag = payload.get("idTag")
        self.emit(
            TransactionEnded(
                charger_id=self.charger_id,
                at=at,
                transaction_id=transaction_id,
                connector_id=connector_id,
                id_tag=id_tag,
                meter_stop_wh=register_wh(payload.get("meterStop"), "meterStop", self.deviate),
                reason=payload.get("reason"),
                offline=offline,
                retroactive=False,
            )
        )
        return self.persisted({} if id_tag is None else {"idTagInfo": {"status": "Accepted"}})

    @on(Action.meter_values)
    def on_meter_values(self, payload: Payload, received: datetime) -> Payload:
        """MeterValues: one sample per timestamp (0 = the charger's own meter)."""
        connector_id: int = payload["connectorId"]
        self._check_connector(connector_id, zero=True, what="MeterValues connectorId")
        raw_tx = payload.get("transactionId")
        transaction_id = str(raw_tx) if raw_tx is not None else None
        if transaction_id is None and connector_id > 0:
            transaction_id = self.state.transactions.get(connector_id)
        for sample in parse_meter_values(
            payload["meterValue"],
            v201=False,
            charger_id=self.charger_id,
            connector_id=connector_id,
            transaction_id=transaction_id,
            received=received,
            offline_after=self.settings.offline_delta,
            offline=False,
            deviate=self.deviate,
            max_ahead=self.settings.clock_tolerance_delta,
        ):
            self.emit(sample)
        return {}

    def _check_connector(self, connector_id: int, *, zero: bool, what: str) -> None:
        """Raise :class:`CallRejectedError` (PropertyConstraintViolation) when out of range."""
        if not self.connector_in_range(connector_id, zero=zero, what=what):
            raise CallRejectedError(
                "PropertyConstraintViolation", f"{what} {connector_id!r:.30} out of range"
            )

    @on(Action.diagnostics_status_notification)
    def on_diagnostics_status_notification(self, payload: Payload, received: datetime) -> Payload:
        """DiagnosticsStatusNotification: kept for diagnostics."""
        self.state.notifications["DiagnosticsStatusNotification"] = payload.get("status")
        return {}

    # ------------------------------------------------------------------ after boot

    async def configure(self) -> None:
        """Read the configuration, then set the sample interval and the measurands."""
        state = self.state
        try:
            answer = await self.call("GetConfiguration", {})
        except OcppCallError as error:
            state.configured["GetConfiguration"] = error.code
        else:
            for entry in answer.get("configurationKey") or ():
                if isinstance(entry, dict) and isinstance(entry.get("key"), str):
                    state.configuration[entry["key"]] = entry.get("value")
            self._learn_connectors()
        interval = self.settings.meter_interval
        if interval is not None:
            result = await self._change("MeterValueSampleInterval", str(interval))
            state.configured["MeterValueSampleInterval"] = {
                "value": interval,
                "status": result,
            }
        if self.settings.measurands:
            for measurands in (self.settings.measurands, self.settings.fallback_measurands):
                value = ",".join(measurands)
                result = await self._change("MeterValuesSampledData", value)
                state.configured["MeterValuesSampledData"] = {"value": value, "status": result}
                if result in {"Accepted", "RebootRequired"}:
                    break

    async def _change(self, key: str, value: str) -> str:
        try:
            answer = await self.call("ChangeConfiguration", {"key": key, "value": value})
        except OcppCallError as error:
            return error.code
        if answer.get("status") in {"Accepted", "RebootRequired"}:
            self.state.configuration[key] = value
        return str(answer.get("status"))

    def _learn_connectors(self) -> None:
        raw = self.state.configuration.get("NumberOfConnectors")
        try:
            count = int(raw) if raw is not None else 0
        except (ValueError, TypeError):  # not a number (or more than 4300 digits)
            return
        if count > 0 and not self.state.report_connectors(count):
            self.deviate("implausible_value:NumberOfConnectors", f"{raw!r:.30} not believed")
            return
        info = self.state.info
        if count > 0:
            self.state.connectors = count
            if info is not None and info.connectors != count:
                info = ChargerInfo(
                    vendor=info.vendor,
                    model=info.model,
                    serial=info.serial,
                    firmware=info.firmware,
                    protocol=info.protocol,
                    connectors=count,
                )
                self.state.info = info
                self.emit(ChargerConnected(charger_id=self.charger_id, at=utcnow(), info=info))

    # ------------------------------------------------------------------ commands

    async def execute(self, command: ChargerCommand) -> CommandResult:
        """Carry out a normalized command with the matching 1.6 CALL."""
        match command:
            case StartCharging():
                check_id_tag(command.id_tag)
                _LOGGER.info(
                    "%s: remote start on %s for %s",
                    self.charger_id,
                    command.connector_id,
                    short_tag(command.id_tag),
                )
                payload: Payload = {"idTag": command.id_tag}
                if command.connector_id > 0:
                    payload["connectorId"] = command.connector_id
                return await self.command("RemoteStartTransaction", payload, ok=ACCEPTED)
            case StopCharging():
                return await self._stop(command)
            case SetCurrentLimit():
                return await self._set_limit(command)
            case SetChargingSchedule():
                return await self._set_schedule(command)
            case ClearLimits():
                return await self._clear_limits(command.connector_id)
            case UnlockConnector():
                return await self.command(
                    "UnlockConnector", {"connectorId": command.connector_id}, ok=_UNLOCKED
                )
            case SetAvailability():
                return await self.command(
                    "ChangeAvailability",
                    {
                        "connectorId": command.connector_id,
                        "type": "Operative" if command.available else "Inoperative",
                    },
                    ok=_SCHEDULED,
                )
            case Reset():
                return await self.command(
                    "Reset", {"type": "Hard" if command.hard else "Soft"}, ok=ACCEPTED
                )
            case TriggerMessage():
                return await self._trigger(command)
            case ChangeConfiguration():
                result = await self.command(
                    "ChangeConfiguration",
                    {"key": command.key, "value": command.value},
                    ok=frozenset({"Accepted", "RebootRequired"}),
                )
                if result.accepted:
                    self.state.configuration[command.key] = command.value
                return result
            case GetConfiguration():
                return await self._get_configuration(command)
            case PushAuthorizationList():
                return await self._send_local_list(command)
            case GetAuthorizationListVersion():
                answer = await self._call_or_unsupported("GetLocalListVersion", {})
                version = answer.get("listVersion")
                return CommandResult(
                    accepted=isinstance(version, int) and version >= 0,
                    status="Accepted"
                    if isinstance(version, int) and version >= 0
                    else "NotSupported",
                    data={"version": version},
                )
            case ClearAuthorizationCache():
                return await self.command("ClearCache", {}, ok=ACCEPTED)
            case SetChargerPassword():
                return await self._set_password(command)
        raise CommandNotSupportedError(f"OCPP 1.6 cannot {type(command).__name__}")

    async def _set_password(self, command: SetChargerPassword) -> CommandResult:
        """``AuthorizationKey`` (the hex digits of the password), then ``SecurityProfile``.

        The security whitepaper wants the key set first; profile 1 (Basic auth) or 2 (over TLS).
        A charger without a ``SecurityProfile`` key (NotSupported) that took the key is taken to
        use it. The password never lands in the configuration kept for diagnostics.
        """
        size = len(command.password.encode())
        if not PASSWORD_BYTES[0] <= size <= PASSWORD_BYTES[1]:
            raise ValueError(f"OCPP 1.6 passwords are 16 to 20 bytes, got {size}")
        key = await self._change_quietly("AuthorizationKey", command.password.encode().hex())
        statuses = {"AuthorizationKey": key}
        if key in _CONFIG_OK:
            profile = "2" if command.tls else "1"
            statuses["SecurityProfile"] = await self._change(_PROFILE_KEY, profile)
        accepted = key in _CONFIG_OK and statuses["SecurityProfile"] in _PROFILE_OK
        if accepted:
            self.authenticated_with = command.password  # this connection got it from us
        if accepted:
            status = "Accepted"
        else:
            status = key if key not in _CONFIG_OK else statuses[_PROFILE_KEY]
        return CommandResult(accepted=accepted, status=status, data=dict(statuses))

    async def _change_quietly(self, key: str, value: str) -> str:
        """ChangeConfiguration whose value is a secret: not remembered, never logged."""
        try:
            answer = await self.call("ChangeConfiguration", {"key": key, "value": value})
        except OcppCallError as error:
            return error.code
        return str(answer.get("status"))

    async def _call_or_unsupported(self, action: str, payload: Payload) -> Payload:
        try:
            return await self.call(action, payload)
        except OcppCallError as error:
            if error.code in {"NotImplemented", "NotSupported"}:
                raise CommandNotSupportedError(f"{self.charger_id}: {action}") from error
            raise

    async def _stop(self, command: StopCharging) -> CommandResult:
        transaction_id = command.transaction_id or self.state.transactions.get(command.connector_id)
        if transaction_id is None:
            return CommandResult(accepted=False, status="NoTransaction")
        try:
            number = int(transaction_id)
        except ValueError as error:
            raise ValueError(
                f"OCPP 1.6 transaction ids are integers: {transaction_id!r}"
            ) from error
        return await self.command("RemoteStopTransaction", {"transactionId": number}, ok=ACCEPTED)

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
            "chargingProfileId": profile_id,
            "stackLevel": 0,
            "chargingProfilePurpose": purpose,
            "chargingProfileKind": "Absolute",
            "chargingSchedule": {
                "startSchedule": iso(start),
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [
                    {"startPeriod": offset, "limit": round(limit, 1)} for offset, limit in periods
                ],
            },
        }
        if transaction_id is not None:
            profile["transactionId"] = int(transaction_id)
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
            "SetChargingProfile",
            {"connectorId": connector_id, "csChargingProfiles": profile},
            ok=ACCEPTED,
        )
        if result.accepted:
            # a schedule (TxProfile) of ours would win over the new default limit: drop it
            await self._clear_tx_profiles(connector_id)
        return result

    async def _clear_tx_profiles(self, connector_id: int) -> None:
        connectors = list(self.state.transactions) if connector_id == 0 else [connector_id]
        for connector in connectors:
            if connector in self.state.transactions:
                try:
                    await self.call("ClearChargingProfile", {"id": ProfileIds.schedule(connector)})
                except OcppCallError as error:
                    _LOGGER.debug("%s: clearing TxProfile failed: %s", self.charger_id, error)

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
            "SetChargingProfile",
            {"connectorId": connector_id, "csChargingProfiles": profile},
            ok=ACCEPTED,
        )

    async def _clear_limits(self, connector_id: int) -> CommandResult:
        statuses: list[str] = []
        for purpose in ("TxDefaultProfile", "TxProfile"):
            payload: Payload = {"chargingProfilePurpose": purpose}
            if connector_id > 0:
                payload["connectorId"] = connector_id
            result = await self.command("ClearChargingProfile", payload, ok=ACCEPTED)
            statuses.append(result.status)
        accepted = "Accepted" in statuses
        return CommandResult(
            accepted=accepted or all(status == "Unknown" for status in statuses),
            status="Accepted" if accepted else statuses[0],
            data={"statuses": statuses},
        )

    async def _trigger(self, command: TriggerMessage) -> CommandResult:
        if command.message not in TRIGGERS:
            raise CommandNotSupportedError(f"OCPP 1.6 cannot trigger {command.message!r}")
        payload: Payload = {"requestedMessage": command.message}
        if command.connector_id is not None:
            payload["connectorId"] = command.connector_id
        return await self.command("TriggerMessage", payload, ok=ACCEPTED)

    async def _get_configuration(self, command: GetConfiguration) -> CommandResult:
        payload: Payload = {"key": list(command.keys)} if command.keys else {}
        answer = await self._call_or_unsupported("GetConfiguration", payload)
        values: dict[str, Any] = {}
        readonly: list[str] = []
        for entry in answer.get("configurationKey") or ():
            if isinstance(entry, dict) and isinstance(entry.get("key"), str):
                values[entry["key"]] = entry.get("value")
                if entry.get("readonly"):
                    readonly.append(entry["key"])
        self.state.configuration.update(values)
        return CommandResult(
            accepted=True,
            status="Accepted",
            data={
                "configuration": values,
                "readonly": readonly,
                "unknown": list(answer.get("unknownKey") or ()),
            },
        )

    async def _send_local_list(self, command: PushAuthorizationList) -> CommandResult:
        entries: list[Payload] = []
        for entry in command.entries:
            check_id_tag(entry.id_tag)
            item: Payload = {"idTag": entry.id_tag}
            if entry.status is not None:
                item["idTagInfo"] = _entry_info(entry)
            elif command.full:
                raise ValueError("a full local list cannot remove tags (status None)")
            entries.append(item)
        return await self.command(
            "SendLocalList",
            {
                "listVersion": command.version,
                "updateType": "Full" if command.full else "Differential",
                "localAuthorizationList": entries,
            },
            ok=ACCEPTED,
        )


_UNLOCKED = frozenset({"Unlocked"})
_CONFIG_OK = frozenset({"Accepted", "RebootRequired"})
_PROFILE_KEY = "SecurityProfile"
_PROFILE_OK = frozenset({"Accepted", "RebootRequired", "NotSupported"})
#: The security whitepaper's AuthorizationKey: 16 to 20 bytes (sent as 32 to 40 hex digits).
PASSWORD_BYTES = (16, 20)
_SCHEDULED = frozenset({"Accepted", "Scheduled"})


def _entry_info(entry: AuthorizationListEntry) -> Payload:
    assert entry.status is not None
    return id_tag_info(
        AuthorizationResult(
            status=entry.status, expiry=entry.expiry, parent_id_tag=entry.parent_id_tag
        )
    )
