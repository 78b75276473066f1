"""Modbus TCP charger adapter: declarative profiles, a poller, normalized events.

Public API for the HA glue and the config flow:

- :data:`PROFILES` / :func:`profile_for` — built-in profiles by name;
  :func:`custom_profile` validates a user profile dict (raises :class:`ProfileError`);
  :func:`builtin_profile_data` gives a built-in profile's JSON as a template.
- :class:`ModbusCharger` — ``start()``, ``stop()``, ``execute(command)``, ``read_identity()``.
- :func:`probe_modbus_charger` — connection test before creating an entry.
"""

from __future__ import annotations

from custom_components.ev_sessions.chargers.events import ChargerInfo

from .builtin import BUILTIN_PROFILES, builtin_profile_data, custom_profile, get_profile
from .charger import ModbusCharger, probe_profile
from .errors import (
    ModbusChargerError,
    ModbusConnectError,
    ModbusDeviceError,
    ModbusIdentityError,
    ProfileError,
)
from .parser import parse_profile
from .register_map import RegisterMap

#: Built-in profiles by name: alfen, abb, vestel, webasto_next, keba, charx, phoenix_ev_eth,
#: phoenix_em_eth.
PROFILES = BUILTIN_PROFILES

#: Look up a built-in profile by name (raises :class:`ProfileError` for unknown names).
profile_for = get_profile


async def probe_modbus_charger(
    host: str, port: int, unit_id: int | None, model: str | RegisterMap, *, timeout_s: float = 5.0
) -> ChargerInfo:
    """Test-before-create: connect, read identity, disconnect.

    ``model`` is a built-in profile name or a :class:`RegisterMap` (custom). Raises
    :class:`ModbusConnectError` when unreachable, :class:`ModbusIdentityError` when the device
    answers but not like the profile, :class:`ProfileError` for an unknown model.
    """
    profile = get_profile(model) if isinstance(model, str) else model
    if unit_id is not None:
        profile = profile.with_unit(unit_id)
    return await probe_profile(host, port, profile, timeout_s=timeout_s)


__all__ = [
    "PROFILES",
    "ModbusCharger",
    "ModbusChargerError",
    "ModbusConnectError",
    "ModbusDeviceError",
    "ModbusIdentityError",
    "ProfileError",
    "RegisterMap",
    "builtin_profile_data",
    "custom_profile",
    "parse_profile",
    "probe_modbus_charger",
    "profile_for",
]
