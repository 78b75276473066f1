"""A charger gets only the entities it can fill: no tag controls without a tag source, no
L2/L3 on a single-phase charger, no cost sensors until a price source is configured; and its
current limit ends at its real maximum."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from decimal import Decimal
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_sessions.chargers.modbus import custom_profile
from custom_components.ev_sessions.const import DOMAIN
from custom_components.ev_sessions.core.tariff import EnergyPricing, Tariff
from custom_components.ev_sessions.modbus_flow import CONF_PROFILE, MODEL_CUSTOM
from simulators.modbus import ChargerSimulator, start_simulator
from simulators.ocpp import SimulatedChargePoint

from .helpers import entity_id, fast_modbus, ocpp_charger_entry, set_fixed_price, wait_state
from .test_modbus import ACME, CID, HOST, _modbus_entry, _set_up, _simulator

Make = Callable[..., SimulatedChargePoint]

#: Entities that only a charger with a tag source can fill.
TAG_ENTITIES = (
    ("button", "learn_tag"),
    ("event", "authorization"),
    ("select", "authorization"),
    ("sensor", "last_tag"),
)
#: The second and third phase.
L2_L3 = (("sensor", "current_l2"), ("sensor", "current_l3"))
COST = (("sensor", "session_cost"), ("sensor", "session_average_price"), ("sensor", "charger_cost"))


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


def _present(hass: HomeAssistant, charger_id: str, keys: tuple[tuple[str, str], ...]) -> list[bool]:
    registry = er.async_get(hass)
    return [
        registry.async_get_entity_id(platform, DOMAIN, f"charger_{charger_id}_{key}") is not None
        for platform, key in keys
    ]


async def _unload(hass: HomeAssistant, hub: MockConfigEntry) -> None:
    """The hub unloads its chargers (the harness would unload them a second time at once)."""
    assert await hass.config_entries.async_unload(hub.entry_id)
    await hass.async_block_till_done()


async def test_modbus_without_rfid_single_phase(
    hass: HomeAssistant, hub: MockConfigEntry, sims: list[ChargerSimulator]
) -> None:
    """The custom ACME profile maps no RFID and only L1, and allows 16 A at most."""
    acme: dict[str, Any] = {**ACME, "max_current_a": 16}
    sim = await start_simulator(custom_profile(acme), 0, host=HOST, watchdog=False)
    sims.append(sim)
    entry = _modbus_entry(hass, MODEL_CUSTOM, sim.port)
    hass.config_entries.async_update_entry(entry, options={CONF_PROFILE: acme})
    await _set_up(hass, entry)
    assert _present(hass, CID, TAG_ENTITIES) == [False] * 4
    assert _present(hass, CID, L2_L3) == [False, False]
    assert _present(hass, CID, (("sensor", "current_l1"),)) == [True]
    number = hass.states.get(entity_id(hass, "number", f"charger_{CID}_current_limit"))
    assert number is not None
    assert number.attributes["max"] == 16
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            "number", "set_value", {"entity_id": number.entity_id, "value": 3}, blocking=True
        )
    assert sim.current_limit != 3
    await _unload(hass, hub)


async def test_modbus_with_rfid_three_phase(
    hass: HomeAssistant, hub: MockConfigEntry, sims: list[ChargerSimulator]
) -> None:
    """KEBA reads tags and measures three phases: all of it is there."""
    sim = await _simulator(sims, "keba")
    entry = _modbus_entry(hass, "keba", sim.port)
    await _set_up(hass, entry)
    assert _present(hass, CID, TAG_ENTITIES) == [True] * 4
    assert _present(hass, CID, L2_L3) == [True, True]
    await _unload(hass, hub)


async def test_cost_sensors_appear_with_a_price_source(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """OCPP chargers have tag controls; cost sensors come with the price source, no reload."""
    entry = ocpp_charger_entry(hass, "CP-COST")
    assert await hass.config_entries.async_setup(entry.entry_id)
    cp = make_cp("CP-COST")
    await cp.connect()
    await wait_state(hass, "binary_sensor", "charger_CP-COST_charger_connected", "on")
    assert _present(hass, "CP-COST", TAG_ENTITIES) == [True] * 4
    assert _present(hass, "CP-COST", COST) == [False] * 3
    tariff = Tariff(
        currency=hass.config.currency, energy=EnergyPricing.FIXED, fixed_price=Decimal("2")
    )
    await set_fixed_price(hass, hub, tariff)
    assert _present(hass, "CP-COST", COST) == [True] * 3
    await wait_state(hass, "binary_sensor", "charger_CP-COST_charger_connected", "on")
    assert hass.states.get(entity_id(hass, "sensor", "charger_CP-COST_charger_cost")) is not None
    await _unload(hass, hub)
