"""The ``auth_audit`` table: the stored rows of the audit log (:mod:`..audit`).

Rows are appended, queried newest first and purged by age.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, Select, delete, insert, select

from custom_components.ev_sessions.chargers.events import AuthorizationStatus
from custom_components.ev_sessions.core.audit import AuditEntry, AuditSource

from .schema import audit_table


def insert_entries(conn: Connection, entries: Sequence[AuditEntry]) -> None:
    """Append audit rows."""
    conn.execute(insert(audit_table), [_audit_row(entry) for entry in entries])


def audit_query(
    *,
    start: datetime | None,
    end: datetime | None,
    charger_id: str | None,
    member_id: str | None,
    session_id: str | None,
    source: AuditSource | None,
    limit: int | None,
) -> Select[Any]:
    """Audit rows with ``start <= at < end``, newest first.

    ``member_id`` matches ``member_id`` or ``previous_member_id`` (both sides of a
    re-attribution).
    """
    c = audit_table.c
    conds: list[Any] = []
    if start is not None:
        conds.append(c.at >= start)
    if end is not None:
        conds.append(c.at < end)
    if charger_id is not None:
        conds.append(c.charger_id == charger_id)
    if member_id is not None:
        conds.append((c.member_id == member_id) | (c.previous_member_id == member_id))
    if session_id is not None:
        conds.append(c.session_id == session_id)
    if source is not None:
        conds.append(c.source == str(source))
    return select(audit_table).where(*conds).order_by(c.at.desc(), c.id.desc()).limit(limit)


def select_entries(conn: Connection, stmt: Select[Any]) -> list[AuditEntry]:
    """The entries an :func:`audit_query` finds."""
    return [_row_audit(row) for row in conn.execute(stmt)]


def purge_entries(conn: Connection, before: datetime) -> int:
    """Delete audit rows older than ``before``; the number deleted."""
    result = conn.execute(delete(audit_table).where(audit_table.c.at < before))
    return int(result.rowcount)


def _audit_row(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": entry.at,
        "source": str(entry.source),
        "charger_id": entry.charger_id,
        "connector_id": entry.connector_id,
        "id_tag": None if entry.id_tag is None else entry.id_tag[:64],  # column size
        "member_id": entry.member_id,
        "status": None if entry.status is None else str(entry.status),
        "reason": entry.reason,
        "guest": entry.guest,
        "session_id": entry.session_id,
        "previous_member_id": entry.previous_member_id,
        "user_id": entry.user_id,
        "detail": entry.detail,
    }


def _row_audit(row: Row[Any]) -> AuditEntry:
    return AuditEntry(
        id=int(row.id),
        at=row.at,
        source=AuditSource(row.source),
        charger_id=row.charger_id,
        connector_id=row.connector_id,
        id_tag=row.id_tag,
        member_id=row.member_id,
        status=None if row.status is None else AuthorizationStatus(row.status),
        reason=row.reason,
        guest=bool(row.guest),
        session_id=row.session_id,
        previous_member_id=row.previous_member_id,
        user_id=row.user_id,
        detail=row.detail,
    )
