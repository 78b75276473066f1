"""Planner benchmark: re-planning 48 h of 15-minute prices for N chargers.

A price series of ``--hours`` hours of quarter-hour spot prices (a daily curve with noise, seeded)
and a tariff with spot, supplier markup, energy tax, a time-of-use grid fee and VAT. Every round
re-plans each of ``--chargers`` chargers (a different energy need, ready-by and mode per charger:
cheapest, cheapest with a 45-minute minimum window, continuous, price cap), as the site does when
new prices arrive. Timed, wall clock, per re-plan (:func:`make_plan`, including the plan's cost).

    .venv/bin/python -m bench.planner --chargers 20 --rounds 50

Run by hand; results go to README.md.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, time as clock_time, timedelta
from decimal import Decimal
import math
import random
import statistics
import time
from zoneinfo import ZoneInfo

from custom_components.ev_sessions.core import (
    WEEKDAYS,
    ChargerLimits,
    PlanMode,
    PlanRequest,
    PriceInterval,
    PriceSeries,
    Tariff,
    TouSchedule,
    TouWindow,
    make_plan,
)

TZ = ZoneInfo("Europe/Stockholm")
START = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def prices(hours: int, seed: int) -> PriceSeries:
    """Quarter-hour prices: a daily curve (cheap at night, peaks morning and evening)."""
    rng = random.Random(seed)
    intervals = []
    for quarter in range(hours * 4):
        at = START + timedelta(minutes=15 * quarter)
        hour = at.astimezone(TZ).hour + at.minute / 60
        curve = 0.6 + 0.4 * math.sin((hour - 8) / 24 * 2 * math.pi) + rng.uniform(-0.15, 0.15)
        intervals.append(
            PriceInterval(
                source="bench",
                start=at,
                length=timedelta(minutes=15),
                price=Decimal(f"{max(curve, 0.01):.4f}"),
                currency="SEK",
                fetched_at=START,
            )
        )
    return PriceSeries(intervals)


def tariff() -> Tariff:
    """Spot, markup, tax, a time-of-use grid fee and VAT."""
    grid = TouSchedule(
        default=Decimal("0.20"),
        windows=(
            TouWindow(
                days=WEEKDAYS, start=clock_time(6), end=clock_time(22), price=Decimal("0.50")
            ),
        ),
    )
    return Tariff(
        currency="SEK",
        fallback_price=Decimal("1.50"),
        supplier_markup=Decimal("0.05"),
        energy_tax=Decimal("0.43"),
        grid_fee_schedule=grid,
        vat_rate=Decimal("0.25"),
    ).check()


def requests(chargers: int, seed: int) -> list[PlanRequest]:
    """One request per charger: 5-40 kWh by 06:00-09:00 local in 1-2 days, mixed modes."""
    rng = random.Random(seed)
    modes = (PlanMode.CHEAPEST, PlanMode.CHEAPEST, PlanMode.CONTINUOUS, PlanMode.PRICE_CAP)
    found = []
    for index in range(chargers):
        mode = modes[index % len(modes)]
        day = START.astimezone(TZ).date() + timedelta(days=1 + index % 2)
        ready_by = datetime.combine(day, clock_time(6 + index % 4), tzinfo=TZ)
        found.append(
            PlanRequest(
                mode=mode,
                ready_by=ready_by,
                energy_wh=rng.randrange(5000, 40000),
                price_cap=Decimal("1.60") if mode is PlanMode.PRICE_CAP else None,
                min_energy_wh=5000 if mode is PlanMode.PRICE_CAP else 0,
                min_window=timedelta(minutes=45 if index % 3 == 0 else 15),
            )
        )
    return found


def main() -> None:
    """Run the benchmark and print per re-plan timings."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chargers", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--hours", type=int, default=48)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    series = prices(args.hours, args.seed)
    rules = tariff()
    limits = ChargerLimits(phases=3, voltage_v=230, min_current_a=6, max_current_a=16)
    wanted = requests(args.chargers, args.seed)
    timings: list[float] = []
    for round_ in range(args.rounds):
        now = START + timedelta(minutes=5 * round_)
        for request in wanted:
            began = time.perf_counter()
            make_plan(request, limits, series, rules, now=now, tz=TZ)
            timings.append(time.perf_counter() - began)
    timings.sort()
    ms = [t * 1000 for t in timings]
    print(
        f"{len(series)} prices, {args.chargers} chargers x {args.rounds} rounds = {len(ms)} "
        f"re-plans: mean {statistics.fmean(ms):.2f} ms, p50 {ms[len(ms) // 2]:.2f} ms, "
        f"p99 {ms[int(len(ms) * 0.99)]:.2f} ms, max {ms[-1]:.2f} ms; "
        f"a round of {args.chargers}: {sum(ms) / args.rounds:.1f} ms"
    )


if __name__ == "__main__":
    main()
