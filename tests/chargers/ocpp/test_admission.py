"""Who gets in: unknown ids, duplicates, passwords, back-off, id validation, idle sockets.

The attackers are raw websocket (or raw TCP) clients; the real chargers are simulators.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
import json
import logging
import socket
import time
from typing import Any

import aiohttp
from aiohttp import web
import pytest
from yarl import URL

from custom_components.ev_sessions.chargers.events import (
    BootDecision,
    ChargerDisconnected,
    SetChargerPassword,
    TransactionEnded,
    TransactionStarted,
)
from simulators.ocpp import SimConfig, SimulatedChargePoint

from .helpers import charge_point, running_server, url, wait_until

pytestmark = pytest.mark.usefixtures("socket_enabled")

PASSWORD = "Pw-0123456789abcdefg"  # 20 characters, as the hub generates them


@asynccontextmanager
async def raw_ws(
    address: str, *, protocol: str = "ocpp1.6", **kwargs: Any
) -> AsyncIterator[aiohttp.ClientWebSocketResponse]:
    """A bare websocket client (no OCPP logic at all)."""
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(address, protocols=(protocol,), **kwargs) as ws,
    ):
        yield ws


async def exchange(ws: aiohttp.ClientWebSocketResponse, frame: list[Any]) -> list[Any]:
    """Send one frame, return the answer to it (CALLs from the server are skipped)."""
    await ws.send_str(json.dumps(frame))
    async with asyncio.timeout(3):
        while True:
            message = json.loads(await ws.receive_str())
            if message[0] in (3, 4) and message[1] == frame[1]:
                return list(message)


async def handshake_status(address: str | URL, **kwargs: Any) -> tuple[int, dict[str, str]]:
    """The HTTP status (and headers) a websocket handshake gets (101 when let in)."""
    async with aiohttp.ClientSession() as session:
        try:
            ws = await session.ws_connect(address, protocols=("ocpp1.6",), **kwargs)
        except aiohttp.WSServerHandshakeError as error:
            return error.status, dict(error.headers or {})
        await ws.close()
        return 101, {}


def basic(charger_id: str, password: str) -> dict[str, str]:
    """An HTTP Basic Authorization header."""
    return {"Authorization": aiohttp.encode_basic_auth(charger_id, password)}


START = {"connectorId": 1, "idTag": "TAG1", "meterStart": 0, "timestamp": "2025-01-01T00:00:00Z"}


async def test_unknown_id_gets_boot_only_and_nothing_reaches_the_hub() -> None:
    """Never booted, then Pending: every other CALL is a SecurityError, no event is emitted."""
    forgotten: list[str] = []
    async with running_server(known=lambda cid: cid == "CP1", forgotten=forgotten.append) as (
        server,
        handler,
    ):
        handler.boot["STRANGER"] = BootDecision.PENDING
        async with raw_ws(url(server, "STRANGER")) as ws:
            frames = [
                [2, "a", "Authorize", {"idTag": "TAG1"}],
                [2, "b", "StartTransaction", START],
                [
                    2,
                    "c",
                    "StatusNotification",
                    {"connectorId": 1, "errorCode": "NoError", "status": "Charging"},
                ],
                [
                    2,
                    "d",
                    "MeterValues",
                    {
                        "connectorId": 1,
                        "transactionId": 1,
                        "meterValue": [
                            {
                                "timestamp": "2025-01-01T00:01:00Z",
                                "sampledValue": [{"value": "900"}],
                            }
                        ],
                    },
                ],
                [
                    2,
                    "e",
                    "StopTransaction",
                    {"transactionId": 1, "meterStop": 900, "timestamp": "2025-01-01T00:02:00Z"},
                ],
                [2, "f", "Heartbeat", {}],
            ]
            for frame in frames:
                answer = await exchange(ws, frame)
                assert answer[:3] == [4, frame[1], "SecurityError"], answer
            boot = await exchange(
                ws,
                [2, "g", "BootNotification", {"chargePointVendor": "X", "chargePointModel": "Y"}],
            )
            assert boot[0] == 3
            assert boot[2]["status"] == "Pending"
            for frame in frames:
                answer = await exchange(ws, [2, frame[1] + "2", frame[2], frame[3]])
                assert answer[:3] == [4, frame[1] + "2", "SecurityError"], answer
            assert "STRANGER" in server.tracked_ids()
        await wait_until(lambda: "STRANGER" not in server.tracked_ids())
        assert handler.events == []
        assert handler.auth_requests == []
        assert forgotten == ["STRANGER"]


async def test_impersonator_is_refused_while_the_real_charger_answers() -> None:
    """A second connection with the id of a live charger gets 409; the session is untouched."""
    async with (
        running_server(duplicate_probe_timeout=0.5) as (server, handler),
        charge_point(server, "CP1") as cp,
    ):
        await cp.plug_in(1)
        await cp.start(1, "TAG1")
        started = await handler.wait_for(TransactionStarted)
        status, _ = await handshake_status(url(server, "CP1"))
        assert status == 409
        assert cp.connected
        assert server.is_connected("CP1")
        await cp.stop(1)
        ended = await handler.wait_for(TransactionEnded)
        assert ended.transaction_id == started.transaction_id
        assert handler.of(ChargerDisconnected) == []


def _raw_upgrade(port: int, charger_id: str) -> socket.socket:
    """A websocket upgrade done by hand; the socket then goes silent (reads nothing)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=3)
    sock.sendall(
        (
            f"GET /{charger_id} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
            "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
            "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: ocpp1.6\r\n\r\n"
        ).encode()
    )
    response = b""
    while b"\r\n\r\n" not in response:
        response += sock.recv(4096)
    assert response.startswith(b"HTTP/1.1 101"), response
    return sock


async def test_charger_gets_back_in_when_its_old_connection_went_silent() -> None:
    """A half-open old connection does not answer the ping: the new one is let in at once."""
    async with running_server(duplicate_probe_timeout=0.3) as (server, _handler):
        old = await asyncio.to_thread(_raw_upgrade, server.port, "CP1")
        try:
            await wait_until(lambda: server.is_connected("CP1"))
            began = time.monotonic()
            async with charge_point(server, "CP1") as cp:
                assert cp.boot_status == "Accepted"
                assert time.monotonic() - began < 2.0
                assert server.is_connected("CP1")
        finally:
            old.close()


async def test_authenticated_connection_replaces_a_live_one() -> None:
    """The password holder always gets in (its old connection is replaced)."""
    async with (
        running_server(password_for={"CP1": PASSWORD}.get) as (server, _handler),
        charge_point(server, "CP1", password=PASSWORD) as first,
        charge_point(server, "CP1", password=PASSWORD, connect=False) as second,
    ):
        await second.connect(boot=False)
        await wait_until(lambda: not first.connected)
        assert second.connected


async def test_set_password_16_then_required() -> None:
    """AuthorizationKey (hex) then SecurityProfile 1; the charger uses it on its next connection;
    the connection that got it stays, strangers are refused."""
    passwords: dict[str, str] = {}
    async with (
        running_server(password_for=passwords.get) as (server, _handler),
        charge_point(server, "CP1") as cp,
    ):
        result = await server.execute("CP1", SetChargerPassword(password=PASSWORD))
        assert result.accepted
        assert cp.requests_for("ChangeConfiguration") == [
            {"key": "AuthorizationKey", "value": PASSWORD.encode().hex()},
            {"key": "SecurityProfile", "value": "1"},
        ]
        assert cp.config.password == PASSWORD
        assert PASSWORD not in json.dumps(server.diagnostics())
        assert PASSWORD.encode().hex() not in json.dumps(server.diagnostics())
        passwords["CP1"] = PASSWORD
        server.credentials_changed("CP1")
        await asyncio.sleep(0.1)
        assert cp.connected  # it proved the password by taking it over this connection
        assert (await handshake_status(url(server, "CP1")))[0] == 401
        await cp.disconnect()
        await cp.connect()
        assert server.charger_diagnostics("CP1")["authenticated"] is True


async def test_set_password_201_and_tls_profile_16() -> None:
    """2.0.1 sets SecurityCtrlr.BasicAuthPassword; 1.6 over TLS asks for profile 2."""
    async with running_server() as (server, _handler):
        async with charge_point(server, "CS1", version="2.0.1") as cs:
            result = await server.execute("CS1", SetChargerPassword(password=PASSWORD))
            assert result.accepted
            [request] = cs.requests_for("SetVariables")
            assert request["setVariableData"][0]["attributeValue"] == PASSWORD
            assert request["setVariableData"][0]["variable"] == {"name": "BasicAuthPassword"}
            assert cs.config.password == PASSWORD
        async with charge_point(server, "CP1") as cp:
            result = await server.execute("CP1", SetChargerPassword(password=PASSWORD, tls=True))
            assert result.accepted
            assert cp.requests_for("ChangeConfiguration")[-1] == {
                "key": "SecurityProfile",
                "value": "2",
            }


@pytest.mark.parametrize("answer", ["Rejected", "NotSupported"])
@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_charger_refusing_a_password(answer: str, version: str) -> None:
    """A charger that will not take a password: not accepted, nothing stored."""
    async with (
        running_server() as (server, _handler),
        charge_point(server, "CP1", version=version, password_answer=answer) as cp,
    ):
        result = await server.execute("CP1", SetChargerPassword(password=PASSWORD))
        assert not result.accepted
        assert result.status == (
            "UnknownVariable" if version == "2.0.1" and answer == "NotSupported" else answer
        )
        assert cp.config.password is None
        assert cp.requests_for("ChangeConfiguration")[1:] == []  # no SecurityProfile after it


async def test_setting_a_password_drops_the_unauthenticated_connection() -> None:
    """The user sets a password for a connected charger: it must come back with it."""
    passwords: dict[str, str] = {}
    async with (
        running_server(password_for=passwords.get) as (server, _handler),
        charge_point(server, "CP1") as cp,
    ):
        passwords["CP1"] = PASSWORD
        server.credentials_changed("CP1")
        await wait_until(lambda: not cp.connected and not server.is_connected("CP1"))
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await cp.connect()
        assert refused.value.status == 401
        cp.config.password = PASSWORD
        await cp.connect()
        assert cp.connected


async def test_password_guessing_backs_off_per_id_and_address(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Three failures, then 429 with Retry-After (even for the right password), growing and
    bounded; another id from the same address waits too; logged once per streak."""
    passwords = {"CP1": PASSWORD, "CP2": PASSWORD}
    async with running_server(
        password_for=passwords.get, auth_failures_allowed=3, auth_backoff=0.4, auth_backoff_max=0.8
    ) as (server, _handler):
        address = url(server, "CP1")
        with caplog.at_level(logging.WARNING):
            for _ in range(3):
                assert (await handshake_status(address, headers=basic("CP1", "guess")))[0] == 401
            status, headers = await handshake_status(address, headers=basic("CP1", PASSWORD))
            assert status == 429
            assert headers["Retry-After"] == "1"
            status, _ = await handshake_status(url(server, "CP2"), headers=basic("CP2", PASSWORD))
            assert status == 429  # the address backs off as well
            await asyncio.sleep(0.45)
            assert (await handshake_status(address, headers=basic("CP1", "guess")))[0] == 401
            assert (await handshake_status(address, headers=basic("CP1", PASSWORD)))[0] == 429
            await asyncio.sleep(0.85)  # doubled, capped at 0.8 s
            assert (await handshake_status(address, headers=basic("CP1", PASSWORD)))[0] == 101
            assert (await handshake_status(address, headers=basic("CP1", "guess")))[0] == 401
        backing_off = [r for r in caplog.records if "backing off" in r.getMessage()]
        assert len(backing_off) == 1
        assert "'CP1'" in backing_off[0].getMessage()


@pytest.mark.parametrize(
    "raw_id",
    ["CP%0A1", "CP%001", "A" * 49, "%2E%2E", "CP%2F1", "CP%5C1", "%E2%80%8B", "CP%252F1", "%20CP1"],
)
async def test_invalid_charger_ids_are_refused(
    raw_id: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Control characters, overlong ids and path tricks: HTTP 400, logged escaped."""
    async with running_server() as (server, handler):
        address = URL(f"http://127.0.0.1:{server.port}/ocpp/{raw_id}", encoded=True)
        with caplog.at_level(logging.WARNING):
            status, _ = await handshake_status(address)
        assert status == 400
        assert handler.events == []
        assert server.tracked_ids() == set()
        logged = " ".join(r.getMessage() for r in caplog.records)
        assert "Refused invalid charger id '" in logged or 'invalid charger id "' in logged
        assert "\n" not in logged
        assert "\x00" not in logged


async def test_longest_valid_id_is_accepted() -> None:
    async with running_server() as (server, _handler):
        charger_id = "Ä-" + "x" * 46
        async with charge_point(server, charger_id) as cp:
            assert cp.boot_status == "Accepted"


async def test_waiting_ids_are_bounded_and_freed() -> None:
    """At most max_pending unaccepted ids; the oldest is dropped; all freed on disconnect."""
    forgotten: list[str] = []
    async with (
        running_server(known=lambda cid: False, forgotten=forgotten.append, max_pending=3) as (
            server,
            handler,
        ),
        aiohttp.ClientSession() as session,
    ):
        sockets = []
        for number in range(5):
            sockets.append(
                await session.ws_connect(url(server, f"NEW{number}"), protocols=("ocpp1.6",))
            )
            await wait_until(lambda n=number: f"NEW{n}" in server.tracked_ids())
        await wait_until(lambda: forgotten == ["NEW0", "NEW1"])
        assert server.tracked_ids() == {"NEW2", "NEW3", "NEW4"}
        assert sockets[0].closed or (await sockets[0].receive()).type in (
            aiohttp.WSMsgType.CLOSE,
            aiohttp.WSMsgType.CLOSED,
        )
        for ws in sockets:
            await ws.close()
        await wait_until(lambda: server.tracked_ids() == set())
        assert sorted(forgotten) == [f"NEW{n}" for n in range(5)]
        assert handler.events == []


def _silent(port: int, first_bytes: bytes) -> float:
    """Connect, send ``first_bytes``, then wait for the server to close; seconds it took."""
    began = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        if first_bytes:
            sock.sendall(first_bytes)
        while sock.recv(4096):
            pass
    return time.monotonic() - began


async def test_connections_that_never_upgrade_are_closed() -> None:
    async with running_server(handshake_timeout=0.3) as (server, _handler):
        took = await asyncio.to_thread(_silent, server.port, b"")
        assert took < 3
        took = await asyncio.to_thread(_silent, server.port, b"GET /CP1 HTTP/1.1\r\nHost: x\r\n")
        assert took < 3


async def test_websocket_that_sends_no_frame_is_closed() -> None:
    async with (
        running_server(first_frame_timeout=0.3, boot_grace=30.0) as (server, _handler),
        raw_ws(url(server, "QUIET")) as ws,
    ):
        async with asyncio.timeout(3):
            message = await ws.receive()
        assert message.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        await wait_until(lambda: not server.is_connected("QUIET"))


async def test_simulated_charger_comes_back_with_its_new_password() -> None:
    """Like a real charger, the simulator reconnects when the hub closes its connection,
    with the password it holds."""
    passwords: dict[str, str] = {}
    async with (
        running_server(password_for=passwords.get) as (server, _handler),
        charge_point(server, "CP1", reconnect_after=0.05) as cp,
    ):
        first = server.charger_diagnostics("CP1")
        assert first["authenticated"] is False
        passwords["CP1"] = PASSWORD
        cp.config.password = PASSWORD  # set on the charger some other way (its web UI)
        server.credentials_changed("CP1")
        await wait_until(lambda: server.charger_diagnostics("CP1").get("authenticated") is True)
        assert cp.connected
        assert server.is_connected("CP1")


async def test_simulated_charger_notices_a_close_while_it_answers() -> None:
    """A hub may close a connection while the charger is still answering its requests (our
    server does when a charger is removed or must now use a password): it sends its close
    frame and drops the TCP connection at once. The charger's answers can no longer be sent;
    it knows it is disconnected (a charger that thinks it is online never comes back)."""
    # ocpp validates each request and answer in a worker thread: 50 of them keep the charger
    # answering long after the close has landed (before the fix it failed every time)
    requests = [[2, f"q{n}", "GetConfiguration", {}] for n in range(50)]

    async def hub(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(protocols=("ocpp1.6",))
        await ws.prepare(request)

        async def ask_then_close() -> None:
            for frame in requests:
                await ws.send_str(json.dumps(frame))
            # called while the loop below waits for a frame, as OcppServer does: aiohttp
            # sends the close frame and closes the TCP connection without waiting for the echo
            await ws.close(code=aiohttp.WSCloseCode.GOING_AWAY)

        closing = asyncio.create_task(ask_then_close())
        async for _message in ws:
            pass
        await closing
        return ws

    app = web.Application()
    app.router.add_get("/{charger_id}", hub)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    cp = SimulatedChargePoint(f"ws://127.0.0.1:{port}/CP1", SimConfig(charger_id="CP1"))
    try:
        await cp.connect(boot=False)
        await cp.wait_for_request("GetConfiguration")
        await wait_until(lambda: not cp.connected, wait=2.0)
    finally:
        await cp.close()
        await runner.cleanup()
