"""Per-member energy and cost as long-term statistics (HA recorder external statistics).

``ev_sessions:member_<id>_energy`` (kWh) and ``ev_sessions:member_<id>_cost`` (HA's currency),
hourly sums computed by :func:`~.core.member_hours` from the stored sessions. They survive the
recorder's purge of states, so "energy per member per month" is a statistics-graph card away.

A member's series is rebuilt whole (cleared, then imported again) whenever its figures may have
changed: a session of theirs ended or was (re-)priced, or a session moved to or from them; all
members at every start of the hub (the backfill). Rebuilds are batched: requests within
``delay`` are served by one rebuild.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
import logging

from homeassistant.components.recorder.models import StatisticData, StatisticMetaData
from homeassistant.components.recorder.models.statistics import StatisticMeanType
from homeassistant.components.recorder.statistics import async_add_external_statistics
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import UnitOfEnergy
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect, async_dispatcher_send
from homeassistant.helpers.recorder import get_instance
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util.unit_conversion import EnergyConverter

from .const import DOMAIN
from .core import (
    CostRecord,
    MemberHour,
    Session,
    SessionEvent,
    SessionEventKind,
    StorageError,
    member_hours,
    member_statistic_key,
)
from .hub import Hub

_LOGGER = logging.getLogger(__name__)

#: Sent with the member ids whose sessions moved (re-attribution).
SIGNAL_MEMBERS_CHANGED = f"{DOMAIN}_members_statistics_changed"


@dataclass(frozen=True, slots=True, kw_only=True)
class StatisticsSettings:
    """How long requests are gathered before one rebuild."""

    delay: timedelta = timedelta(seconds=10)


def statistic_ids(member_id: str) -> tuple[str, str]:
    """The energy and cost statistic ids of a member."""
    key = member_statistic_key(member_id)
    return f"{DOMAIN}:{key}_energy", f"{DOMAIN}:{key}_cost"


@callback
def async_members_changed(hass: HomeAssistant, member_ids: Iterable[str | None]) -> None:
    """Sessions moved between these members: their statistics are rebuilt."""
    async_dispatcher_send(hass, SIGNAL_MEMBERS_CHANGED, {m for m in member_ids if m})


class MemberStatistics:
    """Keeps the members' statistics in the recorder in step with the stored sessions."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        hub: Hub,
        settings: StatisticsSettings | None = None,
    ) -> None:
        """For the hub's engine and members (rebuilds end with the hub ``entry``)."""
        self._hass = hass
        self._entry = entry
        self._hub = hub
        self._settings = settings or StatisticsSettings()
        self._pending: set[str] = set()
        self._all = False
        self._timer: asyncio.TimerHandle | None = None
        self._task: asyncio.Task[None] | None = None

    # ------------------------------------------------------------------ wiring

    @callback
    def async_start(self) -> Callable[[], None]:
        """Listen for what changes the figures and backfill every member; returns the stop."""
        hub = self._hub
        removers = [
            hub.engine.session_events.add(self._session_event),
            hub.site.pricer.recorded.add(self._cost_recorded),
            async_dispatcher_connect(self._hass, SIGNAL_MEMBERS_CHANGED, self.request),
        ]
        self.request_all()

        def stop() -> None:
            for remove in removers:
                remove()
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        return stop

    @callback
    def _session_event(self, event: SessionEvent) -> None:
        if event.kind is SessionEventKind.ENDED and event.session.member_id:
            self.request({event.session.member_id})

    @callback
    def _cost_recorded(self, record: CostRecord) -> None:
        session = self._hub.engine.session(record.session_id)
        if session is not None:
            if session.member_id:
                self.request({session.member_id})
            return
        self._hass.async_create_task(self._request_stored(record.session_id), eager_start=False)

    async def _request_stored(self, session_id: str) -> None:
        try:
            session = await self._hub.site.audit.store.async_get(session_id)
        except StorageError as err:
            _LOGGER.debug("Member of session %s unknown: %s", session_id, err)
            return
        if session is not None and session.member_id:
            self.request({session.member_id})

    # ------------------------------------------------------------------ requests

    @callback
    def request(self, member_ids: set[str]) -> None:
        """Rebuild these members' statistics soon."""
        self._pending |= member_ids
        self._schedule()

    @callback
    def request_all(self) -> None:
        """Rebuild every member's statistics soon (the backfill)."""
        self._all = True
        self._schedule()

    @callback
    def _schedule(self) -> None:
        if self._timer is None:
            self._timer = self._hass.loop.call_later(
                self._settings.delay.total_seconds(), self._fire
            )

    @callback
    def _fire(self) -> None:
        self._timer = None
        if self._task is not None and not self._task.done():
            self._schedule()  # one rebuild at a time; this one runs after it
            return
        self._task = self._entry.async_create_background_task(
            self._hass, self.async_rebuild_pending(), name=f"{DOMAIN} member statistics"
        )

    async def async_rebuild_pending(self) -> None:
        """Rebuild what was requested (now)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        members, everyone = self._pending, self._all
        self._pending, self._all = set(), False
        if not (members or everyone):
            return
        try:
            await self._async_rebuild(None if everyone else members)
        except StorageError as err:
            _LOGGER.warning("Member statistics not updated: %s", err)
            self._pending |= members
            self._all |= everyone

    # ------------------------------------------------------------------ rebuild

    async def _async_rebuild(self, members: set[str] | None) -> None:
        """Clear and import the series of ``members`` (``None``: of everyone with sessions)."""
        if "recorder" not in self._hass.config.components:
            return
        engine = self._hub.engine
        sessions: list[Session] = []
        if members is None:
            sessions = await engine.async_sessions()
        else:
            for member_id in sorted(members):
                sessions.extend(await engine.async_sessions(member_id=member_id))
        currency = self._hass.config.currency
        hours = member_hours(sessions, currency)
        wanted = set(hours) if members is None else members
        names = await self._names()
        recorder = get_instance(self._hass)
        for member_id in sorted(wanted):
            energy_id, cost_id = statistic_ids(member_id)
            recorder.async_clear_statistics([energy_id, cost_id])
            rows = hours.get(member_id)
            if rows:
                self._import(member_id, rows, names, currency)

    def _import(
        self, member_id: str, rows: list[MemberHour], names: tuple[str, str], currency: str
    ) -> None:
        energy_id, cost_id = statistic_ids(member_id)
        member = self._hub.site.directory.member(member_id)
        who = member.name if member is not None else member_id
        energy_meta = StatisticMetaData(
            mean_type=StatisticMeanType.NONE,
            has_sum=True,
            name=f"{who} {names[0]}",
            source=DOMAIN,
            statistic_id=energy_id,
            unit_class=EnergyConverter.UNIT_CLASS,
            unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        )
        cost_meta = StatisticMetaData(
            mean_type=StatisticMeanType.NONE,
            has_sum=True,
            name=f"{who} {names[1]}",
            source=DOMAIN,
            statistic_id=cost_id,
            unit_class=None,
            unit_of_measurement=currency,
        )
        async_add_external_statistics(
            self._hass,
            energy_meta,
            [StatisticData(start=row.start, sum=row.energy_sum_wh / 1000) for row in rows],
        )
        async_add_external_statistics(
            self._hass,
            cost_meta,
            [StatisticData(start=row.start, sum=float(row.cost_sum)) for row in rows],
        )

    async def _names(self) -> tuple[str, str]:
        """The translated words after the member's name: the charger sensors' "Lifetime energy"
        and "Cost" (a member's series is their lifetime energy and cost)."""
        strings = await async_get_translations(
            self._hass, self._hass.config.language, "entity", [DOMAIN]
        )
        prefix = f"component.{DOMAIN}.entity.sensor"
        return (
            strings.get(f"{prefix}.lifetime_energy.name", "energy"),
            strings.get(f"{prefix}.charger_cost.name", "cost"),
        )
