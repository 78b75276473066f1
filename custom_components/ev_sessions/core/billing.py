"""Monthly bills per member: previews, issuing, corrections, household report, revenue.

:class:`Billing` works on the :class:`~.storage.SessionStore` (sessions, their recorded costs,
the audit log and the bill tables of schema 7) and the member directory; the data model and the
pure rules are in :mod:`.bills`. No Home Assistant import; local time only through the
``tzinfo`` given.

* A **preview** (:meth:`Billing.async_preview`) is a member's bill as it would be issued now,
  without a number (``status`` ``preview``); for the running month, "so far".
* **Issuing** a month (:meth:`Billing.async_issue`, once the month is over) numbers one bill per
  member with sessions ended in that month or with pending corrections, in one transaction:
  numbers run ``YYYY-0001``, ``YYYY-0002``, ... per year of issue (local), never reused and
  without gaps (the counter is stored with the bills). Issuing is idempotent: a member who has
  a bill for the month is skipped, so a run missed (Home Assistant was down on the day) or
  repeated after a restart issues exactly the missing bills.
* Issued bills are never changed (but for their paid status). A session changed after its bill
  was issued becomes **correction lines** on the next bills issued
  (:func:`.bills.pending_corrections`), naming the session and its newest re-attribution or
  reprice in the audit log. A session attributed to a member only after its month's bills were
  issued (it is on no bill) is a debit correction on the member's next bill the same way (any
  month since the first month billed; sessions from before billing began are never billed).
* :meth:`Billing.async_reconcile` checks a month's invariants (:class:`.bills.Reconciliation`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any

from .bills import (
    Bill,
    BilledSession,
    BillingError,
    CorrectionLine,
    HouseholdReport,
    Month,
    Reconciliation,
    Revenue,
    SessionNow,
    bill_line,
    household_report,
    make_bill,
    pending_corrections,
)
from .cost import SessionCost
from .cost_records import CostRecord
from .members import Member, MemberDirectory
from .model import utcnow
from .storage import SessionStore
from .tariff import GROUP_GUEST, GROUP_HOUSEHOLD, Tariff

_ZERO = Decimal(0)
#: The currency of bills when no tariff is configured.
DEFAULT_CURRENCY = "EUR"


class UnknownBillError(LookupError):
    """No issued bill with that number."""


class MonthNotOverError(BillingError):
    """A month can be issued only once it is over (local time)."""


def is_paying(member: Member | None) -> bool:
    """Whether a member's charging is the site's revenue: marked paying, or a guest."""
    if member is None:
        return False
    return member.paying or member.tariff_group == GROUP_GUEST


@dataclass(frozen=True, slots=True, kw_only=True)
class MemberBilling:
    """A member's bill figures: the last bill issued and what is still unpaid."""

    member_id: str
    last_number: str | None = None
    last_total: Decimal | None = None
    last_period: Month | None = None
    outstanding: Decimal = _ZERO
    currency: str = DEFAULT_CURRENCY


class Billing:
    """Bills of the members of one hub (one database)."""

    def __init__(
        self,
        store: SessionStore,
        *,
        tz: tzinfo,
        members: Callable[[], MemberDirectory],
        charger_name: Callable[[str], str] | None = None,
        tariff: Callable[[], Tariff | None] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """Bill from ``store`` (opened and closed by its owner) for the ``members`` now."""
        self.store = store
        self.tz = tz
        self._members = members
        self._charger_name = charger_name or (lambda charger_id: charger_id)
        self._tariff = tariff or (lambda: None)
        self.clock = clock
        self._issuing = asyncio.Lock()

    # ------------------------------------------------------------------ helpers

    @property
    def currency(self) -> str:
        """The currency of the tariff in force (or :data:`DEFAULT_CURRENCY`)."""
        tariff = self._tariff()
        return tariff.currency if tariff is not None else DEFAULT_CURRENCY

    def running_month(self) -> Month:
        """The local month now."""
        return Month.of(self.clock(), self.tz)

    def _member_name(self, directory: MemberDirectory, member_id: str) -> str:
        member = directory.member(member_id)
        return member.name if member is not None else member_id

    def _group_of(self, member: Member | None) -> tuple[str | None, Mapping[str, Any] | None]:
        """The member's tariff group name, and its settings when it is not the household's."""
        tariff = self._tariff()
        wanted = member.tariff_group if member is not None else None
        if tariff is None:
            return wanted, None
        name, group = tariff.resolve_group(wanted)
        if name == GROUP_HOUSEHOLD:
            return name, None
        return name, {"name": name, **group.to_dict()}

    def _reason(
        self,
        directory: MemberDirectory,
        change: tuple[int, datetime, str, str | None, str | None, str | None, str | None] | None,
        record: CostRecord | None,
    ) -> tuple[str, int | None]:
        """The words naming why a billed session changed, and the audit row id."""
        if change is not None:
            audit_id, at, source, reason, detail, previous, member = change
            day = at.astimezone(self.tz).date().isoformat()
            if source == "reattribution":

                def name(member_id: str | None) -> str:
                    return self._member_name(directory, member_id) if member_id else "nobody"

                return f"re-attributed from {name(previous)} to {name(member)} on {day}", audit_id
            words = f"re-priced on {day} ({reason})"
            return (f"{words}: {detail}" if detail else words), audit_id
        if record is not None:
            day = record.computed_at.astimezone(self.tz).date().isoformat()
            return f"cost recorded again on {day} ({record.reason})", None
        return "changed after the bill was issued", None

    async def _late_window(self, before: datetime) -> tuple[datetime, datetime] | None:
        """Where sessions attributed after their month was billed are looked for: the months
        from the first to the last with an issued bill, up to ``before`` (``None``: no bill
        yet). Later months' sessions are their own bills' lines when those months are issued
        (the run issues every month since the last one billed)."""
        first = await self.store.async_first_billed_period()
        last = await self.store.async_last_billed_period()
        if first is None or last is None:
            return None
        start, _ = first.bounds(self.tz)
        _, end = last.bounds(self.tz)
        end = min(end, before)
        return (start, end) if start < end else None

    async def _pending(
        self, directory: MemberDirectory, late_before: datetime | None = None
    ) -> dict[str, list[CorrectionLine]]:
        """Per member, the corrections not issued yet; with ``late_before``, also a debit for
        each attributed session ended before then that is on no bill (see
        :meth:`_late_window`)."""
        late = None if late_before is None else await self._late_window(late_before)
        billed, sessions, costs, changes = await self.store.async_correction_state(late)
        on_bills = {amount.session_id for amount in billed}
        now: dict[str, SessionNow] = {}
        for session_id, session in sessions.items():
            record = costs.get(session_id)
            change = changes.get(session_id)
            if session_id not in on_bills and change is None:
                day = session.unplugged_at.astimezone(self.tz).date().isoformat()
                reason, audit_id = f"not billed before (ended {day})", None
            else:
                reason, audit_id = self._reason(directory, change, record)
            now[session_id] = SessionNow(
                session=session,
                cost=None if record is None else record.cost,
                charger_name=self._charger_name(session.charger_id),
                reason=reason,
                audit_id=audit_id,
            )
        return pending_corrections(billed, now, self.tz)

    async def _previews(
        self, period: Month, member_id: str | None = None
    ) -> tuple[list[Bill], list[BilledSession], dict[str, CostRecord], set[str]]:
        """Previews of the members not billed for ``period`` yet (or of ``member_id`` only),
        with the month's sessions, their costs and the members billed already."""
        directory = self._members()
        start, end = period.bounds(self.tz)
        sessions, costs = await self.store.async_month_sessions(start, end)
        billed_members = await self.store.async_billed_members(period)
        corrections = await self._pending(directory, late_before=start)
        on_bills = await self.store.async_sessions_on_bills([s.id for s in sessions])
        by_member: dict[str, list[BilledSession]] = {}
        for session in sessions:
            if session.member_id is not None and session.id not in on_bills:
                by_member.setdefault(session.member_id, []).append(session)
        wanted = (set(by_member) | set(corrections)) - billed_members
        if member_id is not None:
            wanted &= {member_id}
        bills = []
        currency = self.currency
        for mid in sorted(wanted, key=lambda m: (self._member_name(directory, m), m)):
            member = directory.member(mid)
            group, settings = self._group_of(member)
            lines = [
                bill_line(
                    s,
                    _cost(costs.get(s.id)),
                    self._charger_name(s.charger_id),
                    self.tz,
                )
                for s in by_member.get(mid, [])
            ]
            bills.append(
                make_bill(
                    member_id=mid,
                    member_name=self._member_name(directory, mid),
                    period=period,
                    tz=self.tz,
                    currency=_currency(costs, by_member.get(mid, []), currency),
                    lines=lines,
                    corrections=corrections.get(mid, ()),
                    group=group,
                    tariff_group=settings,
                    paying=is_paying(member),
                )
            )
        return bills, sessions, costs, billed_members

    # ------------------------------------------------------------------ bills

    async def async_preview(self, member_id: str, period: Month | None = None) -> Bill:
        """``member_id``'s bill for ``period`` (the running month by default): the issued one
        if there is one, else a preview (not issued: no number) of what it would be now."""
        period = period or self.running_month()
        issued = await self.store.async_bills(member_id=member_id, period=period)
        if issued:
            return issued[0]
        bills, *_ = await self._previews(period, member_id)
        if bills:
            return bills[0]
        directory = self._members()
        if directory.member(member_id) is None:
            raise BillingError(f"unknown member {member_id!r}")
        group, settings = self._group_of(directory.member(member_id))
        return make_bill(
            member_id=member_id,
            member_name=self._member_name(directory, member_id),
            period=period,
            tz=self.tz,
            currency=self.currency,
            lines=(),
            group=group,
            tariff_group=settings,
            paying=is_paying(directory.member(member_id)),
        )

    async def async_issue(self, period: Month, *, member_id: str | None = None) -> list[Bill]:
        """Issue the bills of ``period`` not issued yet (every member's, or ``member_id``'s):
        numbered and stored; the bills issued now (empty when there was nothing to issue).
        Raises :class:`MonthNotOverError` for the running or a future month."""
        async with self._issuing:  # one run at a time: a bill is never issued twice
            now = self.clock()
            _, end = period.bounds(self.tz)
            if now < end:
                raise MonthNotOverError(f"{period} is not over yet")
            bills, *_ = await self._previews(period, member_id)
            if not bills:
                return []
            year = now.astimezone(self.tz).year
            return await self.store.async_issue_bills(bills, now, year)

    async def async_issue_due(self) -> list[Bill]:
        """Issue the missing bills of every month over since the last month billed, oldest
        first (the scheduled run; also after a restart or a failed run): the last month's
        only before the first bill. The bills issued now."""
        last = self.running_month().previous()
        latest = await self.store.async_last_billed_period()
        month = latest.next() if latest is not None and latest < last else last
        issued: list[Bill] = []
        while month <= last:
            issued += await self.async_issue(month)
            month = month.next()
        return issued

    async def async_bills(
        self,
        *,
        member_id: str | None = None,
        period: Month | None = None,
        year: int | None = None,
        unpaid: bool = False,
        limit: int | None = None,
    ) -> list[Bill]:
        """Issued bills, newest first."""
        return await self.store.async_bills(
            member_id=member_id, period=period, year=year, unpaid=unpaid, limit=limit
        )

    async def async_bill(self, number: str) -> Bill:
        """An issued bill by number; :class:`UnknownBillError` when there is none."""
        found = await self.store.async_bills(number=number.strip())
        if not found:
            raise UnknownBillError(number)
        return found[0]

    async def async_mark_paid(self, number: str, *, paid: bool = True) -> Bill:
        """Mark an issued bill paid now (or unpaid again)."""
        bill = await self.store.async_set_bill_paid(number.strip(), self.clock() if paid else None)
        if bill is None:
            raise UnknownBillError(number)
        return bill

    async def async_member_figures(self) -> dict[str, MemberBilling]:
        """Per member with a bill: the last bill and the unpaid total."""
        unpaid = await self.store.async_unpaid_totals()
        figures: dict[str, MemberBilling] = {}
        for member in self._members():
            last = await self.store.async_bills(member_id=member.id, limit=1)
            outstanding = [(cur, total) for (mid, cur), total in unpaid.items() if mid == member.id]
            bill = last[0] if last else None
            figures[member.id] = MemberBilling(
                member_id=member.id,
                last_number=None if bill is None else bill.number,
                last_total=None if bill is None else bill.total,
                last_period=None if bill is None else bill.period,
                outstanding=sum((total for _, total in outstanding), _ZERO),
                currency=bill.currency if bill is not None else self.currency,
            )
        return figures

    async def async_issued_count(self, period: Month) -> int:
        """How many bills were issued during the local month ``period``."""
        start, end = period.bounds(self.tz)
        return await self.store.async_bills_issued_between(start, end)

    # ------------------------------------------------------------------ reports

    async def async_household_report(self, period: Month) -> HouseholdReport:
        """Each member's energy, cost and share of ``period``, with the previous month's."""
        directory = self._members()
        start, end = period.bounds(self.tz)
        before_start, _ = period.previous().bounds(self.tz)
        sessions, costs = await self.store.async_month_sessions(before_start, end)
        current = [s for s in sessions if s.unplugged_at >= start]
        previous = [s for s in sessions if s.unplugged_at < start]
        names = {m.id: m.name for m in directory}
        return household_report(
            period,
            _currency(costs, sessions, self.currency),
            current,
            previous,
            {sid: record.cost for sid, record in costs.items()},
            names,
        )

    async def async_revenue(self, period: Month) -> Revenue:
        """What paying members' sessions ended in ``period`` cost them, per charger and in all."""
        directory = self._members()
        start, end = period.bounds(self.tz)
        sessions, costs = await self.store.async_month_sessions(start, end)
        per_charger: dict[str, Decimal] = {}
        for session in sessions:
            record = costs.get(session.id)
            if record is None or not is_paying(directory.member(session.member_id)):
                continue
            per_charger[session.charger_id] = (
                per_charger.get(session.charger_id, _ZERO) + record.cost.total
            )
        return Revenue(
            period=period,
            currency=_currency(costs, sessions, self.currency),
            total=sum(per_charger.values(), _ZERO),
            per_charger=per_charger,
        )

    async def async_reconcile(self, period: Month) -> Reconciliation:
        """The invariants of ``period``: against its issued bills, and the previews of the
        members not billed yet (all previews for a month not issued)."""
        previews, sessions, costs, billed_members = await self._previews(period)
        issued = await self.store.async_bills(period=period)
        bills = [*issued, *previews]
        directory = self._members()
        _, end = period.bounds(self.tz)
        month_ids = {s.id for s in sessions}
        on_lines = {line.session_id for bill in bills for line in bill.lines}
        on_previews = {line.session_id for bill in previews for line in bill.lines}
        # Sessions of the month attributed after it was billed are pending debits (unless a
        # preview of the month has them as lines).
        pending = await self._pending(directory, late_before=end)
        pending_here = [
            c
            for items in pending.values()
            for c in items
            if c.session_id in month_ids and c.session_id not in on_previews
        ]
        corrected_wh, later = await self.store.async_correction_sums_of_sessions_in(period)
        settled = (
            on_lines
            | {c.session_id for c in pending_here}
            | await self.store.async_sessions_on_bills(sorted(month_ids))
        )
        attributed = [s for s in sessions if s.member_id is not None]
        return Reconciliation(
            period=period,
            issued=bool(billed_members),
            metered_wh=sum(s.energy_wh for s in sessions),
            unattributed_wh=sum(s.energy_wh for s in sessions if s.member_id is None),
            billed_wh=sum(bill.energy_wh for bill in bills),
            corrected_wh=corrected_wh + sum(c.energy_wh for c in pending_here),
            unbilled_sessions=tuple(s.id for s in attributed if s.id not in settled),
            session_costs=sum(
                (record.cost.total for s in attributed if (record := costs.get(s.id))), _ZERO
            ),
            bill_totals=sum((bill.total for bill in bills), _ZERO),
            lines_total=sum((bill.lines_total for bill in bills), _ZERO),
            corrections_on_bills=sum((bill.corrections_total for bill in bills), _ZERO),
            later_corrections=later,
            pending_corrections=sum((c.total for c in pending_here), _ZERO),
        )


def _cost(record: CostRecord | None) -> SessionCost | None:
    return None if record is None else record.cost


def _currency(
    costs: Mapping[str, CostRecord], sessions: Sequence[BilledSession], default: str
) -> str:
    """The currency of the member's recorded costs (the tariff's when none)."""
    for session in sessions:
        record = costs.get(session.id)
        if record is not None:
            return record.cost.currency
    return default


__all__ = [
    "DEFAULT_CURRENCY",
    "Billing",
    "MemberBilling",
    "MonthNotOverError",
    "UnknownBillError",
    "is_paying",
]
