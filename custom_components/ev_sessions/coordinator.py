"""Runtime data and the per-charger push coordinator."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import Context, HomeAssistant, callback
from homeassistant.helpers.debounce import Debouncer
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .chargers.ocpp import OcppServer
from .const import DOMAIN, LOGGER
from .core import (
    ChargerLink,
    Listeners,
    MemberTotals,
    OccupancyStats,
    StorageError,
    member_totals,
)
from .hub import Hub
from .price_feed import PriceFeed

if TYPE_CHECKING:
    from .billing_glue import BillingCoordinator
    from .statistics import MemberStatistics


@dataclass(slots=True)
class HubRuntimeData:
    """What the hub entry keeps while loaded."""

    hub: Hub
    site_figures: SiteCoordinator
    members: MemberCoordinator
    server: OcppServer
    #: The site's prices from the configured price source.
    price_feed: PriceFeed
    stop_callbacks: list[Callable[[], Any]] = field(default_factory=list)
    #: The members' long-term statistics in the recorder.
    member_statistics: MemberStatistics | None = None
    #: Monthly bills: figures, issuing schedule, announcements (billing_glue.py).
    billing: BillingCoordinator | None = None
    closed: bool = False
    #: The running (or finished) shutdown, shared by whoever asks for it.
    shutdown: asyncio.Future[None] | None = None


@dataclass(slots=True)
class ChargerRuntimeData:
    """What a charger entry keeps while loaded."""

    hub: Hub
    link: ChargerLink
    coordinator: ChargerCoordinator
    adapter: Any = None  # the Modbus poller for Modbus chargers


#: The "month" of site utilization; the engine keeps ended sessions this long in memory.
SITE_MONTH = timedelta(days=30)
#: After a refresh of the member totals, the next one waits this long (session events come in
#: bursts: started, finished, ended): one query per second at most.
MEMBER_REFRESH_COOLDOWN = timedelta(seconds=1)

type HubConfigEntry = ConfigEntry[HubRuntimeData]
type ChargerConfigEntry = ConfigEntry[ChargerRuntimeData]


class ChargerCoordinator(DataUpdateCoordinator[None]):
    """Push coordinator for one charger.

    The engine calls it only for this charger's changes (``engine.charger_changes``), so the
    cost of a meter frame does not grow with the number of chargers. Entities compare their
    value before writing state.
    """

    config_entry: ChargerConfigEntry

    def __init__(
        self, hass: HomeAssistant, entry: ChargerConfigEntry, hub: Hub, charger_id: str
    ) -> None:
        """Listen to the engine for one charger."""
        super().__init__(
            hass, LOGGER, config_entry=entry, name=f"{DOMAIN} {charger_id}", update_interval=None
        )
        self.hub = hub
        self.charger_id = charger_id
        self.data = None
        #: Connectors with entities; connector 1 always, 0 (the station) never.
        self._known_connectors: set[int] = {1}
        #: The context of the latest engine update (shared by the states it writes).
        self.update_context: Context | None = None
        #: Called with a connector id when a connector is seen for the first time.
        self.new_connectors: Listeners[int] = Listeners("new connector")

    @callback
    def async_start(self) -> Callable[[], None]:
        """Subscribe to engine updates; returns the unsubscribe callable."""
        self._known_connectors.update(
            c for c in self.hub.engine.connectors(self.charger_id) if c > 0
        )
        return self.hub.engine.charger_changes.add(self.charger_id, self._on_engine_update)

    @property
    def connected(self) -> bool:
        """Whether the charger is connected to the hub right now."""
        return self.hub.engine.is_connected(self.charger_id)

    @callback
    def _on_engine_update(self, _charger_id: str) -> None:
        # One cause, one context: every state this update writes shares it. HA links a
        # context to its first event only, so this also avoids a Context/Event reference
        # cycle per state write (at 200 chargers those cycles cost a 0.6 s collection every
        # ~20 s with a dashboard open).
        context = self.update_context = Context()
        try:
            for connector_id in self.hub.engine.connectors(self.charger_id):
                if connector_id > 0 and connector_id not in self._known_connectors:
                    self._known_connectors.add(connector_id)
                    self.new_connectors.emit(connector_id)
            self.async_update_listeners()
        finally:
            # The first state written became the context's origin event, and that event holds
            # the new state, which holds the context: still one cycle per update, freed only by
            # a full collection once the state is replaced (at 200 chargers a ~0.35 s pause of
            # hass every ~2 min). The cause is this update, no event: unlink it.
            context.origin_event = None

    def known_connectors(self) -> list[int]:
        """Connectors seen so far (at least connector 1)."""
        return sorted(self._known_connectors)


@dataclass(frozen=True, slots=True)
class SiteData:
    """Occupancy and demand of the whole site over the day, week and month."""

    day: OccupancyStats
    week: OccupancyStats
    month: OccupancyStats


class SiteCoordinator(DataUpdateCoordinator[SiteData]):
    """Site-wide figures: recomputed every minute (time moves) and on every session event."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, hub: Hub) -> None:
        """Figures come from the engine's memory: cheap, no I/O."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} site",
            update_interval=timedelta(minutes=1),
        )
        self.hub = hub

    def compute(self) -> SiteData:
        """Figures now; "today" starts at local midnight."""
        engine = self.hub.engine
        day_start = dt_util.as_utc(dt_util.start_of_local_day())
        return SiteData(
            day=engine.stats(None, window=timedelta(days=1), day_start=day_start),
            week=engine.stats(None, window=timedelta(days=7), day_start=day_start),
            month=engine.stats(None, window=SITE_MONTH, day_start=day_start),
        )

    async def _async_update_data(self) -> SiteData:
        return self.compute()

    @callback
    def refresh_now(self) -> None:
        """A session started, finished or ended: update at once."""
        self.async_set_updated_data(self.compute())


class MemberCoordinator(DataUpdateCoordinator[dict[str, MemberTotals]]):
    """Per-member totals of this and last month, from the session database.

    Refreshed every few minutes and (debounced) after each session event.
    """

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, hub: Hub) -> None:
        """Query through the hub's engine."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} members",
            update_interval=timedelta(minutes=5),
            request_refresh_debouncer=Debouncer(
                hass, LOGGER, cooldown=MEMBER_REFRESH_COOLDOWN.total_seconds(), immediate=True
            ),
        )
        self.hub = hub
        #: Called with a member subentry id when a member is added in the UI.
        self.new_members: Listeners[str] = Listeners("new member")

    @staticmethod
    def month_starts() -> tuple[datetime, datetime]:
        """Start of this and of last month, local time, as UTC."""
        now = dt_util.now()
        this_month = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        last_month = (this_month - timedelta(days=1)).replace(day=1)
        return dt_util.as_utc(this_month), dt_util.as_utc(last_month)

    async def _async_update_data(self) -> dict[str, MemberTotals]:
        this_month, last_month = self.month_starts()
        try:
            sessions = await self.hub.engine.async_sessions(
                start=last_month, end=None, charger_id=None, member_id=None, limit=None
            )
        except StorageError as err:
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="storage_error",
                translation_placeholders={"error": str(err)},
            ) from err
        return member_totals(sessions, month_start=this_month, last_month_start=last_month)
