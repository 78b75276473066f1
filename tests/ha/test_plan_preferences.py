"""Member preferences for planned charging (issue 13): set in the member form, used as a plan's
defaults; a ready-by learned from the member's sessions is offered as a repair that writes the
preference when accepted."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from homeassistant.components.repairs import DOMAIN as REPAIRS_DOMAIN, repairs_flow_manager
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_sessions.const import CONF_DB_URL, DOMAIN
from custom_components.ev_sessions.core import PlanMode, SessionStore
from custom_components.ev_sessions.core.model import Session
from custom_components.ev_sessions.members import member_subentries
from custom_components.ev_sessions.setup_charger import loaded_hub

from .helpers import ocpp_charger_entry, state_of


def _anna(hub: MockConfigEntry) -> Any:
    return next(s for s in member_subentries(hub) if s.data["id"] == "anna")


async def _reconfigure_anna(
    hass: HomeAssistant, hub: MockConfigEntry, planning: dict[str, Any]
) -> dict[str, Any]:
    anna = _anna(hub)
    flow = await hub.start_subentry_reconfigure_flow(hass, anna.subentry_id)
    user_input = {
        "name": "Anna",
        "tags": list(anna.data["tags"]),
        "notify_targets": [],
        "planning": planning,
    }
    result: dict[str, Any] = dict(
        await hass.config_entries.subentries.async_configure(flow["flow_id"], user_input)
    )
    await hass.async_block_till_done()
    return result


async def test_preferences_from_the_member_form_are_a_plans_defaults(
    hass: HomeAssistant, hub: MockConfigEntry
) -> None:
    """Anna: ready by 07:00 on weekdays, 08:30 on weekends, 15 kWh, cheapest, nights only.
    A plan for her without an energy plans her 15 kWh."""
    result = await _reconfigure_anna(
        hass,
        hub,
        {
            "ready_by_weekdays": "07:00:00",
            "ready_by_weekend": "08:30:00",
            "energy_kwh": 15,
            "mode": "cheapest",
            "allowed_from": "22:00:00",
            "allowed_until": "06:00:00",
        },
    )
    assert result["type"] == "abort"
    assert result["reason"] == "reconfigure_successful"
    stored = _anna(hub).data["preferences"]
    assert stored["ready_by"] == {
        **{str(day): "07:00" for day in range(5)},
        "5": "08:30",
        "6": "08:30",
    }
    assert (stored["energy_wh"], stored["mode"]) == (15_000, "cheapest")
    assert stored["allowed_hours"] == [{"start": "22:00", "end": "06:00"}]
    hub_ = loaded_hub(hass)
    assert hub_ is not None
    preferences = hub_.site.planning.preferences_of("anna")
    assert preferences.ready_by[0] == time(7, 0)
    assert preferences.mode is PlanMode.CHEAPEST

    plan: Any = await hass.services.async_call(
        DOMAIN,
        "set_plan",
        {"device_id": await _charger_device(hass), "member": "anna"},
        blocking=True,
        return_response=True,
    )
    assert plan["needed_wh"] == 15_000
    assert plan["member_id"] == "anna"


async def _charger_device(hass: HomeAssistant) -> str:
    """The device of a set-up charger that never connected (plans need no connection)."""
    entry = ocpp_charger_entry(hass, "CP-PREF")
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)[0].id


async def test_energy_and_soc_together_are_refused(
    hass: HomeAssistant, hub: MockConfigEntry
) -> None:
    """One target: an energy or a state of charge."""
    result = await _reconfigure_anna(hass, hub, {"energy_kwh": 15, "target_soc": 80})
    assert result["type"] == "form"
    assert result["errors"] == {"base": "energy_and_soc"}
    assert "preferences" not in _anna(hub).data


async def _seed_history(path: Path, now: datetime) -> int:
    """Anna plugs in at 18:00 and unplugs at 07:10 on weekday mornings (12 kWh), 3 weeks."""
    tz = dt_util.get_default_time_zone()
    store = SessionStore(f"sqlite:///{path}")
    await store.async_open()
    sessions = []
    for days_ago in range(1, 22):
        day = (now.astimezone(tz) - timedelta(days=days_ago)).date()
        if day.weekday() >= 5:
            continue
        leave = datetime.combine(day, time(7, 10), tzinfo=tz)
        plug = leave - timedelta(hours=13, minutes=10)
        sessions.append(
            Session(
                id=f"s{days_ago}",
                charger_id="CP1",
                connector_id=1,
                plugged_in_at=dt_util.as_utc(plug),
                unplugged_at=dt_util.as_utc(leave),
                member_id="anna",
                energy_wh=12_000,
            )
        )
    try:
        await store.async_save(sessions)
    finally:
        await store.async_close()
    return len(sessions)


async def test_a_learned_ready_by_is_offered_and_accepted_as_a_repair(
    hass: HomeAssistant, hub_entry: MockConfigEntry
) -> None:
    """Three weeks of Anna leaving at 07:10: a repair offers ready-by 07:00 on weekdays with
    the number of sessions; accepting it writes her preference and the repair is gone."""
    assert await async_setup_component(hass, REPAIRS_DOMAIN, {})
    path = Path(str(hub_entry.options[CONF_DB_URL]).removeprefix("sqlite:///"))
    count = await _seed_history(path, dt_util.utcnow())
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    await hass.async_block_till_done()
    assert hub_entry.state is ConfigEntryState.LOADED

    issue = ir.async_get(hass).async_get_issue(DOMAIN, "plan_recommendation_anna")
    assert issue is not None
    assert issue.is_fixable
    assert issue.translation_key == "plan_recommendation_weekdays"
    assert issue.translation_placeholders == {
        "member": "Anna",
        "departure": "07:10",
        "ready_by": "07:00",
        "sessions": str(count),
        "energy_kwh": "12.0",
    }

    manager = repairs_flow_manager(hass)
    assert manager is not None
    flow = await manager.async_init(DOMAIN, data={"issue_id": "plan_recommendation_anna"})
    assert flow["step_id"] == "confirm"
    result = await manager.async_configure(flow["flow_id"], {})
    assert result["type"] == "create_entry"
    await hass.async_block_till_done()
    stored = _anna(hub_entry).data["preferences"]
    assert stored["ready_by"] == {str(day): "07:00" for day in range(5)}
    assert stored["energy_wh"] == 12_000
    assert ir.async_get(hass).async_get_issue(DOMAIN, "plan_recommendation_anna") is None


async def test_changed_preferences_replan_the_members_charger_at_once(
    hass: HomeAssistant, hub: MockConfigEntry
) -> None:
    """Anna's plan takes her 15 kWh; she changes her preference to 10 kWh in the member form:
    her charger's plan needs 10 kWh right away."""
    await _reconfigure_anna(hass, hub, {"ready_by_weekdays": "07:00:00", "energy_kwh": 15})
    device_id = await _charger_device(hass)
    plan: Any = await hass.services.async_call(
        DOMAIN,
        "set_plan",
        {"device_id": device_id, "member": "anna"},
        blocking=True,
        return_response=True,
    )
    assert plan["needed_wh"] == 15_000

    await _reconfigure_anna(hass, hub, {"ready_by_weekdays": "07:00:00", "energy_kwh": 10})
    hub_ = loaded_hub(hass)
    assert hub_ is not None
    await hub_.site.planning.async_wait_idle()
    again: Any = await hass.services.async_call(
        DOMAIN, "get_plan", {"device_id": device_id}, blocking=True, return_response=True
    )
    assert again["needed_wh"] == 10_000
    assert again["member_id"] == "anna"


async def test_a_plan_without_a_mode_uses_the_members_preferred_mode(
    hass: HomeAssistant, hub: MockConfigEntry
) -> None:
    """Anna prefers price_cap at 1.00: set_plan for her without a mode plans by it, with her
    cap, and the charger's mode select shows it; a mode in the call wins."""
    await _reconfigure_anna(hass, hub, {"energy_kwh": 10, "mode": "price_cap", "price_cap": 1.0})
    device = await _charger_device(hass)

    plan: Any = await hass.services.async_call(
        DOMAIN,
        "set_plan",
        {"device_id": device, "member": "anna"},
        blocking=True,
        return_response=True,
    )

    assert plan["mode"] == "price_cap"
    hub_ = loaded_hub(hass)
    assert hub_ is not None
    settings = hub_.site.planning.settings_of("CP-PREF")
    assert settings is not None
    assert settings.mode is None
    await hass.async_block_till_done()
    assert state_of(hass, "select", "charger_CP-PREF_plan_mode") == "price_cap"

    plan = await hass.services.async_call(
        DOMAIN,
        "set_plan",
        {"device_id": device, "member": "anna", "mode": "continuous"},
        blocking=True,
        return_response=True,
    )
    assert plan["mode"] == "continuous"
    await hass.async_block_till_done()
    assert state_of(hass, "select", "charger_CP-PREF_plan_mode") == "continuous"


#: Saturday 5 December 2026, 06:00 in the tests' time zone (US/Pacific).
SATURDAY_MORNING = "2026-12-05T14:00:00+00:00"


@pytest.mark.freeze_time(SATURDAY_MORNING, tick=True)
async def test_a_day_of_its_own_is_the_plans_ready_by_that_day(
    hass: HomeAssistant, hub: MockConfigEntry
) -> None:
    """Anna: 07:00 on weekdays, 10:00 on weekends, but 09:00 on Saturdays and 08:00 on Fridays:
    her preferences keep each day's time, the form shows them so that saving it again changes
    nothing, and a plan for her
    on Saturday morning is ready by Saturday's 09:00."""
    now = dt_util.now()
    assert (now.weekday(), now.hour) == (5, 6)
    result = await _reconfigure_anna(
        hass,
        hub,
        {
            "ready_by_weekdays": "07:00:00",
            "ready_by_weekend": "10:00:00",
            "ready_by_friday": "08:00:00",
            "ready_by_saturday": "09:00:00",
            "energy_kwh": 10,
        },
    )
    assert result["reason"] == "reconfigure_successful"
    assert _anna(hub).data["preferences"]["ready_by"] == {
        **{str(day): "07:00" for day in range(4)},
        "4": "08:00",
        "5": "09:00",
        "6": "10:00",
    }
    flow = await hub.start_subentry_reconfigure_flow(hass, _anna(hub).subentry_id)
    section = next(
        value.schema for key, value in flow["data_schema"].schema.items() if key == "planning"
    )
    shown = {
        str(key): key.description["suggested_value"]
        for key in section.schema
        if str(key).startswith("ready_by_") and key.description["suggested_value"] is not None
    }
    assert shown["ready_by_weekdays"] == "07:00:00"
    assert shown["ready_by_friday"] == "08:00:00"
    stored = _anna(hub).data["preferences"]
    hass.config_entries.subentries.async_abort(flow["flow_id"])
    await _reconfigure_anna(hass, hub, {**shown, "energy_kwh": 10})
    assert _anna(hub).data["preferences"] == stored

    plan: Any = await hass.services.async_call(
        DOMAIN,
        "set_plan",
        {"device_id": await _charger_device(hass), "member": "anna"},
        blocking=True,
        return_response=True,
    )

    ready_by = datetime.fromisoformat(plan["ready_by"]).astimezone(now.tzinfo)
    assert (ready_by.date(), ready_by.time()) == (now.date(), time(9, 0))
