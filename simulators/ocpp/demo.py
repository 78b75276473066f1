"""The command line demo: a charge point that charges in a loop (``python -m simulators.ocpp``)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
from pathlib import Path

from .charge_point import SimulatedChargePoint
from .config import SimConfig

_LOGGER = logging.getLogger(__name__)


async def demo(
    url: str,
    version: str,
    tag: str,
    minutes: float,
    power_w: float,
    password_file: Path | None = None,
) -> None:
    """Loop: plug in, swipe, charge at ``power_w`` for ``minutes``, stop, unplug, repeat.

    With ``password_file`` the charger keeps the password the hub gives it across restarts.
    """
    charger_id = url.rstrip("/").rsplit("/", 1)[-1]
    password = None
    if password_file is not None and password_file.exists():
        password = password_file.read_text(encoding="utf-8").strip() or None
    cp = SimulatedChargePoint(
        url,
        SimConfig(
            charger_id=charger_id,
            version=version,
            power_w=power_w,
            sample_interval=None,
            heartbeats=True,
            soc_pct=50.0,
            battery_wh=60_000.0,  # a 60 kWh car: its SoC rises as it charges
            reconnect_after=5.0,
            password=password,
            password_file=password_file,
        ),
    )
    await cp.connect_until_accepted()
    try:
        while True:
            try:
                await _demo_session(cp, tag, minutes)
            except ConnectionError as error:  # the hub closed the connection mid-session
                _LOGGER.info("connection lost (%s); waiting to reconnect", error)
                await asyncio.sleep(1)
                await cp.wait_connected()
    finally:
        await cp.close()


async def _demo_session(cp: SimulatedChargePoint, tag: str, minutes: float) -> None:
    """One demo session on connector 1 (a transaction left over from a lost link is ended)."""
    if cp.connector(1).transaction_id is not None:
        await cp.stop(1, "Local", id_tag=tag)
    await cp.plug_in(1)
    status = await cp.swipe(tag)
    _LOGGER.info("tag %s…: %s", tag[:4], status)
    if status == "Accepted":
        transaction = await cp.start(1, tag)
        _LOGGER.info("charging, transaction %s", transaction)
        await asyncio.sleep(minutes * 60)
        await cp.stop(1, "Local", id_tag=tag)
    await asyncio.sleep(5)
    await cp.unplug(1)
    await asyncio.sleep(10)


def main(argv: list[str] | None = None) -> None:
    """Command line entry point."""
    parser = argparse.ArgumentParser(description="Simulated OCPP charge point (looping demo)")
    parser.add_argument("--url", default="ws://127.0.0.1:9000/SIM1")
    parser.add_argument("--version", choices=("1.6", "2.0.1"), default="1.6")
    parser.add_argument("--tag", default="DEMO0001")
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--power", type=float, default=7400.0, help="charging power in W")
    parser.add_argument(
        "--password-file", type=Path, default=None, help="keep the hub's password here"
    )
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(
            demo(args.url, args.version, args.tag, args.minutes, args.power, args.password_file)
        )
