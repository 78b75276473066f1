"""Charging profiles the hub sets, the same in 1.6 and 2.0.1 (the payloads differ only).

Every profile the hub sets has a fixed id per (kind, scope), so a new limit or schedule replaces
the previous one of its scope instead of piling up stack levels (chargers often allow only a
few). A scope is a connector (EVSE), or 0 for the whole charger; a charger with one connector
has one scope, connector 1 (:func:`~..events.limit_scope`). Limits and schedules outside a
transaction are ``TxDefaultProfile`` at stack level 0; a schedule during a transaction is a
``TxProfile`` (stack level 0) bound to the transaction. The current the hub's arbiter decides
(user, plan and site budget together) is the charger's overall maximum, a
``ChargePointMaxProfile`` (1.6) / ``ChargingStationMaxProfile`` (2.0.1) on the whole charger
with its own id: it caps the schedules without replacing them. Only these ids are ever cleared:
a profile someone else set on the charger is left alone.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
import math
from typing import TypeGuard

from custom_components.ev_sessions.chargers.events import InvalidCommandError, SchedulePeriod

TX_DEFAULT = "TxDefaultProfile"
TX_PROFILE = "TxProfile"


class ProfileIds:
    """Fixed charging profile ids used by the hub."""

    LIMIT_BASE = 1000
    SCHEDULE_BASE = 2000
    #: The charger's overall maximum (ChargePointMaxProfile / ChargingStationMaxProfile).
    CHARGER_MAX = 3000

    @classmethod
    def limit(cls, scope: int) -> int:
        """The TxDefaultProfile (standing limit or schedule) of a scope (0 = whole charger)."""
        return cls.LIMIT_BASE + scope

    @classmethod
    def schedule(cls, connector_id: int) -> int:
        """The TxProfile (schedule of the running transaction) of a connector."""
        return cls.SCHEDULE_BASE + connector_id

    @staticmethod
    def replaced_scopes(scope: int, connectors: int) -> list[int]:
        """The other scopes whose standing limit of ours a new limit of ``scope`` replaces.

        One connector: the whole charger (where an earlier version set the limit). Several:
        a whole-charger limit replaces the connectors' own ones.
        """
        if connectors <= 1:
            return [0] if scope == 1 else []
        if scope == 0:
            return list(range(1, connectors + 1))
        return []

    @classmethod
    def of_scope(cls, scope: int, connectors: int) -> list[int]:
        """Every id of ours that applies within ``scope`` (what ClearLimits removes)."""
        if connectors <= 1 or scope == 0:
            connector_ids = range(1, max(connectors, 1) + 1)
            return [
                cls.limit(0),
                *(cls.limit(connector) for connector in connector_ids),
                *(cls.schedule(connector) for connector in connector_ids),
            ]
        return [cls.limit(scope), cls.schedule(scope)]


@dataclass(frozen=True, slots=True, kw_only=True)
class ProfileSpec:
    """A charging profile as the hub means it; v16/v201 turn it into their payload (in A)."""

    profile_id: int
    purpose: str
    start: datetime
    #: ``[(seconds from start, limit A), ...]``
    periods: list[tuple[int, float]]
    transaction_id: str | None = None
    stack_level: int = 0


def standing_start(now: datetime | None = None) -> datetime:
    """Start of a standing limit: a minute in the past, so clock skew cannot delay it."""
    base = (now or datetime.now(UTC)) - timedelta(minutes=1)
    return base.replace(second=0, microsecond=0)


def schedule_periods(
    periods: Sequence[SchedulePeriod],
) -> tuple[datetime, list[tuple[int, float]]]:
    """``(start, [(seconds from start, limit A), ...])``; InvalidCommandError when unusable."""
    if not periods:
        raise InvalidCommandError("a charging schedule needs at least one period")
    ordered = sorted(periods, key=lambda period: period.start)
    start = ordered[0].start
    if start.tzinfo is None:
        raise InvalidCommandError("schedule period starts must be timezone-aware")
    result: list[tuple[int, float]] = []
    for period in ordered:
        if period.limit_a < 0:
            raise InvalidCommandError(f"a current limit cannot be negative: {period.limit_a}")
        offset = int((period.start - start).total_seconds())
        if result and result[-1][0] == offset:
            result[-1] = (offset, period.limit_a)  # same second: the later one wins
        else:
            result.append((offset, period.limit_a))
    return start, result


def limit_at_start(schedule: object) -> float | None:
    """The limit (A) a composite schedule gives at its start, None when it does not say.

    ``schedule`` is the ``chargingSchedule`` (1.6) or ``schedule`` (2.0.1) of a
    GetCompositeSchedule answer; only a schedule in A is used.
    """
    if not isinstance(schedule, dict) or schedule.get("chargingRateUnit") != "A":
        return None
    periods = schedule.get("chargingSchedulePeriod")
    if not isinstance(periods, list):
        return None
    current: float | None = None
    for period in periods:
        if not isinstance(period, dict):
            continue
        start, limit = period.get("startPeriod"), period.get("limit")
        if not _number(start) or not _number(limit) or start > 0:
            continue
        if limit >= 0:
            current = float(limit)
    return current


def _number(value: object) -> TypeGuard[float]:
    """A JSON number that is finite (no bool)."""
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
