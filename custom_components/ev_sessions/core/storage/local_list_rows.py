"""The ``local_auth_lists`` table: each charger's last confirmed local authorization list.

The versioning itself is :mod:`..local_lists`; this module only stores its records.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Connection, delete, insert, select, update

from custom_components.ev_sessions.core.local_lists import (
    LocalListRecord,
    entries_from_json,
    entries_hash,
    entries_to_json,
)

from .schema import local_list_table


def load_local_lists(conn: Connection) -> list[LocalListRecord]:
    """Every charger's stored list."""
    rows = conn.execute(select(local_list_table)).all()
    return [
        LocalListRecord(
            charger_id=row.charger_id,
            version=int(row.version),
            entries=entries_from_json(row.entries),
        )
        for row in rows
    ]


def save_local_list(conn: Connection, record: LocalListRecord) -> None:
    """Insert or replace a charger's list."""
    row = {
        "version": record.version,
        "entries": entries_to_json(record.entries),
        "entries_hash": entries_hash(record.entries),
        "updated_at": datetime.now(UTC),
    }
    result = conn.execute(
        update(local_list_table)
        .where(local_list_table.c.charger_id == record.charger_id)
        .values(row)
    )
    if result.rowcount == 0:
        conn.execute(insert(local_list_table).values(charger_id=record.charger_id, **row))


def delete_local_list(conn: Connection, charger_id: str) -> None:
    """Forget a charger's list."""
    conn.execute(delete(local_list_table).where(local_list_table.c.charger_id == charger_id))
