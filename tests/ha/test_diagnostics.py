"""Diagnostics show what a maintainer needs and redact passwords and tags."""

from __future__ import annotations

from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from .helpers import charger_clock, ocpp_charger_entry, wait_state
from .test_ocpp_hub import Make, energy


async def test_charger_and_hub_diagnostics(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, hub: MockConfigEntry, make_cp: Make
) -> None:
    """A charging session's facts are there; the password and tags are not."""
    assert await async_setup_component(hass, "diagnostics", {})
    entry = ocpp_charger_entry(hass, "CP-D", password="hunter2")
    assert await hass.config_entries.async_setup(entry.entry_id)
    cp = make_cp("CP-D", password="hunter2", power_w=0.0)
    await cp.connect()
    await cp.plug_in(1)
    await cp.start(1, "TAG-BO")
    await cp.send_meter_values(1, sampled_values=energy(0))
    cp.time_offset = charger_clock(10)
    await cp.send_meter_values(1, sampled_values=energy(1_000))
    await wait_state(hass, "sensor", "charger_CP-D_session_energy", "1.0")

    data = await get_diagnostics_for_config_entry(hass, hass_client, entry)
    assert data["entry"]["data"]["password"] == "**REDACTED**"
    assert data["info"]["vendor"] == "ev_sessions"
    assert data["lifetime_energy_wh"] == 1_000
    connector = data["connectors"][0]
    assert connector["status"] == "charging"
    assert connector["session"]["energy_wh"] == 1_000
    assert "TAG-BO" not in str(data)
    assert data["adapter"]["accepted"] is True

    hub_data = await get_diagnostics_for_config_entry(hass, hass_client, hub)
    assert hub_data["chargers"] == ["CP-D"]
    assert [(m["id"], m["tags"]) for m in hub_data["members"]] == [("anna", 3), ("bo", 1)]
    assert "hunter2" not in str(hub_data)
    assert "TAG-ANNA" not in str(hub_data)  # member tags are personal data
