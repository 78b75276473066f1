"""Member preferences for planned charging, and recommendations learned from their sessions.

* :class:`MemberPreferences` - what a member set (stored in their member subentry): a default
  ready-by time per weekday, a default energy or target SoC, the mode, a price cap and the hours
  charging is allowed in;
* :func:`learn_habits` - from the member's own stored sessions: the typical plug-in and departure
  (unplug) time and the typical energy, for weekdays and for weekends, each with the number of
  sessions it is based on;
* :func:`recommend` - a :class:`Recommendation` from those habits ("you usually unplug at 07:10 on
  weekdays: ready-by 07:00?"), offered once there is enough evidence;
* :func:`effective_defaults` - what a plan for the member uses: their own settings, else the
  learned habit;
* :class:`WeekReadyBy` - the ready-by of each weekday as a form shows it: one time for
  weekdays, one for the weekend, and the days that differ.

Pure and deterministic, no Home Assistant. Times of day are local (the site's time zone).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, tzinfo
from decimal import Decimal
import statistics
from types import MappingProxyType
from typing import Any, Protocol

from .planner import AllowedHours, PlanMode
from .prices import to_decimal

#: The version of :meth:`MemberPreferences.to_dict`'s form.
PREFERENCES_FORMAT = 1
#: Fewer sessions than this in a group give no recommendation.
MIN_EVIDENCE = 4
#: Sessions older than this are not learned from.
LEARN_WINDOW = timedelta(days=120)
#: Sessions plugged in shorter than this (a quick top-up) say nothing about departures.
MIN_STAY = timedelta(minutes=30)
WEEKDAY_GROUP = "weekdays"
WEEKEND_GROUP = "weekend"
_GROUP_DAYS: Mapping[str, frozenset[int]] = MappingProxyType(
    {WEEKDAY_GROUP: frozenset(range(5)), WEEKEND_GROUP: frozenset({5, 6})}
)


def _hhmm(value: time) -> str:
    return value.strftime("%H:%M")


def _read_time(value: object) -> time | None:
    if isinstance(value, time):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return time.fromisoformat(value.strip())
        except ValueError:
            return None
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberPreferences:
    """A member's own settings for planned charging (everything optional)."""

    #: Ready-by per weekday (0 = Monday .. 6 = Sunday), local time.
    ready_by: Mapping[int, time] = field(default_factory=lambda: MappingProxyType({}))
    energy_wh: int | None = None
    target_soc_pct: float | None = None
    mode: PlanMode | None = None
    price_cap: Decimal | None = None
    allowed_hours: tuple[AllowedHours, ...] = ()

    @property
    def is_empty(self) -> bool:
        """Nothing set."""
        return self == MemberPreferences()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (for the member subentry's data)."""
        return {
            "version": PREFERENCES_FORMAT,
            "ready_by": {str(day): _hhmm(at) for day, at in sorted(self.ready_by.items())},
            "energy_wh": self.energy_wh,
            "target_soc_pct": self.target_soc_pct,
            "mode": None if self.mode is None else self.mode.value,
            "price_cap": None if self.price_cap is None else str(self.price_cap),
            "allowed_hours": [
                {"start": _hhmm(hours.start), "end": _hhmm(hours.end)}
                for hours in self.allowed_hours
            ],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> MemberPreferences:
        """Read :meth:`to_dict`'s form leniently (what cannot be read is left unset)."""
        if not data:
            return cls()
        ready_by: dict[int, time] = {}
        raw = data.get("ready_by")
        for day, value in raw.items() if isinstance(raw, Mapping) else ():
            at = _read_time(value)
            if at is not None and str(day).isdigit() and 0 <= int(day) <= 6:
                ready_by[int(day)] = at
        energy = data.get("energy_wh")
        soc = data.get("target_soc_pct")
        mode = data.get("mode")
        hours: list[AllowedHours] = []
        for item in data.get("allowed_hours") or ():
            if isinstance(item, Mapping):
                start, end = _read_time(item.get("start")), _read_time(item.get("end"))
                if start is not None and end is not None and start != end:
                    hours.append(AllowedHours(start=start, end=end))
        return cls(
            ready_by=MappingProxyType(ready_by),
            energy_wh=int(energy) if isinstance(energy, int | float) and energy > 0 else None,
            target_soc_pct=float(soc) if isinstance(soc, int | float) and 0 < soc <= 100 else None,
            mode=PlanMode(mode) if mode in {m.value for m in PlanMode} else None,
            price_cap=to_decimal(data.get("price_cap")),
            allowed_hours=tuple(hours),
        )


def _shared_time(ready_by: Mapping[int, time], days: Iterable[int]) -> time | None:
    """The time most of ``days`` have (the earliest day's on a tie); ``None`` unless every day
    has one."""
    times = [ready_by.get(day) for day in sorted(days)]
    known = [at for at in times if at is not None]
    if not known or len(known) < len(times):
        return None
    return max(known, key=known.count)  # max keeps the first of equal counts


@dataclass(frozen=True, slots=True, kw_only=True)
class WeekReadyBy:
    """A member's ready-by per weekday as the member form shows it: a time for weekdays
    (Monday-Friday), one for the weekend, and the days (0 = Monday .. 6 = Sunday) whose own
    time differs; a day's own time wins, a day without one takes its group's."""

    weekdays: time | None = None
    weekend: time | None = None
    days: Mapping[int, time] = field(default_factory=lambda: MappingProxyType({}))

    def ready_by(self) -> Mapping[int, time]:
        """Each day's ready-by (days with neither their own nor a group time left out)."""
        result: dict[int, time] = {}
        for group, at in ((WEEKDAY_GROUP, self.weekdays), (WEEKEND_GROUP, self.weekend)):
            if at is not None:
                result.update(dict.fromkeys(_GROUP_DAYS[group], at))
        result.update({day: at for day, at in self.days.items() if 0 <= day <= 6})
        return MappingProxyType(dict(sorted(result.items())))

    @classmethod
    def of(cls, ready_by: Mapping[int, time]) -> WeekReadyBy:
        """The form of stored per-day times: per group the time most of its days share (only
        when every day of the group has one), the other days as their own
        (``WeekReadyBy.of(x).ready_by() == x``)."""
        weekdays = _shared_time(ready_by, _GROUP_DAYS[WEEKDAY_GROUP])
        weekend = _shared_time(ready_by, _GROUP_DAYS[WEEKEND_GROUP])
        days: dict[int, time] = {}
        for day, at in sorted(ready_by.items()):
            shared = weekdays if day < 5 else weekend
            if at != shared:
                days[day] = at
        return cls(weekdays=weekdays, weekend=weekend, days=MappingProxyType(days))


class PastSession(Protocol):
    """What learning needs of a stored session (``core.model.Session`` has it)."""

    @property
    def plugged_in_at(self) -> datetime:
        """When the car was plugged in (UTC)."""

    @property
    def unplugged_at(self) -> datetime | None:
        """When it was unplugged (UTC), ``None`` while still plugged in."""

    @property
    def energy_wh(self) -> int:
        """The energy charged."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Habit:
    """A member's typical session in a group of days (weekdays or weekend)."""

    group: str
    sessions: int  # how many sessions it is based on
    plug_in: time  # median local plug-in time
    departure: time  # median local unplug time
    energy_wh: int  # median energy per session

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "group": self.group,
            "sessions": self.sessions,
            "plug_in": _hhmm(self.plug_in),
            "departure": _hhmm(self.departure),
            "energy_wh": self.energy_wh,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Recommendation:
    """A suggestion for a member: ready-by on ``group``'s days, and an energy, with evidence."""

    group: str
    days: frozenset[int]
    departure: time  # the typical departure it is based on
    ready_by: time  # the suggested ready-by (departure, down to the quarter-hour)
    energy_wh: int
    sessions: int  # the evidence

    def apply(self, preferences: MemberPreferences) -> MemberPreferences:
        """``preferences`` with this ready-by on its days (and the energy when none is set)."""
        ready_by = dict(preferences.ready_by)
        for day in self.days:
            ready_by[day] = self.ready_by
        energy = preferences.energy_wh
        if energy is None and preferences.target_soc_pct is None:
            energy = self.energy_wh
        return MemberPreferences(
            ready_by=MappingProxyType(ready_by),
            energy_wh=energy,
            target_soc_pct=preferences.target_soc_pct,
            mode=preferences.mode,
            price_cap=preferences.price_cap,
            allowed_hours=preferences.allowed_hours,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (repair placeholders, action responses)."""
        return {
            "group": self.group,
            "departure": _hhmm(self.departure),
            "ready_by": _hhmm(self.ready_by),
            "energy_wh": self.energy_wh,
            "sessions": self.sessions,
        }


def _minutes(local: datetime) -> int:
    return local.hour * 60 + local.minute


def _clock(minutes: float) -> time:
    whole = round(minutes) % (24 * 60)
    return time(whole // 60, whole % 60)


def learn_habits(sessions: Iterable[PastSession], tz: tzinfo, *, now: datetime) -> dict[str, Habit]:
    """The member's habits per group of days, from ``sessions`` of the last
    :data:`LEARN_WINDOW` that were plugged in at least :data:`MIN_STAY` (grouped by the day of
    departure; plug-in times on the departure's day count as minutes before midnight).
    """
    grouped: dict[str, list[tuple[int, int, int]]] = {WEEKDAY_GROUP: [], WEEKEND_GROUP: []}
    for session in sessions:
        unplugged = session.unplugged_at
        if unplugged is None or session.plugged_in_at < now - LEARN_WINDOW:
            continue
        if unplugged - session.plugged_in_at < MIN_STAY:
            continue
        leave = unplugged.astimezone(tz)
        plug = session.plugged_in_at.astimezone(tz)
        plug_minutes = _minutes(plug)
        if plug.date() < leave.date():
            plug_minutes -= 24 * 60  # the evening before: keep the order around midnight
        group = WEEKDAY_GROUP if leave.weekday() < 5 else WEEKEND_GROUP
        grouped[group].append((plug_minutes, _minutes(leave), session.energy_wh))
    habits: dict[str, Habit] = {}
    for group, rows in grouped.items():
        if not rows:
            continue
        habits[group] = Habit(
            group=group,
            sessions=len(rows),
            plug_in=_clock(statistics.median_low(row[0] for row in rows)),
            departure=_clock(statistics.median_low(row[1] for row in rows)),
            energy_wh=int(statistics.median_low(row[2] for row in rows)),
        )
    return habits


def recommend(
    habits: Mapping[str, Habit],
    preferences: MemberPreferences,
    *,
    min_evidence: int = MIN_EVIDENCE,
) -> Recommendation | None:
    """A recommendation from the habits with enough evidence (weekdays first), unless the
    member's ready-by on those days already says so."""
    for group in (WEEKDAY_GROUP, WEEKEND_GROUP):
        habit = habits.get(group)
        if habit is None or habit.sessions < min_evidence:
            continue
        minutes = habit.departure.hour * 60 + habit.departure.minute
        ready_by = _clock(minutes - minutes % 15)
        days = _GROUP_DAYS[group]
        if all(preferences.ready_by.get(day) == ready_by for day in days):
            continue
        return Recommendation(
            group=group,
            days=days,
            departure=habit.departure,
            ready_by=ready_by,
            energy_wh=habit.energy_wh,
            sessions=habit.sessions,
        )
    return None


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanDefaults:
    """What a plan for the member starts from, and where each value came from."""

    ready_by: datetime | None
    energy_wh: int | None
    target_soc_pct: float | None
    mode: PlanMode
    price_cap: Decimal | None
    allowed_hours: tuple[AllowedHours, ...]
    learned: bool  # ready-by or energy came from the habits


def effective_defaults(
    preferences: MemberPreferences,
    habits: Mapping[str, Habit],
    *,
    now: datetime,
    tz: tzinfo,
    min_evidence: int = MIN_EVIDENCE,
) -> PlanDefaults:
    """The member's own settings; where they set nothing, the learned habit (with enough
    evidence). The ready-by is the next one: tomorrow's departure when plugged in tonight."""
    learned = False
    ready_by: datetime | None = None
    today = now.astimezone(tz).date()
    for offset in (0, 1):
        day = today + timedelta(days=offset)
        at = preferences.ready_by.get(day.weekday())
        from_habit = False
        if at is None:
            habit = habits.get(WEEKDAY_GROUP if day.weekday() < 5 else WEEKEND_GROUP)
            if habit is not None and habit.sessions >= min_evidence:
                at, from_habit = habit.departure, True
        if at is None:
            continue
        candidate = datetime.combine(day, at, tzinfo=tz)
        if candidate > now:
            ready_by, learned = candidate, from_habit
            break
    energy = preferences.energy_wh
    if energy is None and preferences.target_soc_pct is None:
        typical = [h for h in habits.values() if h.sessions >= min_evidence]
        if typical:
            energy = max(h.energy_wh for h in typical)
            learned = True
    return PlanDefaults(
        ready_by=ready_by,
        energy_wh=energy,
        target_soc_pct=preferences.target_soc_pct,
        mode=preferences.mode or PlanMode.CHEAPEST,
        price_cap=preferences.price_cap,
        allowed_hours=preferences.allowed_hours,
        learned=learned,
    )


__all__ = [
    "LEARN_WINDOW",
    "MIN_EVIDENCE",
    "MIN_STAY",
    "PREFERENCES_FORMAT",
    "WEEKDAY_GROUP",
    "WEEKEND_GROUP",
    "Habit",
    "MemberPreferences",
    "PastSession",
    "PlanDefaults",
    "Recommendation",
    "WeekReadyBy",
    "effective_defaults",
    "learn_habits",
    "recommend",
]
