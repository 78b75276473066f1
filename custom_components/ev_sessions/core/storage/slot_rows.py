"""The ``energy_slots`` table: the exact Wh of each session per UTC quarter-hour.

A row per slot, numbered per session (``seq``). A closed slot's row is written once and never
changed; the open slot's row (``closed_at`` NULL) is written again while it grows, so a restart
mid-slot loses none of its energy, and becomes the closed slot's row when it closes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, insert, select

from custom_components.ev_sessions.core.slots import EnergySlot

from .bulk import delete_from, update_rows
from .schema import slots_table

#: Sessions per ``IN (...)`` query.
_BATCH = 500


@dataclass(slots=True)
class SlotWrites:
    """The slot rows of one write, gathered over its sessions, stored in a few statements."""

    clean: list[tuple[str, int]] = field(default_factory=list)  # (session, first): delete from
    updates: list[dict[str, object]] = field(default_factory=list)
    inserts: list[dict[str, object]] = field(default_factory=list)

    def add(
        self,
        session_id: str,
        first: int,
        closed: Sequence[EnergySlot],
        open_slot: EnergySlot | None,
        *,
        exact: bool,
        open_row: bool,
    ) -> None:
        """The closed slots numbered from ``first``, then the open slot.

        ``exact``: the store holds exactly the session's slots before ``first`` and, if
        ``open_row``, its previous open slot as row ``first`` (replaced in place). Otherwise
        rows from ``first`` on are deleted first (left over from a write whose success the
        engine never learned of): rows before ``first`` are never touched.
        """
        rows = [_row(slot, first + n) for n, slot in enumerate(closed)]
        if open_slot is not None:
            rows.append(_row(open_slot, first + len(closed)))
        if not exact:
            self.clean.append((session_id, first))
        elif open_row and rows:
            self.updates.append(rows.pop(0))
        elif open_row:
            self.clean.append((session_id, first))  # the open slot was dropped (nothing drawn)
        self.inserts.extend(rows)

    def write(self, conn: Connection) -> None:
        """Delete, update and insert the gathered rows."""
        delete_from(conn, slots_table, "session_id", "seq", self.clean)
        update_rows(conn, slots_table, ("session_id", "seq"), self.updates)
        if self.inserts:
            conn.execute(insert(slots_table), self.inserts)


def _row(slot: EnergySlot, seq: int) -> dict[str, object]:
    return {
        "session_id": slot.session_id,
        "seq": seq,
        "start": slot.start,
        "energy_wh": slot.energy_wh,
        "max_power_w": slot.max_power_w,
        "closed_at": slot.closed_at,
    }


def load_slots(
    conn: Connection, session_ids: Iterable[str]
) -> dict[str, tuple[list[EnergySlot], EnergySlot | None]]:
    """The closed slots (in order) and the open slot of each session that has slots."""
    table = slots_table
    closed: dict[str, list[EnergySlot]] = defaultdict(list)
    open_slots: dict[str, EnergySlot] = {}
    ids = list(session_ids)
    for index in range(0, len(ids), _BATCH):
        stmt = (
            select(table)
            .where(table.c.session_id.in_(ids[index : index + _BATCH]))
            .order_by(table.c.session_id, table.c.seq)
        )
        for row in conn.execute(stmt):
            slot = _slot(row)
            if slot.closed_at is None:
                open_slots[slot.session_id] = slot
            else:
                closed[slot.session_id].append(slot)
    return {sid: (closed.get(sid, []), open_slots.get(sid)) for sid in {*closed, *open_slots}}


def select_slots(conn: Connection, start: datetime, end: datetime) -> list[EnergySlot]:
    """Every slot (closed or open) that starts within ``[start, end)``, by start."""
    table = slots_table
    stmt = (
        select(table)
        .where(table.c.start >= start, table.c.start < end)
        .order_by(table.c.start, table.c.session_id, table.c.seq)
    )
    return [_slot(row) for row in conn.execute(stmt)]


def _slot(row: Row[Any]) -> EnergySlot:
    return EnergySlot(
        session_id=row.session_id,
        start=row.start,
        energy_wh=int(row.energy_wh),
        max_power_w=row.max_power_w,
        closed_at=row.closed_at,
    )
