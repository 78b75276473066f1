"""Schema 6 -> 7: the bill tables and the index on session ends are added, sessions kept."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import create_engine, inspect, text

from custom_components.ev_sessions.core import Month, SessionStore
from custom_components.ev_sessions.core.storage import SCHEMA_VERSION
from custom_components.ev_sessions.core.storage.schema import sessions_table

from .billing_fixtures import Clock, Household, local

BILL_TABLES = {"bills", "bill_items", "bill_counters"}


def _as_schema_6(url: str) -> None:
    """Turn a new database back into what schema 6 wrote (no bill tables, no end index)."""
    engine = create_engine(url)
    with engine.begin() as conn:
        for table in BILL_TABLES:
            conn.execute(text(f"DROP TABLE {table}"))
        next(i for i in sessions_table.indexes if i.name == "ix_sessions_unplugged").drop(conn)
        conn.execute(text("UPDATE schema_version SET version = 6"))
    engine.dispose()


def _schema(url: str) -> dict[str, tuple[set[str], set[str]]]:
    engine = create_engine(url)
    found = inspect(engine)
    schema = {
        table: (
            {c["name"] for c in found.get_columns(table)},
            {str(i["name"]) for i in found.get_indexes(table)},
        )
        for table in found.get_table_names()
    }
    engine.dispose()
    return schema


async def test_migration_from_schema_6_adds_bills_and_keeps_sessions(
    new_db: Callable[..., str],
) -> None:
    """A schema-6 database with a session is upgraded in place (on each backend); bills can be
    issued at once, and the upgraded schema equals a new one."""
    url = new_db("old")
    store = SessionStore(url)
    await store.async_open()
    house = Household(store, Clock())
    await house.add("s-1", "anna", local(2026, 11, 3, 18), local(2026, 11, 3, 22), 7_400)
    await store.async_close()
    _as_schema_6(url)
    assert BILL_TABLES.isdisjoint(_schema(url))

    store = SessionStore(url)
    await store.async_open()
    house.store = store
    try:
        assert await store.async_schema_version() == SCHEMA_VERSION == 7
        stored = await store.async_get("s-1")
        assert stored is not None
        assert stored.energy_wh == 7_400
        [bill] = await house.billing().async_issue(Month(2026, 11))
        assert bill.number == "2026-0001"
        assert bill.energy_wh == 7_400
    finally:
        await store.async_close()

    new_url = new_db("new")
    fresh = SessionStore(new_url)
    await fresh.async_open()
    await fresh.async_close()
    assert _schema(url) == _schema(new_url)
