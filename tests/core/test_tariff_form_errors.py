"""A tariff's and a time-of-use schedule's JSON form: each mistake named with its field.

The options flow shows these (field, code) pairs translated; every one is refused, never
silently read as a default.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import pytest

from custom_components.ev_sessions.core import (
    PriceInterval,
    PriceSeries,
    Tariff,
    TariffError,
    TouSchedule,
    TouScheduleError,
    TouSeason,
    TouWindow,
)

BASE: dict[str, Any] = {"currency": "SEK", "energy": "fixed", "fixed_price": "2"}


def _problems(**changes: Any) -> set[tuple[str, str]]:
    with pytest.raises(TariffError) as err:
        Tariff.from_dict({**BASE, **changes})
    return {(p.field, p.code) for p in err.value.problems}


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        ({"currency": None}, {("currency", "required")}),
        ({"currency": "  "}, {("currency", "required")}),
        ({"currency": 752}, {("currency", "invalid")}),
        ({"time_of_day": "cheap nights"}, {("time_of_day", "not_an_object")}),
        ({"idle_fee": 5}, {("idle_fee", "not_an_object")}),
        (
            {"idle_fee": {"per_minute": "1", "grace_minutes": 1.5}},
            {("idle_fee.grace_minutes", "not_an_integer")},
        ),
        (
            {"idle_fee": {"per_minute": "1", "grace_minutes": -5}},
            {("idle_fee.grace_minutes", "negative")},
        ),
        (
            {"demand": {"connectors": 0, "busy_above": 0}},
            {("demand.connectors", "out_of_range"), ("demand.busy_above", "out_of_range")},
        ),
        (
            {"demand": {}},
            {("demand.connectors", "required"), ("demand.busy_above", "required")},
        ),
        ({"groups": ["household"]}, {("groups", "not_an_object")}),
        (
            {"groups": {"household": {}, "vip": 5}},
            {("groups.vip", "not_an_object")},
        ),
        (
            {"groups": {"household": {}, " ": {}}},
            {("groups. ", "invalid")},
        ),
        (
            {"groups": {"household": {"operator_fees": "yes"}}},
            {("groups.household.operator_fees", "invalid")},
        ),
        (
            {"fast_charging": {"per_speed_class": ["fast"], "power_threshold_w": 11000}},
            {("fast_charging.per_speed_class", "not_an_object")},
        ),
        (
            {"fast_charging": {"per_speed_class": {"fast": "a lot"}, "power_threshold_w": 11000}},
            {("fast_charging.per_speed_class.fast", "not_a_number")},
        ),
        (
            {"time_of_day": {"default": "0", "seasons": [{"months": [1], "default": "-1"}]}},
            {("time_of_day", "negative")},
        ),
    ],
)
def test_tariff_form_mistakes(changes: dict[str, Any], expected: set[tuple[str, str]]) -> None:
    assert _problems(**changes) == expected


def test_a_valid_seasonal_schedule_is_read_into_the_tariff() -> None:
    tariff = Tariff.from_dict(
        {**BASE, "time_of_day": {"default": "0", "seasons": [{"months": [1, 2], "default": "1"}]}}
    )
    assert tariff.time_of_day is not None
    assert tariff.time_of_day.seasons == (TouSeason(months=frozenset({1, 2}), default=Decimal(1)),)


def _schedule_problems(data: dict[str, Any]) -> tuple[str, ...]:
    with pytest.raises(TouScheduleError) as err:
        TouSchedule.from_dict(data)
    return err.value.problems


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"default": 1, "windows": [{"days": "holidays", "start": "00:00", "end": "06:00"}]},
            "windows[0].days: unknown day set 'holidays' (weekdays, weekend, all or a list)",
        ),
        (
            {"default": 1, "windows": [{"days": 5, "start": "00:00", "end": "06:00", "price": 0}]},
            "windows[0].days: not a list of days: 5",
        ),
        (
            {"default": 1, "windows": [{"days": [], "start": "00:00", "end": "06:00", "price": 0}]},
            "windows[0].days: no day selected",
        ),
        ({"default": 1, "seasons": "winter"}, "seasons: not a list: 'winter'"),
        ({"default": 1, "seasons": ["winter"]}, "seasons[0]: not an object: 'winter'"),
        (
            {"default": 1, "seasons": [{"months": "winter"}]},
            "seasons[0].months: not a list of months: 'winter'",
        ),
        (
            {"default": 1, "seasons": [{"months": [1], "default": "cheap"}]},
            "seasons[0].default: not a number: 'cheap'",
        ),
        ({"default": 1, "seasons": [{"months": []}]}, "seasons[0].months: no month selected"),
        (
            {"default": 1, "seasons": [{"months": [11, 12, 1]}, {"months": [1, 2]}]},
            "seasons[1].months: [1] already in an earlier season",
        ),
    ],
)
def test_schedule_form_mistakes(data: dict[str, Any], expected: str) -> None:
    assert expected in _schedule_problems(data)


def test_days_by_name_and_times_as_objects() -> None:
    """Day names are read by their first three letters; a window built in code keeps its times."""
    schedule = TouSchedule.from_dict(
        {
            "default": "2",
            "windows": [
                {"days": ["Saturday", "sun"], "start": "00:00", "end": "06:00", "price": 1}
            ],
        }
    )
    assert schedule.windows[0].days == frozenset({5, 6})
    window = TouWindow.from_dict(
        {"days": "all", "start": time(22), "end": time(23, 45), "price": "0.5"}
    )
    assert (window.start, window.end) == (time(22), time(23, 45))


def _interval(start: datetime, minutes: int, price: str) -> PriceInterval:
    return PriceInterval(
        source="test",
        start=start,
        length=timedelta(minutes=minutes),
        price=Decimal(price),
        currency="SEK",
        fetched_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_price_series_drops_empty_and_overlapping_intervals() -> None:
    at = datetime(2026, 1, 5, 12, tzinfo=UTC)
    later = _interval(at + timedelta(minutes=15), 15, "2")
    # Same rank: the first kept wins; one starting earlier and reaching into it is dropped.
    series = PriceSeries(
        [later, _interval(at, 30, "3"), _interval(at + timedelta(hours=1), 0, "9")]
    )
    assert list(series) == [later]
    assert repr(series) == (
        "PriceSeries(1 intervals, 2026-01-05T12:15:00+00:00 .. 2026-01-05T12:30:00+00:00)"
    )
    assert repr(PriceSeries()) == "PriceSeries([])"
