"""Planned charging in Home Assistant (issue 13): set_plan / get_plan / clear_plan on an OCPP
charger; the plan goes to the charger as a charging profile and the session costs what the plan
showed."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_sessions.const import DOMAIN
from custom_components.ev_sessions.core.tariff import EnergyPricing, Tariff
from simulators.ocpp import SimulatedChargePoint

from .helpers import charger_clock, ocpp_charger_entry, set_fixed_price, wait_state
from .test_ocpp_hub import energy

Make = Callable[..., SimulatedChargePoint]


def _device_id(hass: HomeAssistant, entry_id: str) -> str:
    devices = dr.async_entries_for_config_entry(dr.async_get(hass), entry_id)
    return devices[0].id


async def test_a_plan_is_set_sent_as_a_profile_and_costs_what_it_showed(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """4 kWh now at a fixed 2.00 per kWh + 25 % VAT: the plan shows 10.00; the charger gets
    the plan as a profile; the session that charges the 4 kWh costs 10.00."""
    currency = hass.config.currency
    tariff = Tariff(
        currency=currency,
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
    device_id = _device_id(hass, entry.entry_id)

    plan: Any = await hass.services.async_call(
        DOMAIN,
        "set_plan",
        {"device_id": device_id, "energy_kwh": 4, "mode": "now"},
        blocking=True,
        return_response=True,
    )

    assert (plan["state"], plan["execution"], plan["provisional"]) == (
        "charging_now",
        "charging_profile",
        False,
    )
    assert (plan["cost"], plan["currency"], plan["energy_wh"]) == ("10.00", currency, 4000)
    assert plan["windows"][0]["current_a"] == 32.0
    assert cp.requests_for("SetChargingProfile")
    assert cp.connector(1).limit_a == 32.0
    again: Any = await hass.services.async_call(
        DOMAIN, "get_plan", {"device_id": device_id}, blocking=True, return_response=True
    )
    assert again["windows"] == plan["windows"]
    assert again["cost"] == "10.00"

    cp.time_offset = charger_clock(10)
    await cp.send_meter_values(1, sampled_values=energy(14_000))
    await wait_state(hass, "sensor", "charger_CP1_session_cost", plan["cost"])

    await hass.services.async_call(DOMAIN, "clear_plan", {"device_id": device_id}, blocking=True)
    with pytest.raises(ServiceValidationError):
        await hass.services.async_call(
            DOMAIN, "get_plan", {"device_id": device_id}, blocking=True, return_response=True
        )
