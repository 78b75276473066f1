"""A Modbus charger's add flow and profile check when something unexpected happens (issue 16).

An error nobody foresaw (the Modbus library failing) is the form's "unknown" error, never a
broken flow, and the same form creates the entry once the charger can be read; a profile text
that is not an object, a custom charger without its profile, and the form's unit id over the
profile's ``defaults`` each say what is wrong.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
import json
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pymodbus.client import AsyncModbusTcpClient
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_sessions.const import CONF_MODEL, DOMAIN
from custom_components.ev_sessions.modbus_flow import (
    CONF_PROFILE,
    MODEL_CUSTOM,
    problems_text,
    readings_text,
    validate_profile_text,
)
from simulators.modbus import ChargerSimulator

from .test_modbus import ACME, HOST, _add_modbus, _hub_only, _modbus_entry, _simulator


@pytest.fixture
async def started() -> AsyncIterator[list[ChargerSimulator]]:
    """Simulators started by a test; stopped at its end."""
    sims: list[ChargerSimulator] = []
    yield sims
    for sim in sims:
        await sim.stop()


@pytest.fixture
async def no_setup(hass: HomeAssistant) -> AsyncIterator[None]:
    """Created entries are not set up: the flow is what is tested."""
    with (
        patch("custom_components.ev_sessions.async_setup_entry", return_value=True),
        patch("custom_components.ev_sessions.async_unload_entry", return_value=True),
    ):
        yield
        for entry in hass.config_entries.async_entries(DOMAIN):
            await hass.config_entries.async_unload(entry.entry_id)


def _library_fails() -> Any:
    """pymodbus raising what no caller expects (a bug of the library or of its transport)."""
    return patch.object(
        AsyncModbusTcpClient, "connect", side_effect=RuntimeError("transport torn down")
    )


@pytest.mark.usefixtures("no_setup", "socket_enabled")
async def test_an_unexpected_error_is_unknown_and_the_form_recovers(
    hass: HomeAssistant, started: list[ChargerSimulator]
) -> None:
    _hub_only(hass)
    sim = await _simulator(started, "vestel")
    form = {CONF_HOST: HOST, CONF_PORT: sim.port, CONF_MODEL: "vestel"}
    with _library_fails():
        result = await _add_modbus(hass, form)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "unknown"}
    result = dict(await hass.config_entries.flow.async_configure(result["flow_id"], form))
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_MODEL] == "vestel"


@pytest.mark.usefixtures("no_setup", "socket_enabled")
async def test_an_unexpected_error_checking_a_profile_keeps_the_text(
    hass: HomeAssistant, started: list[ChargerSimulator]
) -> None:
    _hub_only(hass)
    sim = await _simulator(started, MODEL_CUSTOM)
    result = await _add_modbus(
        hass, {CONF_HOST: HOST, CONF_PORT: sim.port, CONF_MODEL: MODEL_CUSTOM}
    )
    flow_id = result["flow_id"]
    result = dict(await hass.config_entries.flow.async_configure(flow_id, {"template": "blank"}))
    text = json.dumps(ACME)
    with _library_fails():
        result = dict(await hass.config_entries.flow.async_configure(flow_id, {CONF_PROFILE: text}))
    assert result["step_id"] == "modbus_profile"
    assert result["errors"] == {"base": "unknown"}
    result = dict(await hass.config_entries.flow.async_configure(flow_id, {CONF_PROFILE: text}))
    assert result["step_id"] == "modbus_check"


@pytest.mark.parametrize(
    ("text", "kind"), [("- values\n- state\n", "a list"), ("values", "a text"), ("", "nothing")]
)
async def test_a_profile_text_that_is_not_an_object(text: str, kind: str) -> None:
    """Named in the user's words, not by the YAML loader's class (NodeListClass)."""
    check = await validate_profile_text(HOST, 1, None, text)
    assert (check.error, check.problems) == ("invalid_syntax", [f"expected an object, got {kind}"])


@pytest.mark.usefixtures("socket_enabled")
async def test_the_forms_unit_id_wins_over_the_profiles_defaults(
    started: list[ChargerSimulator],
) -> None:
    """ACME answers as unit 3; its profile says unit 9 in ``defaults``; the form says 3."""
    sim = await _simulator(started, MODEL_CUSTOM)
    profile = {k: v for k, v in ACME.items() if k != "unit_id"}
    text = json.dumps({**profile, "defaults": {"unit_id": 9, "word_order": "big"}})
    check = await validate_profile_text(HOST, sim.port, 3, text)
    assert check.error is None, check.problems
    assert check.data is not None
    assert (check.data["unit_id"], check.data["defaults"]) == (3, {"word_order": "big"})
    assert "energy_total_wh (holding 100, unit 3): 1,000,000 Wh" in readings_text(check.readings)


def test_the_form_lists_at_most_eight_problems() -> None:
    problems = [f"values.p{i}: unknown quantity" for i in range(11)]
    lines = problems_text(problems).strip().splitlines()
    assert lines[0] == "- `values.p0: unknown quantity`"
    assert lines[-1] == "- … (+3)"
    assert len(lines) == 9
    assert problems_text([]) == ""
    assert readings_text(None) == ""


async def test_a_custom_charger_without_its_profile_is_not_set_up(
    hass: HomeAssistant, hub: MockConfigEntry
) -> None:
    """The entry says what to do (set the profile in the options), not a traceback."""
    entry = _modbus_entry(hass, MODEL_CUSTOM, 1502)
    hass.config_entries.async_update_entry(entry, options={})
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_ERROR
    assert entry.error_reason_translation_key == "invalid_modbus_profile"
    placeholders = entry.error_reason_translation_placeholders or {}
    assert "the custom profile is missing; set it in the charger's options" in placeholders["error"]
    assert await hass.config_entries.async_unload(hub.entry_id)
