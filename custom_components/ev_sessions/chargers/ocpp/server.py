"""The OCPP central system: one websocket server, many chargers (1.6J and 2.0.1).

Chargers connect to ``ws[s]://host:port/<anything>/<charger id>``; the id is the last non-empty
path segment, URL-decoded. The subprotocol (``ocpp2.0.1`` or ``ocpp1.6``, 1.6 when none is
offered) selects the connection class. A second connection with the same id replaces the first.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Callable
import hmac
import logging
from typing import Any
from urllib.parse import unquote

from aiohttp import hdrs, web

from custom_components.ev_sessions.chargers.events import (
    ChargerCommand,
    ChargerDisconnected,
    ChargerHandler,
    ChargerInfo,
    ChargerNotConnectedError,
    CommandResult,
)

from .connection import Hub, OcppConnection
from .schemas import load_schemas
from .state import ChargerState, OcppServerSettings, TransactionIdFactory
from .timeutil import utcnow
from .v16 import V16Connection
from .v201 import V201Connection

_LOGGER = logging.getLogger(__name__)

#: Subprotocols in our order of preference (used when a charger offers several).
PROTOCOLS: dict[str, type[OcppConnection]] = {
    "ocpp2.0.1": V201Connection,
    "ocpp1.6": V16Connection,
}
_MAX_WARNED = 1000


def charger_id_from_path(raw_path: str) -> str | None:
    """The last non-empty segment of a raw URL path, URL-decoded (``None`` when there is none)."""
    path = raw_path.split("?", 1)[0]
    for segment in reversed(path.split("/")):
        if segment:
            return unquote(segment)
    return None


def basic_credentials(header: str) -> tuple[str, str] | None:
    """``(login, password)`` from an HTTP Basic ``Authorization`` header, else ``None``.

    OCPP security profile passwords may be any bytes; they are decoded as UTF-8, then Latin-1.
    """
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic" or not encoded:
        return None
    try:
        raw = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        return None
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    login, colon, password = text.partition(":")
    return (login, password) if colon else None


class OcppServer:
    """Accepts charger websockets and translates between OCPP and normalized events/commands.

    :param handler: receives events and makes the authorization and boot decisions.
    :param settings: address, port, TLS, ``reject_unknown`` and protocol behaviour.
    :param password_for: the Basic-auth password of a charger, or ``None`` for none required
        (security profiles 1 and 2; the user name must be the charger id).
    :param known: whether a charger id is known to the hub (used with ``reject_unknown``).
    :param transaction_id_factory: issues 1.6 transaction ids (positive int, unique across
        restarts); defaults to wall-clock milliseconds modulo 2^31.
    """

    def __init__(
        self,
        handler: ChargerHandler,
        settings: OcppServerSettings | None = None,
        *,
        password_for: Callable[[str], str | None] | None = None,
        known: Callable[[str], bool] | None = None,
        transaction_id_factory: Callable[[], int] | None = None,
    ) -> None:
        self.settings = settings or OcppServerSettings()
        self._password_for = password_for
        self._known = known
        self._hub = Hub(
            handler=handler,
            settings=self.settings,
            new_transaction_id=transaction_id_factory or TransactionIdFactory(),
        )
        self._states: dict[str, ChargerState] = {}
        self._connections: dict[str, OcppConnection] = {}
        self._handlers: set[asyncio.Task[Any]] = set()
        self._warned: set[tuple[str, str]] = set()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    # ------------------------------------------------------------------ lifecycle

    @property
    def port(self) -> int:
        """The bound TCP port (after :meth:`start`)."""
        if self._port is None:
            raise RuntimeError("the OCPP server is not started")
        return self._port

    @property
    def running(self) -> bool:
        """The server is listening."""
        return self._runner is not None

    async def start(self) -> None:
        """Bind and start accepting chargers."""
        if self._runner is not None:
            return
        # The schema files are read once, off the event loop.
        await asyncio.get_running_loop().run_in_executor(None, load_schemas)
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        runner = web.AppRunner(app, handle_signals=False, access_log=None, shutdown_timeout=5.0)
        await runner.setup()
        site = web.TCPSite(
            runner,
            self.settings.host,
            self.settings.port,
            ssl_context=self.settings.ssl_context,
        )
        try:
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        server = site._server
        sockets = getattr(server, "sockets", None) or ()
        self._port = sockets[0].getsockname()[1] if sockets else self.settings.port
        _LOGGER.info("OCPP server listening on %s:%s", self.settings.host, self._port)

    async def stop(self) -> None:
        """Close every charger websocket, stop every task, release the port."""
        runner, self._runner = self._runner, None
        connections = list(self._connections.values())
        await asyncio.gather(
            *(connection.close("server stopping") for connection in connections),
            return_exceptions=True,
        )
        handlers = [task for task in self._handlers if not task.done()]
        if handlers:
            _, still = await asyncio.wait(handlers, timeout=5.0)
            for task in still:
                task.cancel()
            if still:
                await asyncio.wait(still, timeout=1.0)
        if runner is not None:
            await runner.cleanup()
        self._port = None

    # ------------------------------------------------------------------ hub-side API

    def is_connected(self, charger_id: str) -> bool:
        """A websocket from this charger is open."""
        connection = self._connections.get(charger_id)
        return connection is not None and not connection.closed

    def connected(self) -> list[str]:
        """Ids of the chargers with an open websocket."""
        return [cid for cid, conn in self._connections.items() if not conn.closed]

    def accept(self, charger_id: str) -> None:
        """Accept a pending (or rejected) charger: its next boot is accepted without asking.

        A connected charger is asked to boot again at once (TriggerMessage), so it does not have
        to reconnect or wait for its retry interval.
        """
        state = self._state(charger_id)
        state.force_accept = True
        connection = self._connections.get(charger_id)
        if connection is not None and not connection.closed:
            connection.accept_pending()

    def forget(self, charger_id: str) -> None:
        """Drop what the server remembers of a charger (e.g. it was removed by the user)."""
        self._states.pop(charger_id, None)

    async def execute(self, charger_id: str, command: ChargerCommand) -> CommandResult:
        """Send a command to a charger.

        Raises :class:`ChargerNotConnectedError`, :class:`ChargerTimeoutError`,
        :class:`CommandNotSupportedError`, and :class:`ValueError` for arguments the protocol
        cannot carry (e.g. an id tag over 20 characters in 1.6).
        """
        connection = self._connections.get(charger_id)
        if connection is None or connection.closed:
            raise ChargerNotConnectedError(charger_id)
        return await connection.execute(command)

    def diagnostics(self) -> dict[str, Any]:
        """The server as a whole (JSON-friendly): address, settings, every charger it knows."""
        settings = self.settings
        return {
            "host": settings.host,
            "port": self._port,
            "running": self.running,
            "tls": settings.ssl_context is not None,
            "reject_unknown": settings.reject_unknown,
            "heartbeat_interval": settings.heartbeat_interval,
            "meter_interval": settings.meter_interval,
            "command_timeout": settings.command_timeout,
            "connected": sorted(self.connected()),
            "chargers": {cid: self.charger_diagnostics(cid) for cid in sorted(self._states)},
        }

    def charger_diagnostics(self, charger_id: str) -> dict[str, Any]:
        """What the server knows about a charger (JSON-friendly), ``{}`` when unknown."""
        state = self._states.get(charger_id)
        if state is None:
            return {}
        connection = self._connections.get(charger_id)
        result = state.diagnostics()
        result["connected"] = connection is not None and not connection.closed
        result["protocol"] = connection.protocol if connection is not None else None
        return result

    # ------------------------------------------------------------------ websocket handling

    def _state(self, charger_id: str) -> ChargerState:
        state = self._states.get(charger_id)
        if state is None:
            state = self._states[charger_id] = ChargerState(charger_id=charger_id)
        return state

    def _warn_once(self, charger_id: str, reason: str, message: str, *args: object) -> None:
        key = (charger_id, reason)
        if key in self._warned:
            _LOGGER.debug(message, *args)
            return
        if len(self._warned) >= _MAX_WARNED:
            self._warned.clear()
        self._warned.add(key)
        _LOGGER.warning(message, *args)

    def _authorized(self, request: web.Request, charger_id: str, password: str) -> bool:
        credentials = basic_credentials(request.headers.get(hdrs.AUTHORIZATION, ""))
        if credentials is None:
            return False
        login, given = credentials
        return hmac.compare_digest(login.encode(), charger_id.encode()) and (
            hmac.compare_digest(given.encode(), password.encode())
        )

    def _check_request(self, request: web.Request, charger_id: str | None) -> None:
        """Raise the HTTP error that refuses this websocket, if any."""
        if not charger_id:
            raise web.HTTPNotFound(text="no charger id in the URL")
        if self.settings.reject_unknown and (self._known is None or not self._known(charger_id)):
            self._warn_once(charger_id, "unknown", "Refused unknown charger %s", charger_id)
            raise web.HTTPNotFound(text="unknown charger")
        password = self._password_for(charger_id) if self._password_for is not None else None
        if password is not None:
            if not self._authorized(request, charger_id, password):
                self._warn_once(
                    charger_id,
                    "auth",
                    "Charger %s failed HTTP Basic authentication (missing or wrong password)",
                    charger_id,
                )
                raise web.HTTPUnauthorized(
                    headers={hdrs.WWW_AUTHENTICATE: 'Basic realm="ev_sessions OCPP"'}
                )
            self._warned.discard((charger_id, "auth"))
        offered = [
            proto.strip()
            for proto in request.headers.get(hdrs.SEC_WEBSOCKET_PROTOCOL, "").split(",")
            if proto.strip()
        ]
        if offered and not any(proto in PROTOCOLS for proto in offered):
            self._warn_once(
                charger_id, "protocol", "Charger %s offers only %s", charger_id, offered
            )
            raise web.HTTPBadRequest(text=f"supported subprotocols: {', '.join(PROTOCOLS)}")

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        charger_id = charger_id_from_path(request.rel_url.raw_path)
        self._check_request(request, charger_id)
        assert charger_id is not None
        if not self.running:
            raise web.HTTPServiceUnavailable
        ws = web.WebSocketResponse(
            protocols=tuple(PROTOCOLS), heartbeat=self.settings.ws_ping_interval
        )
        await ws.prepare(request)
        connection_class = PROTOCOLS.get(ws.ws_protocol or "ocpp1.6", V16Connection)
        state = self._state(charger_id)
        if (
            state.boot_count == 0
            and not state.accepted
            and self._known is not None
            and self._known(charger_id)
        ):
            # A charger the hub knows reconnects after our restart without booting again
            # (most do): take it back at once; its identity comes with its next boot.
            state.accepted = True
            state.info = ChargerInfo(protocol=connection_class.protocol)
        connection = connection_class(ws, state, self._hub)
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            previous = self._connections.get(charger_id)
            self._connections[charger_id] = connection
            if previous is not None and not previous.closed:
                _LOGGER.info("%s: new connection replaces the previous one", charger_id)
                previous.replaced = True
                self._disconnected(charger_id, "replaced by a new connection")
                await previous.close("replaced by a new connection")
            _LOGGER.info("%s: connected (%s)", charger_id, connection.protocol)
            await connection.run()
        finally:
            await connection.wait_tasks()
            if self._connections.get(charger_id) is connection:
                del self._connections[charger_id]
            if not connection.replaced:
                self._disconnected(charger_id, "connection closed")
            if task is not None:
                self._handlers.discard(task)
        return ws

    def _disconnected(self, charger_id: str, reason: str) -> None:
        _LOGGER.info("%s: disconnected (%s)", charger_id, reason)
        try:
            self._hub.handler.handle_event(
                ChargerDisconnected(charger_id=charger_id, at=utcnow(), reason=reason)
            )
        except Exception:
            _LOGGER.exception("%s: event handler failed on ChargerDisconnected", charger_id)
