"""A pymodbus TCP server that behaves like one charger model.

The register layout comes from the adapter's profile; :mod:`.devices` adds the model's
behaviour; :mod:`.physics` integrates energy over simulated time.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
import itertools
import logging
import math
import time
from typing import Any

from pymodbus.constants import ExcCodes
from pymodbus.server import ModbusTcpServer
from pymodbus.simulator import DataType, SimData, SimDevice

from custom_components.ev_sessions.chargers.modbus import profile_for
from custom_components.ev_sessions.chargers.modbus.codec import (
    Function,
    RegisterSpec,
    RegisterType,
    decode,
    encode,
)
from custom_components.ev_sessions.chargers.modbus.register_map import (
    PauseMethod,
    Quantity,
    RegisterMap,
    WatchdogAction,
    WriteFunction,
)

from .clock import SimClock
from .devices import DeviceBehavior, behavior_for
from .physics import VOLTAGE_V, EvPhysics, WatchdogConfig

_LOGGER = logging.getLogger(__name__)

_FC_READ = {
    1: Function.COIL,
    2: Function.DISCRETE_INPUT,
    3: Function.HOLDING,
    4: Function.INPUT,
}
_FC_WRITE = {
    5: WriteFunction.FC5,
    6: WriteFunction.FC6,
    15: WriteFunction.FC15,
    16: WriteFunction.FC16,
}


@dataclass(frozen=True, slots=True)
class SimWrite:
    """One write request as the device saw it."""

    unit_id: int
    function_code: int
    address: int
    values: tuple[int, ...]
    at: float  # device time
    real_at: float  # time.monotonic()
    exception: int | None = None


class ChargerSimulator:
    """One simulated charger: a Modbus TCP server plus the vehicle and meter behind it."""

    def __init__(
        self,
        profile: RegisterMap,
        *,
        behavior: DeviceBehavior | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        rate: float = 0.0,
        watchdog: bool = True,
        lifetime_wh: float = 1_000_000.0,
    ) -> None:
        """Build; :meth:`start` opens the port."""
        self.profile = profile
        self.behavior = behavior or behavior_for(profile)
        self.host = host
        self.port = port
        self.clock = SimClock(rate)
        wd = self.behavior.watchdog if watchdog else None
        self.physics = EvPhysics(
            self.clock,
            max_current_a=profile.max_current_a,
            lifetime_wh=lifetime_wh,
            watchdog=None
            if wd is None
            else WatchdogConfig(timeout_s=wd.timeout_s, safe_current_a=wd.safe_current_a),
        )
        self.writes: list[SimWrite] = []
        self.reads = 0
        self.rejected_reads: list[tuple[int, int, int, int]] = []  # (fc, address, count, exc)
        self.rate_violations = 0
        #: Writes to these addresses are refused with the exception code (a device that
        #: refuses to pause, a register locked by a DIP switch...).
        self.refuse_writes: dict[int, ExcCodes] = {}
        self._last_write_at: float | None = None
        #: Values of registers a watchdog duty tests (``when``), e.g. "remote control enabled":
        #: 0 until :meth:`set_register` says otherwise.
        self.condition_values: dict[int, int] = {}
        self._server: ModbusTcpServer | None = None
        self._layout = self._build_layout()

    # ------------------------------------------------------------------ layout

    def _all_specs(self) -> list[tuple[RegisterSpec, Any]]:
        """Every register with the function computing its value (None: written only)."""
        p, b, ev = self.profile, self.behavior, self.physics
        out: list[tuple[RegisterSpec, Any]] = []
        for field, spec in p.identity.items():
            default: int | str = "" if spec.is_text else 0
            out.append((spec, lambda f=field, d=default: b.identity.get(f, d)))
        for quantity, spec in p.values.items():
            out.append((spec, partial(self._quantity, quantity, spec)))
        state = p.state
        if state.status is not None:
            out.append((state.status, lambda: b.status(ev).get("status", 0)))
        if state.plugged is not None:
            out.append((state.plugged.register, lambda: b.status(ev).get("plugged", 0)))
        if state.charging is not None:
            out.append((state.charging.register, lambda: b.status(ev).get("charging", 0)))
        if p.limit is not None:
            milli = p.limit.milliamps
            out.append((p.limit.register, lambda: ev.setpoint_a * (1000 if milli else 1)))
        if p.enable is not None:
            on, off = p.enable.on, p.enable.off
            out.append((p.enable.register, lambda: on if ev.enabled else off))
        for wd in p.watchdogs:
            if wd.when is not None:
                address = wd.when.register.address
                out.append((wd.when.register, lambda a=address: self.condition_values.get(a, 0)))
            if wd.period_from is not None:
                out.append((wd.period_from.register, self._timeout))
            if wd.register is not None:
                if wd.action is WatchdogAction.MIRROR:
                    out.append((wd.register, self._timeout))
                else:
                    out.append((wd.register, lambda: 0))  # the device clears the alive bit
        out.extend((extra.spec, partial(extra.value, ev)) for extra in b.extras)
        return out

    def _timeout(self) -> float:
        return self.physics.watchdog.timeout_s if self.physics.watchdog else 0

    def _quantity(self, quantity: Quantity, spec: RegisterSpec) -> float | str:
        ev = self.physics
        match quantity:
            case Quantity.ENERGY_TOTAL_WH:
                return math.floor(ev.energy_wh / spec.scale) * spec.scale  # meters truncate
            case Quantity.SESSION_ENERGY_WH:
                return math.floor(self.behavior.session_register(ev) / spec.scale) * spec.scale
            case Quantity.POWER_W:
                return ev.power_w
            case Quantity.CURRENT_L1_A | Quantity.CURRENT_L2_A | Quantity.CURRENT_L3_A:
                return ev.current_a
            case Quantity.VOLTAGE_L1_V | Quantity.VOLTAGE_L2_V | Quantity.VOLTAGE_L3_V:
                return VOLTAGE_V
            case Quantity.RFID:
                return ev.tag
            case Quantity.APPLIED_LIMIT_A:
                return ev.effective_limit_a
        return 0.0

    def _build_layout(self) -> dict[int, list[tuple[RegisterSpec, Any]]]:
        layout: dict[int, list[tuple[RegisterSpec, Any]]] = {}
        for spec, fn in self._all_specs():
            layout.setdefault(self.profile.unit_for(spec), []).append((spec, fn))
        return layout

    def _functions(self, unit: int) -> dict[int, Function]:
        return {
            spec.address + i: spec.function
            for spec, _ in self._layout[unit]
            for i in range(spec.count)
        }

    def _devices(self) -> list[SimDevice]:
        devices = []
        gap = max(self.profile.merge_gap, 0)
        for unit, entries in sorted(self._layout.items()):
            addresses: set[int] = set()
            for spec, _ in entries:
                addresses.update(range(spec.address, spec.address + spec.count))
            ordered = sorted(addresses)
            # real devices have registers in small holes; reads may span up to merge_gap of them
            for a, b in itertools.pairwise(ordered):
                if 1 < b - a <= gap + 1:
                    addresses.update(range(a + 1, b))
            runs: list[tuple[int, int]] = []
            for addr in sorted(addresses):
                if runs and runs[-1][0] + runs[-1][1] == addr:
                    runs[-1] = (runs[-1][0], runs[-1][1] + 1)
                else:
                    runs.append((addr, 1))
            simdata = [
                SimData(start, count=n, values=0, datatype=DataType.REGISTERS) for start, n in runs
            ]
            devices.append(SimDevice(id=unit, simdata=simdata, action=partial(self._action, unit)))
        return devices

    # ------------------------------------------------------------------ request handling

    def _render(self, unit: int, start: int, registers: list[int]) -> None:
        for spec, fn in self._layout[unit]:
            value = fn()
            if spec.function.is_bit:
                # pymodbus' shared block keeps coil N in bit N % 16 of register N
                registers[spec.address - start] = (1 << (spec.address % 16)) if value else 0
                continue
            if spec.is_text and not isinstance(value, str):
                value = str(value)
            if spec.type in (RegisterType.F32, RegisterType.F64):
                value = float(value)
            try:
                words = encode(spec, value)
            except (ValueError, TypeError) as err:
                _LOGGER.debug("cannot render %s: %s", spec.address, err)
                continue
            offset = spec.address - start
            registers[offset : offset + len(words)] = words

    async def _action(
        self,
        unit: int,
        function_code: int,
        start_address: int,
        address: int,
        count: int,
        registers: list[int],
        set_values: list[int] | list[bool] | None,
    ) -> ExcCodes | None:
        self.physics.update()
        if set_values is None and function_code in _FC_WRITE:
            pass  # pymodbus reads the register back after an FC6 write: not a master read
        elif set_values is None:
            exc = self._check_read(unit, function_code, address, count)
            if exc is not None:
                self.rejected_reads.append((function_code, address, count, int(exc)))
                return exc
            self.reads += 1
            if self.behavior.feed_on_read:
                self.physics.feed()
        else:
            exc = self._handle_write(unit, function_code, address, [int(v) for v in set_values])
            if exc is not None:
                return exc
        self._render(unit, start_address, registers)
        return None

    def _check_read(self, unit: int, fc: int, address: int, count: int) -> ExcCodes | None:
        if count > self.profile.max_read_registers:
            return ExcCodes.ILLEGAL_VALUE
        wanted = _FC_READ.get(fc)
        if wanted is None:
            return ExcCodes.ILLEGAL_FUNCTION
        if not self.behavior.both_tables:
            functions = self._functions(unit)
            for a in range(address, address + count):
                if a in functions and functions[a] is not wanted:
                    return ExcCodes.ILLEGAL_ADDRESS
        return None

    def _handle_write(self, unit: int, fc: int, address: int, values: list[int]) -> ExcCodes | None:
        now = self.clock.now()
        p, ev, b = self.profile, self.physics, self.behavior
        last = self._last_write_at
        if (
            p.min_write_interval_s
            and last is not None
            and now - last < p.min_write_interval_s - 1e-6
        ):
            self.rate_violations += 1
        self._last_write_at = now
        exc: ExcCodes | None = self.refuse_writes.get(address)
        write = _FC_WRITE.get(fc)

        def matches(spec: RegisterSpec | None) -> bool:
            return spec is not None and p.unit_for(spec) == unit and spec.address == address

        def wrong_function(expected: WriteFunction) -> bool:
            return b.strict_write_function and write is not expected

        if exc is not None:
            pass  # refused whatever it is
        elif p.limit is not None and matches(p.limit.register):
            spec = p.limit.register
            if wrong_function(p.limit.write):
                exc = ExcCodes.ILLEGAL_FUNCTION
            elif len(values) != spec.count:
                exc = ExcCodes.ILLEGAL_ADDRESS
            else:
                raw = decode(spec, values)
                amps = float(raw or 0) / (1000 if p.limit.milliamps else 1)
                zero_ok = b.zero_limit_allowed and p.pause is PauseMethod.ZERO_LIMIT
                if (amps == 0 and zero_ok) or p.min_current_a <= amps <= p.max_current_a:
                    ev.setpoint_a = amps
                else:
                    exc = ExcCodes.ILLEGAL_VALUE
        elif p.enable is not None and matches(p.enable.register):
            if wrong_function(p.enable.write):
                exc = ExcCodes.ILLEGAL_FUNCTION
            elif values[0] not in (p.enable.on, p.enable.off):
                exc = ExcCodes.ILLEGAL_VALUE
            else:
                ev.update()
                ev.enabled = values[0] == p.enable.on
        for wd in p.watchdogs:
            if wd.register is not None and matches(wd.register) and wrong_function(wd.write):
                exc = ExcCodes.ILLEGAL_FUNCTION
        if exc is None:
            if address == b.timeout_register and ev.watchdog is not None and values[0] > 0:
                ev.watchdog.timeout_s = values[0]
            if address in b.feed_writes:
                ev.feed()
        self.writes.append(
            SimWrite(
                unit,
                fc,
                address,
                tuple(values),
                now,
                time.monotonic(),
                None if exc is None else int(exc),
            )
        )
        return exc

    # ------------------------------------------------------------------ server lifecycle

    async def start(self) -> None:
        """Open the TCP port (``port=0`` picks a free one, see :attr:`port`)."""
        server = ModbusTcpServer(self._devices(), address=(self.host, self.port))
        await server.serve_forever(background=True)
        self._server = server
        if self.port == 0:
            listener: Any = server.transport  # an asyncio.Server once listening
            self.port = int(listener.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Close the port and every connection."""
        server, self._server = self._server, None
        if server is not None:
            await server.shutdown()  # type: ignore[no-untyped-call]

    async def go_offline(self) -> None:
        """Vanish from the network (connections dropped, port closed); time keeps running."""
        await self.stop()

    async def back_online(self) -> None:
        """Listen again on the same port."""
        if self._server is None:
            await self.start()

    def drop_connections(self) -> None:
        """Close client connections but keep listening (Alfen's idle close)."""
        if self._server is not None:
            for conn in list(self._server.active_connections.values()):
                conn.close()

    @property
    def online(self) -> bool:
        """True while listening."""
        return self._server is not None

    # ------------------------------------------------------------------ scenario controls

    def plug_in(self) -> None:
        """A vehicle plugs in."""
        self.physics.plug_in()

    def start_charging(self, power_w: float) -> None:
        """The vehicle draws ``power_w`` (capped by the offered current)."""
        self.physics.start_charging(power_w)

    def stop_charging(self) -> None:
        """The vehicle stops drawing (state B after C)."""
        self.physics.stop_charging()

    def unplug(self) -> None:
        """The vehicle leaves."""
        self.physics.unplug()

    def set_rfid(self, tag: str) -> None:
        """A card is presented ("" clears it)."""
        self.physics.tag = tag

    def set_register(self, address: int, value: int) -> None:
        """Set a register a watchdog duty tests (its ``when`` condition)."""
        self.condition_values[address] = value

    def set_fault(self, fault: bool = True) -> None:
        """Put the socket into (or out of) an error state."""
        self.physics.update()
        self.physics.fault = fault

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of device time pass (deterministic)."""
        self.physics.advance(seconds)

    # ------------------------------------------------------------------ observations

    @property
    def current_limit(self) -> float:
        """The setpoint last written by the master (A)."""
        return self.physics.setpoint_a

    @property
    def effective_limit(self) -> float:
        """The current offered now (safe current once the watchdog expired)."""
        return self.physics.effective_limit_a

    @property
    def enabled(self) -> bool:
        """The enable register's state."""
        return self.physics.enabled

    @property
    def energy_wh(self) -> float:
        """The lifetime meter (Wh)."""
        self.physics.update()
        return self.physics.energy_wh

    def writes_to(self, address: int) -> list[SimWrite]:
        """Accepted writes to one address, oldest first."""
        return [w for w in self.writes if w.address == address and w.exception is None]


async def start_simulator(
    model: str | RegisterMap,
    port: int = 0,
    *,
    host: str = "127.0.0.1",
    rate: float = 0.0,
    watchdog: bool = True,
    behavior: DeviceBehavior | None = None,
    lifetime_wh: float = 1_000_000.0,
    variant: str | None = None,
) -> ChargerSimulator:
    """Start a simulator for a built-in model name or any profile (custom ones get a generic
    behaviour). ``rate`` > 0 lets device time follow real time (see :class:`SimClock`).
    ``variant`` simulates one of the profile's firmware variants (e.g. ``"wallbe"``)."""
    profile = profile_for(model) if isinstance(model, str) else model
    if variant is not None:
        names = [v.name for v in profile.variants]
        if variant not in names:
            msg = f"{profile.name} has no variant {variant!r} (known: {names})"
            raise ValueError(msg)
        profile = next(v.profile for v in profile.variants if v.name == variant)
    sim = ChargerSimulator(
        profile,
        behavior=behavior,
        host=host,
        port=port,
        rate=rate,
        watchdog=watchdog,
        lifetime_wh=lifetime_wh,
    )
    await sim.start()
    return sim
