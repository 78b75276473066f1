"""Helpers for the HA-level tests."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_sessions.const import (
    CONF_CHARGER_ID,
    CONF_ENTRY_TYPE,
    CONF_PROTOCOL,
    DOMAIN,
    ENTRY_TYPE_CHARGER,
    PROTOCOL_OCPP,
)
from custom_components.ev_sessions.core.tariff import Tariff
from custom_components.ev_sessions.modbus_timing import CONF_MODBUS_TIMING, ModbusTiming

#: Simulated chargers' clocks start this far in the past, so a test can let "minutes of
#: charging" pass on the charger's clock without stamping anything in the future (the hub
#: replaces timestamps from the future by the time it received them).
CHARGER_CLOCK_START = timedelta(hours=-1)


def charger_clock(minutes: float) -> timedelta:
    """The simulator's ``time_offset`` for ``minutes`` after its clock started (in the past)."""
    return CHARGER_CLOCK_START + timedelta(minutes=minutes)


def fast_modbus(hass: HomeAssistant, hub_entry: MockConfigEntry) -> MockConfigEntry:
    """The hub entry, its Modbus pollers 100 times faster (a 5 s poll takes 50 ms)."""
    timing = ModbusTiming(period_scale=0.01).as_option()
    hass.config_entries.async_update_entry(
        hub_entry, options={**hub_entry.options, CONF_MODBUS_TIMING: timing}
    )
    return hub_entry


async def wait_until(
    hass: HomeAssistant, predicate: Callable[[], Any], timeout: float = 5.0, what: str = ""
) -> None:
    """Let the loop run (sockets included) until ``predicate()`` is true."""
    try:
        async with asyncio.timeout(timeout):
            while not predicate():
                await asyncio.sleep(0.01)
                await hass.async_block_till_done()
    except TimeoutError:
        raise AssertionError(f"timed out waiting for {what or predicate}") from None


async def wait_state(
    hass: HomeAssistant, platform: str, unique_id: str, expected: str, timeout: float = 5.0
) -> None:
    """Wait until an entity shows ``expected``; the failure names what it showed instead."""
    try:
        await wait_until(hass, lambda: state_of(hass, platform, unique_id) == expected, timeout)
    except AssertionError:
        raise AssertionError(
            f"{unique_id} is {state_of(hass, platform, unique_id)!r}, expected {expected!r}"
        ) from None


def ocpp_charger_entry(hass: HomeAssistant, charger_id: str, **data: Any) -> MockConfigEntry:
    """A configured OCPP charger entry (added, not set up)."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=charger_id,
        title=charger_id,
        data={
            CONF_ENTRY_TYPE: ENTRY_TYPE_CHARGER,
            CONF_PROTOCOL: PROTOCOL_OCPP,
            CONF_CHARGER_ID: charger_id,
            **data,
        },
    )
    entry.add_to_hass(hass)
    return entry


def entity_id(hass: HomeAssistant, platform: str, unique_id: str) -> str:
    """The entity id registered for a unique id."""
    found = er.async_get(hass).async_get_entity_id(platform, DOMAIN, unique_id)
    assert found is not None, f"no {platform} entity with unique id {unique_id}"
    return found


def state_of(hass: HomeAssistant, platform: str, unique_id: str) -> str:
    """The state of the entity with this unique id."""
    state = hass.states.get(entity_id(hass, platform, unique_id))
    assert state is not None
    return state.state


async def set_fixed_price(hass: HomeAssistant, hub: MockConfigEntry, tariff: Tariff) -> None:
    """Configure the hub's prices as the options flow does: a fixed price source and the
    tariff (taken in live, without a reload)."""
    options = {**hub.options, "price_source": {"kind": "fixed"}, "tariff": tariff.to_dict()}
    hass.config_entries.async_update_entry(hub, options=options)
    await hass.async_block_till_done()
