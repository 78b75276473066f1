"""Base entities: one per charger (or connector), one per site."""

from __future__ import annotations

from typing import Any

from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .const import DOMAIN
from .coordinator import ChargerConfigEntry, ChargerCoordinator, SiteCoordinator

_UNSET: Any = object()


def charger_device_info(entry: ChargerConfigEntry) -> DeviceInfo:
    """Device info for a charger, from what it reported about itself."""
    runtime = entry.runtime_data
    info = runtime.link.info
    return DeviceInfo(
        identifiers={(DOMAIN, runtime.link.charger_id)},
        name=entry.title,
        manufacturer=info.vendor if info else None,
        model=info.model if info else None,
        serial_number=info.serial if info else None,
        sw_version=info.firmware if info else None,
    )


class EvSessionsEntity(CoordinatorEntity[ChargerCoordinator]):
    """An entity of one charger; ``connector_id`` set for per-connector entities.

    State is written only when the entity's own value changed: one meter frame touches only the
    entities whose numbers moved.
    """

    _attr_has_entity_name = True

    def __init__(
        self,
        entry: ChargerConfigEntry,
        description: EntityDescription,
        connector_id: int | None = None,
        *,
        multi_connector: bool = False,
    ) -> None:
        """Name and identify the entity (key, plus the connector where there are several)."""
        super().__init__(entry.runtime_data.coordinator)
        self.entity_description = description
        self.connector_id = connector_id
        self.charger_id = entry.runtime_data.link.charger_id
        suffix = f"_{connector_id}" if connector_id is not None and connector_id != 1 else ""
        self._attr_unique_id = f"{self.charger_id}_{description.key}{suffix}"
        if multi_connector and connector_id is not None and description.translation_key:
            # "Connector 2 power": names of chargers with several connectors say which one.
            self._attr_translation_key = f"{description.translation_key}_connector"
            self._attr_translation_placeholders = {"connector": str(connector_id)}
        self._attr_device_info = charger_device_info(entry)
        self._last_written: Any = _UNSET

    @property
    def available(self) -> bool:
        """Unavailable while the charger is not connected."""
        return self.coordinator.connected

    def _current_value(self) -> Any:
        """What this entity shows now (state plus anything else that changes it)."""
        raise NotImplementedError

    @callback
    def _handle_coordinator_update(self) -> None:
        value = (self.available, self._current_value())
        if value != self._last_written:
            self._last_written = value
            if (context := self.coordinator.update_context) is not None:
                self.async_set_context(context)
            self.async_write_ha_state()


class EvSessionsSiteEntity(CoordinatorEntity[SiteCoordinator]):
    """An entity of the whole site (the hub device)."""

    _attr_has_entity_name = True

    def __init__(self, coordinator: SiteCoordinator, description: EntityDescription) -> None:
        """Identify the entity on the hub device."""
        super().__init__(coordinator)
        self.entity_description = description
        self._attr_unique_id = f"site_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={(DOMAIN, "hub")}, name="EV Sessions", manufacturer="EV Sessions"
        )
