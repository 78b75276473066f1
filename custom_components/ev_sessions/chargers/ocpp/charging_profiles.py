"""Charging profile helpers shared by 1.6 and 2.0.1.

Every profile the hub sets has a fixed id per (kind, connector), so a new limit or schedule
replaces the previous one instead of piling up stack levels (chargers often allow only a few).
Limits and schedules outside a transaction are ``TxDefaultProfile`` at stack level 0; a schedule
during a transaction is a ``TxProfile`` (stack level 0) bound to the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from custom_components.ev_sessions.chargers.events import SchedulePeriod


class ProfileIds:
    """Fixed charging profile ids used by the hub."""

    LIMIT_BASE = 1000
    SCHEDULE_BASE = 2000

    @classmethod
    def limit(cls, connector_id: int) -> int:
        """The TxDefaultProfile (standing limit or schedule) of a connector (0 = all)."""
        return cls.LIMIT_BASE + connector_id

    @classmethod
    def schedule(cls, connector_id: int) -> int:
        """The TxProfile (schedule of the running transaction) of a connector."""
        return cls.SCHEDULE_BASE + connector_id


def standing_start(now: datetime | None = None) -> datetime:
    """Start of a standing limit: a minute in the past, so clock skew cannot delay it."""
    base = (now or datetime.now(UTC)) - timedelta(minutes=1)
    return base.replace(second=0, microsecond=0)


def schedule_periods(
    periods: Sequence[SchedulePeriod],
) -> tuple[datetime, list[tuple[int, float]]]:
    """``(start, [(seconds from start, limit A), ...])``; raise ValueError when unusable."""
    if not periods:
        raise ValueError("a charging schedule needs at least one period")
    ordered = sorted(periods, key=lambda period: period.start)
    start = ordered[0].start
    if start.tzinfo is None:
        raise ValueError("schedule period starts must be timezone-aware")
    result: list[tuple[int, float]] = []
    for period in ordered:
        if period.limit_a < 0:
            raise ValueError(f"a current limit cannot be negative: {period.limit_a}")
        offset = int((period.start - start).total_seconds())
        if result and result[-1][0] == offset:
            result[-1] = (offset, period.limit_a)  # same second: the later one wins
        else:
            result.append((offset, period.limit_a))
    return start, result
