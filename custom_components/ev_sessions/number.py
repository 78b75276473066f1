"""Number: the charger's current limit (0 A pauses charging).

One limit per scope: this entity and the ``set_current_limit`` action (by default) both set the
limit of connector 0, the whole charger, which on a charger with one connector is connector 1
(:func:`~.chargers.events.limit_scope`); a new limit replaces the previous one. The entity shows
the limit in force: what the charger last accepted (from the entity or the action), read back
from the charger when it connects (OCPP GetCompositeSchedule), else the value it last showed.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from homeassistant.components.number import (
    NumberDeviceClass,
    NumberEntity,
    NumberEntityDescription,
    NumberMode,
)
from homeassistant.const import UnitOfElectricCurrent
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.dispatcher import async_dispatcher_connect, async_dispatcher_send
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import RestoreEntity

from .charger_options import charger_entry, current_range
from .chargers.events import CommandResult, GetCurrentLimit, SetCurrentLimit, limit_scope
from .const import DOMAIN, LOGGER
from .coordinator import ChargerConfigEntry
from .core import LimitSource
from .entity import EvSessionsEntity
from .helpers import execute_command, run_command
from .hub import Hub
from .plan_entities import plan_numbers

PARALLEL_UPDATES = 1

#: The connector the entity sets: the whole charger (connector 1 when it has only one).
LIMIT_CONNECTOR = 0
#: Dispatcher signal (per charger id): a limit was accepted, with (connector id, limit A).
SIGNAL_LIMIT_ACCEPTED = f"{DOMAIN}_current_limit_accepted_{{}}"

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
    """One current limit per charger; the slider ends at the charger's maximum."""
    description = replace(CURRENT_LIMIT, native_max_value=current_range(entry).max_a)
    async_add_entities([CurrentLimitNumber(entry, description)])
    async_add_entities(plan_numbers(hass, entry))


async def async_set_current_limit(
    hass: HomeAssistant, hub: Hub, charger_id: str, connector_id: int, limit_a: float
) -> CommandResult:
    """Set a limit (entity and action alike); the limit entity then shows what was accepted.

    The limit is 0 (pause) or within the charger's range (:func:`.charger_options.current_range`).
    Raises translated HA errors (out of range, not connected, refused, ...); nothing changes then.
    """
    if (entry := charger_entry(hass, charger_id)) is not None:
        current_range(entry).check(limit_a)
    if _whole_charger(hub, charger_id, connector_id):
        # The user's wish; the charger gets it unless the plan or the site budget wish less.
        pending = hub.site.current.async_request(charger_id, LimitSource.USER, limit_a)
        result = await run_command(charger_id, pending)
    else:
        result = await execute_command(
            hub, charger_id, SetCurrentLimit(connector_id=connector_id, limit_a=limit_a)
        )
    async_dispatcher_send(
        hass,
        SIGNAL_LIMIT_ACCEPTED.format(charger_id),
        connector_id,
        _amps(result.data.get("limit_a"), limit_a),
    )
    return result


def _whole_charger(hub: Hub, charger_id: str, connector_id: int) -> bool:
    """The limit is the whole charger's (connector 0, or the one connector it has)."""
    link = hub.site.charger(charger_id)
    connectors = link.info.connectors if link is not None and link.info is not None else 0
    return limit_scope(connector_id, connectors) == limit_scope(0, connectors)


def _amps(value: object, default: float) -> float:
    """``value`` as a limit in A (what an adapter reports it applied), else ``default``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return default


class CurrentLimitNumber(EvSessionsEntity, NumberEntity, RestoreEntity):
    """The current limit in force (remembered across restarts, read back on connect)."""

    _attr_native_value: float | None = None
    _was_connected = False

    async def async_added_to_hass(self) -> None:
        """Restore the last limit shown; follow accepted limits; read back when connected."""
        await super().async_added_to_hass()
        if (last := await self.async_get_last_state()) is not None:
            try:
                self._attr_native_value = float(last.state)
            except ValueError:
                self._attr_native_value = None
        self.async_on_remove(
            async_dispatcher_connect(
                self.hass, SIGNAL_LIMIT_ACCEPTED.format(self.charger_id), self._limit_accepted
            )
        )
        self._was_connected = self.coordinator.connected
        if self._was_connected:
            self._read_back_soon()

    def _current_value(self) -> Any:
        return self._attr_native_value

    def _connectors(self) -> int:
        """How many connectors the charger has, as far as it told."""
        info = self.coordinator.config_entry.runtime_data.link.info
        return max([info.connectors if info else 0, *self.coordinator.known_connectors()])

    @callback
    def _show(self, limit: float) -> None:
        self._attr_native_value = limit
        self._handle_coordinator_update()

    @callback
    def _limit_accepted(self, connector_id: int, limit: float) -> None:
        """A limit was accepted (here or by the action): shown if it is this entity's scope."""
        count = self._connectors()
        if limit_scope(connector_id, count) == limit_scope(LIMIT_CONNECTOR, count):
            self._show(limit)

    @callback
    def _handle_coordinator_update(self) -> None:
        connected = self.coordinator.connected
        came_back = connected and not self._was_connected
        self._was_connected = connected  # first: a read-back may answer at once and land here
        if came_back:
            self._read_back_soon()
        super()._handle_coordinator_update()

    def _read_back_soon(self) -> None:
        self.coordinator.config_entry.async_create_background_task(
            self.hass, self._async_read_back(), f"{DOMAIN} current limit {self.charger_id}"
        )

    async def _async_read_back(self) -> None:
        """Ask the charger which limit is in force (a charger that cannot say keeps the value)."""
        try:
            result = await execute_command(
                self.coordinator.hub, self.charger_id, GetCurrentLimit(connector_id=LIMIT_CONNECTOR)
            )
        except HomeAssistantError as err:
            LOGGER.debug("No current limit read back from %s: %s", self.charger_id, err)
            return
        limit = result.data.get("limit_a")
        if isinstance(limit, int | float) and not isinstance(limit, bool):
            self._show(float(limit))

    async def async_set_native_value(self, value: float) -> None:
        """Send the limit to the charger; shown once the charger accepted it."""
        await async_set_current_limit(
            self.hass, self.coordinator.hub, self.charger_id, LIMIT_CONNECTOR, value
        )
