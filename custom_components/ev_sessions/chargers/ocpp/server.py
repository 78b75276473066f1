"""The OCPP central system: one websocket server, many chargers (1.6J and 2.0.1).

Chargers connect to ``ws[s]://host:port/<anything>/<charger id>``; the id is the last non-empty
path segment, URL-decoded, and must be a valid charger id (:func:`valid_charger_id`). The
subprotocol (``ocpp2.0.1`` or ``ocpp1.6``, 1.6 when none is offered) selects the connection class.

Admission:

* a charger with a password (security profiles 1/2) must send it (HTTP Basic, user = its id);
  repeated failures back off per id and per remote address (HTTP 429 with ``Retry-After``);
* a second connection for an id that is connected replaces the first only when it authenticated
  with the charger's password, or when the first one no longer answers a websocket ping (a
  half-open TCP connection); otherwise it is refused (HTTP 409);
* an id the hub does not know is served BootNotification only (answered Pending by the hub) until
  the user adds it; at most ``max_pending`` such ids wait at once (the oldest is dropped), and
  what the server keeps about one is dropped when it disconnects;
* connections that do not complete the upgrade, or send no frame, are closed after a timeout.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
import hmac
import logging
import math
import time
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

from .connection import ChargerNotAcceptedError, OcppConnection, ServerContext
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
#: Charger ids are URL segments and appear in logs and entity ids: short and printable.
MAX_CHARGER_ID_LENGTH = 48
#: Failure streaks remembered (per id and per address) before the oldest are forgotten.
MAX_TRACKED_FAILURES = 4096
_FORBIDDEN_IN_ID = frozenset("/\\%\ufffd")


def charger_id_from_path(raw_path: str) -> str | None:
    """The last non-empty segment of a raw URL path, URL-decoded (``None`` when there is none)."""
    path = raw_path.split("?", 1)[0]
    for segment in reversed(path.split("/")):
        if segment:
            return unquote(segment)
    return None


def valid_charger_id(charger_id: str) -> bool:
    """Printable, at most 48 characters, no surrounding space, no path or encoding tricks."""
    return (
        0 < len(charger_id) <= MAX_CHARGER_ID_LENGTH
        and charger_id.isprintable()
        and charger_id == charger_id.strip()
        and charger_id not in {".", ".."}
        and not _FORBIDDEN_IN_ID.intersection(charger_id)
    )


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


def password_matches(given: str, password: str) -> bool:
    """The charger sent ``password``, or (OCPP 1.6 ``AuthorizationKey``) its hex form.

    The 1.6 security whitepaper carries the key as the hex digits of the password's bytes; some
    chargers send those digits literally instead of the bytes they stand for.
    """
    given_bytes = given.encode("utf-8", "surrogateescape")
    exact = hmac.compare_digest(given_bytes, password.encode())
    hexed = hmac.compare_digest(given_bytes, password.encode().hex().encode())
    return exact or hexed


@dataclass(slots=True)
class _Streak:
    failures: int = 0
    blocked_until: float = 0.0


class AuthBackoff:
    """Failed password checks per key (a charger id, a remote address): when to try again.

    After ``allowed`` failures in a row a key is blocked for ``base`` seconds, doubling with
    every further failure up to ``maximum``. A success ends the streak. At most ``limit`` keys are
    remembered (the oldest streak is forgotten first).
    """

    def __init__(
        self,
        allowed: int,
        base: float,
        maximum: float,
        *,
        clock: Callable[[], float] = time.monotonic,
        limit: int = MAX_TRACKED_FAILURES,
    ) -> None:
        self._allowed = max(1, allowed)
        self._base = base
        self._maximum = maximum
        self._clock = clock
        self._limit = limit
        self._streaks: OrderedDict[str, _Streak] = OrderedDict()

    def __len__(self) -> int:
        return len(self._streaks)

    def retry_after(self, key: str) -> float:
        """Seconds until ``key`` may try again (0: now)."""
        streak = self._streaks.get(key)
        if streak is None:
            return 0.0
        return max(0.0, streak.blocked_until - self._clock())

    def failed(self, key: str) -> bool:
        """Record a failure; ``True`` when it starts a back-off (log it once per streak)."""
        streak = self._streaks.pop(key, None) or _Streak()
        self._streaks[key] = streak
        while len(self._streaks) > self._limit:
            self._streaks.popitem(last=False)
        streak.failures += 1
        beyond = streak.failures - self._allowed
        if beyond < 0:
            return False
        delay = min(self._maximum, self._base * 2 ** min(beyond, 32))
        streak.blocked_until = self._clock() + delay
        return beyond == 0

    def succeeded(self, key: str) -> None:
        """The streak of ``key`` is over."""
        self._streaks.pop(key, None)


class OcppServer:
    """Accepts charger websockets and translates between OCPP and normalized events/commands.

    :param handler: receives events and makes the authorization and boot decisions.
    :param settings: address, port, TLS, ``reject_unknown``, timeouts and protocol behaviour.
    :param password_for: the Basic-auth password of a charger, or ``None`` for none required
        (security profiles 1 and 2; the user name must be the charger id).
    :param known: whether a charger id is configured in the hub. Unknown ids are refused with
        ``reject_unknown``; a known charger that reconnects without booting is taken back.
    :param forgotten: called with the id of a charger that was never accepted when the server
        drops what it knew of it (it disconnected, or too many ids were waiting).
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
        forgotten: Callable[[str], None] | None = None,
        transaction_id_factory: Callable[[], int] | None = None,
    ) -> None:
        self.settings = settings or OcppServerSettings()
        self._password_for = password_for
        self._known = known
        self._forgotten = forgotten
        self._context = ServerContext(
            handler=handler,
            settings=self.settings,
            new_transaction_id=transaction_id_factory or TransactionIdFactory(),
        )
        self._states: dict[str, ChargerState] = {}
        self._connections: dict[str, OcppConnection] = {}
        #: Ids connected but not accepted (Pending, or not booted), oldest first.
        self._unadmitted: OrderedDict[str, None] = OrderedDict()
        self._handlers: set[asyncio.Task[Any]] = set()
        self._closing: set[asyncio.Task[Any]] = set()
        self._warned: set[tuple[str, str]] = set()
        self._backoff = AuthBackoff(
            self.settings.auth_failures_allowed,
            self.settings.auth_backoff,
            self.settings.auth_backoff_max,
        )
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
        # The schema files are read and compiled once, off the event loop.
        await asyncio.get_running_loop().run_in_executor(None, load_schemas)
        app = web.Application()
        app.router.add_get(r"/{tail:[\s\S]*}", self._handle)  # any path, newlines too
        runner = web.AppRunner(
            app,
            handle_signals=False,
            access_log=None,
            shutdown_timeout=5.0,
            # a connection that sends no complete request within this time is closed
            keepalive_timeout=self.settings.handshake_timeout,
        )
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
        if self._closing:
            await asyncio.wait(list(self._closing), timeout=1.0)
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
        """The user accepted a waiting (Pending or Rejected) charger: its next boot is accepted.

        A connected charger is asked to boot again at once (TriggerMessage), so it does not have
        to reconnect or wait for its retry interval. A charger that is accepted already, or that
        the server has not seen, is left alone: its boots are decided by the hub as usual.
        """
        state = self._states.get(charger_id)
        if state is None or not (state.pending or state.rejected):
            return
        state.force_accept = True
        connection = self._connections.get(charger_id)
        if connection is not None and not connection.closed:
            connection.accept_pending()

    def forget(self, charger_id: str) -> None:
        """Drop what the server knows of a charger (the user removed it); close its connection.

        If it connects again it is an unknown charger.
        """
        self._states.pop(charger_id, None)
        self._unadmitted.pop(charger_id, None)
        connection = self._connections.get(charger_id)
        if connection is not None and not connection.closed:
            self._close_soon(connection, "charger removed")

    def credentials_changed(self, charger_id: str) -> None:
        """The charger's password was set or changed: a connection not made with it is closed.

        The charger reconnects with the password it was given; anyone else cannot.
        """
        connection = self._connections.get(charger_id)
        password = self._password_for(charger_id) if self._password_for is not None else None
        if connection is None or connection.closed or password is None:
            return
        given = connection.authenticated_with
        if given is not None and hmac.compare_digest(given.encode(), password.encode()):
            return
        _LOGGER.info("%s: password set; closing its unauthenticated connection", charger_id)
        self._close_soon(connection, "password required")

    async def execute(self, charger_id: str, command: ChargerCommand) -> CommandResult:
        """Send a command to a charger.

        Raises :class:`ChargerNotConnectedError` (:class:`ChargerNotAcceptedError` while the
        charger is connected but its boot is not answered Accepted: Pending, or not booted yet),
        :class:`ChargerTimeoutError`, :class:`CommandNotSupportedError`, and
        :class:`InvalidCommandError` (a ValueError) for arguments the protocol cannot carry
        (e.g. an id tag over 20 characters in 1.6).
        """
        connection = self._connections.get(charger_id)
        if connection is None or connection.closed:
            raise ChargerNotConnectedError(charger_id)
        if not connection.ready:
            raise ChargerNotAcceptedError(f"{charger_id}: not accepted (yet)")
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
            "waiting": list(self._unadmitted),
            "auth_failure_streaks": len(self._backoff),
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
        result["authenticated"] = (
            connection is not None and connection.authenticated_with is not None
        )
        return result

    def tracked_ids(self) -> set[str]:
        """Every charger id the server keeps state for (bounded; for tests and diagnostics)."""
        return set(self._states) | set(self._connections) | set(self._unadmitted)

    # ------------------------------------------------------------------ admission

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

    def _is_known(self, charger_id: str) -> bool:
        return self._known is not None and self._known(charger_id)

    def _check_password(self, request: web.Request, charger_id: str, password: str) -> None:
        """Raise 429 while backing off, 401 for a missing or wrong password."""
        id_key = f"id:{charger_id}"
        address_key = f"address:{request.remote}"
        wait = max(self._backoff.retry_after(id_key), self._backoff.retry_after(address_key))
        if wait > 0:
            raise web.HTTPTooManyRequests(
                headers={hdrs.RETRY_AFTER: str(max(1, math.ceil(wait)))},
                text="too many failed attempts",
            )
        credentials = basic_credentials(request.headers.get(hdrs.AUTHORIZATION, ""))
        if credentials is not None:
            login, given = credentials
            if hmac.compare_digest(login.encode(), charger_id.encode()) and password_matches(
                given, password
            ):
                self._backoff.succeeded(id_key)
                self._backoff.succeeded(address_key)
                self._warned.discard((charger_id, "auth"))
                return
        started_for_id = self._backoff.failed(id_key)
        started_for_address = self._backoff.failed(address_key)
        if started_for_id or started_for_address:
            _LOGGER.warning(
                "Too many failed password checks for charger %r (from %s): backing off",
                charger_id,
                request.remote,
            )
        else:
            self._warn_once(
                charger_id,
                "auth",
                "Charger %r failed HTTP Basic authentication (missing or wrong password)",
                charger_id,
            )
        raise web.HTTPUnauthorized(
            headers={hdrs.WWW_AUTHENTICATE: 'Basic realm="ev_sessions OCPP"'}
        )

    def _check_request(self, request: web.Request, charger_id: str | None) -> str | None:
        """Raise the HTTP error that refuses this websocket; return the password it proved."""
        if not charger_id:
            raise web.HTTPNotFound(text="no charger id in the URL")
        if not valid_charger_id(charger_id):
            self._warn_once("", "invalid_id", "Refused invalid charger id %r", charger_id)
            raise web.HTTPBadRequest(text="invalid charger id")
        if self.settings.reject_unknown and not self._is_known(charger_id):
            self._warn_once(charger_id, "unknown", "Refused unknown charger %r", charger_id)
            raise web.HTTPNotFound(text="unknown charger")
        password = self._password_for(charger_id) if self._password_for is not None else None
        if password is not None:
            self._check_password(request, charger_id, password)
        offered = [
            proto.strip()
            for proto in request.headers.get(hdrs.SEC_WEBSOCKET_PROTOCOL, "").split(",")
            if proto.strip()
        ]
        if offered and not any(proto in PROTOCOLS for proto in offered):
            self._warn_once(
                charger_id, "protocol", "Charger %r offers only %r", charger_id, offered
            )
            raise web.HTTPBadRequest(text=f"supported subprotocols: {', '.join(PROTOCOLS)}")
        return password

    async def _check_duplicate(self, charger_id: str, authenticated: bool) -> None:
        """Refuse (409) a second connection while the first one still answers."""
        if authenticated:
            return  # the password holder replaces whatever is there
        previous = self._connections.get(charger_id)
        if previous is None or previous.closed:
            return
        if await previous.probe(self.settings.duplicate_probe_timeout):
            self._warn_once(
                charger_id,
                "duplicate",
                "Refused a second connection for charger %r: its connection is alive",
                charger_id,
            )
            raise web.HTTPConflict(text="this charger is connected")
        _LOGGER.info("%s: previous connection does not answer; dropping it", charger_id)
        previous.abort()

    def _admit_waiting(self, charger_id: str) -> None:
        """Remember an unaccepted id; beyond ``max_pending`` the oldest one is dropped."""
        self._unadmitted[charger_id] = None
        self._unadmitted.move_to_end(charger_id)
        while len(self._unadmitted) > self.settings.max_pending:
            oldest = next(iter(self._unadmitted))
            if oldest == charger_id:
                break
            del self._unadmitted[oldest]
            state = self._states.get(oldest)
            if state is not None and state.accepted:
                continue
            _LOGGER.info("Too many chargers waiting; dropping %r", oldest)
            connection = self._connections.get(oldest)
            if connection is not None and not connection.closed:
                self._close_soon(connection, "too many chargers waiting")
            else:
                self._drop_unaccepted(oldest)

    def _drop_unaccepted(self, charger_id: str) -> None:
        """Forget an id that never got in (its state, its place in line; tell the hub)."""
        self._unadmitted.pop(charger_id, None)
        state = self._states.get(charger_id)
        if state is not None and (state.accepted or state.force_accept):
            return
        self._states.pop(charger_id, None)
        if self._forgotten is not None:
            try:
                self._forgotten(charger_id)
            except Exception:
                _LOGGER.exception("%s: forgotten callback failed", charger_id)

    def _close_soon(self, connection: OcppConnection, reason: str) -> None:
        task = asyncio.get_running_loop().create_task(connection.close(reason))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    # ------------------------------------------------------------------ websocket handling

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        charger_id = charger_id_from_path(request.rel_url.raw_path)
        password = self._check_request(request, charger_id)
        assert charger_id is not None
        if not self.running:
            raise web.HTTPServiceUnavailable
        await self._check_duplicate(charger_id, password is not None)
        ws = web.WebSocketResponse(
            protocols=tuple(PROTOCOLS),
            heartbeat=self.settings.ws_ping_interval,
            autoping=False,  # the connection answers pings and sees pongs (liveness probes)
            timeout=5.0,
            max_msg_size=self.settings.max_frame_bytes,
        )
        await ws.prepare(request)
        connection_class = PROTOCOLS.get(ws.ws_protocol or "ocpp1.6", V16Connection)
        state = self._state(charger_id)
        known = self._is_known(charger_id)
        if self._known is not None and not known and state.accepted and not state.force_accept:
            state.accepted = False  # no longer configured: it boots like a stranger
        if state.boot_count == 0 and not state.accepted and known:
            # A charger the hub knows reconnects after our restart without booting again
            # (most do): take it back at once; its identity comes with its next boot.
            state.accepted = True
            state.info = ChargerInfo(protocol=connection_class.protocol)
        connection = connection_class(ws, state, self._context)
        connection.authenticated_with = password
        connection.transport = request.transport
        task = asyncio.current_task()
        if task is not None:
            self._handlers.add(task)
        try:
            previous = self._connections.get(charger_id)
            self._connections[charger_id] = connection
            if previous is not None and not previous.closed:
                _LOGGER.info("%s: new connection replaces the previous one", charger_id)
                previous.replaced = True
                if previous.announced:
                    self._disconnected(charger_id, "replaced by a new connection")
                await previous.close("replaced by a new connection")
            if not state.accepted:
                self._admit_waiting(charger_id)
            _LOGGER.info("%s: connected (%s)", charger_id, connection.protocol)
            await connection.run()
        finally:
            await connection.wait_tasks()
            current = self._connections.get(charger_id) is connection
            if current:
                del self._connections[charger_id]
            if connection.announced and not connection.replaced:
                self._disconnected(charger_id, "connection closed")
            if current and not state.accepted:
                self._drop_unaccepted(charger_id)
            elif state.accepted:
                self._unadmitted.pop(charger_id, None)
            if task is not None:
                self._handlers.discard(task)
        return ws

    def _disconnected(self, charger_id: str, reason: str) -> None:
        _LOGGER.info("%s: disconnected (%s)", charger_id, reason)
        try:
            self._context.handler.handle_event(
                ChargerDisconnected(charger_id=charger_id, at=utcnow(), reason=reason)
            )
        except Exception:
            _LOGGER.exception("%s: event handler failed on ChargerDisconnected", charger_id)
