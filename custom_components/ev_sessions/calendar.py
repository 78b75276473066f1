"""Calendar of charging sessions and of the chargers' planned charging windows."""

from __future__ import annotations

from datetime import datetime, timedelta

from homeassistant.components.calendar import (
    CalendarEntity,
    CalendarEntityDescription,
    CalendarEvent,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.util import dt as dt_util

from .coordinator import HubConfigEntry
from .core.model import Session
from .core.stop_reasons import normalize_stop_reason
from .entity import EvSessionsSiteEntity
from .plan_calendar import async_planned_events

PARALLEL_UPDATES = 0

SESSIONS_CALENDAR = CalendarEntityDescription(key="sessions", translation_key="sessions")


async def async_setup_entry(
    hass: HomeAssistant,
    entry: HubConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One calendar with every session."""
    async_add_entities([SessionCalendar(entry.runtime_data.site_figures, SESSIONS_CALENDAR)])


#: An ongoing event ends at the next quarter-hour after now (HA re-reads it then).
_ONGOING_STEP = timedelta(minutes=15)


def _title(session: Session, names: dict[str, str], members: dict[str, str]) -> str:
    """ "Member · Charger: 12.34 kWh" (without a member: "Charger: 12.34 kWh")."""
    charger = names.get(session.charger_id, session.charger_id)
    member = members.get(session.member_id) if session.member_id else None
    where = f"{member} · {charger}" if member else charger
    return f"{where}: {session.energy_wh / 1000:.2f} kWh"


def _ongoing_end(now: datetime) -> datetime:
    """The end of a running session's event: the next quarter-hour after ``now``.

    A running session has no end yet; the event must end after now for the calendar to be on
    (HA's state is on while start <= now < end). A stable end (not now + x) keeps the event
    the same between updates; HA wakes up at the end and reads the event again.
    """
    step = _ONGOING_STEP.total_seconds()
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    passed = (now - midnight).total_seconds()
    return midnight + timedelta(seconds=(passed // step + 1) * step)


class SessionCalendar(EvSessionsSiteEntity, CalendarEntity):
    """Each session is an event from plug-in to unplug; a running one is ongoing (it ends
    at the next quarter-hour, moved on as time passes)."""

    def _names(self) -> dict[str, str]:
        hub = self.coordinator.hub
        return {charger_id: hub.charger_name(charger_id) for charger_id in hub.site.chargers}

    def _members(self) -> dict[str, str]:
        return {m.id: m.name for m in self.coordinator.hub.site.directory.members}

    def _event(
        self, session: Session, names: dict[str, str], members: dict[str, str], now: datetime
    ) -> CalendarEvent:
        end = session.unplugged_at or _ongoing_end(max(now, session.plugged_in_at))
        if end <= session.plugged_in_at:
            end = session.plugged_in_at + timedelta(seconds=1)  # calendar events need end > start
        lines = [f"{session.energy_wh / 1000:.3f} kWh"]
        if session.charging_finished_at is not None:
            lines.append(
                f"charging finished {dt_util.as_local(session.charging_finished_at):%H:%M}"
            )
        if session.stop_reason:
            lines.append(f"stop reason: {normalize_stop_reason(session.stop_reason)}")
        return CalendarEvent(
            start=session.plugged_in_at,
            end=end,
            summary=_title(session, names, members),
            description="\n".join(lines),
            uid=session.id,
        )

    @property
    def event(self) -> CalendarEvent | None:
        """A session running now, if any."""
        now = dt_util.utcnow()
        engine = self.coordinator.hub.engine
        names, members = self._names(), self._members()
        for charger_id in list(self.coordinator.hub.site.chargers):
            for connector_id in engine.connectors(charger_id):
                session = engine.connector(charger_id, connector_id).session
                if session is not None:
                    return self._event(session, names, members, now)
        return None

    async def async_get_events(
        self, hass: HomeAssistant, start_date: datetime, end_date: datetime
    ) -> list[CalendarEvent]:
        """Sessions that overlap the range, from the database."""
        now = dt_util.utcnow()
        sessions = await self.coordinator.hub.engine.async_sessions(
            start=dt_util.as_utc(start_date),
            end=dt_util.as_utc(end_date),
            charger_id=None,
            member_id=None,
            limit=None,
        )
        names, members = self._names(), self._members()
        events = [self._event(session, names, members, now) for session in sessions]
        planned = await async_planned_events(
            hass, self.coordinator.hub, dt_util.as_utc(start_date), dt_util.as_utc(end_date)
        )
        return events + planned
