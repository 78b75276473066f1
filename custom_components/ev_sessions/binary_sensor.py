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
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .chargers.events import VEHICLE_CONNECTED_STATES, ConnectorState
from .const import CONF_ENTRY_TYPE, ENTRY_TYPE_HUB
from .coordinator import ChargerConfigEntry, HubConfigEntry
from .core.model import ConnectorView
from .entity import EvSessionsEntity, async_add_connector_entities, async_add_member_entities
from .member_entities import MemberEntity, MemberValueDescription
from .plan_entities import plan_binary_sensors

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
        async_add_member_entities(
            hub_entry,
            async_add_entities,
            lambda subentry: [MemberChargingSensor(members, subentry, MEMBER_CHARGING)],
        )
        return
    charger_entry: ChargerConfigEntry = entry
    async_add_entities([ChargerConnectedSensor(charger_entry, CHARGER_CONNECTED)])
    async_add_entities(plan_binary_sensors(charger_entry))
    async_add_connector_entities(
        charger_entry,
        async_add_entities,
        lambda connector_id, multi: [
            ConnectorBinarySensor(charger_entry, d, connector_id, multi_connector=multi)
            for d in CONNECTOR_BINARY_SENSORS
        ],
    )


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
