"""Many rows in one statement: ``executemany`` updates and deletes by key.

One statement for a whole flush keeps a flush with hundreds of open sessions cheap; the
parameters are named ``b_<column>`` (SQLAlchemy reserves the column names for the SET clause).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, Table, bindparam, delete, update


def update_rows(
    conn: Connection, table: Table, keys: Sequence[str], rows: Sequence[Mapping[str, Any]]
) -> None:
    """Update the rows identified by their ``keys`` columns to the other values given."""
    if not rows:
        return
    values = [name for name in rows[0] if name not in keys]
    stmt = (
        update(table)
        .where(*(table.c[key] == bindparam(f"b_{key}") for key in keys))
        .values({name: bindparam(f"b_{name}") for name in values})
    )
    conn.execute(stmt, [{f"b_{name}": value for name, value in row.items()} for row in rows])


def delete_from(
    conn: Connection, table: Table, key: str, seq: str, starts: Sequence[tuple[str, int]]
) -> None:
    """Delete, for each ``(key value, first)``, the rows of that key with ``seq >= first``."""
    if not starts:
        return
    stmt = delete(table).where(
        table.c[key] == bindparam("b_key"), table.c[seq] >= bindparam("b_first")
    )
    conn.execute(stmt, [{"b_key": value, "b_first": first} for value, first in starts])
