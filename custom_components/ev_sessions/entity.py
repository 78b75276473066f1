"""Base entities: one per charger (or connector), one per site."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import callback
from homeassistant.helpers.device_registry import DeviceInfo
from homeassistant.helpers.entity import Entity, EntityDescription
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .coordinator import ChargerConfigEntry, ChargerCoordinator, HubConfigEntry, SiteCoordinator
from .devices import charger_identifier, charger_unique_id, hub_device_info
from .members import member_subentries

_UNSET: Any = object()


def charger_device_info(entry: ChargerConfigEntry) -> DeviceInfo:
    """Device info for a charger, from what it reported about itself."""
    runtime = entry.runtime_data
    info = runtime.link.info
    return DeviceInfo(
        identifiers={charger_identifier(runtime.link.charger_id)},
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
        self._attr_unique_id = charger_unique_id(self.charger_id, f"{description.key}{suffix}")
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
        self._attr_device_info = hub_device_info()


@callback
def async_add_connector_entities(
    entry: ChargerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    factory: Callable[[int, bool], Iterable[Entity]],
) -> None:
    """Add a platform's per-connector entities now and for connectors that appear later.

    ``factory(connector_id, multi_connector)`` builds one connector's entities.
    """
    coordinator = entry.runtime_data.coordinator

    @callback
    def add(connector_id: int) -> None:
        async_add_entities(factory(connector_id, len(coordinator.known_connectors()) > 1))

    for connector_id in coordinator.known_connectors():
        add(connector_id)
    entry.async_on_unload(coordinator.new_connectors.add(add))


@callback
def async_add_member_entities(
    entry: HubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    factory: Callable[[ConfigSubentry], Iterable[Entity]],
) -> None:
    """Add a platform's entities for each member (its subentry), also for members added later."""
    members = entry.runtime_data.members

    @callback
    def add(subentry_id: str) -> None:
        async_add_entities(factory(entry.subentries[subentry_id]), config_subentry_id=subentry_id)

    for subentry in member_subentries(entry):
        add(subentry.subentry_id)
    entry.async_on_unload(members.new_members.add(add))
