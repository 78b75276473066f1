"""Simulated Modbus TCP chargers (entry point and CLI).

``python -m simulators.modbus_devices --model alfen --port 5020`` runs a looping demo
session: plug in, charge, the car pauses, unplug, repeat. Device time runs at real speed
(``--speed 1``, the default): a faster clock expires the adapter's watchdog, makes register
steps look like implausible jumps and shows impossible power. ``--speed`` > 1 only for a
simulator that is watched without the integration.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging

from custom_components.ev_sessions.chargers.modbus import PROFILES

from .modbus import ChargerSimulator, SimWrite, start_simulator

__all__ = ["ChargerSimulator", "SimWrite", "main", "run_demo", "start_simulator"]

_LOGGER = logging.getLogger("simulators.modbus_devices")


async def run_demo(
    model: str,
    port: int,
    *,
    host: str = "127.0.0.1",
    speed: float = 1.0,
    power_w: float = 11000.0,
    variant: str | None = None,
) -> None:
    """Serve ``model`` (or its firmware ``variant``) forever, cycling through a session (times
    are device seconds)."""
    sim = await start_simulator(model, port, host=host, rate=speed, variant=variant)
    _LOGGER.info(
        "%s simulator on %s:%s (unit %s), speed x%s",
        model,
        host,
        sim.port,
        sim.profile.unit_id,
        speed,
    )
    script: list[tuple[str, float]] = [
        ("plug_in", 120),
        ("start_charging", 1800),
        ("stop_charging", 300),
        ("unplug", 600),
    ]
    try:
        while True:
            for step, hold_s in script:
                if step == "start_charging":
                    sim.start_charging(power_w)
                elif step == "plug_in":
                    sim.plug_in()
                    sim.set_rfid("04A2B3C4")
                else:
                    getattr(sim, step)()
                _LOGGER.info(
                    "%s: %s (meter %.0f Wh, limit %.1f A)",
                    model,
                    step,
                    sim.energy_wh,
                    sim.effective_limit,
                )
                await asyncio.sleep(hold_s / speed)
    finally:
        await sim.stop()


def parser() -> argparse.ArgumentParser:
    """The command line of the demo."""
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--model", choices=sorted(PROFILES), default="alfen")
    cli.add_argument("--host", default="127.0.0.1")
    cli.add_argument("--port", type=int, default=5020)
    cli.add_argument("--speed", type=float, default=1.0, help="device seconds per real second")
    cli.add_argument("--power", type=float, default=11000.0, help="vehicle demand in W")
    cli.add_argument(
        "--variant", default=None, help="a firmware variant of the model (phoenix_ev_eth: wallbe)"
    )
    return cli


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and run the demo until interrupted."""
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            run_demo(
                args.model,
                args.port,
                host=args.host,
                speed=args.speed,
                power_w=args.power,
                variant=args.variant,
            )
        )


if __name__ == "__main__":
    main()
