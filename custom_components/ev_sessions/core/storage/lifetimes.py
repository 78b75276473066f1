"""The ``lifetime_energy`` table: each charger's lifetime energy counter and its state."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
import json
from typing import Any

from sqlalchemy import Connection, insert, select

from .bulk import update_rows
from .schema import lifetime_table


@dataclass(slots=True, kw_only=True)
class LifetimeRecord:
    """Stored state of a charger's lifetime counter."""

    charger_id: str
    total_wh: int
    state: dict[str, Any] = field(default_factory=dict)


def write_lifetime(record: LifetimeRecord, conn: Connection, now: datetime) -> None:
    """Insert or update a charger's counter."""
    write_lifetimes(conn, [record], now)


def write_lifetimes(conn: Connection, records: Sequence[LifetimeRecord], now: datetime) -> None:
    """Insert or update counters: one statement for those stored, one for the new ones."""
    if not records:
        return
    rows = {
        record.charger_id: {
            "charger_id": record.charger_id,
            "total_wh": record.total_wh,
            "state": json.dumps(record.state, separators=(",", ":")),
            "updated_at": now,
        }
        for record in records
    }
    stored = set(
        conn.execute(
            select(lifetime_table.c.charger_id).where(lifetime_table.c.charger_id.in_(list(rows)))
        ).scalars()
    )
    update_rows(conn, lifetime_table, ("charger_id",), [rows[cid] for cid in rows if cid in stored])
    new = [row for cid, row in rows.items() if cid not in stored]
    if new:
        conn.execute(insert(lifetime_table), new)


def load_lifetimes(conn: Connection) -> list[LifetimeRecord]:
    """Every charger's counter."""
    rows = conn.execute(select(lifetime_table)).all()
    return [
        LifetimeRecord(
            charger_id=row.charger_id,
            total_wh=int(row.total_wh),
            state=json.loads(row.state) if row.state else {},
        )
        for row in rows
    ]
