"""Compiled JSON schema validators for OCPP payloads.

The ``ocpp`` package ships the official JSON schemas but validates with ``jsonschema`` in a thread
executor, which costs ~90 % of handling a meter frame. Here the same schemas are compiled with
``fastjsonschema`` once per (version, action, direction) when the server starts (off the event
loop), and cached for the process.

``format: date-time`` is not checked here: timestamps are parsed (leniently) by the handlers.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
import json
from pathlib import Path
import re
from typing import Any

import fastjsonschema
import ocpp

Validator = Callable[[Any], Any]

_OCPP_DIR = Path(ocpp.__file__).parent
_FORMATS: dict[str, Callable[[str], bool]] = {"date-time": lambda _value: True}

#: Error raised by a compiled validator.
SchemaError = fastjsonschema.JsonSchemaValueException


_ACTION_NAME = re.compile(r"[A-Za-z0-9]{1,64}")


@cache
def _table() -> dict[tuple[str, str, bool], dict[str, Any]]:
    """Every schema of both versions by (version, action, is_response). Reads files."""
    table: dict[tuple[str, str, bool], dict[str, Any]] = {}
    for version, folder, request_suffix in (("1.6", "v16", ""), ("2.0.1", "v201", "Request")):
        for path in sorted((_OCPP_DIR / folder / "schemas").glob("*.json")):
            name = path.stem
            if name.endswith("Response"):
                key = (version, name.removesuffix("Response"), True)
            elif request_suffix and name.endswith(request_suffix):
                key = (version, name.removesuffix(request_suffix), False)
            elif not request_suffix:
                key = (version, name, False)
            else:
                continue
            table[key] = json.loads(path.read_text(encoding="utf-8-sig"))
    return table


def load_schemas() -> None:
    """Read all schema files and compile every validator now (about a second, once per
    process). Blocking: the server calls it in an executor at start, so that no validator is
    compiled on the event loop while chargers talk."""
    for version, action, response in _table():
        validator(version, action, response=response)


def schema(version: str, action: str, *, response: bool = False) -> dict[str, Any] | None:
    """The raw JSON schema of a message, or ``None`` when the protocol has no such action."""
    if not _ACTION_NAME.fullmatch(action):
        return None
    return _table().get((version, action, response))


@cache
def validator(version: str, action: str, *, response: bool = False) -> Validator | None:
    """A compiled validator for a message (``None`` when unknown). Compiled on first use."""
    definition = schema(version, action, response=response)
    if definition is None:
        return None
    compiled: Validator = fastjsonschema.compile(definition, formats=_FORMATS, use_default=False)
    return compiled
