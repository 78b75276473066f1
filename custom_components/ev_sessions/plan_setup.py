"""Planned charging in Home Assistant: the plans' store, the chargers' limits, and reports of
chargers that do not follow their plan (a repair and an event).

The core keeps the plans (:mod:`.core.charge_planning`); this module gives it what only Home
Assistant knows: where plans are kept across restarts (HA's ``Store``, no database table), each
charger's phases (its power budget option, else what it measures, else 3), current range and
battery capacity (its options), the SoC of a member's car (their battery sensor) and the site's
time zone.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.storage import Store

from .charger_options import (
    battery_capacity_wh,
    budget_options,
    current_range,
    measured_phases,
)
from .const import DOMAIN
from .core import ChargerLimits, PlanDeviation
from .hub import Hub
from .member_soc import member_soc
from .plan_preferences import async_start_recommendations

#: The event fired once when a charger does not follow its plan.
EVENT_PLAN_NOT_FOLLOWED = f"{DOMAIN}_plan_not_followed"
STORE_KEY = f"{DOMAIN}.plans"
STORE_VERSION = 1
#: Seconds a plan change may wait before it is written.
SAVE_DELAY = 5.0


class HaPlanStore:
    """The core's plan store port over HA's ``Store`` (a JSON file in ``.storage``)."""

    def __init__(self, hass: HomeAssistant) -> None:
        """One store per hub."""
        self._store: Store[dict[str, Any]] = Store(hass, STORE_VERSION, STORE_KEY)
        self._data: dict[str, Any] = {}

    async def async_load(self) -> Mapping[str, Any] | None:
        """The stored plans, if any."""
        return await self._store.async_load()

    def save(self, data: Mapping[str, Any]) -> None:
        """Write soon (changes within :data:`SAVE_DELAY` are written once)."""
        self._data = dict(data)
        self._store.async_delay_save(lambda: self._data, SAVE_DELAY)


def _limits(hub: Hub, charger_id: str) -> ChargerLimits:
    entry = hub.charger_entries.entry(charger_id)
    if entry is None:
        return ChargerLimits()
    limits = current_range(entry)
    phases = budget_options(entry).phases or measured_phases(entry) or 3
    return ChargerLimits(phases=phases, min_current_a=limits.min_a, max_current_a=limits.max_a)


def _battery(hub: Hub, charger_id: str) -> int | None:
    entry = hub.charger_entries.entry(charger_id)
    return None if entry is None else battery_capacity_wh(entry)


async def async_start_planning(hass: HomeAssistant, hub: Hub) -> Callable[[], None]:
    """Start the site's planning with HA's store (a pending write survives an unload: HA's
    store writes it at the latest when HA stops); returns what to call on unload."""
    planning = hub.site.planning
    planning.limits_of = lambda charger_id: _limits(hub, charger_id)
    planning.battery_of = lambda charger_id: _battery(hub, charger_id)
    planning.member_soc_of = lambda member_id: member_soc(hass, member_id)
    store = HaPlanStore(hass)

    @callback
    def not_followed(report: tuple[str, PlanDeviation]) -> None:
        charger_id, deviation = report
        name = hub.charger_name(charger_id)
        hass.bus.async_fire(
            EVENT_PLAN_NOT_FOLLOWED,
            {
                "charger_id": charger_id,
                "charger_name": name,
                "kind": deviation.kind,
                "since": deviation.since.isoformat(),
            },
        )
        ir.async_create_issue(
            hass,
            DOMAIN,
            f"plan_not_followed_{charger_id}",
            is_fixable=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key="plan_not_followed",
            translation_placeholders={"charger": name, "kind": deviation.kind},
        )

    remove = planning.deviations.add(not_followed)
    stop_learning = async_start_recommendations(hass, hub)
    await planning.async_start(store)

    def stop() -> None:
        remove()
        stop_learning()

    return stop
