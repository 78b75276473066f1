"""Who may see which bills: administrators every bill and report, any other user only the bills
of the members whose Home Assistant person is that user (a member's *person* setting).

A signed link (:mod:`.bill_links`) opens the one page it was made for, whoever holds it: it is
what a member is sent.
"""

from __future__ import annotations

from homeassistant.auth.models import User
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import Unauthorized

from .core import MemberDirectory


def members_of_user(hass: HomeAssistant, directory: MemberDirectory, user: User) -> set[str]:
    """The ids of the members whose person is ``user``."""
    found: set[str] = set()
    for member in directory:
        state = hass.states.get(member.person_entity_id) if member.person_entity_id else None
        if state is not None and state.attributes.get("user_id") == user.id:
            found.add(member.id)
    return found


async def async_bill_viewer(
    hass: HomeAssistant, directory: MemberDirectory, context: Context
) -> set[str] | None:
    """Whose bills the caller of an action may see: ``None`` for every member's (an
    administrator, or no user: an automation or script), else the ids of the user's members."""
    if context.user_id is None:
        return None
    user = await hass.auth.async_get_user(context.user_id)
    if user is None:
        raise Unauthorized(context=context)
    return None if user.is_admin else members_of_user(hass, directory, user)


def check_bill_member(viewer: set[str] | None, member_id: str, context: Context) -> None:
    """Raise :class:`Unauthorized` unless ``viewer`` may see ``member_id``'s bills."""
    if viewer is not None and member_id not in viewer:
        raise Unauthorized(context=context)


__all__ = ["async_bill_viewer", "check_bill_member", "members_of_user"]
