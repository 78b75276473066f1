"""OCPP 1.6J: translate charger CALLs into events, and the command flows' requests into 1.6
payloads (the flows themselves are in :mod:`.commands`)."""

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
    ChargerConnected,
    ChargerInfo,
    CommandResult,
    ConnectorState,
    GetConfiguration,
    InvalidCommandError,
    StatusChanged,
    TransactionEnded,
    TransactionStarted,
)

from .charging_profiles import ProfileSpec
from .commands import CONFIG_OK, CommandConnection, ConfigKeys, ConfigStep, Request
from .connection import MAX_ISSUED_IDS, ErrorCodes, OcppCallError, Payload, on
from .meter import register_wh
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
#: SecurityProfile: "NotSupported" is a charger without the key that took the AuthorizationKey.
_PROFILE_OK = frozenset({"Accepted", "RebootRequired", "NotSupported"})
#: The security whitepaper's AuthorizationKey: 16 to 20 bytes (sent as 32 to 40 hex digits).
PASSWORD_BYTES = (16, 20)


def id_tag_info(result: AuthorizationResult) -> Payload:
    """1.6 ``idTagInfo`` for an authorization result."""
    info: Payload = {"status": AUTH_STATUS[result.status]}
    if result.expiry is not None:
        info["expiryDate"] = iso(result.expiry)
    if result.parent_id_tag is not None:
        info["parentIdTag"] = result.parent_id_tag[:ID_TAG_MAX]
    return info


class V16Connection(CommandConnection):
    """A charger speaking OCPP 1.6J."""

    version = "1.6"
    protocol = "ocpp1.6"
    errors = ErrorCodes(
        format_violation="FormationViolation",
        bad_frame="FormationViolation",
        bad_message_type="PropertyConstraintViolation",
    )
    known_actions = frozenset(action.value for action in Action)
    provisioning_actions = frozenset({"GetConfiguration", "ChangeConfiguration"})
    tag_max = ID_TAG_MAX
    max_purpose = "ChargePointMaxProfile"
    triggers = TRIGGERS
    config_keys = ConfigKeys(
        interval="MeterValueSampleInterval", measurands="MeterValuesSampledData"
    )
    list_version_key = "listVersion"

    # ------------------------------------------------------------------ from the charger

    def boot_info(self, payload: Payload) -> ChargerInfo:
        """BootNotification: vendor, model, serial (charge point's, else charge box's)."""
        return ChargerInfo(
            vendor=payload.get("chargePointVendor"),
            model=payload.get("chargePointModel"),
            serial=payload.get("chargePointSerialNumber") or payload.get("chargeBoxSerialNumber"),
            firmware=payload.get("firmwareVersion"),
            protocol=self.protocol,
            connectors=self.state.connectors,
        )

    def authorize_token(self, payload: Payload) -> str:
        """Authorize: the idTag."""
        id_tag: str = payload["idTag"]
        return id_tag

    def authorize_reply(self, result: AuthorizationResult) -> Payload:
        """Authorize: the idTagInfo."""
        return {"idTagInfo": id_tag_info(result)}

    @on(Action.status_notification)
    def on_status_notification(self, payload: Payload, received: datetime) -> Payload:
        """StatusNotification: connector (0 = station) state."""
        at = self.charger_time(payload.get("timestamp"), received)
        connector_id: int = payload["connectorId"]
        self.check_connector(connector_id, zero=True, what="StatusNotification connectorId")
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

    def _new_transaction_id(self) -> int:
        issued = self.context.issued_ids
        transaction_id = self.context.new_transaction_id()
        while transaction_id in issued or transaction_id <= 0:
            transaction_id = self.context.new_transaction_id()
        issued[transaction_id] = None
        while len(issued) > MAX_ISSUED_IDS:  # the oldest go first
            del issued[next(iter(issued))]
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
            for sample in self.meter_samples(
                payload.get("transactionData") or (),
                connector_id=connector_id,
                transaction_id=transaction_id,
                received=received,
                offline=offline,
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
        self.check_connector(connector_id, zero=True, what="MeterValues connectorId")
        raw_tx = payload.get("transactionId")
        transaction_id = str(raw_tx) if raw_tx is not None else None
        if transaction_id is None and connector_id > 0:
            transaction_id = self.state.transactions.get(connector_id)
        for sample in self.meter_samples(
            payload["meterValue"],
            connector_id=connector_id,
            transaction_id=transaction_id,
            received=received,
        ):
            self.emit(sample)
        return {}

    @on(Action.diagnostics_status_notification)
    def on_diagnostics_status_notification(self, payload: Payload, received: datetime) -> Payload:
        """DiagnosticsStatusNotification: kept for diagnostics."""
        self.state.notifications["DiagnosticsStatusNotification"] = payload.get("status")
        return {}

    # ------------------------------------------------------------------ after boot

    async def read_configuration(self) -> None:
        """GetConfiguration: every key, and the number of connectors."""
        try:
            answer = await self.call("GetConfiguration", {})
        except OcppCallError as error:
            self.state.configured["GetConfiguration"] = error.code
            return
        self._remember_configuration(answer)
        self._learn_connectors()

    def _remember_configuration(self, answer: Payload) -> tuple[dict[str, Any], list[str]]:
        values: dict[str, Any] = {}
        readonly: list[str] = []
        for entry in answer.get("configurationKey") or ():
            if isinstance(entry, dict) and isinstance(entry.get("key"), str):
                values[entry["key"]] = entry.get("value")
                if entry.get("readonly"):
                    readonly.append(entry["key"])
        self.state.configuration.update(values)
        return values, readonly

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

    async def get_configuration(self, command: GetConfiguration) -> CommandResult:
        """GetConfiguration of the keys (all when none)."""
        payload: Payload = {"key": list(command.keys)} if command.keys else {}
        answer = await self.call_or_unsupported(("GetConfiguration", payload))
        values, readonly = self._remember_configuration(answer)
        return CommandResult(
            accepted=True,
            status="Accepted",
            data={
                "configuration": values,
                "readonly": readonly,
                "unknown": list(answer.get("unknownKey") or ()),
            },
        )

    # ------------------------------------------------------------------ command payloads

    def start_request(self, connector_id: int, id_tag: str) -> Request:
        """RemoteStartTransaction."""
        payload: Payload = {"idTag": id_tag}
        if connector_id > 0:
            payload["connectorId"] = connector_id
        return "RemoteStartTransaction", payload

    def stop_request(self, transaction_id: str) -> Request:
        """RemoteStopTransaction (1.6 transaction ids are integers)."""
        try:
            number = int(transaction_id)
        except ValueError as error:
            raise InvalidCommandError(
                f"OCPP 1.6 transaction ids are integers: {transaction_id!r}"
            ) from error
        return "RemoteStopTransaction", {"transactionId": number}

    def profile_request(self, scope: int, profile: ProfileSpec) -> Request:
        """SetChargingProfile with csChargingProfiles."""
        payload: Payload = {
            "chargingProfileId": profile.profile_id,
            "stackLevel": profile.stack_level,
            "chargingProfilePurpose": profile.purpose,
            "chargingProfileKind": "Absolute",
            "chargingSchedule": {
                "startSchedule": iso(profile.start),
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [
                    {"startPeriod": offset, "limit": round(limit, 1)}
                    for offset, limit in profile.periods
                ],
            },
        }
        if profile.transaction_id is not None:
            payload["transactionId"] = int(profile.transaction_id)
        return "SetChargingProfile", {"connectorId": scope, "csChargingProfiles": payload}

    def clear_profile_request(self, profile_id: int) -> Request:
        """ClearChargingProfile by id."""
        return "ClearChargingProfile", {"id": profile_id}

    def composite_request(self, scope: int, seconds: int) -> Request:
        """GetCompositeSchedule of a connector (0: the charge point)."""
        return "GetCompositeSchedule", {
            "connectorId": scope,
            "duration": seconds,
            "chargingRateUnit": "A",
        }

    def composite_schedule(self, answer: Payload) -> object:
        """GetCompositeSchedule answer: chargingSchedule."""
        return answer.get("chargingSchedule")

    def unlock_request(self, connector_id: int) -> Request:
        """UnlockConnector."""
        return "UnlockConnector", {"connectorId": connector_id}

    def availability_request(self, connector_id: int, available: bool) -> Request:
        """ChangeAvailability."""
        kind = "Operative" if available else "Inoperative"
        return "ChangeAvailability", {"connectorId": connector_id, "type": kind}

    def reset_request(self, hard: bool) -> Request:
        """Reset Hard / Soft."""
        return "Reset", {"type": "Hard" if hard else "Soft"}

    def trigger_request(self, message: str, connector_id: int | None) -> Request:
        """TriggerMessage."""
        payload: Payload = {"requestedMessage": message}
        if connector_id is not None:
            payload["connectorId"] = connector_id
        return "TriggerMessage", payload

    def set_config_request(self, key: str, value: str) -> Request:
        """ChangeConfiguration."""
        return "ChangeConfiguration", {"key": key, "value": value}

    def set_config_status(self, answer: Payload) -> str:
        """ChangeConfiguration answer: status."""
        return str(answer.get("status"))

    def local_list_request(self, version: int, full: bool) -> Request:
        """SendLocalList (listVersion, updateType)."""
        return "SendLocalList", {
            "listVersion": version,
            "updateType": "Full" if full else "Differential",
        }

    def list_entry(self, entry: AuthorizationListEntry) -> Payload:
        """idTag, with idTagInfo unless it is removed."""
        item: Payload = {"idTag": entry.id_tag}
        if entry.status is not None:
            item["idTagInfo"] = id_tag_info(
                AuthorizationResult(
                    status=entry.status, expiry=entry.expiry, parent_id_tag=entry.parent_id_tag
                )
            )
        return item

    def password_steps(self, password: str, tls: bool) -> list[ConfigStep]:
        """``AuthorizationKey`` (the hex digits of the password), then ``SecurityProfile``.

        The security whitepaper wants the key set first; profile 1 (Basic auth) or 2 (over TLS).
        A charger without a ``SecurityProfile`` key (NotSupported) that took the key is taken to
        use it.
        """
        size = len(password.encode())
        if not PASSWORD_BYTES[0] <= size <= PASSWORD_BYTES[1]:
            raise InvalidCommandError(f"OCPP 1.6 passwords are 16 to 20 bytes, got {size}")
        return [
            ConfigStep("AuthorizationKey", password.encode().hex(), CONFIG_OK, secret=True),
            ConfigStep("SecurityProfile", "2" if tls else "1", _PROFILE_OK),
        ]
