"""Built-in profiles, loaded at import from the JSON files in ``profiles/``.

Adding a charger model = adding one JSON file there.
"""

from __future__ import annotations

from collections.abc import Mapping
import copy
import json
from pathlib import Path
from typing import Any

from .errors import ProfileError
from .parser import parse_profile
from .register_map import RegisterMap

_PROFILE_DIR = Path(__file__).with_name("profiles")


def _load_all() -> tuple[dict[str, RegisterMap], dict[str, dict[str, Any]]]:
    profiles: dict[str, RegisterMap] = {}
    raw: dict[str, dict[str, Any]] = {}
    for path in sorted(_PROFILE_DIR.glob("*.json")):
        data = json.loads(path.read_text(encoding="utf-8"))
        try:
            profile = parse_profile(data, name=path.stem)
        except ProfileError as err:
            raise ProfileError([f"{path.name}: {e}" for e in err.errors]) from None
        profiles[profile.name] = profile
        raw[profile.name] = data
    return profiles, raw


_PROFILES, _RAW = _load_all()

#: Every built-in profile by name (``alfen``, ``abb``, ``vestel``, ``webasto_next``, ``keba``,
#: ``charx``).
BUILTIN_PROFILES: Mapping[str, RegisterMap] = _PROFILES


def builtin_profile_data(name: str) -> dict[str, Any]:
    """A copy of a built-in profile's JSON (a starting point for a custom profile)."""
    get_profile(name)  # unknown names raise ProfileError
    return copy.deepcopy(_RAW[name])


def get_profile(name: str) -> RegisterMap:
    """Return a built-in profile, or raise :class:`ProfileError` naming the known ones."""
    try:
        return BUILTIN_PROFILES[name]
    except KeyError:
        known = ", ".join(sorted(BUILTIN_PROFILES))
        raise ProfileError([f"unknown profile {name!r} (known: {known})"]) from None


def custom_profile(data: Mapping[str, Any]) -> RegisterMap:
    """Validate a user-defined profile (same schema as the JSON files; name "custom")."""
    return parse_profile(data, name=str(data.get("name") or "custom"))
