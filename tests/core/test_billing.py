"""Monthly bills (issue 15): numbered, immutable, corrected on later bills, reconciled to the cent.

A household of five (two at cost, a company car, a guest, a paying tenant) charges through
November 2026 with a tariff change on the 16th; sessions cross both month boundaries. Every
expected amount is the recorded session cost: a bill is checked line by line against it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import date
from decimal import Decimal
import re

import pytest

from custom_components.ev_sessions.core import (
    AuditLog,
    Bill,
    BillingError,
    CorrectionKind,
    EngineSettings,
    Month,
    MonthNotOverError,
    SessionEngine,
    SessionStore,
    UnknownBillError,
    async_reattribute,
)

from .billing_fixtures import TARIFF_A, TZ, Clock, Household, local, november

NOV, DEC, JAN = Month(2026, 11), Month(2026, 12), Month(2027, 1)


@pytest.fixture
async def house(db_url: str) -> AsyncIterator[Household]:
    """A household with November's sessions stored; the clock on 1 December, 06:00 (on each
    database backend: SQLite, and PostgreSQL when configured)."""
    store = SessionStore(db_url)
    await store.async_open()
    household = Household(store, Clock())
    await november(household)
    try:
        yield household
    finally:
        await household.store.async_close()


def by_member(bills: list[Bill]) -> dict[str, Bill]:
    """Bills keyed by member id."""
    return {bill.member_id: bill for bill in bills}


async def test_month_bills_show_every_session_and_add_up_to_its_costs(house: Household) -> None:
    """One numbered bill per member with sessions ended in the month; each line is the session
    with its recorded cost; a session belongs to the month it ended in (local time)."""
    billing = house.billing()
    bills = await billing.async_issue(NOV)

    assert [(b.number, b.member_name) for b in bills] == [
        ("2026-0001", "Anna"),
        ("2026-0002", "Ben"),
        ("2026-0003", "Carl"),
        ("2026-0004", "Gus"),
        ("2026-0005", "Tina"),
    ]
    issued = by_member(bills)
    anna = issued["anna"]
    # Plugged in on 31 October, unplugged on 1 November: November's.
    assert [line.session_id for line in anna.lines] == ["s-in", "s-a1", "s-a2"]
    assert [line.day for line in anna.lines] == [
        date(2026, 11, 1),
        date(2026, 11, 3),
        date(2026, 11, 25),
    ]
    assert anna.energy_wh == 2_222 + 7_400 + 3_333
    costs = house.costs
    assert anna.total == costs["s-in"].total + costs["s-a1"].total + costs["s-a2"].total
    assert anna.vat == costs["s-in"].vat + costs["s-a1"].vat + costs["s-a2"].vat
    assert anna.amount_excl_vat + anna.vat == anna.total
    # The tariff change shows in the components: 1.00 before the 16th, 1.2345 after.
    assert dict(anna.lines[1].components)["fixed"] == Decimal("1.0000")
    assert dict(anna.lines[2].components)["fixed"] == Decimal("1.2345")
    assert anna.lines[1].total == costs["s-a1"].total == Decimal("13.21")  # 7.4 x 1.428 x 1.25
    assert anna.status == "unpaid"
    assert anna.issued_at == house.clock.now
    assert anna.period_start == local(2026, 11, 1)
    assert anna.period_end == local(2026, 12, 1)

    # Ben's session from 30 Nov 22:30 to 1 Dec 06:30 is December's; his estimated one is marked.
    ben = issued["ben"]
    assert [line.session_id for line in ben.lines] == ["s-b1", "s-b2"]
    assert [line.estimated for line in ben.lines] == [False, True]
    assert ben.estimated
    assert ben.lines[0].charger_name == "Driveway"

    # The guest pays a markup and the session fee, and the bill names the guest tariff.
    gus = issued["gus"]
    assert gus.paying
    assert gus.group == "guest"
    assert gus.tariff_group is not None
    assert gus.tariff_group["markup_per_kwh"] == "0.50"
    charges = dict(gus.lines[0].charges)
    assert charges["session_fee"] == Decimal("5.00")
    assert gus.total == costs["s-g1"].total == Decimal("19.64")  # (5.555 x 1.928 + 5) x 1.25

    # The company car's reimbursable amount: 20.001 kWh x 2.50.
    carl = issued["carl"]
    assert carl.claimable == costs["s-c1"].claimable == Decimal("50.00")
    assert issued["tina"].paying
    assert not anna.paying

    for bill in bills:
        assert bill.problems() == []
    reconciled = await billing.async_reconcile(NOV)
    assert reconciled.problems() == []
    assert reconciled.issued
    assert (
        reconciled.metered_wh
        == 2_222 + 7_400 + 11_000 + 5_555 + 4_321 + 20_001 + 3_333 + 4_000 + 1_000
    )
    assert reconciled.unattributed_wh == 1_000
    assert reconciled.bill_totals == sum(
        (c.total for sid, c in costs.items() if sid not in ("s-oct", "s-mid", "s-x1")), Decimal(0)
    )


async def test_issuing_is_idempotent_and_only_for_months_that_are_over(house: Household) -> None:
    """A second run issues nothing; the running month is a preview marked not issued."""
    billing = house.billing()
    first = await billing.async_issue(NOV)
    assert await billing.async_issue(NOV) == []
    assert await billing.async_issue_due() == []  # the scheduled run after a restart
    assert [b.number for b in await billing.async_bills(period=NOV)] == [
        b.number for b in reversed(first)
    ]
    with pytest.raises(MonthNotOverError):
        await billing.async_issue(DEC)

    preview = await billing.async_preview("ben", DEC)
    assert preview.status == "preview"
    assert preview.number is None
    assert not preview.issued
    assert [line.session_id for line in preview.lines] == ["s-mid"]
    assert preview.total == house.costs["s-mid"].total
    # The issued one is returned for an issued month.
    assert (await billing.async_preview("ben", NOV)).number == "2026-0002"


async def test_reattributed_and_repriced_sessions_are_corrected_on_the_next_bills(
    house: Household,
) -> None:
    """After November's bills are issued, Ben's session is re-attributed to Anna and Anna's is
    re-priced: November's bills stay as issued; December's carry a credit for Ben, a debit for
    Anna and the reprice difference, each naming the session and the audit reason."""
    billing = house.billing()
    issued = by_member(await billing.async_issue(NOV))
    b1_cost = house.costs["s-b1"]

    engine = SessionEngine(house.store, clock=house.clock, settings=EngineSettings())
    await engine.async_start()
    audit = AuditLog(house.store)
    try:
        moved = await async_reattribute(
            engine, audit, "s-b1", "anna", by_user="admin", at=local(2026, 12, 5, 12)
        )
        assert moved is not None
        await audit.async_flush()
        await engine.async_flush()
    finally:
        await engine.async_stop()  # closes the store it was given
    await house.store.async_open()
    old = house.costs["s-a2"]
    new = await house.reprice("s-a2", TARIFF_A, local(2026, 12, 6, 9), "wrong tariff")
    assert new.total < old.total

    # November's bills are immutable.
    assert by_member(await billing.async_bills(period=NOV)) == issued
    # November still reconciles: what is not issued yet is pending.
    nov = await billing.async_reconcile(NOV)
    assert nov.problems() == []
    assert nov.pending_corrections == new.total - old.total

    house.clock.now = local(2027, 1, 1, 6)
    dec = by_member(await billing.async_issue(DEC))
    # Numbers start again in the new year (December's bills are issued in January).
    assert sorted(b.number or "" for b in dec.values()) == ["2027-0001", "2027-0002"]
    ben, anna = dec["ben"], dec["anna"]
    assert [line.session_id for line in ben.lines] == ["s-mid"]
    [credit] = ben.corrections
    assert credit.kind is CorrectionKind.CREDIT
    assert credit.session_id == "s-b1"
    assert credit.total == -b1_cost.total
    assert credit.energy_wh == -11_000
    assert credit.reason == "re-attributed from Ben to Anna on 2026-12-05"
    assert credit.audit_id is not None
    assert credit.original_bill == issued["ben"].number
    assert ben.total == house.costs["s-mid"].total - b1_cost.total

    assert anna.lines == ()
    repriced, debit = sorted(anna.corrections, key=lambda c: c.session_id)
    assert (debit.session_id, debit.kind, debit.total) == (
        "s-b1",
        CorrectionKind.DEBIT,
        b1_cost.total,
    )
    assert (repriced.session_id, repriced.kind) == ("s-a2", CorrectionKind.CREDIT)
    assert repriced.total == new.total - old.total
    assert repriced.energy_wh == 0
    assert repriced.reason.startswith("re-priced on 2026-12-06 (reprice): wrong tariff: ")
    assert anna.total == b1_cost.total + new.total - old.total

    assert (await billing.async_reconcile(NOV)).problems() == []
    assert (await billing.async_reconcile(DEC)).problems() == []
    # Settled: no corrections again on later bills.
    house.clock.now = local(2027, 2, 1, 6)
    assert await billing.async_issue(DEC) == []
    assert await billing.async_issue(JAN) == []


async def test_numbers_continue_after_a_restart_without_gaps(house: Household, db_url: str) -> None:
    """The counter is stored: a reopened database goes on from the last number of the year."""
    await house.billing().async_issue(NOV)
    await house.store.async_close()

    house.store = SessionStore(db_url)
    await house.store.async_open()
    await house.add("s-d1", "gus", local(2026, 12, 3, 9), local(2026, 12, 3, 11), 1_234)
    house.clock.now = local(2026, 12, 31, 23, 59)
    with pytest.raises(MonthNotOverError):
        await house.billing().async_issue(DEC)
    house.clock.now = local(2027, 1, 1, 6)
    dec = await house.billing().async_issue(DEC)
    assert [b.number for b in dec] == ["2027-0001", "2027-0002"]
    all_2026 = await house.billing().async_bills(year=2026)
    assert sorted(b.number or "" for b in all_2026) == [f"2026-000{n}" for n in range(1, 6)]


async def test_paid_outstanding_revenue_and_household_report(house: Household) -> None:
    """Paid status, outstanding amounts, the revenue of paying members and the household
    report with shares and the previous month."""
    billing = house.billing()
    issued = by_member(await billing.async_issue(NOV))
    figures = await billing.async_member_figures()
    assert figures["gus"].outstanding == issued["gus"].total
    assert figures["gus"].last_number == issued["gus"].number
    paid = await billing.async_mark_paid(issued["gus"].number or "")
    assert paid.status == "paid"
    assert paid.paid_at == house.clock.now
    assert (await billing.async_member_figures())["gus"].outstanding == 0
    with pytest.raises(UnknownBillError):
        await billing.async_bill("2026-0099")
    assert await billing.async_issued_count(Month(2026, 12)) == 5

    revenue = await billing.async_revenue(NOV)
    costs = house.costs
    assert revenue.total == costs["s-g1"].total + costs["s-t1"].total
    assert revenue.per_charger == {"cp-1": costs["s-g1"].total, "cp-2": costs["s-t1"].total}

    report = await billing.async_household_report(NOV)
    assert report.energy_wh == 58_832
    assert report.cost == sum(
        (c.total for sid, c in costs.items() if sid not in ("s-oct", "s-mid")), Decimal(0)
    )
    rows = {m.member_id: m for m in report.members}
    assert rows["carl"].energy_share == Decimal("34.0")  # 20,001 of 58,832 Wh
    assert rows["ben"].previous_energy_wh == 6_000
    assert rows["ben"].previous_cost == costs["s-oct"].total
    assert rows[None].energy_wh == 1_000  # unattributed
    assert report.previous_energy_wh == 6_000
    assert sum(m.energy_wh for m in report.members) == report.energy_wh


def test_months_in_local_time() -> None:
    """A month's bounds are local midnights (CET in winter, CEST in summer)."""
    assert Month.parse("2026-11") == Month(2026, 11)
    assert Month.parse("2026-03-15") == Month(2026, 3)
    start, end = Month(2026, 3).bounds(TZ)
    assert (start.hour, end.hour) == (23, 22)  # UTC: 1 March 00:00 CET, 1 April 00:00 CEST
    assert Month(2026, 12).next() == Month(2027, 1)
    assert Month(2027, 1).previous() == Month(2026, 12)


def test_a_month_that_is_no_month_is_refused() -> None:
    """Month 13, a date that does not exist, and text that is no month: BillingError."""
    with pytest.raises(BillingError, match=r"not a month: 2026-13"):
        Month(2026, 13)
    for text in ("2026-02-30", "soon"):
        with pytest.raises(BillingError, match=re.escape(f"not a month (YYYY-MM): {text!r}")):
            Month.parse(text)


async def test_a_bill_or_a_month_that_does_not_add_up_says_what(house: Household) -> None:
    """The invariants a stored bill and a month's reconciliation are checked against, each
    broken on purpose: the check names it (what check_bills shows)."""
    billing = house.billing()
    bill = (await billing.async_issue(NOV))[0]
    assert bill.problems() == []
    assert Bill.from_dict(bill.to_dict(), id=bill.id) == bill
    assert replace(bill, total=bill.total + Decimal("0.01")).problems() == [
        "lines and corrections do not add up to the total",
        "amount excl. VAT + VAT is not the total",
    ]
    assert replace(bill, energy_wh=bill.energy_wh + 1).problems() == [
        "the lines' energy is not the bill's energy"
    ]
    line = bill.lines[0]
    assert line.price_per_kwh == line.total * 1000 / line.energy_wh
    assert replace(line, energy_wh=0).price_per_kwh is None
    with pytest.raises(BillingError, match="unreadable bill"):
        Bill.from_dict({**bill.to_dict(), "total": "lots"})
    with pytest.raises(BillingError, match="unreadable bill: KeyError"):
        Bill.from_dict({k: v for k, v in bill.to_dict().items() if k != "member_id"})

    month = await billing.async_reconcile(NOV)
    assert month.problems() == []
    broken = replace(month, metered_wh=month.metered_wh + 5, unbilled_sessions=("s-x",))
    assert broken.problems() == [
        f"billed {month.billed_wh} Wh + corrected {month.corrected_wh} Wh"
        f" + unattributed {month.unattributed_wh} Wh != metered {month.metered_wh + 5} Wh",
        "sessions on no bill: s-x",
    ]
    assert not broken.ok
