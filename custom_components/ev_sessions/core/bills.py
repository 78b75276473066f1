"""Monthly bills: the data model and the pure rules that build bills from sessions and costs.

Plain typed Python (no Home Assistant import); :mod:`.billing` loads the data and stores the
bills. Money is :class:`~decimal.Decimal` in the currency's minor unit (every amount here is a
sum of amounts already rounded by :mod:`.cost`), energy integer Wh, times aware UTC; local time
only through a ``tzinfo`` passed in.

Rules
    * The period of a bill is a local calendar month (:class:`Month`). **A session belongs to the
      month it ended in** (its ``unplugged_at``, local time): a session plugged in on 31 January
      at 22:00 and unplugged on 1 February at 07:00 is on February's bill, all of its energy.
    * One line per session: local date, charger, plugged-in / charging-finished / unplugged times,
      energy, the average price components per kWh, the amounts per kind (energy, surcharges,
      fees), excl. VAT, VAT, total; lines with an estimated price are marked. A session without a
      recorded cost is billed with its energy and no amount (``priced`` false).
    * A session changed after its bill was issued (re-attributed, re-priced) is corrected on the
      next bills: what was billed for it (lines and earlier corrections, per member) is compared
      with what it is now; the old member gets a credit, the new member (or the same one, after a
      reprice) a debit of the difference. Each correction names the session and the reason from
      the audit log (:func:`pending_corrections`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, tzinfo
from decimal import Decimal
from enum import StrEnum
import re
from typing import Any

from .cost import CostLineKind, SessionCost

_ZERO = Decimal(0)
_AVERAGE = Decimal("0.0001")  # average price components are shown to 4 decimals
_MONTH = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")


class BillingError(ValueError):
    """A bill cannot be made or read as asked (bad month, unknown member, bad stored form)."""


@dataclass(frozen=True, slots=True, order=True)
class Month:
    """A calendar month (the period of a bill), ``"2026-11"`` as text."""

    year: int
    month: int

    def __post_init__(self) -> None:
        """Check the month is 1..12."""
        if not 1 <= self.month <= 12 or not 1 <= self.year <= 9999:
            raise BillingError(f"not a month: {self.year}-{self.month}")

    def __str__(self) -> str:
        """``YYYY-MM``."""
        return f"{self.year:04d}-{self.month:02d}"

    @classmethod
    def parse(cls, text: str) -> Month:
        """A month from ``YYYY-MM`` (or ``YYYY-MM-DD``: that day's month)."""
        text = str(text).strip()
        if len(text) == 10:
            try:
                day = date.fromisoformat(text)
            except ValueError:
                pass
            else:
                return cls(day.year, day.month)
        found = _MONTH.match(text)
        if found is None:
            raise BillingError(f"not a month (YYYY-MM): {text!r}")
        return cls(int(found.group(1)), int(found.group(2)))

    @classmethod
    def of(cls, at: datetime, tz: tzinfo) -> Month:
        """The local month ``at`` falls in."""
        local = at.astimezone(tz)
        return cls(local.year, local.month)

    def next(self) -> Month:
        """The month after."""
        return Month(self.year + 1, 1) if self.month == 12 else Month(self.year, self.month + 1)

    def previous(self) -> Month:
        """The month before."""
        return Month(self.year - 1, 12) if self.month == 1 else Month(self.year, self.month - 1)

    def first_day(self) -> date:
        """The month's first day."""
        return date(self.year, self.month, 1)

    def bounds(self, tz: tzinfo) -> tuple[datetime, datetime]:
        """``[start, end)`` of the month in local time ``tz``, as aware UTC."""
        start = datetime.combine(self.first_day(), time(), tzinfo=tz)
        end = datetime.combine(self.next().first_day(), time(), tzinfo=tz)
        return start.astimezone(UTC), end.astimezone(UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class BilledSession:
    """What billing reads of a stored session (an ended one)."""

    id: str
    charger_id: str
    connector_id: int
    member_id: str | None
    plugged_in_at: datetime
    unplugged_at: datetime
    charging_finished_at: datetime | None
    energy_wh: int


@dataclass(frozen=True, slots=True, kw_only=True)
class BillLine:
    """One session on a bill (amounts as its recorded cost itemized them)."""

    session_id: str
    charger_id: str
    charger_name: str
    day: date  # the local date the session ended
    plugged_in_at: datetime
    charging_finished_at: datetime | None
    unplugged_at: datetime
    energy_wh: int
    #: Average price per kWh excl. VAT of each component over the session (4 decimals, shown).
    components: tuple[tuple[str, Decimal], ...] = ()
    #: Amount excl. VAT per kind of cost line (energy, surcharges, fees), as recorded.
    charges: tuple[tuple[str, Decimal], ...] = ()
    amount_excl_vat: Decimal = _ZERO
    vat: Decimal = _ZERO
    total: Decimal = _ZERO
    claimable: Decimal | None = None
    estimated: bool = False
    priced: bool = True
    group: str | None = None

    @property
    def price_per_kwh(self) -> Decimal | None:
        """The total per kWh paid (incl. VAT), ``None`` without energy."""
        if not self.energy_wh:
            return None
        return self.total * 1000 / self.energy_wh

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (Decimals as strings, times ISO 8601)."""
        return {
            "session_id": self.session_id,
            "charger_id": self.charger_id,
            "charger_name": self.charger_name,
            "date": self.day.isoformat(),
            "plugged_in_at": self.plugged_in_at.isoformat(),
            "charging_finished_at": _iso(self.charging_finished_at),
            "unplugged_at": self.unplugged_at.isoformat(),
            "energy_wh": self.energy_wh,
            "components": [[name, str(value)] for name, value in self.components],
            "charges": [[name, str(value)] for name, value in self.charges],
            "amount_excl_vat": str(self.amount_excl_vat),
            "vat": str(self.vat),
            "total": str(self.total),
            "claimable": _text(self.claimable),
            "estimated": self.estimated,
            "priced": self.priced,
            "group": self.group,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BillLine:
        """Read :meth:`to_dict`'s form exactly."""
        return cls(
            session_id=str(data["session_id"]),
            charger_id=str(data["charger_id"]),
            charger_name=str(data["charger_name"]),
            day=date.fromisoformat(data["date"]),
            plugged_in_at=_time(data["plugged_in_at"]),
            charging_finished_at=_optional_time(data.get("charging_finished_at")),
            unplugged_at=_time(data["unplugged_at"]),
            energy_wh=int(data["energy_wh"]),
            components=tuple((str(n), Decimal(v)) for n, v in data.get("components", ())),
            charges=tuple((str(n), Decimal(v)) for n, v in data.get("charges", ())),
            amount_excl_vat=Decimal(data["amount_excl_vat"]),
            vat=Decimal(data["vat"]),
            total=Decimal(data["total"]),
            claimable=_optional_decimal(data.get("claimable")),
            estimated=bool(data.get("estimated", False)),
            priced=bool(data.get("priced", True)),
            group=data.get("group"),
        )


class CorrectionKind(StrEnum):
    """A correction takes money off a bill (credit) or adds it (debit)."""

    CREDIT = "credit"
    DEBIT = "debit"


@dataclass(frozen=True, slots=True, kw_only=True)
class CorrectionLine:
    """A change of a session billed before, on a later bill (signed amounts: a credit < 0)."""

    session_id: str
    kind: CorrectionKind
    charger_id: str
    charger_name: str
    day: date  # the local date the session ended
    energy_wh: int
    amount_excl_vat: Decimal
    vat: Decimal
    total: Decimal
    #: Why: from the audit log (a re-attribution, a reprice) or the cost record.
    reason: str
    audit_id: int | None = None
    #: The number of the bill the session was first billed on.
    original_bill: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "session_id": self.session_id,
            "kind": self.kind.value,
            "charger_id": self.charger_id,
            "charger_name": self.charger_name,
            "date": self.day.isoformat(),
            "energy_wh": self.energy_wh,
            "amount_excl_vat": str(self.amount_excl_vat),
            "vat": str(self.vat),
            "total": str(self.total),
            "reason": self.reason,
            "audit_id": self.audit_id,
            "original_bill": self.original_bill,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CorrectionLine:
        """Read :meth:`to_dict`'s form exactly."""
        return cls(
            session_id=str(data["session_id"]),
            kind=CorrectionKind(data["kind"]),
            charger_id=str(data["charger_id"]),
            charger_name=str(data["charger_name"]),
            day=date.fromisoformat(data["date"]),
            energy_wh=int(data["energy_wh"]),
            amount_excl_vat=Decimal(data["amount_excl_vat"]),
            vat=Decimal(data["vat"]),
            total=Decimal(data["total"]),
            reason=str(data["reason"]),
            audit_id=data.get("audit_id"),
            original_bill=data.get("original_bill"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Bill:
    """A member's bill for a month: issued (numbered, immutable) or a preview (no number).

    ``energy_wh`` is the energy of the session lines; ``amount_excl_vat``, ``vat`` and
    ``total`` include the corrections. ``claimable`` is a company car's reimbursable amount,
    ``tariff_group`` the guest's (or any non-household) tariff group as configured.
    """

    member_id: str
    member_name: str
    period: Month
    period_start: datetime
    period_end: datetime
    currency: str
    lines: tuple[BillLine, ...]
    corrections: tuple[CorrectionLine, ...] = ()
    number: str | None = None
    issued_at: datetime | None = None
    paid_at: datetime | None = None
    group: str | None = None
    tariff_group: Mapping[str, Any] | None = None
    paying: bool = False
    energy_wh: int = 0
    amount_excl_vat: Decimal = _ZERO
    vat: Decimal = _ZERO
    total: Decimal = _ZERO
    claimable: Decimal | None = None
    estimated: bool = False
    id: int | None = field(default=None, compare=False)

    @property
    def issued(self) -> bool:
        """Whether this is an issued bill (not a preview)."""
        return self.number is not None

    @property
    def status(self) -> str:
        """``preview`` (not issued), ``unpaid`` or ``paid``."""
        if not self.issued:
            return "preview"
        return "paid" if self.paid_at is not None else "unpaid"

    @property
    def lines_total(self) -> Decimal:
        """The sum of the session lines' totals (without corrections)."""
        return sum((line.total for line in self.lines), _ZERO)

    @property
    def corrections_total(self) -> Decimal:
        """The sum of the corrections' totals."""
        return sum((c.total for c in self.corrections), _ZERO)

    def problems(self) -> list[str]:
        """Broken invariants (empty for a bill made by :func:`make_bill`)."""
        found: list[str] = []
        if sum(line.energy_wh for line in self.lines) != self.energy_wh:
            found.append("the lines' energy is not the bill's energy")
        if self.lines_total + self.corrections_total != self.total:
            found.append("lines and corrections do not add up to the total")
        if self.amount_excl_vat + self.vat != self.total:
            found.append("amount excl. VAT + VAT is not the total")
        return found

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, read back exactly by :meth:`from_dict`."""
        return {
            "number": self.number,
            "status": self.status,
            "member_id": self.member_id,
            "member_name": self.member_name,
            "period": str(self.period),
            "period_start": self.period_start.isoformat(),
            "period_end": self.period_end.isoformat(),
            "currency": self.currency,
            "issued_at": _iso(self.issued_at),
            "paid_at": _iso(self.paid_at),
            "group": self.group,
            "tariff_group": None if self.tariff_group is None else dict(self.tariff_group),
            "paying": self.paying,
            "energy_wh": self.energy_wh,
            "amount_excl_vat": str(self.amount_excl_vat),
            "vat": str(self.vat),
            "total": str(self.total),
            "claimable": _text(self.claimable),
            "estimated": self.estimated,
            "lines": [line.to_dict() for line in self.lines],
            "corrections": [c.to_dict() for c in self.corrections],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, id: int | None = None) -> Bill:  # noqa: A002
        """Read :meth:`to_dict`'s form; :class:`BillingError` when it cannot be read."""
        try:
            return cls(
                id=id,
                number=data.get("number"),
                member_id=str(data["member_id"]),
                member_name=str(data["member_name"]),
                period=Month.parse(data["period"]),
                period_start=_time(data["period_start"]),
                period_end=_time(data["period_end"]),
                currency=str(data["currency"]),
                issued_at=_optional_time(data.get("issued_at")),
                paid_at=_optional_time(data.get("paid_at")),
                group=data.get("group"),
                tariff_group=data.get("tariff_group"),
                paying=bool(data.get("paying", False)),
                energy_wh=int(data["energy_wh"]),
                amount_excl_vat=Decimal(data["amount_excl_vat"]),
                vat=Decimal(data["vat"]),
                total=Decimal(data["total"]),
                claimable=_optional_decimal(data.get("claimable")),
                estimated=bool(data.get("estimated", False)),
                lines=tuple(BillLine.from_dict(line) for line in data["lines"]),
                corrections=tuple(CorrectionLine.from_dict(c) for c in data["corrections"]),
            )
        except (KeyError, TypeError, ValueError, ArithmeticError) as err:
            raise BillingError(f"unreadable bill: {err!r}") from err


# --------------------------------------------------------------------------- building


def bill_line(
    session: BilledSession, cost: SessionCost | None, charger_name: str, tz: tzinfo
) -> BillLine:
    """The bill line of an ended session with its cost in force (``None``: not priced)."""
    day = session.unplugged_at.astimezone(tz).date()
    common: dict[str, Any] = {
        "session_id": session.id,
        "charger_id": session.charger_id,
        "charger_name": charger_name,
        "day": day,
        "plugged_in_at": session.plugged_in_at,
        "charging_finished_at": session.charging_finished_at,
        "unplugged_at": session.unplugged_at,
        "energy_wh": session.energy_wh,
    }
    if cost is None:
        return BillLine(**common, priced=False)
    charges: dict[str, Decimal] = {}
    for line in cost.lines:
        if line.kind is not CostLineKind.VAT:
            charges[line.kind.value] = charges.get(line.kind.value, _ZERO) + line.amount
    return BillLine(
        **common,
        components=_average_components(cost),
        charges=tuple(charges.items()),
        amount_excl_vat=cost.amount_excl_vat,
        vat=cost.vat,
        total=cost.total,
        claimable=cost.claimable,
        estimated=cost.estimated,
        group=cost.group,
    )


def _average_components(cost: SessionCost) -> tuple[tuple[str, Decimal], ...]:
    """Per component, the Wh-weighted average price per kWh of the energy lines (4 decimals)."""
    weighted: dict[str, Decimal] = {}
    energy = 0
    for line in cost.energy_lines:
        wh = line.energy_wh or 0
        energy += wh
        for name, value in line.components:
            weighted[name] = weighted.get(name, _ZERO) + value * wh
    if not energy:
        return ()
    return tuple((name, (total / energy).quantize(_AVERAGE)) for name, total in weighted.items())


def make_bill(
    *,
    member_id: str,
    member_name: str,
    period: Month,
    tz: tzinfo,
    currency: str,
    lines: Sequence[BillLine],
    corrections: Sequence[CorrectionLine] = (),
    group: str | None = None,
    tariff_group: Mapping[str, Any] | None = None,
    paying: bool = False,
) -> Bill:
    """A preview bill (no number) with its totals worked out from the lines and corrections."""
    start, end = period.bounds(tz)
    ordered = tuple(sorted(lines, key=lambda line: (line.unplugged_at, line.session_id)))
    claimables = [line.claimable for line in ordered if line.claimable is not None]
    excl = sum((line.amount_excl_vat for line in ordered), _ZERO) + sum(
        (c.amount_excl_vat for c in corrections), _ZERO
    )
    vat = sum((line.vat for line in ordered), _ZERO) + sum((c.vat for c in corrections), _ZERO)
    return Bill(
        member_id=member_id,
        member_name=member_name,
        period=period,
        period_start=start,
        period_end=end,
        currency=currency,
        lines=ordered,
        corrections=tuple(corrections),
        group=group,
        tariff_group=tariff_group,
        paying=paying,
        energy_wh=sum(line.energy_wh for line in ordered),
        amount_excl_vat=excl,
        vat=vat,
        total=excl + vat,
        claimable=sum(claimables, _ZERO) if claimables else None,
        estimated=any(line.estimated for line in ordered),
    )


# --------------------------------------------------------------------------- corrections


@dataclass(frozen=True, slots=True, kw_only=True)
class BilledAmount:
    """What has been billed for one session to one member (lines and corrections, summed)."""

    session_id: str
    member_id: str
    energy_wh: int
    amount_excl_vat: Decimal
    vat: Decimal
    total: Decimal
    first_bill: str | None = None

    @property
    def nothing(self) -> bool:
        """Nothing is billed (everything cancelled out)."""
        return not self.energy_wh and not self.total and not self.amount_excl_vat


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionNow:
    """A billed session as it is now: its member and the cost in force."""

    session: BilledSession
    cost: SessionCost | None
    charger_name: str
    reason: str
    audit_id: int | None = None


def pending_corrections(
    billed: Iterable[BilledAmount], now: Mapping[str, SessionNow], tz: tzinfo
) -> dict[str, list[CorrectionLine]]:
    """Per member, the corrections that bring what was billed for each session in ``now`` to
    what the session is now: a credit of everything billed to a member who no longer has it,
    and the difference (debit, or credit when less) for the member who has it now. A session
    in ``now`` billed nothing so far is a debit of all of it for its member."""
    by_session: dict[str, list[BilledAmount]] = {}
    for amount in billed:
        by_session.setdefault(amount.session_id, []).append(amount)
    found: dict[str, list[CorrectionLine]] = {}
    for session_id in sorted(set(by_session) | set(now)):
        amounts = by_session.get(session_id, [])
        state = now.get(session_id)
        if state is None:
            continue
        first = next((a.first_bill for a in amounts if a.first_bill), None)
        current = state.session.member_id
        held = next((a for a in amounts if a.member_id == current), None)
        for amount in amounts:
            if amount.member_id != current and not amount.nothing:
                found.setdefault(amount.member_id, []).append(
                    _correction(
                        state,
                        tz,
                        -amount.energy_wh,
                        -amount.amount_excl_vat,
                        -amount.vat,
                        first,
                    )
                )
        if current is None:
            continue
        cost = state.cost
        energy = state.session.energy_wh - (held.energy_wh if held else 0)
        excl = (cost.amount_excl_vat if cost else _ZERO) - (held.amount_excl_vat if held else _ZERO)
        vat = (cost.vat if cost else _ZERO) - (held.vat if held else _ZERO)
        if energy or excl or vat:
            found.setdefault(current, []).append(_correction(state, tz, energy, excl, vat, first))
    return found


def _correction(
    state: SessionNow, tz: tzinfo, energy: int, excl: Decimal, vat: Decimal, first: str | None
) -> CorrectionLine:
    total = excl + vat
    kind = (
        CorrectionKind.CREDIT if total < 0 or (total == 0 and energy < 0) else CorrectionKind.DEBIT
    )
    return CorrectionLine(
        session_id=state.session.id,
        kind=kind,
        charger_id=state.session.charger_id,
        charger_name=state.charger_name,
        day=state.session.unplugged_at.astimezone(tz).date(),
        energy_wh=energy,
        amount_excl_vat=excl,
        vat=vat,
        total=total,
        reason=state.reason,
        audit_id=state.audit_id,
        original_bill=first,
    )


# --------------------------------------------------------------------------- reports


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberShare:
    """One member's part of a month in the household report."""

    member_id: str | None  # None: sessions attributed to nobody
    member_name: str
    sessions: int
    energy_wh: int
    cost: Decimal
    energy_share: Decimal  # percent of the household's energy, 1 decimal
    cost_share: Decimal  # percent of the household's cost, 1 decimal
    previous_energy_wh: int = 0
    previous_cost: Decimal = _ZERO

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "member_id": self.member_id,
            "member_name": self.member_name,
            "sessions": self.sessions,
            "energy_kwh": _kwh(self.energy_wh),
            "energy_wh": self.energy_wh,
            "cost": str(self.cost),
            "energy_share": str(self.energy_share),
            "cost_share": str(self.cost_share),
            "previous_energy_wh": self.previous_energy_wh,
            "previous_cost": str(self.previous_cost),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class HouseholdReport:
    """A month's energy and cost per member, with the totals and the previous month's."""

    period: Month
    currency: str
    members: tuple[MemberShare, ...]
    sessions: int
    energy_wh: int
    cost: Decimal
    previous_energy_wh: int
    previous_cost: Decimal

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "period": str(self.period),
            "previous_period": str(self.period.previous()),
            "currency": self.currency,
            "members": [m.to_dict() for m in self.members],
            "sessions": self.sessions,
            "energy_kwh": _kwh(self.energy_wh),
            "energy_wh": self.energy_wh,
            "cost": str(self.cost),
            "previous_energy_wh": self.previous_energy_wh,
            "previous_cost": str(self.previous_cost),
            "energy_change_wh": self.energy_wh - self.previous_energy_wh,
            "cost_change": str(self.cost - self.previous_cost),
        }


def _share(part: Decimal | int, whole: Decimal | int) -> Decimal:
    if not whole:
        return _ZERO
    return (Decimal(part) * 100 / Decimal(whole)).quantize(Decimal("0.1"))


def household_report(
    period: Month,
    currency: str,
    sessions: Sequence[BilledSession],
    previous: Sequence[BilledSession],
    costs: Mapping[str, SessionCost],
    names: Mapping[str, str],
) -> HouseholdReport:
    """The household report of ``period`` from its sessions and the previous month's
    (``costs`` holds the cost in force of both months' sessions)."""

    def totals(items: Sequence[BilledSession]) -> dict[str | None, tuple[int, int, Decimal]]:
        out: dict[str | None, tuple[int, int, Decimal]] = {}
        for s in items:
            count, energy, cost = out.get(s.member_id, (0, 0, _ZERO))
            price = costs.get(s.id)
            out[s.member_id] = (
                count + 1,
                energy + s.energy_wh,
                cost + (price.total if price else _ZERO),
            )
        return out

    now, before = totals(sessions), totals(previous)
    energy = sum(v[1] for v in now.values())
    cost = sum((v[2] for v in now.values()), _ZERO)
    members = [
        MemberShare(
            member_id=member_id,
            member_name=names.get(member_id, member_id) if member_id else "",
            sessions=count,
            energy_wh=wh,
            cost=amount,
            energy_share=_share(wh, energy),
            cost_share=_share(amount, cost),
            previous_energy_wh=before.get(member_id, (0, 0, _ZERO))[1],
            previous_cost=before.get(member_id, (0, 0, _ZERO))[2],
        )
        for member_id, (count, wh, amount) in now.items()
    ]
    for member_id, (_count, wh, amount) in before.items():
        if member_id not in now:
            members.append(
                MemberShare(
                    member_id=member_id,
                    member_name=names.get(member_id, member_id) if member_id else "",
                    sessions=0,
                    energy_wh=0,
                    cost=_ZERO,
                    energy_share=_ZERO,
                    cost_share=_ZERO,
                    previous_energy_wh=wh,
                    previous_cost=amount,
                )
            )
    members.sort(key=lambda m: (m.member_id is None, -m.energy_wh, m.member_name))
    return HouseholdReport(
        period=period,
        currency=currency,
        members=tuple(members),
        sessions=sum(v[0] for v in now.values()),
        energy_wh=energy,
        cost=cost,
        previous_energy_wh=sum(v[1] for v in before.values()),
        previous_cost=sum((v[2] for v in before.values()), _ZERO),
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class Reconciliation:
    """A month's invariants: billed energy against metered energy, bill totals against session
    costs and corrections (see :meth:`problems`)."""

    period: Month
    issued: bool  # False: checked against the previews
    metered_wh: int
    unattributed_wh: int
    billed_wh: int  # the energy of the month's bills' lines
    unbilled_sessions: tuple[str, ...]
    session_costs: Decimal  # the costs in force of the month's attributed sessions
    bill_totals: Decimal
    lines_total: Decimal
    corrections_on_bills: Decimal  # corrections on this month's bills (of earlier sessions)
    later_corrections: Decimal  # corrections of this month's sessions on later bills
    pending_corrections: Decimal  # corrections of this month's sessions not issued yet
    #: The energy of the corrections of this month's sessions, on later bills and pending (a
    #: session attributed after the month was billed, or re-attributed to nobody).
    corrected_wh: int = 0

    def problems(self) -> list[str]:
        """What does not reconcile (empty: everything does, to the cent)."""
        found: list[str] = []
        if self.billed_wh + self.corrected_wh + self.unattributed_wh != self.metered_wh:
            found.append(
                f"billed {self.billed_wh} Wh + corrected {self.corrected_wh} Wh"
                f" + unattributed {self.unattributed_wh} Wh != metered {self.metered_wh} Wh"
            )
        if self.unbilled_sessions:
            found.append(f"sessions on no bill: {', '.join(self.unbilled_sessions)}")
        if self.lines_total + self.corrections_on_bills != self.bill_totals:
            found.append("the bills' lines and corrections do not add up to their totals")
        settled = self.lines_total + self.later_corrections + self.pending_corrections
        if settled != self.session_costs:
            found.append(
                f"billed {self.lines_total} + corrections {self.later_corrections}"
                f" + pending {self.pending_corrections} != session costs {self.session_costs}"
            )
        return found

    @property
    def ok(self) -> bool:
        """Everything reconciles."""
        return not self.problems()

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "period": str(self.period),
            "issued": self.issued,
            "ok": self.ok,
            "problems": self.problems(),
            "metered_wh": self.metered_wh,
            "unattributed_wh": self.unattributed_wh,
            "billed_wh": self.billed_wh,
            "corrected_wh": self.corrected_wh,
            "unbilled_sessions": list(self.unbilled_sessions),
            "session_costs": str(self.session_costs),
            "bill_totals": str(self.bill_totals),
            "lines_total": str(self.lines_total),
            "corrections_on_bills": str(self.corrections_on_bills),
            "later_corrections": str(self.later_corrections),
            "pending_corrections": str(self.pending_corrections),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Revenue:
    """What paying members' sessions ended in a month cost them (the site's revenue)."""

    period: Month
    currency: str
    total: Decimal
    per_charger: Mapping[str, Decimal]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "period": str(self.period),
            "currency": self.currency,
            "total": str(self.total),
            "per_charger": {k: str(v) for k, v in self.per_charger.items()},
        }


# --------------------------------------------------------------------------- helpers


def _kwh(wh: int) -> float:
    return round(wh / 1000, 3)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _time(value: object) -> datetime:
    if not isinstance(value, str):
        raise BillingError(f"not an ISO time: {value!r}")
    at = datetime.fromisoformat(value)
    if at.tzinfo is None:
        raise BillingError(f"no time zone: {value!r}")
    return at


def _optional_time(value: object) -> datetime | None:
    return None if value is None else _time(value)


def _optional_decimal(value: object) -> Decimal | None:
    return None if value is None else Decimal(str(value))


__all__ = [
    "Bill",
    "BillLine",
    "BilledAmount",
    "BilledSession",
    "BillingError",
    "CorrectionKind",
    "CorrectionLine",
    "HouseholdReport",
    "MemberShare",
    "Month",
    "Reconciliation",
    "Revenue",
    "SessionNow",
    "bill_line",
    "household_report",
    "make_bill",
    "pending_corrections",
]
