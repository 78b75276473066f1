"""One charger's websocket: framing, routing, validation, outgoing calls, boot and admission.

Nothing is sent to a charger before its BootNotification is answered Accepted (or, for an
accepted charger that reconnects without booting, before it shows that it resumes), except what
a central system may send a charger that is not accepted: TriggerMessage for a boot, and reading
or changing its configuration.

The command flows are in :mod:`.commands`; the version-specific subclasses (:mod:`.v16`,
:mod:`.v201`) translate payloads and mark CALL handlers with :func:`on` (the ``ocpp`` package's
routing decorator). Handlers get
the payload as the charger sent it (camelCase dict, already validated or repaired) and return the
response payload, or an awaitable of it when they need to ask the hub. Synchronous handlers (the
high-rate MeterValues, StatusNotification, Heartbeat) are answered inline, in order; asynchronous
ones run in their own task so the connection keeps reading answers to our own CALLs meanwhile.

The ``ocpp`` package's own ``ChargePoint`` dispatch is not used on the server side: it converts
every key between camelCase and snake_case with regexes and validates with ``jsonschema`` in a
thread, which is most of the cost of a frame (see the performance notes).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime
import inspect
import json
import logging
import re
from typing import Any, ClassVar, TypeVar
import uuid

from aiohttp import WSMsgType, web
from ocpp.messages import Call, CallError, CallResult
from ocpp.routing import on as _ocpp_on

from custom_components.ev_sessions.chargers.events import (
    AuthorizationRequest,
    AuthorizationResult,
    AuthorizationStatus,
    BootDecision,
    ChargerCommand,
    ChargerConnected,
    ChargerError,
    ChargerEvent,
    ChargerHandler,
    ChargerInfo,
    ChargerNotConnectedError,
    ChargerTimeoutError,
    CommandNotSupportedError,
    CommandResult,
    InvalidCommandError,
    MeterSample,
    ProtocolDeviation,
    TagPresented,
)

from . import lenient, schemas
from .meter import parse_meter_values
from .state import ChargerState, OcppServerSettings
from .timeutil import iso, parse_timestamp, utcnow

_LOGGER = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
Payload = dict[str, Any]

#: At most this many distinct deviation kinds are remembered per charger.
MAX_DEVIATION_KINDS = 200
#: How many 1.6 transaction ids the server remembers having issued (a charger can start many).
MAX_ISSUED_IDS = 10_000
#: Kinds and details of deviations are cut to this length (they quote what the charger sent).
MAX_DEVIATION_TEXT = 200
#: At most this many of a charger's CALLs are being answered at once (OCPP-J allows one at a
#: time; a few are tolerated). More are answered with a CALLERROR at once, without work.
MAX_CALLS_IN_FLIGHT = 8
_UNIQUE_ID = re.compile(r'^\s*\[\s*2\s*,\s*"([^"]{1,64})"')


def on(action: str) -> Callable[[F], F]:
    """Mark a method as the handler of a CALL ``action`` (``ocpp.routing.on``).

    Schema validation is done by :class:`OcppConnection`, with compiled validators.
    """
    decorator: Callable[[F], F] = _ocpp_on(action, skip_schema_validation=True)
    return decorator


def short_tag(id_tag: str | None) -> str:
    """An id tag shortened for logs: first 4 characters and an ellipsis."""
    if not id_tag:
        return "-"
    return id_tag[:4] + "…"


class OcppCallError(ChargerError):
    """The charger answered one of our CALLs with a CALLERROR."""

    def __init__(self, code: str, description: str, details: object) -> None:
        super().__init__(f"{code}: {description}")
        self.code = code
        self.description = description
        self.details = details


class ChargerNotAcceptedError(ChargerNotConnectedError):
    """The charger is connected, but its boot is not answered Accepted (yet): nothing but
    provisioning may be sent to it."""


class CallRejectedError(Exception):
    """A CALL is unusable: answer with this CALLERROR (handlers may raise it too)."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


_RejectedError = CallRejectedError

#: (version, action) whose empty response passed its schema (see ``_check_reply``).
_EMPTY_REPLY_CHECKED: set[tuple[str, str]] = set()


def _refuse_constant(name: str) -> Any:
    """``json.loads`` hook: ``NaN``, ``Infinity`` and ``-Infinity`` are not JSON."""
    raise ValueError(f"{name} is not a JSON value")


@dataclass(frozen=True, slots=True)
class Reply:
    """A handler's response plus a callback to run once the response has been sent."""

    payload: Payload
    after: Callable[[], None] | None = None


@dataclass(slots=True, kw_only=True)
class ServerContext:
    """What every connection shares with the server (handler, settings, transaction ids)."""

    handler: ChargerHandler
    settings: OcppServerSettings
    new_transaction_id: Callable[[], int]
    #: 1.6 transaction ids issued by this server (guard against a factory repeating itself).
    #: (Insertion-ordered, bounded to the most recent ``MAX_ISSUED_IDS``.)
    issued_ids: dict[int, None] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class ErrorCodes:
    """CALLERROR codes whose spelling differs between OCPP versions."""

    format_violation: str
    bad_frame: str
    bad_message_type: str
    occurrence: str = "OccurenceConstraintViolation"


class OcppConnection:
    """Base class of a charger connection. Subclasses set the class variables below."""

    version: ClassVar[str]
    protocol: ClassVar[str]
    errors: ClassVar[ErrorCodes]
    #: Every action of the protocol version (for NotImplemented vs NotSupported).
    known_actions: ClassVar[frozenset[str]]
    #: What may be sent before the boot is answered Accepted (besides TriggerMessage for a
    #: BootNotification): reading and changing the configuration, as the specs allow a
    #: central system while a charger is Pending.
    provisioning_actions: ClassVar[frozenset[str]]
    _routes: ClassVar[dict[str, str]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        routes: dict[str, str] = {}
        for name in dir(cls):
            action = getattr(getattr(cls, name, None), "_on_action", None)
            if isinstance(action, str):
                routes[str(action)] = name
        cls._routes = routes

    def __init__(
        self, ws: web.WebSocketResponse, state: ChargerState, context: ServerContext
    ) -> None:
        self.ws = ws
        self.state = state
        self.context = context
        self.settings = context.settings
        self.charger_id = state.charger_id
        self._pending: dict[str, asyncio.Future[Payload]] = {}
        #: The charger's CALLs being answered in the background (see MAX_CALLS_IN_FLIGHT).
        self._answering = 0
        self._call_lock = asyncio.Lock()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._closed = False
        self._booted = False
        #: Commands may be sent: its boot was answered Accepted, or it resumed without one.
        self._ready = False
        #: Set by the server when a newer connection of the same charger took over.
        self.replaced = False
        #: The password this connection proved (HTTP Basic, or given to it): None when none.
        self.authenticated_with: str | None = None
        #: The TCP transport (set by the server; :meth:`abort` drops it without a handshake).
        self.transport: asyncio.Transport | None = None
        #: A ChargerConnected was emitted for this connection (the hub counts it connected).
        self.announced = False
        #: Frames (of any kind) received so far.
        self.frames_received = 0
        self._heard = asyncio.Event()

    # ------------------------------------------------------------------ translations

    def boot_info(self, payload: Payload) -> ChargerInfo:
        """What a BootNotification says about the charger."""
        raise NotImplementedError

    def authorize_token(self, payload: Payload) -> str:
        """The id tag (token) of an Authorize request."""
        raise NotImplementedError

    def authorize_reply(self, result: AuthorizationResult) -> Payload:
        """The Authorize response for the hub's decision."""
        raise NotImplementedError

    # ------------------------------------------------------------------ shared handlers

    @on("BootNotification")
    async def on_boot_notification(self, payload: Payload, received: datetime) -> Reply:
        """BootNotification: ask the hub, answer Accepted/Pending/Rejected."""
        decision = await self.decide_boot(self.boot_info(payload))
        return self.boot_reply(decision, received)

    @on("Heartbeat")
    def on_heartbeat(self, payload: Payload, received: datetime) -> Payload:
        """Heartbeat: our time."""
        return {"currentTime": iso(received)}

    @on("Authorize")
    async def on_authorize(self, payload: Payload, received: datetime) -> Payload:
        """Authorize: the hub decides."""
        id_tag = self.authorize_token(payload)
        result = await self.authorize(id_tag, None, received)
        _LOGGER.debug("%s: tag %s is %s", self.charger_id, short_tag(id_tag), result.status)
        self.emit(
            TagPresented(
                charger_id=self.charger_id,
                at=received,
                connector_id=None,
                id_tag=id_tag,
                status=result.status,
            )
        )
        return self.authorize_reply(result)

    @on("DataTransfer")
    def on_data_transfer(self, payload: Payload, received: datetime) -> Payload:
        """DataTransfer: we know no vendor extensions."""
        self.state.notifications["DataTransfer"] = {
            "vendorId": payload.get("vendorId"),
            "messageId": payload.get("messageId"),
        }
        return {"status": "UnknownVendorId"}

    @on("FirmwareStatusNotification")
    def on_firmware_status_notification(self, payload: Payload, received: datetime) -> Payload:
        """FirmwareStatusNotification: kept for diagnostics."""
        self.state.notifications["FirmwareStatusNotification"] = payload.get("status")
        return {}

    @on("LogStatusNotification")
    def on_log_status_notification(self, payload: Payload, received: datetime) -> Payload:
        """LogStatusNotification: kept for diagnostics."""
        self.state.notifications["LogStatusNotification"] = payload.get("status")
        return {}

    @on("SecurityEventNotification")
    def on_security_event_notification(self, payload: Payload, received: datetime) -> Payload:
        """SecurityEventNotification: kept for diagnostics."""
        self.state.notifications["SecurityEventNotification"] = payload.get("type")
        return {}

    # ------------------------------------------------------------------ lifecycle

    @property
    def closed(self) -> bool:
        """The websocket is gone."""
        return self._closed

    @property
    def ready(self) -> bool:
        """Commands may be sent: the charger is accepted and its boot answered (or it resumed)."""
        return self._ready and not self._closed and self.state.accepted

    def _announce(self) -> None:
        """The charger is in: the hub counts it connected and may send it commands."""
        self._ready = True
        info = self.state.info or ChargerInfo(protocol=self.protocol)
        self.emit(ChargerConnected(charger_id=self.charger_id, at=utcnow(), info=info))

    def _resume(self) -> None:
        """An accepted charger is back without booting (a reconnect, not a reboot)."""
        if not self._ready and not self._booted and self.state.accepted and not self._closed:
            _LOGGER.debug("%s: resumes without a boot", self.charger_id)
            self._announce()

    async def _resume_later(self) -> None:
        await asyncio.sleep(self.settings.resume_grace)
        self._resume()

    async def run(self) -> None:
        """Serve the websocket until it closes. Never raises for a bad frame."""
        self.state.connected_since = utcnow()
        self.spawn(self._resume_later())
        self.spawn(self._ask_for_boot_later())
        self.spawn(self._watch_liveness())
        self.spawn(self._close_if_silent())
        try:
            async for msg in self.ws:
                self.frames_received += 1
                self._heard.set()
                if msg.type is WSMsgType.PING:
                    await self.ws.pong(msg.data)
                elif msg.type is WSMsgType.TEXT:
                    await self._route_safely(msg.data)
                elif msg.type is WSMsgType.BINARY:
                    self.deviate("binary_frame", "frame sent as binary instead of text")
                    await self._route_safely(msg.data.decode("utf-8", "replace"))
        finally:
            self._shutdown()

    async def close(self, message: str = "closed") -> None:
        """Close the websocket and stop everything this connection started."""
        self._shutdown()
        await self.ws.close(code=1001, message=message.encode())

    def abort(self) -> None:
        """Drop a dead connection at once (no closing handshake to wait for)."""
        self._shutdown()
        if self.transport is not None:
            self.transport.abort()

    async def probe(self, wait: float) -> bool:
        """Whether the charger still answers: a websocket pong (or any frame) within ``wait`` s."""
        if self._closed or self.ws.closed:
            return False
        self._heard.clear()
        try:
            await self.ws.ping()
        except (ConnectionError, RuntimeError):
            return False
        try:
            async with asyncio.timeout(wait):
                await self._heard.wait()
        except TimeoutError:
            return False
        return not self._closed

    async def _close_if_silent(self) -> None:
        """Close a websocket that sent no frame at all within ``first_frame_timeout``."""
        await asyncio.sleep(self.settings.first_frame_timeout)
        if self.frames_received == 0:
            _LOGGER.warning(
                "%s: no frame within %s s of connecting; closing",
                self.charger_id,
                self.settings.first_frame_timeout,
            )
            await self.close("no frame")

    def _shutdown(self) -> None:
        if self._closed:
            return
        self._closed = True
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ChargerNotConnectedError(self.charger_id))
        self._pending.clear()
        current = asyncio.current_task()
        for task in list(self._tasks):
            if task is not current:
                task.cancel()

    async def wait_tasks(self) -> None:
        """Wait until every task this connection started has finished (after :meth:`close`)."""
        current = asyncio.current_task()
        tasks = [task for task in self._tasks if task is not current]
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run ``coro`` in a task owned by this connection (cancelled on close)."""
        if self._closed:
            coro.close()
            return
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and (error := task.exception()) is not None:
            if isinstance(error, ChargerError):
                _LOGGER.debug("%s: background request failed: %s", self.charger_id, error)
            else:
                _LOGGER.error(
                    "%s: unexpected error in background task", self.charger_id, exc_info=error
                )

    # ------------------------------------------------------------------ events

    def emit(self, event: ChargerEvent) -> None:
        """Hand an event to the hub; a failing hub never breaks the connection.

        Nothing from a charger that is not accepted (unknown, Pending, Rejected) reaches the hub.
        """
        if not self.state.accepted:
            _LOGGER.debug("%s: not accepted, dropped %s", self.charger_id, type(event).__name__)
            return
        if isinstance(event, ChargerConnected):
            self.announced = True
        try:
            self.context.handler.handle_event(event)
        except Exception:
            _LOGGER.exception(
                "%s: event handler failed on %s", self.charger_id, type(event).__name__
            )

    def deviate(self, kind: str, detail: str) -> None:
        """Report a tolerated protocol deviation, once per (charger, kind)."""
        deviations = self.state.deviations
        if kind in deviations or len(deviations) >= MAX_DEVIATION_KINDS:
            return
        kind, detail = kind[:MAX_DEVIATION_TEXT], detail[:MAX_DEVIATION_TEXT]
        deviations[kind] = detail
        _LOGGER.warning(
            "Charger %s deviates from OCPP %s (%s): %s", self.charger_id, self.version, kind, detail
        )
        self.emit(
            ProtocolDeviation(charger_id=self.charger_id, at=utcnow(), kind=kind, detail=detail)
        )

    def charger_time(self, value: object, received: datetime) -> datetime:
        """A timestamp from the charger, or ``received`` (with a deviation) when unusable.

        Unusable: missing, unparsable, before 2015, or ahead of the hub's clock by more than
        ``settings.clock_tolerance``.
        """
        at, problem = parse_timestamp(value, received, self.settings.clock_tolerance_delta)
        if problem is not None:
            self.deviate(problem, f"timestamp {value!r:.80}")
        return at

    def connector_in_range(self, connector_id: int, *, zero: bool, what: str) -> bool:
        """``connector_id`` is one of the charger's (or 0, the charger itself, when ``zero``).

        The bound is the number of connectors the charger reported, else
        :data:`DEFAULT_MAX_CONNECTORS`. Out of range is a deviation: nothing may be emitted
        for it (every connector id the hub hears of gets entities).
        """
        if (1 if not zero else 0) <= connector_id <= self.state.connector_limit:
            return True
        self.deviate(
            "connector_out_of_range",
            f"{what} {connector_id!r:.30} (this charger has {self.state.connector_limit})",
        )
        return False

    def meter_samples(
        self,
        meter_values: Sequence[Payload],
        *,
        connector_id: int,
        transaction_id: str | None,
        received: datetime,
        offline: bool = False,
    ) -> list[MeterSample]:
        """The samples of ``meterValue`` entries, under this charger's clock rules.

        1.6 has no offline flag: a sample lagging ``received`` by more than ``offline_after``
        counts as replayed. 2.0.1 says so itself (``offline``).
        """
        v201 = self.version == "2.0.1"
        return parse_meter_values(
            meter_values,
            v201=v201,
            charger_id=self.charger_id,
            connector_id=connector_id,
            transaction_id=transaction_id,
            received=received,
            offline_after=None if v201 else self.settings.offline_delta,
            offline=offline,
            deviate=self.deviate,
            max_ahead=self.settings.clock_tolerance_delta,
        )

    def check_connector(self, connector_id: int, *, zero: bool, what: str) -> None:
        """Raise :class:`CallRejectedError` (PropertyConstraintViolation) when out of range."""
        if not self.connector_in_range(connector_id, zero=zero, what=what):
            raise CallRejectedError(
                "PropertyConstraintViolation", f"{what} {connector_id!r:.30} out of range"
            )

    async def persisted[R](self, reply: R) -> R:
        """``reply`` once :meth:`persist` returned (a handler emits first, then returns this)."""
        await self.persist()
        return reply

    async def persist(self) -> None:
        """Wait until what the events so far changed is stored (before a transaction answer).

        A hub that fails here is logged and the answer goes out anyway: an unanswered charger
        would only repeat the message, and a repeated StartTransaction is a second session.
        """
        try:
            await self.context.handler.persist(self.charger_id)
        except Exception:
            _LOGGER.exception("%s: persisting before an answer failed", self.charger_id)

    # ------------------------------------------------------------------ incoming frames

    async def _route_safely(self, raw: str) -> None:
        """Route one frame; a bug of ours still answers a CALL (InternalError), never silence."""
        try:
            await self._route(raw)
        except (ConnectionError, asyncio.CancelledError):
            raise
        except Exception:
            _LOGGER.exception("%s: failed to handle frame %.200s", self.charger_id, raw)
            match = _UNIQUE_ID.match(raw)
            if match is not None:
                try:
                    await self._send_error(match.group(1), "InternalError", "error handling frame")
                except Exception:
                    _LOGGER.exception("%s: could not answer with an error", self.charger_id)

    async def _route(self, raw: str) -> None:
        received = utcnow()
        self.state.last_seen = received
        try:
            message = json.loads(raw, parse_constant=_refuse_constant)
        except ValueError as error:  # also NaN / Infinity literals
            await self._frame_error(raw, f"frame is not valid JSON ({str(error)[:60]})")
            return
        except RecursionError:
            await self._frame_error(raw, "frame is nested too deeply")
            return
        if not isinstance(message, list) or not message:
            await self._frame_error(raw, "frame is not a JSON array")
            return
        kind = message[0]
        if kind == 2:
            if (
                len(message) != 4
                or not isinstance(message[1], str)
                or not isinstance(message[2], str)
            ):
                await self._frame_error(raw, "CALL must be [2, id, action, payload]")
                return
            await self._on_call(message[1], message[2], message[3], received)
        elif kind in (3, 4):
            self._on_answer(message)
        else:
            unique_id = message[1] if len(message) > 1 and isinstance(message[1], str) else "-1"
            self.deviate("bad_message_type", f"message type {kind!r}")
            await self._send_error(
                unique_id, self.errors.bad_message_type, f"message type {kind!r} unknown"
            )

    async def _frame_error(self, raw: str, detail: str) -> None:
        self.deviate("bad_frame", f"{detail}: {raw[:80]!r}")
        match = _UNIQUE_ID.match(raw)
        unique_id = match.group(1) if match else "-1"
        code = self.errors.bad_frame if unique_id == "-1" else self.errors.format_violation
        await self._send_error(unique_id, code, detail)

    def _on_answer(self, message: list[Any]) -> None:
        unique_id = message[1] if len(message) > 1 else None
        future = self._pending.get(unique_id) if isinstance(unique_id, str) else None
        if future is None or future.done():
            _LOGGER.debug(
                "%s: answer to an unknown or expired call: %.200s", self.charger_id, message
            )
            return
        if message[0] == 3:
            payload = message[2] if len(message) > 2 else None
            if not isinstance(payload, dict):
                self.deviate("bad_call_result", f"CALLRESULT payload {payload!r}")
                payload = {}
            future.set_result(payload)
        else:
            code = str(message[2]) if len(message) > 2 else "GenericError"
            description = str(message[3]) if len(message) > 3 else ""
            details = message[4] if len(message) > 4 else {}
            future.set_exception(OcppCallError(code, description, details))

    async def _on_call(self, unique_id: str, action: str, payload: Any, received: datetime) -> None:
        method = self._routes.get(action)
        if method is None:
            if action in self.known_actions:
                await self._send_error(unique_id, "NotSupported", f"{action} is not supported")
            else:
                await self._send_error(unique_id, "NotImplemented", f"{action} is not known")
            return
        state = self.state
        if action != "BootNotification":
            if not state.accepted:
                await self._send_error(unique_id, "SecurityError", "charger is not accepted")
                return
            if not self._ready:
                self._resume()  # an accepted charger sending anything but a boot is back
        try:
            checked = self._validate(action, payload)
            if self._answering >= MAX_CALLS_IN_FLIGHT:
                self.deviate(
                    "calls_in_flight",
                    f"more than {MAX_CALLS_IN_FLIGHT} requests awaiting an answer",
                )
                raise _RejectedError("GenericError", "too many requests awaiting an answer")
            result = getattr(self, method)(checked, received)
            if inspect.isawaitable(result):
                self._answering += 1
                self.spawn(self._answer_later(unique_id, action, result))
                return
        except CallRejectedError as rejected:
            await self._send_error(unique_id, rejected.code, rejected.description)
            return
        except Exception:
            _LOGGER.exception("%s: error handling %s", self.charger_id, action)
            await self._send_error(unique_id, "InternalError", f"error handling {action}")
            return
        await self._reply(unique_id, action, result)

    def _validate(self, action: str, payload: Any) -> Payload:
        """The payload to use (validated or repaired); raise :class:`_RejectedError`."""
        validate = schemas.validator(self.version, action)
        if validate is None:
            return payload if isinstance(payload, dict) else {}
        try:
            validate(payload)
        except schemas.SchemaError:
            pass
        else:
            return payload if isinstance(payload, dict) else {}
        definition = schemas.schema(self.version, action)
        assert definition is not None
        try:
            repaired, deviations = lenient.repair(payload, definition, action)
        except lenient.Unusable as error:
            code = {
                "type": "TypeConstraintViolation",
                "required": self.errors.occurrence,
            }.get(error.rule, self.errors.format_violation)
            self.deviate(f"rejected:{error.rule}:{action}", str(error))
            raise _RejectedError(code, str(error)[:200]) from error
        for deviation in deviations:
            self.deviate(deviation.kind, deviation.detail)
        return repaired

    async def _answer_later(self, unique_id: str, action: str, pending: Awaitable[Any]) -> None:
        try:
            await self._answer_when_done(unique_id, action, pending)
        finally:
            self._answering -= 1

    async def _answer_when_done(self, unique_id: str, action: str, pending: Awaitable[Any]) -> None:
        try:
            result = await pending
        except asyncio.CancelledError:
            raise
        except CallRejectedError as rejected:
            await self._send_error(unique_id, rejected.code, rejected.description)
            return
        except Exception:
            _LOGGER.exception("%s: error handling %s", self.charger_id, action)
            await self._send_error(unique_id, "InternalError", f"error handling {action}")
            return
        await self._reply(unique_id, action, result)

    async def _reply(self, unique_id: str, action: str, result: Payload | Reply) -> None:
        reply = result if isinstance(result, Reply) else Reply(result)
        self._check_reply(action, reply.payload)
        await self._send(CallResult(unique_id, reply.payload).to_json())
        if reply.after is not None:
            try:
                reply.after()
            except Exception:  # answered already: a second answer would confuse the charger
                _LOGGER.exception("%s: error after answering %s", self.charger_id, action)

    def _check_reply(self, action: str, payload: Payload) -> None:
        """Our response against its schema (a bug of ours: logged loudly, answered anyway).

        The empty response most messages get (MeterValues, StatusNotification, ...) is checked
        once per action, not for every frame.
        """
        empty = not payload
        if empty and (self.version, action) in _EMPTY_REPLY_CHECKED:
            return
        validate = schemas.validator(self.version, action, response=True)
        if validate is None:
            return
        try:
            validate(payload)
        except schemas.SchemaError as error:
            _LOGGER.error("%s: our %s response is invalid: %s", self.charger_id, action, error)
            return
        if empty:
            _EMPTY_REPLY_CHECKED.add((self.version, action))

    async def _send_error(self, unique_id: str, code: str, description: str) -> None:
        await self._send(CallError(unique_id, code, description, {}).to_json())

    async def _send(self, text: str) -> None:
        if self._closed or self.ws.closed:
            return
        try:
            await self.ws.send_str(text)
        except ConnectionError as error:
            _LOGGER.debug("%s: send failed: %s", self.charger_id, error)

    # ------------------------------------------------------------------ outgoing calls

    async def call(self, action: str, payload: Payload) -> Payload:
        """Send a CALL and return the answer's payload.

        Raises :class:`InvalidCommandError` for a payload the schema rejects (nothing is sent),
        :class:`ChargerNotConnectedError`, :class:`ChargerNotAcceptedError` before the boot is
        answered Accepted (but for provisioning), :class:`ChargerTimeoutError` and
        :class:`OcppCallError` for a CALLERROR answer.
        """
        validate = schemas.validator(self.version, action)
        if validate is not None:
            try:
                validate(payload)
            except schemas.SchemaError as error:
                raise InvalidCommandError(f"invalid {action} request: {error.message}") from error
        if self._closed:
            raise ChargerNotConnectedError(self.charger_id)
        if not self._ready and not self._allowed_before_accepted(action, payload):
            raise ChargerNotAcceptedError(f"{self.charger_id}: not accepted, {action} not sent")
        limit = self.settings.command_timeout
        async with self._call_lock:
            if self._closed:
                raise ChargerNotConnectedError(self.charger_id)
            unique_id = str(uuid.uuid4())
            future: asyncio.Future[Payload] = asyncio.get_running_loop().create_future()
            self._pending[unique_id] = future
            try:
                await self.ws.send_str(Call(unique_id, action, payload).to_json())
                async with asyncio.timeout(limit):
                    answer = await future
            except TimeoutError as error:
                raise ChargerTimeoutError(
                    f"{self.charger_id} did not answer {action} within {limit} s"
                ) from error
            except ConnectionError as error:
                raise ChargerNotConnectedError(self.charger_id) from error
            finally:
                self._pending.pop(unique_id, None)
        self._check_answer(action, answer)
        return answer

    def _allowed_before_accepted(self, action: str, payload: Payload) -> bool:
        """Provisioning, or asking for the boot: what a charger not (yet) accepted may get."""
        if action == "TriggerMessage":
            return payload.get("requestedMessage") == "BootNotification"
        return action in self.provisioning_actions

    def _check_answer(self, action: str, answer: Payload) -> None:
        validate = schemas.validator(self.version, action, response=True)
        if validate is None:
            return
        try:
            validate(answer)
        except schemas.SchemaError as error:
            self.deviate(f"invalid_response:{action}", error.message)

    async def authorize(
        self, id_tag: str, connector_id: int | None, at: datetime
    ) -> AuthorizationResult:
        """Ask the hub; a failing hub means Invalid."""
        try:
            return await self.context.handler.authorize(
                AuthorizationRequest(
                    charger_id=self.charger_id, id_tag=id_tag, connector_id=connector_id, at=at
                )
            )
        except Exception:
            _LOGGER.exception("%s: authorization of %s failed", self.charger_id, short_tag(id_tag))
            return AuthorizationResult(status=AuthorizationStatus.INVALID)

    # ------------------------------------------------------------------ boot

    async def decide_boot(self, info: ChargerInfo) -> BootDecision:
        """Ask the hub (unless the user already accepted) and update the state."""
        state = self.state
        state.boot_count += 1
        state.info = info
        self._booted = True
        self._ready = False  # nothing goes out until the boot is answered
        if state.force_accept:
            decision = BootDecision.ACCEPTED
            state.force_accept = False
        else:
            try:
                decision = await self.context.handler.boot_decision(self.charger_id, info)
            except Exception:
                _LOGGER.exception("%s: boot decision failed, answering Pending", self.charger_id)
                decision = BootDecision.PENDING
        state.accepted = decision is BootDecision.ACCEPTED
        state.pending = decision is BootDecision.PENDING
        state.rejected = decision is BootDecision.REJECTED
        if not state.accepted:
            _LOGGER.info("%s: boot answered %s", self.charger_id, decision.value)
        return decision

    def boot_reply(self, decision: BootDecision, received: datetime) -> Reply:
        """The BootNotification response (same shape in 1.6 and 2.0.1)."""
        accepted = decision is BootDecision.ACCEPTED
        payload = {
            "status": decision.value.capitalize(),
            "currentTime": iso(received),
            "interval": self.settings.heartbeat_interval
            if accepted
            else self.settings.pending_interval,
        }
        after = self._after_accepted if accepted else None
        return Reply(payload, after)

    def _after_accepted(self) -> None:
        """The Accepted answer is out: the charger is in (announced), then configured."""
        if not self.state.accepted or self._closed:
            return
        self._announce()
        if self.settings.configure_on_boot:
            self.spawn(self.configure())

    async def configure(self) -> None:
        """Post-boot configuration (version specific)."""

    def accept_pending(self) -> None:
        """The user accepted this charger: let it in without a reconnect."""
        self.state.force_accept = True
        if self.state.pending or self.state.rejected:
            self.spawn(self.trigger_boot())

    async def trigger_boot(self) -> None:
        """Ask the charger to send a BootNotification now."""
        await self.call("TriggerMessage", {"requestedMessage": "BootNotification"})

    async def _watch_liveness(self) -> None:
        """Close a connection the charger stopped using (its heartbeats went missing).

        Chargers send a Heartbeat at least every ``heartbeat_interval``; nothing for two
        intervals plus ``liveness_grace`` means the link is dead (e.g. a NAT dropped it silently).
        """
        limit = 2 * self.settings.heartbeat_interval + self.settings.liveness_grace
        while not self._closed:
            await asyncio.sleep(limit / 4)
            seen = self.state.last_seen or self.state.connected_since
            if seen is not None and (utcnow() - seen).total_seconds() > limit:
                _LOGGER.warning(
                    "%s: no message for %s s, closing the connection", self.charger_id, limit
                )
                await self.close("no traffic")
                return

    async def _ask_for_boot_later(self) -> None:
        await asyncio.sleep(self.settings.boot_grace)
        if not self._booted and (not self.state.accepted or self.state.boot_count == 0):
            _LOGGER.debug("%s: no BootNotification yet, triggering one", self.charger_id)
            await self.trigger_boot()

    # ------------------------------------------------------------------ commands

    async def execute(self, command: ChargerCommand) -> CommandResult:
        """Carry out a normalized command (version specific)."""
        raise CommandNotSupportedError(type(command).__name__)
