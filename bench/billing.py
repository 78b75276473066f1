"""Billing benchmark: a year of 10 members' sessions, then one month's bills and report.

``--members`` members (10) charge once a day each for a year (~3,650 sessions), 2-12 kWh in
quarter-hours of at most 2.5 kWh, every session priced (:func:`price_session`: a fixed tariff with
tax and VAT; a guest with a markup and a session fee, a company car with its reimbursement) and
its cost recorded, in a temporary SQLite database. Eleven months are issued first (so bills and
counters exist, with a re-attributed session to correct). Timed, wall clock, a few runs: issuing
the last month's bills (previews, pending corrections, numbering, storing) plus the household
report of that month.

    .venv/bin/python -m bench.billing

Run by hand; results go to README.md.
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
import random
import tempfile
import time
from zoneinfo import ZoneInfo

from custom_components.ev_sessions.core import (
    AuditEntry,
    AuditSource,
    Billing,
    CostReason,
    CostRecord,
    EnergyPricing,
    MemberDirectory,
    Month,
    Session,
    SessionFacts,
    SessionStore,
    Tariff,
    TariffGroup,
    TariffGroupMode,
    price_session,
)
from custom_components.ev_sessions.core.slots import SLOT_LENGTH, EnergySlot

TZ = ZoneInfo("Europe/Stockholm")
TARIFF = Tariff(
    currency="SEK",
    energy=EnergyPricing.FIXED,
    fixed_price=Decimal("1.10"),
    energy_tax=Decimal("0.428"),
    vat_rate=Decimal("0.25"),
    session_fee=Decimal("5"),
    groups={
        "household": TariffGroup(),
        "guest": TariffGroup(
            mode=TariffGroupMode.MARKUP, markup_per_kwh=Decimal("0.5"), operator_fees=True
        ),
        "company_car": TariffGroup(reimbursement_per_kwh=Decimal("2.5")),
    },
)


def _members(count: int) -> MemberDirectory:
    groups = ["household", "guest", "company_car"]
    return MemberDirectory.from_dicts(
        [
            {"id": f"m{i}", "name": f"Member {i}", "tariff_group": groups[i % 3]}
            for i in range(count)
        ]
    )


def _session(sid: str, member: str, start: datetime, wh: int, charger: str) -> Session:
    slots = []
    left, index = wh, 0
    while left > 0:
        part = min(left, 2500)
        begin = start + index * SLOT_LENGTH
        slots.append(
            EnergySlot(
                session_id=sid,
                start=begin,
                energy_wh=part,
                max_power_w=10000.0,
                closed_at=begin + SLOT_LENGTH,
            )
        )
        left -= part
        index += 1
    end = start + (index + 2) * SLOT_LENGTH
    return Session(
        id=sid,
        charger_id=charger,
        connector_id=1,
        plugged_in_at=start,
        member_id=member,
        unplugged_at=end,
        charging_finished_at=end - SLOT_LENGTH,
        energy_wh=wh,
        charging_duration_s=index * 900.0,
        slots=slots,
    )


async def _fill(store: SessionStore, members: MemberDirectory, year: int) -> int:
    rng = random.Random(15)
    start = datetime(year, 1, 1, 17, tzinfo=TZ).astimezone(UTC)
    count = 0
    for day in range(365):
        batch: list[Session] = []
        costs: list[CostRecord] = []
        for index, member in enumerate(members):
            begin = start + timedelta(days=day, minutes=15 * rng.randrange(0, 16))
            sid = f"s{day:03d}-{index}"
            session = _session(sid, member.id, begin, rng.randrange(2000, 12000), f"cp-{index % 4}")
            cost = price_session(
                session.slots,
                [],
                TARIFF,
                member.tariff_group,
                SessionFacts(session_id=sid, energy_wh=session.energy_wh, tz=TZ),
            )
            batch.append(session)
            assert session.unplugged_at is not None
            costs.append(
                CostRecord(
                    session_id=sid,
                    computed_at=session.unplugged_at,
                    reason=CostReason.FINAL,
                    cost=cost,
                )
            )
        await store.async_save(batch)
        for record in costs:
            await store.async_save_cost(record)
        count += len(batch)
    return count


async def main(members_count: int, runs: int) -> None:
    """Fill, issue eleven months, then time the last month's issue and report."""
    year = 2026
    with tempfile.TemporaryDirectory() as folder:
        url = f"sqlite:///{Path(folder) / 'bench.db'}"
        store = SessionStore(url)
        await store.async_open()
        members = _members(members_count)
        began = time.perf_counter()
        sessions = await _fill(store, members, year)
        print(f"{sessions} sessions with cost lines stored in {time.perf_counter() - began:.1f} s")
        clock = [datetime(year, 12, 1, 6, tzinfo=TZ).astimezone(UTC)]
        billing = Billing(
            store, tz=TZ, members=lambda: members, tariff=lambda: TARIFF, clock=lambda: clock[0]
        )
        for month in range(1, 12):
            await billing.async_issue(Month(year, month))
        # A session of March re-attributed after its bill: a correction on December's bills.
        await store.async_save_audit(
            [
                AuditEntry(
                    at=clock[0] + timedelta(hours=1),
                    source=AuditSource.REATTRIBUTION,
                    session_id="s070-1",
                    previous_member_id="m1",
                    member_id="m2",
                    reason="reattributed",
                )
            ]
        )
        _move_session(url, "s070-1", "m2")
        timings = []
        for run in range(runs):
            clock[0] = datetime(year + 1, 1, 1, 6, tzinfo=TZ).astimezone(UTC) + timedelta(
                minutes=run
            )
            fresh = SessionStore(url)  # a new store each run: nothing issued for December yet
            await fresh.async_open()
            copy = Billing(
                fresh,
                tz=TZ,
                members=lambda: members,
                tariff=lambda: TARIFF,
                clock=lambda: clock[0],
            )
            began = time.perf_counter()
            bills = await copy.async_issue(Month(year, 12))
            report = await copy.async_household_report(Month(year, 12))
            timings.append(time.perf_counter() - began)
            reconciled = await copy.async_reconcile(Month(year, 12))
            print(
                f"run {run + 1}: {len(bills)} bills, {sum(len(b.lines) for b in bills)} lines,"
                f" {sum(len(b.corrections) for b in bills)} corrections, report of"
                f" {report.sessions} sessions: {timings[-1] * 1000:.0f} ms"
                f" (reconciles: {reconciled.ok})"
            )
            # Undo this run's December bills so the next run issues them again.
            await fresh.async_close()
            _forget_december(url, year)
        await store.async_close()
        print(
            f"issue + report: best {min(timings) * 1000:.0f} ms, worst {max(timings) * 1000:.0f} ms"
        )


def _move_session(url: str, session_id: str, member_id: str) -> None:
    from sqlalchemy import create_engine, update

    from custom_components.ev_sessions.core.storage.schema import sessions_table

    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            update(sessions_table)
            .where(sessions_table.c.id == session_id)
            .values(member_id=member_id)
        )
    engine.dispose()


def _forget_december(url: str, year: int) -> None:
    from sqlalchemy import create_engine, delete, update

    from custom_components.ev_sessions.core.storage.schema import (
        bill_counters_table,
        bill_items_table,
        bills_table,
    )

    engine = create_engine(url)
    with engine.begin() as conn:
        period = f"{year}-12"
        conn.execute(delete(bill_items_table).where(bill_items_table.c.period == period))
        conn.execute(delete(bills_table).where(bills_table.c.period == period))
        conn.execute(
            update(bill_counters_table).where(bill_counters_table.c.year == year + 1).values(last=0)
        )
    engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--members", type=int, default=10)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(main(args.members, args.runs))
