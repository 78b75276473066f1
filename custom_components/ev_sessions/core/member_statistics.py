"""Per-member energy and cost per UTC hour: the long-term statistics of a household.

Plain arithmetic over stored sessions (no Home Assistant): the glue hands the result to HA's
recorder as external statistics. The rules:

* only ended sessions count (an open session is added once it ended), each for the member it
  is attributed to now (a re-attribution moves the whole session);
* energy: the exact Wh of the session's quarter-hour slots, summed per UTC hour;
* cost: the session's cost in force (recorded, after any re-price) spread over the hours of its
  slots in proportion to their energy, rounded to the currency's minor unit with the largest
  remainders, so a session's hours add up to its cost exactly; a priced session without energy
  (fees only) counts in the hour it was plugged in;
* each hour carries the running sums from the member's first hour on (what HA's statistics
  ``sum`` column holds: the total at the end of the hour).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
import re

from .cost import minor_unit
from .model import Session

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberHour:
    """One member's charging in one UTC hour, with the running sums up to its end."""

    start: datetime  # a UTC hour
    energy_wh: int
    cost: Decimal
    energy_sum_wh: int
    cost_sum: Decimal


def hour_start(at: datetime) -> datetime:
    """The UTC hour at or before ``at`` (``at`` must be aware)."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def member_statistic_key(member_id: str) -> str:
    """``member_<id>`` as a slug (lowercase letters, digits, single underscores)."""
    slug = _NOT_SLUG.sub("_", member_id.lower()).strip("_")
    return f"member_{slug or 'unnamed'}"


def session_hours(session: Session) -> dict[datetime, int]:
    """The Wh of a session per UTC hour, from its slots (closed and open)."""
    hours: dict[datetime, int] = defaultdict(int)
    slots = [*session.slots, *([session.open_slot] if session.open_slot is not None else [])]
    for slot in slots:
        if slot.energy_wh > 0:
            hours[hour_start(slot.start)] += slot.energy_wh
    return dict(hours)


def spread_cost(
    cost: Decimal, energy: dict[datetime, int], currency: str
) -> dict[datetime, Decimal]:
    """``cost`` over the hours of ``energy`` in proportion to their Wh, in minor units with
    the largest remainders first (ties: the earlier hour), so the parts add up to ``cost``."""
    total_wh = sum(energy.values())
    quantum = Decimal(1).scaleb(-minor_unit(currency))
    if total_wh <= 0:
        raise ValueError("no energy to spread a cost over")
    shares: dict[datetime, Decimal] = {}
    remainders: list[tuple[Decimal, datetime]] = []
    for hour in sorted(energy):
        exact = cost * energy[hour] / total_wh
        part = exact.quantize(quantum, rounding=ROUND_DOWN)
        shares[hour] = part
        remainders.append((exact - part, hour))
    left = cost - sum(shares.values(), Decimal(0))
    step = quantum if left >= 0 else -quantum
    remainders.sort(key=lambda item: (-abs(item[0]), item[1]))
    for _, hour in remainders:
        if left == 0:
            break
        shares[hour] += step
        left -= step
    return shares


def member_hours(sessions: Iterable[Session], currency: str) -> dict[str, list[MemberHour]]:
    """Per member (by id): every hour with energy or cost, oldest first, with running sums."""
    energy: dict[str, dict[datetime, int]] = defaultdict(lambda: defaultdict(int))
    cost: dict[str, dict[datetime, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for session in sessions:
        if session.member_id is None or session.is_open:
            continue
        hours = session_hours(session)
        for hour, wh in hours.items():
            energy[session.member_id][hour] += wh
        if session.cost is None:
            continue
        if hours:
            parts = spread_cost(session.cost, hours, currency)
        else:
            parts = {hour_start(session.plugged_in_at): session.cost}
        for hour, amount in parts.items():
            cost[session.member_id][hour] += amount
    result: dict[str, list[MemberHour]] = {}
    for member_id in sorted({*energy, *cost}):
        wh_of, cost_of = energy[member_id], cost[member_id]
        energy_sum, cost_sum = 0, Decimal(0)
        rows: list[MemberHour] = []
        for hour in sorted({*wh_of, *cost_of}):
            energy_sum += wh_of.get(hour, 0)
            cost_sum += cost_of.get(hour, Decimal(0))
            rows.append(
                MemberHour(
                    start=hour,
                    energy_wh=wh_of.get(hour, 0),
                    cost=cost_of.get(hour, Decimal(0)),
                    energy_sum_wh=energy_sum,
                    cost_sum=cost_sum,
                )
            )
        result[member_id] = rows
    return result


__all__ = [
    "MemberHour",
    "hour_start",
    "member_hours",
    "member_statistic_key",
    "session_hours",
    "spread_cost",
]
