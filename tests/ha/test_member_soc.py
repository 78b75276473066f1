"""The SoC of a member's car from a battery sensor chosen in the member form (issue 13): used
for their plans' target SoC and their sessions' estimated end where the charger knows no SoC;
the charger's own SoC wins, then the charger's SoC sensor option, then the member's."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_sessions.charger_options import CONF_BATTERY_CAPACITY, CONF_SOC_ENTITY
from custom_components.ev_sessions.const import DOMAIN
from custom_components.ev_sessions.members import member_subentries
from custom_components.ev_sessions.setup_charger import loaded_hub
from simulators.ocpp import SimulatedChargePoint

from .helpers import ocpp_charger_entry, state_of, wait_state, wait_until
from .test_estimated_end import _with_soc
from .test_ocpp_hub import energy

Make = Callable[..., SimulatedChargePoint]
ANNAS_CAR = "sensor.annas_car_battery"
GARAGE_CAR = "sensor.garage_car_battery"


def _battery(hass: HomeAssistant, entity_id: str, state: str) -> None:
    hass.states.async_set(entity_id, state, {"device_class": "battery", "unit_of_measurement": "%"})


def _anna(hub: MockConfigEntry) -> Any:
    return next(s for s in member_subentries(hub) if s.data["id"] == "anna")


async def _give_anna_her_car(hass: HomeAssistant, hub: MockConfigEntry) -> None:
    """Anna's member form: her car's battery sensor."""
    anna = _anna(hub)
    flow = await hub.start_subentry_reconfigure_flow(hass, anna.subentry_id)
    result = await hass.config_entries.subentries.async_configure(
        flow["flow_id"],
        {
            "name": "Anna",
            "soc_entity_id": ANNAS_CAR,
            "tags": list(anna.data["tags"]),
            "notify_targets": [],
        },
    )
    assert result["reason"] == "reconfigure_successful"
    await hass.async_block_till_done()


async def _charger(hass: HomeAssistant, charger_id: str, **options: Any) -> str:
    """A set-up OCPP charger with a 40 kWh battery in its options; its device id."""
    entry = ocpp_charger_entry(hass, charger_id)
    hass.config_entries.async_update_entry(entry, options={CONF_BATTERY_CAPACITY: 40.0, **options})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)[0].id


async def _plan_80_percent(hass: HomeAssistant, device_id: str) -> Any:
    return await hass.services.async_call(
        DOMAIN,
        "set_plan",
        {"device_id": device_id, "member": "anna", "target_soc": 80, "ready_by": "07:00:00"},
        blocking=True,
        return_response=True,
    )


async def test_the_member_form_keeps_the_car_sensor_and_a_plan_uses_it(
    hass: HomeAssistant, hub: MockConfigEntry
) -> None:
    """Anna's car at 50 %: a plan for her to 80 % of a 40 kWh battery needs 12 kWh; emptying
    the field removes the sensor."""
    _battery(hass, ANNAS_CAR, "50")
    await _give_anna_her_car(hass, hub)
    assert _anna(hub).data["soc_entity_id"] == ANNAS_CAR
    device_id = await _charger(hass, "CP-SOC")

    plan = await _plan_80_percent(hass, device_id)

    assert plan["state"] != "needs_target"
    assert plan["needed_wh"] == 12_000
    anna = _anna(hub)
    flow = await hub.start_subentry_reconfigure_flow(hass, anna.subentry_id)
    await hass.config_entries.subentries.async_configure(
        flow["flow_id"], {"name": "Anna", "tags": list(anna.data["tags"]), "notify_targets": []}
    )
    assert "soc_entity_id" not in _anna(hub).data


async def test_the_chargers_sensor_wins_over_the_members(
    hass: HomeAssistant, hub: MockConfigEntry
) -> None:
    """The charger's options name a car sensor at 60 %, Anna's car says 50 %: the charger's
    counts (8 kWh to 80 %)."""
    _battery(hass, ANNAS_CAR, "50")
    _battery(hass, GARAGE_CAR, "60")
    await _give_anna_her_car(hass, hub)
    device_id = await _charger(hass, "CP-SOC", **{CONF_SOC_ENTITY: GARAGE_CAR})

    plan = await _plan_80_percent(hass, device_id)

    assert plan["needed_wh"] == 8_000


def _end(hass: HomeAssistant) -> datetime:
    return datetime.fromisoformat(state_of(hass, "sensor", "charger_CP-SOC_estimated_end"))


async def test_the_members_car_gives_her_sessions_estimated_end(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """Anna charges at 10 kW on a charger that reports no SoC: her car at 50 % of 40 kWh is
    full in 2 hours, at 75 % in 1 hour; after her session the connector no longer shows her
    car's SoC, her next session does again; once the charger reports a SoC itself, the
    charger's counts."""
    _battery(hass, ANNAS_CAR, "50")
    await _give_anna_her_car(hass, hub)
    await _charger(hass, "CP-SOC")
    hub_ = loaded_hub(hass)
    assert hub_ is not None
    cp = make_cp("CP-SOC", power_w=0.0)
    cp.time_offset = timedelta(0)  # the charger's clock is HA's: estimates count from now
    await cp.connect()
    await cp.plug_in(1)
    assert await cp.swipe("TAG-ANNA") == "Accepted"
    await cp.start(1, "TAG-ANNA")
    await cp.send_meter_values(1, sampled_values=energy(1_000, power_w=10_000.0))
    await wait_state(hass, "sensor", "charger_CP-SOC_power", "10.0")
    before = dt_util.utcnow()
    _battery(hass, ANNAS_CAR, "50.0")
    await wait_until(hass, lambda: hub_.engine.connector("CP-SOC", 1).soc_pct == 50.0)
    await wait_until(
        hass, lambda: state_of(hass, "sensor", "charger_CP-SOC_estimated_end") != "unavailable"
    )
    assert before + timedelta(hours=2) - timedelta(seconds=5) <= _end(hass)
    assert _end(hass) <= dt_util.utcnow() + timedelta(hours=2)
    _battery(hass, ANNAS_CAR, "75")
    await wait_until(hass, lambda: _end(hass) < before + timedelta(hours=1, minutes=1))

    await cp.stop(1)
    await cp.unplug(1)
    await wait_until(hass, lambda: hub_.engine.connector("CP-SOC", 1).session is None)
    await wait_until(hass, lambda: hub_.engine.connector("CP-SOC", 1).soc_pct is None)

    await cp.plug_in(1)
    assert await cp.swipe("TAG-ANNA") == "Accepted"
    await cp.start(1, "TAG-ANNA")
    await wait_until(hass, lambda: hub_.engine.connector("CP-SOC", 1).soc_pct == 75.0)
    await cp.send_meter_values(1, sampled_values=_with_soc(2_000, 90))
    await wait_until(hass, lambda: hub_.engine.connector("CP-SOC", 1).soc_pct == 90.0)
    _battery(hass, ANNAS_CAR, "10")  # the charger's own SoC wins from now on
    await hass.async_block_till_done()
    assert hub_.engine.connector("CP-SOC", 1).soc_pct == 90.0
    assert _end(hass) < dt_util.utcnow() + timedelta(minutes=30)  # 10 % of 40 kWh at 10 kW
