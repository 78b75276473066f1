"""Set up and tear down the hub: database, session engine, OCPP server.

Storage faults are made visible: a database that cannot be written at setup makes the entry
not ready (with the reason: read-only, full, unreachable); while writes fail at runtime a
repair issue says sessions are kept in memory and retried, and it goes once a write succeeds;
rows the database refused (quarantined) are reported as well. The audit log is purged by its
retention setting at start and once a day. Shutdown runs the engine's final save whatever
the other steps did.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
import contextlib
from datetime import timedelta
from pathlib import Path
import ssl

from homeassistant.config_entries import (
    SIGNAL_CONFIG_ENTRY_CHANGED,
    ConfigEntry,
    ConfigEntryChange,
)
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import Event, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_connect
from homeassistant.helpers.event import async_track_time_interval

from .billing_glue import BillingCoordinator
from .budget_glue import async_release_turned_off, async_start_budget
from .chargers.ocpp import OcppServer, OcppServerSettings
from .const import (
    CONF_CHARGER_ID,
    CONF_DB_URL,
    CONF_ENTRY_TYPE,
    CONF_FAST_MIN_KW,
    CONF_METER_INTERVAL,
    CONF_OCPP_HOST,
    CONF_OCPP_PORT,
    CONF_PROTOCOL,
    CONF_REJECT_UNKNOWN,
    CONF_SLOW_MAX_KW,
    CONF_SSL_CERTFILE,
    CONF_SSL_KEYFILE,
    DB_FILENAME,
    DEFAULT_FAST_MIN_KW,
    DEFAULT_METER_INTERVAL,
    DEFAULT_OCPP_HOST,
    DEFAULT_OCPP_PORT,
    DEFAULT_SLOW_MAX_KW,
    DOMAIN,
    ENTRY_TYPE_CHARGER,
    LOGGER,
    PROTOCOL_OCPP,
)
from .coordinator import SITE_MONTH, HubRuntimeData, MemberCoordinator, SiteCoordinator
from .core import (
    ChargingSite,
    EngineSettings,
    SessionEngine,
    SessionStore,
    SiteSettings,
    StorageError,
    StorageFault,
    StorageStatus,
)
from .events_bridge import async_forward_session_events
from .hub import Hub
from .member_notify import async_notify_members
from .members import member_subentries
from .plan_setup import async_start_planning
from .price_feed import PriceFeed, only_price_options_changed, price_config
from .statistics import MemberStatistics
from .tls import TlsConfigError, build_ssl_context

#: Hub option: days the audit log keeps its entries (0 keeps them forever).
CONF_AUDIT_RETENTION_DAYS = "audit_retention_days"
DEFAULT_AUDIT_RETENTION_DAYS = 365
AUDIT_PURGE_INTERVAL = timedelta(days=1)
#: Repair issues about the database.
ISSUE_STORAGE_FAILING = "storage_failing"
ISSUE_STORAGE_QUARANTINE = "storage_quarantine"
#: The translation key of a database that cannot be used at setup, by fault.
_NOT_READY_KEYS = {
    StorageFault.READ_ONLY: "database_read_only",
    StorageFault.FULL: "database_full",
    StorageFault.UNAVAILABLE: "database_unavailable",
}


def audit_retention_days(entry: ConfigEntry) -> int:
    """The configured audit log retention in days (0 = keep forever)."""
    try:
        days = int(entry.options.get(CONF_AUDIT_RETENTION_DAYS, DEFAULT_AUDIT_RETENTION_DAYS))
    except (TypeError, ValueError):
        return DEFAULT_AUDIT_RETENTION_DAYS
    return max(days, 0)


def database_url(hass: HomeAssistant, entry: ConfigEntry) -> str:
    """The database: SQLite in HA's config directory unless an external URL is configured."""
    url: str | None = entry.options.get(CONF_DB_URL) or entry.data.get(CONF_DB_URL)
    if url:
        return url
    return f"sqlite:///{Path(hass.config.path(DB_FILENAME))}"


async def async_setup_hub(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Open the database, start the engine and the OCPP server."""
    options = entry.options
    settings = EngineSettings(
        slow_max_w=int(float(options.get(CONF_SLOW_MAX_KW, DEFAULT_SLOW_MAX_KW)) * 1000),
        fast_min_w=int(float(options.get(CONF_FAST_MIN_KW, DEFAULT_FAST_MIN_KW)) * 1000),
        stats_retention=SITE_MONTH + timedelta(days=1),
    )
    store = SessionStore(database_url(hass, entry))
    engine = SessionEngine(store, settings=settings)
    try:
        await store.async_open()
        await store.async_check_writable()  # read-only, full or unreachable: not ready
        await engine.async_start()
    except StorageError as err:
        await store.async_close()
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key=_NOT_READY_KEYS.get(err.fault, "database_error"),
            translation_placeholders={"error": str(err)},
        ) from err

    # Whatever fails or is cancelled from here on, what was started is stopped again (the
    # engine last: its final save), so no socket, task or database thread is left behind.
    async with contextlib.AsyncExitStack() as started:
        started.push_async_callback(engine.async_stop)
        ssl_context = await _async_ssl_context(hass, entry)
        site_settings = SiteSettings(
            reject_unknown=bool(options.get(CONF_REJECT_UNKNOWN, False)),
            passwords_over_tls=ssl_context is not None,
        )
        hub = Hub(hass, entry, engine, store, site_settings)
        await hub.site.async_start()
        started.push_async_callback(hub.site.async_stop)
        server = await _async_start_server(entry, hub.site, ssl_context)
        started.push_async_callback(server.stop)
        await _async_wire_hub(hass, entry, hub, server)
        started.pop_all()


async def _async_ssl_context(hass: HomeAssistant, entry: ConfigEntry) -> ssl.SSLContext | None:
    """The OCPP server's TLS context (None without a certificate; not ready when it fails)."""
    try:
        return await hass.async_add_executor_job(
            build_ssl_context,
            entry.data.get(CONF_SSL_CERTFILE) or "",
            entry.data.get(CONF_SSL_KEYFILE) or "",
        )
    except TlsConfigError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="tls_error",
            translation_placeholders={"error": str(err)},
        ) from err


async def _async_start_server(
    entry: ConfigEntry, site: ChargingSite, ssl_context: ssl.SSLContext | None
) -> OcppServer:
    """Start the OCPP server, the site its handler (not ready when the port is taken)."""
    options = entry.options
    server = OcppServer(
        site,
        OcppServerSettings(
            # The hub options' bind address, else the entry's (older entries), else all.
            host=options.get(CONF_OCPP_HOST) or entry.data.get(CONF_OCPP_HOST, DEFAULT_OCPP_HOST),
            port=int(entry.data.get(CONF_OCPP_PORT, DEFAULT_OCPP_PORT)),
            ssl_context=ssl_context,
            meter_interval=int(options.get(CONF_METER_INTERVAL, DEFAULT_METER_INTERVAL)),
            reject_unknown=site.settings.reject_unknown,
        ),
        password_for=site.password_for,
        known=site.is_known,
        forgotten=site.forget_waiting,
    )
    try:
        await server.start()
    except OSError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="port_unavailable",
            translation_placeholders={
                "port": str(entry.data.get(CONF_OCPP_PORT)),
                "error": str(err),
            },
        ) from err
    return server


async def _async_wire_hub(
    hass: HomeAssistant, entry: ConfigEntry, hub: Hub, server: OcppServer
) -> None:
    """Connect the site's listeners to the coordinators and HA."""
    LOGGER.info("OCPP central system listening on port %s", server.port)
    site, engine = hub.site, hub.engine
    figures = SiteCoordinator(hass, entry, hub)
    await figures.async_config_entry_first_refresh()
    members = MemberCoordinator(hass, entry, hub)
    await members.async_config_entry_first_refresh()
    price_feed = PriceFeed(hass, price_config(entry.options))
    await price_feed.async_start()
    _connect_pricing(site, price_feed)
    stop_planning = await async_start_planning(hass, hub)
    runtime = HubRuntimeData(
        hub=hub, site_figures=figures, members=members, server=server, price_feed=price_feed
    )
    runtime.stop_callbacks.append(site.status_changes.add(lambda _id: figures.refresh_now()))
    runtime.stop_callbacks.append(stop_planning)
    runtime.stop_callbacks.append(
        price_feed.changes.add(
            lambda series: site.pricer.spawn(site.async_prices_known(series.intervals), "prices")
        )
    )

    @callback
    def cost_recorded(_record: object) -> None:
        """A recorded cost changes the members' monthly costs."""
        hass.async_create_task(members.async_request_refresh(), eager_start=True)

    runtime.stop_callbacks.append(site.pricer.recorded.add(cost_recorded))
    runtime.stop_callbacks.append(async_forward_session_events(hass, hub, figures, members))
    runtime.stop_callbacks.append(async_notify_members(hass, hub))
    runtime.member_statistics = MemberStatistics(hass, entry, hub)
    runtime.stop_callbacks.append(runtime.member_statistics.async_start())
    runtime.billing = BillingCoordinator(hass, entry, hub)
    await runtime.billing.async_refresh()
    runtime.stop_callbacks.append(runtime.billing.async_start())
    entry.runtime_data = runtime
    if (stop_budget := async_start_budget(hass, entry, site)) is not None:
        runtime.stop_callbacks.append(stop_budget)
    _report_storage(hass, engine.storage_status)
    runtime.stop_callbacks.append(
        engine.storage_changes.add(lambda status: _report_storage(hass, status))
    )
    _schedule_audit_purge(hass, entry, runtime)

    @callback
    def charger_removed(change: ConfigEntryChange, removed: ConfigEntry) -> None:
        """A removed OCPP charger is forgotten: if it comes back, it is a stranger again."""
        if (
            change is ConfigEntryChange.REMOVED
            and removed.domain == DOMAIN
            and removed.data.get(CONF_ENTRY_TYPE) == ENTRY_TYPE_CHARGER
            and removed.data.get(CONF_PROTOCOL) == PROTOCOL_OCPP
        ):
            hub.charger_removed(removed)
            server.forget(removed.data[CONF_CHARGER_ID])

    entry.async_on_unload(
        async_dispatcher_connect(hass, SIGNAL_CONFIG_ENTRY_CHANGED, charger_removed)
    )

    known_members = {s.subentry_id for s in member_subentries(entry)}
    options_in_use = dict(entry.options)

    async def _on_update(hass: HomeAssistant, entry: ConfigEntry) -> None:
        # The one mechanism for changes of the hub entry (its options flow does not reload):
        # changed options reload the hub, except the price options (the price feed follows
        # them live); members are subentries and are taken in live.
        if only_price_options_changed(options_in_use, entry.options):
            options_in_use.clear()
            options_in_use.update(entry.options)
            await runtime.price_feed.async_reconfigure(price_config(entry.options))
            site.set_tariff(runtime.price_feed.config.tariff)
            return
        if dict(entry.options) != options_in_use:
            await async_release_turned_off(site, entry.options)  # chargers still connected
            hass.config_entries.async_schedule_reload(entry.entry_id)
            return
        site.members_changed()
        for subentry in member_subentries(entry):
            if subentry.subentry_id not in known_members:
                known_members.add(subentry.subentry_id)
                members.new_members.emit(subentry.subentry_id)
        members.async_update_listeners()

    entry.async_on_unload(entry.add_update_listener(_on_update))
    # Members added while the hub was starting reached no listener: take them in now.
    site.members_changed()

    async def _on_stop(_event: Event) -> None:
        await _async_shutdown(runtime)

    runtime.stop_callbacks.append(hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, _on_stop))


def _connect_pricing(site: ChargingSite, price_feed: PriceFeed) -> None:
    """The site prices sessions with the feed's tariff and stores the prices it knows (the
    feed's later changes: ``price_feed.changes``, connected in :func:`_async_wire_hub`)."""
    site.pricer.tz = price_feed.tz
    site.set_tariff(price_feed.config.tariff)
    site.pricer.spawn(site.async_prices_known(price_feed.series.intervals), "prices")


async def _async_shutdown(runtime: HubRuntimeData) -> None:
    """Close sockets first (no more events), then flush and close the database.

    HA's stop event and an unload may both ask: they share one shutdown and both wait for it.
    """
    if runtime.shutdown is None:
        runtime.closed = True
        runtime.shutdown = asyncio.ensure_future(_shutdown_steps(runtime))
    await asyncio.shield(runtime.shutdown)


def _billing_done(runtime: HubRuntimeData) -> Callable[[], Awaitable[None]]:
    """Wait for a bill run in progress: its bills are announced before the database closes."""
    billing = runtime.billing

    async def wait() -> None:
        if billing is not None:
            await billing.async_wait_runs()

    return wait


async def _shutdown_steps(runtime: HubRuntimeData) -> None:
    """Stop the price feed, the server, then the site (audit log); the engine's final save
    runs regardless."""
    if runtime.billing is not None:
        runtime.billing.async_stop()
    for name, step in (
        ("bill issuing", _billing_done(runtime)),
        ("price feed", runtime.price_feed.async_stop),
        ("OCPP server", runtime.server.stop),
        ("site", runtime.hub.site.async_stop),
    ):
        try:
            await step()
        except Exception:  # noqa: BLE001  (logged; the final save must still run)
            LOGGER.exception("Stopping the %s failed; saving the sessions anyway", name)
    await runtime.hub.engine.async_stop()


@callback
def _report_storage(hass: HomeAssistant, status: StorageStatus) -> None:
    """Keep the database repair issues in line with the engine's storage status."""
    if status.writable:
        ir.async_delete_issue(hass, DOMAIN, ISSUE_STORAGE_FAILING)
    else:
        ir.async_create_issue(
            hass,
            DOMAIN,
            ISSUE_STORAGE_FAILING,
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=ISSUE_STORAGE_FAILING,
            translation_placeholders={"error": status.error or "", "fault": status.fault or ""},
        )
    if not status.quarantined:
        ir.async_delete_issue(hass, DOMAIN, ISSUE_STORAGE_QUARANTINE)
        return
    rows = "\n".join(f"- {row.kind} {row.key}: {row.error}" for row in status.quarantined[-10:])
    ir.async_create_issue(
        hass,
        DOMAIN,
        ISSUE_STORAGE_QUARANTINE,
        is_fixable=False,
        is_persistent=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=ISSUE_STORAGE_QUARANTINE,
        translation_placeholders={"count": str(len(status.quarantined)), "rows": rows},
    )


@callback
def _clear_storage_issues(hass: HomeAssistant) -> None:
    for issue_id in (ISSUE_STORAGE_FAILING, ISSUE_STORAGE_QUARANTINE):
        ir.async_delete_issue(hass, DOMAIN, issue_id)


@callback
def _schedule_audit_purge(hass: HomeAssistant, entry: ConfigEntry, runtime: HubRuntimeData) -> None:
    """Purge the audit log now (in the background) and once a day, by the retention option."""
    days = audit_retention_days(entry)
    if days == 0:
        return

    async def purge() -> None:
        if runtime.closed:
            return
        try:
            await runtime.hub.site.audit.async_purge_older_than(days)
        except StorageError as err:
            LOGGER.warning("Could not purge the audit log: %s", err)

    @callback
    def daily(_now: object) -> None:
        entry.async_create_background_task(hass, purge(), f"{DOMAIN} audit purge")

    daily(None)
    runtime.stop_callbacks.append(async_track_time_interval(hass, daily, AUDIT_PURGE_INTERVAL))


async def async_unload_hub(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Stop the server and the engine."""
    runtime: HubRuntimeData = entry.runtime_data
    for cb in runtime.stop_callbacks:
        _call_quietly(cb)
    runtime.stop_callbacks.clear()
    await _async_shutdown(runtime)
    _clear_storage_issues(hass)


@callback
def _call_quietly(cb: Callable[[], object]) -> None:
    # async_listen_once listeners raise ValueError when removed after they fired
    with contextlib.suppress(ValueError):
        cb()
