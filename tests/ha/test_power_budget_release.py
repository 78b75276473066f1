"""The site power budget's glue: the fallback current as configured, and a charger-wide limit
of the hub's released when no budget wants it any more."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_sessions.budget_flow import budget_config
from custom_components.ev_sessions.budget_glue import budget_charger
from custom_components.ev_sessions.chargers.modbus import custom_profile
from custom_components.ev_sessions.core import (
    BudgetReason,
    ChargerLoad,
    PowerBudget,
)
from simulators.modbus import ChargerSimulator

from .helpers import fast_modbus, ocpp_charger_entry, wait_until
from .test_power_budget import (  # noqa: F401  (sims: the fixture)
    MODBUS_ID,
    ONE_PHASE,
    Make,
    _budget_hub,
    _charging_cp,
    _grid,
    _modbus_charger,
    sims,
)

#: A moment (the budget has no clock of its own).
T0 = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)


def test_a_fallback_of_zero_pauses_every_charger() -> None:
    """A fallback current of 0 A is a setting (pause everything while the meter is silent),
    not an empty field that falls back to the fuse divided among the chargers."""
    meter = {"fuse_a": 20, "phases": 3, "grid_power_entity": "sensor.grid"}
    config = budget_config({"power_budget": {**meter, "fallback_a": 0}})
    assert config is not None
    assert config.settings.fallback_a == 0.0
    result = PowerBudget(config.settings).allocate(
        T0, [ChargerLoad(charger_id="cp", active=True)], grid=None
    )
    assert result.allocations["cp"].current_a == 0.0
    assert result.allocations["cp"].reason is BudgetReason.FALLBACK
    empty = budget_config({"power_budget": meter})
    assert empty is not None
    assert empty.settings.fallback_a is None


async def test_turning_the_budget_off_releases_the_chargers(
    hass: HomeAssistant, hub_entry: MockConfigEntry, make_cp: Make
) -> None:
    """The budget caps a charging OCPP charger with a charger-wide maximum (a profile the
    charger keeps); turning the budget off clears that profile before the hub reloads (after
    the reload no budget and no arbiter state would be left to clear it)."""
    _grid(hass, 0.5)
    site = await _budget_hub(hass, hub_entry)
    _entry, cp = await _charging_cp(hass, make_cp, "CP-R1", phases=3)
    await wait_until(
        hass, lambda: site.engine.connector("CP-R1", 1).session is not None, what="a session"
    )
    site.budget.run_round()
    await site.async_wait_idle()
    assert cp.connector(1).limit_a == 19.5  # 20 A fuse, 0.5 A household
    options = {**hub_entry.options}
    del options["power_budget"]
    hass.config_entries.async_update_entry(hub_entry, options=options)
    await hass.async_block_till_done()
    assert hub_entry.runtime_data.hub.site.budget is None  # reloaded without a budget
    assert cp.connector(1).limit_a is None
    clears = [payload for action, payload in cp.requests if action == "ClearChargingProfile"]
    assert clears == [{"id": 3000}]


async def test_a_charger_s_draw_counts_for_twice_its_sample_interval(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    sims: list[ChargerSimulator],  # noqa: F811
) -> None:
    """A Modbus charger reports an unchanged draw every ``sample_interval_s`` (60 s), an OCPP
    charger at the hub's meter interval: a sample counts as the charger's draw for twice that
    (below the budget's 30 s the default holds)."""
    _grid(hass, 0.5)
    await _budget_hub(hass, fast_modbus(hass, hub_entry))
    await _modbus_charger(hass, sims, custom_profile(ONE_PHASE), {"profile": ONE_PHASE})
    assert await hass.config_entries.async_setup(ocpp_charger_entry(hass, "CP-S1").entry_id)
    config = budget_config(hub_entry.options)
    assert config is not None
    modbus = budget_charger(hass, config, MODBUS_ID, 10)
    assert modbus.sample_max_age == timedelta(seconds=120)
    assert modbus.phases == 1
    assert budget_charger(hass, config, "CP-S1", 60).sample_max_age == timedelta(seconds=120)
    site = hub_entry.runtime_data.hub.site
    assert site.budget._charger_settings("CP-S1").sample_max_age is None  # 2 x 10 s < 30 s
    await hass.async_block_till_done()
    assert await hass.config_entries.async_unload(hub_entry.entry_id)
