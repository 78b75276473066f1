"""Price series: lookups, gaps, completeness per local day, fixed and time-of-use prices."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from custom_components.ev_sessions.core import (
    WEEKDAYS,
    WEEKEND,
    PriceInterval,
    PriceSeries,
    TouSchedule,
    TouScheduleError,
    TouSeason,
    TouWindow,
    day_complete,
    day_length,
    fixed_prices,
    intervals_in_day,
    local_day_bounds,
    to_decimal,
    tou_prices,
)

STHLM = ZoneInfo("Europe/Stockholm")
FETCHED = datetime(2026, 1, 1, tzinfo=UTC)
QUARTER = timedelta(minutes=15)
HOUR = timedelta(hours=1)


def interval(
    start: datetime,
    price: str,
    *,
    length: timedelta = QUARTER,
    fetched_at: datetime = FETCHED,
    estimated: bool = False,
) -> PriceInterval:
    """An interval of the test's source."""
    return PriceInterval(
        source="test",
        start=start,
        length=length,
        price=Decimal(price),
        currency="SEK",
        fetched_at=fetched_at,
        estimated=estimated,
    )


def test_dst_days_have_92_and_100_quarter_hours() -> None:
    """Stockholm 2026: 29 March has 23 hours, 25 October 25 hours, other days 24."""
    assert day_length(date(2026, 3, 29), STHLM) == timedelta(hours=23)
    assert day_length(date(2026, 10, 25), STHLM) == timedelta(hours=25)
    assert intervals_in_day(date(2026, 3, 29), STHLM) == 92
    assert intervals_in_day(date(2026, 10, 25), STHLM) == 100
    assert intervals_in_day(date(2026, 10, 26), STHLM) == 96
    assert intervals_in_day(date(2026, 10, 25), STHLM, HOUR) == 25
    assert local_day_bounds(date(2026, 3, 29), STHLM) == (
        datetime(2026, 3, 28, 23, 0, tzinfo=UTC),
        datetime(2026, 3, 29, 22, 0, tzinfo=UTC),
    )


def test_lookup_gaps_and_completeness() -> None:
    """at() finds the interval containing an instant; gaps() and complete_for() see holes."""
    start, _ = local_day_bounds(date(2026, 10, 25), STHLM)
    full = [interval(start + i * QUARTER, str(i)) for i in range(100)]
    series = PriceSeries(full)
    assert series.complete_for(date(2026, 10, 25), STHLM)
    assert day_complete(full, date(2026, 10, 25), STHLM)
    found = series.at(start + 10 * QUARTER + timedelta(minutes=14, seconds=59))
    assert found is not None
    assert found.price == Decimal(10)
    assert series.at(start - timedelta(microseconds=1)) is None
    assert series.at(start + 100 * QUARTER) is None
    # 96 intervals are not enough on a 25-hour day: the last hour is missing.
    short = PriceSeries(full[:96])
    assert not short.complete_for(date(2026, 10, 25), STHLM)
    assert short.missing_for(date(2026, 10, 25), STHLM) == HOUR
    holed = PriceSeries(full[:40] + full[41:])
    assert holed.gaps(start, start + 25 * HOUR) == ((start + 40 * QUARTER, start + 41 * QUARTER),)
    assert not holed.covers(start, start + 25 * HOUR)
    assert holed.covers(start, start + 40 * QUARTER)
    assert [i.price for i in holed.between(start + 39 * QUARTER, start + 42 * QUARTER)] == [
        Decimal(39),
        Decimal(41),
    ]


def test_hourly_intervals_complete_a_day_too() -> None:
    """Completeness is time covered, not a count: 23 hourly prices complete 29 March."""
    start, _ = local_day_bounds(date(2026, 3, 29), STHLM)
    series = PriceSeries(interval(start + i * HOUR, "1", length=HOUR) for i in range(23))
    assert series.complete_for(date(2026, 3, 29), STHLM)
    assert not series.complete_for(date(2026, 3, 30), STHLM)


def test_overlaps_resolved_real_before_estimated_then_latest() -> None:
    """A re-published price replaces the older one; a real price beats an estimate."""
    t0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    old = interval(t0, "1.00")
    newer = interval(t0, "2.00", fetched_at=FETCHED + HOUR)
    estimate = interval(t0, "9.00", fetched_at=FETCHED + 2 * HOUR, estimated=True)
    hourly = interval(t0, "3.00", length=HOUR)  # overlaps the quarter-hours: dropped
    series = PriceSeries([estimate, old, hourly, newer, interval(t0 + QUARTER, "4.00")])
    assert [(i.start, i.price) for i in series] == [
        (t0, Decimal("2.00")),
        (t0 + QUARTER, Decimal("4.00")),
    ]
    assert len(series) == 2


def test_fixed_prices_cover_the_range_on_quarter_hours() -> None:
    """One price for each UTC quarter-hour from the one containing start to end."""
    start = datetime(2026, 1, 5, 10, 7, tzinfo=UTC)
    intervals = fixed_prices(
        Decimal("1.25"), start, start + HOUR, currency="SEK", fetched_at=FETCHED
    )
    assert [i.start for i in intervals] == [
        datetime(2026, 1, 5, 10, m, tzinfo=UTC) for m in (0, 15, 30, 45)
    ] + [datetime(2026, 1, 5, 11, 0, tzinfo=UTC)]
    assert {i.price for i in intervals} == {Decimal("1.25")}
    assert {i.source for i in intervals} == {"fixed"}
    assert PriceSeries(intervals).covers(start, start + HOUR)


def schedule() -> TouSchedule:
    """Peak 06-22 on weekdays, night 22-06 every night, winter peak higher."""
    return TouSchedule(
        default=Decimal("0.50"),
        windows=(
            TouWindow(days=WEEKDAYS, start=time(6), end=time(22), price=Decimal("1.00")),
            TouWindow(days=WEEKEND, start=time(6), end=time(22), price=Decimal("0.70")),
        ),
        seasons=(
            TouSeason(
                months=frozenset({11, 12, 1, 2, 3}),
                default=Decimal("0.60"),
                windows=(
                    TouWindow(days=WEEKDAYS, start=time(6), end=time(22), price=Decimal("1.50")),
                ),
            ),
        ),
    )


def test_tou_price_by_local_time_weekday_and_season() -> None:
    """Prices follow the local wall clock: weekday/weekend windows, seasons by month."""
    tou = schedule()
    assert tou.problems() == []
    # Wed 2026-06-10 06:00 CEST = 04:00 UTC: summer weekday peak.
    assert tou.price_at(datetime(2026, 6, 10, 4, 0, tzinfo=UTC), STHLM) == Decimal("1.00")
    assert tou.price_at(datetime(2026, 6, 10, 3, 59, tzinfo=UTC), STHLM) == Decimal("0.50")
    # Sat 2026-06-13 12:00 local: weekend window.
    assert tou.price_at(datetime(2026, 6, 13, 10, 0, tzinfo=UTC), STHLM) == Decimal("0.70")
    # Mon 2026-01-12 12:00 CET: winter weekday peak; winter weekend: the season's default.
    assert tou.price_at(datetime(2026, 1, 12, 11, 0, tzinfo=UTC), STHLM) == Decimal("1.50")
    assert tou.price_at(datetime(2026, 1, 10, 11, 0, tzinfo=UTC), STHLM) == Decimal("0.60")


def test_tou_series_on_dst_days_follows_the_wall_clock() -> None:
    """Spring (23 h) and autumn (25 h) days: 92/100 quarter-hours, windows by local time."""
    tou = TouSchedule(
        default=Decimal("0.40"),
        windows=(
            TouWindow(days=frozenset(range(7)), start=time(3), end=time(4), price=Decimal(2)),
        ),
    )
    for day, quarters in ((date(2026, 3, 29), 92), (date(2026, 10, 25), 100)):
        start, end = local_day_bounds(day, STHLM)
        intervals = tou_prices(tou, start, end, STHLM, currency="SEK", fetched_at=FETCHED)
        assert len(intervals) == quarters
        assert PriceSeries(intervals).complete_for(day, STHLM)
        expensive = [i.start.astimezone(STHLM).time() for i in intervals if i.price == 2]
        # 03:00-04:00 local exists once on both days: four quarter-hours.
        assert expensive == [time(3, 0), time(3, 15), time(3, 30), time(3, 45)]
    # The autumn day's repeated hour 02:00-03:00 appears twice (eight quarter-hours).
    start, end = local_day_bounds(date(2026, 10, 25), STHLM)
    intervals = tou_prices(tou, start, end, STHLM, currency="SEK", fetched_at=FETCHED)
    assert sum(1 for i in intervals if i.start.astimezone(STHLM).hour == 2) == 8


def test_window_across_midnight_belongs_to_its_start_day() -> None:
    """Friday 22:00-06:00 covers Saturday 00:00-06:00 but not Sunday night."""
    night = TouWindow(days=frozenset({4}), start=time(22), end=time(6), price=Decimal(1))
    assert night.matches(datetime(2026, 6, 12, 23, 0))  # noqa: DTZ001 - wall clock
    assert night.matches(datetime(2026, 6, 13, 5, 45))  # noqa: DTZ001
    assert not night.matches(datetime(2026, 6, 13, 6, 0))  # noqa: DTZ001
    assert not night.matches(datetime(2026, 6, 13, 23, 0))  # noqa: DTZ001
    assert not night.matches(datetime(2026, 6, 12, 21, 45))  # noqa: DTZ001
    until_midnight = TouWindow(days=WEEKDAYS, start=time(18), end=time(0), price=Decimal(1))
    assert until_midnight.matches(datetime(2026, 6, 12, 23, 45))  # noqa: DTZ001
    assert not until_midnight.matches(datetime(2026, 6, 13, 0, 0))  # noqa: DTZ001


def test_schedule_json_round_trip_and_clear_errors() -> None:
    """to_dict/from_dict round trip; every problem is named."""
    tou = schedule()
    assert TouSchedule.from_dict(tou.to_dict()) == tou
    short = TouSchedule.from_dict(
        {
            "default": 1,
            "windows": [{"days": "weekend", "start": "08:00", "end": "12:00", "price": "2"}],
        }
    )
    assert short.windows[0].days == WEEKEND
    with pytest.raises(TouScheduleError) as err:
        TouSchedule.from_dict(
            {
                "default": "cheap",
                "windows": [
                    {"days": [0, 9], "start": "25:00", "end": "06:00", "price": "x"},
                    "nonsense",
                ],
                "seasons": [{"months": [0], "default": 1}],
            }
        )
    text = "\n".join(err.value.problems)
    for expected in (
        "default: not a number",
        "windows[0].days: not a day",
        "windows[0].start: not a time",
        "windows[0].price: not a number",
        "windows[1]: not an object",
        "seasons[0].months: not a month",
    ):
        assert expected in text
    with pytest.raises(TouScheduleError, match="overlap on mon 08:00"):
        TouSchedule.from_dict(
            {
                "default": 1,
                "windows": [
                    {"days": "weekdays", "start": "06:00", "end": "09:00", "price": 2},
                    {"days": "all", "start": "08:00", "end": "10:00", "price": 3},
                ],
            }
        )
    with pytest.raises(TouScheduleError, match="not on a quarter-hour"):
        TouSchedule.from_dict(
            {
                "default": 1,
                "windows": [{"days": "all", "start": "06:10", "end": "09:00", "price": 2}],
            }
        )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (0.1, Decimal("0.1")),
        (3, Decimal(3)),
        ("1,25", Decimal("1.25")),
        (Decimal("2.5"), Decimal("2.5")),
        (float("nan"), None),
        (float("inf"), None),
        ("NaN", None),
        ("-Infinity", None),
        (True, None),
        (None, None),
        ("abc", None),
        ([1], None),
    ],
)
def test_to_decimal(value: object, expected: Decimal | None) -> None:
    """Floats keep their published digits; non-finite and non-numbers give None."""
    assert to_decimal(value) == expected
