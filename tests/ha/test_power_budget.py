"""The site power budget in HA: hub options with a fuse and a grid meter entity, simulated OCPP
chargers (1.6 and 2.0.1) charging, a household load step, limits reaching the chargers."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.ev_sessions.budget_glue import EVENT_BUDGET_PAUSED
from custom_components.ev_sessions.core import BudgetReason
from simulators.ocpp import SimulatedChargePoint

from .helpers import ocpp_charger_entry, state_of, wait_state, wait_until

Make = Callable[..., SimulatedChargePoint]
GRID = ["sensor.grid_l1", "sensor.grid_l2", "sensor.grid_l3"]
FUSE_A = 20.0


def _grid(hass: HomeAssistant, amps: float) -> None:
    for entity_id in GRID:
        hass.states.async_set(entity_id, f"{amps:.2f}", {"unit_of_measurement": "A"})


async def _budget_hub(hass: HomeAssistant, hub_entry: MockConfigEntry, **budget: Any) -> Any:
    """The hub set up with a 3 x 20 A budget on the per-phase grid sensors; its site."""
    hass.config_entries.async_update_entry(
        hub_entry,
        options={
            **hub_entry.options,
            "power_budget": {
                "fuse_a": FUSE_A,
                "phases": 3,
                "grid_current_entities": GRID,
                **budget,
            },
        },
    )
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    await hass.async_block_till_done()
    site = hub_entry.runtime_data.hub.site
    assert site.budget is not None
    return site


async def _charging_cp(
    hass: HomeAssistant,
    make_cp: Make,
    charger_id: str,
    *,
    options: dict[str, Any] | None = None,
    **config: Any,
) -> tuple[MockConfigEntry, SimulatedChargePoint]:
    """An OCPP charger entry (with ``options``) set up, its simulated car charging."""
    entry = ocpp_charger_entry(hass, charger_id)
    if options:
        hass.config_entries.async_update_entry(entry, options=options)
    assert await hass.config_entries.async_setup(entry.entry_id)
    cp = make_cp(charger_id, **config)
    await cp.connect()
    await wait_state(hass, "binary_sensor", f"charger_{charger_id}_charger_connected", "on")
    await cp.plug_in(1)
    await cp.start(1, "TAG-BO")
    return entry, cp


def _default(schema: Any, key: str) -> Any:
    """The default a form field shows."""
    return next(marker.default() for marker in schema.schema if marker == key)


async def test_a_household_step_keeps_three_cars_under_the_fuse(
    hass: HomeAssistant, hub_entry: MockConfigEntry, make_cp: Make
) -> None:
    """3 x 20 A, three charging cars, a 9 kW household step: after one round the cars' limits
    plus the household stay under the fuse; the sensors show it; a paused car fires an event."""
    _grid(hass, 0.5)
    hass.config_entries.async_update_entry(
        hub_entry,
        options={
            **hub_entry.options,
            "power_budget": {"fuse_a": FUSE_A, "phases": 3, "grid_current_entities": GRID},
        },
    )
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    await hass.async_block_till_done()
    site = hub_entry.runtime_data.hub.site
    assert site.budget is not None
    cps: list[SimulatedChargePoint] = []
    for index, version in enumerate(["1.6", "2.0.1", "1.6"]):
        charger_id = f"CP-B{index}"
        entry = ocpp_charger_entry(hass, charger_id)
        assert await hass.config_entries.async_setup(entry.entry_id)
        cp = make_cp(charger_id, version=version, phases=3)
        await cp.connect()
        await wait_state(hass, "binary_sensor", f"charger_{charger_id}_charger_connected", "on")
        await cp.plug_in(1)
        await cp.start(1, "TAG-BO")
        cps.append(cp)
    engine = site.engine
    await wait_until(
        hass,
        lambda: all(engine.connector(f"CP-B{i}", 1).session is not None for i in range(3)),
        what="three sessions",
    )
    paused = async_capture_events(hass, EVENT_BUDGET_PAUSED)
    site.budget.run_round()
    await site.async_wait_idle()
    # 19.5 A of headroom for three: 6.5 A each, sent as the chargers' maximum.
    assert [cp.connector(1).limit_a for cp in cps] == [6.5, 6.5, 6.5]
    await wait_state(hass, "sensor", "site_budget_state", "limited")
    assert state_of(hass, "sensor", "site_budget_headroom_l1") == "19.5"

    # The cars report what they draw (their limit); the engine takes it out of the grid meter.
    for cp in cps:
        await cp.send_meter_values(1)
    await wait_until(
        hass,
        lambda: all((engine.connector(f"CP-B{i}", 1).current_a or (0,))[0] for i in range(3)),
        what="the cars' currents",
    )
    # The oven and the kettle: 9 kW more (13 A per phase); the meter shows it with the cars.
    house = 0.5 + 9000 / 230 / 3
    _grid(hass, house + sum(cp.connector(1).limit_a or 0 for cp in cps))
    await wait_until(
        hass,
        lambda: sorted(cp.connector(1).limit_a or 0 for cp in cps)[0] == 0,
        what="the budget's round after the step",
    )
    await site.async_wait_idle()
    limits = [cp.connector(1).limit_a or 0.0 for cp in cps]
    assert house + sum(limits) <= FUSE_A
    assert sorted(limits)[-1] >= 6.0  # one car still charges (rotation takes turns)
    await wait_until(hass, lambda: len(paused) == 2, what="two pause events")
    assert len({event.data["charger_id"] for event in paused}) == 2
    allocated = f"charger_{cps[0].config.charger_id}_budget_allocated_current"
    value = state_of(hass, "sensor", allocated)
    assert float(value) == limits[0]


async def test_the_power_budget_options_step(hass: HomeAssistant, hub: MockConfigEntry) -> None:
    """The hub options menu has the power budget; its step stores the fuse and the meter and
    refuses a current sensor count that does not match the phases."""
    result = await hass.config_entries.options.async_init(hub.entry_id)
    assert "power_budget" in result["menu_options"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "power_budget"}
    )
    assert result["step_id"] == "power_budget"
    form = {
        "fuse_a": 25,
        "phases": "3",
        "grid_current_entities": GRID[:2],
        "solar_kind": "export",
        "sharing": "fair",
        "charge_mode": "fuse",
        "meter_timeout_s": 30,
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], form)
    assert result["errors"] == {"grid_current_entities": "grid_currents_per_phase"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**form, "grid_current_entities": GRID}
    )
    assert result["type"] == "create_entry"
    assert hub.options["power_budget"]["fuse_a"] == 25
    assert hub.options["power_budget"]["phases"] == 3
    assert hub.options["power_budget"]["grid_current_entities"] == GRID
    await hass.async_block_till_done()  # the hub reloads with its budget
    assert hub.runtime_data.hub.site.budget is not None


async def test_charger_budget_options_place_a_single_phase_charger(
    hass: HomeAssistant, hub_entry: MockConfigEntry, make_cp: Make
) -> None:
    """An OCPP charger reporting current on L1 only: its options suggest 1 phase; saved on L2
    with priority 5 and a minimum of 8 A, the budget counts it on L2 only and pauses it when
    only 7 A are left there (the charger's own minimum, 6 A, would still fit)."""
    _grid(hass, 0.5)
    site = await _budget_hub(hass, hub_entry)
    entry, cp = await _charging_cp(hass, make_cp, "CP-1P", phases=1)
    engine = site.engine
    await cp.send_meter_values(1)
    await wait_until(
        hass, lambda: (engine.connector("CP-1P", 1).current_a or (None,))[0], what="L1 current"
    )
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["step_id"] == "charger"
    assert _default(result["data_schema"], "budget_phases") == "1"
    assert _default(result["data_schema"], "budget_phase") == "1"
    assert _default(result["data_schema"], "budget_priority") == 0
    form = {"budget_phases": "1", "budget_phase": "2", "budget_priority": 5}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**form, "budget_min_current_a": 40}
    )
    assert result["errors"] == {"budget_min_current_a": "budget_min_out_of_range"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**form, "budget_min_current_a": 8}
    )
    assert result["type"] == "create_entry"
    assert {k: v for k, v in entry.options.items() if k.startswith("budget_")} == {
        "budget_phases": 1,
        "budget_phase": 2,
        "budget_priority": 5,
        "budget_min_current_a": 8.0,
    }
    await hass.async_block_till_done()
    await wait_state(hass, "binary_sensor", "charger_CP-1P_charger_connected", "on")

    budget = site.budget
    assert budget is not None
    outcome = budget.run_round()
    assert outcome.allocated_a == (0.0, 20.0, 0.0)  # only on L2, the whole fuse of L2
    draw = sum(value or 0.0 for value in engine.connector("CP-1P", 1).current_a or ())
    hass.states.async_set(GRID[1], f"{13.0 + draw:.2f}", {"unit_of_measurement": "A"})
    outcome = budget.run_round()
    assert outcome.headroom_a[1] == 7.0
    allocation = outcome.allocations["CP-1P"]
    assert (allocation.current_a, allocation.reason) == (0.0, BudgetReason.PAUSED)


async def test_charger_priority_from_its_options(
    hass: HomeAssistant, hub_entry: MockConfigEntry, make_cp: Make
) -> None:
    """Sharing by priority: the charger whose options give it priority 5 gets the rest of the
    headroom once both have their minimum."""
    _grid(hass, 0.5)
    site = await _budget_hub(hass, hub_entry, sharing="priority")
    await _charging_cp(hass, make_cp, "CP-LOW", phases=3)
    await _charging_cp(hass, make_cp, "CP-HIGH", options={"budget_priority": 5}, phases=3)
    engine = site.engine
    await wait_until(
        hass,
        lambda: all(engine.connector(c, 1).session for c in ("CP-LOW", "CP-HIGH")),
        what="two sessions",
    )
    outcome = site.budget.run_round()
    currents = {cid: a.current_a for cid, a in outcome.allocations.items()}
    assert currents == {"CP-HIGH": 13.5, "CP-LOW": 6.0}
