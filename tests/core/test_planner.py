"""Charging plans against hand-computed expectations on real-shaped price series.

The charger: 3 phases, 230 V, 6-16 A: 11,040 W at full current, 2,760 Wh per quarter-hour.
The tariff: spot + 25 % VAT, fallback 2.00 SEK; each energy line is rounded to öre, then VAT.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from custom_components.ev_sessions.core import (
    AllowedHours,
    ChargerLimits,
    DeviationWatch,
    Plan,
    PlanMode,
    PlanRequest,
    PlanState,
    PriceInterval,
    PriceSeries,
    Tariff,
    make_plan,
)

STOCKHOLM = ZoneInfo("Europe/Stockholm")
LIMITS = ChargerLimits(phases=3, voltage_v=230, min_current_a=6, max_current_a=16)
QUARTER_WH = 2760
TARIFF = Tariff(currency="SEK", fallback_price=Decimal("2.00"), vat_rate=Decimal("0.25"))
NOW = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)  # 18:00 in Stockholm
FETCHED = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
Q = timedelta(minutes=15)


def utc(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    """A UTC time in 2026."""
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


def series(
    start: datetime, end: datetime, length: timedelta, special: dict[datetime, str]
) -> PriceSeries:
    """Prices of ``length`` from ``start`` to ``end``: 0.80, except ``special``."""
    intervals = []
    at = start
    while at < end:
        intervals.append(
            PriceInterval(
                source="sensor.nordpool",
                start=at,
                length=length,
                price=Decimal(special.get(at, "0.80")),
                currency="SEK",
                fetched_at=FETCHED,
            )
        )
        at += length
    return PriceSeries(intervals)


#: Quarter-hours from 17:00 to 06:00 UTC: cheap at 22:15, 01:00-01:45 and 03:00.
QUARTERS = series(
    utc(2, 17),
    utc(3, 6),
    Q,
    {
        utc(2, 22, 15): "0.15",
        utc(3, 1): "0.10",
        utc(3, 1, 15): "0.10",
        utc(3, 1, 30): "0.10",
        utc(3, 3): "0.20",
    },
)


def plan(request: PlanRequest, prices: PriceSeries = QUARTERS, now: datetime = NOW) -> Plan:
    """The plan for ``request`` with the test charger and tariff."""
    return make_plan(request, LIMITS, prices, TARIFF, now=now, tz=STOCKHOLM)


def spans(result: Plan) -> list[tuple[datetime, datetime, float, int]]:
    """The windows as (start, end, A, Wh)."""
    return [(w.start, w.end, w.current_a, w.energy_wh) for w in result.windows]


def test_cheapest_quarter_hours_may_be_split() -> None:
    result = plan(PlanRequest(ready_by=utc(3, 6), energy_wh=4 * QUARTER_WH))

    assert result.state is PlanState.PLANNED
    assert spans(result) == [
        (utc(2, 22, 15), utc(2, 22, 30), 16.0, QUARTER_WH),
        (utc(3, 1), utc(3, 1, 45), 16.0, 3 * QUARTER_WH),
    ]
    # 2760 Wh x 0.15 = 0.414 -> 0.41; 3 x (2760 x 0.10 = 0.276 -> 0.28); VAT 25 % of 1.25
    assert result.cost is not None
    assert result.cost.amount_excl_vat == Decimal("1.25")
    assert result.expected_cost == Decimal("1.56")
    assert result.energy_wh == 11040
    assert result.start == utc(2, 22, 15)
    assert result.finish == utc(3, 1, 45)
    assert not result.provisional
    assert result.prices_used[0].start == utc(2, 17)


def test_minimum_window_length_spreads_the_last_energy_over_a_whole_window() -> None:
    result = plan(
        PlanRequest(ready_by=utc(3, 6), energy_wh=4 * QUARTER_WH, min_window=timedelta(minutes=30))
    )

    # 01:00-01:30 opens a run (average 0.10); 01:30 grows it (0.10); the last quarter's energy
    # goes to the cheapest 30-minute run left, 22:00-22:30 (average 0.475), at half current
    # (8 A, 1,380 Wh a quarter) instead of a lone 22:15.
    assert spans(result) == [
        (utc(2, 22), utc(2, 22, 30), 8.0, QUARTER_WH),
        (utc(3, 1), utc(3, 1, 45), 16.0, 3 * QUARTER_WH),
    ]
    assert all(w.end - w.start >= timedelta(minutes=30) for w in result.windows)
    # 1380 x 0.80 = 1.104 -> 1.10; 1380 x 0.15 = 0.207 -> 0.21; 0.84; VAT 0.5375 -> 0.54
    assert result.expected_cost == Decimal("2.69")


def test_hourly_prices_choose_whole_hours() -> None:
    hourly = series(
        utc(2, 17),
        utc(3, 6),
        timedelta(hours=1),
        {utc(3, 2): "0.30", utc(3, 3): "0.50", utc(3, 4): "0.35"},
    )

    result = plan(PlanRequest(ready_by=utc(3, 6), energy_wh=8 * QUARTER_WH), hourly)

    assert spans(result) == [
        (utc(3, 2), utc(3, 3), 16.0, 4 * QUARTER_WH),
        (utc(3, 4), utc(3, 5), 16.0, 4 * QUARTER_WH),
    ]
    # 4 x (2760 x 0.30 = 0.828 -> 0.83) + 4 x (2760 x 0.35 = 0.966 -> 0.97) = 7.20; VAT 1.80
    assert result.expected_cost == Decimal("9.00")


def test_dst_night_has_25_hours_and_its_repeated_hour_is_priced_twice() -> None:
    # 2026-10-25: Stockholm goes from CEST to CET at 03:00 local; 02:00-03:00 local comes twice
    # (00:00 and 01:00 UTC). Now 18:00 local (16:00 UTC), ready by 07:00 local (06:00 UTC).
    hourly = series(
        utc(24, 16, month=10),
        utc(25, 6, month=10),
        timedelta(hours=1),
        {utc(25, 0, month=10): "0.06", utc(25, 1, month=10): "0.05"},
    )
    now = utc(24, 16, month=10)
    ready_by = datetime(2026, 10, 25, 7, 0, tzinfo=STOCKHOLM)

    result = plan(PlanRequest(ready_by=ready_by, energy_wh=8 * QUARTER_WH), hourly, now)

    assert spans(result) == [(utc(25, 0, month=10), utc(25, 2, month=10), 16.0, 22080)]
    start, end = result.windows[0].start, result.windows[0].end
    assert (start.astimezone(STOCKHOLM).hour, end.astimezone(STOCKHOLM).hour) == (2, 3)
    assert end - start == timedelta(hours=2)  # 02:00 CEST to 03:00 CET
    # 18:00 to 07:00 local is 14 hours that night: exactly 14 hours of energy fits, 1 Wh more
    # does not.
    fits = plan(PlanRequest(ready_by=ready_by, energy_wh=14 * 11040), hourly, now)
    assert fits.state is PlanState.PLANNED
    too_much = plan(PlanRequest(ready_by=ready_by, energy_wh=14 * 11040 + 1), hourly, now)
    assert too_much.state is PlanState.CANNOT_MEET_READY_BY


def test_tomorrow_missing_plans_with_what_is_known_and_is_provisional() -> None:
    today_only = PriceSeries(i for i in QUARTERS if i.start < utc(2, 23))

    result = plan(PlanRequest(ready_by=utc(3, 6), energy_wh=QUARTER_WH), today_only)

    assert result.state is PlanState.PROVISIONAL
    assert result.provisional
    assert spans(result) == [(utc(2, 22, 15), utc(2, 22, 30), 16.0, QUARTER_WH)]
    assert result.cost is not None
    assert not result.cost.estimated


def test_a_missing_hour_is_never_taken_for_a_cheap_one() -> None:
    today_only = PriceSeries(i for i in QUARTERS if i.start < utc(2, 23))
    now = utc(2, 22)

    # Four known quarter-hours (22:00-23:00) hold 11,040 Wh; 13,800 needs one unknown one more.
    result = plan(PlanRequest(ready_by=utc(3, 6), energy_wh=5 * QUARTER_WH), today_only, now)

    assert result.state is PlanState.PROVISIONAL
    assert spans(result) == [(utc(2, 22), utc(2, 23, 15), 16.0, 5 * QUARTER_WH)]
    assert result.cost is not None
    assert result.cost.estimated  # 23:00 at the fallback price
    # 0.80 x 2760 = 2.208 -> 2.21 (x3), 0.41, fallback 2.00 x 2760 = 5.52: 12.56; VAT 3.14
    assert result.expected_cost == Decimal("15.70")


def test_price_cap_charges_only_at_or_below_the_cap() -> None:
    # Cap 0.25 SEK incl. VAT = spot 0.20: 01:00-01:45 (0.10), 22:15 (0.15), 03:00 (0.20).
    result = plan(
        PlanRequest(
            mode=PlanMode.PRICE_CAP,
            ready_by=utc(3, 6),
            energy_wh=10 * QUARTER_WH,
            price_cap=Decimal("0.25"),
        )
    )

    assert spans(result) == [
        (utc(2, 22, 15), utc(2, 22, 30), 16.0, QUARTER_WH),
        (utc(3, 1), utc(3, 1, 45), 16.0, 3 * QUARTER_WH),
        (utc(3, 3), utc(3, 3, 15), 16.0, QUARTER_WH),
    ]
    assert result.energy_wh == 5 * QUARTER_WH  # less than asked: nothing else is cheap enough


def test_price_cap_always_charges_the_minimum_energy() -> None:
    result = plan(
        PlanRequest(
            mode=PlanMode.PRICE_CAP,
            ready_by=utc(3, 6),
            energy_wh=10 * QUARTER_WH,
            price_cap=Decimal("0.05"),
            min_energy_wh=2 * QUARTER_WH,
        )
    )

    assert spans(result) == [(utc(3, 1), utc(3, 1, 30), 16.0, 2 * QUARTER_WH)]


def test_continuous_takes_the_cheapest_single_window() -> None:
    result = plan(
        PlanRequest(mode=PlanMode.CONTINUOUS, ready_by=utc(3, 6), energy_wh=4 * QUARTER_WH)
    )

    # 00:45-01:45 and 01:00-02:00 both cost 0.80 + 3 x 0.10: the earlier one.
    assert spans(result) == [(utc(3, 0, 45), utc(3, 1, 45), 16.0, 4 * QUARTER_WH)]


def test_continuous_ends_early_in_its_last_quarter_hour() -> None:
    result = plan(
        PlanRequest(mode=PlanMode.CONTINUOUS, ready_by=utc(3, 6), energy_wh=3 * QUARTER_WH - 920)
    )

    # 7,360 Wh: 01:00-01:30 full, then 1,840 Wh (10 min) of 01:30.
    assert spans(result) == [(utc(3, 1), utc(3, 1, 40), 16.0, 7360)]


def test_now_charges_at_once_from_the_middle_of_a_quarter_hour() -> None:
    now = utc(2, 17, 5)

    result = plan(PlanRequest(mode=PlanMode.NOW, energy_wh=QUARTER_WH), now=now)

    assert result.state is PlanState.CHARGING_NOW
    # 17:05-17:15: 1,840 Wh; 17:15-17:20: 920 Wh.
    assert spans(result) == [(now, utc(2, 17, 20), 16.0, QUARTER_WH)]
    assert result.charging_at(now)
    assert result.slots[0].energy_wh == 1840


def test_not_enough_time_charges_now_and_says_so() -> None:
    result = plan(PlanRequest(ready_by=utc(2, 18), energy_wh=8 * QUARTER_WH))

    assert result.state is PlanState.CANNOT_MEET_READY_BY
    assert spans(result) == [(NOW, utc(2, 19), 16.0, 8 * QUARTER_WH)]
    assert result.finish is not None
    assert result.ready_by is not None
    assert result.finish > result.ready_by


def test_target_soc_gives_the_energy_needed() -> None:
    request = PlanRequest(
        ready_by=utc(3, 6), target_soc_pct=80, current_soc_pct=60, battery_wh=55200
    )

    assert request.needed_wh() == 11040
    assert plan(request).energy_wh == 11040


def test_allowed_hours_keep_the_plan_inside_them() -> None:
    # Nights only (00:00-06:00 local = 23:00-05:00 UTC): 22:15 UTC (23:15 local) is out.
    nights = (AllowedHours(start=time(0), end=time(6)),)

    result = plan(PlanRequest(ready_by=utc(3, 6), energy_wh=4 * QUARTER_WH, allowed_hours=nights))

    assert spans(result) == [
        (utc(3, 1), utc(3, 1, 45), 16.0, 3 * QUARTER_WH),
        (utc(3, 3), utc(3, 3, 15), 16.0, QUARTER_WH),
    ]


def test_off_done_and_solar_first() -> None:
    assert plan(PlanRequest(mode=PlanMode.OFF, energy_wh=5000)).state is PlanState.OFF
    assert plan(PlanRequest(ready_by=utc(3, 6), energy_wh=0)).state is PlanState.DONE
    solar = plan(PlanRequest(mode=PlanMode.SOLAR_FIRST, ready_by=utc(3, 6), energy_wh=QUARTER_WH))
    assert spans(solar) == [(utc(3, 1), utc(3, 1, 15), 16.0, QUARTER_WH)]
    assert solar.current_at(utc(2, 20)) is None  # the budget decides outside the windows
    cheapest = plan(PlanRequest(ready_by=utc(3, 6), energy_wh=QUARTER_WH))
    assert cheapest.current_at(utc(2, 20)) == 0.0
    assert cheapest.current_at(utc(3, 1, 5)) == 16.0


def test_a_plan_without_a_known_need_has_no_opinion() -> None:
    """Only a ready-by (no energy), or a target SoC without the car's SoC or the battery: the
    plan cannot know what to charge. It says so and wants nothing of the charger; a done plan
    wants nothing either (it never pauses the car)."""
    for request in (
        PlanRequest(ready_by=utc(3, 6)),
        PlanRequest(ready_by=utc(3, 6), target_soc_pct=80, battery_wh=60_000),
        PlanRequest(ready_by=utc(3, 6), target_soc_pct=80, current_soc_pct=40),
        PlanRequest(mode=PlanMode.SOLAR_FIRST),
    ):
        result = plan(request)
        assert result.state is PlanState.NEEDS_TARGET
        assert result.windows == ()
        assert result.outside_windows_a is None
        assert result.current_at(utc(2, 20)) is None
    # the energy asked for is in the car: done, and it stays paused (the session costs what
    # the plan showed), unlike a plan that does not know what to charge
    done = plan(PlanRequest(ready_by=utc(3, 6), energy_wh=0))
    assert done.state is PlanState.DONE
    assert done.current_at(utc(2, 20)) == 0.0
    assert Plan.from_dict(done.to_dict()).current_at(utc(2, 20)) == 0.0
    assert plan(PlanRequest(mode=PlanMode.OFF)).current_at(utc(2, 20)) == 0.0  # off stays off


def test_same_inputs_give_the_same_plan_and_it_survives_json() -> None:
    request = PlanRequest(ready_by=utc(3, 6), energy_wh=4 * QUARTER_WH)

    first, second = plan(request), plan(request)

    assert first == second
    again = Plan.from_dict(first.to_dict())
    assert again.windows == first.windows
    assert again.slots == first.slots
    assert again.cost == first.cost
    assert again.state is first.state


def test_a_charger_that_ignores_the_plan_is_reported_once() -> None:
    result = plan(PlanRequest(ready_by=utc(3, 6), energy_wh=QUARTER_WH))
    watch = DeviationWatch(grace=timedelta(minutes=10))

    assert watch.observe(result, utc(2, 20), 11000) is None
    assert watch.observe(result, utc(2, 20, 5), 11000) is None
    deviation = watch.observe(result, utc(2, 20, 10), 11000)
    assert deviation is not None
    assert (deviation.kind, deviation.since) == ("outside_window", utc(2, 20))
    assert watch.observe(result, utc(2, 20, 30), 11000) is None  # once
    watch.reset()
    assert watch.observe(result, utc(3, 1), 0) is None
    inside = watch.observe(result, utc(3, 1, 12), 0)
    assert inside is not None
    assert inside.kind == "none_inside"


def test_planned_energy_until_a_moment() -> None:
    result = plan(PlanRequest(ready_by=utc(3, 6), energy_wh=4 * QUARTER_WH))

    assert result.planned_wh_until(utc(2, 22, 15)) == 0
    assert result.planned_wh_until(utc(2, 23)) == QUARTER_WH
    assert result.planned_wh_until(utc(3, 1, 15)) == 2 * QUARTER_WH
    assert result.next_change(utc(2, 22, 15)) == utc(2, 22, 30)
