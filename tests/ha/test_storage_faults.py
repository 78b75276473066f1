"""Storage faults inside Home Assistant: clear at setup, repaired at runtime, nothing lost at
shutdown; actions answer bad requests and storage faults with translated errors; the audit log
is purged by its retention setting."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from datetime import timedelta
from pathlib import Path
import sqlite3
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import device_registry as dr, issue_registry as ir
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.ev_sessions.chargers.events import ConnectorState, MeterSample, StatusChanged
from custom_components.ev_sessions.const import (
    CONF_DB_URL,
    DOMAIN,
)
from custom_components.ev_sessions.core import AuditEntry, AuditSource, SessionStore
from custom_components.ev_sessions.core.model import utcnow
from custom_components.ev_sessions.setup_hub import CONF_AUDIT_RETENTION_DAYS
from simulators.ocpp import SimulatedChargePoint
from tests.core.helpers import refusing_writes

from .helpers import ocpp_charger_entry, wait_until

Make = Callable[..., SimulatedChargePoint]


def _db_path(entry: MockConfigEntry) -> Path:
    return Path(str(entry.options[CONF_DB_URL]).removeprefix("sqlite:///"))


async def _stored(entry: MockConfigEntry) -> list[tuple[str, int]]:
    """(charger, energy) of the sessions in the entry's database, read by a store of its own."""
    store = SessionStore(f"sqlite:///{_db_path(entry)}")
    await store.async_open()
    try:
        return [(s.charger_id, s.energy_wh) for s in await store.async_sessions()]
    finally:
        await store.async_close()


def _charging(charger_id: str, *, minute: float, register_wh: int) -> list[Any]:
    at = utcnow() + timedelta(minutes=minute)
    return [
        StatusChanged(charger_id=charger_id, at=at, connector_id=1, state=ConnectorState.CHARGING),
        MeterSample(charger_id=charger_id, at=at, connector_id=1, energy_register_wh=register_wh),
    ]


# --------------------------------------------------------------------------- setup


@pytest.mark.parametrize(
    ("make_url", "translation_key", "text"),
    [
        (lambda p: f"sqlite:///file:{p}?mode=ro&uri=true", "database_read_only", "readonly"),
        (lambda p: f"sqlite:///{p.parent}/gone/ev.db", "database_unavailable", "unable to open"),
    ],
    ids=["read_only", "unreachable"],
)
async def test_unusable_database_at_setup_is_not_ready_with_the_reason(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    make_url: Callable[[Path], str],
    translation_key: str,
    text: str,
) -> None:
    """A database that opens but refuses writes (or cannot be opened) keeps the hub not
    ready, with a translated reason, instead of "loaded" and lost sessions."""
    path = _db_path(hub_entry)
    store = SessionStore(f"sqlite:///{path}")  # an existing, current database
    await store.async_open()
    await store.async_close()
    hass.config_entries.async_update_entry(
        hub_entry, options={**hub_entry.options, CONF_DB_URL: make_url(path)}
    )
    assert not await hass.config_entries.async_setup(hub_entry.entry_id)
    assert hub_entry.state is ConfigEntryState.SETUP_RETRY
    assert hub_entry.error_reason_translation_key == translation_key
    assert text in (hub_entry.reason or "")


# --------------------------------------------------------------------------- runtime


async def test_failing_writes_raise_a_repair_that_goes_when_writes_work(
    hass: HomeAssistant, hub: MockConfigEntry
) -> None:
    """While the database refuses writes: a repair issue, sessions kept in memory and listed
    from what is stored; once a write succeeds the issue goes and the session is stored."""
    assert await hass.config_entries.async_setup(ocpp_charger_entry(hass, "CP1").entry_id)
    runtime = hub.runtime_data
    issues = ir.async_get(hass)
    with refusing_writes(runtime.hub.site.store):
        for event in _charging("CP1", minute=-2, register_wh=1_000):
            runtime.hub.site.handle_event(event)
        runtime.hub.site.handle_event(
            MeterSample(charger_id="CP1", at=utcnow(), connector_id=1, energy_register_wh=1_800)
        )
        await runtime.hub.site.persist("CP1")  # what an adapter awaits: it does not raise
        issue = issues.async_get_issue(DOMAIN, "storage_failing")
        assert issue is not None
        assert issue.translation_key == "storage_failing"
        assert issue.severity is ir.IssueSeverity.ERROR
        assert "readonly" in (issue.translation_placeholders or {})["error"]
        listed = await hass.services.async_call(
            DOMAIN, "list_sessions", {}, blocking=True, return_response=True
        )
        assert listed == {"sessions": []}  # what is stored; no error
        assert runtime.hub.engine.connector("CP1", 1).session is not None  # kept in memory
    await runtime.hub.site.persist("CP1")
    assert issues.async_get_issue(DOMAIN, "storage_failing") is None
    assert await _stored(hub) == [("CP1", 800)]


@pytest.mark.parametrize("how", ["unload", "ha_stop"])
async def test_shutdown_saves_sessions_when_the_audit_log_fails_to_stop(
    hass: HomeAssistant, hub: MockConfigEntry, how: str
) -> None:
    """The audit log's last write fails at shutdown: the sessions are saved all the same."""
    assert await hass.config_entries.async_setup(ocpp_charger_entry(hass, "CP1").entry_id)
    runtime = hub.runtime_data
    for event in _charging("CP1", minute=-2, register_wh=5_000):
        runtime.hub.site.handle_event(event)
    await runtime.hub.site.persist("CP1")
    runtime.hub.site.handle_event(  # only in memory: the periodic flush is a minute away
        MeterSample(charger_id="CP1", at=utcnow(), connector_id=1, energy_register_wh=5_600)
    )
    # an entry the database refuses (no time: NOT NULL): the audit log's final write fails
    runtime.hub.site.audit.record(AuditEntry(at=None, source=AuditSource.AUTHORIZE))  # type: ignore[arg-type]
    if how == "unload":
        await hass.config_entries.async_unload(hub.entry_id)
    else:
        hass.bus.async_fire(EVENT_HOMEASSISTANT_STOP)
        await hass.async_block_till_done()
    await wait_until(hass, lambda: runtime.shutdown is not None and runtime.shutdown.done())
    assert runtime.shutdown is not None
    assert runtime.shutdown.exception() is None
    assert await _stored(hub) == [("CP1", 600)]


# --------------------------------------------------------------------------- actions


async def _device_id(hass: HomeAssistant, entry: MockConfigEntry, charger_id: str) -> str:
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"charger_{charger_id}"), entry.entry_id
    )
    assert device is not None
    return device.id


async def test_actions_answer_bad_requests_and_faults_with_translated_errors(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """Start after end, unknown connector, connector 0, an offline charger and a broken
    database: each a translated error, never an unexpected one."""
    online = ocpp_charger_entry(hass, "CP1")
    offline = ocpp_charger_entry(hass, "CP2")
    assert await hass.config_entries.async_setup(online.entry_id)
    assert await hass.config_entries.async_setup(offline.entry_id)
    cp = make_cp("CP1")
    await cp.connect()
    await cp.plug_in(1)
    runtime = hub.runtime_data
    await wait_until(hass, lambda: runtime.hub.engine.connectors("CP1") == [1])
    cp1 = await _device_id(hass, online, "CP1")
    cp2 = await _device_id(hass, offline, "CP2")

    async def call(service: str, data: dict[str, Any], *, response: bool = False) -> Any:
        return await hass.services.async_call(
            DOMAIN, service, data, blocking=True, return_response=response
        )

    cases: list[tuple[str, dict[str, Any], bool, type[Exception], str]] = [
        (
            "list_sessions",
            {"start": "2026-03-02T10:00:00", "end": "2026-03-01T10:00:00"},
            True,
            ServiceValidationError,
            "invalid_time_range",
        ),
        (
            "list_authorizations",
            {"start": "2026-03-02T10:00:00", "end": "2026-03-01T10:00:00"},
            True,
            ServiceValidationError,
            "invalid_time_range",
        ),
        (
            "start_charging",
            {"device_id": cp1, "connector": 5},
            False,
            ServiceValidationError,
            "unknown_connector",
        ),
        (
            "unlock_connector",
            {"device_id": cp1, "connector": 0},
            False,
            ServiceValidationError,
            "connector_zero",
        ),
        (
            "stop_charging",
            {"device_id": cp1, "connector": 0},
            False,
            ServiceValidationError,
            "connector_zero",
        ),
        (
            "start_charging",
            {"device_id": cp2, "connector": 1},
            False,
            HomeAssistantError,
            "charger_not_connected",
        ),
        (
            "unlock_connector",
            {"device_id": cp2, "connector": 1},
            False,
            HomeAssistantError,
            "charger_not_connected",
        ),
    ]
    for service, data, response, error, key in cases:
        with pytest.raises(error) as raised:
            await call(service, data, response=response)
        assert (service, raised.value.translation_key) == (service, key)
        assert raised.value.translation_domain == DOMAIN
    # a database that breaks under the running hub (its sessions table dropped)
    with closing(sqlite3.connect(_db_path(hub))) as db, db:
        db.execute("DROP TABLE sessions")
    for service in ("list_sessions", "export_sessions"):
        with pytest.raises(HomeAssistantError) as raised:
            await call(service, {}, response=True)
        assert raised.value.translation_key == "storage_error"
        assert "no such table" in str(raised.value)


# --------------------------------------------------------------------------- audit retention


def _audit(days_ago: float, tag: str) -> AuditEntry:
    return AuditEntry(
        at=utcnow() - timedelta(days=days_ago),
        source=AuditSource.AUTHORIZE,
        charger_id="CP1",
        id_tag=tag,
    )


@pytest.mark.parametrize(("days", "kept"), [(30, ["NEW"]), (0, ["NEW", "MONTHS", "YEARS"])])
async def test_audit_log_is_purged_by_its_retention(
    hass: HomeAssistant, hub_entry: MockConfigEntry, days: int, kept: list[str]
) -> None:
    """At start and then once a day, entries older than the retention go (0 keeps all)."""
    store = SessionStore(f"sqlite:///{_db_path(hub_entry)}")
    await store.async_open()
    await store.async_save_audit([_audit(400, "YEARS"), _audit(45, "MONTHS"), _audit(1, "NEW")])
    await store.async_close()
    hass.config_entries.async_update_entry(
        hub_entry, options={**hub_entry.options, CONF_AUDIT_RETENTION_DAYS: days}
    )
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    audit = hub_entry.runtime_data.hub.site.audit

    async def tags() -> list[str]:
        return [e.id_tag or "" for e in await audit.async_query(limit=None)]

    assert await tags() == kept
    audit.record(_audit(60, "LATE"))  # e.g. a queued decision written late
    await audit.async_flush()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(days=1, seconds=1))
    await hass.async_block_till_done(wait_background_tasks=True)
    expected = kept if days else ["NEW", "MONTHS", "LATE", "YEARS"]
    assert await tags() == expected


async def test_audit_retention_is_a_hub_option(
    hass: HomeAssistant, hub_entry: MockConfigEntry
) -> None:
    """The hub options form offers the retention (days, whole numbers)."""
    result = await hass.config_entries.options.async_init(hub_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "hub"}
    )
    assert result["step_id"] == "hub"
    assert CONF_AUDIT_RETENTION_DAYS in result["data_schema"].schema
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "reject_unknown_chargers": False,
            "meter_interval": 10,
            "slow_max_kw": 3.7,
            "fast_min_kw": 11.0,
            CONF_AUDIT_RETENTION_DAYS: 90.0,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert hub_entry.options[CONF_AUDIT_RETENTION_DAYS] == 90
    await hass.async_block_till_done()
    if hub_entry.state is ConfigEntryState.LOADED:  # an options flow that reloads sets it up
        assert await hass.config_entries.async_unload(hub_entry.entry_id)
