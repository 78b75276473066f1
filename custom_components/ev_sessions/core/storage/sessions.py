"""The ``sessions`` table: a session written as one row (insert or update), patched, read back.

Open sessions also store their charge tracking, so a restart resumes them; anomalies and the
tracking are compact JSON, the power profile the stored form of :mod:`..power_profile`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
import json
from typing import Any

from sqlalchemy import Connection, Row, insert, or_, select, update

from custom_components.ev_sessions.core.model import (
    Anomaly,
    AnomalyKind,
    ChargeTracking,
    Session,
    SpeedClass,
    from_iso,
    to_iso,
)
from custom_components.ev_sessions.core.power_profile import pack_profile, unpack_profile

from .schema import sessions_table


@dataclass(slots=True, kw_only=True)
class SessionPatch:
    """Fields to change on a stored session (attribution, cost)."""

    session_id: str
    values: dict[str, Any]
    only_unpriced: bool = False  # apply only if the session has no cost yet


def write_session(session: Session, conn: Connection, now: datetime) -> None:
    """Insert or update ``session``."""
    row = _session_row(session, now)
    result = conn.execute(
        update(sessions_table).where(sessions_table.c.id == session.id).values(row)
    )
    if result.rowcount == 0:
        conn.execute(insert(sessions_table).values(id=session.id, **row))


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
    return [_row_session(row) for row in conn.execute(stmt)]


def _session_row(session: Session, now: datetime) -> dict[str, Any]:
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
        "profile": pack_profile(session.profile) or None,
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
