"""The ``lifetime_energy`` table: each charger's lifetime energy counter and its state."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
import json
from typing import Any

from sqlalchemy import Connection, insert, select, update

from .schema import lifetime_table


@dataclass(slots=True, kw_only=True)
class LifetimeRecord:
    """Stored state of a charger's lifetime counter."""

    charger_id: str
    total_wh: int
    state: dict[str, Any] = field(default_factory=dict)


def write_lifetime(record: LifetimeRecord, conn: Connection, now: datetime) -> None:
    """Insert or update a charger's counter."""
    row = {
        "total_wh": record.total_wh,
        "state": json.dumps(record.state, separators=(",", ":")),
        "updated_at": now,
    }
    result = conn.execute(
        update(lifetime_table).where(lifetime_table.c.charger_id == record.charger_id).values(row)
    )
    if result.rowcount == 0:
        conn.execute(insert(lifetime_table).values(charger_id=record.charger_id, **row))


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
