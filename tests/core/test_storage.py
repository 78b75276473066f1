"""Storage: migrations, size, batching, queries, attribution and prices."""

from __future__ import annotations

import ast
import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
import random

import pytest

from custom_components.ev_sessions.chargers.events import ConnectorState
from custom_components.ev_sessions.core import (
    EngineSettings,
    ProfilePoint,
    SessionStore,
    StorageError,
)
from custom_components.ev_sessions.core.power_profile import (
    append_point,
    pack_profile,
    unpack_profile,
)
from custom_components.ev_sessions.core.storage import SCHEMA_VERSION
from tests.databases import columns, rows, run_script, schema_of, text_length

from .helpers import CP, Harness, at, sample, started, status

CORE = Path(__file__).parents[2] / "custom_components" / "ev_sessions" / "core"


@pytest.fixture
async def harness(db_url: str) -> AsyncIterator[Harness]:
    """Engines over one fresh database (each backend), stopped after the test."""
    h = Harness(db_url)
    yield h
    await h.close()


def _session_bytes(url: str) -> int:
    """The bytes of the largest session: its row, its profile chunks and its slots (each
    value's length as text)."""
    sizes: dict[str, int] = {}
    for table, key in (
        ("sessions", "id"),
        ("profile_chunks", "session_id"),
        ("energy_slots", "session_id"),
    ):
        total = text_length(columns(url, table), url)
        query = f"SELECT {key}, sum({total}) FROM {table} GROUP BY {key}"  # noqa: S608
        for sid, size in rows(url, query):
            sizes[sid] = sizes.get(sid, 0) + int(size)
    return max(sizes.values())


async def test_three_hour_session_stores_under_50_kb(harness: Harness) -> None:
    """1,080 noisy 10 s samples with currents and SoC, written every minute: compact (row,
    profile chunks and slots together), energy exact."""
    rng = random.Random(7)
    engine = await harness.engine(flush_interval=timedelta(hours=1))
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    register = 1_000_000
    for s in range(0, 3 * 3600, 10):
        power = 11_000.0 + rng.uniform(-400, 400)
        register += round(power * 10 / 3600) if s else 0
        current = round(power / 690, 1)
        engine.handle_event(
            sample(
                at(seconds=s),
                energy_register_wh=register,
                power_w=power,
                current_a=(current, current + 0.3, current - 0.2),
                voltage_v=(230.0, 231.0, 229.0),
                soc_pct=10 + s / 200,
            )
        )
        if s % 60 == 50:
            await engine.async_flush()
    engine.handle_event(status(at(181), ConnectorState.AVAILABLE))
    session = engine.connector(CP, 1).last_session
    assert session is not None
    await engine.async_flush()
    size = _session_bytes(harness.url)
    assert size < 50_000, size
    print(f"session size {size} bytes, {len(session.profile)} points")  # noqa: T201
    stored = (await engine.async_sessions())[0]
    assert stored.energy_wh == session.energy_wh == register - 1_000_000
    assert stored.profile == unpack_profile(pack_profile(session.profile))  # W, 0.1 A, 0.1 %
    assert stored.profile[-1].energy_wh - stored.profile[0].energy_wh == session.energy_wh
    assert stored.profile[0].at == at(0)
    assert len(stored.slots) == 12
    assert stored.slots_energy_wh == session.energy_wh


async def test_steady_power_profile_is_compacted(harness: Harness) -> None:
    """Steady power keeps only change points and one point per 5 minutes."""
    engine = await harness.engine()
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    for s in range(0, 3 * 3600 + 1, 10):
        engine.handle_event(
            sample(at(seconds=s), energy_register_wh=s * 2, power_w=7200.0 + (s % 3))
        )
    session = engine.connector(CP, 1).session
    assert session is not None
    assert len(session.profile) < 80
    assert session.profile[-1].energy_wh == session.energy_wh == 3 * 3600 * 2


def test_profile_pack_roundtrip() -> None:
    """The stored form decodes to the same points (ms, W, 0.1 A, 0.1 %)."""
    points = [
        ProfilePoint(at=at(0), energy_wh=0),
        ProfilePoint(
            at=at(seconds=10.5),
            energy_wh=21,
            power_w=7400.0,
            current_a=(10.5, None, 10.1),
            soc_pct=55.5,
        ),
        ProfilePoint(at=at(seconds=20), energy_wh=40, power_w=7000.0, current_a=None, soc_pct=None),
    ]
    assert unpack_profile(pack_profile(points)) == points
    assert unpack_profile(pack_profile([])) == []


def test_profile_compaction_keeps_steps() -> None:
    """A step in power keeps the end of the flat run and the step."""
    settings = EngineSettings()
    points: list[ProfilePoint] = []
    for s in range(10):
        append_point(
            points, ProfilePoint(at=at(seconds=s * 10), energy_wh=s * 10, power_w=3600.0), settings
        )
    for s in range(10, 20):
        append_point(
            points, ProfilePoint(at=at(seconds=s * 10), energy_wh=s * 20, power_w=7200.0), settings
        )
    assert [(p.at, p.power_w) for p in points] == [
        (at(0), 3600.0),
        (at(seconds=90), 3600.0),
        (at(seconds=100), 7200.0),
        (at(seconds=190), 7200.0),
    ]


async def test_migration_from_schema_v1(db_url: str) -> None:
    """A v1 database (no anomalies column) is upgraded in place and keeps its sessions."""
    run_script(
        db_url,
        """
        CREATE TABLE schema_version (version INTEGER PRIMARY KEY);
        INSERT INTO schema_version VALUES (1);
        CREATE TABLE sessions (
            id VARCHAR(36) PRIMARY KEY, charger_id VARCHAR(255) NOT NULL,
            connector_id INTEGER NOT NULL, transaction_id VARCHAR(64), member_id VARCHAR(255),
            id_tag VARCHAR(64), plugged_in_at TIMESTAMP NOT NULL, unplugged_at TIMESTAMP,
            charging_started_at TIMESTAMP, charging_finished_at TIMESTAMP,
            transaction_ended_at TIMESTAMP, meter_start_wh BIGINT, meter_stop_wh BIGINT,
            energy_wh BIGINT NOT NULL, max_power_w FLOAT, charging_duration_s FLOAT NOT NULL,
            speed_class VARCHAR(16), stop_reason VARCHAR(64), cost VARCHAR(40),
            tariff VARCHAR(255), profile TEXT, tracking TEXT, is_open BOOLEAN NOT NULL,
            updated_at TIMESTAMP NOT NULL
        );
        CREATE TABLE lifetime_energy (
            charger_id VARCHAR(255) PRIMARY KEY, total_wh BIGINT NOT NULL, state TEXT,
            updated_at TIMESTAMP NOT NULL
        );
        INSERT INTO sessions (id, charger_id, connector_id, plugged_in_at, unplugged_at,
            energy_wh, charging_duration_s, is_open, updated_at, cost)
        VALUES ('old-1', 'cp-1', 1, '2025-01-01 10:00:00.000000',
            '2025-01-01 12:00:00.000000', 5000, 3600.0, FALSE, '2025-01-01 12:00:00.000000',
            '1.2345');
        INSERT INTO lifetime_energy VALUES ('cp-1', 90000, NULL, '2025-01-01 12:00:00.000000');
        """,
    )
    store = SessionStore(db_url)
    try:
        await store.async_open()
        assert await store.async_schema_version() == SCHEMA_VERSION == 7
        old = await store.async_get("old-1")
        assert old is not None
        assert old.anomalies == []
        assert old.energy_wh == 5000
        assert old.cost == Decimal("1.2345")
        assert old.plugged_in_at == datetime(2025, 1, 1, 10, tzinfo=UTC)
        lifetimes = await store.async_load_lifetimes()
        assert [(r.charger_id, r.total_wh) for r in lifetimes] == [("cp-1", 90000)]
    finally:
        await store.async_close()
    assert "anomalies" in columns(db_url, "sessions")


@pytest.mark.parametrize(
    "script",
    [
        "CREATE TABLE schema_version (version INTEGER);INSERT INTO schema_version VALUES (99);",
        "CREATE TABLE sessions (id TEXT);",
    ],
    ids=["newer", "bare"],
)
async def test_unknown_or_newer_schema_is_refused(db_url: str, script: str) -> None:
    """A newer schema, or tables without a version, raise StorageError (no damage done)."""
    run_script(db_url, script)
    before = schema_of(db_url)
    store = SessionStore(db_url)
    with pytest.raises(StorageError):
        await store.async_open()
    await store.async_close()
    assert schema_of(db_url) == before


async def test_bad_url_raises_storage_error() -> None:
    """An unusable URL is a StorageError, not a driver exception."""
    store = SessionStore("sqlite:////nonexistent-dir/sub/ev.db")
    with pytest.raises(StorageError):
        await store.async_open()
    await store.async_close()


async def test_writes_are_batched(harness: Harness) -> None:
    """One commit soon after a state change; samples ride along; never one per sample."""
    engine = await harness.engine(flush_interval=timedelta(seconds=60))
    store = engine._store
    engine.handle_event(status(at(0), ConnectorState.PREPARING))
    await asyncio.sleep(0.15)
    assert store.commits == 1  # session start flushed quickly
    engine.handle_event(status(at(1), ConnectorState.CHARGING))
    for s in range(600):
        engine.handle_event(sample(at(1, seconds=s), energy_register_wh=s * 3, power_w=10_800.0))
    await asyncio.sleep(0.15)
    assert store.commits == 2
    await asyncio.sleep(0.15)
    engine.handle_event(sample(at(11), energy_register_wh=1800, power_w=10_800.0))
    await asyncio.sleep(0.15)
    assert store.commits == 2  # no state change: waits for the interval
    await engine.async_flush()
    assert store.commits == 3
    await engine.async_flush()
    assert store.commits == 3  # nothing pending: no empty commit


async def test_periodic_flush_without_state_change(harness: Harness) -> None:
    """Energy of an open session reaches the database within the flush interval."""
    engine = await harness.engine(flush_interval=timedelta(seconds=0.1))
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    engine.handle_event(sample(at(0), energy_register_wh=100, power_w=6000.0))
    await asyncio.sleep(0.2)
    engine.handle_event(sample(at(1), energy_register_wh=200, power_w=6000.0))
    commits = engine._store.commits
    await asyncio.sleep(0.3)
    assert engine._store.commits == commits + 1
    stored = await engine._store.async_load_open()
    assert [s.energy_wh for s in stored] == [100]


async def _three_sessions(harness: Harness) -> list[str]:
    engine = await harness.engine()
    ids = []
    for charger, start in (("cp-1", 0), ("cp-2", 120), ("cp-1", 24 * 60)):
        engine.handle_event(status(at(start), ConnectorState.CHARGING, charger=charger))
        engine.handle_event(
            sample(at(start), charger=charger, energy_register_wh=1000, power_w=3000.0)
        )
        engine.handle_event(
            sample(at(start + 60), charger=charger, energy_register_wh=4000, power_w=3000.0)
        )
        engine.handle_event(status(at(start + 70), ConnectorState.AVAILABLE, charger=charger))
        last = engine.connector(charger, 1).last_session
        assert last is not None
        ids.append(last.id)
    engine.attribute(ids[1], "alice", "TAG-A")
    await engine.async_stop()
    harness.engines.remove(engine)
    return ids


async def test_query_filters(harness: Harness) -> None:
    """Filters by time (sessions overlapping [start, end)), charger, member; newest first."""
    ids = await _three_sessions(harness)
    engine = await harness.engine()
    assert [s.id for s in await engine.async_sessions()] == ids[::-1]
    assert [s.id for s in await engine.async_sessions(charger_id="cp-1")] == [ids[2], ids[0]]
    assert [s.id for s in await engine.async_sessions(member_id="alice")] == [ids[1]]
    # 0-70 min overlaps a window from 60 min; the session plugged in at 24 h does not start
    # before its end.
    assert [s.id for s in await engine.async_sessions(start=at(60), end=at(24 * 60))] == [
        ids[1],
        ids[0],
    ]
    assert [s.id for s in await engine.async_sessions(start=at(70), end=at(24 * 60))] == [ids[1]]
    assert [s.id for s in await engine.async_sessions(start=at(120))] == [ids[2], ids[1]]
    assert [s.id for s in await engine.async_sessions(limit=1)] == [ids[2]]
    alice = (await engine.async_sessions(member_id="alice"))[0]
    assert (alice.id_tag, alice.energy_wh, alice.plugged_in_at) == ("TAG-A", 3000, at(120))


async def test_attribution_and_price_of_stored_sessions(harness: Harness) -> None:
    """Sessions no longer in memory are patched in the database; prices are not redone."""
    ids = await _three_sessions(harness)
    harness.clock.now = at(60 * 24 * 30)  # a month later: nothing left in memory
    engine = await harness.engine()
    assert engine.session(ids[0]) is None
    engine.attribute(ids[0], "bob", None)
    engine.set_cost(ids[0], Decimal("1.05"), "night")
    engine.set_cost(ids[0], Decimal("9.99"), "day")  # already priced: kept
    engine.set_cost(ids[1], Decimal("0.10"), "day")
    engine.set_cost(ids[1], Decimal("0.20"), "fixed", overwrite=True)
    bob = await engine.async_sessions(member_id="bob")
    assert [s.id for s in bob] == [ids[0]]
    assert (bob[0].cost, bob[0].tariff) == (Decimal("1.05"), "night")
    second = (await engine.async_sessions(charger_id="cp-2"))[0]
    assert (second.cost, second.tariff, second.member_id) == (Decimal("0.20"), "fixed", "alice")


async def test_price_of_live_session(harness: Harness) -> None:
    """In memory, too, a priced session keeps its price unless overwritten."""
    engine = await harness.engine()
    engine.handle_event(started(at(0), "1", 0))
    session = engine.connector(CP, 1).session
    assert session is not None
    engine.set_cost(session.id, Decimal("2.50"), "a")
    engine.set_cost(session.id, Decimal("3.00"), "b")
    assert (session.cost, session.tariff) == (Decimal("2.50"), "a")
    engine.set_cost(session.id, Decimal("3.00"), "b", overwrite=True)
    stored = await engine.async_sessions()
    assert (stored[0].cost, stored[0].tariff) == (Decimal("3.00"), "b")


async def test_stats(harness: Harness) -> None:
    """Occupancy now, sessions today, utilization over a window, average idle time."""
    engine = await harness.engine()
    harness.clock.now = at(240)
    # connector 1: 17:00-19:00, charging 17:00-18:00 (idle 1 h); connector 2: open since 19:00
    engine.handle_event(status(at(0), ConnectorState.CHARGING, connector=1))
    engine.handle_event(sample(at(0), connector=1, energy_register_wh=0, power_w=7000.0))
    engine.handle_event(sample(at(60), connector=1, energy_register_wh=7000, power_w=7000.0))
    engine.handle_event(status(at(60), ConnectorState.SUSPENDED_EV, connector=1))
    engine.handle_event(status(at(120), ConnectorState.AVAILABLE, connector=1))
    engine.handle_event(status(at(120), ConnectorState.PREPARING, connector=2))
    engine.handle_event(status(at(0), ConnectorState.PREPARING, connector=1, charger="cp-other"))
    site = engine.stats(window=timedelta(hours=4), day_start=at(-60))
    assert site.charger_id is None
    assert site.connectors == 3
    assert site.occupied_now == 2
    assert site.sessions_today == 3
    one = engine.stats(CP, window=timedelta(hours=4), day_start=at(-60))
    assert one.connectors == 2
    assert one.occupied_now == 1
    assert one.charging_now == 0
    assert one.sessions_today == 2
    assert one.energy_today_wh == 7000
    assert one.occupied_share == pytest.approx((2 + 2) / 8)
    assert one.charging_share == pytest.approx(1 / 8)
    assert one.avg_idle_s == 3600.0
    assert engine.stats("nope").connectors == 0


def test_core_does_not_import_homeassistant() -> None:
    """core/ stays plain Python."""
    for path in CORE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n.split(".")[0] == "homeassistant" for n in names), path
