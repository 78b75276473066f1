"""Monthly bills: a session attributed to a member only after its month's bills were issued is
billed on the member's next bill (a debit correction naming it), and the month reconciles."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import pytest

from custom_components.ev_sessions.core import (
    AuditLog,
    CorrectionKind,
    EngineSettings,
    Month,
    SessionEngine,
    SessionStore,
    async_reattribute,
)

from .billing_fixtures import Clock, Household, local, november

NOV, DEC, JAN = Month(2026, 11), Month(2026, 12), Month(2027, 1)


@pytest.fixture
async def house(db_url: str) -> AsyncIterator[Household]:
    """November's household on each database backend; the clock on 1 December, 06:00."""
    store = SessionStore(db_url)
    await store.async_open()
    household = Household(store, Clock())
    await november(household)
    try:
        yield household
    finally:
        await household.store.async_close()


async def reattribute(house: Household, session_id: str, member_id: str, at: datetime) -> None:
    """Move a stored session to ``member_id`` as the action does (audit row), at ``at``."""
    engine = SessionEngine(house.store, clock=house.clock, settings=EngineSettings())
    await engine.async_start()
    audit = AuditLog(house.store)
    try:
        assert await async_reattribute(engine, audit, session_id, member_id, at=at) is not None
        await audit.async_flush()
        await engine.async_flush()
    finally:
        await engine.async_stop()  # closes the store it was given
    await house.store.async_open()


async def test_a_session_attributed_after_its_month_was_billed_is_on_the_next_bill(
    house: Household,
) -> None:
    """November's unattributed session s-x1 is re-attributed to Anna on 5 December, after
    November's bills were issued: November's bills stay as issued, the month reconciles with
    s-x1 pending, and Anna's December bill carries it as a debit naming the session and the
    audit reason; a later re-attribution moves it on like any billed session."""
    billing = house.billing()
    nov = {b.member_id: b for b in await billing.async_issue(NOV)}
    x1 = house.costs["s-x1"]
    await reattribute(house, "s-x1", "anna", local(2026, 12, 5, 12))

    check = await billing.async_reconcile(NOV)
    assert check.problems() == []
    assert check.unattributed_wh == 0
    assert check.pending_corrections == x1.total
    assert check.corrected_wh == 1_000
    preview = await billing.async_preview("anna", DEC)
    assert [(c.session_id, c.total) for c in preview.corrections] == [("s-x1", x1.total)]
    # November's bills are not issued again, nor changed.
    assert await billing.async_issue(NOV) == []
    assert {b.member_id: b for b in await billing.async_bills(period=NOV)} == nov

    house.clock.now = local(2027, 1, 1, 6)
    dec = {b.member_id: b for b in await billing.async_issue(DEC)}
    anna = dec["anna"]
    assert anna.lines == ()
    [debit] = anna.corrections
    assert debit.kind is CorrectionKind.DEBIT
    assert debit.session_id == "s-x1"
    assert (debit.energy_wh, debit.total, debit.vat) == (1_000, x1.total, x1.vat)
    assert debit.reason == "re-attributed from nobody to Anna on 2026-12-05"
    assert debit.audit_id is not None
    assert debit.original_bill is None
    assert anna.total == x1.total
    for month in (NOV, DEC):
        assert (await billing.async_reconcile(month)).problems() == [], month
    # October was never billed (before the first bill): its session stays off the bills.
    assert "s-oct" not in {c.session_id for b in dec.values() for c in b.corrections}

    # Billed late, then moved on to Ben: a credit for Anna, a debit for Ben.
    await reattribute(house, "s-x1", "ben", local(2027, 1, 10, 12))
    house.clock.now = local(2027, 2, 1, 6)
    jan = {b.member_id: b for b in await billing.async_issue(JAN)}
    [credit] = jan["anna"].corrections
    [moved] = jan["ben"].corrections
    assert (credit.session_id, credit.kind, credit.total) == (
        "s-x1",
        CorrectionKind.CREDIT,
        -x1.total,
    )
    assert (moved.session_id, moved.kind, moved.total) == ("s-x1", CorrectionKind.DEBIT, x1.total)
    assert credit.original_bill == anna.number
    for month in (NOV, DEC, JAN):
        assert (await billing.async_reconcile(month)).problems() == [], month
    house.clock.now = local(2027, 3, 1, 6)
    assert await billing.async_issue(Month(2027, 2)) == []


async def test_a_session_stored_late_is_billed_on_the_next_bill(house: Household) -> None:
    """A session of November written to the database only after November's bills (it waited
    in memory while the database was down) is billed on Tina's next bill, as not billed before;
    a month that was never billed is not reached back into."""
    billing = house.billing()
    await billing.async_issue(NOV)
    await house.add("s-t2", "tina", local(2026, 11, 29, 7), local(2026, 11, 29, 9), 2_500)
    check = await billing.async_reconcile(NOV)
    assert check.problems() == []
    assert check.pending_corrections == house.costs["s-t2"].total

    # Before December is issued, December's sessions are its lines, not January's debits.
    house.clock.now = local(2027, 1, 1, 3)
    ben = await billing.async_preview("ben", JAN)
    assert (ben.lines, ben.corrections) == ((), ())
    assert [line.session_id for line in (await billing.async_preview("ben", DEC)).lines] == [
        "s-mid"
    ]

    house.clock.now = local(2027, 1, 1, 6)
    tina = {b.member_id: b for b in await billing.async_issue(DEC)}["tina"]
    [debit] = tina.corrections
    assert (debit.session_id, debit.kind, debit.total) == (
        "s-t2",
        CorrectionKind.DEBIT,
        house.costs["s-t2"].total,
    )
    assert debit.reason == "not billed before (ended 2026-11-29)"
    assert (await billing.async_reconcile(NOV)).problems() == []
