"""The plan's entities on a charger (issue 13): mode, ready-by, energy / SoC target and price cap
re-plan when changed; planned start and finish, cost, state and charge now show the plan."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from decimal import Decimal

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_sessions.core.tariff import EnergyPricing, Tariff
from custom_components.ev_sessions.setup_charger import loaded_hub
from simulators.ocpp import SimulatedChargePoint

from .helpers import entity_id, ocpp_charger_entry, set_fixed_price, state_of, wait_state

Make = Callable[..., SimulatedChargePoint]


async def _charger(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> SimulatedChargePoint:
    """CP1 connected; a fixed 2.00 per kWh + 25 % VAT."""
    tariff = Tariff(
        currency=hass.config.currency,
        energy=EnergyPricing.FIXED,
        fixed_price=Decimal("2.00"),
        vat_rate=Decimal("0.25"),
    )
    await set_fixed_price(hass, hub, tariff)
    entry = ocpp_charger_entry(hass, "CP1")
    assert await hass.config_entries.async_setup(entry.entry_id)
    cp = make_cp("CP1", power_w=0.0)
    await cp.connect()
    await wait_state(hass, "binary_sensor", "charger_CP1_charger_connected", "on")
    return cp


async def _call(
    hass: HomeAssistant, domain: str, action: str, platform: str, key: str, **data: object
) -> None:
    await hass.services.async_call(
        domain,
        action,
        {"entity_id": entity_id(hass, platform, f"charger_CP1_{key}"), **data},
        blocking=True,
    )
    await hass.async_block_till_done()


async def test_no_plan_entities_show_nothing_planned(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """Without a plan: state "none", charge now off, the settings unknown."""
    await _charger(hass, hub, make_cp)
    assert state_of(hass, "sensor", "charger_CP1_plan_state") == "none"
    assert state_of(hass, "binary_sensor", "charger_CP1_plan_charge_now") == "off"
    assert state_of(hass, "select", "charger_CP1_plan_mode") == "none"
    assert state_of(hass, "number", "charger_CP1_plan_energy") == "unknown"
    assert state_of(hass, "time", "charger_CP1_plan_ready_by") == "unknown"


async def test_setting_the_energy_and_mode_plans_and_the_plan_is_shown(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """4 kWh now: charging now, cost 4 x 2.00 x 1.25 = 10.00, charge now on with the window;
    mode off: no windows, charge now off."""
    await _charger(hass, hub, make_cp)
    await _call(hass, "select", "select_option", "select", "plan_mode", option="now")
    await _call(hass, "number", "set_value", "number", "plan_energy", value=4)

    assert state_of(hass, "select", "charger_CP1_plan_mode") == "now"
    assert state_of(hass, "number", "charger_CP1_plan_energy") == "4.0"
    assert state_of(hass, "sensor", "charger_CP1_plan_state") == "charging_now"
    assert state_of(hass, "sensor", "charger_CP1_plan_cost") == "10.00"
    hub_ = loaded_hub(hass)
    assert hub_ is not None
    plan = hub_.site.planning.plan_of("CP1")
    assert plan is not None
    assert plan.plan.start is not None
    assert plan.plan.finish is not None
    start = datetime.fromisoformat(state_of(hass, "sensor", "charger_CP1_planned_start"))
    finish = datetime.fromisoformat(state_of(hass, "sensor", "charger_CP1_planned_finish"))
    assert (start, finish) == (
        plan.plan.start.replace(microsecond=0),
        plan.plan.finish.replace(microsecond=0),
    )
    charge_now = hass.states.get(entity_id(hass, "binary_sensor", "charger_CP1_plan_charge_now"))
    assert charge_now is not None
    assert charge_now.state == "on"
    windows = charge_now.attributes["windows"]
    assert sum(w["energy_kwh"] for w in windows) == 4.0
    assert charge_now.attributes["plan_state"] == "charging_now"

    await _call(hass, "select", "select_option", "select", "plan_mode", option="off")
    assert state_of(hass, "sensor", "charger_CP1_plan_state") == "off"
    assert state_of(hass, "binary_sensor", "charger_CP1_plan_charge_now") == "off"
    assert state_of(hass, "sensor", "charger_CP1_planned_start") == "unknown"

    # "No plan" clears it: the charger charges as it would without the hub
    await _call(hass, "select", "select_option", "select", "plan_mode", option="none")
    assert state_of(hass, "select", "charger_CP1_plan_mode") == "none"
    assert hub.runtime_data.hub.site.planning.plan_of("CP1") is None


async def test_ready_by_soc_and_price_cap_are_plan_settings(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """Each entity changes only its setting; energy and SoC targets replace each other. A
    ready-by alone (or a SoC target while the car's SoC is unknown) needs a target: nothing is
    sent to the charger."""
    cp = await _charger(hass, hub, make_cp)
    await _call(hass, "time", "set_value", "time", "plan_ready_by", time="07:00:00")
    assert state_of(hass, "sensor", "charger_CP1_plan_state") == "needs_target"
    assert cp.requests_for("SetChargingProfile") == []
    await _call(hass, "number", "set_value", "number", "plan_energy", value=15)
    await _call(hass, "number", "set_value", "number", "plan_price_cap", value=1.5)
    hub_ = loaded_hub(hass)
    assert hub_ is not None
    settings = hub_.site.planning.settings_of("CP1")
    assert settings is not None
    assert (settings.ready_by, settings.energy_wh, settings.price_cap) == (
        time(7, 0),
        15_000,
        Decimal("1.5"),
    )
    assert state_of(hass, "time", "charger_CP1_plan_ready_by") == "07:00:00"
    assert state_of(hass, "number", "charger_CP1_plan_price_cap") == "1.5"
    assert state_of(hass, "sensor", "charger_CP1_plan_state") == "planned"

    await _call(hass, "number", "set_value", "number", "plan_target_soc", value=80)
    settings = hub_.site.planning.settings_of("CP1")
    assert settings is not None
    assert (settings.target_soc_pct, settings.energy_wh) == (80, None)
    assert state_of(hass, "number", "charger_CP1_plan_energy") == "unknown"
    assert state_of(hass, "number", "charger_CP1_plan_target_soc") == "80.0"
    assert state_of(hass, "sensor", "charger_CP1_plan_state") == "needs_target"


async def test_estimated_end_is_the_plans_finish_while_a_car_is_plugged_in(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """A charger without a state of charge: no estimate until a car is plugged in with a plan
    (15 kWh by 07:00); then the plan's finish."""
    cp = await _charger(hass, hub, make_cp)
    await _call(hass, "time", "set_value", "time", "plan_ready_by", time="07:00:00")
    await _call(hass, "number", "set_value", "number", "plan_energy", value=15)
    assert state_of(hass, "sensor", "charger_CP1_estimated_end") == "unavailable"

    await cp.plug_in(1)
    await wait_state(hass, "binary_sensor", "charger_CP1_vehicle_connected", "on")
    hub_ = loaded_hub(hass)
    assert hub_ is not None
    await hub_.site.planning.async_wait_idle()
    await hass.async_block_till_done()
    plan = hub_.site.planning.plan_of("CP1")
    assert plan is not None
    assert plan.plan.finish is not None
    assert plan.plan.finish <= plan.plan.ready_by  # type: ignore[operator]
    assert state_of(hass, "sensor", "charger_CP1_estimated_end") == (
        plan.plan.finish.replace(microsecond=0).isoformat()
    )


async def test_the_plans_windows_are_calendar_events(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """4 kWh now: one event over the plan's window, titled with the energy and the cost."""
    await _charger(hass, hub, make_cp)
    await _call(hass, "select", "select_option", "select", "plan_mode", option="now")
    await _call(hass, "number", "set_value", "number", "plan_energy", value=4)
    calendar = entity_id(hass, "calendar", "site_sessions")
    now = dt_util.utcnow()
    response = await hass.services.async_call(
        "calendar",
        "get_events",
        {
            "entity_id": calendar,
            "start_date_time": now - timedelta(hours=1),
            "end_date_time": now + timedelta(hours=3),
        },
        blocking=True,
        return_response=True,
    )
    assert response is not None
    [event] = response[calendar]["events"]  # type: ignore[index]
    currency = hass.config.currency
    assert event["summary"] == f"CP1: planned charging 4.0 kWh, 10.00 {currency}"
    assert event["description"] == "Window 1 of 1: 4.0 kWh at 22.1 kW"
    hub_ = loaded_hub(hass)
    assert hub_ is not None
    plan = hub_.site.planning.plan_of("CP1")
    assert plan is not None
    window = plan.plan.windows[0]
    assert datetime.fromisoformat(event["start"]) == window.start
