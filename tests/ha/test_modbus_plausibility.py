"""The profile check marks values no charger shows, before the profile is saved (issue 11)."""

from __future__ import annotations

from collections.abc import AsyncIterator
import json

from homeassistant.core import HomeAssistant
import pytest

from custom_components.ev_sessions.modbus_flow import CONF_PROFILE, IMPLAUSIBLE_MARK, implausible
from simulators.modbus import ChargerSimulator

from .test_modbus import _default, _hub_only, _modbus_entry, _simulator, no_setup

__all__ = ["no_setup"]  # the fixture, shared with test_modbus


@pytest.fixture
async def sims() -> AsyncIterator[list[ChargerSimulator]]:
    started: list[ChargerSimulator] = []
    yield started
    for sim in started:
        await sim.stop()


@pytest.mark.usefixtures("no_setup", "socket_enabled")
async def test_a_wrong_scale_is_marked_in_the_check(
    hass: HomeAssistant, sims: list[ChargerSimulator]
) -> None:
    """KEBA's energy register read with a scale 10^6 too large shows 10^12 Wh, marked; the
    status and the other values are not."""
    _hub_only(hass)
    sim = await _simulator(sims, "keba")
    entry = _modbus_entry(hass, "keba", sim.port)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "modbus"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"template": "current"}
    )
    profile = json.loads(_default(dict(result), CONF_PROFILE))
    profile["values"]["energy_total_wh"]["scale"] = 100_000  # should be 0.1
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {CONF_PROFILE: json.dumps(profile)}
    )
    assert result["step_id"] == "modbus_check"
    lines = result["description_placeholders"]["readings"].strip().split("\n")
    marked = [line for line in lines if IMPLAUSIBLE_MARK in line]
    assert marked == ["- `energy_total_wh (holding 1036, unit 255): 1,000,000,000,000 Wh ⚠`"]


@pytest.mark.parametrize(
    ("name", "value", "wrong"),
    [
        ("energy_total_wh", 327_680_000_000, True),  # a swapped word order
        ("energy_total_wh", 0, True),  # a register that reads nothing
        ("energy_total_wh", 1_234_567, False),
        ("power_w", 7_400.0, False),
        ("power_w", 1.2e9, True),
        ("current_l1_a", 16.0, False),
        ("limit", 160, True),
        ("rfid", "04A1B2", False),  # not a number: nothing to judge
    ],
)
def test_plausible_bounds(name: str, value: object, wrong: bool) -> None:
    """What counts as implausible, value by value."""
    assert implausible(name, value) is wrong
