"""The shipped dashboard (dashboards/ev_sessions.yaml, issue 16) refers only to entities and
statistics the integration creates: a hub with the household Anna and Bo, prices configured
and an OCPP charger named CP1 (the names the dashboard's example ids are built from)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant, valid_entity_id
from homeassistant.helpers import entity_registry as er
from homeassistant.util.yaml import load_yaml
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_sessions.const import DOMAIN
from custom_components.ev_sessions.core.tariff import EnergyPricing, Tariff
from custom_components.ev_sessions.statistics import statistic_ids
from simulators.ocpp import SimulatedChargePoint

from .conftest import MEMBERS
from .helpers import ocpp_charger_entry, set_fixed_price, wait_state

DASHBOARD = Path(__file__).parents[2] / "dashboards" / "ev_sessions.yaml"
Make = Callable[..., SimulatedChargePoint]


def _strings(node: Any) -> Iterator[str]:
    """Every string value in the YAML tree."""
    if isinstance(node, str):
        yield node
    elif isinstance(node, dict):
        for value in node.values():
            yield from _strings(value)
    elif isinstance(node, list):
        for item in node:
            yield from _strings(item)


def _card_types(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if "type" in node:
            yield node["type"]
        for value in node.values():
            yield from _card_types(value)
    elif isinstance(node, list):
        for item in node:
            yield from _card_types(item)


async def test_dashboard_refers_to_existing_entities_and_statistics(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """Every entity id in the dashboard is an entity of ours; every statistic id a member's."""
    tariff = Tariff(
        currency=hass.config.currency, energy=EnergyPricing.FIXED, fixed_price=Decimal(2)
    )
    await set_fixed_price(hass, hub, tariff)
    entry = ocpp_charger_entry(hass, "CP1")
    assert await hass.config_entries.async_setup(entry.entry_id)
    cp = make_cp("CP1", power_w=0.0)
    await cp.connect()
    await wait_state(hass, "binary_sensor", "charger_CP1_charger_connected", "on")
    await hass.async_block_till_done()

    dashboard = load_yaml(DASHBOARD)
    assert isinstance(dashboard, dict)
    assert dashboard["views"]
    ours = {
        entity.entity_id
        for entity in er.async_get(hass).entities.values()
        if entity.platform == DOMAIN
    }
    statistics = {sid for member in MEMBERS for sid in statistic_ids(member["id"])}
    referenced = [
        s for s in _strings(dashboard) if valid_entity_id(s) or s.startswith(f"{DOMAIN}:")
    ]
    assert referenced
    unknown = [s for s in referenced if s not in ours | statistics]
    assert unknown == []
    # what the issue asks the dashboard to show
    assert {"sensor.cp1_status", "sensor.cp1_power", "sensor.cp1_session_energy"} <= set(referenced)
    assert {"sensor.cp1_session_cost", "sensor.anna_energy_this_month"} <= set(referenced)
    assert {"history-graph", "statistics-graph"} <= set(_card_types(dashboard))
    # the plan (issue 13)
    assert {
        "select.cp1_plan_mode",
        "number.cp1_plan_energy",
        "time.cp1_ready_by",
        "sensor.cp1_plan_state",
        "sensor.cp1_plan_cost",
        "binary_sensor.cp1_charge_now",
    } <= set(referenced)
