"""Per-model behaviour of the simulated chargers: what the registers say in each phase.

The register *layout* comes from the adapter's profiles (one definition); this module adds
only what a layout cannot say: the status codes a device uses, its session-register quirk,
its watchdog and identity values.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from custom_components.ev_sessions.chargers.modbus.codec import RegisterSpec, RegisterType
from custom_components.ev_sessions.chargers.modbus.register_map import (
    Condition,
    IdentityField,
    RegisterMap,
)

from .physics import EvPhysics, Phase, WatchdogConfig

StatusFn = Callable[[EvPhysics], Mapping[str, int | str]]
ValueFn = Callable[[EvPhysics], float | str]


@dataclass(frozen=True, slots=True, kw_only=True)
class Extra:
    """A register the adapter does not read but the device has (safe current, validity...)."""

    spec: RegisterSpec
    value: ValueFn


@dataclass(frozen=True, slots=True, kw_only=True)
class DeviceBehavior:
    """How one model behaves beyond its register layout."""

    status: StatusFn  # values for the state registers: keys "status", "plugged", "charging"
    identity: Mapping[IdentityField, str | int] = field(default_factory=dict)
    session_register: Callable[[EvPhysics], float] = lambda ev: ev.session_wh
    watchdog: WatchdogConfig | None = None
    feed_on_read: bool = False  # ABB: any read keeps it alive
    feed_writes: frozenset[int] = frozenset()  # writes to these addresses feed the watchdog
    timeout_register: int | None = None  # writing it changes the watchdog timeout (seconds)
    extras: tuple[Extra, ...] = ()
    strict_write_function: bool = False  # refuse FC6 where the profile says FC16 and vice versa
    both_tables: bool = False  # holding and input registers answer the same
    zero_limit_allowed: bool = True  # 0 A is a valid setpoint (pause)


def _watchdog_remaining(ev: EvPhysics) -> float:
    if ev.watchdog is None:
        return 0.0
    return max(0.0, ev.watchdog.timeout_s - (ev.clock.now() - ev.last_feed))


def _timeout(ev: EvPhysics) -> float:
    return ev.watchdog.timeout_s if ev.watchdog else 0.0


def _safe(ev: EvPhysics) -> float:
    return ev.watchdog.safe_current_a if ev.watchdog else 0.0


def _alfen_status(ev: EvPhysics) -> Mapping[str, int | str]:
    return {
        "status": {
            Phase.AVAILABLE: "A",
            Phase.CONNECTED: "B2" if ev.offering else "B1",
            Phase.CHARGING: "C2",
            Phase.SUSPENDED_EV: "B2" if ev.offering else "B1",
            Phase.SUSPENDED_EVSE: "C1",
            Phase.FAULTED: "F",
        }[ev.phase]
    }


def _abb_status(ev: EvPhysics) -> Mapping[str, int | str]:
    # CONNECTED is reported as 5 ("other") so the socket-lock fallback decides, as seen on
    # firmwares where the state register is unhelpful.
    code = {
        Phase.AVAILABLE: 0,
        Phase.CONNECTED: 5,
        Phase.CHARGING: 4,
        Phase.SUSPENDED_EV: 2,
        Phase.SUSPENDED_EVSE: 3,
        Phase.FAULTED: 5,
    }[ev.phase]
    return {"status": code, "plugged": 0x0111 if ev.plugged else 0x0000}


def _vestel_status(ev: EvPhysics) -> Mapping[str, int | str]:
    code = {
        Phase.AVAILABLE: 0,
        Phase.CONNECTED: 1,
        Phase.CHARGING: 2,
        Phase.SUSPENDED_EV: 4,
        Phase.SUSPENDED_EVSE: 3,
        Phase.FAULTED: 8,
    }[ev.phase]
    return {
        "status": code,
        "plugged": 3 if ev.plugged else 0,
        "charging": 1 if ev.phase is Phase.CHARGING else 0,
    }


def _next_status(ev: EvPhysics) -> Mapping[str, int | str]:
    code = {
        Phase.AVAILABLE: 0,
        Phase.CONNECTED: 1,
        Phase.CHARGING: 3,
        Phase.SUSPENDED_EV: 4,
        Phase.SUSPENDED_EVSE: 4,
        Phase.FAULTED: 7,
    }[ev.phase]
    return {"status": code}


def _keba_status(ev: EvPhysics) -> Mapping[str, int | str]:
    code = {
        Phase.AVAILABLE: 1,
        Phase.CONNECTED: 2,
        Phase.CHARGING: 3,
        Phase.SUSPENDED_EV: 2,
        Phase.SUSPENDED_EVSE: 5,
        Phase.FAULTED: 4,
    }[ev.phase]
    # 3 = cable in the station and locked, not in the EV (bit 2 clear); 7 = also in the EV.
    return {"status": code, "plugged": 7 if ev.plugged else 3}


def _letter_status(ev: EvPhysics) -> Mapping[str, int | str]:
    """IEC 61851 state as one ASCII letter (CHARX, Phoenix EV-ETH and EM-CP-PP-ETH)."""
    letter = {
        Phase.AVAILABLE: "A",
        Phase.CONNECTED: "B",
        Phase.CHARGING: "C",
        Phase.SUSPENDED_EV: "B",
        Phase.SUSPENDED_EVSE: "B",
        Phase.FAULTED: "F",
    }[ev.phase]
    return {"status": letter}


def _reg(address: int, rtype: RegisterType = RegisterType.U16, **kw: object) -> RegisterSpec:
    return RegisterSpec(address=address, type=rtype, **kw)  # type: ignore[arg-type]


BEHAVIORS: dict[str, DeviceBehavior] = {
    "alfen": DeviceBehavior(
        status=_alfen_status,
        identity={IdentityField.SERIAL: "ACE0123456", IdentityField.FIRMWARE: "6.3.0-4100"},
        watchdog=WatchdogConfig(timeout_s=60, safe_current_a=6),
        feed_writes=frozenset({1210}),
        extras=(
            Extra(spec=_reg(1208, RegisterType.U32), value=_watchdog_remaining),
            Extra(spec=_reg(1212, RegisterType.F32), value=_safe),
        ),
        strict_write_function=True,
    ),
    "abb": DeviceBehavior(
        status=_abb_status,
        identity={IdentityField.FIRMWARE: "1.6.5"},
        watchdog=WatchdogConfig(timeout_s=60, safe_current_a=0),  # no fallback set: it stops
        feed_on_read=True,
        timeout_register=0x4106,
        extras=(
            Extra(spec=_reg(0x4020), value=_timeout),
            Extra(spec=_reg(0x4106), value=_timeout),
        ),
        strict_write_function=True,
    ),
    "vestel": DeviceBehavior(
        status=_vestel_status,
        identity={IdentityField.SERIAL: "VES2211004455", IdentityField.FIRMWARE: "v3.187.0"},
        watchdog=WatchdogConfig(timeout_s=20, safe_current_a=6),
        feed_writes=frozenset({6000}),
        timeout_register=2002,
        extras=(Extra(spec=_reg(2000), value=_safe),),
    ),
    "webasto_next": DeviceBehavior(
        status=_next_status,
        # 1502 holds the last session's energy and reads 0 while a vehicle is plugged in.
        session_register=lambda ev: 0.0 if ev.plugged else min(ev.last_session_wh, 65535),
        watchdog=WatchdogConfig(timeout_s=20, safe_current_a=6),
        feed_writes=frozenset({6000}),
        timeout_register=2002,
        extras=(Extra(spec=_reg(2000), value=_safe),),
        both_tables=True,
    ),
    "keba": DeviceBehavior(
        status=_keba_status,
        identity={
            IdentityField.SERIAL: 22334455,
            IdentityField.MODEL: 311201,
            IdentityField.FIRMWARE: 31042,
        },
        # 1502 is never reset when a new car plugs in.
        session_register=lambda ev: ev.total_sessions_wh,
        watchdog=WatchdogConfig(timeout_s=30, safe_current_a=6),
        feed_writes=frozenset({5018}),
        timeout_register=5018,
        extras=(Extra(spec=_reg(1600, RegisterType.U32), value=lambda ev: _safe(ev) * 1000),),
        strict_write_function=True,
        zero_limit_allowed=False,
    ),
    "charx": DeviceBehavior(
        status=_letter_status,
        identity={IdentityField.MODEL: "CHARX-SIM", IdentityField.FIRMWARE: "1.6.1"},
        extras=(Extra(spec=_reg(1112), value=lambda _ev: 1),),  # meter present
        both_tables=True,
    ),
    # Phoenix EV-ETH (and its Wallbe firmware): 0 A is no valid setpoint, pausing clears the
    # enable coil 400. Which firmware it runs shows in the limit register's unit (0.1 A).
    "phoenix_ev_eth": DeviceBehavior(
        status=_letter_status,
        strict_write_function=True,
        zero_limit_allowed=False,
    ),
    "phoenix_em_eth": DeviceBehavior(
        status=_letter_status,
        strict_write_function=True,
        zero_limit_allowed=False,
    ),
}


def _condition_value(cond: Condition, want: bool) -> int:
    """A register value that makes ``cond`` evaluate to ``want``."""
    if want:
        if cond.equals is not None:
            return cond.equals
        value = cond.min if cond.min is not None else 0
        if cond.any_bits is not None:
            value |= cond.any_bits & -cond.any_bits  # lowest required bit
        return max(value, 1)
    if cond.equals is not None:
        return cond.equals + 1
    return 0


def generic_behavior(profile: RegisterMap) -> DeviceBehavior:
    """Behaviour for any profile (custom ones): invert its state map, no watchdog."""
    spec = profile.state

    def first_raw(letter: str) -> str | None:
        return next((raw for raw, iec in spec.iec.items() if iec == letter), None)

    wanted = {
        Phase.AVAILABLE: "A",
        Phase.CONNECTED: "B",
        Phase.CHARGING: "C",
        Phase.SUSPENDED_EV: "B",
        Phase.SUSPENDED_EVSE: "B",
        Phase.FAULTED: "F",
    }

    def status(ev: EvPhysics) -> Mapping[str, int | str]:
        out: dict[str, int | str] = {}
        if spec.status is not None:
            raw = first_raw(wanted[ev.phase]) or first_raw("B") or "0"
            out["status"] = raw if spec.status.is_text else int(raw)
        if spec.plugged is not None:
            out["plugged"] = _condition_value(spec.plugged, ev.plugged)
        if spec.charging is not None:
            out["charging"] = _condition_value(spec.charging, ev.phase is Phase.CHARGING)
        return out

    return DeviceBehavior(status=status)


def behavior_for(profile: RegisterMap) -> DeviceBehavior:
    """The built-in behaviour of a profile name, or the generic one."""
    return BEHAVIORS.get(profile.name) or generic_behavior(profile)
