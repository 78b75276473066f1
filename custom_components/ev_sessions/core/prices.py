"""Electricity prices as they were known: intervals of a price series from one source.

Plain data: the HA glue reads a price source (a fixed price, a time-of-use schedule, a sensor's
attributes or an action's response) and hands the core :class:`PriceInterval` values. Prices are
per kWh in the site's currency, before the tariff's components are added.

* :class:`PriceSeries` - sorted, non-overlapping intervals with lookups and completeness checks: a
  local day counts as complete only when every instant of it has a price (a partly published day is
  incomplete, so a planner never mistakes a missing hour for a cheap one);
* :func:`fixed_prices`, :func:`tou_prices` - series generators for a fixed price and a time-of-use
  schedule (:class:`TouSchedule`), built in local time and converted to UTC, so DST days are right.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any

from .slots import SLOT_LENGTH


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceInterval:
    """One price of a series: valid for ``[start, start + length)``."""

    source: str  # e.g. "fixed", "tou", "sensor.nordpool_kwh_se3_sek", "tibber.get_prices"
    start: datetime  # UTC
    length: timedelta  # 15 or 60 minutes (a fixed price: as long as the slot it priced)
    price: Decimal  # per kWh, in ``currency``
    currency: str
    fetched_at: datetime  # when the hub learned it (UTC)
    estimated: bool = False  # a fallback used because the source had no price

    @property
    def end(self) -> datetime:
        """The interval's end (exclusive)."""
        return self.start + self.length

    def covers(self, at: datetime) -> bool:
        """``at`` lies within this interval."""
        return self.start <= at < self.end


def to_decimal(value: object) -> Decimal | None:
    """``value`` as a finite Decimal, or ``None`` (missing, bool, NaN, infinite or unparsable).

    Floats go through their shortest ``repr`` (``0.1`` becomes ``Decimal("0.1")``, not the binary
    expansion), so a published price keeps the digits it was published with.
    """
    if value is None or isinstance(value, bool):
        return None
    try:
        if isinstance(value, Decimal):
            number = value
        elif isinstance(value, int):
            number = Decimal(value)
        elif isinstance(value, float):
            number = Decimal(repr(value))
        elif isinstance(value, str):
            number = Decimal(value.strip().replace(",", "."))
        else:
            return None
    except InvalidOperation, ValueError:
        return None
    return number if number.is_finite() else None


# --- local days ----------------------------------------------------------------------------------


def local_day_bounds(day: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """The UTC start and end (exclusive) of the local calendar ``day`` in ``tz``."""
    start = datetime.combine(day, time(0), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=tz).astimezone(UTC)
    return start, end


def day_length(day: date, tz: tzinfo) -> timedelta:
    """How long the local ``day`` is: 24 h, or 23 h / 25 h on a DST change."""
    start, end = local_day_bounds(day, tz)
    return end - start


def intervals_in_day(day: date, tz: tzinfo, length: timedelta = SLOT_LENGTH) -> int:
    """How many ``length`` intervals the local ``day`` has (96; 92 or 100 quarter-hours on DST)."""
    return day_length(day, tz) // length


# --- series --------------------------------------------------------------------------------------


class PriceSeries:
    """Price intervals sorted by start, never overlapping.

    Built from any intervals: where two overlap, a real price beats an estimated one and then the
    later ``fetched_at`` wins; the loser is dropped (a re-published price replaces the old one).
    """

    __slots__ = ("_intervals", "_starts")

    def __init__(self, intervals: Iterable[PriceInterval] = ()) -> None:
        """Keep ``intervals``, resolving overlaps as described on the class."""
        ranked = sorted(intervals, key=lambda i: (i.estimated, -i.fetched_at.timestamp()))
        kept: list[PriceInterval] = []
        starts: list[datetime] = []
        for interval in ranked:
            if interval.length <= timedelta(0):
                continue
            index = bisect_right(starts, interval.start)
            if index > 0 and kept[index - 1].end > interval.start:
                continue
            if index < len(kept) and kept[index].start < interval.end:
                continue
            kept.insert(index, interval)
            starts.insert(index, interval.start)
        self._intervals: tuple[PriceInterval, ...] = tuple(kept)
        self._starts: tuple[datetime, ...] = tuple(starts)

    @property
    def intervals(self) -> tuple[PriceInterval, ...]:
        """The intervals, sorted by start."""
        return self._intervals

    def __len__(self) -> int:
        """How many intervals."""
        return len(self._intervals)

    def __iter__(self) -> Iterator[PriceInterval]:
        """The intervals in order."""
        return iter(self._intervals)

    def __repr__(self) -> str:
        """A short description."""
        if not self._intervals:
            return "PriceSeries([])"
        return (
            f"PriceSeries({len(self)} intervals, {self._intervals[0].start.isoformat()}"
            f" .. {self._intervals[-1].end.isoformat()})"
        )

    def at(self, when: datetime) -> PriceInterval | None:
        """The interval containing ``when``, if any."""
        index = bisect_right(self._starts, when) - 1
        if index >= 0 and self._intervals[index].covers(when):
            return self._intervals[index]
        return None

    def between(self, start: datetime, end: datetime) -> tuple[PriceInterval, ...]:
        """The intervals overlapping ``[start, end)``, in order."""
        first = max(bisect_right(self._starts, start) - 1, 0)
        last = bisect_right(self._starts, end - timedelta(microseconds=1))
        return tuple(i for i in self._intervals[first:last] if i.end > start and i.start < end)

    def gaps(self, start: datetime, end: datetime) -> tuple[tuple[datetime, datetime], ...]:
        """The parts of ``[start, end)`` that no interval prices, in order."""
        gaps: list[tuple[datetime, datetime]] = []
        cursor = start
        for interval in self.between(start, end):
            if interval.start > cursor:
                gaps.append((cursor, interval.start))
            cursor = max(cursor, interval.end)
        if cursor < end:
            gaps.append((cursor, end))
        return tuple(gaps)

    def covers(self, start: datetime, end: datetime) -> bool:
        """Every instant of ``[start, end)`` has a price."""
        return not self.gaps(start, end)

    def complete_for(self, day: date, tz: tzinfo) -> bool:
        """The local ``day`` in ``tz`` is priced from its first to its last instant.

        A partly published day (some hours missing, or a 96-quarter day cut short) is incomplete;
        DST days need their 92 or 100 quarter-hours (23 or 25 hours), no more, no fewer.
        """
        return self.covers(*local_day_bounds(day, tz))

    def missing_for(self, day: date, tz: tzinfo) -> timedelta:
        """How much of the local ``day`` has no price."""
        return sum(
            (end - start for start, end in self.gaps(*local_day_bounds(day, tz))), timedelta()
        )


def day_complete(intervals: Iterable[PriceInterval], day: date, tz: tzinfo) -> bool:
    """The local ``day`` has a price for every instant (see :meth:`PriceSeries.complete_for`)."""
    series = intervals if isinstance(intervals, PriceSeries) else PriceSeries(intervals)
    return series.complete_for(day, tz)


# --- fixed price ---------------------------------------------------------------------------------


def _quarters(start: datetime, end: datetime) -> Iterator[datetime]:
    """The UTC quarter-hour boundaries from the one at or before ``start`` up to ``end``."""
    at = start.astimezone(UTC)
    at = at.replace(minute=at.minute - at.minute % 15, second=0, microsecond=0)
    end = end.astimezone(UTC)
    while at < end:
        yield at
        at += SLOT_LENGTH


def fixed_prices(
    price: Decimal,
    start: datetime,
    end: datetime,
    *,
    currency: str,
    fetched_at: datetime,
    source: str = "fixed",
) -> tuple[PriceInterval, ...]:
    """One ``price`` for every UTC quarter-hour overlapping ``[start, end)``."""
    return tuple(
        PriceInterval(
            source=source,
            start=at,
            length=SLOT_LENGTH,
            price=price,
            currency=currency,
            fetched_at=fetched_at,
        )
        for at in _quarters(start, end)
    )


# --- time-of-use schedules -----------------------------------------------------------------------

#: Weekday numbers (``date.weekday()``): Monday 0 .. Sunday 6.
WEEKDAYS: frozenset[int] = frozenset(range(5))
WEEKEND: frozenset[int] = frozenset({5, 6})
ALL_DAYS: frozenset[int] = frozenset(range(7))
_DAY_SETS = {"weekdays": WEEKDAYS, "weekend": WEEKEND, "all": ALL_DAYS}
_DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class TouScheduleError(ValueError):
    """A time-of-use schedule that cannot be read; ``problems`` says each reason."""

    def __init__(self, problems: Sequence[str]) -> None:
        """Carry every problem found."""
        super().__init__("; ".join(problems))
        self.problems = tuple(problems)


def _minutes(at: time) -> int:
    return at.hour * 60 + at.minute


@dataclass(frozen=True, slots=True, kw_only=True)
class TouWindow:
    """``price`` on ``days`` from ``start`` to ``end`` local time.

    ``end`` 00:00 means midnight at the end of the day; an ``end`` at or before ``start`` runs past
    midnight into the next day (a window belongs to the day it starts on: Friday 22:00-06:00 covers
    Saturday 00:00-06:00). Times are on quarter-hours.
    """

    days: frozenset[int]
    start: time
    end: time
    price: Decimal

    def matches(self, local: datetime) -> bool:
        """``local`` (wall-clock time in the schedule's zone) lies in this window."""
        minute = local.hour * 60 + local.minute
        start = _minutes(self.start)
        end = _minutes(self.end) or 24 * 60
        weekday = local.weekday()
        if start < end:
            return weekday in self.days and start <= minute < end
        return (weekday in self.days and minute >= start) or (
            (weekday - 1) % 7 in self.days and minute < end
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "days": sorted(self.days),
            "start": self.start.strftime("%H:%M"),
            "end": self.end.strftime("%H:%M"),
            "price": str(self.price),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], where: str = "window") -> TouWindow:
        """Read :meth:`to_dict`'s form (``days`` may also be "weekdays", "weekend", "all")."""
        problems: list[str] = []
        days = _parse_days(data.get("days", "all"), f"{where}.days", problems)
        start = _parse_time(data.get("start"), f"{where}.start", problems)
        end = _parse_time(data.get("end"), f"{where}.end", problems)
        price = to_decimal(data.get("price"))
        if price is None:
            problems.append(f"{where}.price: not a number: {data.get('price')!r}")
        if problems or start is None or end is None or price is None:
            raise TouScheduleError(problems)
        return cls(days=days, start=start, end=end, price=price)


def _parse_days(value: object, where: str, problems: list[str]) -> frozenset[int]:
    if isinstance(value, str):
        if value.lower() in _DAY_SETS:
            return _DAY_SETS[value.lower()]
        problems.append(f"{where}: unknown day set {value!r} (weekdays, weekend, all or a list)")
        return frozenset()
    if not isinstance(value, Sequence):
        problems.append(f"{where}: not a list of days: {value!r}")
        return frozenset()
    days: set[int] = set()
    for item in value:
        if isinstance(item, str) and item.lower()[:3] in _DAY_NAMES:
            days.add(_DAY_NAMES.index(item.lower()[:3]))
        elif isinstance(item, int) and not isinstance(item, bool) and 0 <= item <= 6:
            days.add(item)
        else:
            problems.append(f"{where}: not a day (0 = Monday .. 6 = Sunday, or mon..sun): {item!r}")
    return frozenset(days)


def _parse_time(value: object, where: str, problems: list[str]) -> time | None:
    if isinstance(value, time):
        return value
    if isinstance(value, str):
        try:
            return time.fromisoformat(value.strip())
        except ValueError:
            pass
    problems.append(f"{where}: not a time of day (HH:MM): {value!r}")
    return None


def _parse_months(value: object, where: str, problems: list[str]) -> frozenset[int]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        problems.append(f"{where}: not a list of months: {value!r}")
        return frozenset()
    months: set[int] = set()
    for item in value:
        if isinstance(item, int) and not isinstance(item, bool) and 1 <= item <= 12:
            months.add(item)
        else:
            problems.append(f"{where}: not a month (1..12): {item!r}")
    return frozenset(months)


def _window_problems(windows: Sequence[TouWindow], where: str) -> list[str]:
    """Windows off the quarter-hour grid, without days, or overlapping each other."""
    problems: list[str] = []
    for index, window in enumerate(windows):
        for name, at in (("start", window.start), ("end", window.end)):
            if at.minute % 15 or at.second or at.microsecond:
                problems.append(f"{where}[{index}].{name}: {at} is not on a quarter-hour")
        if not window.days:
            problems.append(f"{where}[{index}].days: no day selected")
    if problems:
        return problems
    monday = datetime(2024, 1, 1)  # noqa: DTZ001 - a wall-clock grid, no zone needed
    for quarter in range(7 * 96):
        local = monday + quarter * SLOT_LENGTH
        hits = [index for index, window in enumerate(windows) if window.matches(local)]
        if len(hits) > 1:
            day = _DAY_NAMES[local.weekday()]
            problems.append(
                f"{where}: windows {hits[0]} and {hits[1]} overlap on {day} {local:%H:%M}"
            )
            break
    return problems


@dataclass(frozen=True, slots=True, kw_only=True)
class TouSeason:
    """The windows and default price of the months in ``months`` (e.g. winter: 11, 12, 1, 2, 3)."""

    months: frozenset[int]
    default: Decimal
    windows: tuple[TouWindow, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "months": sorted(self.months),
            "default": str(self.default),
            "windows": [window.to_dict() for window in self.windows],
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class TouSchedule:
    """A price per local time: windows on weekdays/weekends, a default, optional seasons by month.

    The price at a local time: the first season whose months include the month (else the
    schedule's own windows and default), then the window containing the time, else the default.
    """

    default: Decimal
    windows: tuple[TouWindow, ...] = ()
    seasons: tuple[TouSeason, ...] = ()

    def price_at(self, at: datetime, tz: tzinfo) -> Decimal:
        """The price at the instant ``at`` (aware), read on the wall clock of ``tz``."""
        local = at.astimezone(tz)
        windows, default = self.windows, self.default
        for season in self.seasons:
            if local.month in season.months:
                windows, default = season.windows, season.default
                break
        for window in windows:
            if window.matches(local):
                return window.price
        return default

    def problems(self) -> list[str]:
        """What is wrong with this schedule (empty when it is fine)."""
        problems = _window_problems(self.windows, "windows")
        seen: set[int] = set()
        for index, season in enumerate(self.seasons):
            if not season.months:
                problems.append(f"seasons[{index}].months: no month selected")
            if season.months & seen:
                months = sorted(season.months & seen)
                problems.append(f"seasons[{index}].months: {months} already in an earlier season")
            seen |= season.months
            problems += _window_problems(season.windows, f"seasons[{index}].windows")
        return problems

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (Decimals as strings)."""
        return {
            "default": str(self.default),
            "windows": [window.to_dict() for window in self.windows],
            "seasons": [season.to_dict() for season in self.seasons],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TouSchedule:
        """Read :meth:`to_dict`'s form; raise :class:`TouScheduleError` with every problem found."""
        problems: list[str] = []
        default = to_decimal(data.get("default"))
        if default is None:
            problems.append(f"default: not a number: {data.get('default')!r}")
        windows = _read_windows(data.get("windows", ()), "windows", problems)
        seasons: list[TouSeason] = []
        raw_seasons = data.get("seasons", ())
        if not isinstance(raw_seasons, Sequence) or isinstance(raw_seasons, str):
            problems.append(f"seasons: not a list: {raw_seasons!r}")
            raw_seasons = ()
        for index, raw in enumerate(raw_seasons):
            where = f"seasons[{index}]"
            if not isinstance(raw, Mapping):
                problems.append(f"{where}: not an object: {raw!r}")
                continue
            months = _parse_months(raw.get("months"), f"{where}.months", problems)
            season_default = to_decimal(raw.get("default", data.get("default")))
            if season_default is None:
                problems.append(f"{where}.default: not a number: {raw.get('default')!r}")
            season_windows = _read_windows(raw.get("windows", ()), f"{where}.windows", problems)
            if season_default is not None:
                seasons.append(
                    TouSeason(months=months, default=season_default, windows=season_windows)
                )
        if problems or default is None:
            raise TouScheduleError(problems)
        schedule = cls(default=default, windows=windows, seasons=tuple(seasons))
        if found := schedule.problems():
            raise TouScheduleError(found)
        return schedule


def _read_windows(value: object, where: str, problems: list[str]) -> tuple[TouWindow, ...]:
    if not isinstance(value, Sequence) or isinstance(value, str):
        problems.append(f"{where}: not a list: {value!r}")
        return ()
    windows: list[TouWindow] = []
    for index, raw in enumerate(value):
        if not isinstance(raw, Mapping):
            problems.append(f"{where}[{index}]: not an object: {raw!r}")
            continue
        try:
            windows.append(TouWindow.from_dict(raw, f"{where}[{index}]"))
        except TouScheduleError as err:
            problems += err.problems
    return tuple(windows)


def tou_prices(
    schedule: TouSchedule,
    start: datetime,
    end: datetime,
    tz: tzinfo,
    *,
    currency: str,
    fetched_at: datetime,
    source: str = "tou",
) -> tuple[PriceInterval, ...]:
    """The schedule's price for every UTC quarter-hour overlapping ``[start, end)``.

    Each quarter-hour is read on the local wall clock of ``tz``: the hour skipped in spring has no
    quarter-hours, the hour repeated in autumn has eight (both at that hour's price).
    """
    return tuple(
        PriceInterval(
            source=source,
            start=at,
            length=SLOT_LENGTH,
            price=schedule.price_at(at, tz),
            currency=currency,
            fetched_at=fetched_at,
        )
        for at in _quarters(start, end)
    )


__all__ = [
    "ALL_DAYS",
    "WEEKDAYS",
    "WEEKEND",
    "PriceInterval",
    "PriceSeries",
    "TouSchedule",
    "TouScheduleError",
    "TouSeason",
    "TouWindow",
    "day_complete",
    "day_length",
    "fixed_prices",
    "intervals_in_day",
    "local_day_bounds",
    "to_decimal",
    "tou_prices",
]
