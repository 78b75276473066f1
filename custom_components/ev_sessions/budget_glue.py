"""The site power budget in Home Assistant: meters in, events and repairs out.

Started by the hub when the hub options have a main fuse (:func:`async_start_budget`). The grid
meter and solar entities are read at every round (their ``last_reported`` is the reading's
time, so a meter that repeats its value is not taken for silent) and a change of a grid entity
runs a round soon (``async_track_state_change_event``, debounced by the core). Each charger
takes part with its current range (the current-limit entity's), its budget options (phases,
the site phase of a 1-phase charger, priority, a minimum current; without them 3 phases, or 1
for a Modbus profile without L2/L3, on L1, priority 0) and its plan's ready-by time (sharing by
urgency). Notices become
events (``ev_sessions_budget_throttled``, ``ev_sessions_budget_paused``,
``ev_sessions_charger_disobeying``) and a disobeying charger a repair that goes when it obeys
again.

Turning the budget off releases the chargers before the hub reloads
(:func:`async_release_turned_off`): the budget's limit is a charger-wide maximum that an OCPP
charger keeps (a profile of its own), and after the reload nothing would be left to clear it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import datetime, timedelta
import logging
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN, UnitOfPower
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, State, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import async_track_state_change_event

from .budget_flow import SOLAR_PRODUCTION, BudgetConfig, budget_config
from .charger_options import budget_options, charger_entry, current_range, phase_count
from .chargers.modbus.register_map import RegisterMap
from .const import CONF_METER_INTERVAL, DEFAULT_METER_INTERVAL, DOMAIN
from .core import (
    BudgetCharger,
    BudgetNotice,
    BudgetNoticeKind,
    ChargingSite,
    GridReading,
    SiteBudget,
    SiteBudgetSettings,
    SolarReading,
)

EVENT_BUDGET_THROTTLED: Final = f"{DOMAIN}_budget_throttled"
EVENT_BUDGET_PAUSED: Final = f"{DOMAIN}_budget_paused"
EVENT_CHARGER_DISOBEYING: Final = f"{DOMAIN}_charger_disobeying"
ISSUE_DISOBEYING: Final = "charger_disobeying"
_EVENTS: Final = {
    BudgetNoticeKind.THROTTLED: EVENT_BUDGET_THROTTLED,
    BudgetNoticeKind.PAUSED: EVENT_BUDGET_PAUSED,
    BudgetNoticeKind.DISOBEYING: EVENT_CHARGER_DISOBEYING,
    BudgetNoticeKind.DISOBEYING_PAUSED: EVENT_CHARGER_DISOBEYING,
}
_POWER_FACTORS: Final = {UnitOfPower.WATT: 1.0, UnitOfPower.KILO_WATT: 1000.0}
#: Turning the budget off waits at most this long for the chargers to take the release (s).
RELEASE_TIMEOUT_S: Final = 10.0
_LOGGER = logging.getLogger(__name__)


def _number(state: State | None) -> float | None:
    if state is None or state.state in (STATE_UNAVAILABLE, STATE_UNKNOWN):
        return None
    try:
        return float(state.state)
    except ValueError:
        return None


def _watts(state: State | None) -> float | None:
    value = _number(state)
    if value is None or state is None:
        return None
    unit = state.attributes.get("unit_of_measurement", UnitOfPower.WATT)
    return value * _POWER_FACTORS.get(unit, 1.0)


def _reported(states: list[State | None]) -> datetime | None:
    """When the oldest of the entities last reported (None if one never did)."""
    times = [state.last_reported for state in states if state is not None]
    return min(times) if times and len(times) == len(states) else None


def read_grid(hass: HomeAssistant, config: BudgetConfig) -> GridReading | None:
    """The grid meter now (None when it has no usable value)."""
    if config.grid_power:
        state = hass.states.get(config.grid_power)
        watts = _watts(state)
        if watts is None or state is None:
            return None
        return GridReading(at=state.last_reported, power_w=watts)
    if not config.grid_currents:
        return None
    states = [hass.states.get(entity_id) for entity_id in config.grid_currents]
    values = [_number(state) for state in states]
    at = _reported(states)
    if at is None or any(value is None for value in values):
        return None
    amps = [value or 0.0 for value in values] + [0.0, 0.0]
    return GridReading(at=at, currents_a=(amps[0], amps[1], amps[2]))


def read_solar(hass: HomeAssistant, config: BudgetConfig) -> SolarReading | None:
    """The solar entity now (None when there is none or it has no value)."""
    if not config.solar_entity:
        return None
    state = hass.states.get(config.solar_entity)
    watts = _watts(state)
    if watts is None or state is None:
        return None
    if config.solar_kind == SOLAR_PRODUCTION:
        return SolarReading(at=state.last_reported, production_w=watts)
    return SolarReading(at=state.last_reported, export_w=watts)


def sample_max_age(entry: ConfigEntry, meter_interval_s: float | None) -> timedelta | None:
    """How recent a charger's sample must be to count as its draw: twice the interval it
    reports at while nothing changes (a Modbus profile's ``sample_interval_s``, an OCPP
    charger's meter interval from the hub options); None: the budget's default."""
    adapter = getattr(getattr(entry, "runtime_data", None), "adapter", None)
    profile = getattr(adapter, "profile", None)
    seconds = profile.sample_interval_s if isinstance(profile, RegisterMap) else meter_interval_s
    if not seconds:
        return None
    return timedelta(seconds=2 * seconds)


def budget_charger(
    hass: HomeAssistant, config: BudgetConfig, charger_id: str, meter_interval_s: float | None
) -> BudgetCharger:
    """How a charger takes part in the budget (its options and current range)."""
    entry = charger_entry(hass, charger_id)
    if entry is None:
        return BudgetCharger(mode=config.mode)
    limits = current_range(entry)
    options = budget_options(entry)
    phases = options.phases or (1 if phase_count(entry) == 1 else 3)
    min_a = limits.min_a if options.min_a is None else max(options.min_a, limits.min_a)
    return BudgetCharger(
        phases=1 if config.settings.phases == 1 else phases,
        phase=options.phase,
        priority=options.priority,
        min_a=min(min_a, limits.max_a),
        max_a=limits.max_a,
        mode=config.mode,
        sample_max_age=sample_max_age(entry, meter_interval_s),
    )


def _ready_by(site: ChargingSite, charger_id: str) -> datetime | None:
    """When the charger's plan wants the car ready (urgency), if it has a plan."""
    planned = site.planning.plan_of(charger_id)
    return planned.plan.ready_by if planned is not None else None


@callback
def async_start_budget(
    hass: HomeAssistant, entry: ConfigEntry, site: ChargingSite
) -> Callable[[], None] | None:
    """Start the site's budget when the hub options set a fuse; returns its stop."""
    config = budget_config(entry.options)
    if config is None:
        return None

    settings = SiteBudgetSettings(budget=config.settings)
    interval = float(entry.options.get(CONF_METER_INTERVAL, DEFAULT_METER_INTERVAL))

    def refresh() -> None:
        budget.grid = read_grid(hass, config)
        budget.solar = read_solar(hass, config)

    def charger_settings(charger_id: str) -> BudgetCharger:
        charger = budget_charger(hass, config, charger_id, interval)
        if charger.sample_max_age is None or charger.sample_max_age >= settings.sample_max_age:
            return charger
        return replace(charger, sample_max_age=None)  # never below the default

    budget = SiteBudget(
        site,
        settings,
        charger_settings=charger_settings,
        ready_by=lambda charger_id: _ready_by(site, charger_id),
        refresh=refresh,
    )
    site.budget = budget
    remove_notices = budget.notices.add(lambda notice: _notice(hass, site, notice))
    watched = [e for e in (config.grid_power, *config.grid_currents) if e]
    remove_tracking: Callable[[], None] = lambda: None  # noqa: E731

    @callback
    def grid_changed(_event: Event[EventStateChangedData]) -> None:
        reading = read_grid(hass, config)
        if reading is not None:
            budget.grid_changed(reading)

    if watched:
        remove_tracking = async_track_state_change_event(hass, watched, grid_changed)
    budget.start()

    @callback
    def stop() -> None:
        remove_tracking()
        remove_notices()
        budget.stop()
        if site.budget is budget:
            site.budget = None

    return stop


async def async_release_turned_off(
    site: ChargingSite, hub_options: Mapping[str, Any], within_s: float = RELEASE_TIMEOUT_S
) -> None:
    """The hub options turn a running budget off: withdraw its wishes now, while the chargers
    are connected, and wait (at most ``within_s`` seconds) until they have the user's or the
    plan's limit, or none. Called before the hub reloads; a budget that stays on keeps its
    limits through the reload (the fuse stays protected)."""
    budget = site.budget
    if budget is None or budget_config(hub_options) is not None:
        return
    budget.stop()
    try:
        async with asyncio.timeout(within_s):
            await site.current.async_wait_idle()
            for charger_id in list(site.chargers):  # a user's higher limit at once, too
                await site.current.async_apply(charger_id, force=True)
    except TimeoutError:
        _LOGGER.warning("Power budget turned off: not every charger took the release in time")


@callback
def _notice(hass: HomeAssistant, site: ChargingSite, notice: BudgetNotice) -> None:
    """An event for a throttled, paused or disobeying charger; a repair while it disobeys."""
    charger_id = notice.charger_id
    entry = charger_entry(hass, charger_id)
    name = entry.title if entry is not None else charger_id
    issue_id = f"{ISSUE_DISOBEYING}_{charger_id}"
    if notice.kind is BudgetNoticeKind.OBEYING:
        ir.async_delete_issue(hass, DOMAIN, issue_id)
        return
    data: dict[str, object] = {
        "charger_id": charger_id,
        "charger_name": name,
        "current_a": notice.current_a,
    }
    if notice.kind in (BudgetNoticeKind.DISOBEYING, BudgetNoticeKind.DISOBEYING_PAUSED):
        data.update(
            limit_a=notice.limit_a,
            draw_a=notice.draw_a,
            paused=notice.kind is BudgetNoticeKind.DISOBEYING_PAUSED,
        )
        ir.async_create_issue(
            hass,
            DOMAIN,
            issue_id,
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_DISOBEYING,
            translation_placeholders={
                "charger": name,
                "limit": f"{notice.limit_a or 0:g}",
                "draw": f"{notice.draw_a or 0:.1f}",
            },
        )
    hass.bus.async_fire(_EVENTS[notice.kind], data)
