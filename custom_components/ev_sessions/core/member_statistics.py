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

The sums need only an ended session's slots and cost (:class:`SessionFigures`), never its power
profile. Whether a member's series in the recorder is still current is decided from a few totals
per session (:class:`SessionSums` -> :class:`SeriesTotals`) against the series' last row
(:class:`SeriesEnd`): its last hour and both sums must be what the sessions give.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_DOWN, Decimal
import re

from .cost import minor_unit
from .model import Session
from .slots import EnergySlot

_NOT_SLUG = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberHour:
    """One member's charging in one UTC hour, with the running sums up to its end."""

    start: datetime  # a UTC hour
    energy_wh: int
    cost: Decimal
    energy_sum_wh: int
    cost_sum: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionFigures:
    """What a member's statistics need of one ended session: its slots and its cost."""

    member_id: str
    plugged_in_at: datetime
    cost: Decimal | None
    slots: Sequence[EnergySlot]


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionSums:
    """An ended session in a few numbers: enough to tell whether a series is current."""

    member_id: str
    plugged_in_at: datetime
    energy_wh: int  # the Wh of its slots (those with energy)
    last_slot_start: datetime | None  # the start of its latest slot with energy
    cost: Decimal | None


@dataclass(frozen=True, slots=True, kw_only=True)
class SeriesTotals:
    """What a member's series must end with: its last hour and the sums at its end."""

    last_hour: datetime
    energy_wh: int
    cost: Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class SeriesEnd:
    """The last row of a member's energy and cost series as the recorder holds them."""

    start: datetime
    energy_kwh: float
    cost: float


def hour_start(at: datetime) -> datetime:
    """The UTC hour at or before ``at`` (``at`` must be aware)."""
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def member_statistic_key(member_id: str) -> str:
    """``member_<id>`` as a slug (lowercase letters, digits, single underscores)."""
    slug = _NOT_SLUG.sub("_", member_id.lower()).strip("_")
    return f"member_{slug or 'unnamed'}"


def figures_of(session: Session) -> SessionFigures | None:
    """An ended, attributed session's figures (``None`` for an open or unattributed one)."""
    if session.member_id is None or session.is_open:
        return None
    slots = [*session.slots, *([session.open_slot] if session.open_slot is not None else [])]
    return SessionFigures(
        member_id=session.member_id,
        plugged_in_at=session.plugged_in_at,
        cost=session.cost,
        slots=slots,
    )


def session_hours(session: Session | SessionFigures) -> dict[datetime, int]:
    """The Wh of a session per UTC hour, from its slots (closed and open)."""
    if isinstance(session, Session):
        slots = [*session.slots, *([session.open_slot] if session.open_slot is not None else [])]
    else:
        slots = list(session.slots)
    hours: dict[datetime, int] = defaultdict(int)
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


def member_hours(
    sessions: Iterable[Session | SessionFigures], currency: str
) -> dict[str, list[MemberHour]]:
    """Per member (by id): every hour with energy or cost, oldest first, with running sums.

    Open and unattributed :class:`Session` objects are left out (figures are of ended ones).
    """
    energy: dict[str, dict[datetime, int]] = defaultdict(lambda: defaultdict(int))
    cost: dict[str, dict[datetime, Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for item in sessions:
        session = figures_of(item) if isinstance(item, Session) else item
        if session is None:
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


def series_totals(sessions: Iterable[SessionSums]) -> dict[str, SeriesTotals]:
    """Per member with a series (some energy or a cost): how :func:`member_hours` ends."""
    last: dict[str, datetime] = {}
    energy: dict[str, int] = defaultdict(int)
    cost: dict[str, Decimal] = defaultdict(Decimal)
    for session in sessions:
        if session.energy_wh > 0 and session.last_slot_start is not None:
            hour = hour_start(session.last_slot_start)
        elif session.cost is not None:
            hour = hour_start(session.plugged_in_at)  # fees only: the hour it was plugged in
        else:
            continue  # neither energy nor cost: nothing in the series
        member = session.member_id
        last[member] = max(hour, last.get(member, hour))
        energy[member] += max(session.energy_wh, 0)
        if session.cost is not None:
            cost[member] += session.cost
    return {
        member: SeriesTotals(last_hour=hour, energy_wh=energy[member], cost=cost[member])
        for member, hour in last.items()
    }


def series_current(totals: SeriesTotals, end: SeriesEnd | None, currency: str) -> bool:
    """Whether a member's recorded series ends as their sessions say (hour and both sums,
    to half a Wh and half a minor unit: the recorder keeps floats)."""
    if end is None or end.start != hour_start(totals.last_hour):
        return False
    half_minor = 0.5 * 10.0 ** -minor_unit(currency)
    return (
        abs(end.energy_kwh - totals.energy_wh / 1000) < 0.0005
        and abs(end.cost - float(totals.cost)) < half_minor
    )


__all__ = [
    "MemberHour",
    "SeriesEnd",
    "SeriesTotals",
    "SessionFigures",
    "SessionSums",
    "figures_of",
    "hour_start",
    "member_hours",
    "member_statistic_key",
    "series_current",
    "series_totals",
    "session_hours",
    "spread_cost",
]
