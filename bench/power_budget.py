"""Power budget benchmark: one allocation round for N chargers on a 3-phase site.

N chargers (``--chargers``; a third of them 1-phase, spread over L1-L3, the rest 3-phase), most
of them in a session, a few in solar mode, sharing by priority, a fuse too small for all of them
(so sessions are shared, some paused, some rotate). ``--rounds`` rounds are run one after
another with a changing household load and solar production, as the site runs them every few
seconds; each round's :meth:`PowerBudget.allocate` is timed on its own (wall clock).

    .venv/bin/python -m bench.power_budget --chargers 50

Run by hand; results go to README.md.
"""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
import random
import statistics
import time

from custom_components.ev_sessions.core import (
    BudgetSettings,
    BudgetSharing,
    ChargeMode,
    ChargerLoad,
    GridReading,
    PowerBudget,
    SolarReading,
)


def chargers(count: int, rng: random.Random, given: dict[str, float]) -> list[ChargerLoad]:
    """The site's chargers, each drawing what it was given last round."""
    loads = []
    for index in range(count):
        charger_id = f"cp-{index:03d}"
        one_phase = index % 3 == 0
        drawn = given.get(charger_id, 0.0)
        loads.append(
            ChargerLoad(
                charger_id=charger_id,
                phases=1 if one_phase else 3,
                phase=1 + index % 3 if one_phase else 1,
                max_a=16.0 if one_phase else 32.0,
                draw_a=(drawn, 0.0, 0.0) if one_phase else (drawn, drawn, drawn),
                priority=index % 4,
                active=rng.random() < 0.9,
                mode=ChargeMode.SOLAR if index % 10 == 0 else ChargeMode.FUSE,
            )
        )
    return loads


def main() -> None:
    """Run the rounds and print the timings."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chargers", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=2000)
    parser.add_argument("--fuse", type=float, default=250.0)
    args = parser.parse_args()
    rng = random.Random(14)
    budget = PowerBudget(BudgetSettings(fuse_a=args.fuse, sharing=BudgetSharing.PRIORITY))
    start = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
    given: dict[str, float] = {}
    timings: list[float] = []
    for index in range(args.rounds):
        now = start + timedelta(seconds=5 * index)
        loads = chargers(args.chargers, rng, given)
        own = [0.0, 0.0, 0.0]
        for load in loads:
            for p, amps in enumerate(load.site_draw(3)):
                own[p] += amps
        house = 20.0 + 15.0 * rng.random()
        grid = GridReading(at=now, currents_a=(own[0] + house, own[1] + house, own[2] + house))
        solar = SolarReading(at=now, production_w=8000.0 * rng.random())
        began = time.perf_counter()
        result = budget.allocate(now, loads, grid, solar)
        timings.append(time.perf_counter() - began)
        given = {cid: allocation.current_a for cid, allocation in result.allocations.items()}
    timings.sort()
    micro = [t * 1e6 for t in timings]
    print(
        f"{args.chargers} chargers, {args.rounds} rounds: "
        f"median {statistics.median(micro):.0f} us, "
        f"p99 {micro[int(len(micro) * 0.99)]:.0f} us, max {micro[-1]:.0f} us"
    )


if __name__ == "__main__":
    main()
