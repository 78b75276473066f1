"""Occupancy and demand figures computed from sessions (per charger or for the whole site).

Utilization is the share of connector time over a window: *occupied* counts from plug-in to
unplug, *charging* from charging start to charging finished (pauses in between included).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from .model import Session


@dataclass(frozen=True, slots=True, kw_only=True)
class OccupancyStats:
    """Occupancy and demand of one charger (``charger_id``) or the site (``None``)."""

    charger_id: str | None
    connectors: int
    occupied_now: int
    charging_now: int
    sessions_today: int
    energy_today_wh: int
    window: timedelta
    occupied_share: float  # 0..1 of connector time over the window
    charging_share: float
    avg_idle_s: float | None  # sessions that ended in the window, idle after charging
    #: Vehicles plugged in that have not received any energy yet (waiting for their turn:
    #: a schedule, load balancing, or an occupied shared supply). A car waiting in the car
    #: park without a free connector cannot be seen by any charger.
    waiting_now: int = 0


def _overlap(start: datetime, end: datetime, w_start: datetime, w_end: datetime) -> float:
    return max((min(end, w_end) - max(start, w_start)).total_seconds(), 0.0)


def compute_stats(
    sessions: Iterable[Session],
    *,
    charger_id: str | None,
    connectors: int,
    now: datetime,
    window: timedelta,
    day_start: datetime,
) -> OccupancyStats:
    """Figures over ``sessions`` (open and recently ended ones of the charger or site)."""
    w_start = now - window
    occupied = charging = 0.0
    occupied_now = charging_now = sessions_today = energy_today = waiting_now = 0
    idle: list[float] = []
    for session in sessions:
        end = session.unplugged_at or now
        occupied += _overlap(session.plugged_in_at, end, w_start, now)
        if session.charging_started_at is not None:
            charge_end = session.charging_finished_at or end
            charging += _overlap(session.charging_started_at, charge_end, w_start, now)
        if session.is_open:
            occupied_now += 1
            charging_now += session.tracking.charging
            waiting_now += session.charging_started_at is None
        if session.plugged_in_at >= day_start:
            sessions_today += 1
            energy_today += session.energy_wh
        if session.unplugged_at is not None and session.unplugged_at >= w_start:
            idle_time = session.idle_time()
            if idle_time is not None:
                idle.append(idle_time.total_seconds())
    capacity = connectors * window.total_seconds()
    return OccupancyStats(
        charger_id=charger_id,
        connectors=connectors,
        occupied_now=occupied_now,
        charging_now=charging_now,
        sessions_today=sessions_today,
        energy_today_wh=energy_today,
        window=window,
        occupied_share=min(occupied / capacity, 1.0) if capacity > 0 else 0.0,
        charging_share=min(charging / capacity, 1.0) if capacity > 0 else 0.0,
        avg_idle_s=sum(idle) / len(idle) if idle else None,
        waiting_now=waiting_now,
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberTotals:
    """One member's charging this month and last month (months in the caller's time zone)."""

    member_id: str
    energy_this_month_wh: int = 0
    energy_last_month_wh: int = 0
    sessions_this_month: int = 0
    last_session_end: datetime | None = None
    charging_now: bool = False
    #: Sum of the priced sessions' costs (None while none of the month's sessions is priced).
    cost_this_month: Decimal | None = None
    cost_last_month: Decimal | None = None


def member_totals(
    sessions: Iterable[Session], *, month_start: datetime, last_month_start: datetime
) -> dict[str, MemberTotals]:
    """Totals per member. A session counts in the month it was plugged in (one rule, so a
    session is never counted twice or in no month at all)."""
    acc: dict[str, dict[str, Any]] = {}
    for session in sessions:
        if session.member_id is None:
            continue
        item = acc.setdefault(
            session.member_id,
            {
                "this": 0,
                "last": 0,
                "count": 0,
                "end": None,
                "charging": False,
                "cost_this": None,
                "cost_last": None,
            },
        )
        if session.plugged_in_at >= month_start:
            item["this"] += session.energy_wh
            item["count"] += 1
            if session.cost is not None:
                item["cost_this"] = (item["cost_this"] or Decimal(0)) + session.cost
        elif session.plugged_in_at >= last_month_start:
            item["last"] += session.energy_wh
            if session.cost is not None:
                item["cost_last"] = (item["cost_last"] or Decimal(0)) + session.cost
        if session.unplugged_at is not None and (
            item["end"] is None or session.unplugged_at > item["end"]
        ):
            item["end"] = session.unplugged_at
        if session.is_open and session.tracking.charging:
            item["charging"] = True
    return {
        member_id: MemberTotals(
            member_id=member_id,
            energy_this_month_wh=item["this"],
            energy_last_month_wh=item["last"],
            sessions_this_month=item["count"],
            last_session_end=item["end"],
            charging_now=item["charging"],
            cost_this_month=item["cost_this"],
            cost_last_month=item["cost_last"],
        )
        for member_id, item in acc.items()
    }
