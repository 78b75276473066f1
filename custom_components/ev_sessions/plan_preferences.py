"""Member preferences for planned charging in Home Assistant (issue 13).

* The member form's collapsed section "Planned charging" (``plan_form.py``) keeps a member's
  defaults in their subentry; a plan for the member starts from them
  (:attr:`ChargePlanning.preferences_of`).
* Learned recommendations: after each of a member's sessions (and at start) their habits are
  learned from their own sessions (:func:`~.core.preferences.learn_habits`): the defaults where
  they set nothing, and a recommendation ("you usually unplug at 07:10 on weekdays, based on 9
  sessions: ready-by 07:00?") offered as a fixable repair; accepting it writes the preference.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import time
from typing import Any

from homeassistant.components.repairs import RepairsFlow, RepairsFlowResult
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.util import dt as dt_util

from .charger_options import hub_config_entry
from .const import DOMAIN, LOGGER
from .core import (
    LEARN_WINDOW,
    WEEKDAY_GROUP,
    MemberPreferences,
    Recommendation,
    SessionEvent,
    SessionEventKind,
    StorageError,
    learn_habits,
    recommend,
)
from .hub import Hub
from .members import member_subentries
from .plan_form import CONF_PREFERENCES

#: Repair issues offering a recommendation: ``{ISSUE_RECOMMENDATION}_{member id}``.
ISSUE_RECOMMENDATION = "plan_recommendation"


def _member_subentry(entry: ConfigEntry, member_id: str | None) -> Any:
    return next((s for s in member_subentries(entry) if s.data.get("id") == member_id), None)


def member_preferences(hass: HomeAssistant, member_id: str | None) -> MemberPreferences:
    """A member's stored preferences (none for an unknown member)."""
    entry = hub_config_entry(hass)
    subentry = None if entry is None or member_id is None else _member_subentry(entry, member_id)
    if subentry is None:
        return MemberPreferences()
    return MemberPreferences.from_dict(subentry.data.get(CONF_PREFERENCES))


# ---------------------------------------------------------------------- recommendations


def _recommendation_data(member_id: str, recommendation: Recommendation) -> dict[str, Any]:
    return {"member_id": member_id, "days": sorted(recommendation.days)} | recommendation.to_dict()


def _recommendation_from(data: Mapping[str, Any]) -> Recommendation:
    return Recommendation(
        group=str(data["group"]),
        days=frozenset(int(day) for day in data["days"]),
        departure=time.fromisoformat(str(data["departure"])),
        ready_by=time.fromisoformat(str(data["ready_by"])),
        energy_wh=int(data["energy_wh"]),
        sessions=int(data["sessions"]),
    )


async def async_learn_member(hass: HomeAssistant, hub: Hub, member_id: str) -> None:
    """Learn the member's habits (the plan defaults where they set nothing) and offer a
    recommendation as a fixable repair, or withdraw one that no longer applies."""
    member = hub.site.directory.member(member_id)
    if member is None:
        return
    now = dt_util.utcnow()
    sessions = await hub.engine.async_sessions(
        start=now - LEARN_WINDOW, end=now, charger_id=None, member_id=member_id, limit=None
    )
    tz = dt_util.get_default_time_zone()
    habits = learn_habits(sessions, tz, now=now)
    hub.site.planning.set_habits(member_id, habits)
    issue_id = f"{ISSUE_RECOMMENDATION}_{member_id}"
    recommendation = recommend(habits, member_preferences(hass, member_id))
    if recommendation is None:
        ir.async_delete_issue(hass, DOMAIN, issue_id)
        return
    weekdays = recommendation.group == WEEKDAY_GROUP
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue_id,
        is_fixable=True,
        is_persistent=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=f"{ISSUE_RECOMMENDATION}_{'weekdays' if weekdays else 'weekend'}",
        translation_placeholders={
            "member": member.name,
            "departure": recommendation.departure.strftime("%H:%M"),
            "ready_by": recommendation.ready_by.strftime("%H:%M"),
            "sessions": str(recommendation.sessions),
            "energy_kwh": f"{recommendation.energy_wh / 1000:.1f}",
        },
        data=_recommendation_data(member_id, recommendation),
    )


@callback
def async_start_recommendations(hass: HomeAssistant, hub: Hub) -> Callable[[], None]:
    """Give the core the members' preferences; learn every member now and a member again
    after each of their sessions; returns the unsubscribe."""
    hub.site.planning.preferences_of = lambda member_id: member_preferences(hass, member_id)

    async def learn(member_id: str) -> None:
        try:
            await async_learn_member(hass, hub, member_id)
        except StorageError as err:  # the database is away: learnt again after a session
            LOGGER.warning("Charging habits of %s not learnt: %s", member_id, err)

    for member in hub.site.directory.members:
        hass.async_create_background_task(learn(member.id), f"{DOMAIN} learn {member.id}")

    @callback
    def on_session_event(event: SessionEvent) -> None:
        member_id = event.session.member_id
        if event.kind is SessionEventKind.ENDED and member_id is not None:
            hass.async_create_background_task(learn(member_id), f"{DOMAIN} learn {member_id}")

    return hub.engine.session_events.add(on_session_event)


class RecommendationRepairFlow(RepairsFlow):
    """Accept a learned ready-by: it becomes the member's preference on those days."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        """Remember the recommendation (the issue's data)."""
        self.issue_data = dict(data)

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> RepairsFlowResult:
        """Go to the confirmation."""
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """Ask, then write the preference."""
        entry = hub_config_entry(self.hass)
        member_id = self.issue_data.get("member_id")
        subentry = None if entry is None else _member_subentry(entry, member_id)
        if entry is None or subentry is None:
            return self.async_abort(reason="member_removed")
        recommendation = _recommendation_from(self.issue_data)
        if user_input is not None:
            preferences = recommendation.apply(member_preferences(self.hass, member_id))
            self.hass.config_entries.async_update_subentry(
                entry,
                subentry,
                data={**subentry.data, CONF_PREFERENCES: preferences.to_dict()},
            )
            return self.async_create_entry(data={})
        return self.async_show_form(
            step_id="confirm",
            description_placeholders={
                "member": subentry.title,
                "departure": recommendation.departure.strftime("%H:%M"),
                "ready_by": recommendation.ready_by.strftime("%H:%M"),
                "sessions": str(recommendation.sessions),
                "energy_kwh": f"{recommendation.energy_wh / 1000:.1f}",
            },
        )
