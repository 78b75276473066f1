"""Planned charging in Home Assistant (issue 13): set_plan / get_plan / clear_plan on an OCPP
charger; the plan goes to the charger as a charging profile and the session costs what the plan
showed."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_sessions.const import DOMAIN
from custom_components.ev_sessions.core.tariff import EnergyPricing, Tariff
from custom_components.ev_sessions.setup_charger import loaded_hub
from simulators.ocpp import SimulatedChargePoint

from .helpers import charger_clock, ocpp_charger_entry, set_fixed_price, wait_state, wait_until
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


#: Every day 02:00-04:00 at 0.50 per kWh, else 2.00 (local time); 25 % VAT.
NIGHT_TOU = {
    "default": "2.00",
    "windows": [{"days": "all", "start": "02:00", "end": "04:00", "price": "0.50"}],
}


async def set_tou_prices(hass: HomeAssistant, hub: MockConfigEntry, schedule: Any) -> None:
    """A time-of-use price source (cheap nights) and a spot-like tariff with 25 % VAT."""
    tariff = Tariff(
        currency=hass.config.currency, fallback_price=Decimal("2.00"), vat_rate=Decimal("0.25")
    )
    options = {
        **hub.options,
        "price_source": {"kind": "tou", "schedule": schedule},
        "tariff": tariff.to_dict(),
    }
    hass.config_entries.async_update_entry(hub, options=options)
    await hass.async_block_till_done()


async def test_cheapest_charger_for_a_member_with_several(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """15 kWh for Anna with cheap nights: CP1 (3 x 32 A) fits it into the cheap hours, CP2
    (one phase, 7.4 kW) cannot: CP1 is cheapest, at 02:00. While Bo charges at CP1, CP2 is
    the cheapest free one (CP1 is listed as busy)."""
    await set_tou_prices(hass, hub, NIGHT_TOU)
    cp1 = ocpp_charger_entry(hass, "CP1")
    cp2 = ocpp_charger_entry(hass, "CP2")
    hass.config_entries.async_update_entry(cp2, options={"budget_phases": 1})
    for entry in (cp1, cp2):
        assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    async def cheapest(**data: Any) -> Any:
        return await hass.services.async_call(
            DOMAIN,
            "cheapest_charger",
            {"member": "anna", "energy_kwh": 15, **data},
            blocking=True,
            return_response=True,
        )

    answer = await cheapest()
    first, second = answer["chargers"]
    assert (first["charger_id"], second["charger_id"]) == ("CP1", "CP2")
    assert answer["cheapest"] == first
    assert first["charger_name"] == "CP1"
    start = dt_util.as_local(datetime.fromisoformat(first["start"]))
    assert (start.hour, start.minute) == (2, 0)
    assert first["energy_wh"] == second["energy_wh"] == 15_000
    assert Decimal(first["cost"]) < Decimal(second["cost"])
    assert first["windows"][0]["power_w"] == 3 * 230 * 32.0
    assert second["windows"][0]["power_w"] == 230 * 32.0
    # The cost CP1 shows is what a plan on CP1 costs.
    plan: Any = await hass.services.async_call(
        DOMAIN,
        "set_plan",
        {"device_id": _device_id(hass, cp1.entry_id), "member": "anna", "energy_kwh": 15},
        blocking=True,
        return_response=True,
    )
    assert (plan["cost"], plan["windows"]) == (first["cost"], first["windows"])

    cp = make_cp("CP1", power_w=0.0)
    await cp.connect()
    await cp.plug_in(1)
    assert await cp.swipe("TAG-BO") == "Accepted"
    await cp.start(1, "TAG-BO")
    hub_ = loaded_hub(hass)
    assert hub_ is not None
    await wait_until(hass, lambda: hub_.engine.connector("CP1", 1).session is not None)
    answer = await cheapest(
        device_id=[_device_id(hass, cp2.entry_id), _device_id(hass, cp1.entry_id)]
    )
    assert [(c["charger_id"], c["busy"]) for c in answer["chargers"]] == [
        ("CP2", False),
        ("CP1", True),
    ]
    assert answer["cheapest"]["charger_id"] == "CP2"


async def test_a_plan_uses_the_phases_an_ocpp_charger_measures(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """A 1 x 32 A OCPP charger (it reports current on L1 only) is planned at 7.36 kW, not
    22 kW: 15 kWh take two hours and three minutes, not 41 minutes."""
    await set_tou_prices(hass, hub, NIGHT_TOU)
    entry = ocpp_charger_entry(hass, "CP1")
    assert await hass.config_entries.async_setup(entry.entry_id)
    cp = make_cp("CP1", power_w=0.0, meter_start_wh=10_000)
    await cp.connect()
    await cp.plug_in(1)
    assert await cp.swipe("TAG-ANNA") == "Accepted"
    await cp.start(1, "TAG-ANNA")
    await cp.send_meter_values(1, sampled_values=energy(10_000))  # 10.5 A on L1 only
    hub_ = loaded_hub(hass)
    assert hub_ is not None
    await wait_until(hass, lambda: hub_.engine.connector("CP1", 1).current_a[0] == 10.5)

    plan: Any = await hass.services.async_call(
        DOMAIN,
        "set_plan",
        {"device_id": _device_id(hass, entry.entry_id), "energy_kwh": 15, "mode": "now"},
        blocking=True,
        return_response=True,
    )

    assert {w["power_w"] for w in plan["windows"]} == {230 * 32.0}
    start = datetime.fromisoformat(plan["windows"][0]["start"])
    finish = datetime.fromisoformat(plan["windows"][-1]["end"])
    assert round((finish - start).total_seconds() / 60) == round(15_000 / 7360 * 60)
