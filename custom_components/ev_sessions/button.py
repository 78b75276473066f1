"""Buttons: remote start and stop, unlock, learn a tag, restart."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from homeassistant.components.button import ButtonEntity, ButtonEntityDescription
from homeassistant.components.button.const import ButtonDeviceClass
from homeassistant.const import EntityCategory
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .charger_options import has_tag_source
from .chargers.events import ChargerCommand, CommandResult, Reset, StopCharging, UnlockConnector
from .const import DOMAIN
from .coordinator import ChargerConfigEntry
from .entity import EvSessionsEntity, async_add_connector_entities
from .helpers import run_command
from .hub import Hub

PARALLEL_UPDATES = 1

type PressFn = Callable[[Hub, str, int, Context | None], Awaitable[CommandResult | None]]


async def _start(hub: Hub, charger_id: str, connector: int, ctx: Context | None) -> None:
    """Start for the charger's member (else the pressing user's)."""
    await run_command(
        charger_id,
        hub.async_remote_start(
            charger_id,
            connector,
            user_id=ctx.user_id if ctx else None,
            member_id=hub.site.access_of(charger_id).member_id,
        ),
    )


async def _learn(hub: Hub, charger_id: str, _connector: int, _ctx: Context | None) -> None:
    """The next tag swiped here goes to the charger's member."""
    member_id = hub.site.access_of(charger_id).member_id
    if member_id is None:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="no_member_chosen")
    hub.site.start_learning(charger_id, member_id)


def _send(command_fn: Callable[[int], ChargerCommand]) -> PressFn:
    async def press(hub: Hub, charger_id: str, connector: int, _ctx: Context | None) -> None:
        command = command_fn(connector)
        await run_command(charger_id, hub.site.async_execute(charger_id, command))

    return press


@dataclass(frozen=True, kw_only=True)
class ChargerButtonDescription(ButtonEntityDescription):
    """A button of a charger (per connector unless ``per_connector`` is False)."""

    press_fn: PressFn
    per_connector: bool = True


BUTTONS: tuple[ChargerButtonDescription, ...] = (
    ChargerButtonDescription(
        key="start_charging", translation_key="start_charging", press_fn=_start
    ),
    ChargerButtonDescription(
        key="stop_charging",
        translation_key="stop_charging",
        press_fn=_send(lambda c: StopCharging(connector_id=c)),
    ),
    ChargerButtonDescription(
        key="unlock",
        translation_key="unlock",
        entity_registry_enabled_default=False,
        press_fn=_send(lambda c: UnlockConnector(connector_id=c)),
    ),
    ChargerButtonDescription(
        key="learn_tag",
        translation_key="learn_tag",
        entity_category=EntityCategory.CONFIG,
        per_connector=False,
        press_fn=_learn,
    ),
    ChargerButtonDescription(
        key="reset",
        translation_key="reset",
        device_class=ButtonDeviceClass.RESTART,
        entity_category=EntityCategory.CONFIG,
        per_connector=False,
        press_fn=_send(lambda _c: Reset(hard=False)),
    ),
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ChargerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Buttons per connector, plus learn-tag (a charger with a tag reader) and restart per
    charger."""
    tags = has_tag_source(entry)
    async_add_entities(
        ChargerButton(entry, d)
        for d in BUTTONS
        if not d.per_connector and (tags or d.key != "learn_tag")
    )
    async_add_connector_entities(
        entry,
        async_add_entities,
        lambda connector_id, multi: [
            ChargerButton(entry, d, connector_id, multi_connector=multi)
            for d in BUTTONS
            if d.per_connector
        ],
    )


class ChargerButton(EvSessionsEntity, ButtonEntity):
    """Sends one command to the charger (or starts learn mode)."""

    entity_description: ChargerButtonDescription

    def _current_value(self) -> bool:
        return True

    async def async_press(self) -> None:
        """Run the button's action; a rejection raises a translated error."""
        await self.entity_description.press_fn(
            self.coordinator.hub, self.charger_id, self.connector_id or 1, self._context
        )
