"""Light reads for the members' long-term statistics: sessions' slots and costs, no profiles.

Two queries over ``sessions`` and ``energy_slots`` (no new table): a few totals of every ended,
attributed session (whether a member's series is current), and the slots and cost of one
member's ended sessions (to rebuild the series).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, func, select

from custom_components.ev_sessions.core.member_statistics import SessionFigures, SessionSums

from .schema import sessions_table, slots_table
from .slot_rows import load_slots

#: Members per ``IN (...)`` query.
_BATCH = 500


def session_sums(conn: Connection) -> list[SessionSums]:
    """Every ended session with a member: its slots' Wh, latest slot with energy and cost."""
    sessions, slots = sessions_table, slots_table
    energy = (
        select(
            slots.c.session_id,
            func.sum(slots.c.energy_wh).label("energy_wh"),
            func.max(slots.c.start).label("last_start"),
        )
        .where(slots.c.energy_wh > 0)
        .group_by(slots.c.session_id)
        .subquery()
    )
    stmt = (
        select(
            sessions.c.member_id,
            sessions.c.plugged_in_at,
            sessions.c.cost,
            energy.c.energy_wh,
            energy.c.last_start,
        )
        .select_from(sessions.outerjoin(energy, energy.c.session_id == sessions.c.id))
        .where(sessions.c.is_open.is_(False), sessions.c.member_id.is_not(None))
    )
    return [
        SessionSums(
            member_id=row.member_id,
            plugged_in_at=row.plugged_in_at,
            energy_wh=int(row.energy_wh or 0),
            last_slot_start=row.last_start,
            cost=None if row.cost is None else Decimal(row.cost),
        )
        for row in conn.execute(stmt)
    ]


def member_figures(conn: Connection, member_ids: Iterable[str]) -> list[SessionFigures]:
    """The slots and cost of every ended session of these members."""
    sessions = sessions_table
    ids = sorted(set(member_ids))
    rows: list[Row[Any]] = []
    for index in range(0, len(ids), _BATCH):
        stmt = select(
            sessions.c.id, sessions.c.member_id, sessions.c.plugged_in_at, sessions.c.cost
        ).where(
            sessions.c.is_open.is_(False), sessions.c.member_id.in_(ids[index : index + _BATCH])
        )
        rows.extend(conn.execute(stmt))
    slots = load_slots(conn, [row.id for row in rows])
    figures = []
    for row in rows:
        closed, open_slot = slots.get(row.id, ([], None))
        figures.append(
            SessionFigures(
                member_id=row.member_id,
                plugged_in_at=row.plugged_in_at,
                cost=None if row.cost is None else Decimal(row.cost),
                slots=[*closed, *([open_slot] if open_slot is not None else [])],
            )
        )
    return figures
