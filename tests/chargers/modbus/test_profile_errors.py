"""A custom register map's mistakes, each named with its path (what the options flow shows)."""

from __future__ import annotations

from typing import Any

import pytest

from custom_components.ev_sessions.chargers.modbus import ProfileError, custom_profile
from custom_components.ev_sessions.chargers.modbus.parser import parse_profile

MINIMAL: dict[str, Any] = {
    "values": {"energy_total_wh": {"address": 100, "type": "u32"}},
    "state": {"status": {"address": 0}, "iec": {"0": "A", "1": "B", "2": "C"}},
}
ENERGY = MINIMAL["values"]["energy_total_wh"]


def _errors(data: Any, *, custom: bool = True) -> list[str]:
    parse = custom_profile if custom else parse_profile
    with pytest.raises(ProfileError) as err:
        parse(data)
    return err.value.errors


def _energy(**fields: Any) -> dict[str, Any]:
    """MINIMAL with the energy register's fields changed."""
    return {**MINIMAL, "values": {"energy_total_wh": {**ENERGY, **fields}}}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {**MINIMAL, "values": {"energy_total_wh": 5}},
            "values.energy_total_wh: expected an object, got int",
        ),
        (_energy(mask=None), "values.energy_total_wh.mask: must not be null"),
        (_energy(scale="ten"), "values.energy_total_wh.scale: expected a number, got 'ten'"),
        (_energy(scale=float("nan")), "values.energy_total_wh.scale: expected a number, got nan"),
        (_energy(scale=0), "values.energy_total_wh.scale: must not be 0"),
        (_energy(byte="middle"), "values.energy_total_wh.byte: 'middle' is not one of: low, high"),
        (_energy(empty="-"), "values.energy_total_wh.empty: expected a list of texts"),
        (_energy(empty=[0]), "values.energy_total_wh.empty: expected a list of texts"),
        (
            _energy(address=65535, type="u32"),
            "values.energy_total_wh: address + register count goes past 65535",
        ),
        (
            {**MINIMAL, "identity": {"firmware": {"address": 9, "type": "version", "length": 1}}},
            "identity.firmware.length_bytes: more bytes than the registers hold",
        ),
        (
            {
                **MINIMAL,
                "identity": {"serial": {"address": 9, "type": "string", "hex_digits": 8}},
            },
            "identity.serial.hex_digits: only for integer types",
        ),
        ({**MINIMAL, "title": 5}, "title: expected text, got 5"),
        ({**MINIMAL, "state": 5}, "state: expected an object, got int"),
        ({**MINIMAL, "state": {"plugged": 5}}, "state.plugged: expected an object, got int"),
        (
            {
                **MINIMAL,
                "watchdogs": [{"action": "mirror", "register": {"address": 7}, "period_s": 5}],
            },
            "watchdogs[0].period_from: required for mirror",
        ),
        ({**MINIMAL, "enable": {"on": 1}}, "enable.register: required"),
        ({**MINIMAL, "watchdogs": "often"}, "watchdogs: expected a list"),
        ({**MINIMAL, "watchdogs": [5]}, "watchdogs[0]: expected an object, got int"),
        (
            {
                **MINIMAL,
                "lifetime": "from_session",
                "session_energy": "ignore",
                "values": {"session_energy_wh": {"address": 1}},
            },
            "session_energy: must be live when lifetime is from_session",
        ),
        (
            {**MINIMAL, "watchdogs": [{"action": "rewrite_limit", "period_s": 60}]},
            "watchdogs: rewrite_limit needs a limit register",
        ),
        (
            {**MINIMAL, "poll_interval_s": 5, "watchdogs": [{"action": "read", "period_s": 2}]},
            "poll_interval_s: must be <= the read keep-alive period 2.0",
        ),
        (
            {
                **MINIMAL,
                "values": {**MINIMAL["values"], "power_w": {"address": 3, "type": "string"}},
            },
            "values.power_w: must be numeric",
        ),
        (
            {**MINIMAL, "values": {**MINIMAL["values"], "rfid": {"address": 3}}},
            "values.rfid: must be a string or use hex_digits",
        ),
    ],
)
def test_custom_profile_mistakes_are_named(data: dict[str, Any], message: str) -> None:
    errors = _errors(data)
    assert message in errors, errors


def test_a_profile_that_is_not_an_object() -> None:
    assert _errors(["values"], custom=False) == ["profile: expected an object, got list"]


def test_a_profile_name_that_is_not_text() -> None:
    assert _errors({**MINIMAL, "name": 5}, custom=False) == ["name: expected text"]
