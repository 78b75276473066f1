"""Quality-scale rules (issue 16): stale devices can be deleted, devices in use cannot; a Modbus
charger that does not answer at setup is retried (test before setup), with the reason."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.ev_sessions.devices import (
    HUB_IDENTIFIER,
    charger_identifier,
    member_identifier,
)
from simulators.modbus import ChargerSimulator

from .conftest import free_port
from .helpers import fast_modbus, ocpp_charger_entry, wait_until
from .test_modbus import CID, _modbus_entry, _set_up, _simulator


@pytest.fixture
def hub_entry(hass: HomeAssistant, hub_entry: MockConfigEntry) -> MockConfigEntry:
    """The hub entry, its Modbus pollers 100 times faster (a 5 s poll takes 50 ms)."""
    return fast_modbus(hass, hub_entry)


@pytest.fixture
async def sims() -> AsyncIterator[list[ChargerSimulator]]:
    started: list[ChargerSimulator] = []
    yield started
    for sim in started:
        await sim.stop()


async def _remove(
    hass: HomeAssistant, ws: WebSocketGenerator, entry_id: str, device: dr.DeviceEntry
) -> bool:
    """Delete the device from the entry as the device page does; whether it was allowed."""
    client = await ws(hass)
    await client.send_json_auto_id(
        {
            "type": "config/device_registry/remove_config_entry",
            "config_entry_id": entry_id,
            "device_id": device.id,
        }
    )
    response = await client.receive_json()
    return bool(response["success"])


def _device(hass: HomeAssistant, identifier: tuple[str, str]) -> dr.DeviceEntry:
    (device,) = dr.async_get(hass).async_get_devices(identifiers={identifier})
    return device


async def test_only_devices_no_longer_in_use_can_be_deleted(
    hass: HomeAssistant, hub: MockConfigEntry, hass_ws_client: WebSocketGenerator
) -> None:
    """The hub, a member of the hub and a charger with its entry stay; a removed member's
    device and a device of a charger whose entry is gone can be deleted."""
    assert await async_setup_component(hass, "config", {})
    charger = ocpp_charger_entry(hass, "CP1")
    assert await hass.config_entries.async_setup(charger.entry_id)
    await hass.async_block_till_done()
    registry = dr.async_get(hass)
    gone_member = registry.async_get_or_create(
        config_entry_id=hub.entry_id, identifiers={member_identifier("carl")}, name="Carl"
    )
    gone_charger = registry.async_get_or_create(
        config_entry_id=hub.entry_id, identifiers={charger_identifier("OLD")}, name="Old"
    )

    assert not await _remove(hass, hass_ws_client, hub.entry_id, _device(hass, HUB_IDENTIFIER))
    anna = _device(hass, member_identifier("anna"))
    assert not await _remove(hass, hass_ws_client, hub.entry_id, anna)
    cp1 = _device(hass, charger_identifier("CP1"))
    assert not await _remove(hass, hass_ws_client, charger.entry_id, cp1)

    assert await _remove(hass, hass_ws_client, hub.entry_id, gone_member)
    assert await _remove(hass, hass_ws_client, hub.entry_id, gone_charger)
    assert registry.async_get(gone_member.id) is None
    assert registry.async_get(gone_charger.id) is None
    assert registry.async_get(anna.id) is not None
    assert await hass.config_entries.async_unload(hub.entry_id)


async def test_a_modbus_charger_that_does_not_answer_is_set_up_when_it_does(
    hass: HomeAssistant,
    hub: MockConfigEntry,
    sims: list[ChargerSimulator],
) -> None:
    """Nothing answers at setup: the entry waits for a retry, saying where and why; once the
    charger answers, the retry sets it up."""
    port = free_port()
    entry = _modbus_entry(hass, "keba", port)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.error_reason_translation_key == "modbus_not_answering"
    placeholders = entry.error_reason_translation_placeholders or {}
    assert (placeholders["host"], placeholders["port"]) == ("127.0.0.1", str(port))
    assert "does not answer yet" in (entry.reason or "")

    await _simulator(sims, "keba", port)
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=5))
    await wait_until(hass, lambda: entry.state is ConfigEntryState.LOADED, what="retried")
    assert await hass.config_entries.async_unload(hub.entry_id)


async def test_a_modbus_charger_answering_like_another_model_is_not_set_up(
    hass: HomeAssistant, hub: MockConfigEntry, sims: list[ChargerSimulator]
) -> None:
    """A device that answers, but not like the entry's model: retried, the reason names it."""
    sim = await _simulator(sims, "keba")
    entry = _modbus_entry(hass, "alfen", sim.port)
    assert not await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.SETUP_RETRY
    assert entry.error_reason_translation_key == "modbus_wrong_device"
    assert await hass.config_entries.async_unload(hub.entry_id)


async def test_a_modbus_charger_that_answers_is_set_up(
    hass: HomeAssistant, hub: MockConfigEntry, sims: list[ChargerSimulator]
) -> None:
    """The probe at setup passes for the charger the entry was made for."""
    sim = await _simulator(sims, "keba")
    entry = _modbus_entry(hass, "keba", sim.port)
    await _set_up(hass, entry)
    assert entry.unique_id == CID
    assert await hass.config_entries.async_unload(hub.entry_id)
