"""The ``bills``, ``bill_items`` and ``bill_counters`` tables (schema 7): issued monthly bills.

A bill row keeps :meth:`Bill.to_dict` exactly as issued (``data``); only ``paid_at`` changes
later. Each line and correction is also a ``bill_items`` row (session, member, charger, signed
amounts), from which what was billed per session is summed (corrections) and revenue read. Bill
numbers come from ``bill_counters`` in the same transaction as the bills: sequential per year,
never reused, without gaps. Portable SQL only (SQLite and PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import datetime
from decimal import Decimal
import json
from typing import Any

from sqlalchemy import Connection, Row, and_, exists, func, insert, or_, select, update

from custom_components.ev_sessions.core.audit import AuditSource
from custom_components.ev_sessions.core.bills import (
    Bill,
    BilledAmount,
    BilledSession,
    Month,
)
from custom_components.ev_sessions.core.cost_records import CostRecord

from .cost_rows import latest_costs
from .schema import (
    audit_table,
    bill_counters_table,
    bill_items_table,
    bills_table,
    session_costs_table,
    sessions_table,
)

#: Ids per ``IN (...)`` query.
_BATCH = 500
#: The kinds of ``bill_items`` rows.
ITEM_LINE = "line"

#: A session's newest change in the audit log: (id, at, source, reason, detail, previous
#: member, member).
type Change = tuple[int, datetime, str, str | None, str | None, str | None, str | None]


def bill_number(year: int, seq: int) -> str:
    """The printed number of the ``seq``-th bill of ``year``: ``2027-0001``."""
    return f"{year:04d}-{seq:04d}"


# --------------------------------------------------------------------------- sessions


_SESSION_COLUMNS = (
    sessions_table.c.id,
    sessions_table.c.charger_id,
    sessions_table.c.connector_id,
    sessions_table.c.member_id,
    sessions_table.c.plugged_in_at,
    sessions_table.c.unplugged_at,
    sessions_table.c.charging_finished_at,
    sessions_table.c.energy_wh,
)


def _billed_session(row: Row[Any]) -> BilledSession:
    return BilledSession(
        id=row.id,
        charger_id=row.charger_id,
        connector_id=int(row.connector_id),
        member_id=row.member_id,
        plugged_in_at=row.plugged_in_at,
        unplugged_at=row.unplugged_at,
        charging_finished_at=row.charging_finished_at,
        energy_wh=int(row.energy_wh),
    )


def ended_between(conn: Connection, start: datetime, end: datetime) -> list[BilledSession]:
    """Sessions that ended (were unplugged) in ``[start, end)``, by end time."""
    table = sessions_table
    stmt = (
        select(*_SESSION_COLUMNS)
        .where(table.c.unplugged_at >= start, table.c.unplugged_at < end)
        .order_by(table.c.unplugged_at, table.c.id)
    )
    return [_billed_session(row) for row in conn.execute(stmt)]


def unbilled_attributed(conn: Connection, start: datetime, end: datetime) -> list[BilledSession]:
    """Sessions attributed to a member that ended in ``[start, end)`` and are on no bill at all
    (neither a line nor a correction): attributed after their month's bills were issued."""
    table, items = sessions_table, bill_items_table
    stmt = (
        select(*_SESSION_COLUMNS)
        .where(
            table.c.member_id.is_not(None),
            table.c.unplugged_at >= start,
            table.c.unplugged_at < end,
            ~exists().where(items.c.session_id == table.c.id),
        )
        .order_by(table.c.unplugged_at, table.c.id)
    )
    return [_billed_session(row) for row in conn.execute(stmt)]


def sessions_on_bills(conn: Connection, ids: Iterable[str]) -> set[str]:
    """The sessions among ``ids`` that are on some bill (a line or a correction)."""
    found: set[str] = set()
    wanted = list(dict.fromkeys(ids))
    items = bill_items_table
    for index in range(0, len(wanted), _BATCH):
        stmt = select(items.c.session_id).where(
            items.c.session_id.in_(wanted[index : index + _BATCH])
        )
        found |= {row.session_id for row in conn.execute(stmt.distinct())}
    return found


def sessions_with_ids(conn: Connection, ids: Iterable[str]) -> dict[str, BilledSession]:
    """The ended sessions among ``ids``."""
    found: dict[str, BilledSession] = {}
    wanted = list(dict.fromkeys(ids))
    table = sessions_table
    for index in range(0, len(wanted), _BATCH):
        stmt = select(*_SESSION_COLUMNS).where(
            table.c.id.in_(wanted[index : index + _BATCH]), table.c.unplugged_at.is_not(None)
        )
        for row in conn.execute(stmt):
            found[row.id] = _billed_session(row)
    return found


# --------------------------------------------------------------------------- bills


def _next_numbers(conn: Connection, year: int, count: int) -> list[int]:
    """Reserve ``count`` consecutive numbers of ``year`` (same transaction as the bills)."""
    table = bill_counters_table
    last = conn.execute(select(table.c.last).where(table.c.year == year)).scalar_one_or_none()
    if last is None:
        last = 0
        conn.execute(insert(table).values(year=year, last=count))
    else:
        conn.execute(update(table).where(table.c.year == year).values(last=last + count))
    return list(range(int(last) + 1, int(last) + 1 + count))


def insert_bills(
    conn: Connection, bills: Sequence[Bill], issued_at: datetime, year: int
) -> list[Bill]:
    """Number and store previews as issued bills (one transaction); the bills as stored."""
    if not bills:
        return []
    stored: list[Bill] = []
    for bill, seq in zip(bills, _next_numbers(conn, year, len(bills)), strict=True):
        issued = replace(bill, number=bill_number(year, seq), issued_at=issued_at)
        result = conn.execute(
            insert(bills_table).values(
                number=issued.number,
                year=year,
                seq=seq,
                period=str(issued.period),
                member_id=issued.member_id,
                member_name=issued.member_name,
                issued_at=issued_at,
                paid_at=None,
                currency=issued.currency,
                energy_wh=issued.energy_wh,
                total=str(issued.total),
                paying=issued.paying,
                data=json.dumps(issued.to_dict(), separators=(",", ":")),
            )
        )
        key = result.inserted_primary_key
        issued = replace(issued, id=int(key[0]) if key is not None else None)
        _insert_items(conn, issued, issued_at)
        stored.append(issued)
    return stored


def _insert_items(conn: Connection, bill: Bill, issued_at: datetime) -> None:
    common = {
        "bill_id": bill.id or 0,
        "number": bill.number,
        "member_id": bill.member_id,
        "period": str(bill.period),
        "issued_at": issued_at,
    }
    rows: list[dict[str, Any]] = [
        {
            **common,
            "kind": ITEM_LINE,
            "session_id": line.session_id,
            "charger_id": line.charger_id,
            "session_period": str(bill.period),
            "energy_wh": line.energy_wh,
            "amount_excl_vat": str(line.amount_excl_vat),
            "vat": str(line.vat),
            "total": str(line.total),
        }
        for line in bill.lines
    ]
    rows += [
        {
            **common,
            "kind": c.kind.value,
            "session_id": c.session_id,
            "charger_id": c.charger_id,
            "session_period": f"{c.day.year:04d}-{c.day.month:02d}",
            "energy_wh": c.energy_wh,
            "amount_excl_vat": str(c.amount_excl_vat),
            "vat": str(c.vat),
            "total": str(c.total),
        }
        for c in bill.corrections
    ]
    if rows:
        conn.execute(insert(bill_items_table), rows)


def _bill(row: Row[Any]) -> Bill:
    bill = Bill.from_dict(json.loads(row.data), id=int(row.id))
    return replace(bill, paid_at=row.paid_at)


def select_bills(
    conn: Connection,
    *,
    member_id: str | None = None,
    period: Month | None = None,
    year: int | None = None,
    number: str | None = None,
    unpaid: bool = False,
    limit: int | None = None,
) -> list[Bill]:
    """Issued bills, newest first."""
    table = bills_table
    conds: list[Any] = []
    if member_id is not None:
        conds.append(table.c.member_id == member_id)
    if period is not None:
        conds.append(table.c.period == str(period))
    if year is not None:
        conds.append(table.c.year == year)
    if number is not None:
        conds.append(table.c.number == number)
    if unpaid:
        conds.append(table.c.paid_at.is_(None))
    stmt = select(table).where(*conds).order_by(table.c.id.desc()).limit(limit)
    return [_bill(row) for row in conn.execute(stmt)]


def first_billed_period(conn: Connection) -> Month | None:
    """The earliest month with an issued bill (``None`` before the first bill)."""
    value = conn.execute(select(func.min(bills_table.c.period))).scalar_one_or_none()
    return None if value is None else Month.parse(str(value))


def last_billed_period(conn: Connection) -> Month | None:
    """The latest month with an issued bill (``None`` before the first bill)."""
    value = conn.execute(select(func.max(bills_table.c.period))).scalar_one_or_none()
    return None if value is None else Month.parse(str(value))


def billed_members(conn: Connection, period: Month) -> set[str]:
    """Members who have an issued bill for ``period``."""
    table = bills_table
    stmt = select(table.c.member_id).where(table.c.period == str(period))
    return {row.member_id for row in conn.execute(stmt)}


def set_paid(conn: Connection, number: str, paid_at: datetime | None) -> Bill | None:
    """Set (or clear) the paid time of a bill; the bill, ``None`` when there is none."""
    table = bills_table
    conn.execute(update(table).where(table.c.number == number).values(paid_at=paid_at))
    found = select_bills(conn, number=number)
    return found[0] if found else None


def unpaid_totals(conn: Connection) -> dict[tuple[str, str], Decimal]:
    """Per (member, currency): the sum of the totals of the unpaid bills."""
    table = bills_table
    stmt = select(table.c.member_id, table.c.currency, table.c.total).where(
        table.c.paid_at.is_(None)
    )
    totals: dict[tuple[str, str], Decimal] = {}
    for row in conn.execute(stmt):
        key = (row.member_id, row.currency)
        totals[key] = totals.get(key, Decimal(0)) + Decimal(row.total)
    return totals


def issued_between(conn: Connection, start: datetime, end: datetime) -> int:
    """The number of bills issued in ``[start, end)``."""
    table = bills_table
    stmt = select(table.c.id).where(table.c.issued_at >= start, table.c.issued_at < end)
    return len(conn.execute(stmt).all())


# --------------------------------------------------------------------------- corrections


def changed_after_billing(conn: Connection) -> set[str]:
    """Sessions on a bill (a line, or a correction that billed them late) that were
    re-attributed or re-priced (audit log) or got a new cost recorded after that bill was
    issued: the candidates for corrections."""
    items, audit, costs = bill_items_table, audit_table, session_costs_table
    audited = select(items.c.session_id).join(
        audit,
        and_(
            audit.c.session_id == items.c.session_id,
            audit.c.at > items.c.issued_at,
            or_(
                audit.c.source == AuditSource.REATTRIBUTION.value,
                audit.c.source == AuditSource.REPRICE.value,
            ),
        ),
    )
    recosted = select(items.c.session_id).join(
        costs,
        and_(
            costs.c.session_id == items.c.session_id,
            costs.c.computed_at > items.c.issued_at,
        ),
    )
    found = {row.session_id for row in conn.execute(audited.distinct())}
    found |= {row.session_id for row in conn.execute(recosted.distinct())}
    return found


def billed_amounts(conn: Connection, session_ids: Iterable[str]) -> list[BilledAmount]:
    """Per (session, member): the sum of everything billed (lines and corrections)."""
    items = bill_items_table
    sums: dict[tuple[str, str], list[Any]] = {}
    first_any: dict[str, str] = {}
    ids = list(dict.fromkeys(session_ids))
    for index in range(0, len(ids), _BATCH):
        stmt = (
            select(items)
            .where(items.c.session_id.in_(ids[index : index + _BATCH]))
            .order_by(items.c.id)
        )
        for row in conn.execute(stmt):
            key = (row.session_id, row.member_id)
            acc = sums.setdefault(key, [0, Decimal(0), Decimal(0), Decimal(0), None])
            acc[0] += int(row.energy_wh)
            acc[1] += Decimal(row.amount_excl_vat)
            acc[2] += Decimal(row.vat)
            acc[3] += Decimal(row.total)
            if acc[4] is None and row.kind == ITEM_LINE:
                acc[4] = row.number
            # A session billed late (first as a correction) names that bill.
            first_any.setdefault(row.session_id, row.number)
    first: dict[str, str] = {}
    for (session_id, _member), acc in sums.items():
        if acc[4] is not None:
            first.setdefault(session_id, acc[4])
    for session_id, number in first_any.items():
        first.setdefault(session_id, number)
    return [
        BilledAmount(
            session_id=session_id,
            member_id=member_id,
            energy_wh=acc[0],
            amount_excl_vat=acc[1],
            vat=acc[2],
            total=acc[3],
            first_bill=first.get(session_id),
        )
        for (session_id, member_id), acc in sums.items()
    ]


def corrections_of_sessions_in(conn: Connection, period: Month) -> Decimal:
    """The sum of the corrections (on any bill) of sessions that ended in ``period``."""
    return correction_sums_of_sessions_in(conn, period)[1]


def correction_sums_of_sessions_in(conn: Connection, period: Month) -> tuple[int, Decimal]:
    """The energy and the total of the corrections (on any bill) of sessions that ended in
    ``period``."""
    items = bill_items_table
    stmt = select(items.c.energy_wh, items.c.total).where(
        items.c.session_period == str(period), items.c.kind != ITEM_LINE
    )
    energy, total = 0, Decimal(0)
    for row in conn.execute(stmt):
        energy += int(row.energy_wh)
        total += Decimal(row.total)
    return energy, total


def latest_change(conn: Connection, session_ids: Iterable[str]) -> dict[str, Change]:
    """Per session, its newest re-attribution or reprice in the audit log:
    ``(id, at, source, reason, detail, previous member, member)``."""
    audit = audit_table
    found: dict[str, Change] = {}
    ids = list(dict.fromkeys(session_ids))
    for index in range(0, len(ids), _BATCH):
        stmt = (
            select(audit)
            .where(
                audit.c.session_id.in_(ids[index : index + _BATCH]),
                or_(
                    audit.c.source == AuditSource.REATTRIBUTION.value,
                    audit.c.source == AuditSource.REPRICE.value,
                ),
            )
            .order_by(audit.c.id)
        )
        for row in conn.execute(stmt):
            found[row.session_id] = (
                int(row.id),
                row.at,
                row.source,
                row.reason,
                row.detail,
                row.previous_member_id,
                row.member_id,
            )
    return found


def month_data(
    conn: Connection, start: datetime, end: datetime
) -> tuple[list[BilledSession], dict[str, CostRecord]]:
    """The sessions ended in ``[start, end)`` and the cost in force of each that has one."""
    sessions = ended_between(conn, start, end)
    return sessions, latest_costs(conn, [s.id for s in sessions])


type CorrectionState = tuple[
    list[BilledAmount], dict[str, BilledSession], dict[str, CostRecord], dict[str, Change]
]


def correction_state(
    conn: Connection, late: tuple[datetime, datetime] | None = None
) -> CorrectionState:
    """What corrections are worked out from: for every session changed after its billing,
    what was billed per member, the session now, its cost in force and its newest change;
    with ``late`` ``(start, end)`` also the attributed sessions ended then that are on no bill
    (:func:`unbilled_attributed`: billed nothing so far)."""
    ids = changed_after_billing(conn)
    unbilled = unbilled_attributed(conn, *late) if late is not None else []
    if not ids and not unbilled:
        return [], {}, {}, {}
    sessions = sessions_with_ids(conn, ids)
    sessions.update((s.id, s) for s in unbilled)
    every = [*ids, *(s.id for s in unbilled)]
    return (
        billed_amounts(conn, ids),
        sessions,
        latest_costs(conn, every),
        latest_change(conn, every),
    )


__all__: Sequence[str] = [
    "ITEM_LINE",
    "Change",
    "CorrectionState",
    "bill_number",
    "billed_amounts",
    "billed_members",
    "changed_after_billing",
    "correction_state",
    "correction_sums_of_sessions_in",
    "corrections_of_sessions_in",
    "ended_between",
    "first_billed_period",
    "insert_bills",
    "issued_between",
    "last_billed_period",
    "latest_change",
    "month_data",
    "select_bills",
    "sessions_on_bills",
    "sessions_with_ids",
    "set_paid",
    "unbilled_attributed",
    "unpaid_totals",
]
