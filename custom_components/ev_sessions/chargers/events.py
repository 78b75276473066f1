"""Normalized charger events and commands: the only language between adapters and the core.

Protocol adapters (OCPP, Modbus) turn protocol traffic into these events and accept these
commands. They hold no session, cost or authorization logic: decisions come from a
:class:`ChargerHandler` supplied by the owner of the adapter.

All times are timezone-aware UTC. Energy is integer Wh, power W, current A, voltage V.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
import math
from typing import Protocol


class ConnectorState(StrEnum):
    """Normalized connector state (OCPP 1.6 statuses, mapped from 2.0.1 and IEC 61851)."""

    AVAILABLE = "available"  # no vehicle (IEC A)
    PREPARING = "preparing"  # vehicle connected, not charging yet (IEC B)
    CHARGING = "charging"  # energy flowing (IEC C/D)
    SUSPENDED_EV = "suspended_ev"  # the vehicle paused or is full (IEC B after C)
    SUSPENDED_EVSE = "suspended_evse"  # the charger paused (limit 0, schedule)
    FINISHING = "finishing"  # transaction stopped, vehicle still plugged in
    RESERVED = "reserved"
    UNAVAILABLE = "unavailable"
    FAULTED = "faulted"  # IEC E/F or an error code
    UNKNOWN = "unknown"


#: States in which a vehicle is plugged in.
VEHICLE_CONNECTED_STATES = frozenset(
    {
        ConnectorState.PREPARING,
        ConnectorState.CHARGING,
        ConnectorState.SUSPENDED_EV,
        ConnectorState.SUSPENDED_EVSE,
        ConnectorState.FINISHING,
    }
)


class SampleContext(StrEnum):
    """Why a meter sample was taken."""

    PERIODIC = "periodic"
    CLOCK = "clock"
    TRANSACTION_BEGIN = "transaction_begin"
    TRANSACTION_END = "transaction_end"
    TRIGGER = "trigger"
    OTHER = "other"


class AuthorizationStatus(StrEnum):
    """Result of an authorization decision (OCPP 1.6 names)."""

    ACCEPTED = "accepted"
    INVALID = "invalid"
    BLOCKED = "blocked"
    EXPIRED = "expired"
    CONCURRENT_TX = "concurrent_tx"


class BootDecision(StrEnum):
    """How the hub answers a charger that announces itself."""

    ACCEPTED = "accepted"
    PENDING = "pending"  # unknown charger waiting for the user to accept it
    REJECTED = "rejected"


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargerInfo:
    """Identity a charger reports about itself."""

    vendor: str | None = None
    model: str | None = None
    serial: str | None = None
    firmware: str | None = None
    protocol: str  # "ocpp1.6", "ocpp2.0.1", "modbus"
    connectors: int = 1


# --------------------------------------------------------------------------- plausible values

#: The largest and smallest values a measurement may have to be used at all. Adapters drop
#: anything outside (and NaN or infinity) with a protocol deviation; the engine refuses it too.
#: Generous on purpose: they exist to keep garbage (1e30, 2^63, negative registers) out of the
#: record, not to judge a plausible charger.
MAX_ENERGY_REGISTER_WH = 10**12  # 1 TWh: no charger meter reaches it
MAX_ABS_POWER_W = 10_000_000.0  # 10 MW, either direction
MAX_ABS_CURRENT_A = 5_000.0
MAX_VOLTAGE_V = 2_000.0
#: The highest connector (EVSE) id accepted when the charger has not said how many it has.
DEFAULT_MAX_CONNECTORS = 8


def plausible(value: float, low: float, high: float) -> bool:
    """``value`` is a finite number within ``[low, high]``."""
    return math.isfinite(value) and low <= value <= high


# --------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargerEvent:
    """Base of every event. ``connector_id`` 0 means the charger itself."""

    charger_id: str
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargerConnected(ChargerEvent):
    """A charger connected (OCPP websocket opened and booted, Modbus device answered)."""

    info: ChargerInfo


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargerDisconnected(ChargerEvent):
    """The charger is gone (socket closed, Modbus device unreachable)."""

    reason: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class StatusChanged(ChargerEvent):
    """A connector (or the station, connector 0) changed state."""

    connector_id: int
    state: ConnectorState
    error_code: str | None = None
    info: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class MeterSample(ChargerEvent):
    """Measurements at one instant. Absent values are ``None``.

    ``energy_register_wh`` is a lifetime (or at least transaction-spanning) register.
    ``session_energy_wh`` is a per-session register where the charger only has that.
    Per-phase tuples are (L1, L2, L3) with ``None`` for phases not reported.
    """

    connector_id: int
    transaction_id: str | None = None
    context: SampleContext = SampleContext.PERIODIC
    energy_register_wh: int | None = None
    session_energy_wh: int | None = None
    power_w: float | None = None
    current_a: tuple[float | None, float | None, float | None] | None = None
    voltage_v: tuple[float | None, float | None, float | None] | None = None
    soc_pct: float | None = None
    offline: bool = False  # replayed from the charger's queue


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionStarted(ChargerEvent):
    """The charger started a transaction (it may have been queued while offline)."""

    connector_id: int
    transaction_id: str
    id_tag: str | None = None
    meter_start_wh: int | None = None
    offline: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class TransactionEnded(ChargerEvent):
    """The charger ended a transaction. ``connector_id`` is ``None`` when it did not say."""

    transaction_id: str
    connector_id: int | None = None
    id_tag: str | None = None
    meter_stop_wh: int | None = None
    reason: str | None = None
    offline: bool = False
    #: Whether a session may be recorded after the fact when none is known for this
    #: transaction. OCPP 2.0.1 chargers start transactions themselves (legitimate); in 1.6 the
    #: central system issues the ids, so an end for an id it never issued creates nothing.
    retroactive: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class TagPresented(ChargerEvent):
    """An id tag was presented (reported after the authorization decision was made)."""

    connector_id: int | None
    id_tag: str
    status: AuthorizationStatus


@dataclass(frozen=True, slots=True, kw_only=True)
class ProtocolDeviation(ChargerEvent):
    """The charger broke the protocol in a way we tolerated (reported once per kind)."""

    kind: str
    detail: str


# --------------------------------------------------------------------------- decisions


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthorizationRequest:
    """A charger asks whether ``id_tag`` may charge."""

    charger_id: str
    id_tag: str
    connector_id: int | None = None
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthorizationResult:
    """The hub's answer to an :class:`AuthorizationRequest`."""

    status: AuthorizationStatus
    expiry: datetime | None = None
    parent_id_tag: str | None = None


class ChargerHandler(Protocol):
    """What an adapter needs from its owner (the HA glue wires the core in here)."""

    def handle_event(self, event: ChargerEvent) -> None:
        """Receive one normalized event. Must not block."""

    async def authorize(self, request: AuthorizationRequest) -> AuthorizationResult:
        """Decide whether a tag may charge."""

    async def boot_decision(self, charger_id: str, info: ChargerInfo) -> BootDecision:
        """Decide whether a charger is accepted."""

    async def persist(self, charger_id: str) -> None:
        """Return once what the events handed over so far changed is durably stored.

        Adapters await it before they answer a transaction start or end, so a charger never
        deletes a record from its queue that the hub could still lose. It returns (after
        logging) when storage is failing too: the change stays in memory and is retried, and
        an unanswered charger would only send it again.
        """


# --------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargerCommand:
    """Base of every command sent to a charger."""


@dataclass(frozen=True, slots=True, kw_only=True)
class StartCharging(ChargerCommand):
    """Remote start. ``id_tag`` is at most 20 characters (OCPP 1.6 idTag)."""

    connector_id: int = 1
    id_tag: str


@dataclass(frozen=True, slots=True, kw_only=True)
class StopCharging(ChargerCommand):
    """Remote stop of the transaction on a connector (or of a given transaction id)."""

    connector_id: int = 1
    transaction_id: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SetCurrentLimit(ChargerCommand):
    """A standing limit in A (0 suspends charging); connector 0 = whole charger.

    A new limit replaces the previous one of the same scope (see :func:`limit_scope`).
    ``charger_max``: the charger's overall maximum instead (OCPP ChargePointMaxProfile /
    ChargingStationMaxProfile on the whole charger), which caps whatever schedule or limit a
    connector has without replacing it; Modbus chargers have one setpoint either way.
    """

    connector_id: int = 0
    limit_a: float
    charger_max: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class GetCurrentLimit(ChargerCommand):
    """Read back the limit in force: ``data["limit_a"]`` (A, None when unknown)."""

    connector_id: int = 0


def limit_scope(connector_id: int | None, connectors: int) -> int:
    """The connector a current limit applies to, so that a charger has one limit per scope.

    On a charger with one connector, 0 (the whole charger) and 1 are the same scope: connector 1.
    On a charger with several, 0 is the whole charger (also when none is named) and ``n`` is
    connector ``n``.
    """
    if connector_id is None:
        return 1 if connectors <= 1 else 0
    if connectors <= 1 and connector_id == 0:
        return 1
    return connector_id


@dataclass(frozen=True, slots=True, kw_only=True)
class SchedulePeriod:
    """One period of a charging schedule: from ``start`` the limit is ``limit_a``."""

    start: datetime
    limit_a: float


@dataclass(frozen=True, slots=True, kw_only=True)
class SetChargingSchedule(ChargerCommand):
    """A schedule of limits for the (next) transaction on a connector."""

    connector_id: int = 1
    periods: Sequence[SchedulePeriod]


@dataclass(frozen=True, slots=True, kw_only=True)
class ClearLimits(ChargerCommand):
    """Remove limits and schedules set by the hub (``charger_max``: only its overall maximum)."""

    connector_id: int = 0
    charger_max: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class UnlockConnector(ChargerCommand):
    """Release the cable."""

    connector_id: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class SetAvailability(ChargerCommand):
    """Make a connector (0 = whole charger) operative or inoperative."""

    connector_id: int = 0
    available: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class Reset(ChargerCommand):
    """Reboot the charger."""

    hard: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class TriggerMessage(ChargerCommand):
    """Ask the charger to send a message now (e.g. "MeterValues", "StatusNotification")."""

    message: str
    connector_id: int | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChangeConfiguration(ChargerCommand):
    """Set one configuration key (1.6) or variable (2.0.1, ``Component.Variable``)."""

    key: str
    value: str


@dataclass(frozen=True, slots=True, kw_only=True)
class GetConfiguration(ChargerCommand):
    """Read configuration keys; empty means all."""

    keys: Sequence[str] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthorizationListEntry:
    """One entry of a charger's local authorization list."""

    id_tag: str
    status: AuthorizationStatus | None  # None removes the tag (differential update)
    expiry: datetime | None = None
    parent_id_tag: str | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class PushAuthorizationList(ChargerCommand):
    """Send the local authorization list (full or differential) at ``version``."""

    version: int
    entries: Sequence[AuthorizationListEntry]
    full: bool = True


@dataclass(frozen=True, slots=True, kw_only=True)
class GetAuthorizationListVersion(ChargerCommand):
    """Ask which local list version the charger holds."""


@dataclass(frozen=True, slots=True, kw_only=True)
class SetChargerPassword(ChargerCommand):
    """Give the charger the HTTP Basic password it must use from its next connection.

    OCPP 1.6: ``AuthorizationKey`` (then ``SecurityProfile`` 1, or 2 over TLS); 2.0.1:
    ``SecurityCtrlr.BasicAuthPassword``. Accepted means the charger stored it.
    """

    password: str
    tls: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class ClearAuthorizationCache(ChargerCommand):
    """Forget tags the charger cached from earlier authorizations."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CommandResult:
    """The charger's answer. ``status`` is the protocol's own word (e.g. "Accepted")."""

    accepted: bool
    status: str
    data: dict[str, object] = field(default_factory=dict)


class ChargerError(Exception):
    """Base of adapter errors."""


class ChargerNotConnectedError(ChargerError):
    """The charger is not connected."""


class ChargerTimeoutError(ChargerError):
    """The charger did not answer in time."""


class CommandNotSupportedError(ChargerError):
    """The charger (or its protocol/profile) cannot do this."""


class InvalidCommandError(ChargerError, ValueError):
    """The command cannot be carried by the protocol (nothing was sent).

    E.g. an id tag longer than OCPP 1.6 allows, or a negative limit. A :class:`ValueError`
    too: the command's arguments are what is wrong, not the charger.
    """
