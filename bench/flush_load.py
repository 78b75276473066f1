"""Flush benchmark: one engine flush with N open sessions that have charged for hours.

N chargers (one session each) send a meter sample every second (energy register, power with a
little noise, three currents, SoC) for ``--hours`` of simulated time; the engine flushes every
``--warm-flush`` simulated seconds on the way (as its flush loop would, less often to save
time). Then, ``--cycles`` times, every session gets ``--flush-every`` more seconds of samples
and one flush is timed: wall time of :meth:`SessionEngine.async_flush` (the snapshot on the
event loop plus the transaction on the database thread).

    .venv/bin/python -m bench.flush_load --sessions 200 --hours 3

Run by hand; results go to README.md. Uses only the engine's public API, so the same script
runs on older code (a git worktree) for a before/after comparison.
"""

from __future__ import annotations

import argparse
import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
import random
import statistics
import tempfile
import time

from custom_components.ev_sessions.chargers.events import ConnectorState, MeterSample, StatusChanged
from custom_components.ev_sessions.core import EngineSettings, SessionEngine, SessionStore

T0 = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)


@dataclass
class _Clock:
    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@dataclass
class _Car:
    charger_id: str
    register_wh: float
    power_w: float
    soc_pct: float


def _sample(car: _Car, at: datetime, rng: random.Random, noise_w: float) -> MeterSample:
    power = car.power_w + rng.uniform(-noise_w, noise_w)
    car.register_wh += power / 3600.0
    car.soc_pct = min(car.soc_pct + power / 3600.0 / 770.0, 100.0)  # a 77 kWh battery
    current = round(power / 690.0, 1)
    return MeterSample(
        charger_id=car.charger_id,
        at=at,
        connector_id=1,
        energy_register_wh=int(car.register_wh),
        power_w=round(power, 1),
        current_a=(current, current, current),
        voltage_v=(230.0, 230.0, 230.0),
        soc_pct=round(car.soc_pct, 1),
    )


def _feed(
    engine: SessionEngine,
    cars: list[_Car],
    clock: _Clock,
    start_s: int,
    seconds: int,
    rng: random.Random,
    noise_w: float,
) -> None:
    for s in range(start_s, start_s + seconds):
        at = T0 + timedelta(seconds=s)
        clock.now = at
        for car in cars:
            engine.handle_event(_sample(car, at, rng, noise_w))


async def _timed_flush(engine: SessionEngine) -> float:
    began = time.perf_counter()
    await engine.async_flush()
    return (time.perf_counter() - began) * 1000.0


async def run(args: argparse.Namespace) -> None:
    """Build the load, then time the flushes."""
    rng = random.Random(12)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ev.db"
        clock = _Clock()
        settings = EngineSettings(
            flush_interval=timedelta(days=1),  # the benchmark flushes by itself
            future_tolerance=timedelta(days=1),
        )
        engine = SessionEngine(SessionStore(f"sqlite:///{path}"), clock=clock, settings=settings)
        await engine.async_start()
        cars = [
            _Car(f"cp-{n:03d}", 1_000_000.0 + n, 11_000.0 - 20 * n, 20.0)
            for n in range(args.sessions)
        ]
        for car in cars:
            engine.handle_event(
                StatusChanged(
                    charger_id=car.charger_id,
                    at=T0,
                    connector_id=1,
                    state=ConnectorState.CHARGING,
                )
            )
        await engine.async_flush()
        total = int(args.hours * 3600)
        began = time.perf_counter()
        warm: list[float] = []
        for start in range(0, total, args.warm_flush):
            _feed(engine, cars, clock, start, min(args.warm_flush, total - start), rng, args.noise)
            warm.append(await _timed_flush(engine))
        fed = time.perf_counter() - began
        events = total * len(cars)
        print(
            f"{len(cars)} sessions, {args.hours} h at 1 Hz: {events} samples in {fed:.1f} s "
            f"({fed / events * 1e6:.1f} us per sample incl. {len(warm)} warm-up flushes, "
            f"last {warm[-1]:.0f} ms)"
        )
        times: list[float] = []
        position = total
        for _ in range(args.cycles):
            _feed(engine, cars, clock, position, args.flush_every, rng, args.noise)
            position += args.flush_every
            times.append(await _timed_flush(engine))
        session = engine.connector(cars[0].charger_id, 1).session
        points = len(session.profile) if session is not None else 0
        print(
            f"flush after {args.flush_every} s of samples: "
            f"median {statistics.median(times):.1f} ms, max {max(times):.1f} ms "
            f"over {args.cycles} flushes ({', '.join(f'{t:.0f}' for t in times)} ms); "
            f"database {(path.stat().st_size + _wal_size(path)) / 1e6:.1f} MB; "
            f"{points} profile points per session"
        )
        await engine.async_stop()


def _wal_size(path: Path) -> int:
    wal = path.with_name(path.name + "-wal")
    return wal.stat().st_size if wal.exists() else 0


def main() -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--sessions", type=int, default=200)
    parser.add_argument("--hours", type=float, default=3.0)
    parser.add_argument("--noise", type=float, default=50.0, help="power noise, +/- W")
    parser.add_argument("--warm-flush", type=int, default=600, help="simulated s per warm flush")
    parser.add_argument("--flush-every", type=int, default=60, help="simulated s per timed flush")
    parser.add_argument("--cycles", type=int, default=5)
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
