"""Per-member energy and cost as long-term statistics (HA recorder external statistics).

``ev_sessions:member_<id>_energy`` (kWh) and ``ev_sessions:member_<id>_cost`` (HA's currency),
hourly sums computed by :func:`~.core.member_hours` from the stored sessions. They survive the
recorder's purge of states, so "energy per member per month" is a statistics-graph card away.

A member's series is rebuilt whole (cleared, then imported again) whenever its figures may have
changed: a session of theirs ended or was (re-)priced, or a session moved to or from them.
At every start of the hub the series are checked, not rebuilt (the backfill): only a member whose
series is missing, or whose last row is not the last hour and sums their ended sessions give
(a session ended, moved or was re-priced while the statistics were not kept), is rebuilt; the
series of ids without sessions are cleared. The check reads a few numbers per session, a rebuild
only the slots and costs of that member's sessions, never power profiles. Rebuilds are batched:
requests within ``delay`` are served by one rebuild.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
import logging

from homeassistant.components.recorder.models import StatisticData, StatisticMetaData
from homeassistant.components.recorder.models.statistics import StatisticMeanType
from homeassistant.components.recorder.statistics import (
    async_add_external_statistics,
    get_last_statistics,
    get_metadata,
)
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import UnitOfEnergy
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect, async_dispatcher_send
from homeassistant.helpers.recorder import get_instance
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import dt as dt_util
from homeassistant.util.unit_conversion import EnergyConverter

from .const import DOMAIN
from .core import (
    CostRecord,
    MemberHour,
    SeriesEnd,
    SessionEvent,
    SessionEventKind,
    StorageError,
    member_hours,
    member_statistic_key,
    series_current,
    series_totals,
)
from .hub import Hub

_LOGGER = logging.getLogger(__name__)

#: Sent with the member ids whose sessions moved (re-attribution).
SIGNAL_MEMBERS_CHANGED = f"{DOMAIN}_members_statistics_changed"
#: Every member series' statistic id starts with it.
_MEMBER_PREFIX = f"{DOMAIN}:member_"


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
        self._stopped = False

    # ------------------------------------------------------------------ wiring

    @callback
    def async_start(self) -> Callable[[], None]:
        """Listen for what changes the figures and check every member's series (rebuilding
        what is not current); returns the stop."""
        hub = self._hub
        removers = [
            hub.engine.session_events.add(self._session_event),
            hub.site.pricer.recorded.add(self._cost_recorded),
            async_dispatcher_connect(self._hass, SIGNAL_MEMBERS_CHANGED, self.request),
        ]
        self.request_all()

        def stop() -> None:
            self._stopped = True  # a request still on its way (a stored session) schedules nothing
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
        """Check every member's statistics soon, rebuilding those not current (the backfill)."""
        self._all = True
        self._schedule()

    @callback
    def _schedule(self) -> None:
        if self._timer is None and not self._stopped:
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
        """Clear and import the series of ``members`` (``None``: of those not current)."""
        if "recorder" not in self._hass.config.components:
            return
        try:
            await self._hub.engine.async_flush()
        except StorageError as err:
            _LOGGER.debug("Member statistics from the stored sessions only: %s", err)
        names = await self._names()
        if members is None:
            members = await self._not_current(names)
        if not members:
            return
        currency = self._hass.config.currency
        figures = await self._hub.site.store.async_member_figures(sorted(members))
        hours = member_hours(figures, currency)
        recorder = get_instance(self._hass)
        for member_id in sorted(members):
            recorder.async_clear_statistics(list(statistic_ids(member_id)))
            rows = hours.get(member_id)
            if rows:
                self._import(member_id, rows, names, currency)

    async def _not_current(self, names: tuple[str, str]) -> set[str]:
        """Members whose series are missing or not as their ended sessions give; the series of
        ids no member with sessions has are cleared."""
        currency = self._hass.config.currency
        totals = series_totals(await self._hub.site.store.async_session_sums())
        recorder = get_instance(self._hass)
        known = await recorder.async_add_executor_job(self._recorded, set(totals))
        wanted = {sid for member_id in totals for sid in statistic_ids(member_id)}
        if orphans := sorted(sid for sid in known if sid not in wanted):
            recorder.async_clear_statistics(orphans)
        stale: set[str] = set()
        for member_id, member_totals in totals.items():
            energy_id, cost_id = statistic_ids(member_id)
            energy_name, cost_name = self._series_names(member_id, names)
            energy, cost = known.get(energy_id), known.get(cost_id)
            if (
                energy is None
                or cost is None
                or (energy.name, energy.unit) != (energy_name, UnitOfEnergy.KILO_WATT_HOUR)
                or (cost.name, cost.unit) != (cost_name, currency)
                or not series_current(member_totals, _series_end(energy, cost), currency)
            ):
                stale.add(member_id)
        return stale

    def _recorded(self, members: set[str]) -> dict[str, _Recorded]:
        """(In the recorder's executor.) Every member series the recorder has; the last row
        of those of ``members``."""
        metadata = get_metadata(self._hass, statistic_source=DOMAIN)
        wanted = {sid for member_id in members for sid in statistic_ids(member_id)}
        found: dict[str, _Recorded] = {}
        for statistic_id, (_, meta) in metadata.items():
            if not statistic_id.startswith(_MEMBER_PREFIX):
                continue
            start = total = None
            if statistic_id in wanted:
                rows = get_last_statistics(self._hass, 1, statistic_id, False, {"sum"})
                for row in rows.get(statistic_id, []):
                    start, total = row["start"], row.get("sum")
            found[statistic_id] = _Recorded(
                name=meta["name"], unit=meta["unit_of_measurement"], start=start, total=total
            )
        return found

    def _series_names(self, member_id: str, names: tuple[str, str]) -> tuple[str, str]:
        """The energy and cost series' names: the member's name and the translated words."""
        member = self._hub.site.directory.member(member_id)
        who = member.name if member is not None else member_id
        return f"{who} {names[0]}", f"{who} {names[1]}"

    def _import(
        self, member_id: str, rows: list[MemberHour], names: tuple[str, str], currency: str
    ) -> None:
        energy_id, cost_id = statistic_ids(member_id)
        energy_name, cost_name = self._series_names(member_id, names)
        energy_meta = StatisticMetaData(
            mean_type=StatisticMeanType.NONE,
            has_sum=True,
            name=energy_name,
            source=DOMAIN,
            statistic_id=energy_id,
            unit_class=EnergyConverter.UNIT_CLASS,
            unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        )
        cost_meta = StatisticMetaData(
            mean_type=StatisticMeanType.NONE,
            has_sum=True,
            name=cost_name,
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


@dataclass(frozen=True, slots=True, kw_only=True)
class _Recorded:
    """A member series in the recorder: its metadata and last row (start as a timestamp)."""

    name: str | None
    unit: str | None
    start: float | None
    total: float | None


def _series_end(energy: _Recorded, cost: _Recorded) -> SeriesEnd | None:
    """The end of a member's energy and cost series (``None`` unless both end in one hour)."""
    if energy.start is None or energy.total is None or cost.total is None:
        return None
    if energy.start != cost.start:
        return None
    return SeriesEnd(
        start=dt_util.utc_from_timestamp(energy.start), energy_kwh=energy.total, cost=cost.total
    )
