"""The site power budget: how much current each charger may draw right now.

A site has one main fuse per phase. Every allocation round (:meth:`PowerBudget.allocate`) takes
the grid meter, the optional solar reading and every charger's own draw, and decides a current
per charger with the reason for it:

* **headroom** per phase = fuse - margin - the household's load, where the household's load is
  the grid import minus the chargers' own draw (never below 0: solar export does not raise the
  fuse). A grid meter that gives only the total power is spread evenly over the phases.
* **sharing**: every active session first gets its minimum, in order (fair share: by rotation;
  priority: higher first; urgency: earliest ready-by first); a session whose minimum no longer
  fits pauses, and sessions that waited take the place of those that ran longer than
  :attr:`BudgetSettings.rotation`, so nobody starves. What is left is shared equally (within a
  priority or urgency class, classes in order), each up to its maximum. A 1-phase charger counts
  only on its phase. A session that wants less (:attr:`ChargerLoad.demand_a`: the user's or the
  plan's limit, a full car) gets no more than that; below its minimum it is held at 0 and takes
  no part.
* **solar**: a charger in :attr:`ChargeMode.SOLAR` follows the surplus (what the solar chargers
  draw minus the net grid import; capped by the production when known), switched on and off with
  delays and minimum on/off times so the contactor does not chatter, its current rising only
  as far as the surplus covers it with a margin; :attr:`ChargeMode.SOLAR_MIN`
  keeps the minimum current from the grid when the surplus is too small.
* **safety**: a grid meter silent longer than :attr:`BudgetSettings.meter_timeout` gives every
  charger a static limit (:attr:`BudgetSettings.fallback_a`, by default the fuse divided among
  the chargers on a phase); a charger drawing more than its limit for longer than
  :attr:`BudgetSettings.overdraw_grace` is reported, and paused if it goes on for
  :attr:`BudgetSettings.overdraw_pause_after`.

Pure and deterministic: no I/O and no clock; the state kept between rounds (rotation, solar
switching, overdraw timers) changes only in :meth:`PowerBudget.allocate`. Switching a charger
between 1 and 3 phases is not done: no charger profile exposes it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
import math

#: Phases of a site at most (L1, L2, L3).
PHASES = 3
#: Below this, two currents are the same (A); floats of sums must not pause a charger.
_EPS = 1e-6
#: An allocation this close below its cap reached it (rounding down to the resolution).
_ROUNDING = 0.1 + _EPS

type PhaseCurrents = tuple[float, float, float]


class BudgetSharing(StrEnum):
    """How the headroom is shared among the active sessions."""

    FAIR = "fair"
    PRIORITY = "priority"
    URGENCY = "urgency"


class ChargeMode(StrEnum):
    """What a charger charges from."""

    #: As much as the fuse allows.
    FUSE = "fuse"
    #: Only solar surplus.
    SOLAR = "solar"
    #: Solar surplus, at least the minimum current (from the grid if need be).
    SOLAR_MIN = "solar_min"


class BudgetState(StrEnum):
    """The site as a whole."""

    #: Every active session gets what it may take.
    NORMAL = "normal"
    #: The fuse holds at least one session below its maximum, or paused.
    LIMITED = "limited"
    #: The grid meter is silent: static limits.
    FALLBACK = "fallback"


class BudgetReason(StrEnum):
    """Why a charger got its current."""

    #: No session: what is left over (0 when nothing is).
    IDLE = "idle"
    #: Its maximum: the fuse does not limit it.
    MAX = "max"
    #: Less than its maximum: the headroom is shared.
    SHARED = "shared"
    #: Its minimum does not fit: paused until there is room or its turn comes.
    PAUSED = "paused"
    #: Follows the solar surplus.
    SOLAR = "solar"
    #: Not enough surplus: paused (solar only).
    SOLAR_WAITING = "solar_waiting"
    #: Not enough surplus: the minimum current, from the grid.
    SOLAR_MIN = "solar_min"
    #: The grid meter is silent: the static limit.
    FALLBACK = "fallback"
    #: It drew more than its limit for too long: paused.
    DISOBEYING = "disobeying"
    #: Its session wants less than its minimum (the user's or the plan's limit): nothing.
    HELD = "held"


class BudgetNoticeKind(StrEnum):
    """Something users are told about (events, repairs)."""

    #: A session gets less than its maximum because of the fuse.
    THROTTLED = "throttled"
    #: A session is paused by the budget.
    PAUSED = "paused"
    #: A charger draws more than its limit for longer than the grace period.
    DISOBEYING = "disobeying"
    #: ... and went on: the budget paused it.
    DISOBEYING_PAUSED = "disobeying_paused"
    #: It obeys its limit again.
    OBEYING = "obeying"


@dataclass(frozen=True, slots=True, kw_only=True)
class SolarSettings:
    """Switching a solar charger on and off without chatter."""

    #: The surplus must hold the minimum current this long before charging starts.
    enable_delay: timedelta = timedelta(minutes=1)
    #: The surplus must stay below the minimum this long before charging stops.
    disable_delay: timedelta = timedelta(minutes=3)
    #: Once started, charging runs at least this long.
    min_on: timedelta = timedelta(minutes=5)
    #: Once stopped, charging stays off at least this long.
    min_off: timedelta = timedelta(minutes=5)
    #: Solar currents are rounded down to this step (A), so small clouds change nothing.
    step_a: float = 1.0
    #: A solar current rises only as far as the surplus covers it by this much (A), so a surplus
    #: wavering around a step does not send limits back and forth.
    rise_margin_a: float = 0.5


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetSettings:
    """The site's fuse and how the budget behaves."""

    #: Main fuse per phase (A).
    fuse_a: float
    #: Phases of the site (1 or 3).
    phases: int = 3
    #: Nominal voltage per phase (power to current).
    voltage_v: float = 230.0
    #: Kept free below the fuse (A per phase).
    margin_a: float = 0.0
    sharing: BudgetSharing = BudgetSharing.FAIR
    #: A grid meter is configured: without a fresh reading the budget falls back.
    grid_meter: bool = True
    #: A grid reading older than this is silence.
    meter_timeout: timedelta = timedelta(seconds=60)
    #: Current per charger while the grid meter is silent (A); None: the fuse divided among
    #: the chargers on the phase.
    fallback_a: float | None = None
    #: A session that ran this long yields to one that waits.
    rotation: timedelta = timedelta(minutes=15)
    #: A draw this much above the limit counts as too much (A).
    overdraw_tolerance_a: float = 2.0
    #: Drawing too much this long is reported.
    overdraw_grace: timedelta = timedelta(seconds=60)
    #: ... and this much longer pauses the charger.
    overdraw_pause_after: timedelta = timedelta(minutes=5)
    #: Allocations are rounded down to this step (A).
    resolution_a: float = 0.1
    solar: SolarSettings = field(default_factory=SolarSettings)

    def __post_init__(self) -> None:
        """Refuse a fuse or phase count that cannot be."""
        if self.phases not in (1, 3):
            raise ValueError(f"a site has 1 or 3 phases, not {self.phases}")
        if not self.fuse_a > 0:
            raise ValueError(f"the fuse must be above 0 A, not {self.fuse_a}")


@dataclass(frozen=True, slots=True, kw_only=True)
class GridReading:
    """The grid meter: per-phase current (A) or total power (W), import positive."""

    at: datetime
    currents_a: PhaseCurrents | None = None
    power_w: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SolarReading:
    """Solar export at the grid connection and/or production (W, positive)."""

    at: datetime
    export_w: float | None = None
    production_w: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargerLoad:
    """One charger as the budget sees it in a round."""

    charger_id: str
    #: Phases it uses (1 or 3); a 1-phase charger sits on site phase ``phase`` (1-3).
    phases: int = 3
    phase: int = 1
    min_a: float = 6.0
    max_a: float = 32.0
    #: What it draws now per phase of its own (L1, L2, L3; a 1-phase charger's sum counts).
    draw_a: PhaseCurrents = (0.0, 0.0, 0.0)
    #: Higher first (sharing by priority).
    priority: int = 0
    #: The plan wants the car ready by then (sharing by urgency).
    ready_by: datetime | None = None
    #: A session is open on it.
    active: bool = False
    mode: ChargeMode = ChargeMode.FUSE
    #: The limit in force (A); None: the budget's last allocation.
    limit_a: float | None = None
    #: The most its session wants (A; the user's or the plan's limit, a full car's minimum);
    #: None: its maximum. Below its minimum the session takes nothing (held).
    demand_a: float | None = None

    @property
    def held(self) -> bool:
        """A session that wants less than its minimum: it takes no part in the sharing."""
        return self.active and self.demand_a is not None and self.demand_a < self.min_a - _EPS

    def site_phases(self, site_phases: int) -> tuple[int, ...]:
        """The site phases (0-based) it draws on."""
        if site_phases == 1:
            return (0,)
        if self.phases == 1:
            return (min(max(self.phase, 1), PHASES) - 1,)
        return (0, 1, 2)

    def site_draw(self, site_phases: int) -> PhaseCurrents:
        """Its draw per site phase."""
        used = self.site_phases(site_phases)
        if len(used) == 1:
            values = [0.0, 0.0, 0.0]
            values[used[0]] = sum(max(a, 0.0) for a in self.draw_a)
            return (values[0], values[1], values[2])
        return (max(self.draw_a[0], 0.0), max(self.draw_a[1], 0.0), max(self.draw_a[2], 0.0))


@dataclass(frozen=True, slots=True, kw_only=True)
class Allocation:
    """What one charger may draw (A per phase it uses; 0 pauses) and why."""

    charger_id: str
    current_a: float
    reason: BudgetReason

    def as_dict(self) -> dict[str, object]:
        """Plain data (sensor attributes)."""
        return {"current_a": self.current_a, "reason": str(self.reason)}


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetNotice:
    """A change users hear about."""

    kind: BudgetNoticeKind
    charger_id: str
    current_a: float
    #: The limit (A) and the largest draw on a phase (A) of a disobeying charger.
    limit_a: float | None = None
    draw_a: float | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetResult:
    """One round's outcome."""

    at: datetime
    state: BudgetState
    allocations: Mapping[str, Allocation]
    #: Per site phase, for the chargers before this round's allocation (A).
    headroom_a: PhaseCurrents
    #: Per site phase, what this round allocated (A).
    allocated_a: PhaseCurrents
    #: The surplus the solar chargers may use (W), and what they were given of it (W).
    surplus_w: float
    solar_in_use_w: float
    notices: Sequence[BudgetNotice] = ()


@dataclass(slots=True)
class _SolarState:
    on: bool = False
    switched_at: datetime | None = None
    enough_since: datetime | None = None
    short_since: datetime | None = None


@dataclass(slots=True)
class _ChargerState:
    running_since: datetime | None = None
    waiting_since: datetime | None = None
    last_a: float | None = None
    reason: BudgetReason | None = None
    over_since: datetime | None = None
    reported: bool = False
    solar: _SolarState = field(default_factory=_SolarState)


@dataclass(slots=True)
class _Slot:
    """A charger being allocated in a round."""

    load: ChargerLoad
    phases: tuple[int, ...]
    cap: float
    group: tuple[float, ...]
    order: tuple[float, ...]
    current: float = 0.0
    admitted: bool = False


class PowerBudget:
    """Allocation rounds over a site's chargers; see the module docstring."""

    def __init__(self, settings: BudgetSettings) -> None:
        """A budget with no history."""
        self.settings = settings
        self._state: dict[str, _ChargerState] = {}

    def forget(self, charger_id: str) -> None:
        """Drop a charger's history (removed)."""
        self._state.pop(charger_id, None)

    # ------------------------------------------------------------------ the round

    def allocate(
        self,
        now: datetime,
        chargers: Sequence[ChargerLoad],
        grid: GridReading | None = None,
        solar: SolarReading | None = None,
    ) -> BudgetResult:
        """One allocation round at ``now``."""
        settings = self.settings
        n = settings.phases
        for gone in self._state.keys() - {c.charger_id for c in chargers}:
            del self._state[gone]
        states = {
            c.charger_id: self._state.setdefault(c.charger_id, _ChargerState()) for c in chargers
        }
        grid = grid if grid is not None and now - grid.at <= settings.meter_timeout else None
        solar = solar if solar is not None and now - solar.at <= settings.meter_timeout else None
        notices: list[BudgetNotice] = []
        draws = {c.charger_id: c.site_draw(n) for c in chargers}
        over = self._check_overdraw(now, chargers, states, draws, notices)
        fallback = settings.grid_meter and grid is None
        headroom = self._headroom(chargers, draws, grid)
        caps, switched, surplus_w = self._solar_caps(now, chargers, states, draws, grid, solar)
        for load in chargers:  # no share beyond what the session wants
            if load.demand_a is not None:
                caps[load.charger_id] = min(caps[load.charger_id], max(load.demand_a, 0.0))
        if fallback:
            currents, reasons = self._fallback(chargers, caps)
        else:
            free = list(headroom)
            for load in chargers:
                limit = self._limit(load, states[load.charger_id])
                if limit is None:
                    continue
                for p in load.site_phases(n):  # what a disobeying charger takes beyond its limit
                    free[p] -= max(0.0, draws[load.charger_id][p] - limit)
            currents, reasons = self._share(now, chargers, states, caps, switched, free)
        for charger_id in over:
            currents[charger_id], reasons[charger_id] = 0.0, BudgetReason.DISOBEYING
        return self._finish(now, chargers, states, currents, reasons, headroom, surplus_w, notices)

    # ------------------------------------------------------------------ headroom

    def _headroom(
        self,
        chargers: Sequence[ChargerLoad],
        draws: Mapping[str, PhaseCurrents],
        grid: GridReading | None,
    ) -> PhaseCurrents:
        """Fuse - margin - household load, per site phase (unused phases 0)."""
        settings = self.settings
        n = settings.phases
        own = [sum(d[p] for d in draws.values()) for p in range(PHASES)]
        house = [0.0, 0.0, 0.0]
        if grid is not None and grid.currents_a is not None:
            for p in range(n):
                house[p] = max(0.0, grid.currents_a[p] - own[p])
        elif grid is not None and grid.power_w is not None:
            own_w = sum(own) * settings.voltage_v
            per_phase = max(0.0, grid.power_w - own_w) / (settings.voltage_v * n)
            for p in range(n):
                house[p] = per_phase
        limit = settings.fuse_a - settings.margin_a
        values = [max(0.0, limit - house[p]) if p < n else 0.0 for p in range(PHASES)]
        return (values[0], values[1], values[2])

    # ------------------------------------------------------------------ solar

    def _solar_caps(
        self,
        now: datetime,
        chargers: Sequence[ChargerLoad],
        states: Mapping[str, _ChargerState],
        draws: Mapping[str, PhaseCurrents],
        grid: GridReading | None,
        solar: SolarReading | None,
    ) -> tuple[dict[str, float], dict[str, BudgetReason], float]:
        """The most each charger may take: its maximum, or what the surplus gives a solar one
        (switched with hysteresis); the solar chargers' switch reasons; the surplus (W)."""
        settings = self.settings
        caps = {c.charger_id: c.max_a for c in chargers}
        switched: dict[str, BudgetReason] = {}
        solar_loads = [c for c in chargers if c.mode is not ChargeMode.FUSE and c.active]
        for load in chargers:
            if load.mode is not ChargeMode.FUSE and not load.active:
                states[load.charger_id].solar = _SolarState()
        surplus_w = self._surplus_w(solar_loads, draws, grid, solar)
        remaining_w = surplus_w
        for load in sorted(solar_loads, key=lambda c: self._order(now, c, states)):
            watts_per_a = settings.voltage_v * len(load.site_phases(settings.phases))
            possible = max(0.0, remaining_w) / watts_per_a
            on = self._switch(now, states[load.charger_id].solar, possible >= load.min_a - _EPS)
            if on:
                cap = self._solar_current(load, states[load.charger_id], possible)
                switched[load.charger_id] = BudgetReason.SOLAR
            elif load.mode is ChargeMode.SOLAR_MIN:
                cap = load.min_a
                switched[load.charger_id] = BudgetReason.SOLAR_MIN
            else:
                cap = 0.0
                switched[load.charger_id] = BudgetReason.SOLAR_WAITING
            caps[load.charger_id] = cap
            remaining_w -= cap * watts_per_a
        return caps, switched, surplus_w

    def _solar_current(self, load: ChargerLoad, state: _ChargerState, possible: float) -> float:
        """The surplus' current in steps; above the last solar current only as far as the
        surplus covers it with the margin (hysteresis: a flicker after a rise does not lower it
        again)."""
        solar = self.settings.solar
        step = solar.step_a
        amps = math.floor(possible / step + _EPS) * step
        last = state.last_a
        if state.reason is BudgetReason.SOLAR and last is not None and last < amps:
            amps = max(last, math.floor((possible - solar.rise_margin_a) / step + _EPS) * step)
        return min(load.max_a, max(load.min_a, amps))

    def _surplus_w(
        self,
        solar_loads: Sequence[ChargerLoad],
        draws: Mapping[str, PhaseCurrents],
        grid: GridReading | None,
        solar: SolarReading | None,
    ) -> float:
        """What the solar chargers may use: their draw minus the net grid import; the
        production caps it; with only a production reading, the production."""
        voltage = self.settings.voltage_v
        own_w = sum(sum(draws[c.charger_id]) for c in solar_loads) * voltage
        net_import: float | None = None
        if grid is not None and grid.power_w is not None:
            net_import = grid.power_w
        elif grid is not None and grid.currents_a is not None:
            net_import = sum(grid.currents_a[: self.settings.phases]) * voltage
        if solar is not None and solar.export_w is not None:
            net_import = (net_import or 0.0) - solar.export_w
        production = solar.production_w if solar is not None else None
        if net_import is None:
            return max(0.0, production or 0.0)
        surplus = own_w - net_import
        if production is not None:
            surplus = min(surplus, production)
        return max(0.0, surplus)

    def _switch(self, now: datetime, state: _SolarState, enough: bool) -> bool:
        """On/off with delays and minimum on/off times."""
        solar = self.settings.solar
        if enough:
            state.short_since = None
            state.enough_since = state.enough_since or now
        else:
            state.enough_since = None
            state.short_since = state.short_since or now
        held = state.switched_at is not None and now - state.switched_at < (
            solar.min_on if state.on else solar.min_off
        )
        if held:
            return state.on
        if not state.on and state.enough_since and now - state.enough_since >= solar.enable_delay:
            state.on, state.switched_at = True, now
        elif state.on and state.short_since and now - state.short_since >= solar.disable_delay:
            state.on, state.switched_at = False, now
        return state.on

    # ------------------------------------------------------------------ sharing

    def _order(
        self, now: datetime, load: ChargerLoad, states: Mapping[str, _ChargerState]
    ) -> tuple[float, ...]:
        """Sort key: the sharing class first, then rotation (see :meth:`_rotation`)."""
        return (*self._group(load), *self._rotation(now, states[load.charger_id]), 0.0)

    def _group(self, load: ChargerLoad) -> tuple[float, ...]:
        sharing = self.settings.sharing
        if sharing is BudgetSharing.PRIORITY:
            return (-float(load.priority),)
        if sharing is BudgetSharing.URGENCY:
            ready = load.ready_by.timestamp() if load.ready_by is not None else math.inf
            return (ready, -float(load.priority))
        return ()

    def _rotation(self, now: datetime, state: _ChargerState) -> tuple[float, float]:
        """Sessions running less than a turn, then those that waited a whole turn, then those
        that ran their turn, then those that waited less (no swap back and forth)."""
        turn = self.settings.rotation
        if state.running_since is not None:
            if now - state.running_since >= turn:  # the longest running yields first
                return (2.0, -state.running_since.timestamp())
            return (0.0, state.running_since.timestamp())
        waiting_since = state.waiting_since or now
        return (1.0 if now - waiting_since >= turn else 3.0, waiting_since.timestamp())

    def _share(
        self,
        now: datetime,
        chargers: Sequence[ChargerLoad],
        states: Mapping[str, _ChargerState],
        caps: Mapping[str, float],
        switched: Mapping[str, BudgetReason],
        free: list[float],
    ) -> tuple[dict[str, float], dict[str, BudgetReason]]:
        """Minimums in order (the rest pause), then the headroom shared up to each cap."""
        n = self.settings.phases
        slots = sorted(
            (
                _Slot(
                    load=c,
                    phases=c.site_phases(n),
                    cap=caps[c.charger_id],
                    group=self._group(c),
                    order=self._order(now, c, states),
                )
                for c in chargers
                if c.active and not c.held
            ),
            key=lambda slot: (slot.order, slot.load.charger_id),
        )
        currents: dict[str, float] = {}
        reasons: dict[str, BudgetReason] = {}
        for slot in slots:
            load = slot.load
            if slot.cap < load.min_a - _EPS:
                continue
            if all(free[p] >= load.min_a - _EPS for p in slot.phases):
                slot.admitted, slot.current = True, load.min_a
                for p in slot.phases:
                    free[p] -= load.min_a
        admitted = [slot for slot in slots if slot.admitted]
        start = 0
        while start < len(admitted):
            end = start
            while end < len(admitted) and admitted[end].group == admitted[start].group:
                end += 1
            _fill(admitted[start:end], free)
            start = end
        for slot in slots:
            load = slot.load
            amps = self._round(slot.current) if slot.admitted else 0.0
            currents[load.charger_id] = amps
            reasons[load.charger_id] = _reason(slot, amps, switched.get(load.charger_id))
        for load in chargers:
            if load.held:
                currents[load.charger_id], reasons[load.charger_id] = 0.0, BudgetReason.HELD
        self._idle(chargers, free, currents, reasons)
        return currents, reasons

    def _idle(
        self,
        chargers: Sequence[ChargerLoad],
        free: list[float],
        currents: dict[str, float],
        reasons: dict[str, BudgetReason],
    ) -> None:
        """Chargers without a session get what is left (a car plugged in starts within it)."""
        n = self.settings.phases
        for load in sorted((c for c in chargers if not c.active), key=lambda c: c.charger_id):
            phases = load.site_phases(n)
            amps = self._round(min(load.max_a, *(free[p] for p in phases)))
            if amps < load.min_a - _EPS:
                amps = 0.0
            for p in phases:
                free[p] -= amps
            currents[load.charger_id], reasons[load.charger_id] = amps, BudgetReason.IDLE

    def _fallback(
        self, chargers: Sequence[ChargerLoad], caps: Mapping[str, float]
    ) -> tuple[dict[str, float], dict[str, BudgetReason]]:
        """The static limit: the configured one, or the fuse divided among the chargers of the
        busiest phase a charger uses; below a charger's minimum it pauses."""
        settings = self.settings
        n = settings.phases
        users = [0, 0, 0]
        for load in chargers:
            for p in load.site_phases(n):
                users[p] += 1
        currents: dict[str, float] = {}
        reasons: dict[str, BudgetReason] = {}
        for load in chargers:
            share = settings.fallback_a
            if share is None:
                share = (settings.fuse_a - settings.margin_a) / max(
                    users[p] for p in load.site_phases(n)
                )
            amps = self._round(min(share, load.max_a, caps[load.charger_id]))
            currents[load.charger_id] = amps if amps >= load.min_a - _EPS else 0.0
            reasons[load.charger_id] = BudgetReason.FALLBACK
        return currents, reasons

    # ------------------------------------------------------------------ overdraw

    def _limit(self, load: ChargerLoad, state: _ChargerState) -> float | None:
        return load.limit_a if load.limit_a is not None else state.last_a

    def _check_overdraw(
        self,
        now: datetime,
        chargers: Sequence[ChargerLoad],
        states: Mapping[str, _ChargerState],
        draws: Mapping[str, PhaseCurrents],
        notices: list[BudgetNotice],
    ) -> set[str]:
        """Timers of chargers drawing more than their limit; the ones to pause.

        A charger paused for drawing too much is released once it draws (almost) nothing.
        """
        settings = self.settings
        tolerance = settings.overdraw_tolerance_a
        paused: set[str] = set()
        for load in chargers:
            charger_id = load.charger_id
            state = states[charger_id]
            drawn = max(draws[charger_id])
            if state.reason is BudgetReason.DISOBEYING:
                if drawn > tolerance:
                    paused.add(charger_id)
                    continue
                notices.append(_notice(BudgetNoticeKind.OBEYING, charger_id, 0.0))
                state.over_since, state.reported = None, False
                continue
            limit = self._limit(load, state)
            if limit is None or drawn <= limit + tolerance:
                if state.reported:
                    notices.append(_notice(BudgetNoticeKind.OBEYING, charger_id, limit or 0.0))
                state.over_since, state.reported = None, False
                continue
            state.over_since = state.over_since or now
            over_for = now - state.over_since
            if over_for >= settings.overdraw_grace and not state.reported:
                state.reported = True
                notices.append(
                    _notice(BudgetNoticeKind.DISOBEYING, charger_id, limit, limit, drawn)
                )
            if over_for >= settings.overdraw_grace + settings.overdraw_pause_after:
                paused.add(charger_id)
                notices.append(
                    _notice(BudgetNoticeKind.DISOBEYING_PAUSED, charger_id, 0.0, limit, drawn)
                )
        return paused

    # ------------------------------------------------------------------ result

    def _finish(
        self,
        now: datetime,
        chargers: Sequence[ChargerLoad],
        states: Mapping[str, _ChargerState],
        currents: Mapping[str, float],
        reasons: Mapping[str, BudgetReason],
        headroom: PhaseCurrents,
        surplus_w: float,
        notices: list[BudgetNotice],
    ) -> BudgetResult:
        """Allocations, notices of changes, and the state kept for the next round."""
        settings = self.settings
        n = settings.phases
        allocations: dict[str, Allocation] = {}
        allocated = [0.0, 0.0, 0.0]
        solar_w = 0.0
        limited = False
        for load in chargers:
            state = states[load.charger_id]
            amps, reason = currents[load.charger_id], reasons[load.charger_id]
            allocations[load.charger_id] = Allocation(
                charger_id=load.charger_id, current_a=amps, reason=reason
            )
            for p in load.site_phases(n):
                allocated[p] += amps
            if reason in (BudgetReason.SOLAR, BudgetReason.SOLAR_MIN):
                solar_w += amps * settings.voltage_v * len(load.site_phases(n))
            limited = limited or reason in (BudgetReason.SHARED, BudgetReason.PAUSED)
            if reason is not state.reason and reason in (BudgetReason.SHARED, BudgetReason.PAUSED):
                kind = (
                    BudgetNoticeKind.THROTTLED
                    if reason is BudgetReason.SHARED
                    else BudgetNoticeKind.PAUSED
                )
                notices.append(BudgetNotice(kind=kind, charger_id=load.charger_id, current_a=amps))
            if load.active and amps > 0:
                state.running_since = state.running_since or now
                state.waiting_since = None
            elif load.active and reason is BudgetReason.PAUSED:
                state.waiting_since = state.waiting_since or now
                state.running_since = None
            else:
                state.running_since = state.waiting_since = None
            state.last_a, state.reason = amps, reason
        if settings.grid_meter and any(r is BudgetReason.FALLBACK for r in reasons.values()):
            budget_state = BudgetState.FALLBACK
        elif limited:
            budget_state = BudgetState.LIMITED
        else:
            budget_state = BudgetState.NORMAL
        return BudgetResult(
            at=now,
            state=budget_state,
            allocations=allocations,
            headroom_a=headroom,
            allocated_a=(allocated[0], allocated[1], allocated[2]),
            surplus_w=surplus_w,
            solar_in_use_w=min(solar_w, surplus_w) if solar_w else 0.0,
            notices=notices,
        )

    def _round(self, amps: float) -> float:
        """Rounded down to the resolution (a float sum just below a step is that step)."""
        step = self.settings.resolution_a
        return max(0.0, round(math.floor(amps / step + _EPS) * step, 6))


def _fill(slots: Sequence[_Slot], free: list[float]) -> None:
    """Raise the slots' currents together (water-filling) up to their caps or until a phase
    they use is full."""
    rising = [slot for slot in slots if slot.current < slot.cap - _EPS]
    while rising:
        users = [0, 0, 0]
        for slot in rising:
            for p in slot.phases:
                users[p] += 1
        step = min(slot.cap - slot.current for slot in rising)
        for p in range(PHASES):
            if users[p]:
                step = min(step, max(0.0, free[p]) / users[p])
        for slot in rising:
            slot.current += step
            for p in slot.phases:
                free[p] -= step
        full = {p for p in range(PHASES) if users[p] and free[p] <= _EPS}
        rising = [
            slot
            for slot in rising
            if slot.current < slot.cap - _EPS and not full.intersection(slot.phases)
        ]


def _reason(slot: _Slot, amps: float, solar: BudgetReason | None) -> BudgetReason:
    """Why an active session got ``amps``; ``solar``: its solar switch's reason."""
    load = slot.load
    if not slot.admitted:
        return BudgetReason.SOLAR_WAITING if slot.cap < load.min_a - _EPS else BudgetReason.PAUSED
    if amps < slot.cap - _ROUNDING:
        return BudgetReason.SHARED
    if solar is not None:
        return solar
    return BudgetReason.MAX


def _notice(
    kind: BudgetNoticeKind,
    charger_id: str,
    current_a: float,
    limit_a: float | None = None,
    draw_a: float | None = None,
) -> BudgetNotice:
    return BudgetNotice(
        kind=kind, charger_id=charger_id, current_a=current_a, limit_a=limit_a, draw_a=draw_a
    )


__all__ = [
    "Allocation",
    "BudgetNotice",
    "BudgetNoticeKind",
    "BudgetReason",
    "BudgetResult",
    "BudgetSettings",
    "BudgetSharing",
    "BudgetState",
    "ChargeMode",
    "ChargerLoad",
    "GridReading",
    "PowerBudget",
    "SolarReading",
    "SolarSettings",
]
