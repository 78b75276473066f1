"""Buttons: remote start and stop, unlock, reset."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.components.button.const import ButtonDeviceClass
from homeassistant.const import EntityCategory
from homeassistant.core import Context, HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .chargers.events import ChargerCommand, Reset, StartCharging, StopCharging, UnlockConnector
from .coordinator import ChargerConfigEntry
from .entity import EvSessionsEntity
from .helpers import execute_command, remote_id_tag

PARALLEL_UPDATES = 1


@dataclass(frozen=True, kw_only=True)
class ChargerButtonDescription(ButtonEntityDescription):
    """A button that sends one command."""

    command_fn: Callable[[int, Context | None], ChargerCommand]
    per_connector: bool = True


BUTTONS: tuple[ChargerButtonDescription, ...] = (
    ChargerButtonDescription(
        key="start_charging",
        translation_key="start_charging",
        command_fn=lambda c, ctx: StartCharging(connector_id=c, id_tag=remote_id_tag(ctx)),
    ),
    ChargerButtonDescription(
        key="stop_charging",
        translation_key="stop_charging",
        command_fn=lambda c, _ctx: StopCharging(connector_id=c),
    ),
    ChargerButtonDescription(
        key="unlock",
        translation_key="unlock",
        entity_registry_enabled_default=False,
        command_fn=lambda c, _ctx: UnlockConnector(connector_id=c),
    ),
    ChargerButtonDescription(
        key="reset",
        translation_key="reset",
        device_class=ButtonDeviceClass.RESTART,
        entity_category=EntityCategory.CONFIG,
        per_connector=False,
        command_fn=lambda _c, _ctx: Reset(hard=False),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ChargerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Buttons per connector, plus a charger reset."""
    coordinator = entry.runtime_data.coordinator

    @callback
    def add_connector(connector_id: int) -> None:
        multi = len(coordinator.known_connectors()) > 1
        async_add_entities(
            ChargerButton(entry, description, connector_id, multi_connector=multi)
            for description in BUTTONS
            if description.per_connector
        )

    async_add_entities(
        ChargerButton(entry, description)
        for description in BUTTONS
        if not description.per_connector
    )
    for connector_id in coordinator.known_connectors():
        add_connector(connector_id)
    coordinator.new_connector_callbacks.append(add_connector)
    entry.async_on_unload(lambda: coordinator.new_connector_callbacks.remove(add_connector))


class ChargerButton(EvSessionsEntity, ButtonEntity):
    """Sends one command to the charger."""

    entity_description: ChargerButtonDescription

    def _current_value(self) -> bool:
        return True

    async def async_press(self) -> None:
        """Send the command; a rejection raises a translated error."""
        command = self.entity_description.command_fn(self.connector_id or 1, self._context)
        await execute_command(self.coordinator.hub, self.charger_id, command)
