"""Members in Home Assistant: the directory from the hub's subentries, and what HA shows.

Members are subentries of the hub entry (see ``member_flow.py``). This module turns them into
the core's :class:`MemberDirectory`, maps HA users to members through their person, adds a
learned or approved tag to a member, and reports refused tags (event, notification, repair).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.components import persistent_notification
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from .const import DOMAIN, LOGGER
from .core import Decision, Member, MemberDirectory, shorten_tag
from .member_flow import CONF_TAGS, SUBENTRY_MEMBER

EVENT_TAG_REJECTED = f"{DOMAIN}_tag_rejected"
EVENT_TAG_LEARNED = f"{DOMAIN}_tag_learned"
ISSUE_UNKNOWN_TAG = "unknown_tag"


def member_subentries(entry: ConfigEntry) -> list[Any]:
    """The member subentries of the hub entry."""
    return [s for s in entry.subentries.values() if s.subentry_type == SUBENTRY_MEMBER]


def build_directory(entry: ConfigEntry) -> MemberDirectory:
    """The member directory from the hub's subentries (bad entries are skipped and logged)."""
    return MemberDirectory.from_dicts(
        [dict(s.data) for s in member_subentries(entry)], tz=dt_util.get_default_time_zone()
    )


def member_for_user(
    hass: HomeAssistant, directory: MemberDirectory, user_id: str | None
) -> Member | None:
    """The member whose HA person is this HA user."""
    if user_id is None:
        return None
    for member in directory:
        state = hass.states.get(member.person_entity_id) if member.person_entity_id else None
        if state is not None and state.attributes.get("user_id") == user_id:
            return member
    return None


def member_by_id_or_name(directory: MemberDirectory, value: str) -> Member | None:
    """A member by id, or by name (case-insensitive), for actions."""
    if (member := directory.member(value)) is not None:
        return member
    folded = value.casefold()
    return next((m for m in directory if m.name.casefold() == folded), None)


def add_tag_to_member(hass: HomeAssistant, entry: ConfigEntry, member_id: str, tag: str) -> bool:
    """Append an active tag to a member's subentry (the directory is rebuilt by the update)."""
    for subentry in member_subentries(entry):
        if subentry.data.get("id") != member_id:
            continue
        tags: list[Mapping[str, Any]] = list(subentry.data.get(CONF_TAGS) or [])
        if any(str(t.get("id_tag", "")).strip().casefold() == tag.casefold() for t in tags):
            return False
        tags.append({"id_tag": tag, "status": "active"})
        return hass.config_entries.async_update_subentry(
            entry, subentry, data={**subentry.data, CONF_TAGS: tags}
        )
    return False


def report_refused_tag(
    hass: HomeAssistant, charger_id: str, charger_name: str, decision: Decision
) -> None:
    """A tag was refused: HA event, a notification, and a repair that adds it to a member."""
    tag = decision.id_tag
    hass.bus.async_fire(
        EVENT_TAG_REJECTED,
        {
            "charger_id": charger_id,
            "charger_name": charger_name,
            "id_tag": tag,
            "status": decision.status.value,
            "reason": decision.reason.value,
            "member_id": decision.member_id,
        },
    )
    LOGGER.info("Tag %s refused at %s (%s)", shorten_tag(tag), charger_name, decision.reason.value)
    persistent_notification.async_create(
        hass,
        f"Tag `{tag}` was refused at **{charger_name}** ({decision.reason.value}). "
        "To let it charge, open Settings → Repairs and add it to a member.",
        title="EV Sessions: tag refused",
        notification_id=f"{DOMAIN}_refused_{charger_id}",
    )
    if decision.member_id is None:  # unknown tag: offer to add it (blocked ones stay blocked)
        ir.async_create_issue(
            hass,
            DOMAIN,
            f"{ISSUE_UNKNOWN_TAG}_{tag.casefold()}",
            is_fixable=True,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_UNKNOWN_TAG,
            translation_placeholders={"tag": tag, "charger": charger_name},
            data={"id_tag": tag},
        )


def report_learned_tag(
    hass: HomeAssistant, charger_name: str, member: Member | None, tag: str, added: bool
) -> None:
    """Learn mode caught a tag: confirm it to the user."""
    name = member.name if member else "?"
    hass.bus.async_fire(
        EVENT_TAG_LEARNED, {"charger_name": charger_name, "member_name": name, "added": added}
    )
    message = (
        f"Tag `{tag}` swiped at **{charger_name}** now belongs to **{name}**."
        if added
        else f"Tag `{tag}` swiped at **{charger_name}** already belongs to a member: unchanged."
    )
    persistent_notification.async_create(
        hass, message, title="EV Sessions: tag learned", notification_id=f"{DOMAIN}_learned"
    )
