"""scripts/develop: a real Home Assistant with this integration and simulated chargers.

1. starts ``hass -c config`` (HTTP on 127.0.0.1:8123),
2. onboards it on first run (owner user dev / dev) or logs in,
3. creates the EV Sessions hub (OCPP on port 9000) if missing,
4. adds a demo member owning the simulator's RFID tag, starts a simulated OCPP 1.6J charge
   point and accepts it through HA discovery,
5. starts a simulated Modbus charger (Alfen profile) and adds it through the config flow,
6. runs until Ctrl-C (or ``--once``: stops after everything is set up and a session ran).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
from pathlib import Path
import signal
import subprocess
import sys

from simulators.home_assistant import HomeAssistantProcess

REPO = Path(__file__).resolve().parents[1]
DOMAIN = "ev_sessions"
OCPP_PORT = 9000
OCPP_ID = "SIM-OCPP-1"
MODBUS_PORT = 5020
MODBUS_MODEL = "alfen"
DEMO_TAG = "DEMO0001"
HUB_TITLE = "EV Sessions"  # the REST API lists entries without unique ids: match titles


def _spawn(*args: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", *args], cwd=REPO)


async def _ensure_hub(hass: HomeAssistantProcess) -> None:
    entries = await hass.entries(DOMAIN)
    if any(e["title"] == HUB_TITLE for e in entries):
        return
    result = await hass.config_flow(DOMAIN, {"ocpp_port": OCPP_PORT})
    print(f"develop: hub created ({result.get('type')})")


async def _ensure_member(hass: HomeAssistantProcess) -> None:
    """A demo member owning the simulated charge point's tag (members only is the default)."""
    hub = next(e for e in await hass.entries(DOMAIN) if e["title"] == HUB_TITLE)
    if hub.get("num_subentries"):
        return
    await hass.subentry_flow(
        hub["entry_id"],
        "member",
        {"name": "Demo driver", "tags": [{"id_tag": DEMO_TAG, "label": "Simulator card"}]},
    )
    print(f"develop: member 'Demo driver' with tag {DEMO_TAG} added")


async def _accept_discovered(hass: HomeAssistantProcess, charger_id: str, wait_s: float) -> bool:
    """Answer the discovery flow of a charger (or see that it is already added)."""
    deadline = asyncio.get_running_loop().time() + wait_s
    while asyncio.get_running_loop().time() < deadline:
        if any(e["title"] == charger_id for e in await hass.entries(DOMAIN)):
            return True
        for flow in await hass.flows_in_progress():
            if flow["handler"] == DOMAIN and flow["context"].get("unique_id") == charger_id:
                await hass.answer_flow(flow["flow_id"], {})
                print(f"develop: accepted discovered OCPP charger {charger_id}")
                return True
        await asyncio.sleep(1)
    return False


async def _ensure_modbus(hass: HomeAssistantProcess) -> None:
    entries = await hass.entries(DOMAIN)
    if any(e["title"] not in (HUB_TITLE, OCPP_ID) for e in entries):
        return
    for _ in range(20):
        result = await hass.config_flow(
            DOMAIN,
            {"next_step_id": "modbus"},
            {"host": "127.0.0.1", "port": MODBUS_PORT, "model": MODBUS_MODEL},
        )
        if result.get("type") == "create_entry":
            print("develop: Modbus charger added")
            return
        await asyncio.sleep(1)  # the simulator may still be starting
    print(f"develop: could not add the Modbus charger: {result}")


async def main(once: bool) -> int:
    """Run the stack; returns the exit code."""
    hass = HomeAssistantProcess(REPO / "config")
    sims: list[subprocess.Popen[bytes]] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        await hass.start()
        await hass.login()
        await _ensure_hub(hass)
        await _ensure_member(hass)
        sims.append(
            _spawn(
                "simulators.ocpp",
                "--url",
                f"ws://127.0.0.1:{OCPP_PORT}/{OCPP_ID}",
                "--version",
                "1.6",
                "--tag",
                DEMO_TAG,
                "--password-file",  # the charger keeps the password the hub gave it
                str(REPO / "config" / f".{OCPP_ID}.password"),
            )
        )
        sims.append(
            _spawn(  # real speed: the integration's watchdog and plausibility checks hold
                "simulators.modbus_devices",
                "--model",
                MODBUS_MODEL,
                "--port",
                str(MODBUS_PORT),
                "--speed",
                "1",
            )
        )
        if not await _accept_discovered(hass, OCPP_ID, wait_s=60):
            print("develop: the simulated OCPP charger was not discovered")
            return 1
        await _ensure_modbus(hass)
        print("develop: Home Assistant is at http://127.0.0.1:8123 (user dev, password dev)")
        if once:
            await asyncio.sleep(20)
            return 0
        while not stop.is_set() and hass.process is not None and hass.process.poll() is None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1)
        return 0
    finally:
        for sim in sims:
            sim.terminate()
        for sim in sims:
            with contextlib.suppress(subprocess.TimeoutExpired):
                sim.wait(10)
        await hass.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--once", action="store_true", help="set up, run briefly, stop")
    sys.exit(asyncio.run(main(parser.parse_args().once)))
