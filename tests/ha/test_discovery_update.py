"""Discovery update info (quality scale, Gold): a waiting OCPP charger that boots again as
other hardware updates its pending discovery flow instead of being ignored."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from homeassistant.config_entries import SOURCE_INTEGRATION_DISCOVERY, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_sessions.const import DOMAIN
from simulators.ocpp import SimulatedChargePoint

from .helpers import wait_until

Make = Callable[..., SimulatedChargePoint]


def _discovery_flows(hass: HomeAssistant) -> list[dict[str, Any]]:
    return [
        flow
        for flow in hass.config_entries.flow.async_progress_by_handler(DOMAIN)
        if flow["context"]["source"] == SOURCE_INTEGRATION_DISCOVERY
    ]


async def _placeholders(hass: HomeAssistant, flow_id: str) -> dict[str, str]:
    """What the flow's form says now (as the frontend asks when the user opens it)."""
    form = await hass.config_entries.flow.async_configure(flow_id)
    assert form["type"] is FlowResultType.FORM
    assert form["step_id"] == "discovery_confirm"
    return dict(form["description_placeholders"] or {})


async def test_waiting_charger_booting_as_other_hardware_updates_its_flow(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """The charger waits as an Acme Wallbox 11; it boots again (same websocket) as a Zeta
    Home 22 with another serial: the one flow it has says Zeta Home 22 (no second flow), a
    boot as before changes nothing more, and accepting it adds the charger as it is now."""
    cp = make_cp("GARAGE-9", vendor="Acme", model="Wallbox 11", serial="A-1")
    await cp.connect(boot=False)
    assert await cp.boot(until_accepted=False) == "Pending"
    await wait_until(hass, lambda: _discovery_flows(hass), what="discovery flow")
    [flow] = _discovery_flows(hass)
    assert await _placeholders(hass, flow["flow_id"]) == {
        "charger_id": "GARAGE-9",
        "vendor": "Acme",
        "model": "Wallbox 11",
    }

    cp.config = replace(cp.config, vendor="Zeta", model="Home 22", serial="Z-2")
    assert await cp.boot(until_accepted=False) == "Pending"
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [f["flow_id"] for f in _discovery_flows(hass)] == [flow["flow_id"]]
    assert await _placeholders(hass, flow["flow_id"]) == {
        "charger_id": "GARAGE-9",
        "vendor": "Zeta",
        "model": "Home 22",
    }
    assert await cp.boot(until_accepted=False) == "Pending"
    await hass.async_block_till_done(wait_background_tasks=True)
    assert [f["flow_id"] for f in _discovery_flows(hass)] == [flow["flow_id"]]

    result = await hass.config_entries.flow.async_configure(flow["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    # The hub asks the waiting charger to boot again: it is let in as it is now.
    await wait_until(hass, lambda: cp.boot_status == "Accepted", what="charger accepted")
    await wait_until(hass, lambda: entry.state is ConfigEntryState.LOADED, what="entry loaded")
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, "charger_GARAGE-9"), entry.entry_id
    )
    assert device is not None
    assert (device.manufacturer, device.model, device.serial_number) == ("Zeta", "Home 22", "Z-2")
    assert await hass.config_entries.async_unload(hub.entry_id)
    await hass.async_block_till_done()
