"""Lenient repair of CALL payloads that failed strict schema validation.

Real chargers break the schemas in a handful of recurring ways: strings longer than allowed,
numbers sent as strings (or the reverse), enum values with the wrong case or a vendor's own word
("Error" for "OtherError", "Hz" for "Hertz"), unknown properties. :func:`repair` walks the payload
along the official schema, fixes what can be fixed safely, keeps what the handlers tolerate and
lists every deviation. A payload is *unusable* only when a required field is missing or a value
cannot be coerced into the declared type; then :class:`Unusable` carries the CALLERROR to send.

Numbers that are not finite ("NaN", "Infinity", ``1e400``) are never turned into integers. In a
``number`` field they are kept as float NaN/infinity for the handler to drop (a meter value is
dropped, the rest of the frame used); in an ``integer`` field they make the payload unusable,
except in :data:`DROPPABLE` fields, which are then left out with a deviation.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
import reprlib
from typing import Any

#: Known vendor spellings of enum values, by property name.
ALIASES: dict[str, dict[str, str]] = {
    "errorCode": {"Error": "OtherError", "Fault": "OtherError"},
    "unit": {"Hz": "Hertz", "C": "Celsius", "%": "Percent", "kwh": "kWh", "wh": "Wh"},
}
#: Replacement when an enum value is unknown, by property name. Properties not listed keep the
#: unknown value (the handlers treat unknown values as "unknown"/"other").
FALLBACKS: dict[str, str] = {
    "errorCode": "OtherError",
    "context": "Other",
}
#: Defaults for required properties chargers are known to omit.
MISSING_DEFAULTS: dict[str, Any] = {"errorCode": "NoError"}
#: Properties (required or not) left out when their value is unusable, instead of refusing the
#: payload: a transaction start or end is worth more than one garbled meter register.
DROPPABLE = frozenset({"meterStart", "meterStop"})

_REPR = reprlib.Repr(maxlevel=3, maxstring=60, maxother=60, maxlong=60)


@dataclass(frozen=True, slots=True)
class Deviation:
    """One tolerated schema violation. ``kind`` is stable, ``detail`` is for humans."""

    kind: str
    detail: str


class Unusable(Exception):  # noqa: N818  (it is a result, not an error of ours)
    """The payload cannot be used. ``rule`` is the failed schema rule (for the CALLERROR)."""

    def __init__(self, rule: str, path: str, detail: str) -> None:
        super().__init__(f"{path}: {detail}")
        self.rule = rule
        self.path = path
        self.detail = detail


def _short(value: Any) -> str:
    """A short repr (bounded depth and length: payloads may be nested absurdly deep)."""
    text = _REPR.repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_id(name: str) -> bool:
    """An identifier field (never rounded: 1.5 is not transaction 2)."""
    return name == "id" or name.endswith("Id")


class _Repairer:
    def __init__(self, root: dict[str, Any], action: str) -> None:
        self.root = root
        self.action = action
        self.deviations: list[Deviation] = []

    def note(self, kind: str, path: str, detail: str) -> None:
        field = ".".join(part for part in path.split(".") if not part.isdigit())
        self.deviations.append(Deviation(f"{kind}:{self.action}.{field}", f"{path}: {detail}"))

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        ref = node.get("$ref")
        while isinstance(ref, str) and ref.startswith("#/"):
            target: Any = self.root
            for part in ref[2:].split("/"):
                target = target[part]
            node = target
            ref = node.get("$ref")
        return node

    def walk(self, value: Any, node: dict[str, Any], path: str, name: str) -> Any:
        node = self.resolve(node)
        expected = node.get("type")
        if expected == "object":
            return self.walk_object(value, node, path)
        if expected == "array":
            return self.walk_array(value, node, path, name)
        if expected == "string":
            return self.walk_string(value, node, path, name)
        if expected == "integer":
            return self.walk_integer(value, path, name)
        if expected == "number":
            return self.walk_number(value, path)
        if expected == "boolean":
            return self.walk_boolean(value, path)
        return value

    def walk_object(self, value: Any, node: dict[str, Any], path: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise Unusable("type", path or "payload", f"expected an object, got {_short(value)}")
        properties: dict[str, Any] = node.get("properties", {})
        result: dict[str, Any] = {}
        dropped: set[str] = set()
        unknown: list[str] = []
        for key, item in value.items():
            sub_path = f"{path}.{key}" if path else key
            if key in properties:
                if key in DROPPABLE:
                    try:
                        result[key] = self.walk(item, properties[key], sub_path, key)
                    except Unusable as error:
                        dropped.add(key)
                        self.deviations.append(
                            Deviation(f"implausible_value:{key}", f"{error}, left out")
                        )
                    continue
                result[key] = self.walk(item, properties[key], sub_path, key)
            else:
                if node.get("additionalProperties") is False:
                    unknown.append(key)
                result[key] = item
        if unknown:
            # One deviation per object, named by the schema's path: a charger's invented
            # property names never become deviation kinds of their own.
            names = _short(unknown[:5]) + (
                f" and {len(unknown) - 5} more" if len(unknown) > 5 else ""
            )
            self.note("unknown_property", path or "payload", f"{names} not in the schema, ignored")
        for key in node.get("required", ()):
            if key not in result and key not in dropped:
                sub_path = f"{path}.{key}" if path else key
                if key not in MISSING_DEFAULTS:
                    raise Unusable("required", sub_path, "required property missing")
                result[key] = MISSING_DEFAULTS[key]
                self.note("missing_property", sub_path, f"missing, using {MISSING_DEFAULTS[key]}")
        return result

    def walk_array(self, value: Any, node: dict[str, Any], path: str, name: str) -> list[Any]:
        items = node.get("items", {})
        if isinstance(value, dict):
            self.note("object_for_array", path, "single object instead of a list")
            value = [value]
        if not isinstance(value, list):
            raise Unusable("type", path, f"expected a list, got {_short(value)}")
        result = [
            self.walk(item, items, f"{path}.{index}", name) for index, item in enumerate(value)
        ]
        max_items = node.get("maxItems")
        if isinstance(max_items, int) and len(result) > max_items:
            self.note("too_many_items", path, f"{len(result)} items, at most {max_items} allowed")
        return result

    def walk_string(self, value: Any, node: dict[str, Any], path: str, name: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, (str, int, float)):
            raise Unusable("type", path, f"expected a string, got {_short(value)}")
        if not isinstance(value, str):
            self.note("number_for_string", path, f"{_short(value)} sent as a number")
            value = format(value, "g") if isinstance(value, float) else str(value)
        enum: list[str] | None = node.get("enum")
        if enum is not None and value not in enum:
            value = self.fix_enum(value, enum, path, name)
        max_length = node.get("maxLength")
        if isinstance(max_length, int) and len(value) > max_length:
            self.note(
                "string_too_long", path, f"{len(value)} characters, truncated to {max_length}"
            )
            value = value[:max_length]
        return value

    def fix_enum(self, value: str, enum: list[str], path: str, name: str) -> str:
        alias = ALIASES.get(name, {}).get(value)
        if alias is not None and alias in enum:
            self.note("enum_alias", path, f"{_short(value)} read as {alias!r}")
            return alias
        folded = {option.casefold(): option for option in enum}
        if value.casefold() in folded:
            fixed = folded[value.casefold()]
            self.note("enum_case", path, f"{_short(value)} read as {fixed!r}")
            return fixed
        fallback = FALLBACKS.get(name)
        if fallback is not None and fallback in enum:
            self.note("unknown_enum", path, f"{_short(value)} unknown, read as {fallback!r}")
            return fallback
        self.note("unknown_enum", path, f"{_short(value)} unknown, kept")
        return value

    def walk_integer(self, value: Any, path: str, name: str = "") -> int:
        number = self.to_number(value, path, "an integer")
        if isinstance(number, float):
            if not math.isfinite(number) or (_is_id(name) and not number.is_integer()):
                raise Unusable("type", path, f"expected an integer, got {_short(value)}")
            if not number.is_integer():
                self.note("float_for_integer", path, f"{_short(value)} rounded")
            number = round(number)
        return number

    def walk_number(self, value: Any, path: str) -> float | int:
        return self.to_number(value, path, "a number")

    def to_number(self, value: Any, path: str, expected: str) -> float | int:
        """An int or float (NaN and infinities included: the callers decide about those)."""
        if isinstance(value, bool):
            raise Unusable("type", path, f"expected {expected}, got {_short(value)}")
        if isinstance(value, (int, float)):
            return value
        if isinstance(value, str):
            text = value.strip().replace(",", ".")
            try:
                number = float(text)
            except ValueError:
                raise Unusable("type", path, f"expected {expected}, got {_short(value)}") from None
            self.note("string_for_number", path, f"{_short(value)} sent as a string")
            if number.is_integer() and "." not in text and "e" not in text.lower():
                return int(text)  # exact, also beyond 2^53
            return number
        raise Unusable("type", path, f"expected {expected}, got {_short(value)}")

    def walk_boolean(self, value: Any, path: str) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.strip().lower() in {"true", "false"}:
            self.note("string_for_boolean", path, f"{_short(value)} sent as a string")
            return value.strip().lower() == "true"
        if value in (0, 1):
            self.note("number_for_boolean", path, f"{_short(value)} sent as a number")
            return bool(value)
        raise Unusable("type", path, f"expected a boolean, got {_short(value)}")


def repair(
    payload: Any, schema: dict[str, Any], action: str
) -> tuple[dict[str, Any], list[Deviation]]:
    """Return the repaired payload and the deviations found; raise :class:`Unusable`."""
    repairer = _Repairer(schema, action)
    result = repairer.walk_object(payload, schema, "")
    return result, repairer.deviations
