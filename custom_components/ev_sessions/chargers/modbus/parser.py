"""Parse and validate profile dicts (JSON files and custom profiles from the options flow)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace
from enum import StrEnum
import math
from typing import Any

from custom_components.ev_sessions.chargers.events import ConnectorState

from .codec import ByteOrder, Function, RegisterSpec, RegisterType, WordOrder
from .errors import ProfileError
from .register_map import (
    IEC_STATES,
    Condition,
    ConditionMode,
    EnableSpec,
    IdentityField,
    LifetimeSource,
    LimitSpec,
    PauseMethod,
    PeriodFrom,
    Quantity,
    RegisterMap,
    SessionEnergy,
    StateSpec,
    Variant,
    WatchdogAction,
    WatchdogSpec,
    WriteFunction,
)

_REGISTER_KEYS = frozenset(
    {
        "address",
        "type",
        "function",
        "word_order",
        "byte_order",
        "scale",
        "length",
        "chars_per_register",
        "byte",
        "length_bytes",
        "shift",
        "mask",
        "hex_digits",
        "empty",
        "unit_id",
    }
)
_PROFILE_KEYS = frozenset(
    {
        "name",
        "title",
        "vendor",
        "model",
        "unit_id",
        "identity",
        "values",
        "state",
        "lifetime",
        "session_energy",
        "limit",
        "enable",
        "pause",
        "min_current_a",
        "max_current_a",
        "watchdogs",
        "max_read_registers",
        "merge_gap",
        "poll_interval_s",
        "identity_interval_s",
        "sample_interval_s",
        "min_write_interval_s",
        "notes",
        "sources",
        "defaults",
        "variants",
    }
)
_DEFAULT_KEYS = frozenset({"word_order", "byte_order", "unit_id"})
_VARIANT_KEYS = frozenset({"name", "when", "changes"})


class _Reader:
    """Collects every validation problem with its path instead of stopping at the first."""

    def __init__(self) -> None:
        self.errors: list[str] = []
        #: Map-wide defaults of every register (the ``defaults`` object).
        self.word_order = WordOrder.BIG
        self.byte_order = ByteOrder.BIG

    def fail(self, path: str, message: str) -> None:
        # A top-level key's path is built as ".key" (an empty parent): name it "key".
        self.errors.append(f"{path.removeprefix('.')}: {message}")

    def mapping(self, value: object, path: str) -> Mapping[str, Any] | None:
        if isinstance(value, Mapping):
            return value
        self.fail(path, f"expected an object, got {type(value).__name__}")
        return None

    def unknown(self, data: Mapping[str, Any], allowed: frozenset[str], path: str) -> None:
        for key in sorted(set(data) - allowed):
            self.fail(f"{path}.{key}" if path else key, "unknown key")

    def integer(
        self, data: Mapping[str, Any], key: str, path: str, default: int | None, lo: int, hi: int
    ) -> int | None:
        value = data.get(key, default)
        if value is None:
            if default is None and key in data:
                self.fail(f"{path}.{key}", "must not be null")
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(f"{path}.{key}", f"expected an integer, got {value!r}")
            return default
        if not lo <= value <= hi:
            self.fail(f"{path}.{key}", f"{value} is outside {lo}..{hi}")
            return default
        return int(value)

    def number(
        self,
        data: Mapping[str, Any],
        key: str,
        path: str,
        default: float,
        *,
        positive: bool = True,
        allow_zero: bool = False,
    ) -> float:
        value = data.get(key, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            self.fail(f"{path}.{key}", f"expected a number, got {value!r}")
            return default
        if positive and (value < 0 or (value == 0 and not allow_zero)):
            self.fail(f"{path}.{key}", f"must be {'>= 0' if allow_zero else '> 0'}, got {value}")
            return default
        return float(value)

    def enum[E: StrEnum](
        self, data: Mapping[str, Any], key: str, path: str, kind: type[E], default: E
    ) -> E:
        value = data.get(key, default.value)
        try:
            return kind(value)
        except ValueError:
            options = ", ".join(m.value for m in kind)
            self.fail(f"{path}.{key}", f"{value!r} is not one of: {options}")
            return default

    def text(self, data: Mapping[str, Any], key: str, path: str) -> str | None:
        value = data.get(key)
        if value is None or isinstance(value, str):
            return value
        self.fail(f"{path}.{key}", f"expected text, got {value!r}")
        return None


def _parse_register(r: _Reader, value: object, path: str) -> RegisterSpec | None:
    data = r.mapping(value, path)
    if data is None:
        return None
    r.unknown(data, _REGISTER_KEYS, path)
    if "address" not in data:
        r.fail(f"{path}.address", "required")
        return None
    address = r.integer(data, "address", path, 0, 0, 65535)
    function = r.enum(data, "function", path, Function, Function.HOLDING)
    rtype = r.enum(
        data, "type", path, RegisterType, RegisterType.BOOL if function.is_bit else RegisterType.U16
    )
    if function.is_bit and rtype is not RegisterType.BOOL:
        r.fail(f"{path}.type", f"a {function} holds one bit: its type is bool")
    length = r.integer(data, "length", path, 1, 1, 125)
    chars = r.integer(data, "chars_per_register", path, 2, 1, 2)
    byte = data.get("byte", "low")
    if byte not in ("low", "high"):
        r.fail(f"{path}.byte", f"{byte!r} is not one of: low, high")
    scale = r.number(data, "scale", path, 1.0, positive=False)
    if scale == 0:
        r.fail(f"{path}.scale", "must not be 0")
        scale = 1.0
    empty = data.get("empty", [])
    if not isinstance(empty, list) or not all(isinstance(e, str) for e in empty):
        r.fail(f"{path}.empty", "expected a list of texts")
        empty = []
    mask = r.integer(data, "mask", path, None, 0, 2**64 - 1)
    hex_digits = r.integer(data, "hex_digits", path, None, 1, 16)
    unit_id = r.integer(data, "unit_id", path, None, 0, 255)
    spec = RegisterSpec(
        address=address or 0,
        type=rtype,
        function=function,
        word_order=r.enum(data, "word_order", path, WordOrder, r.word_order),
        byte_order=r.enum(data, "byte_order", path, ByteOrder, r.byte_order),
        scale=scale,
        length=length or 1,
        chars_per_register=chars or 2,
        low_byte=byte != "high",
        length_bytes=r.integer(data, "length_bytes", path, 3, 1, 250) or 3,
        shift=r.integer(data, "shift", path, 0, 0, 63) or 0,
        mask=mask,
        hex_digits=hex_digits,
        empty=tuple(empty),
        unit_id=unit_id,
    )
    if spec.address + spec.count > 65536:
        r.fail(path, "address + register count goes past 65535")
    if rtype is RegisterType.VERSION and spec.length_bytes > 2 * spec.length:
        r.fail(f"{path}.length_bytes", "more bytes than the registers hold")
    if hex_digits is not None and rtype in (RegisterType.STRING, RegisterType.VERSION):
        r.fail(f"{path}.hex_digits", "only for integer types")
    return spec


def _require_register(
    r: _Reader, data: Mapping[str, Any], key: str, path: str
) -> RegisterSpec | None:
    if key not in data:
        r.fail(f"{path}.{key}", "required")
        return None
    return _parse_register(r, data[key], f"{path}.{key}")


def _check_writable(r: _Reader, spec: RegisterSpec | None, write: WriteFunction, path: str) -> None:
    if spec is None:
        return
    if spec.function not in (Function.HOLDING, Function.COIL):
        r.fail(path, "written registers must be holding registers or coils")
    elif spec.function is Function.COIL and not write.writes_bits:
        r.fail(path, f"a coil is written with fc5 or fc15, not {write}")
    elif spec.function is Function.HOLDING and write.writes_bits:
        r.fail(path, f"{write} writes coils; a holding register is written with fc6 or fc16")
    if write is WriteFunction.FC6 and spec.count != 1:
        r.fail(path, f"fc6 writes one register but {spec.type} needs {spec.count}; use fc16")


def _default_write(spec: RegisterSpec | None, registers: WriteFunction) -> WriteFunction:
    """The write function when a profile names none: fc5 for a coil."""
    return WriteFunction.FC5 if spec is not None and spec.function is Function.COIL else registers


def _parse_condition(r: _Reader, value: object, path: str) -> Condition | None:
    data = r.mapping(value, path)
    if data is None:
        return None
    r.unknown(data, frozenset({"register", "min", "equals", "any_bits", "mode"}), path)
    register = _require_register(r, data, "register", path)
    cond = Condition(
        register=register or RegisterSpec(address=0),
        min=r.integer(data, "min", path, None, -(2**63), 2**64),
        equals=r.integer(data, "equals", path, None, -(2**63), 2**64),
        any_bits=r.integer(data, "any_bits", path, None, 1, 2**64),
        mode=r.enum(data, "mode", path, ConditionMode, ConditionMode.OVERRIDE),
    )
    if cond.min is None and cond.equals is None and cond.any_bits is None:
        r.fail(path, "needs one of min, equals, any_bits")
    return cond


def _parse_state(r: _Reader, value: object, path: str) -> StateSpec:
    data = r.mapping(value, path)
    if data is None:
        return StateSpec()
    r.unknown(data, frozenset({"status", "iec", "connector", "plugged", "charging"}), path)
    status = _parse_register(r, data["status"], f"{path}.status") if "status" in data else None
    iec_raw = r.mapping(data.get("iec", {}), f"{path}.iec") or {}
    iec: dict[str, str] = {}
    for key, letter in iec_raw.items():
        if not isinstance(letter, str) or letter not in IEC_STATES:
            r.fail(f"{path}.iec.{key}", f"{letter!r} is not an IEC 61851 state A-F")
        else:
            iec[str(key)] = letter
    conn_raw = r.mapping(data.get("connector", {}), f"{path}.connector") or {}
    connector: dict[str, ConnectorState] = {}
    for key, state in conn_raw.items():
        try:
            connector[str(key)] = ConnectorState(state)
        except ValueError:
            options = ", ".join(s.value for s in ConnectorState)
            r.fail(f"{path}.connector.{key}", f"{state!r} is not one of: {options}")
    plugged = _parse_condition(r, data["plugged"], f"{path}.plugged") if "plugged" in data else None
    charging = (
        _parse_condition(r, data["charging"], f"{path}.charging") if "charging" in data else None
    )
    if status is None and plugged is None:
        r.fail(path, "needs a status register or a plugged condition")
    if status is not None and not iec:
        r.fail(f"{path}.iec", "a status register needs a value -> IEC state map")
    return StateSpec(
        status=status, iec=iec, connector=connector, plugged=plugged, charging=charging
    )


def _parse_watchdog(r: _Reader, value: object, path: str) -> WatchdogSpec | None:
    data = r.mapping(value, path)
    if data is None:
        return None
    allowed = frozenset({"action", "period_s", "register", "write", "value", "period_from", "when"})
    r.unknown(data, allowed, path)
    action = r.enum(data, "action", path, WatchdogAction, WatchdogAction.READ)
    period = r.number(data, "period_s", path, 1.0) if "period_s" in data else None
    register = (
        _parse_register(r, data["register"], f"{path}.register") if "register" in data else None
    )
    write = r.enum(data, "write", path, WriteFunction, _default_write(register, WriteFunction.FC6))
    period_from: PeriodFrom | None = None
    if "period_from" in data:
        pf = r.mapping(data["period_from"], f"{path}.period_from")
        if pf is not None:
            pf_path = f"{path}.period_from"
            r.unknown(pf, frozenset({"register", "factor", "min_s", "if_zero_s"}), pf_path)
            source = _require_register(r, pf, "register", pf_path)
            if_zero = r.number(pf, "if_zero_s", pf_path, 1.0) if "if_zero_s" in pf else None
            period_from = PeriodFrom(
                register=source or RegisterSpec(address=0),
                factor=r.number(pf, "factor", pf_path, 0.5),
                min_s=r.number(pf, "min_s", pf_path, 1.0),
                if_zero_s=if_zero,
            )
    if action in (WatchdogAction.WRITE_VALUE, WatchdogAction.MIRROR):
        if register is None:
            r.fail(f"{path}.register", f"required for {action}")
        _check_writable(r, register, write, f"{path}.register")
    if action is WatchdogAction.MIRROR and period_from is None:
        r.fail(f"{path}.period_from", "required for mirror")
    if period is None and period_from is None:
        r.fail(path, "needs period_s or period_from")
    return WatchdogSpec(
        action=action,
        period_s=period,
        register=register,
        write=write,
        value=r.integer(data, "value", path, 1, 0, 65535) or 0,
        period_from=period_from,
        when=_parse_condition(r, data["when"], f"{path}.when") if "when" in data else None,
    )


def _parse_named_registers[K: StrEnum](
    r: _Reader, value: object, path: str, kind: type[K]
) -> dict[K, RegisterSpec]:
    data = r.mapping(value, path) or {}
    out: dict[K, RegisterSpec] = {}
    for key, item in data.items():
        try:
            name = kind(key)
        except ValueError:
            options = ", ".join(m.value for m in kind)
            r.fail(f"{path}.{key}", f"unknown quantity (expected one of: {options})")
            continue
        spec = _parse_register(r, item, f"{path}.{key}")
        if spec is not None:
            out[name] = spec
    return out


def _optional[T](
    r: _Reader,
    data: Mapping[str, Any],
    key: str,
    parse: Callable[[_Reader, Mapping[str, Any], str], T],
) -> T | None:
    if data.get(key) is None:
        return None
    sub = r.mapping(data[key], key)
    return None if sub is None else parse(r, sub, key)


def _parse_limit(r: _Reader, data: Mapping[str, Any], path: str) -> LimitSpec | None:
    r.unknown(data, frozenset({"register", "write", "unit"}), path)
    register = _require_register(r, data, "register", path)
    write = r.enum(data, "write", path, WriteFunction, WriteFunction.FC16)
    unit = data.get("unit", "A")
    if unit not in ("A", "mA"):
        r.fail(f"{path}.unit", f"{unit!r} is not one of: A, mA")
    _check_writable(r, register, write, f"{path}.register")
    if register is not None and (register.is_text or register.type is RegisterType.BOOL):
        r.fail(f"{path}.register", f"a current limit is a number, not {register.type}")
    if register is None:
        return None
    return LimitSpec(register=register, write=write, milliamps=unit == "mA")


def _parse_enable(r: _Reader, data: Mapping[str, Any], path: str) -> EnableSpec | None:
    r.unknown(data, frozenset({"register", "write", "on", "off"}), path)
    register = _require_register(r, data, "register", path)
    write = r.enum(data, "write", path, WriteFunction, _default_write(register, WriteFunction.FC6))
    _check_writable(r, register, write, f"{path}.register")
    if register is None:
        return None
    high = 1 if register.function is Function.COIL else 65535  # a coil is 0 or 1
    return EnableSpec(
        register=register,
        write=write,
        on=r.integer(data, "on", path, 1, 0, high) or 0,
        off=r.integer(data, "off", path, 0, 0, high) or 0,
    )


def parse_profile(data: Mapping[str, Any], *, name: str | None = None) -> RegisterMap:
    """Build a :class:`RegisterMap` from a plain dict.

    Raises :class:`ProfileError` listing every problem (with its path) when invalid.
    """
    r = _Reader()
    if not isinstance(data, Mapping):
        raise ProfileError([f"profile: expected an object, got {type(data).__name__}"])
    r.unknown(data, _PROFILE_KEYS, "")
    profile_name = name or data.get("name") or "custom"
    if not isinstance(profile_name, str):
        r.fail("name", "expected text")
        profile_name = "custom"
    unit_default = _parse_defaults(r, data)
    identity = _parse_named_registers(r, data.get("identity", {}), "identity", IdentityField)
    values = _parse_named_registers(r, data.get("values", {}), "values", Quantity)
    state = _parse_state(r, data.get("state"), "state") if "state" in data else None
    if state is None:
        r.fail("state", "required")
        state = StateSpec()
    limit = _optional(r, data, "limit", _parse_limit)
    enable = _optional(r, data, "enable", _parse_enable)
    watchdogs_raw = data.get("watchdogs", [])
    watchdogs: list[WatchdogSpec] = []
    if not isinstance(watchdogs_raw, list):
        r.fail("watchdogs", "expected a list")
    else:
        for i, item in enumerate(watchdogs_raw):
            wd = _parse_watchdog(r, item, f"watchdogs[{i}]")
            if wd is not None:
                watchdogs.append(wd)
    notes = data.get("notes", [])
    profile = RegisterMap(
        name=profile_name,
        title=r.text(data, "title", "") or profile_name,
        vendor=r.text(data, "vendor", ""),
        model=r.text(data, "model", ""),
        unit_id=r.integer(data, "unit_id", "", unit_default, 0, 255) or 0,
        identity=identity,
        values=values,
        state=state,
        lifetime=r.enum(data, "lifetime", "", LifetimeSource, LifetimeSource.REGISTER),
        session_energy=r.enum(data, "session_energy", "", SessionEnergy, SessionEnergy.LIVE),
        limit=limit,
        enable=enable,
        pause=r.enum(data, "pause", "", PauseMethod, PauseMethod.ZERO_LIMIT),
        min_current_a=r.number(data, "min_current_a", "", 6.0),
        max_current_a=r.number(data, "max_current_a", "", 32.0),
        watchdogs=tuple(watchdogs),
        max_read_registers=r.integer(data, "max_read_registers", "", 125, 1, 125) or 125,
        merge_gap=r.integer(data, "merge_gap", "", 0, -1, 125) or 0,
        poll_interval_s=r.number(data, "poll_interval_s", "", 5.0),
        identity_interval_s=r.number(data, "identity_interval_s", "", 3600.0),
        sample_interval_s=r.number(data, "sample_interval_s", "", 60.0),
        min_write_interval_s=r.number(data, "min_write_interval_s", "", 0.0, allow_zero=True),
        notes=tuple(str(n) for n in notes) if isinstance(notes, list) else (),
    )
    _check_profile(r, profile)
    variants = _parse_variants(r, data, profile_name)
    if r.errors:
        raise ProfileError(r.errors)
    return replace(profile, variants=variants) if variants else profile


def _parse_defaults(r: _Reader, data: Mapping[str, Any]) -> int:
    """Apply the ``defaults`` object to the reader; return the default unit id."""
    raw = data.get("defaults")
    defaults = {} if raw is None else r.mapping(raw, "defaults") or {}
    r.unknown(defaults, _DEFAULT_KEYS, "defaults")
    r.word_order = r.enum(defaults, "word_order", "defaults", WordOrder, WordOrder.BIG)
    r.byte_order = r.enum(defaults, "byte_order", "defaults", ByteOrder, ByteOrder.BIG)
    unit = r.integer(defaults, "unit_id", "defaults", 1, 0, 255)
    if "unit_id" in defaults and "unit_id" in data and data["unit_id"] != unit:
        r.fail("defaults.unit_id", f"differs from unit_id {data['unit_id']!r}; give one of them")
    return 1 if unit is None else unit


def merge_changes(base: Mapping[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``changes`` applied: objects are merged key by key, anything else is
    replaced, and a ``null`` removes the key."""
    out = dict(base)
    for key, value in changes.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge_changes(out[key], value)
        else:
            out[key] = value
    return out


def _parse_variants(r: _Reader, data: Mapping[str, Any], name: str) -> tuple[Variant, ...]:
    """Each variant is the base profile with its ``changes``, picked when ``when`` holds."""
    raw = data.get("variants")
    if raw is None:
        return ()
    if not isinstance(raw, list):
        r.fail("variants", "expected a list")
        return ()
    base = {k: v for k, v in data.items() if k not in ("variants", "name")}
    out: list[Variant] = []
    for i, item in enumerate(raw):
        path = f"variants[{i}]"
        spec = r.mapping(item, path)
        if spec is None:
            continue
        r.unknown(spec, _VARIANT_KEYS, path)
        label = spec.get("name")
        if not isinstance(label, str) or not label:
            r.fail(f"{path}.name", "required (text)")
            continue
        when = _parse_condition(r, spec["when"], f"{path}.when") if "when" in spec else None
        if when is None:
            r.fail(f"{path}.when", "required")
            continue
        changes = r.mapping(spec.get("changes", {}), f"{path}.changes") or {}
        if "variants" in changes:
            r.fail(f"{path}.changes.variants", "a variant cannot have variants")
            continue
        try:
            profile = parse_profile(merge_changes(base, changes), name=name)
        except ProfileError as err:
            r.errors.extend(f"{path}.changes: {e}" for e in err.errors)
            continue
        out.append(Variant(name=label, when=when, profile=replace(profile, variant=label)))
    return tuple(out)


def _check_profile(r: _Reader, p: RegisterMap) -> None:
    """Cross-field rules."""
    if p.lifetime is LifetimeSource.REGISTER and Quantity.ENERGY_TOTAL_WH not in p.values:
        r.fail("values.energy_total_wh", "required (or set lifetime to from_session)")
    if p.lifetime is LifetimeSource.FROM_SESSION and Quantity.SESSION_ENERGY_WH not in p.values:
        r.fail("values.session_energy_wh", "required when lifetime is from_session")
    if p.lifetime is LifetimeSource.FROM_SESSION and p.session_energy is not SessionEnergy.LIVE:
        r.fail("session_energy", "must be live when lifetime is from_session")
    if not 0 < p.min_current_a <= p.max_current_a <= 80:
        r.fail("min_current_a", "need 0 < min_current_a <= max_current_a <= 80")
    if p.pause is PauseMethod.ENABLE_REGISTER and p.enable is None:
        r.fail("enable", "required when pause is enable_register")
    rewrites = any(w.action is WatchdogAction.REWRITE_LIMIT for w in p.watchdogs)
    if rewrites and p.limit is None:
        r.fail("watchdogs", "rewrite_limit needs a limit register")
    for wd in p.watchdogs:
        read_alive = wd.action is WatchdogAction.READ and wd.period_s is not None
        if read_alive and wd.period_s is not None and p.poll_interval_s > wd.period_s:
            r.fail("poll_interval_s", f"must be <= the read keep-alive period {wd.period_s}")
    every: list[tuple[str, RegisterSpec]] = [(f"values.{k}", v) for k, v in p.values.items()]
    every += [(f"identity.{k}", v) for k, v in p.identity.items()]
    for label, spec in every:
        if spec.count > p.max_read_registers:
            r.fail(
                label, f"{spec.count} registers exceed max_read_registers {p.max_read_registers}"
            )
        if label.endswith(("energy_total_wh", "session_energy_wh", "power_w")) and spec.is_text:
            r.fail(label, "must be numeric")
    if Quantity.RFID in p.values and not p.values[Quantity.RFID].is_text:
        r.fail("values.rfid", "must be a string or use hex_digits")
