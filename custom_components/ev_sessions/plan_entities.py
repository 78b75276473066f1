"""Planned charging's entities on each charger (issue 13).

Settings (a change re-plans through :meth:`ChargePlanning.async_set_settings`): the mode
(select), the ready-by time (time), the energy target (number, kWh) or the SoC target (number,
%), the price cap (number, currency/kWh). The plan (from :attr:`ChargePlanning.changes`): the
planned start and finish (timestamps), the plan's cost (monetary), its state (enum) and
*charge now* (binary sensor, with the plan's windows as attributes: for automations that switch
something else, also on chargers the hub cannot control).

Every entity is available while the charger is away: a plan does not need the charger online.
Each platform adds these with one line (``plan_selects`` ... ``plan_binary_sensors``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, time
from decimal import Decimal
from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
)
from homeassistant.components.time import TimeEntity, TimeEntityDescription
from homeassistant.const import PERCENTAGE, EntityCategory, UnitOfEnergy
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.entity import Entity
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.util import dt as dt_util

from .coordinator import ChargerConfigEntry
from .core import PLAN_CONNECTOR, ChargePlanning, ChargerPlan, PlanMode, PlanSettings, PlanState
from .core.model import ConnectorView
from .entity import EvSessionsEntity

#: The plan state sensor's value when the charger has no plan.
NO_PLAN = "none"


def plan_finish(planning: ChargePlanning, charger_id: str) -> datetime | None:
    """The charger's planned finish, if it has a plan with windows."""
    current = planning.plan_of(charger_id)
    return None if current is None else current.plan.finish


def planned_end(planning: ChargePlanning, charger_id: str, view: ConnectorView) -> datetime | None:
    """The end of charging from the plan: its finish while a car is plugged in at the plan's
    connector; ``None`` without a plan with windows, or while the plan charges at once and the
    state of charge gives an estimate (that one follows the car)."""
    if view.connector_id != PLAN_CONNECTOR or view.session is None:
        return None
    current = planning.plan_of(charger_id)
    if current is None or current.plan.finish is None:
        return None
    at_once = current.plan.state in (PlanState.CHARGING_NOW, PlanState.CANNOT_MEET_READY_BY)
    if at_once and view.estimated_end_at is not None:
        return None
    return current.plan.finish


def plan_charges_now(planning: ChargePlanning, charger_id: str) -> bool:
    """The charger's plan is in one of its windows or charging at once."""
    current = planning.plan_of(charger_id)
    if current is None:
        return False
    plan = current.plan
    return plan.charging_at(dt_util.utcnow())


class PlanEntity(EvSessionsEntity):
    """An entity of a charger's plan: follows the plan's changes, available while offline."""

    @property
    def _planning(self) -> ChargePlanning:
        return self.coordinator.hub.site.planning

    @property
    def _plan(self) -> ChargerPlan | None:
        return self._planning.plan_of(self.charger_id)

    @property
    def _settings(self) -> PlanSettings | None:
        return self._planning.settings_of(self.charger_id)

    @property
    def available(self) -> bool:
        """Plans do not need the charger online."""
        return True

    async def async_added_to_hass(self) -> None:
        """Follow the charger's plan."""
        await super().async_added_to_hass()
        self.async_on_remove(self._planning.changes.add(self.charger_id, self._plan_changed))

    @callback
    def _plan_changed(self, _plan: ChargerPlan | None) -> None:
        self._handle_coordinator_update()

    async def _async_change(self, **changes: Any) -> None:
        """Plan again with these settings changed (from the current ones, else defaults)."""
        settings = self._settings or PlanSettings()
        await self._planning.async_set_settings(self.charger_id, replace(settings, **changes))
        self._handle_coordinator_update()


# ---------------------------------------------------------------------- settings

#: The mode option that means "no plan": the charger charges as it would without the hub.
NO_PLAN = "none"

PLAN_MODE = SelectEntityDescription(
    key="plan_mode",
    translation_key="plan_mode",
    options=[NO_PLAN, *(mode.value for mode in PlanMode)],
)


class PlanModeSelect(PlanEntity, SelectEntity):
    """How the charger's plan chooses when to charge."""

    def _current_value(self) -> Any:
        return self.current_option

    @property
    def current_option(self) -> str | None:
        """The mode the plan charges by (set on the plan, else the member's, else cheapest), or
        "none" while the charger has no plan."""
        settings = self._settings
        if settings is None:
            return NO_PLAN
        current = self._plan
        if current is not None:
            return current.plan.mode.value
        return (settings.mode or PlanMode.CHEAPEST).value

    async def async_select_option(self, option: str) -> None:
        """Plan again in this mode; "none" clears the plan."""
        if option == NO_PLAN:
            await self._planning.async_clear(self.charger_id)
            self._handle_coordinator_update()
            return
        await self._async_change(mode=PlanMode(option))


PLAN_READY_BY = TimeEntityDescription(key="plan_ready_by", translation_key="plan_ready_by")


class PlanReadyByTime(PlanEntity, TimeEntity):
    """When the car must be charged (local time of day; the next one counts)."""

    def _current_value(self) -> Any:
        return self.native_value

    @property
    def native_value(self) -> time | None:
        """The ready-by time of day (a ready-by moment shows its local time)."""
        settings = self._settings
        if settings is None:
            return None
        if settings.ready_by_at is not None and settings.ready_by_at > dt_util.utcnow():
            return dt_util.as_local(settings.ready_by_at).time().replace(tzinfo=None)
        return settings.ready_by

    async def async_set_value(self, value: time) -> None:
        """Plan again for this ready-by time."""
        await self._async_change(ready_by=value.replace(second=0, microsecond=0), ready_by_at=None)


@dataclass(frozen=True, kw_only=True)
class PlanNumberDescription(NumberEntityDescription):
    """A number of the plan's settings: how to read it and which settings it changes."""

    value_fn: Callable[[PlanSettings], float | None]
    changes_fn: Callable[[float], dict[str, Any]]


PLAN_NUMBERS: tuple[PlanNumberDescription, ...] = (
    PlanNumberDescription(
        key="plan_energy",
        translation_key="plan_energy",
        device_class=NumberDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        native_min_value=0.5,
        native_max_value=200,
        native_step=0.5,
        mode=NumberMode.BOX,
        value_fn=lambda s: None if s.energy_wh is None else s.energy_wh / 1000,
        changes_fn=lambda kwh: {"energy_wh": round(kwh * 1000), "target_soc_pct": None},
    ),
    PlanNumberDescription(
        key="plan_target_soc",
        translation_key="plan_target_soc",
        device_class=NumberDeviceClass.BATTERY,
        native_unit_of_measurement=PERCENTAGE,
        native_min_value=1,
        native_max_value=100,
        native_step=1,
        mode=NumberMode.SLIDER,
        value_fn=lambda s: s.target_soc_pct,
        changes_fn=lambda soc: {"target_soc_pct": soc, "energy_wh": None},
    ),
    PlanNumberDescription(
        key="plan_price_cap",
        translation_key="plan_price_cap",
        entity_category=EntityCategory.CONFIG,
        native_min_value=0,
        native_max_value=100,
        native_step=0.01,
        mode=NumberMode.BOX,
        value_fn=lambda s: None if s.price_cap is None else float(s.price_cap),
        changes_fn=lambda cap: {"price_cap": Decimal(str(round(cap, 4)))},
    ),
)


class PlanNumber(PlanEntity, NumberEntity):
    """A number of the plan's settings (unknown until set)."""

    entity_description: PlanNumberDescription

    def _current_value(self) -> Any:
        return self.native_value

    @property
    def native_value(self) -> float | None:
        """The setting's value."""
        settings = self._settings
        return None if settings is None else self.entity_description.value_fn(settings)

    async def async_set_native_value(self, value: float) -> None:
        """Plan again with this value."""
        await self._async_change(**self.entity_description.changes_fn(value))


# ---------------------------------------------------------------------- the plan


@dataclass(frozen=True, kw_only=True)
class PlanSensorDescription(SensorEntityDescription):
    """A value of the charger's plan."""

    value_fn: Callable[[ChargerPlan | None], datetime | Decimal | str | None]


def _state(plan: ChargerPlan | None) -> str:
    return NO_PLAN if plan is None else plan.plan.state.value


PLAN_SENSORS: tuple[PlanSensorDescription, ...] = (
    PlanSensorDescription(
        key="planned_start",
        translation_key="planned_start",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda p: None if p is None else p.plan.start,
    ),
    PlanSensorDescription(
        key="planned_finish",
        translation_key="planned_finish",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda p: None if p is None else p.plan.finish,
    ),
    PlanSensorDescription(
        key="plan_cost",
        translation_key="plan_cost",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        value_fn=lambda p: None if p is None else p.plan.expected_cost,
    ),
    PlanSensorDescription(
        key="plan_state",
        translation_key="plan_state",
        device_class=SensorDeviceClass.ENUM,
        options=[NO_PLAN, *(state.value for state in PlanState)],
        value_fn=_state,
    ),
)


class PlanSensor(PlanEntity, SensorEntity):
    """A value of the charger's plan; the state sensor carries the plan's details."""

    entity_description: PlanSensorDescription

    def _current_value(self) -> Any:
        return (self.native_value, self.extra_state_attributes)

    @property
    def native_value(self) -> datetime | Decimal | str | None:
        """From the charger's plan."""
        return self.entity_description.value_fn(self._plan)

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The state sensor: mode, execution, provisional, energy, ready-by."""
        if self.entity_description.key != "plan_state" or (current := self._plan) is None:
            return None
        plan = current.plan
        return {
            "mode": plan.mode.value,
            "execution": current.execution.value,
            "provisional": plan.provisional,
            "energy_kwh": plan.energy_wh / 1000,
            "ready_by": plan.ready_by,
        }


CHARGE_NOW = BinarySensorEntityDescription(key="plan_charge_now", translation_key="charge_now")


class ChargeNowBinarySensor(PlanEntity, BinarySensorEntity):
    """On while the plan charges (a window is running); the windows are attributes."""

    _unsub_timer: CALLBACK_TYPE | None = None

    def _current_value(self) -> Any:
        return (self.is_on, self.extra_state_attributes)

    @property
    def is_on(self) -> bool:
        """Within one of the plan's windows now."""
        return plan_charges_now(self._planning, self.charger_id)

    @property
    def extra_state_attributes(self) -> dict[str, Any]:
        """The plan's windows (start, end, current, power, energy) and what it is for."""
        current = self._plan
        if current is None:
            return {"windows": [], "next_start": None, "ready_by": None, "plan_state": NO_PLAN}
        plan = current.plan
        now = dt_util.utcnow()
        upcoming = [w.start for w in plan.windows if w.start > now]
        return {
            "windows": [
                {
                    "start": w.start,
                    "end": w.end,
                    "current_a": w.current_a,
                    "power_w": w.power_w,
                    "energy_kwh": w.energy_wh / 1000,
                }
                for w in plan.windows
            ],
            "next_start": upcoming[0] if upcoming else None,
            "ready_by": plan.ready_by,
            "plan_state": plan.state.value,
        }

    async def async_added_to_hass(self) -> None:
        """Wake up at the plan's next window start or end."""
        await super().async_added_to_hass()
        self._schedule()
        self.async_on_remove(self._cancel_timer)

    @callback
    def _cancel_timer(self) -> None:
        if self._unsub_timer is not None:
            self._unsub_timer()
            self._unsub_timer = None

    @callback
    def _schedule(self) -> None:
        self._cancel_timer()
        current = self._plan
        if current is None:
            return
        at = current.plan.next_change(dt_util.utcnow())
        if at is not None:
            self._unsub_timer = async_track_point_in_utc_time(self.hass, self._tick, at)

    @callback
    def _tick(self, _now: datetime) -> None:
        self._unsub_timer = None
        self._handle_coordinator_update()
        self._schedule()

    @callback
    def _plan_changed(self, _plan: ChargerPlan | None) -> None:
        super()._plan_changed(_plan)
        self._schedule()


# ---------------------------------------------------------------------- per platform


def plan_selects(entry: ChargerConfigEntry) -> list[Entity]:
    """The plan's mode select."""
    return [PlanModeSelect(entry, PLAN_MODE)]


def plan_times(entry: ChargerConfigEntry) -> list[Entity]:
    """The plan's ready-by time."""
    return [PlanReadyByTime(entry, PLAN_READY_BY)]


def plan_numbers(hass: HomeAssistant, entry: ChargerConfigEntry) -> list[Entity]:
    """Energy target, SoC target and price cap (in Home Assistant's currency per kWh)."""
    unit = f"{hass.config.currency}/{UnitOfEnergy.KILO_WATT_HOUR}"
    return [
        PlanNumber(
            entry,
            replace(d, native_unit_of_measurement=unit) if d.key == "plan_price_cap" else d,
        )
        for d in PLAN_NUMBERS
    ]


def plan_sensors(hass: HomeAssistant, entry: ChargerConfigEntry) -> list[Entity]:
    """Planned start and finish, the plan's cost (Home Assistant's currency) and state."""
    return [
        PlanSensor(
            entry,
            replace(d, native_unit_of_measurement=hass.config.currency)
            if d.device_class is SensorDeviceClass.MONETARY
            else d,
        )
        for d in PLAN_SENSORS
    ]


def plan_binary_sensors(entry: ChargerConfigEntry) -> list[Entity]:
    """Charge now."""
    return [ChargeNowBinarySensor(entry, CHARGE_NOW)]


__all__ = [
    "NO_PLAN",
    "plan_binary_sensors",
    "plan_charges_now",
    "plan_finish",
    "plan_numbers",
    "plan_selects",
    "plan_sensors",
    "plan_times",
    "planned_end",
]
