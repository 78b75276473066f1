"""Data model of the session engine: sessions, their profile, anomalies and settings.

Plain typed Python (no Home Assistant import). All datetimes are timezone-aware UTC, energy is
integer Wh, power W, current A, money :class:`~decimal.Decimal`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from enum import StrEnum
from typing import Literal

from custom_components.ev_sessions.chargers.events import ConnectorState

from .slots import EnergySlot

#: Per-phase values (L1, L2, L3); ``None`` for a phase that was not reported.
type Phases = tuple[float | None, float | None, float | None]


def utcnow() -> datetime:
    """Now, timezone-aware UTC (the engine's default clock)."""
    return datetime.now(UTC)


def to_iso(value: datetime | None) -> str | None:
    """ISO text of a datetime, ``None`` kept (for JSON state)."""
    return None if value is None else value.isoformat()


def from_iso(value: object) -> datetime | None:
    """Inverse of :func:`to_iso`; anything but a string gives ``None``."""
    if not isinstance(value, str):
        return None
    return as_utc(datetime.fromisoformat(value))


def as_utc(value: datetime) -> datetime:
    """Return ``value`` as aware UTC; a naive value is taken to be UTC already."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


class SpeedClass(StrEnum):
    """How fast a session charged (thresholds in :class:`EngineSettings`)."""

    SLOW = "slow"
    NORMAL = "normal"
    FAST = "fast"


class AnomalyKind(StrEnum):
    """Something odd the energy accounting noticed and handled."""

    METER_RESET = "meter_reset"  # the register dropped: counting continued from the new base
    ROLLOVER = "rollover"  # the register wrapped around (32-bit): counted across the wrap
    OUT_OF_ORDER = "out_of_order"  # a sample older than the last applied one: ignored
    REPLAYED = "replayed"  # the same sample again: ignored
    GAP = "gap"  # no sample for longer than ``EngineSettings.gap_after`` while charging
    IMPLAUSIBLE_JUMP = "implausible_jump"  # register jump faster than any charger: not counted
    RETROACTIVE = "retroactive"  # session built after the fact (transaction end never started)
    IMPLAUSIBLE_VALUE = "implausible_value"  # NaN, infinite or out-of-range value: ignored
    CLOCK_AHEAD = "clock_ahead"  # stamped too far ahead of the hub's clock: taken as received
    UNAUTHORIZED = "unauthorized"  # started with a tag the hub refused: metered, flagged, stopped


#: Kinds merged into one entry with a count instead of one entry per occurrence.
COUNTED_ANOMALIES = frozenset(
    {
        AnomalyKind.OUT_OF_ORDER,
        AnomalyKind.REPLAYED,
        AnomalyKind.GAP,
        AnomalyKind.IMPLAUSIBLE_VALUE,
        AnomalyKind.CLOCK_AHEAD,
    }
)

#: At most this many anomaly entries are kept per session.
MAX_ANOMALIES = 50


@dataclass(slots=True, kw_only=True)
class Anomaly:
    """One anomaly (or a run of the same counted kind) seen during a session."""

    kind: AnomalyKind
    at: datetime
    detail: str = ""
    count: int = 1


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfilePoint:
    """One stored point of the power profile.

    ``energy_wh`` is the session energy at ``at`` (exact, integer): the session energy equals the
    last point's ``energy_wh`` minus the first one's (the first point is 0 at session start).
    """

    at: datetime
    energy_wh: int
    power_w: float | None = None
    current_a: Phases | None = None
    soc_pct: float | None = None


class SessionEventKind(StrEnum):
    """Session milestones reported to session listeners."""

    STARTED = "started"
    CHARGING_FINISHED = "charging_finished"
    ENDED = "ended"


@dataclass(slots=True, kw_only=True)
class ChargeTracking:
    """Engine bookkeeping of an open session, persisted so that a restart continues it."""

    charging: bool = False  # energy flowing as of the last event
    stopped_since: datetime | None = None  # first time the flow was seen stopped
    last_event_at: datetime | None = None  # last event applied to the session
    soc_start_pct: float | None = None  # first SoC seen, with the session energy then
    soc_start_energy_wh: int | None = None


@dataclass(slots=True, kw_only=True)
class StoredMarks:
    """How much of a session's profile and slots the store already holds (not persisted).

    The store sets it when it loads a session and after each write; a write then carries only
    what is new (the profile and the slots are append-only tables, see :mod:`.storage`).
    """

    points: int = 0  # ``profile[:points]`` are stored as profile chunks
    chunks: int = 0  # how many chunks hold them
    slots: int = 0  # ``slots[:slots]`` are stored
    open_slot: EnergySlot | None = None  # the open slot as last stored
    #: The store holds exactly this. False for a session never written and after a write whose
    #: outcome is unknown (cancelled, failed half way): the next write then checks for the row
    #: and replaces what may be stored from the marks on.
    exact: bool = False


@dataclass(slots=True, kw_only=True)
class Session:
    """One charging session: vehicle connected (or transaction started) to disconnected."""

    id: str
    charger_id: str
    connector_id: int
    plugged_in_at: datetime
    transaction_id: str | None = None
    member_id: str | None = None
    id_tag: str | None = None
    unplugged_at: datetime | None = None
    charging_started_at: datetime | None = None
    #: When energy stopped flowing for good (the real end of charging); cleared on resume.
    charging_finished_at: datetime | None = None
    transaction_ended_at: datetime | None = None
    meter_start_wh: int | None = None
    meter_stop_wh: int | None = None
    energy_wh: int = 0
    max_power_w: float | None = None
    #: Seconds during which energy was flowing (pauses excluded): the base of ``avg_power_w``.
    charging_duration_s: float = 0.0
    speed_class: SpeedClass | None = None
    stop_reason: str | None = None
    anomalies: list[Anomaly] = field(default_factory=list)
    profile: list[ProfilePoint] = field(default_factory=list)
    #: Closed energy slots, oldest first (append-only, see :mod:`.slots`); with ``open_slot``
    #: their energy sums to ``energy_wh``.
    slots: list[EnergySlot] = field(default_factory=list)
    #: The slot being metered now (``None`` before the first reading and once closed).
    open_slot: EnergySlot | None = None
    cost: Decimal | None = None
    tariff: str | None = None
    tracking: ChargeTracking = field(default_factory=ChargeTracking, repr=False, compare=False)
    stored: StoredMarks = field(default_factory=StoredMarks, repr=False, compare=False)

    @property
    def is_open(self) -> bool:
        """Whether the vehicle is still connected (the session has not ended)."""
        return self.unplugged_at is None

    @property
    def avg_power_w(self) -> float | None:
        """Energy divided by the time energy was flowing, or ``None`` before any."""
        if self.charging_duration_s <= 0:
            return None
        return self.energy_wh * 3600.0 / self.charging_duration_s

    def idle_time(self, now: datetime | None = None) -> timedelta | None:
        """Time plugged in after charging finished (until unplug, or ``now`` while open)."""
        if self.charging_finished_at is None:
            return None
        end = self.unplugged_at or now
        if end is None:
            return None
        return max(end - self.charging_finished_at, timedelta(0))

    def duration(self, now: datetime | None = None) -> timedelta | None:
        """Time plugged in (until ``now`` while open)."""
        end = self.unplugged_at or now
        if end is None:
            return None
        return max(end - self.plugged_in_at, timedelta(0))

    def add_anomaly(self, kind: AnomalyKind, at: datetime, detail: str = "") -> None:
        """Record an anomaly; counted kinds are merged into their last entry."""
        if kind in COUNTED_ANOMALIES:
            for anomaly in reversed(self.anomalies):
                if anomaly.kind is kind:
                    anomaly.count += 1
                    return
        if len(self.anomalies) < MAX_ANOMALIES:
            self.anomalies.append(Anomaly(kind=kind, at=at, detail=detail))

    @property
    def slots_energy_wh(self) -> int:
        """The energy of the closed slots and the open one (equals ``energy_wh``)."""
        total = sum(slot.energy_wh for slot in self.slots)
        return total + (self.open_slot.energy_wh if self.open_slot is not None else 0)

    def snapshot(self) -> Session:
        """A copy that later engine updates do not change (points and slots are immutable)."""
        return replace(
            self,
            anomalies=[replace(a) for a in self.anomalies],
            profile=list(self.profile),
            slots=list(self.slots),
            tracking=replace(self.tracking),
            stored=replace(self.stored),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionEvent:
    """A session milestone; ``session`` is a snapshot taken at that moment."""

    kind: SessionEventKind
    session: Session


@dataclass(frozen=True, slots=True, kw_only=True)
class Target:
    """What the driver wants, for the end-time estimate: an energy, or a SoC."""

    energy_wh: int | None = None
    soc_pct: float | None = None
    battery_wh: int | None = None


@dataclass(slots=True, kw_only=True)
class ConnectorView:
    """Live view of one connector, kept current by the engine (read it, do not change it)."""

    charger_id: str
    connector_id: int
    status: ConnectorState = ConnectorState.UNKNOWN
    error_code: str | None = None
    power_w: float | None = None
    current_a: Phases | None = None
    voltage_v: Phases | None = None
    soc_pct: float | None = None
    energy_register_wh: int | None = None
    updated_at: datetime | None = None
    #: When the engine took in the live values above (its own clock: a charger's clock may be
    #: off, and a 1.6 sample lagging it is taken for a replayed one).
    received_at: datetime | None = None
    session: Session | None = None
    last_session: Session | None = None
    target: Target | None = None
    estimated_end_at: datetime | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineSettings:
    """Tunables of the session engine.

    Speed class: by default the session's **maximum** power (``speed_basis="max"``) is compared
    with the thresholds, because it reflects what the vehicle and charger can do; the average
    (energy over the time energy flowed) drops with the taper at high SoC and would classify an
    11 kW session as "normal". ``speed_basis="avg"`` is available.
    """

    #: Below this power (W) the session is ``slow``.
    slow_max_w: int = 3700
    #: From this power (W) the session is ``fast``; between the two it is ``normal``.
    fast_min_w: int = 11000
    speed_basis: Literal["max", "avg"] = "max"
    #: Power (W) from which energy counts as flowing.
    charging_threshold_w: float = 100.0
    #: Flow stopped this long (below the threshold) = charging finished (at the stop time).
    finish_after: timedelta = timedelta(minutes=10)
    #: No sample for this long while charging is recorded as a gap (power is not integrated
    #: across it).
    gap_after: timedelta = timedelta(minutes=15)
    #: Fastest plausible charger (W): larger register jumps are not counted.
    max_plausible_power_w: float = 400_000.0
    #: Tolerance (Wh) added to the plausible energy of a register jump.
    jump_slack_wh: int = 100
    #: Register modulus for rollover detection (32-bit), and how close to the top it must be.
    register_modulus: int = 2**32
    rollover_window_wh: int = 2**28
    #: A drop of the register that recovers within this time is a glitch, not a reset.
    glitch_window: timedelta = timedelta(minutes=15)
    #: Profile compaction: points whose power stays within this tolerance are dropped...
    profile_power_tolerance_w: float = 100.0
    profile_current_tolerance_a: float = 0.5
    #: ...but at least one point is kept per this interval.
    profile_max_interval: timedelta = timedelta(minutes=5)
    #: Above this SoC the end-time estimate follows the recent power trend (taper).
    taper_soc_pct: float = 80.0
    #: Window of recent power used by the end-time estimate.
    estimate_window: timedelta = timedelta(minutes=10)
    #: A tag presented this long before a session starts is assigned to it.
    tag_window: timedelta = timedelta(minutes=5)
    #: Commit at least this often, and this soon after a session state change.
    flush_interval: timedelta = timedelta(seconds=60)
    state_flush_delay: timedelta = timedelta(seconds=1)
    #: Ended sessions kept in memory for :meth:`SessionEngine.stats`.
    stats_retention: timedelta = timedelta(days=8)
    #: An event stamped further ahead of the engine's clock than this is taken as stamped at
    #: the engine's clock (a charger clock jump must not freeze counting).
    future_tolerance: timedelta = timedelta(minutes=5)


@dataclass(frozen=True, slots=True, kw_only=True)
class QuarantinedRow:
    """A change the database refused because of its data (kept out of writes until it changes).

    ``kind`` is ``session``, ``lifetime`` or ``patch``; ``key`` the session or charger id.
    """

    kind: str
    key: str
    error: str
    at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class StorageStatus:
    """Whether the engine's writes reach the database (for repairs and diagnostics)."""

    #: The last write attempt succeeded (changes are not piling up in memory).
    writable: bool = True
    #: The database error while writes fail, and what kind of fault it is.
    error: str | None = None
    fault: str | None = None
    failing_since: datetime | None = None
    #: Changes waiting in memory to be written (sessions, counters, patches).
    pending: int = 0
    #: Rows the database refused because of their data, newest last.
    quarantined: tuple[QuarantinedRow, ...] = ()
