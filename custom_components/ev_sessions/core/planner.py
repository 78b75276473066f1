"""Charging plans: when to charge how much, from the prices as they are known.

Pure and deterministic (the same inputs give the same plan), no Home Assistant. A plan is made on
the grid of UTC quarter-hours (the grid sessions are metered and priced on, see :mod:`.slots`), so
15- and 60-minute prices and DST days need nothing special. :func:`make_plan` takes

* a :class:`PlanRequest`: the mode, the energy still needed (Wh, or a target SoC with the battery's
  capacity and current SoC), the ready-by time, a price cap, the member's tariff group, allowed
  hours;
* the charger's :class:`ChargerLimits` (phases, voltage, minimum and maximum current);
* the prices as known (:class:`~.prices.PriceSeries`) and the :class:`~.tariff.Tariff`;

and returns a :class:`Plan`: windows with their current and power, the Wh planned per
quarter-hour, the expected cost (priced by :func:`~.cost.price_session` exactly as the session
will be: the same prices, tariff and group, so the plan's cost is what the session will cost if
it charges as planned), the expected finish and a :class:`PlanState`.

Modes (:class:`PlanMode`):

* ``cheapest`` - the cheapest quarter-hours before ready-by, possibly split; no window shorter
  than ``min_window`` (a run is grown by its cheapest neighbour, or a new run of ``min_window``
  is opened where its average price is lowest);
* ``continuous`` - the one window of the needed length with the lowest cost;
* ``now`` - at once at full power;
* ``price_cap`` - only in quarter-hours whose price (incl. VAT) is at or below the cap, the
  cheapest first; ``min_energy_wh`` is always charged (in the cheapest quarter-hours, cap or not);
* ``solar_first`` - planned like ``cheapest``, but outside its windows the plan has no opinion
  (:attr:`Plan.outside_windows_a` is ``None``): the site power budget decides (solar surplus);
* ``off`` - no charging.

Prices missing for part of the horizon (tomorrow not yet published): the plan uses what is known,
a missing quarter-hour is never taken for a cheap one (known prices are chosen first), and the plan
is ``provisional``; re-plan when prices arrive. Not enough time before ready-by: charge now at full
power, state ``cannot_meet_ready_by``. Nothing left to charge: ``done``; no energy known (no
energy, or a target SoC without the car's SoC or the battery's capacity): ``needs_target``. Both
leave the charger alone (no window, no current outside them), never a pause.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, time, timedelta, tzinfo
from decimal import Decimal
from enum import StrEnum
import heapq
import math
from typing import Any

from .cost import SessionCost, SessionFacts, price_session
from .prices import PriceInterval, PriceSeries, to_decimal
from .slots import SLOT_LENGTH, EnergySlot, slot_start
from .tariff import Tariff, TariffGroup

#: The version of :meth:`Plan.to_dict`'s form.
PLAN_FORMAT = 1
#: The session id the planned slots are priced under.
PLAN_SESSION_ID = "plan"
#: How far ahead a plan without a ready-by time may reach.
MAX_HORIZON = timedelta(hours=48)
_HOUR_S = 3600
_SLOT_S = int(SLOT_LENGTH.total_seconds())


class PlanMode(StrEnum):
    """How a plan chooses when to charge."""

    CHEAPEST = "cheapest"
    CONTINUOUS = "continuous"
    NOW = "now"
    PRICE_CAP = "price_cap"
    SOLAR_FIRST = "solar_first"
    OFF = "off"


class PlanState(StrEnum):
    """Where a plan stands."""

    PLANNED = "planned"  # windows chosen from prices known for the whole horizon
    PROVISIONAL = "provisional"  # prices for part of the horizon are missing: re-plan later
    CANNOT_MEET_READY_BY = "cannot_meet_ready_by"  # not enough time: charging at once
    CHARGING_NOW = "charging_now"  # mode now
    OFF = "off"  # mode off: no charging
    DONE = "done"  # the energy asked for is charged (paused since) or the car is full (left alone)
    NEEDS_TARGET = "needs_target"  # no energy or SoC target known: the plan leaves it alone


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargerLimits:
    """What a charger can do: its phases, voltage and current range (A)."""

    phases: int = 3
    voltage_v: float = 230.0
    min_current_a: float = 6.0
    max_current_a: float = 16.0

    def power_w(self, amps: float) -> float:
        """The power at ``amps`` on every phase."""
        return self.phases * self.voltage_v * amps

    @property
    def max_power_w(self) -> float:
        """The power at the maximum current."""
        return self.power_w(self.max_current_a)


@dataclass(frozen=True, slots=True, kw_only=True)
class AllowedHours:
    """Local hours when charging is allowed: ``[start, end)``, past midnight if end <= start."""

    start: time
    end: time

    def allows(self, local: datetime) -> bool:
        """``local`` (wall clock) lies within these hours."""
        minute = local.hour * 60 + local.minute
        start = self.start.hour * 60 + self.start.minute
        end = self.end.hour * 60 + self.end.minute
        if start < end:
            return start <= minute < end
        return minute >= start or minute < end


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanRequest:
    """What a plan is for.

    The energy still needed is ``energy_wh``, else computed from ``target_soc_pct``,
    ``current_soc_pct`` and ``battery_wh``. ``price_cap`` is per kWh incl. VAT (the price shown to
    users). ``min_window`` is the shortest window the charger and car tolerate.
    """

    mode: PlanMode = PlanMode.CHEAPEST
    ready_by: datetime | None = None
    energy_wh: int | None = None
    target_soc_pct: float | None = None
    current_soc_pct: float | None = None
    battery_wh: int | None = None
    price_cap: Decimal | None = None
    min_energy_wh: int = 0
    min_window: timedelta = SLOT_LENGTH
    tariff_group: str | None = None
    member_id: str | None = None
    allowed_hours: tuple[AllowedHours, ...] = ()

    def needed_wh(self) -> int | None:
        """The energy still needed (Wh), ``None`` when the request does not say."""
        if self.energy_wh is not None:
            return max(self.energy_wh, 0)
        target, current, battery = self.target_soc_pct, self.current_soc_pct, self.battery_wh
        if target is None or current is None or battery is None:
            return None
        missing = (target - current) / 100 * battery
        return max(math.ceil(missing), 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanWindow:
    """A time to charge: from ``start`` to ``end`` at ``current_a`` (``power_w``), ``energy_wh``."""

    start: datetime
    end: datetime
    current_a: float
    power_w: float
    energy_wh: int

    def covers(self, at: datetime) -> bool:
        """``at`` lies within the window."""
        return self.start <= at < self.end

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "current_a": self.current_a,
            "power_w": self.power_w,
            "energy_wh": self.energy_wh,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlanWindow:
        """Read :meth:`to_dict`'s form."""
        return cls(
            start=_time(data["start"]),
            end=_time(data["end"]),
            current_a=float(data["current_a"]),
            power_w=float(data["power_w"]),
            energy_wh=int(data["energy_wh"]),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PlannedSlot:
    """The Wh planned in one UTC quarter-hour and the spot price used (``None``: not known)."""

    start: datetime
    energy_wh: int
    price: Decimal | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "start": self.start.isoformat(),
            "energy_wh": self.energy_wh,
            "price": None if self.price is None else str(self.price),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlannedSlot:
        """Read :meth:`to_dict`'s form."""
        return cls(
            start=_time(data["start"]),
            energy_wh=int(data["energy_wh"]),
            price=to_decimal(data.get("price")),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Plan:
    """A charging plan (see the module docstring).

    ``cost`` is the expected cost (``None`` without a tariff), priced like the session will be;
    ``prices_used`` are the price intervals of the horizon (what the plan knew).
    ``outside_windows_a`` is the current outside the windows: 0 (paused), or ``None`` (no opinion:
    solar-first lets the site budget decide; a ``done`` plan, or one that ``needs_target``, wants
    nothing of the charger at all).
    """

    mode: PlanMode
    state: PlanState
    created_at: datetime
    ready_by: datetime | None
    needed_wh: int
    windows: tuple[PlanWindow, ...] = ()
    slots: tuple[PlannedSlot, ...] = ()
    cost: SessionCost | None = None
    prices_used: tuple[PriceInterval, ...] = ()
    outside_windows_a: float | None = 0.0
    member_id: str | None = None

    @property
    def energy_wh(self) -> int:
        """The energy planned (Wh)."""
        return sum(window.energy_wh for window in self.windows)

    @property
    def start(self) -> datetime | None:
        """When charging starts (the first window's start)."""
        return self.windows[0].start if self.windows else None

    @property
    def finish(self) -> datetime | None:
        """When charging is expected to finish (the last window's end)."""
        return self.windows[-1].end if self.windows else None

    @property
    def expected_cost(self) -> Decimal | None:
        """The expected cost incl. VAT (``None`` without a tariff)."""
        return None if self.cost is None else self.cost.total

    @property
    def leaves_charger_alone(self) -> bool:
        """The plan wants nothing of the charger: no window and no current outside them."""
        return not self.windows and self.outside_windows_a is None

    @property
    def provisional(self) -> bool:
        """Prices for part of the horizon were missing when it was made."""
        return self.state is PlanState.PROVISIONAL

    def window_at(self, at: datetime) -> PlanWindow | None:
        """The window containing ``at``, if any."""
        for window in self.windows:
            if window.covers(at):
                return window
        return None

    def current_at(self, at: datetime) -> float | None:
        """The current the plan wants at ``at``: the window's, else :attr:`outside_windows_a`."""
        window = self.window_at(at)
        return window.current_a if window is not None else self.outside_windows_a

    def charging_at(self, at: datetime) -> bool:
        """The plan charges at ``at``."""
        return self.window_at(at) is not None

    def next_change(self, after: datetime) -> datetime | None:
        """The next window start or end after ``after``."""
        moments = sorted({w.start for w in self.windows} | {w.end for w in self.windows})
        return next((moment for moment in moments if moment > after), None)

    def planned_wh_until(self, at: datetime) -> int:
        """The Wh the plan expects delivered by ``at`` (linear within a window)."""
        total = 0.0
        for window in self.windows:
            if at >= window.end:
                total += window.energy_wh
            elif at > window.start:
                share = (at - window.start) / (window.end - window.start)
                total += window.energy_wh * share
        return round(total)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, read back by :meth:`from_dict` (the cost is priced again)."""
        return {
            "version": PLAN_FORMAT,
            "mode": self.mode.value,
            "state": self.state.value,
            "created_at": self.created_at.isoformat(),
            "ready_by": None if self.ready_by is None else self.ready_by.isoformat(),
            "needed_wh": self.needed_wh,
            "windows": [window.to_dict() for window in self.windows],
            "slots": [slot.to_dict() for slot in self.slots],
            "cost": None if self.cost is None else self.cost.to_dict(),
            "outside_windows_a": self.outside_windows_a,
            "member_id": self.member_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Plan:
        """Read :meth:`to_dict`'s form; ``ValueError`` when it cannot be read."""
        if data.get("version") != PLAN_FORMAT:
            raise ValueError(f"unknown plan format {data.get('version')!r}")
        try:
            ready_by = data.get("ready_by")
            outside = data.get("outside_windows_a")
            if data["state"] == PlanState.NEEDS_TARGET:
                outside = None  # stored with a pause by an older version: never a 0 A command
            cost = data.get("cost")
            return cls(
                mode=PlanMode(data["mode"]),
                state=PlanState(data["state"]),
                created_at=_time(data["created_at"]),
                ready_by=None if ready_by is None else _time(ready_by),
                needed_wh=int(data["needed_wh"]),
                windows=tuple(PlanWindow.from_dict(w) for w in data.get("windows", ())),
                slots=tuple(PlannedSlot.from_dict(s) for s in data.get("slots", ())),
                cost=None if cost is None else SessionCost.from_dict(cost),
                outside_windows_a=None if outside is None else float(outside),
                member_id=data.get("member_id"),
            )
        except (KeyError, TypeError) as err:
            raise ValueError(f"malformed plan: {err}") from None


def _time(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"not an ISO time: {value!r}")
    at = datetime.fromisoformat(value)
    if at.tzinfo is None:
        raise ValueError(f"no time zone: {value!r}")
    return at.astimezone(UTC)


# --- the grid ------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Slot:
    """One quarter-hour of the horizon (the first and last may be cut by now / ready-by)."""

    index: int
    start: datetime  # the UTC quarter-hour
    begin: datetime  # when charging can begin in it (now, in the first)
    end: datetime  # when it ends (ready-by, in the last)
    capacity_wh: int
    spot: Decimal | None  # the source's price, None when unknown
    rank: Decimal  # the unit price incl. VAT used to compare slots (fallback when unknown)
    allowed: bool


def _grid(
    now: datetime,
    until: datetime,
    request: PlanRequest,
    limits: ChargerLimits,
    series: PriceSeries,
    tariff: Tariff | None,
    tz: tzinfo,
) -> list[_Slot]:
    group: TariffGroup | None = (
        None if tariff is None else tariff.resolve_group(request.tariff_group)[1]
    )
    power = limits.max_power_w
    slots: list[_Slot] = []
    at = slot_start(now)
    intervals = series.between(at, until) if until > at else ()
    cursor = 0
    while at < until:
        begin, end = max(at, now), min(at + SLOT_LENGTH, until)
        while cursor < len(intervals) and intervals[cursor].end <= at:
            cursor += 1
        interval = intervals[cursor] if cursor < len(intervals) else None
        spot = interval.price if interval is not None and interval.covers(at) else None
        if tariff is not None and interval is not None and interval.currency != tariff.currency:
            spot = None
        seconds = (end - begin).total_seconds()
        local = at.astimezone(tz)
        slots.append(
            _Slot(
                index=len(slots),
                start=at,
                begin=begin,
                end=end,
                capacity_wh=int(power * seconds / _HOUR_S),
                spot=spot,
                rank=_unit_price(spot, at, tariff, group, tz),
                allowed=not request.allowed_hours
                or any(hours.allows(local) for hours in request.allowed_hours),
            )
        )
        at += SLOT_LENGTH
    return slots


def _unit_price(
    spot: Decimal | None,
    at: datetime,
    tariff: Tariff | None,
    group: TariffGroup | None,
    tz: tzinfo,
) -> Decimal:
    """What a kWh costs in a slot incl. VAT (the tariff's energy price and time-of-day surcharge;
    the spot price alone without a tariff; the fallback price when the spot price is unknown)."""
    if tariff is None:
        return spot if spot is not None else Decimal(0)
    assert group is not None
    if spot is None and tariff.needs_spot(group):
        spot = tariff.fallback_price if tariff.fallback_price is not None else Decimal(0)
    unit = tariff.energy_price(spot, at, tz, group).excl_vat
    if group.operator_fees and tariff.time_of_day is not None:
        unit += tariff.time_of_day.price_at(at, tz)
    return unit * (1 + tariff.vat_rate)


# --- choosing slots ------------------------------------------------------------------------------


def _cheapest(
    slots: Sequence[_Slot], needed: int, min_slots: int, min_share: float = 0.0
) -> dict[int, int]:
    """Wh per chosen slot index: the cheapest slots, no run shorter than ``min_slots``.

    Known prices first: a slot without a price is only taken when the known ones cannot give the
    energy. Greedy: the cheapest of (a) growing a run by a free neighbour and (b) opening a new run
    of ``min_slots`` free slots (by its average price); ties go to the earlier slot.
    """
    known = [slot for slot in slots if slot.allowed and slot.spot is not None and slot.capacity_wh]
    chosen = _grow(slots, known, needed, min_slots, {}, min_share)
    got = sum(chosen.values())
    if got < needed:
        unknown = [s for s in slots if s.allowed and s.spot is None and s.capacity_wh]
        chosen = _grow(slots, [*known, *unknown], needed, min_slots, chosen, min_share)
    return chosen


def _grow(
    slots: Sequence[_Slot],
    pool: Sequence[_Slot],
    needed: int,
    min_slots: int,
    chosen: dict[int, int],
    min_share: float,
) -> dict[int, int]:
    chosen = dict(chosen)
    free = {slot.index for slot in pool} - set(chosen)
    remaining = needed - sum(chosen.values())
    # New runs: every run of min_slots free pool slots, by average rank then start.
    blocks: list[tuple[Decimal, int]] = []
    for first in range(len(slots) - min_slots + 1):
        indexes = range(first, first + min_slots)
        if all(index in free for index in indexes):
            average = sum((slots[i].rank for i in indexes), Decimal(0)) / min_slots
            blocks.append((average, first))
    blocks.sort()
    block_at = 0
    edges: list[tuple[Decimal, int]] = []

    def add_edges(index: int) -> None:
        for neighbour in (index - 1, index + 1):
            if neighbour in free:
                heapq.heappush(edges, (slots[neighbour].rank, neighbour))

    for index in chosen:
        add_edges(index)
    while remaining > 0:
        while edges and edges[0][1] not in free:
            heapq.heappop(edges)
        while block_at < len(blocks) and not all(
            index in free for index in range(blocks[block_at][1], blocks[block_at][1] + min_slots)
        ):
            block_at += 1
        edge = edges[0] if edges else None
        block = blocks[block_at] if block_at < len(blocks) else None
        if edge is None and block is None:
            break
        if block is None or (edge is not None and edge[0] <= block[0]):
            assert edge is not None
            heapq.heappop(edges)
            taken = [edge[1]]
        else:
            taken = list(range(block[1], block[1] + min_slots))
            block_at += 1
            if _spread(slots, taken, remaining, chosen, min_share):
                free.difference_update(taken)
                remaining = 0
                break
        for index in taken:
            free.discard(index)
            energy = min(slots[index].capacity_wh, remaining)
            if energy > 0:
                chosen[index] = energy
                remaining -= energy
            add_edges(index)
    return chosen


def _spread(
    slots: Sequence[_Slot],
    taken: Sequence[int],
    remaining: int,
    chosen: dict[int, int],
    min_share: float,
) -> bool:
    """Spread the last ``remaining`` Wh evenly over a new run that would hold more (a lower
    current for the whole minimum window); ``False`` when that run is not larger, or the current
    would fall below ``min_share`` of the maximum (the charger's minimum)."""
    capacity = sum(slots[index].capacity_wh for index in taken)
    if remaining >= capacity or len(taken) < 2 or remaining < capacity * min_share:
        return False
    left = remaining
    for position, index in enumerate(taken):
        share = (
            left if position == len(taken) - 1 else remaining * slots[index].capacity_wh // capacity
        )
        chosen[index] = share
        left -= share
    return True


def _continuous(slots: Sequence[_Slot], needed: int) -> dict[int, int]:
    """Wh per slot of the one run that gives ``needed`` at the lowest cost (ties: earliest).

    A run's cost is weighed by the Wh it would draw in each slot (the last one partly used); a run
    within known prices beats one that needs unknown ones.
    """
    best: tuple[tuple[int, Decimal, int], dict[int, int]] | None = None
    usable = [slot.allowed and slot.capacity_wh > 0 for slot in slots]
    for first in range(len(slots)):
        if not usable[first]:
            continue
        fill: dict[int, int] = {}
        remaining = needed
        cost = Decimal(0)
        index = first
        while remaining > 0 and index < len(slots) and usable[index]:
            energy = min(slots[index].capacity_wh, remaining)
            fill[index] = energy
            remaining -= energy
            cost += slots[index].rank * energy
            index += 1
        if remaining > 0:
            continue
        key = (_unknown(slots, fill), cost, first)
        if best is None or key < best[0]:
            best = (key, fill)
    return {} if best is None else best[1]


def _unknown(slots: Sequence[_Slot], fill: Mapping[int, int]) -> int:
    return sum(1 for index in fill if slots[index].spot is None)


def _from_now(slots: Sequence[_Slot], needed: int) -> dict[int, int]:
    """Wh per slot charging at once at full power until ``needed`` is met."""
    fill: dict[int, int] = {}
    remaining = needed
    for slot in slots:
        if remaining <= 0:
            break
        energy = min(slot.capacity_wh, remaining)
        if energy > 0:
            fill[slot.index] = energy
            remaining -= energy
    return fill


def _under_cap(
    slots: Sequence[_Slot],
    needed: int,
    cap: Decimal,
    min_energy: int,
    min_slots: int,
    min_share: float,
) -> dict[int, int]:
    """The cheapest slots for ``min_energy`` (cap or not), then known slots at or below the cap,
    the cheapest first, until ``needed``."""
    chosen = (
        _cheapest(slots, min(min_energy, needed), min_slots, min_share) if min_energy > 0 else {}
    )
    remaining = needed - sum(chosen.values())
    eligible = sorted(
        (s.rank, s.index)
        for s in slots
        if s.allowed and s.spot is not None and s.rank <= cap and s.index not in chosen
    )
    for _, index in eligible:
        if remaining <= 0:
            break
        energy = min(slots[index].capacity_wh, remaining)
        if energy > 0:
            chosen[index] = energy
            remaining -= energy
    return chosen


# --- windows -------------------------------------------------------------------------------------


def _windows(
    slots: Sequence[_Slot], fill: Mapping[int, int], limits: ChargerLimits
) -> tuple[PlanWindow, ...]:
    """Windows of consecutive chosen slots at full current. A partly used slot inside a run, or
    one of a run spread over a minimum window, gets a lower current (not below the charger's
    minimum); otherwise it charges at full power for part of it: at the start of its run it
    starts late, else it ends early."""
    power = limits.max_power_w
    pieces: list[tuple[datetime, datetime, float, int]] = []
    for index in sorted(fill):
        slot = slots[index]
        energy = fill[index]
        if energy <= 0:
            continue
        if energy >= slot.capacity_wh:
            pieces.append((slot.begin, slot.end, limits.max_current_a, energy))
            continue
        seconds = math.ceil(energy * _HOUR_S / power)
        before, after = index - 1 in fill, index + 1 in fill
        partial_next = any(
            i in fill and fill[i] < slots[i].capacity_wh for i in (index - 1, index + 1)
        )
        amps = round(limits.max_current_a * energy / slot.capacity_wh, 1)
        if ((before and after) or partial_next) and amps >= limits.min_current_a:
            pieces.append((slot.begin, slot.end, amps, energy))
        elif after and not before:
            late = slot.end - timedelta(seconds=seconds)
            pieces.append((late, slot.end, limits.max_current_a, energy))
        else:
            early = slot.begin + timedelta(seconds=seconds)
            pieces.append((slot.begin, early, limits.max_current_a, energy))
    windows: list[PlanWindow] = []
    for start, end, amps, energy in pieces:
        last = windows[-1] if windows else None
        if last is not None and last.end == start and last.current_a == amps:
            windows[-1] = replace(last, end=end, energy_wh=last.energy_wh + energy)
        else:
            windows.append(
                PlanWindow(
                    start=start,
                    end=end,
                    current_a=amps,
                    power_w=limits.power_w(amps),
                    energy_wh=energy,
                )
            )
    return tuple(windows)


# --- the plan ------------------------------------------------------------------------------------


def make_plan(
    request: PlanRequest,
    limits: ChargerLimits,
    prices: PriceSeries,
    tariff: Tariff | None,
    *,
    now: datetime,
    tz: tzinfo = UTC,
) -> Plan:
    """The plan for ``request`` (see the module docstring); deterministic."""
    now = now.astimezone(UTC)
    known = request.needed_wh()
    needed = known or 0
    base = Plan(
        mode=request.mode,
        state=PlanState.OFF,
        created_at=now,
        ready_by=request.ready_by,
        needed_wh=needed,
        member_id=request.member_id,
    )
    if request.mode is PlanMode.OFF:
        return base
    if known is None:
        return replace(base, state=PlanState.NEEDS_TARGET, outside_windows_a=None)
    if needed <= 0:
        # The energy asked for is in the car: it stays paused (the session then costs what the
        # plan showed). A full car's plan leaves the charger alone instead (charge_planning).
        return replace(base, state=PlanState.DONE)
    horizon = _horizon(request, prices, now)
    slots = _grid(now, horizon, request, limits, prices, tariff, tz)
    min_slots = max(1, math.ceil(request.min_window / SLOT_LENGTH))
    state = PlanState.PLANNED
    if request.mode is PlanMode.NOW:
        state = PlanState.CHARGING_NOW
        slots = _grid(now, now + _time_for(needed, limits), request, limits, prices, tariff, tz)
        fill = _from_now(slots, needed)
    else:
        room = sum(slot.capacity_wh for slot in slots if slot.allowed)
        if request.ready_by is not None and room < needed:
            state = PlanState.CANNOT_MEET_READY_BY
            until = max(now + _time_for(needed, limits), horizon)
            slots = _grid(now, until, request, limits, prices, tariff, tz)
            fill = _from_now(slots, needed)
        else:
            if prices.gaps(slot_start(now), horizon):
                state = PlanState.PROVISIONAL
            fill = _choose(request, slots, needed, min_slots, limits)
    windows = _windows(slots, fill, limits)
    planned = tuple(
        PlannedSlot(start=slots[i].start, energy_wh=fill[i], price=slots[i].spot)
        for i in sorted(fill)
        if fill[i] > 0
    )
    end = max(horizon, windows[-1].end) if windows else horizon
    return replace(
        base,
        state=state,
        windows=windows,
        slots=planned,
        cost=plan_cost(planned, prices, tariff, request.tariff_group, tz),
        prices_used=prices.between(slot_start(now), end) if end > now else (),
        outside_windows_a=None if request.mode is PlanMode.SOLAR_FIRST else 0.0,
    )


def _choose(
    request: PlanRequest,
    slots: Sequence[_Slot],
    needed: int,
    min_slots: int,
    limits: ChargerLimits,
) -> dict[int, int]:
    share = limits.min_current_a / limits.max_current_a if limits.max_current_a else 1.0
    match request.mode:
        case PlanMode.CONTINUOUS:
            return _continuous(slots, needed)
        case PlanMode.PRICE_CAP if request.price_cap is not None:
            return _under_cap(
                slots, needed, request.price_cap, request.min_energy_wh, min_slots, share
            )
        case _:
            return _cheapest(slots, needed, min_slots, share)


def _horizon(request: PlanRequest, prices: PriceSeries, now: datetime) -> datetime:
    """Until ready-by; without one, to the end of the known prices (at most 48 h ahead)."""
    if request.ready_by is not None:
        return max(request.ready_by.astimezone(UTC), now)
    last = prices.intervals[-1].end if len(prices) else now
    return min(max(last, now + SLOT_LENGTH), now + MAX_HORIZON)


def _time_for(needed: int, limits: ChargerLimits) -> timedelta:
    """How long ``needed`` Wh takes at full power (rounded up to a quarter-hour, plus one)."""
    seconds = needed * _HOUR_S / limits.max_power_w
    return SLOT_LENGTH * (math.ceil(seconds / _SLOT_S) + 1)


def plan_cost(
    slots: Sequence[PlannedSlot],
    prices: PriceSeries,
    tariff: Tariff | None,
    group: str | None,
    tz: tzinfo = UTC,
) -> SessionCost | None:
    """What the planned Wh cost, priced exactly like a session's slots (``None`` w/o a tariff)."""
    if tariff is None:
        return None
    energy = [
        EnergySlot(session_id=PLAN_SESSION_ID, start=slot.start, energy_wh=slot.energy_wh)
        for slot in slots
    ]
    return price_session(energy, prices, tariff, group, SessionFacts(tz=tz))


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanDeviation:
    """A charger that does not follow its plan: energy outside a window or none inside."""

    kind: str  # "outside_window" or "none_inside"
    since: datetime


@dataclass(slots=True)
class DeviationWatch:
    """Watches whether a charger follows its plan; reports a deviation once per plan.

    Fed with power readings: power above ``threshold_w`` outside every window, or at most that
    inside one, for longer than ``grace`` is a deviation.
    """

    grace: timedelta = timedelta(minutes=10)
    threshold_w: float = 300.0
    _kind: str | None = None
    _since: datetime | None = None
    reported: bool = False

    def reset(self) -> None:
        """A new plan: watch afresh."""
        self._kind, self._since, self.reported = None, None, False

    def observe(self, plan: Plan, at: datetime, power_w: float | None) -> PlanDeviation | None:
        """A reading; the deviation when it is due now (once), else ``None``."""
        if power_w is None:
            kind = None
        else:
            inside = plan.window_at(at)
            if inside is None and plan.outside_windows_a is None:
                kind = None  # solar first: the budget decides outside the windows
            elif inside is None:
                kind = "outside_window" if power_w > self.threshold_w else None
            else:
                kind = "none_inside" if power_w <= self.threshold_w else None
        if kind != self._kind:
            self._kind, self._since = kind, at if kind else None
            return None
        if kind is None or self._since is None or self.reported:
            return None
        if at - self._since >= self.grace:
            self.reported = True
            return PlanDeviation(kind=kind, since=self._since)
        return None


__all__ = [
    "MAX_HORIZON",
    "PLAN_FORMAT",
    "PLAN_SESSION_ID",
    "AllowedHours",
    "ChargerLimits",
    "DeviationWatch",
    "Plan",
    "PlanDeviation",
    "PlanMode",
    "PlanRequest",
    "PlanState",
    "PlanWindow",
    "PlannedSlot",
    "make_plan",
    "plan_cost",
]
