"""Pricing benchmark: the cost of N stored sessions from their slots and the stored prices.

N sessions (``--sessions``) of ``--slots`` quarter-hours each (2 h, up to 11 kW) on
``--chargers`` chargers, one after another with gaps, and the spot prices of that period (one
per quarter-hour, known the day before) are written to a temporary SQLite database. The tariff
has every component (spot, supplier markup, energy tax, a time-of-use grid fee, VAT) and the
operator's surcharges and fees (fast charging above 7 kW, time of day, demand, a session fee,
an idle fee); every other session is a guest's (markup, the operator's fees), the rest the
household's. Timed, wall clock:

* **read** - every session with its slots (:meth:`SessionStore.async_sessions`) and every
  price version of the period (:meth:`SessionStore.async_price_versions`), one read each; and,
  for ``--sample`` sessions, the reads the pricer makes per session when it records a cost
  (the session with its slots, the price versions of its slots);
* **price** - per session, the prices as known when each slot closed
  (:func:`prices_as_known`), the busy connectors per slot (:func:`busy_connectors`) and
  :func:`price_session`, each timed on its own.

    .venv/bin/python -m bench.pricing_load --sessions 10000

Run by hand; results go to README.md.
"""

from __future__ import annotations

import argparse
import asyncio
from bisect import bisect_left
from dataclasses import dataclass
from datetime import UTC, datetime, time as clock_time, timedelta
from decimal import Decimal
from pathlib import Path
import random
import tempfile
import time
from zoneinfo import ZoneInfo

from custom_components.ev_sessions.core import SessionStore
from custom_components.ev_sessions.core.cost import SessionCost, SessionFacts, price_session
from custom_components.ev_sessions.core.model import Session, SpeedClass
from custom_components.ev_sessions.core.prices import PriceInterval, TouSchedule, TouWindow
from custom_components.ev_sessions.core.pricing import busy_connectors, prices_as_known
from custom_components.ev_sessions.core.slots import SLOT_LENGTH, EnergySlot
from custom_components.ev_sessions.core.tariff import (
    GROUP_GUEST,
    DemandPricing,
    FastChargingSurcharge,
    IdleFee,
    Tariff,
)

T0 = datetime(2026, 1, 5, 0, 0, tzinfo=UTC)
TZ = ZoneInfo("Europe/Stockholm")
WEEKDAYS = frozenset(range(5))
#: Written to the database this many sessions at a time.
BATCH = 500

TARIFF = Tariff(
    currency="SEK",
    fallback_price=Decimal("1.50"),
    supplier_markup=Decimal("0.05"),
    energy_tax=Decimal("0.439"),
    grid_fee_schedule=TouSchedule(
        default=Decimal("0.20"),
        windows=(
            TouWindow(
                days=WEEKDAYS, start=clock_time(6), end=clock_time(22), price=Decimal("0.52")
            ),
        ),
    ),
    vat_rate=Decimal("0.25"),
    fast_charging=FastChargingSurcharge(
        power_threshold_w=7000, above_threshold_per_kwh=Decimal("0.30")
    ),
    time_of_day=TouSchedule(
        default=Decimal(0),
        windows=(
            TouWindow(
                days=WEEKDAYS, start=clock_time(17), end=clock_time(20), price=Decimal("0.50")
            ),
        ),
    ),
    session_fee=Decimal("5.00"),
    idle_fee=IdleFee(per_minute=Decimal("0.50"), grace_minutes=5, max_amount=Decimal(100)),
    demand=DemandPricing(connectors=40, busy_above=20, surcharge_per_kwh=Decimal("0.25")),
)


@dataclass
class _Timings:
    """Seconds spent per phase."""

    known: float = 0.0
    busy: float = 0.0
    price: float = 0.0


def _session(n: int, charger: int, start: datetime, slots: int, rng: random.Random) -> Session:
    """A stored session: plugged in 2 min into ``start``, ``slots`` closed slots, charging
    finished ~10 min before the end, unplugged at the end of its last slot."""
    sid = f"s-{n:06d}"
    power = rng.choice((3700.0, 7400.0, 11000.0))
    energy = [int(power / 4 * rng.uniform(0.85, 1.0)) for _ in range(slots - 1)]
    energy.append(int(power / 4 * rng.uniform(0.1, 0.3)))
    energy[0] = int(energy[0] * 13 / 15)
    slot_list = [
        EnergySlot(
            session_id=sid,
            start=start + i * SLOT_LENGTH,
            energy_wh=wh,
            max_power_w=power,
            closed_at=start + (i + 1) * SLOT_LENGTH + timedelta(seconds=2),
        )
        for i, wh in enumerate(energy)
    ]
    end = start + slots * SLOT_LENGTH
    return Session(
        id=sid,
        charger_id=f"cp-{charger:03d}",
        connector_id=1,
        plugged_in_at=start + timedelta(minutes=2),
        unplugged_at=end,
        charging_started_at=start + timedelta(minutes=2),
        charging_finished_at=end - timedelta(minutes=rng.randint(3, 14)),
        energy_wh=sum(energy),
        max_power_w=power,
        charging_duration_s=(slots * 15 - 12) * 60.0,
        speed_class=SpeedClass.FAST if power > 7400 else SpeedClass.NORMAL,
        stop_reason="ev_disconnected",
        slots=slot_list,
    )


def _sessions(args: argparse.Namespace, rng: random.Random) -> list[Session]:
    """``args.sessions`` sessions spread over the chargers, each after a gap of 0-6 h."""
    made: list[Session] = []
    starts = [T0 + rng.randint(0, 24) * SLOT_LENGTH for _ in range(args.chargers)]
    for n in range(args.sessions):
        charger = n % args.chargers
        start = starts[charger]
        made.append(_session(n, charger, start, args.slots, rng))
        starts[charger] = start + (args.slots + rng.randint(0, 24)) * SLOT_LENGTH
    return made


def _prices(start: datetime, end: datetime, rng: random.Random) -> list[PriceInterval]:
    """A spot price per quarter-hour of ``[start, end)``, each known at 13:00 the day before."""
    day = start.replace(hour=0, minute=0)
    found: list[PriceInterval] = []
    at = day
    while at < end:
        hour = at.astimezone(TZ).hour
        base = 0.6 + (0.9 if 7 <= hour < 21 else 0.0)
        found.append(
            PriceInterval(
                source="nordpool",
                start=at,
                length=SLOT_LENGTH,
                price=Decimal(f"{base + rng.uniform(-0.4, 0.8):.4f}"),
                currency="SEK",
                fetched_at=at.replace(hour=13, minute=0) - timedelta(days=1),
            )
        )
        at += SLOT_LENGTH
    return found


def _window(
    items: list[PriceInterval], starts: list[datetime], session: Session
) -> list[PriceInterval]:
    """The price versions overlapping the session's slots (what the pricer reads)."""
    first = session.slots[0].start
    last = session.slots[-1].end
    return items[bisect_left(starts, first - SLOT_LENGTH) : bisect_left(starts, last)]


def _overlapping(
    sessions: list[Session], plugged: list[datetime], session: Session, longest: timedelta
) -> list[Session]:
    """The sessions overlapping ``session`` (``sessions`` sorted by plug-in time)."""
    end = session.unplugged_at or session.slots[-1].end
    low = bisect_left(plugged, session.plugged_in_at - longest)
    high = bisect_left(plugged, end)
    return [
        other for other in sessions[low:high] if (other.unplugged_at or end) > session.plugged_in_at
    ]


def _price_all(
    sessions: list[Session], versions: list[PriceInterval], now: datetime
) -> tuple[list[SessionCost], _Timings]:
    """Price every session as the pricer records it; the time of each phase."""
    timings = _Timings()
    versions = sorted(versions, key=lambda v: v.start)
    starts = [v.start for v in versions]
    by_plug = sorted(sessions, key=lambda s: s.plugged_in_at)
    plugged = [s.plugged_in_at for s in by_plug]
    longest = max((s.unplugged_at or now) - s.plugged_in_at for s in sessions)
    costs: list[SessionCost] = []
    for session in sessions:
        began = time.perf_counter()
        prices = prices_as_known(session.slots, _window(versions, starts, session), None)
        known = time.perf_counter()
        busy = busy_connectors(session.slots, _overlapping(by_plug, plugged, session, longest), now)
        counted = time.perf_counter()
        facts = SessionFacts(
            session_id=session.id,
            energy_wh=session.energy_wh,
            speed_class=session.speed_class,
            charging_finished_at=session.charging_finished_at,
            unplugged_at=session.unplugged_at,
            as_of=now,
            busy_connectors=busy,
            tz=TZ,
        )
        group = GROUP_GUEST if int(session.id[2:]) % 2 else None  # not by read order
        costs.append(price_session(session.slots, prices, TARIFF, group, facts))
        done = time.perf_counter()
        timings.known += known - began
        timings.busy += counted - known
        timings.price += done - counted
    return costs, timings


async def run(args: argparse.Namespace) -> None:
    """Write the sessions and prices, then time the reads and the pricing."""
    rng = random.Random(12)
    with tempfile.TemporaryDirectory() as tmp:
        store = SessionStore(f"sqlite:///{Path(tmp) / 'ev.db'}")
        await store.async_open()
        sessions = _sessions(args, rng)
        start = min(s.plugged_in_at for s in sessions)
        end = max(s.slots[-1].end for s in sessions)
        began = time.perf_counter()
        for i in range(0, len(sessions), BATCH):
            await store.async_save(sessions[i : i + BATCH])
        await store.async_save_prices(_prices(start, end, rng))
        print(
            f"{len(sessions)} sessions x {args.slots} slots on {args.chargers} chargers over "
            f"{(end - start) / timedelta(days=1):.0f} days written in "
            f"{time.perf_counter() - began:.1f} s"
        )

        began = time.perf_counter()
        stored = await store.async_sessions(start=start, end=end)
        read_sessions = time.perf_counter() - began
        began = time.perf_counter()
        versions = await store.async_price_versions(start, end)
        read_prices = time.perf_counter() - began
        assert len(stored) == len(sessions)
        print(
            f"read: {len(stored)} sessions with slots {read_sessions * 1e3:.0f} ms, "
            f"{len(versions)} price versions {read_prices * 1e3:.0f} ms"
        )

        sample = stored[:: max(len(stored) // args.sample, 1)][: args.sample]
        began = time.perf_counter()
        for session in sample:
            one = await store.async_get(session.id)
            assert one is not None
            await store.async_price_versions(one.slots[0].start, one.slots[-1].end)
        per_read = (time.perf_counter() - began) / len(sample)
        print(
            f"read per session as the pricer does (session + its price versions): "
            f"{per_read * 1e3:.2f} ms ({len(sample)} sessions)"
        )

        now = end + timedelta(days=1)
        costs, timings = _price_all(stored, versions, now)
        total = timings.known + timings.busy + timings.price
        count = len(costs)
        assert sum(c.energy_wh for c in costs) == sum(s.energy_wh for s in sessions)
        print(
            f"price_session: {timings.price * 1e3:.0f} ms total, "
            f"{timings.price / count * 1e6:.0f} us per session"
        )
        print(
            f"with prices as known ({timings.known * 1e3:.0f} ms) and busy connectors "
            f"({timings.busy * 1e3:.0f} ms): {total * 1e3:.0f} ms total, "
            f"{total / count * 1e6:.0f} us per session; "
            f"+ bulk read {(read_sessions + read_prices) * 1e3:.0f} ms: "
            f"{(total + read_sessions + read_prices) * 1e3:.0f} ms"
        )
        demand = sum(1 for c in costs if any(line.kind == "demand" for line in c.lines))
        print(
            f"sum of costs {sum(c.total for c in costs)} SEK; "
            f"{sum(1 for c in costs if c.estimated)} estimated; {demand} with a demand surcharge"
        )
        await store.async_close()


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sessions", type=int, default=10_000)
    parser.add_argument("--slots", type=int, default=8, help="quarter-hours per session")
    parser.add_argument("--chargers", type=int, default=40)
    parser.add_argument("--sample", type=int, default=200, help="sessions read one by one")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
