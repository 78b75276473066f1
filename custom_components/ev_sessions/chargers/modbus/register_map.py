"""Register maps: the data model of one Modbus charger model.

A :class:`RegisterMap` is what users call a charger's Modbus "profile" (the built-in JSON files,
the custom profile in the options flow); in code it is a register map, never to be confused
with a session's power profile or an OCPP charging profile.
It says where every value lives, how to decode the state, how to write a limit and
how to keep the device's watchdog happy. Built-in profiles are JSON files in ``profiles/``
parsed with :func:`parse_profile`; a user's custom profile (options flow) goes through the
same parser, so it is validated the same way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from enum import StrEnum

from custom_components.ev_sessions.chargers.events import ConnectorState

from .codec import RegisterSpec
from .errors import ProfileError


class Quantity(StrEnum):
    """Values a profile can map to registers."""

    ENERGY_TOTAL_WH = "energy_total_wh"
    SESSION_ENERGY_WH = "session_energy_wh"
    POWER_W = "power_w"
    CURRENT_L1_A = "current_l1_a"
    CURRENT_L2_A = "current_l2_a"
    CURRENT_L3_A = "current_l3_a"
    VOLTAGE_L1_V = "voltage_l1_v"
    VOLTAGE_L2_V = "voltage_l2_v"
    VOLTAGE_L3_V = "voltage_l3_v"
    RFID = "rfid"
    APPLIED_LIMIT_A = "applied_limit_a"


class IdentityField(StrEnum):
    """Identity values read by the connection test and now and then afterwards."""

    SERIAL = "serial"
    FIRMWARE = "firmware"
    MODEL = "model"


class LifetimeSource(StrEnum):
    """Where the lifetime energy counter comes from."""

    REGISTER = "register"  # a real lifetime register (energy_total_wh)
    FROM_SESSION = "from_session"  # only a session register: build a monotonic counter


class SessionEnergy(StrEnum):
    """How far the session-energy register can be trusted."""

    LIVE = "live"  # counts during the session, resets at the next one: reported
    IGNORE = "ignore"  # e.g. NEXT reads 0 while charging, KEBA never resets: not reported


class ConditionMode(StrEnum):
    """How a plugged/charging condition combines with the status register."""

    OVERRIDE = "override"  # always applied
    FALLBACK = "fallback"  # only when the status value is not in the map


class WriteFunction(StrEnum):
    """Modbus write function."""

    FC6 = "fc6"  # write single register
    FC16 = "fc16"  # write multiple registers
    FC5 = "fc5"  # write single coil
    FC15 = "fc15"  # write multiple coils

    @property
    def code(self) -> int:
        """The Modbus function code."""
        return int(self.value.removeprefix("fc"))

    @property
    def writes_bits(self) -> bool:
        """FC5/FC15 write coils; FC6/FC16 holding registers."""
        return self in (WriteFunction.FC5, WriteFunction.FC15)


class PauseMethod(StrEnum):
    """How charging is paused (limit 0 / StopCharging)."""

    ZERO_LIMIT = "zero_limit"  # write 0 to the limit register
    ENABLE_REGISTER = "enable_register"  # write the enable register's (or coil's) ``off`` value


class WatchdogAction(StrEnum):
    """Kinds of keep-alive a device needs."""

    WRITE_VALUE = "write_value"  # write a constant (Vestel/Webasto alive register)
    REWRITE_LIMIT = "rewrite_limit"  # rewrite the current setpoint (Alfen validity)
    MIRROR = "mirror"  # read a register and write its value elsewhere (KEBA timeout)
    READ = "read"  # reads keep it alive (ABB): the poll interval must be shorter


#: IEC 61851 states a status value can map to.
IEC_STATES = frozenset("ABCDEF")


@dataclass(frozen=True, slots=True, kw_only=True)
class Condition:
    """A boolean test on one register: ``min`` <= value, value == ``equals``, or bits set."""

    register: RegisterSpec
    min: int | None = None
    equals: int | None = None
    any_bits: int | None = None
    mode: ConditionMode = ConditionMode.OVERRIDE

    def test(self, value: object) -> bool:
        """Evaluate the condition on a decoded value (``None`` is false)."""
        if not isinstance(value, int | float):
            return False
        number = int(value)
        if self.min is not None and number < self.min:
            return False
        if self.equals is not None and number != self.equals:
            return False
        return not (self.any_bits is not None and number & self.any_bits == 0)


@dataclass(frozen=True, slots=True, kw_only=True)
class StateSpec:
    """How to derive the IEC 61851 state.

    ``status`` is decoded and looked up (as text) in ``iec``; ``connector`` refines the
    normalized state for some values (e.g. Alfen C1 = suspended by the EVSE). ``plugged``
    forces A when false and at least B when true; ``charging`` forces C while plugged.
    """

    status: RegisterSpec | None = None
    iec: Mapping[str, str] = field(default_factory=dict)
    connector: Mapping[str, ConnectorState] = field(default_factory=dict)
    plugged: Condition | None = None
    charging: Condition | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class LimitSpec:
    """How to write the current limit."""

    register: RegisterSpec
    write: WriteFunction
    milliamps: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class EnableSpec:
    """An enable/disable register (KEBA 5014, CHARX 1300) or coil (Phoenix EV-ETH coil 400)."""

    register: RegisterSpec
    write: WriteFunction = WriteFunction.FC6
    on: int = 1
    off: int = 0


@dataclass(frozen=True, slots=True, kw_only=True)
class PeriodFrom:
    """Derive a watchdog period from a device register holding a timeout in seconds."""

    register: RegisterSpec
    factor: float = 0.5
    min_s: float = 1.0
    if_zero_s: float | None = None  # None: a zero timeout disables this watchdog


@dataclass(frozen=True, slots=True, kw_only=True)
class WatchdogSpec:
    """One keep-alive duty."""

    action: WatchdogAction
    period_s: float | None = None
    register: RegisterSpec | None = None  # target of WRITE_VALUE / MIRROR
    write: WriteFunction = WriteFunction.FC6
    value: int = 1
    period_from: PeriodFrom | None = None  # MIRROR: also the value written
    #: Do the duty only while this holds (read before each one), e.g. only while the charger
    #: reports remote control enabled; ``None``: always.
    when: Condition | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisterMap:
    """Everything the adapter needs to know about one charger model (a "Modbus profile")."""

    name: str
    title: str
    vendor: str | None = None
    model: str | None = None
    unit_id: int = 1
    identity: Mapping[IdentityField, RegisterSpec] = field(default_factory=dict)
    values: Mapping[Quantity, RegisterSpec] = field(default_factory=dict)
    state: StateSpec = field(default_factory=StateSpec)
    lifetime: LifetimeSource = LifetimeSource.REGISTER
    session_energy: SessionEnergy = SessionEnergy.LIVE
    limit: LimitSpec | None = None
    enable: EnableSpec | None = None
    pause: PauseMethod = PauseMethod.ZERO_LIMIT
    min_current_a: float = 6.0
    max_current_a: float = 32.0
    watchdogs: tuple[WatchdogSpec, ...] = ()
    max_read_registers: int = 125
    merge_gap: int = 0  # registers of gap a merged read may span; -1 never merge
    poll_interval_s: float = 5.0
    identity_interval_s: float = 3600.0
    sample_interval_s: float = 60.0
    min_write_interval_s: float = 0.0
    notes: tuple[str, ...] = ()
    variants: tuple[Variant, ...] = ()  # firmware variants told apart when connecting
    variant: str | None = None  # the variant this profile is (None: the base profile)

    def unit_for(self, spec: RegisterSpec) -> int:
        """Unit id a register is read from."""
        return self.unit_id if spec.unit_id is None else spec.unit_id

    def with_unit(self, unit_id: int) -> RegisterMap:
        """This profile (and its variants) on another default unit id."""
        variants = tuple(replace(v, profile=v.profile.with_unit(unit_id)) for v in self.variants)
        return replace(self, unit_id=unit_id, variants=variants)


@dataclass(frozen=True, slots=True, kw_only=True)
class Variant:
    """A firmware variant of a profile, chosen when ``when`` holds on the device.

    ``profile`` is the whole profile of the variant (the base with the variant's changes).
    """

    name: str
    when: Condition
    profile: RegisterMap


__all__ = [
    "IEC_STATES",
    "Condition",
    "ConditionMode",
    "EnableSpec",
    "IdentityField",
    "LifetimeSource",
    "LimitSpec",
    "PauseMethod",
    "PeriodFrom",
    "ProfileError",
    "Quantity",
    "RegisterMap",
    "SessionEnergy",
    "StateSpec",
    "Variant",
    "WatchdogAction",
    "WatchdogSpec",
    "WriteFunction",
]
