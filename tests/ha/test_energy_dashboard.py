"""The Energy dashboard (issue 16): a charger's lifetime energy and its cost are entities the
Energy dashboard accepts, as its own validation says (the README's step list picks exactly
these: individual device = lifetime energy + power, grid consumption = lifetime energy + cost)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

from homeassistant.components.energy import data as energy_data
from homeassistant.components.energy.validate import async_validate
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import get_start_time
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
    do_adhoc_statistics,
)

from custom_components.ev_sessions.core.tariff import EnergyPricing, Tariff
from simulators.ocpp import SimulatedChargePoint

from .helpers import (
    charger_clock,
    entity_id,
    ocpp_charger_entry,
    set_fixed_price,
    wait_state,
)
from .test_ocpp_hub import energy

Make = Callable[..., SimulatedChargePoint]


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None
) -> None:
    """The recorder is set up before hass (the shared autouse fixture would start hass first)."""


async def _charge_4_kwh_for_10(hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make) -> None:
    """CP1 charges 4 kWh at a fixed 2.00 + 25 % VAT: 10.00 recorded."""
    tariff = Tariff(
        currency=hass.config.currency,
        energy=EnergyPricing.FIXED,
        fixed_price=Decimal("2.00"),
        vat_rate=Decimal("0.25"),
    )
    await set_fixed_price(hass, hub, tariff)
    entry = ocpp_charger_entry(hass, "CP1")
    assert await hass.config_entries.async_setup(entry.entry_id)
    cp = make_cp("CP1", power_w=0.0, meter_start_wh=10_000)
    await cp.connect()
    await cp.plug_in(1)
    assert await cp.swipe("TAG-ANNA") == "Accepted"
    await cp.start(1, "TAG-ANNA")
    await cp.send_meter_values(1, sampled_values=energy(10_000))
    cp.connector(1).energy_wh = 14_000
    cp.time_offset = charger_clock(35)
    await cp.stop(1, "EVDisconnected")
    cp.time_offset = charger_clock(50)
    await cp.unplug(1)
    await wait_state(hass, "sensor", "charger_CP1_lifetime_energy", "4.0")
    await hub.runtime_data.hub.site.pricer.async_wait_idle()
    await wait_state(hass, "sensor", "charger_CP1_charger_cost", "10.00")


async def test_lifetime_energy_and_cost_carry_the_energy_dashboard_classes(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """Lifetime energy: energy, total_increasing, kWh. Cost: monetary, total, the currency."""
    await _charge_4_kwh_for_10(hass, hub, make_cp)
    lifetime = hass.states.get(entity_id(hass, "sensor", "charger_CP1_lifetime_energy"))
    cost = hass.states.get(entity_id(hass, "sensor", "charger_CP1_charger_cost"))
    assert lifetime is not None
    assert cost is not None
    assert (
        lifetime.attributes["device_class"],
        lifetime.attributes["state_class"],
        lifetime.attributes["unit_of_measurement"],
    ) == ("energy", "total_increasing", "kWh")
    assert (
        cost.attributes["device_class"],
        cost.attributes["state_class"],
        cost.attributes["unit_of_measurement"],
    ) == ("monetary", "total", hass.config.currency)
    assert "last_reset" not in cost.attributes  # a growing total, not a periodic one


async def test_energy_dashboard_validation_accepts_charger_energy_and_cost(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """The Energy dashboard's own validation finds no issue with the charger as an individual
    device (lifetime energy + power) nor as a grid consumption with its cost entity, once the
    recorder has compiled their statistics."""
    await _charge_4_kwh_for_10(hass, hub, make_cp)
    lifetime = entity_id(hass, "sensor", "charger_CP1_lifetime_energy")
    power = entity_id(hass, "sensor", "charger_CP1_power")
    cost = entity_id(hass, "sensor", "charger_CP1_charger_cost")
    await async_wait_recording_done(hass)
    # The 5-minute period the states were written in (the recorder would compile it later).
    do_adhoc_statistics(hass, start=get_start_time() + timedelta(minutes=5))
    await async_wait_recording_done(hass)

    manager = await energy_data.async_get_manager(hass)
    sources = energy_data.ENERGY_SOURCE_SCHEMA(
        [
            {
                "type": "grid",
                "stat_energy_from": lifetime,
                "stat_cost": cost,
                "cost_adjustment_day": 0,
            }
        ]
    )
    devices = [
        energy_data.DEVICE_CONSUMPTION_SCHEMA({"stat_consumption": lifetime, "stat_rate": power})
    ]
    await manager.async_update({"energy_sources": sources, "device_consumption": devices})

    result = (await async_validate(hass)).as_dict()
    assert result == {
        "energy_sources": [[]],
        "device_consumption": [[]],
        "device_consumption_water": [],
    }
