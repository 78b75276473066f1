"""The state of charge of a member's car from a Home Assistant entity (issue 13).

A member (their form) may name a battery sensor of their car, e.g. from the car's own
integration. It is used where nothing closer knows the SoC: the charger's own reading wins, then
the charger's SoC entity option (``soc_entity.py``), then the member's:

* plans for the member take it as the car's SoC for a target SoC
  (:attr:`~.core.charge_planning.ChargePlanning.member_soc_of`);
* while one of the member's sessions is open at a charger without a SoC entity of its own, it is
  the connector's SoC (as the charger option's is), so the estimated end of charging works.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from homeassistant.core import Event, EventStateChangedData, HomeAssistant, callback
from homeassistant.helpers.event import async_track_state_change_event

from .charger_options import hub_config_entry
from .hub import Hub
from .member_flow import CONF_MEMBER_SOC_ENTITY
from .members import member_subentries
from .soc_entity import soc_of


def member_soc_entity(hass: HomeAssistant, member_id: str | None) -> str | None:
    """The battery sensor the member chose for their car's SoC, if any."""
    entry = hub_config_entry(hass)
    if entry is None or member_id is None:
        return None
    for subentry in member_subentries(entry):
        if subentry.data.get("id") == member_id:
            entity_id: Any = subentry.data.get(CONF_MEMBER_SOC_ENTITY)
            return str(entity_id) if entity_id else None
    return None


def member_soc(hass: HomeAssistant, member_id: str | None) -> float | None:
    """The SoC of the member's car now (``None``: no sensor, or its state is unknown)."""
    entity_id = member_soc_entity(hass, member_id)
    return None if entity_id is None else soc_of(hass.states.get(entity_id))


@callback
def async_track_member_soc(hass: HomeAssistant, hub: Hub, charger_id: str) -> Callable[[], None]:
    """For a charger without a SoC entity of its own: while a session of a member with a car
    SoC sensor is open on a connector, feed the sensor's SoC to that connector (now and on every
    change); when the session ends or is someone else's, the SoC is cleared. Returns the
    unsubscribe."""
    following: dict[int, tuple[str, Callable[[], None]]] = {}
    scheduled = stopped = False

    @callback
    def apply(connector_id: int, entity_id: str) -> None:
        hub.engine.set_external_soc(charger_id, connector_id, soc_of(hass.states.get(entity_id)))

    def follow(connector_id: int, entity_id: str) -> Callable[[], None]:
        @callback
        def on_state(_event: Event[EventStateChangedData]) -> None:
            apply(connector_id, entity_id)

        return async_track_state_change_event(hass, [entity_id], on_state)

    @callback
    def refresh() -> None:
        nonlocal scheduled
        scheduled = False
        if stopped:
            return
        for connector_id in hub.engine.connectors(charger_id):
            session = hub.engine.connector(charger_id, connector_id).session
            wanted = None if session is None else member_soc_entity(hass, session.member_id)
            current = following.get(connector_id)
            if (None if current is None else current[0]) == wanted:
                continue
            if current is not None:
                current[1]()
                del following[connector_id]
            if wanted is None:
                hub.engine.set_external_soc(charger_id, connector_id, None)
                continue
            following[connector_id] = (wanted, follow(connector_id, wanted))
            apply(connector_id, wanted)

    @callback
    def schedule(_value: object = None) -> None:
        """After the engine (or the members' update) finished what it is doing."""
        nonlocal scheduled
        if not scheduled:
            scheduled = True
            hass.loop.call_soon(refresh)

    unsubscribers = [
        hub.engine.charger_changes.add(charger_id, schedule),
        hub.site.member_changes.add(schedule),
    ]
    schedule()

    @callback
    def stop() -> None:
        nonlocal stopped
        stopped = True
        for unsubscribe in unsubscribers:
            unsubscribe()
        for _entity_id, unfollow in following.values():
            unfollow()
        following.clear()

    return stop
