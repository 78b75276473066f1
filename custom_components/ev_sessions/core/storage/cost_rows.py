"""The ``session_costs`` table: every recorded cost of a session, append-only.

A row is never changed: the cost in force of a session is its last row (the session row's
``cost``/``tariff`` carry its total). Costs are read back exactly (:meth:`SessionCost.from_dict`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
import json
from typing import Any

from sqlalchemy import Connection, Row, insert, select

from custom_components.ev_sessions.core.cost import SessionCost
from custom_components.ev_sessions.core.cost_records import CostReason, CostRecord
from custom_components.ev_sessions.core.prices import PriceInterval

from .price_rows import interval_of_row
from .schema import prices_table, session_costs_table, sessions_table

#: Sessions per ``IN (...)`` query.
_BATCH = 500


def insert_cost(conn: Connection, record: CostRecord) -> int:
    """Append a cost row; its id."""
    cost = record.cost
    result = conn.execute(
        insert(session_costs_table).values(
            session_id=record.session_id,
            computed_at=record.computed_at,
            reason=str(record.reason),
            total=str(cost.total),
            currency=cost.currency,
            estimated=cost.estimated,
            cost=json.dumps(cost.to_dict(), separators=(",", ":")),
            tariff=None if record.tariff is None else json.dumps(record.tariff),
            note=record.note,
            user_id=record.user_id,
        )
    )
    key = result.inserted_primary_key
    return int(key[0]) if key is not None else 0


def cost_history(conn: Connection, session_ids: Iterable[str]) -> dict[str, list[CostRecord]]:
    """Every recorded cost of each session that has one, oldest first."""
    table = session_costs_table
    found: dict[str, list[CostRecord]] = defaultdict(list)
    ids = list(dict.fromkeys(session_ids))
    for index in range(0, len(ids), _BATCH):
        stmt = (
            select(table)
            .where(table.c.session_id.in_(ids[index : index + _BATCH]))
            .order_by(table.c.session_id, table.c.id)
        )
        for row in conn.execute(stmt):
            found[row.session_id].append(_record(row))
    return dict(found)


def latest_costs(conn: Connection, session_ids: Iterable[str]) -> dict[str, CostRecord]:
    """The cost in force (the last recorded) of each session that has one."""
    return {sid: records[-1] for sid, records in cost_history(conn, session_ids).items()}


def charger_cost_totals(conn: Connection) -> dict[tuple[str, str], Decimal]:
    """Per (charger, currency): the sum of the costs in force of its sessions."""
    table, sessions = session_costs_table, sessions_table
    latest: dict[str, tuple[int, str, str]] = {}
    for row in conn.execute(
        select(table.c.id, table.c.session_id, table.c.total, table.c.currency)
    ):
        known = latest.get(row.session_id)
        if known is None or row.id > known[0]:
            latest[row.session_id] = (int(row.id), row.total, row.currency)
    totals: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    ids = list(latest)
    for index in range(0, len(ids), _BATCH):
        stmt = select(sessions.c.id, sessions.c.charger_id).where(
            sessions.c.id.in_(ids[index : index + _BATCH])
        )
        for row in conn.execute(stmt):
            _, total, currency = latest[row.id]
            totals[(row.charger_id, currency)] += Decimal(total)
    return dict(totals)


def price_versions(conn: Connection, start: datetime, end: datetime) -> list[PriceInterval]:
    """Every stored version of every interval overlapping ``[start, end)``, as stored."""
    table = prices_table
    stmt = select(table).where(table.c.start < end, table.c.end > start).order_by(table.c.id)
    return [interval_of_row(row) for row in conn.execute(stmt)]


def _record(row: Row[Any]) -> CostRecord:
    return CostRecord(
        id=int(row.id),
        session_id=row.session_id,
        computed_at=row.computed_at,
        reason=CostReason(row.reason),
        cost=SessionCost.from_dict(json.loads(row.cost)),
        tariff=None if row.tariff is None else json.loads(row.tariff),
        note=row.note,
        user_id=row.user_id,
    )


__all__: Sequence[str] = [
    "charger_cost_totals",
    "cost_history",
    "insert_cost",
    "latest_costs",
    "price_versions",
]
