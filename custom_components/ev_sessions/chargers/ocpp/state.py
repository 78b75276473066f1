"""Settings and per-charger state that outlive a single websocket connection."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
import itertools
import ssl
import time
from typing import Any

from custom_components.ev_sessions.chargers.events import DEFAULT_MAX_CONNECTORS, ChargerInfo

#: Measurands asked for after boot, and the fallback when the charger rejects the full list.
DEFAULT_MEASURANDS = (
    "Energy.Active.Import.Register",
    "Power.Active.Import",
    "Current.Import",
    "Voltage",
    "SoC",
)
FALLBACK_MEASURANDS = ("Energy.Active.Import.Register", "Power.Active.Import", "Current.Import")
#: A charger reporting more connectors (EVSEs) than this is not believed: the default bound
#: applies instead (every connector id in range may become a set of entities).
MAX_REPORTED_CONNECTORS = 64


@dataclass(frozen=True, slots=True, kw_only=True)
class OcppServerSettings:
    """Where the OCPP server listens and how it talks to chargers (times in seconds)."""

    #: Address to bind ("0.0.0.0": every IPv4 interface; chargers are on the LAN).
    host: str = "0.0.0.0"  # noqa: S104
    #: TCP port; 0 picks a free one (read it back from ``OcppServer.port``).
    port: int = 9000
    #: Serve ``wss://`` with this context (security profile 2).
    ssl_context: ssl.SSLContext | None = None
    #: Refuse (HTTP 404) websockets from charger ids the hub does not know.
    reject_unknown: bool = False
    #: A connection that has not completed its HTTP upgrade within this time is closed.
    handshake_timeout: float = 30.0
    #: A websocket that has sent no frame at all within this time is closed.
    first_frame_timeout: float = 30.0
    #: The largest frame a charger may send (bytes); a larger one closes the connection
    #: (websocket close 1009). Real OCPP frames, offline meter batches included, stay far below.
    max_frame_bytes: int = 1024 * 1024
    #: A second connection for a connected id waits this long for the first one to answer a
    #: websocket ping; a first connection that answers keeps its place (the newcomer is refused
    #: unless it authenticated with the charger's password).
    duplicate_probe_timeout: float = 3.0
    #: Failed password checks (per charger id, and per remote address) before backing off.
    auth_failures_allowed: int = 5
    #: The first back-off after too many failures; it doubles per further failure.
    auth_backoff: float = 1.0
    auth_backoff_max: float = 300.0
    #: At most this many charger ids may wait unaccepted (Pending) at once; the oldest goes.
    max_pending: int = 100
    heartbeat_interval: int = 300
    #: Retry interval given to chargers whose boot is Pending or Rejected.
    pending_interval: int = 15
    #: MeterValueSampleInterval (1.6) / TxUpdatedInterval (2.0.1) set after boot; None: leave.
    meter_interval: int | None = 10
    measurands: tuple[str, ...] = DEFAULT_MEASURANDS
    fallback_measurands: tuple[str, ...] = FALLBACK_MEASURANDS
    #: Configure the charger (read configuration, set interval and measurands) after boot.
    configure_on_boot: bool = True
    #: How long to wait for a charger's answer to a command.
    command_timeout: float = 30.0
    #: A connection that did not boot within this time is asked to (TriggerMessage).
    boot_grace: float = 10.0
    #: An accepted charger that reconnects is sent nothing until it has booted (and the boot is
    #: answered) or shows that it resumes without a boot: it sends another message, or no
    #: BootNotification within this time.
    resume_grace: float = 5.0
    #: Messages whose timestamp lags the receive time by more than this are marked offline.
    offline_after: float = 120.0
    #: idToken type used for 2.0.1 remote starts and local lists.
    id_token_type: str = "ISO14443"  # noqa: S105  (not a secret)
    #: Websocket ping interval (None: off). Off by default: dead links are found by the
    #: missing OCPP heartbeats instead (see ``OcppConnection._watch_liveness``).
    ws_ping_interval: float | None = None
    #: Silence tolerated beyond two heartbeat intervals before a connection counts as dead.
    liveness_grace: float = 60.0
    #: How far ahead of the hub's clock a charger's timestamp may be; later ones are replaced
    #: by the receive time (a protocol deviation).
    clock_tolerance: float = 300.0

    @property
    def offline_delta(self) -> timedelta:
        """``offline_after`` as a timedelta."""
        return timedelta(seconds=self.offline_after)

    @property
    def clock_tolerance_delta(self) -> timedelta:
        """``clock_tolerance`` as a timedelta."""
        return timedelta(seconds=self.clock_tolerance)


class TransactionIdFactory:
    """Default 1.6 transaction ids: wall clock ms modulo 2^31, strictly increasing in-process.

    Ids stay unique across restarts as long as the clock moves forward (the modulus wraps every
    ~24.8 days, far beyond the life of a transaction).
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._last = 0

    def __call__(self) -> int:
        candidate = int(self._clock() * 1000) % 2**31
        if candidate <= self._last:
            candidate = self._last + 1
        if candidate >= 2**31:
            candidate = 1
        self._last = candidate
        return candidate


@dataclass(slots=True, kw_only=True)
class ChargerState:
    """What the server knows about one charger, kept across reconnects (not across restarts)."""

    charger_id: str
    info: ChargerInfo | None = None
    #: The last boot was accepted (messages are processed).
    accepted: bool = False
    #: The last boot was answered Pending (messages other than boot are refused).
    pending: bool = False
    rejected: bool = False
    #: The user accepted a pending charger: the next boot is accepted without asking.
    force_accept: bool = False
    connectors: int = 1
    #: The number of connectors (1.6) or EVSEs (2.0.1) the charger reported, when it did.
    reported_connectors: int | None = None
    #: connector -> active transaction id, and the reverse.
    transactions: dict[int, str] = field(default_factory=dict)
    tx_connectors: dict[str, int] = field(default_factory=dict)
    #: Deviation kinds already reported, with their first detail.
    deviations: dict[str, str] = field(default_factory=dict)
    #: Configuration read from the charger (1.6 keys, 2.0.1 "Component.Variable").
    configuration: dict[str, str | None] = field(default_factory=dict)
    #: What the charger accepted of our post-boot configuration.
    configured: dict[str, Any] = field(default_factory=dict)
    #: Last firmware/diagnostics/other status notifications.
    notifications: dict[str, Any] = field(default_factory=dict)
    last_seen: datetime | None = None
    connected_since: datetime | None = None
    boot_count: int = 0
    remote_start_ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    #: Allowed values the charger reported for its variables (2.0.1 ``valuesList``), by
    #: "Component.Variable".
    values_lists: dict[str, frozenset[str]] = field(default_factory=dict)
    #: Charging profile ids of ours the charger accepted (id -> scope), and ids it is known not
    #: to hold; an id in neither may be left from an earlier run of the hub.
    profiles_set: dict[int, int] = field(default_factory=dict)
    profiles_absent: set[int] = field(default_factory=set)
    #: The standing limit (A) the charger last accepted from the hub, per scope (0 = charger).
    limits: dict[int, float] = field(default_factory=dict)
    #: The overall maximum (A) the charger last accepted from the hub (None: none set).
    charger_max: float | None = None

    @property
    def connector_count(self) -> int:
        """How many connectors (EVSEs) the charger has, as far as it told."""
        return max(self.connectors, self.reported_connectors or 0)

    def profile_set(self, profile_id: int, scope: int) -> None:
        """The charger accepted a profile of ours."""
        self.profiles_set[profile_id] = scope
        self.profiles_absent.discard(profile_id)

    def profile_gone(self, profile_id: int) -> None:
        """The charger no longer holds a profile of ours (cleared, or it never had it)."""
        self.profiles_set.pop(profile_id, None)
        self.profiles_absent.add(profile_id)

    def may_hold(self, profile_ids: list[int]) -> list[int]:
        """The ids of ours among ``profile_ids`` the charger may still hold."""
        return [pid for pid in profile_ids if pid not in self.profiles_absent]

    @property
    def connector_limit(self) -> int:
        """The highest connector id accepted from this charger."""
        return self.reported_connectors or DEFAULT_MAX_CONNECTORS

    def report_connectors(self, count: int) -> bool:
        """Remember how many connectors the charger says it has; False when not believable."""
        if not 0 < count <= MAX_REPORTED_CONNECTORS:
            return False
        self.reported_connectors = count
        return True

    def start_transaction(self, connector_id: int, transaction_id: str) -> None:
        """Remember an active transaction."""
        previous = self.transactions.get(connector_id)
        if previous is not None and previous != transaction_id:
            self.tx_connectors.pop(previous, None)
        self.transactions[connector_id] = transaction_id
        self.tx_connectors[transaction_id] = connector_id
        self.connectors = max(self.connectors, connector_id)

    def end_transaction(self, transaction_id: str) -> int | None:
        """Forget a transaction; return its connector when it was known."""
        connector_id = self.tx_connectors.pop(transaction_id, None)
        if connector_id is not None and self.transactions.get(connector_id) == transaction_id:
            del self.transactions[connector_id]
        return connector_id

    def diagnostics(self) -> dict[str, Any]:
        """A JSON-friendly snapshot for HA diagnostics."""
        info = self.info
        return {
            "charger_id": self.charger_id,
            "info": None
            if info is None
            else {
                "vendor": info.vendor,
                "model": info.model,
                "serial": info.serial,
                "firmware": info.firmware,
                "protocol": info.protocol,
                "connectors": info.connectors,
            },
            "accepted": self.accepted,
            "pending": self.pending,
            "rejected": self.rejected,
            "connectors": self.connectors,
            "reported_connectors": self.reported_connectors,
            "boot_count": self.boot_count,
            "active_transactions": {str(k): v for k, v in self.transactions.items()},
            "deviations": dict(self.deviations),
            "configuration": dict(self.configuration),
            "configured": dict(self.configured),
            "limits": {str(k): v for k, v in self.limits.items()},
            "charger_max": self.charger_max,
            "charging_profiles": sorted(self.profiles_set),
            "notifications": dict(self.notifications),
            "last_seen": None if self.last_seen is None else self.last_seen.isoformat(),
            "connected_since": None
            if self.connected_since is None
            else self.connected_since.isoformat(),
        }
