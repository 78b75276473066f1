"""The hub's bind address is an option (issue 11): all interfaces by default, an IP address."""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_sessions.const import (
    CONF_FAST_MIN_KW,
    CONF_METER_INTERVAL,
    CONF_OCPP_HOST,
    CONF_REJECT_UNKNOWN,
    CONF_SLOW_MAX_KW,
)

from .helpers import wait_until

_OPTIONS = {
    CONF_REJECT_UNKNOWN: False,
    CONF_METER_INTERVAL: 30,
    CONF_SLOW_MAX_KW: 4.0,
    CONF_FAST_MIN_KW: 11.0,
}


async def _hub_step(hass: HomeAssistant, entry: MockConfigEntry) -> str:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "hub"}
    )
    assert result["step_id"] == "hub"
    return str(result["flow_id"])


async def test_bind_address_is_validated_and_applied_on_reload(
    hass: HomeAssistant, hub: MockConfigEntry
) -> None:
    """A name is refused; an address is stored, and the reloaded hub listens there."""
    assert hub.runtime_data.server.settings.host == "127.0.0.1"  # the test hub's entry data
    flow_id = await _hub_step(hass, hub)
    result = await hass.config_entries.options.async_configure(
        flow_id, {**_OPTIONS, CONF_OCPP_HOST: "my-ha.local"}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_OCPP_HOST: "invalid_host"}
    result = await hass.config_entries.options.async_configure(
        flow_id, {**_OPTIONS, CONF_OCPP_HOST: " 0.0.0.0 "}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert hub.options[CONF_OCPP_HOST] == "0.0.0.0"  # noqa: S104
    await hass.async_block_till_done()
    await wait_until(
        hass,
        lambda: hub.state is ConfigEntryState.LOADED
        and hub.runtime_data.server.settings.host == "0.0.0.0",  # noqa: S104
        what="hub rebound to all interfaces",
    )
