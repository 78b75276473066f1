"""The car's state of charge from a Home Assistant entity (the car's own integration).

A charger option names a battery sensor; while the charger reports no state of charge itself,
its value is the SoC of the charger's connectors, so the estimated end of charging works for
chargers that never report one (most AC chargers, every Modbus profile).
"""

from __future__ import annotations

from collections.abc import Callable
import math

from homeassistant.const import STATE_UNAVAILABLE, STATE_UNKNOWN
from homeassistant.core import Event, EventStateChangedData, HomeAssistant, State, callback
from homeassistant.helpers.event import async_track_state_change_event

from .core.model import SessionEvent, SessionEventKind
from .hub import Hub


def soc_of(state: State | None) -> float | None:
    """A SoC in percent from the entity's state (``None`` when unknown or implausible)."""
    if state is None or state.state in (STATE_UNKNOWN, STATE_UNAVAILABLE):
        return None
    try:
        value = float(state.state)
    except ValueError:
        return None
    return value if math.isfinite(value) and 0.0 <= value <= 100.0 else None


@callback
def async_track_soc_entity(
    hass: HomeAssistant, hub: Hub, charger_id: str, entity_id: str
) -> Callable[[], None]:
    """Feed the entity's SoC to the charger's connectors, now, on every change and when a
    session starts; returns the unsubscribe."""

    @callback
    def apply() -> None:
        soc = soc_of(hass.states.get(entity_id))
        for connector_id in [c for c in hub.engine.connectors(charger_id) if c > 0] or [1]:
            hub.engine.set_external_soc(charger_id, connector_id, soc)

    @callback
    def on_state(_event: Event[EventStateChangedData]) -> None:
        apply()

    def on_session(event: SessionEvent) -> None:
        if event.kind is SessionEventKind.STARTED and event.session.charger_id == charger_id:
            hass.loop.call_soon(apply)  # after the engine finished handling the event

    apply()
    unsubscribers = [
        async_track_state_change_event(hass, [entity_id], on_state),
        hub.engine.session_events.add(on_session),
    ]

    @callback
    def stop() -> None:
        for unsubscribe in unsubscribers:
            unsubscribe()

    return stop
