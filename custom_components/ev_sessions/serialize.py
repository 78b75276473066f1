"""Sessions as JSON-safe dicts (events, action responses, CSV, diagnostics)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .core.model import Session
from .core.stop_reasons import normalize_stop_reason

#: Columns of the CSV export, in order.
SESSION_CSV_FIELDS = [
    "id",
    "charger_id",
    "connector_id",
    "transaction_id",
    "member_id",
    "plugged_in_at",
    "charging_started_at",
    "charging_finished_at",
    "unplugged_at",
    "energy_kwh",
    "energy_wh",
    "duration_s",
    "idle_s",
    "max_power_w",
    "avg_power_w",
    "speed_class",
    "stop_reason",
    "cost",
    "tariff",
    "anomalies",
]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _round(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


def session_summary(session: Session) -> dict[str, Any]:
    """The facts of a session; the power profile is left out (it can be large)."""
    duration = session.duration()
    idle = session.idle_time()
    return {
        "id": session.id,
        "charger_id": session.charger_id,
        "connector_id": session.connector_id,
        "transaction_id": session.transaction_id,
        "member_id": session.member_id,
        "plugged_in_at": _iso(session.plugged_in_at),
        "charging_started_at": _iso(session.charging_started_at),
        "charging_finished_at": _iso(session.charging_finished_at),
        "unplugged_at": _iso(session.unplugged_at),
        "energy_wh": session.energy_wh,
        "energy_kwh": round(session.energy_wh / 1000, 3),
        "duration_s": int(duration.total_seconds()) if duration is not None else None,
        "idle_s": int(idle.total_seconds()) if idle is not None else None,
        "max_power_w": _round(session.max_power_w),
        "avg_power_w": _round(session.avg_power_w),
        "speed_class": session.speed_class.value if session.speed_class else None,
        "stop_reason": normalize_stop_reason(session.stop_reason),
        "cost": str(session.cost) if session.cost is not None else None,
        "tariff": session.tariff,
        "anomalies": ",".join(a.kind.value for a in session.anomalies),
    }
