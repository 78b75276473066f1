"""Sensors of the site power budget (only when the hub has a fuse configured).

On the hub device: headroom per phase, allocated current (the most on a phase, each phase in
the attributes), solar surplus in use and the budget state (normal, limited, fallback). Per
charger: its allocated current, with the reason in the attributes. All follow the budget's
rounds (they write their state only when it changed).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.const import UnitOfElectricCurrent, UnitOfPower
from homeassistant.core import callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .coordinator import ChargerConfigEntry, HubConfigEntry
from .core import BudgetResult, BudgetState, SiteBudget
from .devices import charger_unique_id, hub_device_info
from .entity import charger_device_info

type ValueFn = Callable[[BudgetResult], Any]
type AttributesFn = Callable[[BudgetResult], dict[str, Any] | None]


def _current(key: str) -> SensorEntityDescription:
    return SensorEntityDescription(
        key=key,
        translation_key=key,
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=1,
    )


def _phases(values: tuple[float, float, float]) -> dict[str, Any]:
    return {"l1": round(values[0], 2), "l2": round(values[1], 2), "l3": round(values[2], 2)}


def _headroom(phase: int) -> ValueFn:
    def value(result: BudgetResult) -> float:
        return round(result.headroom_a[phase], 2)

    return value


#: Site sensors: (description, value, attributes).
SITE_SENSORS: list[tuple[SensorEntityDescription, ValueFn, AttributesFn | None]] = [
    (_current("budget_headroom_l1"), _headroom(0), None),
    (_current("budget_headroom_l2"), _headroom(1), None),
    (_current("budget_headroom_l3"), _headroom(2), None),
    (
        _current("budget_allocated"),
        lambda r: round(max(r.allocated_a), 2),
        lambda r: _phases(r.allocated_a),
    ),
    (
        SensorEntityDescription(
            key="budget_solar_in_use",
            translation_key="budget_solar_in_use",
            device_class=SensorDeviceClass.POWER,
            state_class=SensorStateClass.MEASUREMENT,
            native_unit_of_measurement=UnitOfPower.WATT,
            suggested_display_precision=0,
        ),
        lambda r: round(r.solar_in_use_w),
        lambda r: {"surplus_w": round(r.surplus_w)},
    ),
    (
        SensorEntityDescription(
            key="budget_state",
            translation_key="budget_state",
            device_class=SensorDeviceClass.ENUM,
            options=[state.value for state in BudgetState],
        ),
        lambda r: r.state.value,
        None,
    ),
]


class BudgetSensor(SensorEntity):
    """A sensor that follows the budget's rounds."""

    _attr_has_entity_name = True
    _attr_should_poll = False

    def __init__(
        self,
        budget: SiteBudget,
        description: SensorEntityDescription,
        value: ValueFn,
        attributes: AttributesFn | None,
    ) -> None:
        """The sensor of ``description`` with its value and attributes from a result."""
        self.entity_description = description
        self._budget = budget
        self._value = value
        self._attributes = attributes
        self._shown: tuple[Any, Any] | None = None

    async def async_added_to_hass(self) -> None:
        """Follow the rounds."""
        self.async_on_remove(self._budget.results.add(self._round))
        if self._budget.result is not None:
            self._take(self._budget.result)

    @property
    def available(self) -> bool:
        """Available once a value is known."""
        return self._attr_native_value is not None

    def _take(self, result: BudgetResult) -> bool:
        value = self._value(result)
        attributes = self._attributes(result) if self._attributes is not None else None
        if (value, attributes) == self._shown:
            return False
        self._shown = (value, attributes)
        self._attr_native_value = value
        self._attr_extra_state_attributes = attributes or {}
        return True

    @callback
    def _round(self, result: BudgetResult) -> None:
        if self._take(result):
            self.async_write_ha_state()


def _allocated(charger_id: str) -> ValueFn:
    def value(result: BudgetResult) -> float | None:
        allocation = result.allocations.get(charger_id)
        return None if allocation is None else allocation.current_a

    return value


def _why(charger_id: str) -> AttributesFn:
    def attributes(result: BudgetResult) -> dict[str, Any] | None:
        allocation = result.allocations.get(charger_id)
        return None if allocation is None else {"reason": allocation.reason.value}

    return attributes


@callback
def async_add_site_budget_sensors(
    entry: HubConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """The hub's budget sensors, when the budget runs."""
    budget = entry.runtime_data.hub.site.budget
    if budget is None:
        return
    sensors = []
    for description, value, attributes in SITE_SENSORS:
        sensor = BudgetSensor(budget, description, value, attributes)
        sensor._attr_unique_id = f"site_{description.key}"
        sensor._attr_device_info = hub_device_info()
        sensors.append(sensor)
    async_add_entities(sensors)


@callback
def async_add_charger_budget_sensor(
    entry: ChargerConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """A charger's allocated current, when the budget runs."""
    budget = entry.runtime_data.hub.site.budget
    if budget is None:
        return
    charger_id = entry.runtime_data.link.charger_id
    sensor = BudgetSensor(
        budget, _current("budget_allocated_current"), _allocated(charger_id), _why(charger_id)
    )
    sensor._attr_unique_id = charger_unique_id(charger_id, "budget_allocated_current")
    sensor._attr_device_info = charger_device_info(entry)
    async_add_entities([sensor])
