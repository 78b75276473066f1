"""Number: the charger's current limit (0 A pauses charging)."""

from __future__ import annotations

from typing import Any

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.const import UnitOfElectricCurrent
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import RestoreEntity

from .chargers.events import SetCurrentLimit
from .coordinator import ChargerConfigEntry
from .entity import EvSessionsEntity
from .helpers import execute_command

PARALLEL_UPDATES = 1

CURRENT_LIMIT = NumberEntityDescription(
    key="current_limit",
    translation_key="current_limit",
    device_class=NumberDeviceClass.CURRENT,
    native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
    native_min_value=0,
    native_max_value=32,
    native_step=1,
    mode=NumberMode.SLIDER,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ChargerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One current limit per charger."""
    async_add_entities([CurrentLimitNumber(entry, CURRENT_LIMIT)])


class CurrentLimitNumber(EvSessionsEntity, NumberEntity, RestoreEntity):
    """The standing current limit set from HA (remembered across restarts)."""

    _attr_native_value: float | None = None

    async def async_added_to_hass(self) -> None:
        """Restore the last limit set."""
        await super().async_added_to_hass()
        if (last := await self.async_get_last_state()) is not None:
            try:
                self._attr_native_value = float(last.state)
            except ValueError:
                self._attr_native_value = None

    def _current_value(self) -> Any:
        return self._attr_native_value

    async def async_set_native_value(self, value: float) -> None:
        """Send the limit to the charger; keep it only if the charger accepted it."""
        await execute_command(
            self.coordinator.hub, self.charger_id, SetCurrentLimit(connector_id=0, limit_a=value)
        )
        self._attr_native_value = value
        self.async_write_ha_state()
