"""The ``sessions`` table: a session written as one row (insert or update), patched, read back.

Open sessions also store their charge tracking, so a restart resumes them; anomalies and the
tracking are compact JSON. A session's power profile and energy slots grow while it charges and
live in their own append-only tables (:mod:`.profile_rows`, :mod:`.slot_rows`): a
:class:`SessionWrite` carries only what is new since the session was last stored (its
:class:`~..model.StoredMarks`), and writes it with the row in one transaction. Reading a
session joins them again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
import json
from typing import Any

from sqlalchemy import Connection, Row, insert, or_, select, update

from custom_components.ev_sessions.core.model import (
    Anomaly,
    AnomalyKind,
    ChargeTracking,
    ProfilePoint,
    Session,
    SpeedClass,
    StoredMarks,
    from_iso,
    to_iso,
)
from custom_components.ev_sessions.core.power_profile import pack_profile, unpack_profile
from custom_components.ev_sessions.core.slots import EnergySlot

from .bulk import update_rows
from .profile_rows import load_chunks, write_chunks
from .schema import sessions_table
from .slot_rows import SlotWrites, load_slots

#: Sessions per ``IN (...)`` query.
_BATCH = 500


@dataclass(slots=True, kw_only=True)
class SessionPatch:
    """Fields to change on a stored session (attribution, cost)."""

    session_id: str
    values: dict[str, Any]
    only_unpriced: bool = False  # apply only if the session has no cost yet


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionWrite:
    """What one write stores of a session: its row and what is new in its profile and slots.

    Build it with :meth:`of` (cheap: no copy of what is already stored) and, once the write
    succeeded, call :meth:`mark_written` on the live session so the next write starts there.
    """

    session: Session  # the row's values (its profile and slot lists are left empty)
    first_point: int  # index of ``points[0]`` in the profile
    points: tuple[ProfilePoint, ...]  # the last one stays in the row, the others: a new chunk
    first_slot: int  # number of ``slots[0]`` among the session's slots
    slots: tuple[EnergySlot, ...]  # closed slots not stored yet
    open_slot: EnergySlot | None  # the open slot (its row is replaced until it closes)
    write_slots: bool  # the slots changed since they were last stored
    exact: bool  # the store holds exactly what the marks say (else: check and replace)
    merge: bool  # the session ended: its chunks are merged into one
    open_row: bool  # the previous open slot has a row (number ``first_slot``)

    @classmethod
    def of(cls, session: Session) -> SessionWrite:
        """The write of what changed in ``session`` since its :attr:`~Session.stored` marks."""
        marks = session.stored
        unchunked = max(len(session.profile) - 1, 0)
        first_point = min(marks.points, unchunked)
        chunks = marks.chunks + (1 if first_point < unchunked else 0)
        merge = not session.is_open and chunks > 1
        if merge:
            first_point = 0  # ended: its chunks are merged into one (once)
        first_slot = min(marks.slots, len(session.slots))
        slots = tuple(session.slots[first_slot:])
        open_slot = session.open_slot
        row = replace(
            session,
            anomalies=[replace(a) for a in session.anomalies],
            profile=[],
            slots=[],
            open_slot=None,
            tracking=replace(session.tracking),
            stored=StoredMarks(),
        )
        return cls(
            session=row,
            first_point=first_point,
            points=tuple(session.profile[first_point:]),
            first_slot=first_slot,
            slots=slots,
            open_slot=open_slot,
            write_slots=bool(slots) or open_slot != marks.open_slot or not marks.exact,
            exact=marks.exact,
            merge=merge,
            open_row=marks.open_slot is not None,
        )

    def mark_written(self, session: Session) -> None:
        """Record on the live ``session`` that this write is stored."""
        marks = session.stored
        if len(self.points) > 1:
            marks.chunks = 1 if self.first_point == 0 else marks.chunks + 1
            marks.points = self.first_point + len(self.points) - 1
        if self.write_slots:
            marks.slots = self.first_slot + len(self.slots)
            marks.open_slot = self.open_slot
        marks.exact = True


def write_sessions(conn: Connection, writes: Sequence[SessionWrite], now: datetime) -> None:
    """Store the writes: rows updated or inserted, new chunks and slots appended.

    A handful of statements for any number of sessions (``executemany``). A session whose
    marks are not exact is checked (does its row exist?) and its chunks and slots from its
    marks on are replaced, so writing it again is harmless.
    """
    rows = {w.session.id: _session_row(w.session, w.points[-1:], now) for w in writes}
    unsure = [w.session.id for w in writes if not w.exact]
    new = set(unsure) - _stored_ids(conn, unsure)
    update_rows(
        conn,
        sessions_table,
        ("id",),
        [{"id": sid, **r} for sid, r in rows.items() if sid not in new],
    )
    if new:
        conn.execute(insert(sessions_table), [{"id": sid, **rows[sid]} for sid in new])
    chunks: list[tuple[str, int, Sequence[ProfilePoint]]] = []
    clean: list[tuple[str, int]] = []
    slots = SlotWrites()
    for write in writes:
        sid = write.session.id
        if not write.exact or write.merge:
            clean.append((sid, write.first_point))
        if len(write.points) > 1:
            chunks.append((sid, write.first_point, write.points[:-1]))
        if write.write_slots:
            slots.add(
                sid,
                write.first_slot,
                write.slots,
                write.open_slot,
                exact=write.exact,
                open_row=write.open_row,
            )
    write_chunks(conn, chunks, clean)
    slots.write(conn)


def write_session(write: SessionWrite, conn: Connection, now: datetime) -> None:
    """Store one write (see :func:`write_sessions`)."""
    write_sessions(conn, [write], now)


def _stored_ids(conn: Connection, ids: Sequence[str]) -> set[str]:
    """Which of ``ids`` have a session row."""
    found: set[str] = set()
    for index in range(0, len(ids), _BATCH):
        stmt = select(sessions_table.c.id).where(
            sessions_table.c.id.in_(ids[index : index + _BATCH])
        )
        found.update(conn.execute(stmt).scalars())
    return found


def write_patch(patch: SessionPatch, conn: Connection, now: datetime) -> None:
    """Change the patched fields of a stored session (nothing if it is not stored)."""
    values = dict(patch.values)
    if "cost" in values and values["cost"] is not None:
        values["cost"] = str(values["cost"])
    stmt = update(sessions_table).where(sessions_table.c.id == patch.session_id)
    if patch.only_unpriced:
        stmt = stmt.where(sessions_table.c.cost.is_(None))
    conn.execute(stmt.values(updated_at=now, **values))


def open_sessions() -> list[Any]:
    """Conditions: sessions whose vehicle is still connected."""
    return [sessions_table.c.is_open.is_(True)]


def ended_since(since: datetime) -> list[Any]:
    """Conditions: sessions that ended at or after ``since``."""
    return [sessions_table.c.unplugged_at >= since]


def with_id(session_id: str) -> list[Any]:
    """Conditions: the session with this id."""
    return [sessions_table.c.id == session_id]


def overlapping(
    start: datetime | None,
    end: datetime | None,
    charger_id: str | None,
    member_id: str | None,
) -> list[Any]:
    """Conditions: sessions that overlap ``[start, end)`` (open ones reach to now)."""
    conds: list[Any] = []
    if start is not None:
        unplugged = sessions_table.c.unplugged_at
        conds.append(or_(unplugged.is_(None), unplugged > start))
    if end is not None:
        conds.append(sessions_table.c.plugged_in_at < end)
    if charger_id is not None:
        conds.append(sessions_table.c.charger_id == charger_id)
    if member_id is not None:
        conds.append(sessions_table.c.member_id == member_id)
    return conds


def select_sessions(
    conn: Connection, conds: list[Any], limit: int | None, newest_first: bool
) -> list[Session]:
    """The sessions matching every condition, by plug-in time."""
    order = sessions_table.c.plugged_in_at
    stmt = select(sessions_table).where(*conds)
    stmt = stmt.order_by(order.desc() if newest_first else order).limit(limit)
    sessions = [_row_session(row) for row in conn.execute(stmt)]
    ids = [session.id for session in sessions]
    chunks = load_chunks(conn, ids)
    slots = load_slots(conn, ids)
    for session in sessions:
        stored_points, chunk_count = chunks.get(session.id, ([], 0))
        closed, open_slot = slots.get(session.id, ([], None))
        session.profile[:0] = stored_points
        session.slots, session.open_slot = closed, open_slot
        session.stored = StoredMarks(
            points=len(stored_points),
            chunks=chunk_count,
            slots=len(closed),
            open_slot=open_slot,
            exact=True,
        )
    return sessions


def _session_row(
    session: Session, unchunked: Sequence[ProfilePoint], now: datetime
) -> dict[str, Any]:
    open_ = session.is_open
    return {
        "charger_id": session.charger_id,
        "connector_id": session.connector_id,
        "transaction_id": session.transaction_id,
        "member_id": session.member_id,
        "id_tag": session.id_tag,
        "plugged_in_at": session.plugged_in_at,
        "unplugged_at": session.unplugged_at,
        "charging_started_at": session.charging_started_at,
        "charging_finished_at": session.charging_finished_at,
        "transaction_ended_at": session.transaction_ended_at,
        "meter_start_wh": session.meter_start_wh,
        "meter_stop_wh": session.meter_stop_wh,
        "energy_wh": session.energy_wh,
        "max_power_w": session.max_power_w,
        "charging_duration_s": session.charging_duration_s,
        "speed_class": None if session.speed_class is None else str(session.speed_class),
        "stop_reason": session.stop_reason,
        "cost": None if session.cost is None else str(session.cost),
        "tariff": session.tariff,
        "profile": pack_profile(unchunked) or None,
        "anomalies": _pack_anomalies(session.anomalies),
        "tracking": _pack_tracking(session.tracking) if open_ else None,
        "is_open": open_,
        "updated_at": now,
    }


def _row_session(row: Row[Any]) -> Session:
    return Session(
        id=row.id,
        charger_id=row.charger_id,
        connector_id=int(row.connector_id),
        transaction_id=row.transaction_id,
        member_id=row.member_id,
        id_tag=row.id_tag,
        plugged_in_at=row.plugged_in_at,
        unplugged_at=row.unplugged_at,
        charging_started_at=row.charging_started_at,
        charging_finished_at=row.charging_finished_at,
        transaction_ended_at=row.transaction_ended_at,
        meter_start_wh=row.meter_start_wh,
        meter_stop_wh=row.meter_stop_wh,
        energy_wh=int(row.energy_wh),
        max_power_w=row.max_power_w,
        charging_duration_s=float(row.charging_duration_s),
        speed_class=None if row.speed_class is None else SpeedClass(row.speed_class),
        stop_reason=row.stop_reason,
        cost=None if row.cost is None else Decimal(row.cost),
        tariff=row.tariff,
        profile=unpack_profile(row.profile),
        anomalies=_unpack_anomalies(row.anomalies),
        tracking=_unpack_tracking(row.tracking),
    )


def _pack_anomalies(anomalies: list[Anomaly]) -> str | None:
    if not anomalies:
        return None
    return json.dumps(
        [
            {"kind": str(a.kind), "at": a.at.isoformat(), "detail": a.detail, "count": a.count}
            for a in anomalies
        ],
        separators=(",", ":"),
    )


def _unpack_anomalies(text_: str | None) -> list[Anomaly]:
    if not text_:
        return []
    return [
        Anomaly(
            kind=AnomalyKind(item["kind"]),
            at=datetime.fromisoformat(item["at"]),
            detail=item.get("detail", ""),
            count=int(item.get("count", 1)),
        )
        for item in json.loads(text_)
    ]


def _pack_tracking(tracking: ChargeTracking) -> str:
    return json.dumps(
        {
            "charging": tracking.charging,
            "stopped_since": to_iso(tracking.stopped_since),
            "last_event_at": to_iso(tracking.last_event_at),
            "soc_start_pct": tracking.soc_start_pct,
            "soc_start_energy_wh": tracking.soc_start_energy_wh,
        },
        separators=(",", ":"),
    )


def _unpack_tracking(text_: str | None) -> ChargeTracking:
    if not text_:
        return ChargeTracking()
    data = json.loads(text_)
    return ChargeTracking(
        charging=bool(data.get("charging")),
        stopped_since=from_iso(data.get("stopped_since")),
        last_event_at=from_iso(data.get("last_event_at")),
        soc_start_pct=data.get("soc_start_pct"),
        soc_start_energy_wh=data.get("soc_start_energy_wh"),
    )
