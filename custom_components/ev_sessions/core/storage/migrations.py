"""Schema migrations: create a new database, or upgrade an older one step by step.

A new database is created at :data:`.schema.SCHEMA_VERSION`; an older one is upgraded by the
functions in :data:`MIGRATIONS`. The version is kept in the ``schema_version`` table.
"""

from __future__ import annotations

from collections.abc import Callable
import logging
from typing import Any

from sqlalchemy import Column, Connection, Row, insert, inspect, select, text, update

from custom_components.ev_sessions.core.energy import slots_from_profile
from custom_components.ev_sessions.core.model import ProfilePoint
from custom_components.ev_sessions.core.power_profile import pack_profile, unpack_profile

from .bulk import update_rows
from .errors import StorageError, StorageFault
from .profile_rows import write_chunks
from .schema import (
    SCHEMA_VERSION,
    audit_table,
    bill_counters_table,
    bill_items_table,
    bills_table,
    local_list_table,
    metadata,
    prices_table,
    profile_chunks_table,
    quarantine_table,
    schema_version,
    session_costs_table,
    sessions_table,
    slots_table,
)
from .slot_rows import SlotWrites

#: Sessions carried over per query by :func:`_migrate_4_to_5`.
_PAGE = 500

_LOGGER = logging.getLogger(__name__)


def _add_column(conn: Connection, column: Column[Any]) -> None:
    """Add ``column`` (nullable) to its table, typed as the schema declares it on this server."""
    preparer = conn.dialect.identifier_preparer
    kind = column.type.compile(dialect=conn.dialect)
    conn.execute(
        text(
            f"ALTER TABLE {preparer.format_table(column.table)} "
            f"ADD COLUMN {preparer.format_column(column)} {kind}"
        )
    )


def _migrate_1_to_2(conn: Connection) -> None:
    """Schema 2 records the anomalies of each session."""
    _add_column(conn, sessions_table.c.anomalies)


def _migrate_2_to_3(conn: Connection) -> None:
    """Schema 3 adds the authorization audit log and the local authorization list versions.

    The tables are created from their current definitions: a later migration that changes them
    must cope with tables created here in either shape.
    """
    audit_table.create(conn, checkfirst=True)
    local_list_table.create(conn, checkfirst=True)


def _migrate_3_to_4(conn: Connection) -> None:
    """Schema 4 keeps the rows the database refused (quarantine), as JSON."""
    quarantine_table.create(conn, checkfirst=True)


def _migrate_4_to_5(conn: Connection) -> None:
    """Schema 5 meters energy per quarter-hour and appends the power profile; adds prices.

    Every stored session is carried over: the points of its profile but the last move to
    ``profile_chunks`` (the last one stays in its row, as schema 5 writes it), and its energy
    slots are derived from those points (:func:`..energy.slots_from_profile`: the energy
    between two points counts in the slot of the later one; the slots sum to the session's
    energy). An open session's last slot stays open and goes on growing after the upgrade.
    """
    slots_table.create(conn, checkfirst=True)
    profile_chunks_table.create(conn, checkfirst=True)
    prices_table.create(conn, checkfirst=True)
    table = sessions_table
    columns = (
        table.c.id,
        table.c.profile,
        table.c.energy_wh,
        table.c.plugged_in_at,
        table.c.unplugged_at,
        table.c.is_open,
    )
    after = ""
    while True:
        stmt = select(*columns).where(table.c.id > after).order_by(table.c.id).limit(_PAGE)
        rows = conn.execute(stmt).all()
        chunks: list[tuple[str, int, list[ProfilePoint]]] = []
        slots = SlotWrites()
        for row in rows:
            points = _carry_over(row, slots)
            if len(points) > 1:
                chunks.append((row.id, 0, points))
        write_chunks(conn, [(sid, 0, points[:-1]) for sid, _, points in chunks])
        update_rows(
            conn,
            table,
            ("id",),
            [{"id": sid, "profile": pack_profile(points[-1:])} for sid, _, points in chunks],
        )
        slots.write(conn)
        if len(rows) < _PAGE:
            return
        after = rows[-1].id


def _carry_over(row: Row[Any], slots: SlotWrites) -> list[ProfilePoint]:
    """One session of schema 4: its slots derived from its profile; the profile's points."""
    try:
        points: list[ProfilePoint] = unpack_profile(row.profile)
    except (ValueError, KeyError, TypeError, IndexError) as err:
        _LOGGER.warning("Session %s: stored profile unreadable (%s); left as it was", row.id, err)
        points = []
    ended_at = None if row.is_open else (row.unplugged_at or row.plugged_in_at)
    closed, open_slot = slots_from_profile(
        row.id,
        points,
        int(row.energy_wh),
        fallback_at=row.unplugged_at or row.plugged_in_at,
        ended_at=ended_at,
    )
    slots.add(row.id, 0, closed, open_slot, exact=True, open_row=False)
    return points


def _migrate_5_to_6(conn: Connection) -> None:
    """Schema 6 records every cost of a session (``session_costs``) and audit details."""
    session_costs_table.create(conn, checkfirst=True)
    columns = {column["name"] for column in inspect(conn).get_columns("auth_audit")}
    if "detail" not in columns:
        _add_column(conn, audit_table.c.detail)


def _migrate_6_to_7(conn: Connection) -> None:
    """Schema 7 stores monthly bills, their items and number counters, and indexes the end of
    sessions (a session is billed in the month it ended)."""
    bills_table.create(conn, checkfirst=True)
    bill_items_table.create(conn, checkfirst=True)
    bill_counters_table.create(conn, checkfirst=True)
    indexes = {index["name"] for index in inspect(conn).get_indexes("sessions")}
    for index in sessions_table.indexes:
        if index.name == "ix_sessions_unplugged" and index.name not in indexes:
            index.create(conn)


#: ``MIGRATIONS[n]`` upgrades schema ``n`` to ``n + 1``.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    1: _migrate_1_to_2,
    2: _migrate_2_to_3,
    3: _migrate_3_to_4,
    4: _migrate_4_to_5,
    5: _migrate_5_to_6,
    6: _migrate_6_to_7,
}


def current_version(conn: Connection) -> int:
    """The schema version the database is at."""
    return int(conn.execute(select(schema_version.c.version)).scalar_one())


def migrate(conn: Connection) -> None:
    """Create a new database at the current schema, or upgrade an older one step by step."""
    tables = set(inspect(conn).get_table_names())
    if "schema_version" not in tables:
        if "sessions" in tables:
            raise StorageError("database has sessions but no schema_version table")
        metadata.create_all(conn)
        conn.execute(insert(schema_version).values(version=SCHEMA_VERSION))
        return
    version = current_version(conn)
    if version > SCHEMA_VERSION:
        raise StorageError(
            f"database schema {version} is newer than supported {SCHEMA_VERSION}",
            fault=StorageFault.NEWER_SCHEMA,
        )
    while version < SCHEMA_VERSION:
        _LOGGER.info("Migrating ev_sessions database schema %s -> %s", version, version + 1)
        MIGRATIONS[version](conn)
        version += 1
        conn.execute(update(schema_version).values(version=version))
