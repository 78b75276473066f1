"""The simulated charge point: its device model (connectors, meter, profiles, configuration,
offline queue) and the scenario API tests and benchmarks drive (plug in, swipe, start, stop...)."""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
import contextlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
import itertools
import json
import logging
import re
import time
from typing import Any, Self
import uuid

import aiohttp
from ocpp.v16 import ChargePoint as ChargePoint16, call as call16
from ocpp.v201 import ChargePoint as ChargePoint201, call as call201

from .config import SimConfig
from .routes16 import Routes16
from .routes201 import Routes201
from .transport import ConnectionClosedError, WsConnection

_LOGGER = logging.getLogger(__name__)
_UNIQUE_ID = re.compile(r'^\s*\[\s*\d+\s*,\s*"([^"]*)"')


def now_iso(at: datetime | None = None) -> str:
    """ISO 8601 UTC timestamp with milliseconds and ``Z``."""
    at = at or datetime.now(UTC)
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


#: Purposes of a charger-wide maximum (1.6, 2.0.1): they cap the other profiles.
MAX_PURPOSES = frozenset({"ChargePointMaxProfile", "ChargingStationMaxProfile"})


@dataclass(slots=True)
class SimConnector:
    """One connector (1.6) / EVSE (2.0.1)."""

    connector_id: int
    status: str = "Available"
    plugged: bool = False
    transaction_id: int | str | None = None
    id_tag: str | None = None
    energy_wh: float = 0.0
    #: The meter when the running transaction started (the car's SoC rises from there).
    start_wh: float = 0.0
    #: Charging profiles in force: id -> (purpose, limit A), most recent last.
    profiles: dict[int, tuple[str, float]] = field(default_factory=dict)
    pending_remote_tag: str | None = None
    seq_no: itertools.count[int] = field(default_factory=itertools.count)
    last_update: float = field(default_factory=time.monotonic)
    meter_task: asyncio.Task[None] | None = None
    #: Held while a transaction starts or stops: like a real charger, a stop waits until the
    #: start it follows is answered (and a start until the stop before it is), so a stop never
    #: carries the offline placeholder id and a finished start cannot revive a stopped one.
    transaction_lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    @property
    def charging(self) -> bool:
        """A transaction is running (energy may flow)."""
        return self.transaction_id is not None

    @property
    def limit_a(self) -> float | None:
        """The limit in force: a TxProfile wins, else the most recent other profile; the
        charger's overall maximum caps either."""
        caps = [limit for purpose, limit in self.profiles.values() if purpose in MAX_PURPOSES]
        others = [(p, limit) for p, limit in self.profiles.values() if p not in MAX_PURPOSES]
        tx = [limit for purpose, limit in others if purpose == "TxProfile"]
        limit = tx[-1] if tx else others[-1][1] if others else None
        if caps:
            return min(caps) if limit is None else min(limit, *caps)
        return limit


class SimulatedChargePoint:
    """A charge point that talks to a central system over a real websocket."""

    def __init__(self, url: str, config: SimConfig | None = None, **overrides: Any) -> None:
        self.url = url
        self.config = replace(config or SimConfig(), **overrides)
        cfg = self.config
        self.connectors = [
            SimConnector(i, energy_wh=cfg.meter_start_wh) for i in range(1, cfg.connectors + 1)
        ]
        v16 = cfg.version == "1.6"
        self.configuration: dict[str, str] = (
            {
                "MeterValueSampleInterval": "0",
                "MeterValuesSampledData": "Energy.Active.Import.Register",
                "NumberOfConnectors": str(cfg.connectors),
                "HeartbeatInterval": "300",
                "SecurityProfile": "0",
            }
            if v16
            else {
                "SampledDataCtrlr.TxUpdatedInterval": "0",
                "SampledDataCtrlr.TxUpdatedMeasurands": "Energy.Active.Import.Register",
                "EVSE.Count": str(cfg.connectors),
            }
        )
        self.readonly = {"NumberOfConnectors", "EVSE.Count"}
        self.local_list_version = 0
        #: Every CALL the central system sent: (action, camelCase payload).
        self.requests: list[tuple[str, dict[str, Any]]] = []
        #: Answers to our CALLs that were CALLERRORs (action, code).
        self.errors: list[tuple[str, str]] = []
        self.boot_status: str | None = None
        self.heartbeat_interval = 300
        self.accepted = False
        self._session: aiohttp.ClientSession | None = None
        self._ws: aiohttp.ClientWebSocketResponse | None = None
        self._cp: ChargePoint16 | ChargePoint201 | None = None
        self._reader: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self._queue: list[Any] = []
        self._placeholders = itertools.count(-1, -1)
        self._real_ids: dict[int, int] = {}
        self._raw_waiters: dict[str, asyncio.Future[list[Any]]] = {}
        self._request_event = asyncio.Event()
        self._boot_now = asyncio.Event()
        self._booting = False
        self._connect_count = 0
        self._online = asyncio.Event()
        #: Added to the charger's clock: lets a test fast-forward the charger's timestamps.
        self.time_offset = timedelta(0)

    def now_iso(self, at: datetime | None = None) -> str:
        """The charger's clock (wall time plus ``time_offset``), or ``at`` as given."""
        return now_iso(at or datetime.now(UTC) + self.time_offset)

    # ------------------------------------------------------------------ connection

    @property
    def charger_id(self) -> str:
        """The charge point id (last URL segment)."""
        return self.config.charger_id

    @property
    def connected(self) -> bool:
        """The websocket is open."""
        return self._ws is not None and not self._ws.closed

    @property
    def protocol(self) -> str:
        """The OCPP subprotocol name."""
        return "ocpp1.6" if self.config.version == "1.6" else "ocpp2.0.1"

    async def connect(self, url: str | None = None, *, boot: bool | None = None) -> None:
        """Open the websocket, boot (first time, or always with ``boot_on_reconnect``), flush
        the offline queue. Raises ``aiohttp.WSServerHandshakeError`` when refused (401, 404)."""
        if url is not None:
            self.url = url
        cfg = self.config
        if self._session is None:
            self._session = aiohttp.ClientSession()
        headers = (
            {"Authorization": aiohttp.encode_basic_auth(cfg.charger_id, cfg.password)}
            if cfg.password
            else {}
        )
        protocols = (self.protocol,) if cfg.offer_protocol else ()
        self._ws = await self._session.ws_connect(
            self.url,
            protocols=protocols,
            headers=headers,
            autoping=True,
            ssl=cfg.ssl_context if cfg.ssl_context is not None else True,
        )
        routes = Routes16 if cfg.version == "1.6" else Routes201
        cp = routes(cfg.charger_id, WsConnection(self._ws), response_timeout=cfg.response_timeout)
        cp.sim = self
        self._cp = cp
        self._reader = asyncio.get_running_loop().create_task(self._read(cp, self._ws))
        first = self._connect_count == 0
        self._connect_count += 1
        if boot if boot is not None else (first or cfg.boot_on_reconnect):
            await self.boot()
        await self.flush_queue()
        if cfg.heartbeats:
            self.spawn(self._heartbeat_loop())
        for connector in self.connectors:
            if connector.charging:
                self._start_meter_loop(connector)
        self._online.set()

    async def wait_connected(self) -> None:
        """Return once the charge point is connected (again)."""
        await self._online.wait()

    async def _read(
        self, cp: ChargePoint16 | ChargePoint201, ws: aiohttp.ClientWebSocketResponse
    ) -> None:
        """Serve the central system's frames until the connection ends, however it ends.

        A close frame ends it here, but so does a lost TCP connection, or an answer that can no
        longer be sent: a hub closing the connection while we answer its request (our server
        sends its close frame and drops the TCP connection at once) fails the send, and the
        close frame behind it is never read. Either way the websocket is closed now, so
        ``connected`` says so (``disconnect`` cancels this task: it closes the socket itself).
        """
        with contextlib.suppress(ConnectionError):
            await cp.start()
        self._online.clear()
        await ws.close()  # nothing to do after a close frame; else drops the dead transport
        if self._cp is cp and self.config.reconnect_after is not None:
            # The central system closed the connection (not us): come back, as chargers do.
            self.spawn(self._reconnect(self.config.reconnect_after))

    async def connect_until_accepted(self, delay: float = 5.0) -> None:
        """Connect, trying again while the central system is unreachable or refuses (as a
        charger does when it powers up before its backend)."""
        while True:
            try:
                await self.connect()
            except (aiohttp.ClientError, OSError) as error:
                _LOGGER.info("%s: connect failed (%s)", self.charger_id, error)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 300.0)
            else:
                return

    async def _reconnect(self, delay: float) -> None:
        """Connect again until it works, waiting longer after each refusal (at most 5 min)."""
        await self.disconnect()
        while True:
            await asyncio.sleep(delay)
            try:
                await self.connect()
            except (aiohttp.ClientError, OSError) as error:
                _LOGGER.info("%s: reconnect failed (%s)", self.charger_id, error)
                delay = min(delay * 2, 300.0)
            else:
                _LOGGER.info("%s: reconnected", self.charger_id)
                return

    async def disconnect(self) -> None:
        """Close the websocket (the charge point keeps its state and queues messages)."""
        self._cp = None  # first: the reader then knows the close was ours (no reconnect)
        self._online.clear()
        current = asyncio.current_task()
        tasks = [task for task in self._tasks if task is not current]
        for connector in self.connectors:
            if connector.meter_task is not None and connector.meter_task is not current:
                connector.meter_task = None
        for task in tasks:
            task.cancel()
        ws, self._ws = self._ws, None
        if ws is not None:
            await ws.close()
        reader, self._reader = self._reader, None
        if reader is not None:
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        for future in self._raw_waiters.values():
            future.cancel()
        self._raw_waiters.clear()
        self._cp = None

    async def close(self) -> None:
        """Disconnect and release the HTTP session."""
        await self.disconnect()
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def __aenter__(self) -> Self:
        await self.connect()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run ``coro`` as a task owned by this charge point (cancelled on disconnect)."""
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    # ------------------------------------------------------------------ low level

    def intercept(self, raw: str) -> bool:
        """Record CALLs; hand answers to raw frames to :meth:`send_raw`. True when consumed."""
        try:
            message = json.loads(raw)
        except ValueError:
            return False
        if not isinstance(message, list) or len(message) < 3:
            return False
        if message[0] == 2 and isinstance(message[3] if len(message) > 3 else None, dict):
            self.requests.append((str(message[2]), message[3]))
            self._request_event.set()
            return False
        if message[0] in (3, 4):
            future = self._raw_waiters.pop(str(message[1]), None)
            if future is not None and not future.done():
                future.set_result(message)
                return True
        return False

    async def send_raw(self, frame: str, *, wait: float = 5.0) -> list[Any] | None:
        """Send any text frame; return the answer (CALLRESULT/CALLERROR) or None on timeout.

        The answer is matched by the unique id found at the start of the frame, else "-1".
        """
        if self._ws is None:
            raise ConnectionClosedError("not connected")
        match = _UNIQUE_ID.match(frame)
        unique_id = match.group(1) if match else "-1"
        future: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
        self._raw_waiters[unique_id] = future
        await self._ws.send_str(frame)
        try:
            async with asyncio.timeout(wait):
                return await future
        except TimeoutError:
            return None
        finally:
            self._raw_waiters.pop(unique_id, None)

    async def call(self, payload: Any) -> Any:
        """Send a CALL with the ``ocpp`` package; a CALLERROR answer is recorded, returns None."""
        if self._cp is None:
            raise ConnectionClosedError("not connected")
        try:
            return await self._cp.call(
                payload, suppress=False, skip_schema_validation=not self.config.strict
            )
        except Exception as error:
            code = getattr(error, "code", None)
            if code is None:
                raise
            self.errors.append((type(payload).__name__, str(code)))
            return None

    def requests_for(self, action: str) -> list[dict[str, Any]]:
        """Payloads of the central system's CALLs with this action, oldest first."""
        return [payload for name, payload in self.requests if name == action]

    async def wait_for_request(
        self, action: str, count: int = 1, wait: float = 5.0
    ) -> dict[str, Any]:
        """Wait until ``count`` CALLs with ``action`` arrived; return the latest payload."""
        async with asyncio.timeout(wait):
            while len(self.requests_for(action)) < count:
                self._request_event.clear()
                await self._request_event.wait()
        return self.requests_for(action)[-1]

    # ------------------------------------------------------------------ boot & heartbeat

    async def boot(self, *, until_accepted: bool = True) -> str:
        """Send BootNotification; while Pending/Rejected retry after the interval (or at once
        when the central system sends TriggerMessage(BootNotification))."""
        cfg = self.config
        self._booting = True
        try:
            return await self._boot_loop(cfg, until_accepted=until_accepted)
        finally:
            self._booting = False

    async def _boot_loop(self, cfg: SimConfig, *, until_accepted: bool) -> str:
        while True:
            self._boot_now.clear()
            if cfg.version == "1.6":
                answer = await self.call(
                    call16.BootNotification(
                        charge_point_vendor=cfg.vendor,
                        charge_point_model=cfg.model,
                        charge_point_serial_number=cfg.serial,
                        firmware_version=cfg.firmware,
                    )
                )
            else:
                station: dict[str, Any] = {
                    "vendor_name": cfg.vendor,
                    "model": cfg.model,
                    "firmware_version": cfg.firmware,
                }
                if cfg.serial:
                    station["serial_number"] = cfg.serial
                answer = await self.call(
                    call201.BootNotification(charging_station=station, reason="PowerUp")
                )
            status = str(answer.status) if answer is not None else "Error"
            self.boot_status = status
            if answer is not None:
                self.heartbeat_interval = int(answer.interval)
            if status == "Accepted":
                self.accepted = True
                for connector in self.connectors:
                    await self.send_status(connector.connector_id, connector.status)
                return status
            self.accepted = False
            if not until_accepted:
                return status
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(max(self.heartbeat_interval, 1)):
                    await self._boot_now.wait()

    async def heartbeat(self) -> None:
        """Send one Heartbeat."""
        await self.call(call16.Heartbeat() if self.config.version == "1.6" else call201.Heartbeat())

    async def _heartbeat_loop(self) -> None:
        while True:
            await asyncio.sleep(max(self.heartbeat_interval, 1))
            await self.heartbeat()

    # ------------------------------------------------------------------ behaviour

    def connector(self, connector_id: int) -> SimConnector:
        """A connector by id (1-based)."""
        return self.connectors[connector_id - 1]

    def connector_of(self, transaction_id: int | str) -> SimConnector | None:
        """The connector running this transaction."""
        for connector in self.connectors:
            if connector.transaction_id is not None and str(connector.transaction_id) == str(
                transaction_id
            ):
                return connector
        return None

    def power_of(self, connector: SimConnector) -> float:
        """The power the connector draws now (W)."""
        if not connector.charging or connector.status not in {"Charging"}:
            return 0.0
        power = self.config.power_w
        if connector.limit_a is not None:
            power = min(power, connector.limit_a * self.config.voltage_v * self.config.phases)
        return power

    def _advance(self, connector: SimConnector) -> None:
        now = time.monotonic()
        connector.energy_wh += self.power_of(connector) * (now - connector.last_update) / 3600
        connector.last_update = now

    async def send_status(
        self,
        connector_id: int,
        status: str,
        *,
        error_code: str = "NoError",
        info: str | None = None,
    ) -> None:
        """StatusNotification (2.0.1: the connector status derived from ``status``)."""
        if self.config.version == "1.6":
            await self.call(
                call16.StatusNotification(
                    connector_id=connector_id,
                    error_code=error_code,
                    status=status,
                    info=info,
                    timestamp=self.now_iso(),
                )
            )
            return
        connector_status = {
            "Available": "Available",
            "Unavailable": "Unavailable",
            "Faulted": "Faulted",
            "Reserved": "Reserved",
        }.get(status, "Occupied")
        await self.call(
            call201.StatusNotification(
                timestamp=self.now_iso(),
                connector_status=connector_status,
                evse_id=connector_id,
                connector_id=1,
            )
        )

    async def _set_status(self, connector: SimConnector, status: str) -> None:
        self._advance(connector)
        connector.status = status
        if self.connected and self.accepted and self.config.version == "1.6":
            await self.send_status(connector.connector_id, status)

    async def plug_in(self, connector_id: int = 1) -> None:
        """A vehicle is plugged in (a pending remote start begins now)."""
        connector = self.connector(connector_id)
        connector.plugged = True
        await self._set_status(connector, "Preparing")
        if self.config.version == "2.0.1" and self.connected:
            await self.send_status(connector_id, "Preparing")
        if connector.pending_remote_tag is not None:
            tag, connector.pending_remote_tag = connector.pending_remote_tag, None
            await self.start(connector_id, tag)

    async def unplug(self, connector_id: int = 1) -> None:
        """The vehicle leaves."""
        connector = self.connector(connector_id)
        connector.plugged = False
        await self._set_status(connector, "Available")
        if self.config.version == "2.0.1" and self.connected:
            await self.send_status(connector_id, "Available")

    async def swipe(self, id_tag: str) -> str:
        """Present a tag: Authorize; returns the status word (or "Error")."""
        if self.config.version == "1.6":
            answer = await self.call(call16.Authorize(id_tag=id_tag))
            return str(answer.id_tag_info["status"]) if answer is not None else "Error"
        answer = await self.call(
            call201.Authorize(id_token={"id_token": id_tag, "type": "ISO14443"})
        )
        return str(answer.id_token_info["status"]) if answer is not None else "Error"

    async def start(
        self, connector_id: int = 1, id_tag: str = "TAG0001", *, timestamp: datetime | None = None
    ) -> str | None:
        """Start a transaction; returns its id (None while offline for 1.6). Waits for a stop
        of the connector in progress."""
        connector = self.connector(connector_id)
        async with connector.transaction_lock:
            return await self._start(connector, id_tag, timestamp)

    async def _start(
        self, connector: SimConnector, id_tag: str, timestamp: datetime | None
    ) -> str | None:
        connector_id = connector.connector_id
        self._advance(connector)
        connector.id_tag = id_tag
        connector.seq_no = itertools.count()
        connector.start_wh = connector.energy_wh
        at = self.now_iso(timestamp)
        if self.config.version == "1.6":
            placeholder = next(self._placeholders)
            connector.transaction_id = placeholder
            payload = call16.StartTransaction(
                connector_id=connector_id,
                id_tag=id_tag,
                meter_start=round(connector.energy_wh),
                timestamp=at,
            )
            answer = await self._transactional(payload)
            if answer is not None:
                connector.transaction_id = int(answer.transaction_id)
                self._real_ids[placeholder] = connector.transaction_id
        else:
            connector.transaction_id = str(uuid.uuid4())
            await self._transactional(
                self._transaction_event(
                    connector,
                    "Started",
                    "Authorized",
                    at,
                    context="Transaction.Begin",
                    id_tag=id_tag,
                    charging_state="Charging",
                )
            )
        await self._set_status(connector, "SuspendedEVSE" if connector.limit_a == 0 else "Charging")
        self._start_meter_loop(connector)
        return None if connector.transaction_id is None else str(connector.transaction_id)

    async def stop(
        self,
        connector_id: int = 1,
        reason: str = "Local",
        *,
        id_tag: str | None = None,
        timestamp: datetime | None = None,
    ) -> None:
        """Stop the connector's transaction (with transaction data); a start in progress
        (StartTransaction not answered yet) is waited for, then stopped."""
        connector = self.connector(connector_id)
        async with connector.transaction_lock:
            await self._stop(connector, reason, id_tag, timestamp)

    async def _stop(
        self,
        connector: SimConnector,
        reason: str,
        id_tag: str | None,
        timestamp: datetime | None,
    ) -> None:
        if connector.transaction_id is None:
            return
        self._advance(connector)
        self._stop_meter_loop(connector)
        at = self.now_iso(timestamp)
        if self.config.version == "1.6":
            await self._transactional(
                call16.StopTransaction(
                    meter_stop=round(connector.energy_wh),
                    timestamp=at,
                    transaction_id=connector.transaction_id,
                    reason=reason,
                    id_tag=id_tag,
                    transaction_data=[self._meter_value(connector, "Transaction.End", at)],
                )
            )
        else:
            await self._transactional(
                self._transaction_event(
                    connector,
                    "Ended",
                    "StopAuthorized" if reason == "Local" else "RemoteStop",
                    at,
                    context="Transaction.End",
                    id_tag=id_tag,
                    charging_state="EVConnected" if connector.plugged else "Idle",
                    stopped_reason=reason,
                )
            )
        connector.transaction_id = None
        await self._set_status(connector, "Finishing" if connector.plugged else "Available")

    async def send_meter_values(
        self,
        connector_id: int = 1,
        *,
        context: str = "Sample.Periodic",
        sampled_values: list[dict[str, Any]] | None = None,
        timestamp: datetime | None = None,
    ) -> None:
        """MeterValues (2.0.1 during a transaction: TransactionEvent Updated).

        ``sampled_values`` replaces the generated values (camelCase dicts, sent as they are).
        """
        connector = self.connector(connector_id)
        self._advance(connector)
        at = self.now_iso(timestamp)
        meter_value = self._meter_value(connector, context, at, sampled_values)
        if self.config.version == "1.6":
            await self._transactional(
                call16.MeterValues(
                    connector_id=connector_id,
                    meter_value=[meter_value],
                    transaction_id=connector.transaction_id,
                )
            )
        elif connector.transaction_id is not None:
            await self._transactional(
                self._transaction_event(
                    connector,
                    "Updated",
                    "MeterValuePeriodic" if context != "Trigger" else "Trigger",
                    at,
                    meter_value=meter_value,
                )
            )
        else:
            await self._transactional(
                call201.MeterValues(evse_id=connector_id, meter_value=[meter_value])
            )

    def _meter_value(
        self,
        connector: SimConnector,
        context: str,
        at: str,
        sampled_values: list[dict[str, Any]] | None = None,
    ) -> dict[str, Any]:
        if sampled_values is None:
            sampled_values = self._sampled_values(connector, context)
        return {"timestamp": at, "sampledValue": sampled_values}

    def soc_of(self, connector: SimConnector) -> float:
        """The car's state of charge (%): the starting SoC plus what its battery took since
        its transaction started, at most 100."""
        cfg = self.config
        soc = cfg.soc_pct or 0.0
        if cfg.battery_wh and connector.charging:
            soc += (connector.energy_wh - connector.start_wh) / cfg.battery_wh * 100
        return min(soc, 100.0)

    def _sampled_values(self, connector: SimConnector, context: str) -> list[dict[str, Any]]:
        cfg = self.config
        power = self.power_of(connector)
        current = power / (cfg.voltage_v * cfg.phases) if power else 0.0
        rows: list[tuple[str, str | None, float, str]] = [
            ("Energy.Active.Import.Register", None, round(connector.energy_wh), "Wh"),
            ("Power.Active.Import", None, round(power, 1), "W"),
        ]
        for phase in range(1, cfg.phases + 1):
            rows.append(("Current.Import", f"L{phase}", round(current, 2), "A"))
            rows.append(("Voltage", f"L{phase}-N", cfg.voltage_v, "V"))
        if cfg.soc_pct is not None:
            rows.append(("SoC", None, round(self.soc_of(connector), 1), "Percent"))
        values: list[dict[str, Any]] = []
        for measurand, phase_name, value, unit in rows:
            sv: dict[str, Any] = {"context": context, "measurand": measurand}
            if cfg.version == "1.6":
                sv["value"] = format(value, "g") if isinstance(value, float) else str(value)
                sv["unit"] = unit
            else:
                sv["value"] = value
                sv["unitOfMeasure"] = {"unit": unit}
            if phase_name is not None:
                sv["phase"] = phase_name
            values.append(sv)
        return values

    def _transaction_event(
        self,
        connector: SimConnector,
        event_type: str,
        trigger: str,
        at: str,
        *,
        context: str | None = None,
        meter_value: dict[str, Any] | None = None,
        id_tag: str | None = None,
        charging_state: str | None = None,
        stopped_reason: str | None = None,
    ) -> Any:
        if meter_value is None and context is not None:
            meter_value = self._meter_value(connector, context, at)
        info: dict[str, Any] = {"transaction_id": str(connector.transaction_id)}
        if charging_state is not None:
            info["charging_state"] = charging_state
        if stopped_reason is not None:
            info["stopped_reason"] = stopped_reason
        return call201.TransactionEvent(
            event_type=event_type,
            timestamp=at,
            trigger_reason=trigger,
            seq_no=next(connector.seq_no),
            transaction_info=info,
            meter_value=[meter_value] if meter_value is not None else None,
            evse={"id": connector.connector_id, "connector_id": 1},
            id_token={"id_token": id_tag, "type": "ISO14443"} if id_tag else None,
            offline=None if self.connected else True,
        )

    # ------------------------------------------------------------------ offline queue

    async def _transactional(self, payload: Any) -> Any:
        """Send a transaction-related message now, or queue it while disconnected."""
        if self.connected and self.accepted:
            await self.flush_queue()
            return await self.call(payload)
        self._queue.append(payload)
        return None

    @property
    def queued(self) -> int:
        """Messages waiting for a connection."""
        return len(self._queue)

    async def flush_queue(self) -> None:
        """Send queued messages in order, with their original timestamps."""
        while self._queue and self.connected:
            payload = self._queue.pop(0)
            transaction_id = getattr(payload, "transaction_id", None)
            if isinstance(transaction_id, int) and transaction_id < 0:
                payload = replace(payload, transaction_id=self._real_ids.get(transaction_id))
            answer = await self.call(payload)
            if isinstance(payload, call16.StartTransaction) and answer is not None:
                for connector in self.connectors:
                    if isinstance(connector.transaction_id, int) and connector.transaction_id < 0:
                        self._real_ids[connector.transaction_id] = int(answer.transaction_id)
                        connector.transaction_id = int(answer.transaction_id)

    # ------------------------------------------------------------------ answers to the CSMS

    def remote_start(self, connector_id: int, id_tag: str) -> None:
        """RemoteStart accepted: start now when a vehicle is plugged in, else on plug-in."""
        connector = self.connector(connector_id)
        if connector.charging:
            return
        if connector.plugged:
            self.spawn(self.start(connector_id, id_tag))
        else:
            connector.pending_remote_tag = id_tag

    def remote_stop(self, transaction_id: int | str) -> None:
        """RemoteStop accepted."""
        connector = self.connector_of(transaction_id)
        if connector is not None:
            self.spawn(self.stop(connector.connector_id, "Remote"))

    def apply_profile(
        self, connector_id: int, profile_id: int, purpose: str, schedule: dict[str, Any]
    ) -> str:
        """Take the first period's limit (A; W converted) for a connector (0 = all)."""
        periods = schedule.get("charging_schedule_period") or []
        if not periods or (self.config.refuse_schedules and len(periods) > 1):
            return "Rejected"
        limit = float(periods[0]["limit"])
        if schedule.get("charging_rate_unit") == "W":
            limit /= self.config.voltage_v * self.config.phases
        targets = self.connectors if connector_id == 0 else [self.connector(connector_id)]
        for connector in targets:
            self._advance(connector)
            connector.profiles.pop(profile_id, None)
            connector.profiles[profile_id] = (purpose, limit)
        return "Accepted"

    def composite_limit(self, connector_id: int) -> float | None:
        """The limit in force on a connector (0: the lowest of all); None without one."""
        targets = self.connectors if connector_id == 0 else [self.connector(connector_id)]
        limits = [c.limit_a for c in targets if c.limit_a is not None]
        return min(limits) if limits else None

    def clear_profiles(
        self, connector_id: int | None, profile_id: int | None = None, purpose: str | None = None
    ) -> str:
        """Remove matching profiles; "Unknown" when none matched."""
        targets = self.connectors if not connector_id else [self.connector(connector_id)]
        found = False
        for connector in targets:
            for key, (kind, _limit) in list(connector.profiles.items()):
                if (profile_id is None or key == profile_id) and purpose in (None, kind):
                    self._advance(connector)
                    del connector.profiles[key]
                    found = True
        return "Accepted" if found else "Unknown"

    async def report_limits(self) -> None:
        """After a profile change: Charging <-> SuspendedEVSE as the limit says."""
        for connector in self.connectors:
            if not connector.charging:
                continue
            wanted = "SuspendedEVSE" if connector.limit_a == 0 else "Charging"
            if connector.status != wanted:
                await self._set_status(connector, wanted)
                if self.config.version == "2.0.1":
                    await self._transactional(
                        self._transaction_event(
                            connector,
                            "Updated",
                            "ChargingStateChanged",
                            self.now_iso(),
                            charging_state=wanted,
                        )
                    )

    def change_configuration(self, key: str, value: str) -> str:
        """ChangeConfiguration / SetVariables: Accepted, Rejected or NotSupported."""
        if key in {"AuthorizationKey", "SecurityCtrlr.BasicAuthPassword"}:
            return self._set_password(key, value)
        if key in self.readonly:
            return "Rejected"
        if key not in self.configuration:
            return "NotSupported"
        measurands = key.endswith(("MeterValuesSampledData", "TxUpdatedMeasurands"))
        if measurands and not set(value.split(",")) <= self.config.supported_measurands:
            return "Rejected"
        if key.endswith(("MeterValueSampleInterval", "TxUpdatedInterval")):
            try:
                int(value)
            except ValueError:
                return "Rejected"
        self.configuration[key] = value
        return "Accepted"

    def _set_password(self, key: str, value: str) -> str:
        """Store a new password (write-only: never in the configuration read back)."""
        if self.config.password_answer != "Accepted":  # noqa: S105
            return self.config.password_answer
        if key == "AuthorizationKey":  # 1.6 security whitepaper: the password's hex digits
            try:
                value = bytes.fromhex(value).decode()
            except ValueError:
                return "Rejected"
        self.config.password = value
        if self.config.password_file is not None:
            self.config.password_file.write_text(value, encoding="utf-8")
        return "Accepted"

    def get_configuration(self, keys: list[str] | None) -> tuple[dict[str, str], list[str]]:
        """The requested keys (all when none) and the unknown ones."""
        if not keys:
            return dict(self.configuration), []
        known = {k: self.configuration[k] for k in keys if k in self.configuration}
        return known, [k for k in keys if k not in self.configuration]

    async def send_report(self, request_id: int) -> None:
        """NotifyReport with every variable (answer to GetBaseReport); the measurand
        variables list the measurands the station can sample (``valuesList``)."""
        data = []
        for key, value in self.configuration.items():
            component, _, variable = key.partition(".")
            item: dict[str, Any] = {
                "component": {"name": component},
                "variable": {"name": variable},
                "variable_attribute": [{"type": "Actual", "value": value}],
            }
            if key.endswith("Measurands"):
                item["variable_characteristics"] = {
                    "data_type": "MemberList",
                    "supports_monitoring": False,
                    "values_list": ",".join(sorted(self.config.supported_measurands)),
                }
            data.append(item)
        await self.call(
            call201.NotifyReport(
                request_id=request_id,
                generated_at=self.now_iso(),
                seq_no=0,
                report_data=data,
                tbc=False,
            )
        )

    def triggered(self, message: str, connector_id: int | None) -> None:
        """Carry out an accepted TriggerMessage."""
        if message == "BootNotification":
            if self._booting:
                self._boot_now.set()
            else:
                self.spawn(self.boot(until_accepted=False))
        elif message == "Heartbeat":
            self.spawn(self.heartbeat())
        elif message == "StatusNotification":
            for connector in self.connectors:
                if connector_id in (None, 0, connector.connector_id):
                    self.spawn(self.send_status(connector.connector_id, connector.status))
        elif message == "MeterValues":
            for connector in self.connectors:
                if connector_id in (None, 0, connector.connector_id):
                    self.spawn(self.send_meter_values(connector.connector_id, context="Trigger"))

    # ------------------------------------------------------------------ periodic meter values

    def _interval(self) -> float:
        if self.config.sample_interval is not None:
            return self.config.sample_interval
        key = (
            "MeterValueSampleInterval"
            if self.config.version == "1.6"
            else "SampledDataCtrlr.TxUpdatedInterval"
        )
        try:
            return float(self.configuration.get(key, "0"))
        except ValueError:
            return 0.0

    def _start_meter_loop(self, connector: SimConnector) -> None:
        if connector.meter_task is None and self._interval() > 0 and self.connected:
            self.spawn(self._meter_loop(connector))

    def _stop_meter_loop(self, connector: SimConnector) -> None:
        task, connector.meter_task = connector.meter_task, None
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    async def _meter_loop(self, connector: SimConnector) -> None:
        connector.meter_task = asyncio.current_task()
        try:
            while connector.charging:
                await asyncio.sleep(self._interval() or 1.0)
                if connector.charging:
                    await self.send_meter_values(connector.connector_id)
        finally:
            if connector.meter_task is asyncio.current_task():
                connector.meter_task = None
