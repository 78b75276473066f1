"""Schema migrations: create a new database, or upgrade an older one step by step.

A new database is created at :data:`.schema.SCHEMA_VERSION`; an older one is upgraded by the
functions in :data:`MIGRATIONS`. The version is kept in the ``schema_version`` table.
"""

from __future__ import annotations

from collections.abc import Callable
import logging

from sqlalchemy import Connection, insert, inspect, select, text, update

from .errors import StorageError
from .schema import (
    SCHEMA_VERSION,
    audit_table,
    local_list_table,
    metadata,
    quarantine_table,
    schema_version,
)

_LOGGER = logging.getLogger(__name__)


def _migrate_1_to_2(conn: Connection) -> None:
    """Schema 2 records the anomalies of each session."""
    conn.execute(text("ALTER TABLE sessions ADD COLUMN anomalies TEXT"))


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


#: ``MIGRATIONS[n]`` upgrades schema ``n`` to ``n + 1``.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    1: _migrate_1_to_2,
    2: _migrate_2_to_3,
    3: _migrate_3_to_4,
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
        raise StorageError(f"database schema {version} is newer than supported {SCHEMA_VERSION}")
    while version < SCHEMA_VERSION:
        _LOGGER.info("Migrating ev_sessions database schema %s -> %s", version, version + 1)
        MIGRATIONS[version](conn)
        version += 1
        conn.execute(update(schema_version).values(version=version))
