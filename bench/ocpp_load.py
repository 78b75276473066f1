"""OCPP load benchmark: N simulated chargers, each sending MeterValues every second, into a hub
running inside a real Home Assistant process.

Reports, per N: frames offered and handled per second, CPU time of the ``hass`` process per
frame, and the latency from sending a frame to seeing its power value as the HA state (over
HA's websocket API; so it includes the client's side too: an upper bound).

    .venv/bin/python -m bench.ocpp_load --chargers 10 50 200 --duration 60

Run by hand; results go to README.md. Talks only to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from dataclasses import dataclass, field
import gc
import itertools
import json
import os
from pathlib import Path
import socket
import statistics
import sys
import tempfile
import time
from typing import Any

import aiohttp

from simulators.home_assistant import HomeAssistantProcess
from simulators.ocpp import SimConfig, SimulatedChargePoint

DOMAIN = "ev_sessions"
CONFIGURATION = """
homeassistant:
  name: bench
  time_zone: UTC
http:
  server_host: 127.0.0.1
  server_port: {http_port}
api:
config:
onboarding:
logger:
  default: warning
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime + stime


def _values(energy_wh: int, power_w: int, seq: int) -> list[dict[str, Any]]:
    """A typical 9-value frame: energy register, power, 3 currents, 3 voltages, SoC."""
    amps = power_w / 3 / 230
    values: list[dict[str, Any]] = [
        {"value": str(energy_wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
        {"value": str(power_w), "measurand": "Power.Active.Import", "unit": "W"},
    ]
    values += [
        {"value": f"{amps:.2f}", "measurand": "Current.Import", "phase": phase, "unit": "A"}
        for phase in ("L1", "L2", "L3")
    ]
    values += [
        {"value": f"{229 + seq % 3}", "measurand": "Voltage", "phase": phase, "unit": "V"}
        for phase in ("L1-N", "L2-N", "L3-N")
    ]
    values.append({"value": str(20 + seq % 60), "measurand": "SoC", "unit": "Percent"})
    return values


@dataclass
class Stats:
    """What one run measured."""

    sent: int = 0
    answered: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)
    #: Time from sending a frame to the charger receiving the hub's answer.
    round_trips: list[float] = field(default_factory=list)
    #: (receive time, latency) of samples over 100 ms: shows whether slow ones cluster.
    slow: list[tuple[float, float]] = field(default_factory=list)


class StateWatcher:
    """Subscribes to the power entities over HA's websocket API and times their changes."""

    def __init__(self, hass: HomeAssistantProcess) -> None:
        self.hass = hass
        self.pending: dict[str, dict[int, float]] = {}  # entity -> power (W) -> send time
        self.stats: Stats | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._ids = itertools.count(1)
        self._task: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        self._ws = await self.hass.session.ws_connect(f"{self.hass.base}/api/websocket")
        await self._ws.receive_json()
        await self._ws.send_json({"type": "auth", "access_token": self.hass.token})
        assert (await self._ws.receive_json())["type"] == "auth_ok"

    async def request(self, payload: dict[str, Any]) -> Any:
        assert self._ws is not None
        msg_id = next(self._ids)
        await self._ws.send_json({"id": msg_id, **payload})
        while True:
            message = await self._ws.receive_json()
            if message.get("id") == msg_id and message["type"] == "result":
                return message["result"]

    async def subscribe(self, entity_ids: list[str]) -> None:
        assert self._ws is not None
        await self._ws.send_json(
            {"id": next(self._ids), "type": "subscribe_entities", "entity_ids": entity_ids}
        )
        self._task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._ws is not None
        async for message in self._ws:
            now = time.perf_counter()
            data = json.loads(message.data)
            changes = (data.get("event") or {}).get("c") or {}
            for entity_id, change in changes.items():
                state = str((change.get("+") or {}).get("s"))
                try:
                    power_w = round(float(state) * 1000)  # the sensor shows kW
                except (TypeError, ValueError):
                    continue
                sent = self.pending.get(entity_id, {}).pop(power_w, None)
                if sent is not None and self.stats is not None:
                    self.stats.latencies.append(now - sent)
                    if now - sent > 0.1:
                        self.stats.slow.append((now, now - sent))

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        if self._ws is not None:
            await self._ws.close()


async def _charger_loop(
    cp: SimulatedChargePoint,
    entity_id: str,
    watcher: StateWatcher,
    stats_ref: list[Stats],
    stop: asyncio.Event,
    offset: float,
) -> None:
    await asyncio.sleep(offset)  # spread the chargers over the second
    energy = 10_000
    for seq in itertools.count():
        if stop.is_set():
            return
        started = time.perf_counter()
        power = 7000 + 10 * (seq % 97 + 1)
        energy += 2
        stats = stats_ref[0]
        watcher.pending.setdefault(entity_id, {})[power] = started
        stats.sent += 1
        try:
            await cp.send_meter_values(1, sampled_values=_values(energy, power, seq))
            stats.answered += 1
            stats.round_trips.append(time.perf_counter() - started)
        except Exception:  # counted; the run goes on
            stats.errors += 1
        await asyncio.sleep(max(0.0, 1.0 - (time.perf_counter() - started)))


async def run(
    counts: list[int], duration: float, warmup: float, *, freeze_client_gc: bool = True
) -> list[dict[str, Any]]:
    """Run the benchmark for each charger count; returns one result row per count."""
    results = []
    for n in counts:
        with tempfile.TemporaryDirectory(prefix="ev_sessions_bench_") as tmp:
            config_dir = Path(tmp)
            http_port, ocpp_port = _free_port(), _free_port()
            (config_dir / "configuration.yaml").write_text(
                CONFIGURATION.format(http_port=http_port)
            )
            hass = HomeAssistantProcess(config_dir, port=http_port)
            chargers: list[SimulatedChargePoint] = []
            watcher = StateWatcher(hass)
            try:
                await hass.start()
                await hass.login()
                await hass.config_flow(DOMAIN, {"ocpp_port": ocpp_port})
                t0 = time.perf_counter()
                for i in range(n):
                    await hass.config_flow(
                        DOMAIN, {"next_step_id": "ocpp"}, {"charger_id": f"BENCH-{i:03d}"}
                    )
                add_s = time.perf_counter() - t0
                await watcher.connect()
                registry = await watcher.request({"type": "config/entity_registry/list"})
                power_entity = {
                    e["unique_id"][len("charger_") : -len("_power")]: e["entity_id"]
                    for e in registry
                    if e["platform"] == DOMAIN
                    and e["unique_id"].startswith("charger_")
                    and e["unique_id"].endswith("_power")
                }
                for i in range(n):
                    cp = SimulatedChargePoint(
                        f"ws://127.0.0.1:{ocpp_port}/BENCH-{i:03d}",
                        SimConfig(charger_id=f"BENCH-{i:03d}", strict=False, power_w=0.0),
                    )
                    await cp.connect()
                    await cp.plug_in(1)
                    await cp.start(1, f"TAG{i:04d}")
                    chargers.append(cp)
                await watcher.subscribe([power_entity[cp.charger_id] for cp in chargers])
                stop = asyncio.Event()
                stats_ref = [Stats()]
                watcher.stats = stats_ref[0]
                tasks = [
                    asyncio.create_task(
                        _charger_loop(
                            cp, power_entity[cp.charger_id], watcher, stats_ref, stop, i / n
                        )
                    )
                    for i, cp in enumerate(chargers)
                ]
                await asyncio.sleep(warmup)
                if freeze_client_gc:
                    # The client's own collections must not be measured as hub latency.
                    gc.freeze()
                    gc.disable()
                stats_ref[0] = Stats()
                watcher.stats = stats_ref[0]
                cpu0, t_start = _cpu_seconds(hass.pid), time.perf_counter()
                if os.environ.get("EV_SESSIONS_HASS_DIAG"):
                    print(f"EVDIAG {time.time():.3f} window start", file=sys.stderr, flush=True)
                await asyncio.sleep(duration)
                cpu1, elapsed = _cpu_seconds(hass.pid), time.perf_counter() - t_start
                window = stats_ref[0]
                stop.set()
                gc.enable()
                await asyncio.gather(*tasks, return_exceptions=True)
                lat = sorted(window.latencies)
                rtt = sorted(window.round_trips)
                row = {
                    "chargers": n,
                    "add_chargers_s": round(add_s, 2),
                    "offered_per_s": round(window.sent / elapsed, 1),
                    "handled_per_s": round(window.answered / elapsed, 1),
                    "errors": window.errors,
                    "cpu_share": round((cpu1 - cpu0) / elapsed, 3),
                    "cpu_ms_per_frame": round(1000 * (cpu1 - cpu0) / max(window.answered, 1), 3),
                    "latency_p50_ms": round(1000 * statistics.median(lat), 1) if lat else None,
                    "latency_p99_ms": round(1000 * lat[int(len(lat) * 0.99) - 1], 1)
                    if lat
                    else None,
                    "latency_samples": len(lat),
                    "answer_p99_ms": round(1000 * rtt[int(len(rtt) * 0.99) - 1], 1)
                    if rtt
                    else None,
                    "latency_max_ms": round(1000 * lat[-1], 1) if lat else None,
                    "over_100ms": len(window.slow),
                    "slow_bursts_s": sorted({round(at - t_start) for at, _ in window.slow}),
                }
                print(json.dumps(row), flush=True)
                results.append(row)
            finally:
                await watcher.close()
                for cp in chargers:
                    await cp.close()
                await hass.stop()
    return results


def main() -> None:
    """Parse arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--chargers", type=int, nargs="+", default=[10, 50, 200])
    parser.add_argument("--duration", type=float, default=60.0)
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument(
        "--client-gc", action="store_true", help="leave the load client's garbage collector on"
    )
    args = parser.parse_args()
    asyncio.run(run(args.chargers, args.duration, args.warmup, freeze_client_gc=not args.client_gc))


if __name__ == "__main__":
    main()
