"""A member's notify actions: told when charging of their session has finished.

A member (see ``member_flow.py``) lists notify actions, e.g. ``notify.mobile_app_anna`` (a
notify action) or a notify entity such as ``notify.anna_phone`` (sent with
``notify.send_message``). When the engine reports that one of the member's sessions finished
charging, each is called with the charger's name, the energy, and the cost so far when the
session is priced. The texts are translated (the ``exceptions`` category holds them, as Home
Assistant keeps no other category for an integration's runtime messages).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.translation import async_get_translations

from .const import DOMAIN, LOGGER
from .core.model import SessionEvent, SessionEventKind
from .hub import Hub

NOTIFY_DOMAIN = "notify"
SEND_MESSAGE = "send_message"
_KEY_TITLE = "charging_finished_title"
_KEY_MESSAGE = "charging_finished_message"
_KEY_MESSAGE_COST = "charging_finished_message_cost"


def _text(strings: dict[str, str], key: str) -> str:
    return strings[f"component.{DOMAIN}.exceptions.{key}.message"]


async def async_send(hass: HomeAssistant, target: str, title: str, message: str) -> bool:
    """Send through one notify action or notify entity; ``False`` (logged) when it failed."""
    domain, _, name = target.partition(".")
    try:
        if name and hass.services.has_service(domain, name):
            await hass.services.async_call(
                domain, name, {"title": title, "message": message}, blocking=True
            )
        elif domain == NOTIFY_DOMAIN and hass.states.get(target) is not None:
            await hass.services.async_call(
                NOTIFY_DOMAIN,
                SEND_MESSAGE,
                {"entity_id": target, "title": title, "message": message},
                blocking=True,
            )
        else:
            LOGGER.warning("Notify action %s does not exist: nothing sent", target)
            return False
    except HomeAssistantError as err:
        LOGGER.warning("Notify action %s failed: %s", target, err)
        return False
    return True


@callback
def async_notify_members(hass: HomeAssistant, hub: Hub) -> Callable[[], None]:
    """Notify a session's member when its charging finished; returns the unsubscribe."""

    async def _notify(event: SessionEvent, targets: tuple[str, ...], member_name: str) -> None:
        session = event.session
        strings = await async_get_translations(hass, hass.config.language, "exceptions", {DOMAIN})
        placeholders = {
            "charger": hub.charger_name(session.charger_id),
            "member": member_name,
            "energy_kwh": f"{Decimal(session.energy_wh) / 1000:.2f}",
        }
        cost = hub.site.session_cost(session.id)
        if cost is not None:
            placeholders |= {"cost": str(cost.total), "currency": cost.currency}
        message = _text(strings, _KEY_MESSAGE if cost is None else _KEY_MESSAGE_COST)
        title = _text(strings, _KEY_TITLE)
        for target in targets:
            await async_send(hass, target, title, message.format(**placeholders))

    @callback
    def _on_session_event(event: SessionEvent) -> None:
        if event.kind is not SessionEventKind.CHARGING_FINISHED:
            return
        member = hub.site.directory.member(event.session.member_id)
        if member is None or not member.notify_targets:
            return
        hass.async_create_task(_notify(event, member.notify_targets, member.name), eager_start=True)

    return hub.engine.session_events.add(_on_session_event)
