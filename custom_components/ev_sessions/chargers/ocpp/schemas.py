"""Compiled JSON schema validators for OCPP payloads.

The ``ocpp`` package ships the official JSON schemas but validates with ``jsonschema`` in a thread
executor, which costs ~90 % of handling a meter frame. Here the same schemas are compiled with
``fastjsonschema`` once per (version, action, direction), lazily, and cached for the process.

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


def _schema_path(version: str, action: str, *, response: bool) -> Path:
    if version == "1.6":
        name = f"{action}Response" if response else action
        return _OCPP_DIR / "v16" / "schemas" / f"{name}.json"
    name = f"{action}Response" if response else f"{action}Request"
    return _OCPP_DIR / "v201" / "schemas" / f"{name}.json"


@cache
def schema(version: str, action: str, *, response: bool = False) -> dict[str, Any] | None:
    """The raw JSON schema of a message, or ``None`` when the protocol has no such action."""
    if not _ACTION_NAME.fullmatch(action):
        return None
    path = _schema_path(version, action, response=response)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError:
        return None
    loaded: dict[str, Any] = json.loads(text)
    return loaded


@cache
def validator(version: str, action: str, *, response: bool = False) -> Validator | None:
    """A compiled validator for a message (``None`` when unknown). Compiled on first use."""
    definition = schema(version, action, response=response)
    if definition is None:
        return None
    compiled: Validator = fastjsonschema.compile(definition, formats=_FORMATS, use_default=False)
    return compiled
