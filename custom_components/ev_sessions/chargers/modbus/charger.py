"""``ModbusCharger``: polls one Modbus TCP charger per its profile and speaks normalized events.

One background task owns the polling, the watchdog duties and the reconnects; commands
(:meth:`ModbusCharger.execute`) write from the caller's task, serialized by a lock. The
adapter holds no session logic: sessions come from the state transitions it reports.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
from dataclasses import asdict, replace
from datetime import UTC, datetime
import logging
import math
import time
from typing import Any

from custom_components.ev_sessions.chargers.events import (
    MAX_ENERGY_REGISTER_WH,
    VEHICLE_CONNECTED_STATES,
    AuthorizationRequest,
    ChargerCommand,
    ChargerConnected,
    ChargerDisconnected,
    ChargerEvent,
    ChargerHandler,
    ChargerInfo,
    ChargerNotConnectedError,
    ClearLimits,
    CommandNotSupportedError,
    CommandResult,
    ConnectorState,
    GetCurrentLimit,
    MeterSample,
    ProtocolDeviation,
    SetCurrentLimit,
    StartCharging,
    StatusChanged,
    StopCharging,
    TagPresented,
)

from .codec import Decoded, Function, RegisterSpec, decode
from .control import ControlState, WriteOp, effective_limit, limit_writes
from .energy import LifetimeFromSession
from .errors import ModbusConnectError, ModbusDeviceError, ModbusIdentityError
from .plausibility import IMPLAUSIBLE_REGISTER, ImplausibleRises, RiseWatch, max_power_w
from .read_plan import ReadBlock, plan_reads
from .register_map import (
    IdentityField,
    LifetimeSource,
    Quantity,
    RegisterMap,
    SessionEnergy,
    WatchdogAction,
    WatchdogSpec,
)
from .state import CHARGING, PLUGGED, STATUS, StateReading, connector_state, read_state
from .transport import ModbusTransport

_LOGGER = logging.getLogger(__name__)

CONNECTOR_ID = 1
_BACKOFF_START_S = 1.0
_BACKOFF_MAX_S = 60.0
_AUTHORIZE_TIMEOUT_S = 10.0
_STATE_PREFIX = "state."
_VALUE_PREFIX = "value."

ReadFn = Callable[[int, Function, int, int], Awaitable[list[int]]]


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _num(value: Decoded) -> float | None:
    return float(value) if isinstance(value, int | float) else None


def _phase(
    values: dict[str, Decoded], *keys: Quantity
) -> tuple[float | None, float | None, float | None] | None:
    nums = [_num(values.get(_VALUE_PREFIX + k)) for k in keys]
    if all(n is None for n in nums):
        return None
    return (nums[0], nums[1], nums[2])


def _rounded(
    triple: tuple[float | None, ...] | None, digits: int
) -> tuple[float | None, ...] | None:
    return (
        None if triple is None else tuple(None if v is None else round(v, digits) for v in triple)
    )


async def select_variant(profile: RegisterMap, read: ReadFn) -> RegisterMap:
    """The profile of the firmware variant the device is (the first whose ``when`` holds),
    or ``profile`` itself. A variant register the device refuses means "not this variant"."""
    for variant in profile.variants:
        spec = variant.when.register
        try:
            words = await read(profile.unit_for(spec), spec.function, spec.address, spec.count)
        except ModbusDeviceError as err:
            _LOGGER.debug("%s: variant %s not readable: %s", profile.name, variant.name, err)
            continue
        if variant.when.test(decode(spec, words)):
            return variant.profile
    return profile


async def read_identity_with(profile: RegisterMap, read: ReadFn) -> ChargerInfo:
    """Read the identity registers and check the state register decodes like this profile's.

    Raises :class:`ModbusIdentityError` when the device answers but not like ``profile``.
    A profile with variants is first narrowed to the device's variant.
    """
    profile = await select_variant(profile, read)
    found: dict[IdentityField, str] = {}
    for field, spec in profile.identity.items():
        try:
            words = await read(profile.unit_for(spec), spec.function, spec.address, spec.count)
        except ModbusDeviceError as err:
            msg = (
                f"{profile.title}: {field} register {spec.address} is not readable ({err}); "
                "wrong model or unit id?"
            )
            raise ModbusIdentityError(msg) from err
        value = decode(spec, words)
        if value is not None:
            found[field] = (
                str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
            )
    state = profile.state
    if state.status is not None:
        spec = state.status
        try:
            words = await read(profile.unit_for(spec), spec.function, spec.address, spec.count)
        except ModbusDeviceError as err:
            msg = (
                f"{profile.title}: state register {spec.address} is not readable ({err}); "
                "wrong model or unit id?"
            )
            raise ModbusIdentityError(msg) from err
        reading = read_state(state, {STATUS: decode(spec, words)})
        if reading.iec is None and state.plugged is None:
            msg = f"{profile.title}: unexpected state value {reading.raw!r}; wrong model?"
            raise ModbusIdentityError(msg)
    return ChargerInfo(
        vendor=profile.vendor,
        model=profile.model or found.get(IdentityField.MODEL),
        serial=found.get(IdentityField.SERIAL),
        firmware=found.get(IdentityField.FIRMWARE),
        protocol="modbus",
        connectors=1,
    )


class ModbusCharger:
    """A Modbus TCP charger adapter.

    ``time_scale`` multiplies every profile period (poll, watchdog, write spacing, backoff):
    tests run with e.g. 0.01. ``unit_id`` overrides the profile's default unit id and
    ``max_current_a`` the profile's maximum (the installation's fuse).
    """

    def __init__(
        self,
        charger_id: str,
        host: str,
        port: int,
        profile: RegisterMap,
        handler: ChargerHandler,
        *,
        unit_id: int | None = None,
        max_current_a: float | None = None,
        time_scale: float = 1.0,
        request_timeout_s: float = 3.0,
        backoff_max_s: float = _BACKOFF_MAX_S,
        now: Callable[[], datetime] = _utcnow,
        lifetime_start_wh: float = 0.0,
        lifetime_session_wh: float | None = None,
        jump_slack_wh: float = 2000.0,
        implausible_after: int = 3,
    ) -> None:
        """Set up; nothing touches the network until :meth:`start` or :meth:`read_identity`.

        ``lifetime_start_wh`` / ``lifetime_session_wh``: for profiles without a lifetime
        register, the last counter value reported and the session register it included (see
        :class:`LifetimeFromSession`), so the counter continues across restarts.

        An energy register that rises impossibly fast ``implausible_after`` polls in a row
        (beyond the charger's maximum or measured power, plus ``jump_slack_wh``) is reported as
        a ``ProtocolDeviation`` of kind ``implausible_register:<quantity>`` (see
        :mod:`.plausibility`).
        """
        self.charger_id = charger_id
        #: The profile as configured; :attr:`profile` is its variant the device turned out to be.
        self.base_profile = profile if unit_id is None else profile.with_unit(unit_id)
        self.profile = self.base_profile
        self._handler = handler
        self._host = host
        self._port = port
        self._scale = time_scale
        self._timeout = request_timeout_s
        self._backoff_max = backoff_max_s * time_scale
        self._now = now
        self.max_current_a = min(max_current_a or profile.max_current_a, profile.max_current_a)
        self._transport = ModbusTransport(host, port, timeout_s=request_timeout_s, name=charger_id)
        self._io_lock = asyncio.Lock()
        self._write_lock = asyncio.Lock()
        self._last_write_at: float | None = None
        self._written: dict[tuple[int, int], tuple[int, ...]] = {}
        self._task: asyncio.Task[None] | None = None
        self._online = False
        self._lost_reason: str | None = None
        self._fail_streak = 0
        self._info: ChargerInfo | None = None
        self._control = ControlState()
        self._lifetime = (
            LifetimeFromSession(lifetime_start_wh, lifetime_session_wh)
            if self.profile.lifetime is LifetimeSource.FROM_SESSION
            else None
        )
        self._watches = {
            quantity: RiseWatch(
                max_power_w=max_power_w(self.max_current_a),
                slack_wh=jump_slack_wh,
                after=implausible_after,
            )
            for quantity in (Quantity.ENERGY_TOTAL_WH, Quantity.SESSION_ENERGY_WH)
        }
        self._deviations: set[str] = set()
        self._unsupported: set[str] = set()
        self._solo: set[str] = set()
        self._blocks: list[ReadBlock[str]] = []
        self._state: ConnectorState | None = None
        self._tag: str | None = None
        self._last_key: tuple[object, ...] | None = None
        self._last_sample_at = 0.0
        self._next_poll = 0.0
        self._next_identity = 0.0
        self._wd_due: list[float] = [0.0] * len(self.profile.watchdogs)
        self._wd_source: dict[int, int] = {}
        self._replan()

    # ------------------------------------------------------------------ public API

    @property
    def connected(self) -> bool:
        """True while the device answers."""
        return self._online

    @property
    def info(self) -> ChargerInfo | None:
        """Identity read at the last (re)connect."""
        return self._info

    @property
    def state(self) -> ConnectorState | None:
        """Last reported connector state."""
        return self._state

    def diagnostics(self) -> dict[str, Any]:
        """What a maintainer needs to see (the RFID tag is left out: personal data)."""
        return {
            "profile": self.profile.name,
            "variant": self.profile.variant,
            "unit_id": self.profile.unit_id,
            "host": self._host,
            "port": self._port,
            "connected": self._online,
            "lost_reason": self._lost_reason,
            "fail_streak": self._fail_streak,
            "state": self._state.value if self._state is not None else None,
            "limit_a": self._control.limit_a,
            "enabled": self._control.enabled,
            "max_current_a": self.max_current_a,
            "unsupported_registers": sorted(self._unsupported),
            "deviations": sorted(self._deviations),
            "read_blocks": len(self._blocks),
            "info": asdict(self._info) if self._info is not None else None,
        }

    async def start(self) -> None:
        """Start the background loop (returns at once; the loop connects and retries itself)."""
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(
                self._run(), name=f"ev_sessions modbus {self.charger_id}"
            )

    async def stop(self) -> None:
        """Cancel the loop, close the connection, report the charger gone."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._transport.close()
        if self._online:
            self._online = False
            self._emit(
                ChargerDisconnected(charger_id=self.charger_id, at=self._now(), reason="stopped")
            )

    async def read_identity(self) -> ChargerInfo:
        """Identity for the connection test: uses the live connection, or a short-lived one.

        Raises :class:`ModbusConnectError` (unreachable) or :class:`ModbusIdentityError`
        (answers, but not like this profile).
        """
        if self._transport.connected:
            return await read_identity_with(self.base_profile, self._read)
        return await probe_profile(
            self._host, self._port, self.base_profile, timeout_s=self._timeout
        )

    async def execute(self, command: ChargerCommand) -> CommandResult:
        """Apply SetCurrentLimit / StartCharging / StopCharging / ClearLimits; GetCurrentLimit
        reads the limit in force."""
        if isinstance(command, GetCurrentLimit):
            return await self._limit_in_force(command.connector_id)
        if not isinstance(command, SetCurrentLimit | StartCharging | StopCharging | ClearLimits):
            msg = f"{type(command).__name__} is not supported over Modbus"
            raise CommandNotSupportedError(msg)
        if self.profile.limit is None:
            msg = f"profile {self.profile.name} has no limit register"
            raise CommandNotSupportedError(msg)
        if command.connector_id not in (0, CONNECTOR_ID):
            msg = f"connector {command.connector_id} does not exist (single-connector profile)"
            raise CommandNotSupportedError(msg)
        if not self._online:
            msg = f"{self.charger_id} is not reachable"
            raise ChargerNotConnectedError(msg)
        new = replace(self._control, commanded=True)
        match command:
            case SetCurrentLimit(limit_a=limit):
                if limit < 0:
                    return CommandResult(
                        accepted=False, status="Rejected", data={"error": "negative limit"}
                    )
                new.limit_a = limit
            case StartCharging():
                new.enabled = True
            case StopCharging():
                new.enabled = False
            case ClearLimits():
                new.limit_a = None
        self._control = new
        try:
            await self._apply_control(force=False)
        except ModbusDeviceError as err:
            # The charger refused: say what it refused and why, not a bare "Rejected".
            _LOGGER.warning("%s: %s refused: %s", self.charger_id, type(command).__name__, err)
            return CommandResult(accepted=False, status=f"Rejected: {err}", data=err.as_data())
        except ModbusConnectError as err:
            raise ChargerNotConnectedError(str(err)) from err
        amps = effective_limit(self.profile, self._control, self.max_current_a)
        return CommandResult(
            accepted=True, status="Accepted", data={"limit_a": amps, "paused": amps == 0}
        )

    async def _limit_in_force(self, connector_id: int) -> CommandResult:
        """The limit the charger works with (``data["limit_a"]``, 0 = paused).

        What the hub writes when it controls the limit (it commanded one, or the profile's
        watchdog rewrites the setpoint), else the limit register read back. A write-only limit
        register the hub never wrote cannot tell: :class:`CommandNotSupportedError`.
        """
        limit = self.profile.limit
        if limit is None:
            raise CommandNotSupportedError(f"profile {self.profile.name} has no limit register")
        if connector_id not in (0, CONNECTOR_ID):
            msg = f"connector {connector_id} does not exist (single-connector profile)"
            raise CommandNotSupportedError(msg)
        if not self._online:
            raise ChargerNotConnectedError(f"{self.charger_id} is not reachable")
        rewrites = any(w.action is WatchdogAction.REWRITE_LIMIT for w in self.profile.watchdogs)
        if self._control.commanded or rewrites:
            amps = effective_limit(self.profile, self._control, self.max_current_a)
            return CommandResult(
                accepted=True, status="Accepted", data={"limit_a": amps, "paused": amps == 0}
            )
        spec = limit.register
        try:
            words = await self._read(
                self.profile.unit_for(spec), spec.function, spec.address, spec.count
            )
        except ModbusDeviceError as err:
            raise CommandNotSupportedError(f"{self.charger_id}: limit not readable: {err}") from err
        except ModbusConnectError as err:
            raise ChargerNotConnectedError(str(err)) from err
        value = _num(decode(spec, words))
        if value is None or not math.isfinite(value) or value < 0:
            raise CommandNotSupportedError(f"{self.charger_id}: limit register reads {value!r}")
        amps = value / 1000 if limit.milliamps else value
        return CommandResult(
            accepted=True, status="Accepted", data={"limit_a": amps, "paused": amps == 0}
        )

    # ------------------------------------------------------------------ I/O helpers

    def _scaled(self, seconds: float) -> float:
        return seconds * self._scale

    def _emit(self, event: ChargerEvent) -> None:
        try:
            self._handler.handle_event(event)
        except Exception:
            _LOGGER.exception(
                "%s: event handler failed on %s", self.charger_id, type(event).__name__
            )

    async def _read(self, unit_id: int, function: Function, address: int, count: int) -> list[int]:
        async with self._io_lock:
            return await self._transport.read(unit_id, function, address, count)

    async def _write(self, op: WriteOp) -> None:
        """Write, keeping the device's minimum spacing between writes."""
        async with self._write_lock:
            spacing = self._scaled(self.profile.min_write_interval_s)
            if spacing > 0 and self._last_write_at is not None:
                wait = self._last_write_at + spacing - time.monotonic()
                if wait > 0:
                    await asyncio.sleep(wait)
            async with self._io_lock:
                await self._transport.write(op.unit_id, op.write, op.address, list(op.values))
            self._last_write_at = time.monotonic()
            self._written[(op.unit_id, op.address)] = op.values

    async def _apply_control(self, *, force: bool) -> None:
        for op in limit_writes(self.profile, self._control, self.max_current_a):
            if not force and self._written.get((op.unit_id, op.address)) == op.values:
                continue
            await self._write(op)

    # ------------------------------------------------------------------ planning

    def _live_items(self) -> list[tuple[str, RegisterSpec]]:
        p = self.profile
        items: list[tuple[str, RegisterSpec]] = []
        for quantity, spec in p.values.items():
            if quantity is Quantity.SESSION_ENERGY_WH and p.session_energy is SessionEnergy.IGNORE:
                continue
            items.append((_VALUE_PREFIX + quantity, spec))
        if p.state.status is not None:
            items.append((_STATE_PREFIX + STATUS, p.state.status))
        if p.state.plugged is not None:
            items.append((_STATE_PREFIX + PLUGGED, p.state.plugged.register))
        if p.state.charging is not None:
            items.append((_STATE_PREFIX + CHARGING, p.state.charging.register))
        return [kv for kv in items if kv[0] not in self._unsupported]

    def _replan(self) -> None:
        p = self.profile
        items = self._live_items()
        merged = [kv for kv in items if kv[0] not in self._solo]
        solo = [kv for kv in items if kv[0] in self._solo]
        self._blocks = plan_reads(
            merged,
            default_unit=p.unit_id,
            max_registers=p.max_read_registers,
            merge_gap=p.merge_gap,
        ) + plan_reads(
            solo, default_unit=p.unit_id, max_registers=p.max_read_registers, merge_gap=-1
        )

    # ------------------------------------------------------------------ background loop

    async def _run(self) -> None:
        backoff = self._scaled(_BACKOFF_START_S)
        while True:
            if not self._transport.connected:
                try:
                    await self._connect()
                except (ModbusConnectError, ModbusIdentityError) as err:
                    self._went_offline(str(err))
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self._backoff_max)
                    continue
                backoff = self._scaled(_BACKOFF_START_S)
            try:
                await self._tick()
                self._fail_streak = 0
            except ModbusConnectError as err:
                self._transport.close()
                self._fail_streak += 1
                if self._fail_streak > 1:  # the first failure gets one immediate reconnect
                    self._went_offline(str(err))
                continue
            await asyncio.sleep(max(0.0, self._next_due() - time.monotonic()))

    def _next_due(self) -> float:
        return min([self._next_poll, self._next_identity, *self._wd_due])

    async def _connect(self) -> None:
        await self._transport.connect()
        if self._online:
            return  # a silent reconnect (idle close): nothing to report
        was_lost = self._lost_reason is not None
        await self._use_variant()
        try:
            self._info = await read_identity_with(self.profile, self._read)
        except ModbusIdentityError as err:
            _LOGGER.warning("%s: %s", self.charger_id, err)
            self._info = self._info or ChargerInfo(
                vendor=self.profile.vendor, model=self.profile.model, protocol="modbus"
            )
        self._next_identity = time.monotonic() + self._scaled(self.profile.identity_interval_s)
        self._online = True
        self._fail_streak = 0
        if was_lost:
            _LOGGER.info(
                "%s: Modbus device at %s:%s is back", self.charger_id, self._host, self._port
            )
            self._lost_reason = None
        self._emit(ChargerConnected(charger_id=self.charger_id, at=self._now(), info=self._info))
        self._state = None  # report the state again
        self._last_key = None  # and a fresh sample
        self._next_poll = 0.0
        self._wd_due = [0.0] * len(self._wd_due)
        if was_lost and self._control.commanded:
            self._written.clear()
            await self._apply_control(force=True)  # it may have fallen back to its safe current

    async def _use_variant(self) -> None:
        """Find out which firmware variant of the profile the device is (at every connect)."""
        if not self.base_profile.variants:
            return
        active = await select_variant(self.base_profile, self._read)
        if active is self.profile:
            return
        _LOGGER.info(
            "%s: %s is the %s variant",
            self.charger_id,
            self.base_profile.title,
            active.variant or "base",
        )
        self.profile = active
        self._unsupported.clear()
        self._solo.clear()
        self._written.clear()
        self._wd_due = [0.0] * len(active.watchdogs)
        self._wd_source.clear()
        self._replan()

    def _went_offline(self, reason: str) -> None:
        if self._lost_reason is None:
            _LOGGER.warning(
                "%s: Modbus device at %s:%s unreachable: %s",
                self.charger_id,
                self._host,
                self._port,
                reason,
            )
            self._lost_reason = reason
        if self._online:
            self._online = False
            self._emit(
                ChargerDisconnected(charger_id=self.charger_id, at=self._now(), reason=reason)
            )

    async def _tick(self) -> None:
        now = time.monotonic()
        if now >= self._next_poll:
            self._next_poll = now + self._scaled(self.profile.poll_interval_s)
            await self._poll()
        if now >= self._next_identity:
            self._next_identity = now + self._scaled(self.profile.identity_interval_s)
            self._wd_source.clear()
            try:
                info = await read_identity_with(self.profile, self._read)
            except ModbusIdentityError as err:
                _LOGGER.debug("%s: identity refresh failed: %s", self.charger_id, err)
            else:
                if info != self._info:
                    self._info = info
                    self._emit(
                        ChargerConnected(charger_id=self.charger_id, at=self._now(), info=info)
                    )
        for index, spec in enumerate(self.profile.watchdogs):
            if time.monotonic() >= self._wd_due[index]:
                period = await self._feed(spec)
                self._wd_due[index] = time.monotonic() + self._scaled(period)

    # ------------------------------------------------------------------ watchdogs

    async def _watchdog_source(self, spec: WatchdogSpec) -> int | None:
        source = spec.period_from
        if source is None:
            return None
        key = source.register.address
        if key not in self._wd_source:
            reg = source.register
            try:
                words = await self._read(
                    self.profile.unit_for(reg), reg.function, reg.address, reg.count
                )
            except ModbusDeviceError as err:
                _LOGGER.warning(
                    "%s: cannot read watchdog timeout %s: %s", self.charger_id, key, err
                )
                self._wd_source[key] = 0
            else:
                self._wd_source[key] = int(_num(decode(reg, words)) or 0)
        return self._wd_source[key]

    async def _duty_enabled(self, spec: WatchdogSpec) -> bool:
        """Whether the duty's ``when`` condition holds now (no condition: always; a failed
        read: not, so nothing is written while the charger's mode is unknown)."""
        if spec.when is None:
            return True
        reg = spec.when.register
        try:
            words = await self._read(
                self.profile.unit_for(reg), reg.function, reg.address, reg.count
            )
        except ModbusDeviceError as err:
            _LOGGER.debug(
                "%s: cannot read watchdog condition %s: %s", self.charger_id, reg.address, err
            )
            return False
        return spec.when.test(decode(reg, words))

    async def _feed(self, spec: WatchdogSpec) -> float:
        """Do one watchdog duty; return the seconds (device time) until the next one."""
        period = spec.period_s or self.profile.identity_interval_s
        timeout = await self._watchdog_source(spec)
        if spec.period_from is not None and timeout is not None:
            if timeout <= 0:
                if spec.period_from.if_zero_s is None:
                    return self.profile.identity_interval_s  # disabled on the device; check later
                period = spec.period_from.if_zero_s
            else:
                period = max(spec.period_from.min_s, timeout * spec.period_from.factor)
        if not await self._duty_enabled(spec):
            return period  # checked again at the next period
        try:
            match spec.action:
                case WatchdogAction.WRITE_VALUE | WatchdogAction.MIRROR:
                    assert spec.register is not None
                    value = timeout if spec.action is WatchdogAction.MIRROR else spec.value
                    reg = spec.register
                    write = WriteOp(
                        self.profile.unit_for(reg),
                        spec.write,
                        reg.address,
                        (int(value or 0),),
                        "watchdog",
                    )
                    await self._write(write)
                case WatchdogAction.REWRITE_LIMIT:
                    await self._apply_control(force=True)
                case WatchdogAction.READ:
                    pass  # the polls are the keep-alive
        except ModbusDeviceError as err:
            _LOGGER.warning("%s: watchdog write refused: %s", self.charger_id, err)
        return period

    # ------------------------------------------------------------------ polling

    async def _read_block(self, block: ReadBlock[str], values: dict[str, Decoded]) -> None:
        try:
            words = await self._read(block.unit_id, block.function, block.address, block.count)
        except ModbusDeviceError as err:
            if len(block.members) > 1:
                _LOGGER.debug("%s: %s; reading its values one by one", self.charger_id, err)
                self._solo.update(key for key, _ in block.members)
                for key, spec in block.members:
                    solo = ReadBlock(
                        block.unit_id, block.function, spec.address, spec.count, ((key, spec),)
                    )
                    await self._read_block(solo, values)
            else:
                key = block.members[0][0]
                _LOGGER.warning(
                    "%s: %s unsupported by the device, skipped: %s", self.charger_id, key, err
                )
                self._unsupported.add(key)
            self._replan()
            return
        for key, spec in block.members:
            values[key] = decode(spec, block.slice(spec, words))

    async def _poll(self) -> None:
        values: dict[str, Decoded] = {}
        for block in list(self._blocks):
            await self._read_block(block, values)
        self._publish(values)
        tag = values.get(_VALUE_PREFIX + Quantity.RFID)
        await self._handle_tag(str(tag) if tag is not None else None)

    def _deviation(self, kind: str, detail: str, at: datetime) -> None:
        """Report a deviation once per kind (and log it)."""
        if kind in self._deviations:
            return
        self._deviations.add(kind)
        _LOGGER.warning("%s: %s: %s", self.charger_id, kind, detail)
        self._emit(ProtocolDeviation(charger_id=self.charger_id, at=at, kind=kind, detail=detail))

    def _energy_value(
        self, values: dict[str, Decoded], quantity: Quantity, power: float | None, at: datetime
    ) -> float | None:
        """An energy register's reading, checked: out of bounds is dropped, and impossible
        rises in a row are reported (the value still goes to the engine, which refuses it)."""
        value = _num(values.get(_VALUE_PREFIX + quantity))
        if value is None:
            return None
        spec = self.profile.values[quantity]
        where = (
            f"{quantity} ({spec.function} register {spec.address}, {spec.type}, "
            f"word_order {spec.word_order}, scale {spec.scale:g})"
        )
        if not 0 <= value <= MAX_ENERGY_REGISTER_WH:
            self._deviation(
                f"implausible_value:{quantity}",
                f"{where} reads {value:,.0f} Wh: not a meter reading; dropped",
                at,
            )
            return None
        found = self._watches[quantity].feed(value, time.monotonic() / self._scale, power)
        if found is not None:
            self._deviation(f"{IMPLAUSIBLE_REGISTER}:{quantity}", _rises_text(where, found), at)
        return value

    def _publish(self, values: dict[str, Decoded]) -> None:
        p = self.profile
        at = self._now()
        power = _num(values.get(_VALUE_PREFIX + Quantity.POWER_W))
        energy = self._energy_value(values, Quantity.ENERGY_TOTAL_WH, power, at)
        session = self._energy_value(values, Quantity.SESSION_ENERGY_WH, power, at)
        if self._lifetime is not None:
            energy = None if session is None else self._lifetime.update(session)
        energy_wh = None if energy is None else round(energy)
        session_wh = (
            round(session)
            if session is not None and p.session_energy is SessionEnergy.LIVE
            else None
        )
        currents = _phase(
            values, Quantity.CURRENT_L1_A, Quantity.CURRENT_L2_A, Quantity.CURRENT_L3_A
        )
        voltages = _phase(
            values, Quantity.VOLTAGE_L1_V, Quantity.VOLTAGE_L2_V, Quantity.VOLTAGE_L3_V
        )

        state_values = {
            k.removeprefix(_STATE_PREFIX): v
            for k, v in values.items()
            if k.startswith(_STATE_PREFIX)
        }
        reading: StateReading = read_state(p.state, state_values)
        paused = (
            self._control.commanded and effective_limit(p, self._control, self.max_current_a) == 0
        )
        state = connector_state(reading, previous=self._state, paused_by_hub=paused)
        state_changed = state != self._state

        key = (
            energy_wh,
            session_wh,
            None if power is None else round(power, -1),
            _rounded(currents, 1),
        )
        now = time.monotonic()
        periodic = now - self._last_sample_at >= self._scaled(p.sample_interval_s)
        # A vehicle arriving: the status goes first, so the session exists when this sample
        # (its first reading, the baseline) arrives. Otherwise the sample goes first, so the
        # energy up to a stop or an unplug still belongs to the session.
        arriving = (
            state_changed
            and state in VEHICLE_CONNECTED_STATES
            and self._state not in VEHICLE_CONNECTED_STATES
        )
        if arriving:
            self._report_state(state, reading, at)
        if key != self._last_key or state_changed or periodic:
            self._last_key = key
            self._last_sample_at = now
            self._emit(
                MeterSample(
                    charger_id=self.charger_id,
                    at=at,
                    connector_id=CONNECTOR_ID,
                    energy_register_wh=energy_wh,
                    session_energy_wh=session_wh,
                    power_w=power,
                    current_a=currents,
                    voltage_v=voltages,
                )
            )
        if state_changed and not arriving:
            self._report_state(state, reading, at)

    def _report_state(self, state: ConnectorState, reading: StateReading, at: datetime) -> None:
        self._state = state
        error = None if reading.iec not in ("E", "F") else f"IEC {reading.iec}"
        self._emit(
            StatusChanged(
                charger_id=self.charger_id,
                at=at,
                connector_id=CONNECTOR_ID,
                state=state,
                error_code=error,
                info=f"IEC {reading.iec or '?'} ({reading.raw})",
            )
        )

    async def _handle_tag(self, tag: str | None) -> None:
        if tag is None or tag == self._tag:
            self._tag = tag
            return
        self._tag = tag
        request = AuthorizationRequest(
            charger_id=self.charger_id, id_tag=tag, connector_id=CONNECTOR_ID, at=self._now()
        )
        try:
            result = await asyncio.wait_for(self._handler.authorize(request), _AUTHORIZE_TIMEOUT_S)
        except Exception:
            _LOGGER.exception("%s: authorizing tag failed", self.charger_id)
            return
        self._emit(
            TagPresented(
                charger_id=self.charger_id,
                at=self._now(),
                connector_id=CONNECTOR_ID,
                id_tag=tag,
                status=result.status,
            )
        )


def _rises_text(where: str, found: ImplausibleRises) -> str:
    """The finding for people: which register, what it read, what to check."""
    return (
        f"{where}: {found.previous_wh:,.0f} -> {found.value_wh:,.0f} Wh in "
        f"{found.seconds:.0f} s, {found.count} rises in a row faster than "
        f"{found.allowed_w / 1000:,.0f} kW; check its word_order (low word first?) and scale"
    )


async def probe_profile(
    host: str, port: int, profile: RegisterMap, *, timeout_s: float = 5.0
) -> ChargerInfo:
    """Connect once, read the identity, disconnect (the config flow's test-before-create)."""
    transport = ModbusTransport(host, port, timeout_s=timeout_s, name="ev_sessions probe")
    await transport.connect()
    try:
        return await read_identity_with(profile, transport.read)
    finally:
        transport.close()
