"""Audit log: batched writes, queries, re-attribution, and the schema 2 -> 3 migration."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import MetaData, create_engine, insert, inspect, text

from custom_components.ev_sessions.chargers.events import (
    AuthorizationRequest,
    AuthorizationStatus,
    ConnectorState,
    TagPresented,
)
from custom_components.ev_sessions.core import (
    AuditEntry,
    AuditLog,
    AuditSource,
    AuthorizationPolicy,
    Authorizer,
    EngineSettings,
    MemberDirectory,
    Session,
    SessionEngine,
    SessionNotFoundError,
    SessionStore,
    async_reattribute,
)
from custom_components.ev_sessions.core.storage.schema import (
    SCHEMA_VERSION,
    lifetime_table,
    schema_version,
    sessions_table,
)
from tests.databases import schema_of

from .helpers import CP, T0, Clock, at, status

ACCEPTED = AuthorizationStatus.ACCEPTED


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[SessionStore]:
    """An open store on a fresh database (each backend)."""
    store = SessionStore(db_url)
    await store.async_open()
    yield store
    await store.async_close()


def entry(minutes: float, **kw: Any) -> AuditEntry:
    """An authorize row at T0 + minutes."""
    values: dict[str, Any] = {
        "at": at(minutes),
        "source": AuditSource.AUTHORIZE,
        "charger_id": CP,
        "connector_id": 1,
        "id_tag": "04A1B2C3",
        "member_id": "anna",
        "status": ACCEPTED,
        "reason": "accepted",
    }
    values.update(kw)
    return AuditEntry(**values)


async def test_rows_are_written_in_one_batch_and_read_back(store: SessionStore) -> None:
    """record() does no I/O; one flush is one commit for all queued rows."""
    log = AuditLog(store)
    commits = store.commits
    authorizer = Authorizer(MemberDirectory.from_dicts([{"id": "anna", "tags": ["04A1B2C3"]}]))
    req = AuthorizationRequest(charger_id=CP, id_tag="04a1b2c3", connector_id=2, at=at(1))
    decision = authorizer.decide(req, AuthorizationPolicy(), at(1))
    written = log.record_decision(req, decision, AuditSource.START_TRANSACTION, session_id="s-1")
    log.record(entry(2, id_tag="DEAD", member_id=None, status=None, reason="unknown_tag"))
    log.record(entry(3, source=AuditSource.REMOTE_START, guest=True))
    assert (log.pending, store.commits) == (3, commits)
    assert await log.async_flush() == 3
    assert (log.pending, store.commits) == (0, commits + 1)
    assert await log.async_flush() == 0
    assert store.commits == commits + 1

    rows = await log.async_query()
    assert [r.at for r in rows] == [at(3), at(2), at(1)]
    assert all(r.id is not None for r in rows)
    first = rows[-1]
    assert first == AuditEntry(
        id=first.id,
        at=at(1),
        source=AuditSource.START_TRANSACTION,
        charger_id=CP,
        connector_id=2,
        id_tag="04a1b2c3",
        member_id="anna",
        status=ACCEPTED,
        reason="accepted",
        session_id="s-1",
    )
    assert first == replace(written, id=first.id)
    assert rows[0].guest is True
    assert rows[1].status is None


async def test_query_filters(store: SessionStore) -> None:
    """Time window [start, end), charger, member, session, source and limit; newest first."""
    log = AuditLog(store)
    log.record(entry(0))
    log.record(entry(10, charger_id="cp-2"))
    log.record(entry(20, member_id="ben", id_tag="BEN"))
    log.record(entry(30, status=AuthorizationStatus.BLOCKED, reason="blocked"))
    log.record(
        entry(
            40,
            source=AuditSource.REATTRIBUTION,
            member_id="ben",
            previous_member_id="anna",
            session_id="s-9",
            user_id="user-1",
            status=None,
        )
    )

    def minutes(rows: list[AuditEntry]) -> list[float]:
        return [(r.at - T0).total_seconds() / 60 for r in rows]

    assert minutes(await log.async_query(start=at(10), end=at(30))) == [20, 10]
    assert minutes(await log.async_query(charger_id="cp-2")) == [10]
    assert minutes(await log.async_query(member_id="ben")) == [40, 20]
    assert minutes(await log.async_query(member_id="anna")) == [40, 30, 10, 0]
    assert minutes(await log.async_query(session_id="s-9")) == [40]
    assert minutes(await log.async_query(source=AuditSource.REATTRIBUTION)) == [40]
    assert minutes(await log.async_query(limit=2)) == [40, 30]
    assert minutes(await log.async_query(charger_id=CP, member_id="anna", end=at(40))) == [30, 0]
    assert await log.async_purge(at(20)) == 2
    assert minutes(await log.async_query(limit=None)) == [40, 30, 20]


async def test_flush_loop_writes_batches_and_stop_writes_the_rest(store: SessionStore) -> None:
    """A full batch is written at once by the loop; stop flushes what is left."""
    log = AuditLog(store, batch_size=2, flush_interval=timedelta(seconds=30))
    await log.async_start()
    try:
        log.record(entry(1))
        log.record(entry(2))
        for _ in range(100):
            if log.pending == 0:
                break
            await asyncio.sleep(0.01)
        assert log.pending == 0
        log.record(entry(3))
        await asyncio.sleep(0.05)
        assert log.pending == 1  # below the batch size: waits for the interval
    finally:
        await log.async_stop()
    assert log.pending == 0
    assert len(await store.async_query_audit()) == 3


async def test_failed_flush_keeps_entries_and_queue_is_bounded(db_url: str) -> None:
    """Rows stay queued when the database fails; a full queue drops the oldest."""
    store = SessionStore(db_url)
    log = AuditLog(store, max_pending=3)
    for minute in range(5):
        log.record(entry(minute))
    assert (log.pending, log.dropped) == (3, 2)
    with pytest.raises(Exception, match="not open"):
        await log.async_flush()
    assert log.pending == 3
    await store.async_open()
    try:
        assert await log.async_flush() == 3
        assert [r.at for r in await log.async_query()] == [at(4), at(3), at(2)]
    finally:
        await store.async_close()


async def test_a_refused_row_is_quarantined_not_retried_and_the_queue_stays_bounded(
    db_url: str,
) -> None:
    """A row the database refuses for its data (a tag with a lone surrogate) is quarantined
    and the others written; it does not block the queue. After an outage the re-queued batch
    and what came meanwhile stay within the cap."""
    store = SessionStore(db_url)
    log = AuditLog(store, max_pending=4)
    log.record(entry(0))
    log.record(replace(entry(1), id_tag="\udc80"))
    log.record(entry(2))
    with pytest.raises(Exception, match="not open"):
        await log.async_flush()  # the database is away: all three kept
    for minute in range(3, 6):
        log.record(entry(minute))
    assert (log.pending, log.dropped) == (4, 2)
    # an outage with a full queue: the batch goes back, and nothing grows past the cap
    with pytest.raises(Exception, match="not open"):
        await log.async_flush()
    log.record(entry(6))
    assert (log.pending, log.dropped) == (4, 3)
    await store.async_open()
    try:
        log = AuditLog(store)
        log.record(entry(7))
        log.record(replace(entry(8), id_tag="\udc80"))
        log.record(entry(9))
        assert await log.async_flush() == 2
        assert log.refused == 1
        assert log.pending == 0
        assert [r.at for r in await log.async_query()] == [at(9), at(7)]
        [kept] = await store.async_quarantined()
        assert kept.kind == "audit"
        assert at(8).isoformat() in kept.key
        assert await log.async_flush() == 0  # not retried
    finally:
        await store.async_close()


async def test_reattribution_of_open_and_stored_sessions(db_url: str) -> None:
    """The session moves to the new member and the audit row says who, when, from and to."""
    store = SessionStore(db_url)
    await store.async_open()
    old = Session(
        id="old-1",
        charger_id=CP,
        connector_id=1,
        plugged_in_at=T0 - timedelta(days=60),
        unplugged_at=T0 - timedelta(days=60) + timedelta(hours=2),
        member_id="guest",
        id_tag="DEAD",
    )
    await store.async_save([old])
    engine = SessionEngine(
        store,
        clock=Clock(),
        settings=EngineSettings(
            flush_interval=timedelta(seconds=30), state_flush_delay=timedelta(seconds=0.01)
        ),
    )
    await engine.async_start()
    log = AuditLog(store)
    try:
        engine.handle_event(status(at(0), ConnectorState.CHARGING))
        engine.handle_event(
            TagPresented(
                charger_id=CP, at=at(0), connector_id=1, id_tag="04A1B2C3", status=ACCEPTED
            )
        )
        session = engine.connector(CP, 1).session
        assert session is not None
        assert session.id_tag == "04A1B2C3"

        moved = await async_reattribute(engine, log, session.id, "ben", by_user="u-1", at=at(5))
        assert moved == AuditEntry(
            at=at(5),
            source=AuditSource.REATTRIBUTION,
            charger_id=CP,
            connector_id=1,
            id_tag="04A1B2C3",
            member_id="ben",
            reason="reattributed",
            session_id=session.id,
            previous_member_id=None,
            user_id="u-1",
        )
        assert session.member_id == "ben"
        assert session.id_tag == "04A1B2C3"  # the presented tag is kept
        assert await async_reattribute(engine, log, session.id, "ben", at=at(6)) is None

        assert engine.session("old-1") is None  # not in memory: goes through the database
        stored = await async_reattribute(engine, log, "old-1", "anna", by_user="u-2", at=at(7))
        assert stored is not None
        assert (stored.previous_member_id, stored.member_id) == ("guest", "anna")
        again = await async_reattribute(engine, log, "old-1", "ben", by_user="u-2", at=at(8))
        assert again is not None
        assert again.previous_member_id == "anna"  # the pending patch was flushed first

        await engine.async_flush()
        reloaded = await store.async_get("old-1")
        assert reloaded is not None
        assert (reloaded.member_id, reloaded.id_tag) == ("ben", "DEAD")
        assert [s.member_id for s in await engine.async_sessions(member_id="ben")] == [
            "ben",
            "ben",
        ]
        rows = await log.async_query(session_id="old-1")
        assert [(r.previous_member_id, r.member_id, r.user_id) for r in rows] == [
            ("anna", "ben", "u-2"),
            ("guest", "anna", "u-2"),
        ]
        with pytest.raises(SessionNotFoundError):
            await async_reattribute(engine, log, "missing", "ben")
    finally:
        await log.async_stop()
        await engine.async_stop()


async def test_migration_from_schema_v2(new_db: Callable[..., str]) -> None:
    """A v2 database (as v2 code created it) gets the audit and local list tables, data kept."""
    path = new_db("v2")
    v2 = MetaData()
    for table in (schema_version, sessions_table, lifetime_table):  # the v2 tables, unchanged
        table.to_metadata(v2)
    engine = create_engine(path)
    with engine.begin() as conn:
        v2.create_all(conn)
        conn.execute(insert(v2.tables["schema_version"]).values(version=2))
        conn.execute(
            text(
                "INSERT INTO sessions (id, charger_id, connector_id, plugged_in_at, energy_wh,"
                " charging_duration_s, is_open, updated_at, member_id, anomalies) VALUES ('s-1',"
                " 'cp-1', 1, '2025-06-01 10:00:00.000000', 4200, 1800.0, FALSE,"
                " '2025-06-01 11:00:00.000000', 'anna', NULL)"
            )
        )
        tables = set(inspect(conn).get_table_names())
        assert tables == {"schema_version", "sessions", "lifetime_energy"}
    engine.dispose()

    store = SessionStore(path)
    try:
        await store.async_open()
        assert await store.async_schema_version() == SCHEMA_VERSION == 7
        old = await store.async_get("s-1")
        assert old is not None
        assert (old.member_id, old.energy_wh) == ("anna", 4200)
        await store.async_save_audit([entry(1)])
        assert [r.member_id for r in await store.async_query_audit()] == ["anna"]
        assert await store.async_load_local_lists() == []
    finally:
        await store.async_close()

    fresh_url = new_db("fresh")
    fresh = SessionStore(fresh_url)
    await fresh.async_open()
    await fresh.async_close()
    migrated = _schema(path)
    assert len(migrated) == 2  # two tables (with four indexes)
    assert migrated == _schema(fresh_url)

    again = SessionStore(path)  # opening a current database changes nothing
    try:
        await again.async_open()
        assert await again.async_schema_version() == 7
    finally:
        await again.async_close()


def _schema(url: str) -> dict[str, Any]:
    """The audit and local list tables: columns, keys, indexes."""
    return {
        name: table
        for name, table in schema_of(url).items()
        if name in {"auth_audit", "local_auth_lists"}
    }
