"""Monthly bills: the scheduled run catches up every month since the last month billed (Home
Assistant down for more than a month, or runs that failed), oldest first, and never twice."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from custom_components.ev_sessions.core import Month, SessionStore

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


async def test_the_run_issues_every_month_missed_since_the_last_bills(house: Household) -> None:
    """November is billed on 1 December; the runs of 1 January and 1 February are missed (Home
    Assistant down, or the database unreachable then): the run on 2 February issues December's
    and January's bills, oldest first; a second run issues nothing."""
    billing = house.billing()
    nov = await billing.async_issue_due()
    assert {b.period for b in nov} == {NOV}
    await house.add("s-d1", "gus", local(2026, 12, 3, 9), local(2026, 12, 3, 11), 1_234)
    await house.add("s-j1", "gus", local(2027, 1, 7, 9), local(2027, 1, 7, 11), 2_345)
    await house.add("s-j2", "anna", local(2027, 1, 8, 9), local(2027, 1, 8, 10), 1_111)

    house.clock.now = local(2027, 2, 2, 8)
    caught_up = await billing.async_issue_due()
    assert [(str(b.period), b.member_id, b.number) for b in caught_up] == [
        ("2026-12", "ben", "2027-0001"),  # s-mid: 30 Nov 22:30 to 1 Dec 06:30
        ("2026-12", "gus", "2027-0002"),
        ("2027-01", "anna", "2027-0003"),
        ("2027-01", "gus", "2027-0004"),
    ]
    assert [line.session_id for line in caught_up[1].lines] == ["s-d1"]
    assert [line.session_id for line in caught_up[3].lines] == ["s-j1"]
    assert await billing.async_issue_due() == []
    for month in (NOV, DEC, JAN):
        assert (await billing.async_reconcile(month)).problems() == [], month


async def test_before_the_first_bill_only_the_last_month_is_issued(house: Household) -> None:
    """Without any bill yet (billing just set up), the run issues the last month only: the
    months before it are not billed after the fact."""
    house.clock.now = local(2027, 1, 1, 6)
    issued = await house.billing().async_issue_due()
    assert {b.period for b in issued} == {DEC}
    assert [line.session_id for line in issued[0].lines] == ["s-mid"]
