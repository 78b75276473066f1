"""Binary sensors: vehicle connected, charging, charger connected."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from homeassistant.components.binary_sensor import (
    BinarySensorEntity,
    BinarySensorEntityDescription,
)
from homeassistant.components.binary_sensor.const import BinarySensorDeviceClass
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .chargers.events import VEHICLE_CONNECTED_STATES, ConnectorState
from .const import CONF_ENTRY_TYPE, ENTRY_TYPE_HUB
from .coordinator import ChargerConfigEntry, HubConfigEntry
from .core.model import ConnectorView
from .entity import EvSessionsEntity
from .member_entities import MemberEntity, MemberValueDescription
from .members import member_subentries

PARALLEL_UPDATES = 0


@dataclass(frozen=True, kw_only=True)
class ConnectorBinarySensorDescription(BinarySensorEntityDescription):
    """A yes/no fact about one connector."""

    is_on_fn: Callable[[ConnectorView], bool]


CONNECTOR_BINARY_SENSORS: tuple[ConnectorBinarySensorDescription, ...] = (
    ConnectorBinarySensorDescription(
        key="vehicle_connected",
        translation_key="vehicle_connected",
        device_class=BinarySensorDeviceClass.PLUG,
        is_on_fn=lambda v: v.status in VEHICLE_CONNECTED_STATES,
    ),
    ConnectorBinarySensorDescription(
        key="charging",
        translation_key="charging",
        device_class=BinarySensorDeviceClass.BATTERY_CHARGING,
        is_on_fn=lambda v: v.status is ConnectorState.CHARGING,
    ),
)

CHARGER_CONNECTED = BinarySensorEntityDescription(
    key="charger_connected",
    translation_key="charger_connected",
    device_class=BinarySensorDeviceClass.CONNECTIVITY,
    entity_category=EntityCategory.DIAGNOSTIC,
)


@dataclass(frozen=True, kw_only=True)
class MemberBinarySensorDescription(MemberValueDescription, BinarySensorEntityDescription):
    """A yes/no fact about a member."""


MEMBER_CHARGING = MemberBinarySensorDescription(
    key="charging",
    translation_key="member_charging",
    device_class=BinarySensorDeviceClass.BATTERY_CHARGING,
    value_fn=lambda t: t.charging_now,
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Hub: a "charging now" per member. Charger: vehicle connected, charging, connectivity."""
    if entry.data[CONF_ENTRY_TYPE] == ENTRY_TYPE_HUB:
        hub_entry: HubConfigEntry = entry
        members = hub_entry.runtime_data.members

        @callback
        def add_member(subentry_id: str) -> None:
            async_add_entities(
                [MemberChargingSensor(members, hub_entry.subentries[subentry_id], MEMBER_CHARGING)],
                config_subentry_id=subentry_id,
            )

        for subentry in member_subentries(hub_entry):
            add_member(subentry.subentry_id)
        members.new_member_callbacks.append(add_member)
        entry.async_on_unload(lambda: members.new_member_callbacks.remove(add_member))
        return
    await _async_setup_charger(entry, async_add_entities)


async def _async_setup_charger(
    entry: ChargerConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    coordinator = entry.runtime_data.coordinator

    @callback
    def add_connector(connector_id: int) -> None:
        multi = len(coordinator.known_connectors()) > 1
        async_add_entities(
            ConnectorBinarySensor(entry, description, connector_id, multi_connector=multi)
            for description in CONNECTOR_BINARY_SENSORS
        )

    async_add_entities([ChargerConnectedSensor(entry, CHARGER_CONNECTED)])
    for connector_id in coordinator.known_connectors():
        add_connector(connector_id)
    coordinator.new_connector_callbacks.append(add_connector)
    entry.async_on_unload(lambda: coordinator.new_connector_callbacks.remove(add_connector))


class ConnectorBinarySensor(EvSessionsEntity, BinarySensorEntity):
    """A yes/no fact about one connector."""

    entity_description: ConnectorBinarySensorDescription

    def _current_value(self) -> Any:
        return self.is_on

    @property
    def is_on(self) -> bool:
        """From the connector's live status."""
        assert self.connector_id is not None
        view = self.coordinator.hub.engine.connector(self.charger_id, self.connector_id)
        return self.entity_description.is_on_fn(view)


class ChargerConnectedSensor(EvSessionsEntity, BinarySensorEntity):
    """Whether the charger is connected to the hub (never unavailable itself)."""

    @property
    def available(self) -> bool:
        """Always available: it reports the connection."""
        return True

    def _current_value(self) -> Any:
        return self.coordinator.connected

    @property
    def is_on(self) -> bool:
        """Connected now."""
        return self.coordinator.connected


class MemberChargingSensor(MemberEntity, BinarySensorEntity):
    """Whether one of the member's sessions is charging now."""

    entity_description: MemberBinarySensorDescription

    @property
    def is_on(self) -> bool:
        """Charging now."""
        return bool(self.value())
