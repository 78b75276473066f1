"""Turn the hub's wishes (limit, enabled) into register writes for one profile."""

from __future__ import annotations

from dataclasses import dataclass
import math

from .codec import RegisterSpec, RegisterType, encode
from .register_map import PauseMethod, RegisterMap, WriteFunction


@dataclass(frozen=True, slots=True)
class WriteOp:
    """One Modbus write request."""

    unit_id: int
    write: WriteFunction
    address: int
    values: tuple[int, ...]
    purpose: str  # "limit", "enable", "watchdog" (logging and throttling)


@dataclass(slots=True)
class ControlState:
    """What the hub asked for. ``limit_a`` None means no hub limit (the charger's maximum)."""

    limit_a: float | None = None
    enabled: bool = True
    commanded: bool = False  # the hub has sent at least one command


def effective_limit(profile: RegisterMap, state: ControlState, max_current_a: float) -> float:
    """The current to offer in A; 0 means paused (also for limits below the IEC minimum)."""
    if not state.enabled:
        return 0.0
    limit = max_current_a if state.limit_a is None else min(state.limit_a, max_current_a)
    return 0.0 if limit < profile.min_current_a else limit


def _op(
    profile: RegisterMap, spec: RegisterSpec, write: WriteFunction, value: float, purpose: str
) -> WriteOp:
    return WriteOp(profile.unit_for(spec), write, spec.address, tuple(encode(spec, value)), purpose)


def limit_writes(profile: RegisterMap, state: ControlState, max_current_a: float) -> list[WriteOp]:
    """Writes that put the device into ``state``. Empty when the profile has no limit register."""
    if profile.limit is None:
        return []
    amps = effective_limit(profile, state, max_current_a)
    limit = profile.limit
    ops: list[WriteOp] = []
    if profile.pause is PauseMethod.ENABLE_REGISTER and profile.enable is not None:
        enable = profile.enable
        if amps <= 0:
            return [_op(profile, enable.register, enable.write, enable.off, "enable")]
        ops.append(_op(profile, enable.register, enable.write, enable.on, "enable"))
    value = amps * 1000 if limit.milliamps else amps
    if limit.register.type not in (RegisterType.F32, RegisterType.F64):
        value = (
            math.floor(value / limit.register.scale + 1e-9) * limit.register.scale
        )  # never above
    ops.append(_op(profile, limit.register, limit.write, value, "limit"))
    return ops
