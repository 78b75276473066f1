"""Schema 4 -> 5: stored sessions keep their profile (now in chunks) and get their slots."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime
import json

import pytest
from sqlalchemy import create_engine, text

from custom_components.ev_sessions.chargers.events import ConnectorState
from custom_components.ev_sessions.core import ProfilePoint, SessionStore
from custom_components.ev_sessions.core.power_profile import pack_profile
from custom_components.ev_sessions.core.storage import SCHEMA_VERSION
from custom_components.ev_sessions.core.storage.schema import (
    audit_table,
    local_list_table,
    quarantine_table,
)
from tests.databases import rows, run_script, schema_of

from .helpers import CP, Harness, at, sample, status

#: The ``sessions`` and ``lifetime_energy`` tables as schema 4 created them.
_V4 = """
CREATE TABLE schema_version (version INTEGER NOT NULL, PRIMARY KEY (version));
INSERT INTO schema_version VALUES (4);
CREATE TABLE sessions (
    id VARCHAR(36) NOT NULL, charger_id VARCHAR(255) NOT NULL, connector_id INTEGER NOT NULL,
    transaction_id VARCHAR(64), member_id VARCHAR(255), id_tag VARCHAR(64),
    plugged_in_at TIMESTAMP NOT NULL, unplugged_at TIMESTAMP, charging_started_at TIMESTAMP,
    charging_finished_at TIMESTAMP, transaction_ended_at TIMESTAMP, meter_start_wh BIGINT,
    meter_stop_wh BIGINT, energy_wh BIGINT NOT NULL, max_power_w FLOAT,
    charging_duration_s FLOAT NOT NULL, speed_class VARCHAR(16), stop_reason VARCHAR(64),
    cost VARCHAR(40), tariff VARCHAR(255), profile TEXT, tracking TEXT, is_open BOOLEAN NOT NULL,
    updated_at TIMESTAMP NOT NULL, anomalies TEXT, PRIMARY KEY (id)
);
CREATE INDEX ix_sessions_charger_plugged ON sessions (charger_id, plugged_in_at);
CREATE INDEX ix_sessions_plugged ON sessions (plugged_in_at);
CREATE INDEX ix_sessions_member ON sessions (member_id);
CREATE INDEX ix_sessions_open ON sessions (is_open);
CREATE TABLE lifetime_energy (
    charger_id VARCHAR(255) NOT NULL, total_wh BIGINT NOT NULL, state TEXT,
    updated_at TIMESTAMP NOT NULL, PRIMARY KEY (charger_id)
);
"""

ENDED = [
    ProfilePoint(at=at(0), energy_wh=0, power_w=7000.0),
    ProfilePoint(at=at(10), energy_wh=1200, power_w=7200.0),
    ProfilePoint(at=at(20), energy_wh=2400, power_w=7100.0),  # straddles 17:15
    ProfilePoint(at=at(40), energy_wh=2400, power_w=0.0),
    ProfilePoint(at=at(50), energy_wh=2500, power_w=400.0),
]
OPEN = [
    ProfilePoint(at=at(60), energy_wh=0),
    ProfilePoint(at=at(70), energy_wh=600, power_w=3600.0, current_a=(15.6, 15.6, 15.6)),
    ProfilePoint(at=at(80), energy_wh=900, power_w=3600.0, current_a=(15.6, 15.6, 15.6)),
]


def _naive(when: datetime) -> str:
    return when.replace(tzinfo=None).isoformat(sep=" ")


def _v4_database(url: str) -> None:
    """A schema 4 database as that code wrote it: whole profiles in the session rows."""
    run_script(url, _V4)
    sessions = [
        # id, plugged, unplugged, energy, profile, tracking, open
        ("ended", at(0), at(55), 2500, pack_profile(ENDED), None, False),
        ("open", at(60), None, 900, pack_profile(OPEN), '{"charging":true}', True),
        ("v1", at(100), at(120), 5000, None, None, False),  # from schema 1: no profile
    ]
    meters = {
        "connector_energy": True,
        "meters": {
            "1": {
                "last_at": at(80).isoformat(),
                "register_wh": 10_900,
                "register_at": at(80).isoformat(),
                "has_register": True,
            }
        },
    }
    engine = create_engine(url)
    with engine.begin() as conn:
        for sid, plugged, unplugged, energy, profile, tracking, is_open in sessions:
            conn.execute(
                text(
                    "INSERT INTO sessions (id, charger_id, connector_id, plugged_in_at,"
                    " unplugged_at, meter_start_wh, meter_stop_wh, energy_wh,"
                    " charging_duration_s, profile, tracking, is_open, updated_at) VALUES (:id,"
                    " :cp, 1, :plugged, :unplugged, :start, 10900, :energy, 0.0, :profile,"
                    " :tracking, :open, :updated)"
                ),
                {
                    "id": sid,
                    "cp": CP,
                    "plugged": _naive(plugged),
                    "unplugged": None if unplugged is None else _naive(unplugged),
                    "start": 10_900 - energy,
                    "energy": energy,
                    "profile": profile,
                    "tracking": tracking,
                    "open": is_open,
                    "updated": _naive(at(80)),
                },
            )
        conn.execute(
            text("INSERT INTO lifetime_energy VALUES (:cp, 10900, :state, :at)"),
            {"cp": CP, "state": json.dumps(meters), "at": _naive(at(80))},
        )
        # the tables schema 3 and 4 added, unchanged since
        for table in (audit_table, local_list_table, quarantine_table):
            table.create(conn)
    engine.dispose()


@pytest.fixture
async def harness(db_url: str) -> AsyncIterator[Harness]:
    """Engines over one fresh database (each backend), stopped after the test."""
    h = Harness(db_url)
    yield h
    await h.close()


async def test_migration_from_schema_4_carries_sessions_over(harness: Harness) -> None:
    """Profiles move to chunks and read back whole; slots are derived from the points and sum
    to each session's energy; an open session goes on metering its open slot."""
    _v4_database(harness.url)
    store = SessionStore(harness.url)
    try:
        await store.async_open()
        assert await store.async_schema_version() == SCHEMA_VERSION == 7
        ended = await store.async_get("ended")
        assert ended is not None
        assert ended.profile == ENDED
        assert [(s.start, s.energy_wh, s.max_power_w, s.closed_at) for s in ended.slots] == [
            (at(0), 1200, 7200.0, at(20)),
            (at(15), 1200, 7100.0, at(40)),  # 17:30's slot: 0 W, nothing drawn: no slot
            (at(45), 100, 400.0, at(55)),
        ]
        assert ended.open_slot is None
        legacy = await store.async_get("v1")
        assert legacy is not None
        assert [(s.start, s.energy_wh) for s in legacy.slots] == [(at(120), 5000)]
        assert await store.async_prices(start=at(0), end=at(120)) == []
    finally:
        await store.async_close()
    chunks = rows(harness.url, "SELECT session_id, seq FROM profile_chunks ORDER BY 1")
    assert chunks == [("ended", 0), ("open", 0)]
    profiles = dict(rows(harness.url, "SELECT id, profile FROM sessions"))
    assert json.loads(profiles["ended"])["e"] == [2500]  # the row keeps the last point only

    engine = await harness.engine()
    session = engine.connector(CP, 1).session
    assert session is not None
    assert session.profile == OPEN
    assert [(s.start, s.energy_wh) for s in session.slots] == [(at(60), 600)]
    assert session.open_slot is not None
    assert (session.open_slot.start, session.open_slot.energy_wh) == (at(75), 300)
    engine.handle_event(sample(at(85), energy_register_wh=11_100, power_w=3600.0))
    engine.handle_event(sample(at(91), energy_register_wh=11_200, power_w=3600.0))
    engine.handle_event(status(at(92), ConnectorState.AVAILABLE))
    assert [(s.start, s.energy_wh) for s in session.slots] == [
        (at(60), 600),
        (at(75), 500),
        (at(90), 100),
    ]
    assert session.slots_energy_wh == session.energy_wh == 1200
    stored = {s.id: s for s in await engine.async_sessions()}
    assert stored[session.id].slots == session.slots
    assert stored[session.id].profile[: len(OPEN)] == OPEN
    assert len(stored["ended"].profile) == len(ENDED)


async def test_migrated_database_equals_a_new_one(new_db: Callable[..., str]) -> None:
    """The upgraded schema is the one a new database gets (tables, columns, indexes)."""
    old, new = new_db("old"), new_db("new")
    _v4_database(old)
    for url in (old, new):
        store = SessionStore(url)
        await store.async_open()
        await store.async_close()
    migrated, created = schema_of(old), schema_of(new)
    assert {"energy_slots", "profile_chunks", "prices", "session_costs"} <= set(created)
    assert "ix_energy_slots_start" in {i[0] for i in created["energy_slots"]["indexes"]}
    assert migrated == created
