"""The simulated charge point behaves like a charger where tests could race it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
import json
from pathlib import Path
from typing import Any

from aiohttp import web
import pytest

from simulators.ocpp import SimConfig, SimulatedChargePoint

from .helpers import wait_until

pytestmark = pytest.mark.usefixtures("socket_enabled")

#: How long the slow hub below keeps a StartTransaction unanswered when nothing else comes.
START_ANSWER_DELAY = 0.3


@asynccontextmanager
async def slow_start_hub() -> AsyncIterator[tuple[int, list[tuple[str, dict[str, Any]]]]]:
    """A 1.6 hub that answers StartTransaction (id 42) only once the charger sends another
    frame, or after ``START_ANSWER_DELAY``; yields its port and the CALLs it got, in order."""
    calls: list[tuple[str, dict[str, Any]]] = []

    async def handle(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=("ocpp1.6",))
        await ws.prepare(request)
        held: str | None = None
        while True:
            try:
                async with asyncio.timeout(START_ANSWER_DELAY if held else None):
                    message = await ws.receive()
            except TimeoutError:
                message = None
            if held is not None:  # another frame came, or the delay passed: answer it now
                answer = {"transactionId": 42, "idTagInfo": {"status": "Accepted"}}
                await ws.send_str(json.dumps([3, held, answer]))
                held = None
            if message is None:
                continue
            if message.type is not web.WSMsgType.TEXT:
                return ws
            _kind, unique_id, action, payload = json.loads(message.data)
            calls.append((action, payload))
            if action == "StartTransaction":
                held = unique_id
                continue
            answer = (
                {"status": "Accepted", "currentTime": "2026-01-01T00:00:00Z", "interval": 300}
                if action == "BootNotification"
                else {}
            )
            await ws.send_str(json.dumps([3, unique_id, answer]))

    app = web.Application()
    app.router.add_get("/{charger_id}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield runner.addresses[0][1], calls
    finally:
        await runner.cleanup()


async def test_a_stop_waits_for_the_start_it_follows() -> None:
    """A stop while StartTransaction is still unanswered (a remote start the charger began on
    its own) goes out after it, with the transaction id the hub gave; the start that finishes
    first does not bring the transaction back (the connector was 'Charging' again, so the
    next RemoteStartTransaction was rejected)."""
    async with slow_start_hub() as (port, calls):
        cp = SimulatedChargePoint(f"ws://127.0.0.1:{port}/CP1", SimConfig(charger_id="CP1"))
        try:
            await cp.connect()
            await cp.plug_in(1)
            starting = asyncio.create_task(cp.start(1, "TAG-1"))
            await wait_until(lambda: any(action == "StartTransaction" for action, _ in calls))
            await cp.stop(1, "Local")
            started = await starting
        finally:
            await cp.close()
    sent = [
        (action, payload.get("transactionId", payload.get("status")))
        for action, payload in calls
        if action != "BootNotification"
    ]
    assert sent == [
        ("StatusNotification", "Available"),
        ("StatusNotification", "Preparing"),
        ("StartTransaction", None),
        ("StatusNotification", "Charging"),
        ("StopTransaction", 42),
        ("StatusNotification", "Finishing"),
    ]
    assert started == "42"
    assert not cp.connector(1).charging
    assert cp.connector(1).status == "Finishing"


async def test_the_password_the_hub_gives_survives_a_restart_of_the_charger(
    tmp_path: Path,
) -> None:
    """Like a charger's flash memory: the password is kept in its file and used after a restart
    (scripts/develop restarts the simulator against a hub that requires the password)."""
    from custom_components.ev_sessions.chargers.events import SetChargerPassword

    from .helpers import running_server, url

    passwords: dict[str, str] = {}
    secret = "s3cret-s3cret-s3cret"
    password_file = tmp_path / "cp.password"
    async with running_server(password_for=passwords.get) as (server, _handler):
        cp = SimulatedChargePoint(
            url(server, "CP1"), SimConfig(charger_id="CP1", password_file=password_file)
        )
        await cp.connect()
        result = await server.execute("CP1", SetChargerPassword(password=secret))
        assert result.accepted
        await cp.close()
        assert password_file.read_text(encoding="utf-8") == secret
        passwords["CP1"] = secret
        again = SimulatedChargePoint(
            url(server, "CP1"),
            SimConfig(charger_id="CP1", password=password_file.read_text(encoding="utf-8")),
        )
        await again.connect_until_accepted()
        assert server.charger_diagnostics("CP1")["authenticated"] is True
        await again.close()


def test_the_cars_state_of_charge_rises_with_the_energy_charged() -> None:
    """Like a real car: the SoC the charger reports rises with what the battery took since the
    transaction started, and stops at 100 %; without a battery size it stays put."""
    cp = SimulatedChargePoint(
        "ws://127.0.0.1:1/c", SimConfig(charger_id="c", soc_pct=50.0, battery_wh=60_000.0)
    )
    connector = cp.connector(1)
    connector.energy_wh = connector.start_wh = 1_000.0
    connector.transaction_id = 7
    assert cp.soc_of(connector) == 50.0
    connector.energy_wh += 6_000
    assert cp.soc_of(connector) == pytest.approx(60.0)
    connector.energy_wh += 60_000
    assert cp.soc_of(connector) == 100.0
    fixed = SimulatedChargePoint("ws://127.0.0.1:1/c", SimConfig(charger_id="c", soc_pct=50.0))
    fixed_connector = fixed.connector(1)
    fixed_connector.transaction_id = 7
    fixed_connector.energy_wh = 9_000.0
    assert fixed.soc_of(fixed_connector) == 50.0
