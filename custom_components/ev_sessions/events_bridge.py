"""Session events from the engine become HA bus events (for automations and the logbook)."""

from __future__ import annotations

from collections.abc import Callable

from homeassistant.core import HomeAssistant, callback

from .const import EVENT_CHARGING_FINISHED, EVENT_SESSION_ENDED, EVENT_SESSION_STARTED
from .coordinator import MemberCoordinator, SiteCoordinator
from .core.model import Session, SessionEvent, SessionEventKind
from .hub import Hub
from .serialize import session_summary

EVENT_TYPES = {
    SessionEventKind.STARTED: EVENT_SESSION_STARTED,
    SessionEventKind.CHARGING_FINISHED: EVENT_CHARGING_FINISHED,
    SessionEventKind.ENDED: EVENT_SESSION_ENDED,
}


def session_names(hub: Hub, session: Session) -> dict[str, str | None]:
    """The charger's and the member's names as the household reads them (``None`` if unknown)."""
    charger_id = session.charger_id
    member = hub.site.directory.member(session.member_id)
    return {
        "charger_name": hub.charger_name(charger_id) if hub.site.charger(charger_id) else None,
        "member_name": member.name if member is not None else None,
    }


@callback
def async_forward_session_events(
    hass: HomeAssistant, hub: Hub, figures: SiteCoordinator, members: MemberCoordinator
) -> Callable[[], None]:
    """Fire one HA event per session milestone; refresh site-wide entities."""

    @callback
    def _on_session_event(event: SessionEvent) -> None:
        data = session_summary(event.session)
        data.update(session_names(hub, event.session))
        # The cost so far (live; at the end: every slot priced, recorded right after).
        cost = hub.site.session_cost(event.session.id)
        data["cost"] = None if cost is None else str(cost.total)
        data["currency"] = None if cost is None else cost.currency
        hass.bus.async_fire(EVENT_TYPES[event.kind], data)
        figures.refresh_now()
        hass.async_create_task(members.async_request_refresh(), eager_start=True)

    return hub.engine.session_events.add(_on_session_event)
