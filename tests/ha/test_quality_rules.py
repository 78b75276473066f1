"""Quality-scale rules (issue 16): stale devices can be deleted, devices in use cannot; a Modbus
charger that does not answer at setup is retried (test before setup), with the reason."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any
from unittest.mock import patch

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.typing import WebSocketGenerator

from custom_components.ev_sessions.chargers.modbus import probe_modbus_charger
from custom_components.ev_sessions.const import CONF_MODEL, DOMAIN
from custom_components.ev_sessions.devices import (
    HUB_IDENTIFIER,
    charger_identifier,
    member_identifier,
)
from simulators.modbus import ChargerSimulator

from .conftest import free_port
from .helpers import fast_modbus, ocpp_charger_entry, wait_until
from .test_modbus import CID, HOST, _hub_only, _modbus_entry, _set_up, _simulator


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


# ---------------------------------------------------------------------- reconfigure


@pytest.fixture
async def no_setup(hass: HomeAssistant) -> AsyncIterator[None]:
    """Entries the flows change are not set up again: the flow is what is tested."""
    with (
        patch("custom_components.ev_sessions.async_setup_entry", return_value=True),
        patch("custom_components.ev_sessions.async_unload_entry", return_value=True),
    ):
        yield
        for entry in hass.config_entries.async_entries(DOMAIN):
            await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("socket_enabled", "no_setup")
async def test_reconfigure_a_modbus_charger_through_every_error_to_its_new_address(
    hass: HomeAssistant, sims: list[ChargerSimulator]
) -> None:
    """Tested before it is saved, like the add flow: nothing at the address, another model,
    another device (aborts, the entry kept); then the same charger at its new port."""
    _hub_only(hass)
    old = await _simulator(sims, "keba")
    entry = _modbus_entry(hass, "keba", old.port)
    info = await probe_modbus_charger(HOST, old.port, None, "keba")
    hass.config_entries.async_update_entry(entry, unique_id=f"modbus_{info.serial}")
    moved = await _simulator(sims, "keba")
    other = await _simulator(sims, "vestel")
    assert (await probe_modbus_charger(HOST, other.port, None, "vestel")).serial != info.serial

    async def submit(port: int, model: str) -> dict[str, Any]:
        result = await entry.start_reconfigure_flow(hass)
        assert result["step_id"] == "reconfigure"
        answer: dict[str, Any] = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_HOST: HOST, CONF_PORT: port, CONF_MODEL: model}
        )
        return answer

    assert (await submit(free_port(), "keba"))["errors"] == {"base": "cannot_connect"}
    assert (await submit(moved.port, "alfen"))["errors"] == {"base": "wrong_model"}
    result = await submit(other.port, "vestel")
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "different_device")
    assert entry.data[CONF_PORT] == old.port

    result = await submit(moved.port, "keba")
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "reconfigure_successful")
    assert (entry.data[CONF_PORT], entry.data[CONF_MODEL]) == (moved.port, "keba")


@pytest.mark.usefixtures("socket_enabled", "no_setup")
async def test_an_ocpp_charger_has_nothing_to_reconfigure(hass: HomeAssistant) -> None:
    """Its address is its own to choose: the reconfigure flow aborts, saying so."""
    _hub_only(hass)
    entry = ocpp_charger_entry(hass, "CP1")
    result = await entry.start_reconfigure_flow(hass)
    assert (result["type"], result["reason"]) == (
        FlowResultType.ABORT,
        "reconfigure_not_supported",
    )
