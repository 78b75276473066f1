"""The :class:`SessionStore` facade: one database, one worker thread, every table's repository.

Every database call runs on one dedicated worker thread so the event loop never blocks, and the
engine hands over batches: :meth:`SessionStore.async_save` is one transaction (one commit) for
any number of sessions and counters. The rows themselves are written and read by the per-table
modules (:mod:`.sessions` with :mod:`.profile_rows` and :mod:`.slot_rows`, :mod:`.lifetimes`,
:mod:`.price_rows`, :mod:`.audit_rows`, :mod:`.local_list_rows`, :mod:`.quarantine`); this
module opens the transactions and counts the commits.

A storage error is confined to the row that caused it: when a batch fails because of a row's data
(not because the database refuses writes), :meth:`SessionStore.async_save_rows` writes the rows one
by one, and the rows the database refuses are quarantined (:mod:`.quarantine`) and returned to
the caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal
import functools
import logging
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, update
from sqlalchemy.exc import SQLAlchemyError

from custom_components.ev_sessions.core.audit import AuditEntry, AuditSource
from custom_components.ev_sessions.core.bills import Bill, BilledSession, Month
from custom_components.ev_sessions.core.cost_records import CostRecord
from custom_components.ev_sessions.core.local_lists import LocalListRecord
from custom_components.ev_sessions.core.member_statistics import SessionFigures, SessionSums
from custom_components.ev_sessions.core.model import Session
from custom_components.ev_sessions.core.prices import PriceInterval
from custom_components.ev_sessions.core.slots import EnergySlot

from . import (
    audit_rows,
    bill_rows,
    cost_rows,
    local_list_rows,
    member_rows,
    price_rows,
    slot_rows,
)
from .errors import StorageError, StorageFault, fault_of, guard
from .lifetimes import LifetimeRecord, load_lifetimes, write_lifetime, write_lifetimes
from .migrations import current_version, migrate
from .price_rows import PriceReplace
from .quarantine import QuarantineRecord, RowFailure, quarantine, select_quarantined
from .schema import schema_version
from .sessions import (
    SessionPatch,
    SessionWrite,
    ended_since,
    open_sessions,
    overlapping,
    select_sessions,
    with_id,
    write_patch,
    write_session,
    write_sessions,
)
from .urls import parse_url, scrub

_LOGGER = logging.getLogger(__name__)

type _RowWriter = Callable[[Connection, datetime], None]


class SessionStore:
    """The session database. Create, :meth:`async_open`, use, :meth:`async_close`."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        """Remember the URL; nothing is opened yet."""
        self.url = url
        self._echo = echo
        self._engine: Engine | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._closed = False  # after async_close: no new worker thread until async_open
        #: Number of committed write transactions (for tests and diagnostics).
        self.commits = 0

    # ------------------------------------------------------------------ plumbing

    async def _run[T](self, fn: Callable[..., T], *args: Any) -> T:
        if self._closed:
            raise StorageError("store is closed")
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ev_sessions_db")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(guard, fn, *args))

    def _read[T](self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(conn, *args)`` on a connection (worker thread)."""
        with self.engine.connect() as conn:
            return fn(conn, *args)

    def _write[T](self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(conn, *args)`` in one transaction, counted in :attr:`commits` (worker thread)."""
        with self.engine.begin() as conn:
            result = fn(conn, *args)
        self.commits += 1
        return result

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (only valid after :meth:`async_open`)."""
        if self._engine is None:
            raise StorageError("store is not open")
        return self._engine

    async def async_open(self) -> None:
        """Connect and bring the schema to :data:`.schema.SCHEMA_VERSION` (idempotent)."""
        self._closed = False
        if self._engine is None:
            await self._run(self._open)

    def _open(self) -> None:
        try:
            engine = database_engine(self.url, echo=self._echo)
        except (ValueError, ImportError, SQLAlchemyError) as err:  # no URL, dialect or driver
            raise StorageError(scrub(f"{type(err).__name__}: {err}", self.url)) from None
        try:
            with engine.begin() as conn:
                migrate(conn)
        except StorageError:
            engine.dispose()
            raise
        except Exception as err:
            engine.dispose()
            message = scrub(f"{type(err).__name__}: {err}", self.url)
            raise StorageError(message, fault=fault_of(err)) from err
        self._engine = engine

    async def async_close(self) -> None:
        """Release the connections and the worker thread (idempotent). A call made after it
        raises :class:`StorageError` instead of starting a worker thread nobody ends."""
        if self._executor is None:
            self._closed = True
            return
        if self._engine is not None:
            await self._run(self.engine.dispose)
            self._engine = None
        executor, self._executor = self._executor, None
        self._closed = True
        executor.shutdown(wait=True)

    async def async_schema_version(self) -> int:
        """The schema version of the open database."""
        return await self._run(self._read, current_version)

    async def async_check_writable(self) -> None:
        """Commit a write that changes nothing; :class:`StorageError` if the database refuses.

        Finds a read-only file or directory, a full disk and an unreachable server at setup
        instead of at the first session.
        """
        await self._run(self._write, _touch_schema_version)

    # ------------------------------------------------------------------ writes

    async def async_save(
        self,
        sessions: Sequence[Session | SessionWrite] = (),
        lifetimes: Sequence[LifetimeRecord] = (),
        patches: Sequence[SessionPatch] = (),
    ) -> None:
        """Write sessions (insert or update), counters and patches in one transaction.

        A :class:`Session` is written with what is new since its :attr:`~Session.stored`
        marks (all of it for a session never stored); the marks are not moved (the engine
        hands over :class:`SessionWrite` values and moves them itself).
        """
        if sessions or lifetimes or patches:
            await self._run(self._save, sessions, lifetimes, patches)

    async def async_save_rows(
        self,
        sessions: Sequence[Session | SessionWrite] = (),
        lifetimes: Sequence[LifetimeRecord] = (),
        patches: Sequence[SessionPatch] = (),
    ) -> list[RowFailure]:
        """Like :meth:`async_save`, but a row the database refuses does not stop the others.

        The batch is one transaction. If it fails because of a row's data, every row is written
        in its own transaction; the ones refused are quarantined (stored as JSON in the
        ``quarantine`` table, or logged in full) and returned. If the database itself refuses
        writes (read-only, full, unreachable) :class:`StorageError` is raised and the caller
        keeps everything (rows already written are written again later, which is harmless).
        """
        if not (sessions or lifetimes or patches):
            return []
        return await self._run(self._save_rows, sessions, lifetimes, patches)

    def _save(
        self,
        sessions: Sequence[Session | SessionWrite],
        lifetimes: Sequence[LifetimeRecord],
        patches: Sequence[SessionPatch],
    ) -> None:
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            write_sessions(conn, _session_writes(sessions), now)
            write_lifetimes(conn, lifetimes, now)
            for _kind, _key, write, _data in _writers((), (), patches):
                write(conn, now)
        self.commits += 1

    def _save_rows(
        self,
        sessions: Sequence[Session | SessionWrite],
        lifetimes: Sequence[LifetimeRecord],
        patches: Sequence[SessionPatch],
    ) -> list[RowFailure]:
        try:
            self._save(sessions, lifetimes, patches)
        except Exception as err:
            if fault_of(err) is not StorageFault.ROW:
                raise
            _LOGGER.warning("A batch of ev_sessions changes failed (%s); writing row by row", err)
        else:
            return []
        failures: list[tuple[RowFailure, Callable[[], object]]] = []
        now = datetime.now(UTC)
        for kind, key, write, data in _writers(sessions, lifetimes, patches):
            try:
                with self.engine.begin() as conn:
                    write(conn, now)
            except Exception as err:
                if fault_of(err) is not StorageFault.ROW:
                    raise
                error = f"{type(err).__name__}: {err}"
                failures.append((RowFailure(kind=kind, key=key, error=error), data))
            else:
                self.commits += 1
        for failure, data in failures:
            if quarantine(self.engine, failure, data, now):
                self.commits += 1
        return [failure for failure, _ in failures]

    async def async_quarantined(self) -> list[QuarantineRecord]:
        """The quarantined rows, newest first."""
        return await self._run(self._read, select_quarantined)

    # ------------------------------------------------------------------ reads

    async def async_load_open(self) -> list[Session]:
        """Sessions whose vehicle is still connected."""
        return await self._select(open_sessions())

    async def async_load_ended_since(self, since: datetime) -> list[Session]:
        """Sessions that ended at or after ``since`` (oldest first)."""
        return await self._select(ended_since(since))

    async def async_load_lifetimes(self) -> list[LifetimeRecord]:
        """Every charger's lifetime counter."""
        return await self._run(self._read, load_lifetimes)

    async def async_get(self, session_id: str) -> Session | None:
        """One session by id."""
        found = await self._select(with_id(session_id))
        return found[0] if found else None

    async def async_sessions(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        charger_id: str | None = None,
        member_id: str | None = None,
        limit: int | None = None,
    ) -> list[Session]:
        """Sessions that overlap ``[start, end)`` (open ones reach to now), newest first."""
        conds = overlapping(start, end, charger_id, member_id)
        return await self._select(conds, limit=limit, newest_first=True)

    async def _select(
        self, conds: list[Any], *, limit: int | None = None, newest_first: bool = False
    ) -> list[Session]:
        return await self._run(self._read, select_sessions, conds, limit, newest_first)

    async def async_slots(self, start: datetime, end: datetime) -> list[EnergySlot]:
        """Every stored slot (closed; open ones as last written) that starts in ``[start, end)``."""
        return await self._run(self._read, slot_rows.select_slots, start, end)

    async def async_session_sums(self) -> list[SessionSums]:
        """A few totals of every ended session with a member (no profiles, no slot rows)."""
        return await self._run(self._read, member_rows.session_sums)

    async def async_member_figures(self, member_ids: Sequence[str]) -> list[SessionFigures]:
        """The slots and cost of every ended session of these members (no profiles)."""
        return await self._run(self._read, member_rows.member_figures, member_ids)

    # ------------------------------------------------------------------ prices

    async def async_save_prices(
        self, intervals: Sequence[PriceInterval], *, replace: PriceReplace = PriceReplace.NEVER
    ) -> list[PriceInterval]:
        """Store price intervals; the ones stored (new, or replacing a stored price).

        An interval already stored for its source and start keeps its first price, unless
        ``replace`` says otherwise (:class:`PriceReplace`); a replacement is a new version, the
        old one stays readable as it was known (:meth:`async_prices` with ``known_at``).
        """
        if not intervals:
            return []
        return await self._run(self._write, price_rows.save_prices, intervals, replace)

    async def async_prices(
        self,
        *,
        start: datetime,
        end: datetime,
        source: str | None = None,
        known_at: datetime | None = None,
    ) -> list[PriceInterval]:
        """The stored intervals overlapping ``[start, end)`` as known at ``known_at``.

        Per source and start, the latest version fetched at or before ``known_at`` (the latest
        of all without it), sorted by source and start.
        """
        return await self._run(self._read, price_rows.select_prices, start, end, source, known_at)

    async def async_price_versions(self, start: datetime, end: datetime) -> list[PriceInterval]:
        """Every stored version of the intervals overlapping ``[start, end)`` (any source), in
        the order stored: what was known at any time can be picked from them."""
        return await self._run(self._read, cost_rows.price_versions, start, end)

    # ------------------------------------------------------------------ session costs

    async def async_save_cost(self, record: CostRecord) -> int:
        """Append a recorded session cost (``session_costs``); its row id."""
        return await self._run(self._write, cost_rows.insert_cost, record)

    async def async_costs(self, session_ids: Sequence[str]) -> dict[str, CostRecord]:
        """The cost in force (the last recorded) of each of the sessions that has one."""
        if not session_ids:
            return {}
        return await self._run(self._read, cost_rows.latest_costs, session_ids)

    async def async_cost_history(self, session_id: str) -> list[CostRecord]:
        """Every recorded cost of a session, oldest first."""
        found: dict[str, list[CostRecord]] = await self._run(
            self._read, cost_rows.cost_history, [session_id]
        )
        return found.get(session_id, [])

    async def async_charger_cost_totals(self) -> dict[tuple[str, str], Decimal]:
        """Per (charger, currency): the sum of the costs in force of its sessions."""
        return await self._run(self._read, cost_rows.charger_cost_totals)

    # ------------------------------------------------------------------ bills (schema 7)

    async def async_month_sessions(
        self, start: datetime, end: datetime
    ) -> tuple[list[BilledSession], dict[str, CostRecord]]:
        """Sessions ended in ``[start, end)`` and the cost in force of each that has one."""
        return await self._run(self._read, bill_rows.month_data, start, end)

    async def async_correction_state(
        self, late: tuple[datetime, datetime] | None = None
    ) -> bill_rows.CorrectionState:
        """What corrections are worked out from (:func:`.bill_rows.correction_state`), with
        the attributed sessions ended in ``late`` that are on no bill."""
        return await self._run(self._read, bill_rows.correction_state, late)

    async def async_first_billed_period(self) -> Month | None:
        """The earliest month with an issued bill."""
        return await self._run(self._read, bill_rows.first_billed_period)

    async def async_last_billed_period(self) -> Month | None:
        """The latest month with an issued bill."""
        return await self._run(self._read, bill_rows.last_billed_period)

    async def async_sessions_on_bills(self, session_ids: Sequence[str]) -> set[str]:
        """The sessions among ``session_ids`` on some bill (a line or a correction)."""
        if not session_ids:
            return set()
        return await self._run(self._read, bill_rows.sessions_on_bills, session_ids)

    async def async_issue_bills(
        self, bills: Sequence[Bill], issued_at: datetime, year: int
    ) -> list[Bill]:
        """Number previews (the next numbers of ``year``) and store them as issued, in one
        transaction; the issued bills."""
        return await self._run(self._write, bill_rows.insert_bills, bills, issued_at, year)

    async def async_bills(
        self,
        *,
        member_id: str | None = None,
        period: Month | None = None,
        year: int | None = None,
        number: str | None = None,
        unpaid: bool = False,
        limit: int | None = None,
    ) -> list[Bill]:
        """Issued bills, newest first."""
        return await self._run(
            self._read,
            functools.partial(
                bill_rows.select_bills,
                member_id=member_id,
                period=period,
                year=year,
                number=number,
                unpaid=unpaid,
                limit=limit,
            ),
        )

    async def async_billed_members(self, period: Month) -> set[str]:
        """Members with an issued bill for ``period``."""
        return await self._run(self._read, bill_rows.billed_members, period)

    async def async_set_bill_paid(self, number: str, paid_at: datetime | None) -> Bill | None:
        """Mark a bill paid at ``paid_at`` (``None``: unpaid); the bill, if it exists."""
        return await self._run(self._write, bill_rows.set_paid, number, paid_at)

    async def async_unpaid_totals(self) -> dict[tuple[str, str], Decimal]:
        """Per (member, currency): the total of the unpaid bills."""
        return await self._run(self._read, bill_rows.unpaid_totals)

    async def async_bills_issued_between(self, start: datetime, end: datetime) -> int:
        """How many bills were issued in ``[start, end)``."""
        return await self._run(self._read, bill_rows.issued_between, start, end)

    async def async_corrections_of_sessions_in(self, period: Month) -> Decimal:
        """The sum of the corrections, on any bill, of sessions that ended in ``period``."""
        return await self._run(self._read, bill_rows.corrections_of_sessions_in, period)

    async def async_correction_sums_of_sessions_in(self, period: Month) -> tuple[int, Decimal]:
        """The energy and total of the corrections, on any bill, of sessions ended in
        ``period``."""
        return await self._run(self._read, bill_rows.correction_sums_of_sessions_in, period)

    # ------------------------------------------------------------------ audit log

    async def async_save_audit(self, entries: Sequence[AuditEntry]) -> list[RowFailure]:
        """Append audit rows in one transaction; a row the database refuses does not stop the
        others (like :meth:`async_save_rows`: written one by one, the refused ones quarantined
        and returned). :class:`StorageError` when the database itself refuses writes."""
        if not entries:
            return []
        return await self._run(self._save_audit_rows, entries)

    def _save_audit_rows(self, entries: Sequence[AuditEntry]) -> list[RowFailure]:
        try:
            self._write(audit_rows.insert_entries, entries)
        except Exception as err:
            if fault_of(err) is not StorageFault.ROW:
                raise
            _LOGGER.warning("A batch of ev_sessions audit rows failed (%s); row by row", err)
        else:
            return []
        failures: list[RowFailure] = []
        now = datetime.now(UTC)
        for entry in entries:
            try:
                self._write(audit_rows.insert_entries, [entry])
            except Exception as err:
                if fault_of(err) is not StorageFault.ROW:
                    raise
                key = f"{entry.at.isoformat()} {entry.charger_id}"
                failure = RowFailure(kind="audit", key=key, error=f"{type(err).__name__}: {err}")
                failures.append(failure)
                if quarantine(self.engine, failure, functools.partial(asdict, entry), now):
                    self.commits += 1
        return failures

    async def async_query_audit(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        charger_id: str | None = None,
        member_id: str | None = None,
        session_id: str | None = None,
        source: AuditSource | None = None,
        limit: int | None = 100,
    ) -> list[AuditEntry]:
        """Audit rows with ``start <= at < end``, newest first.

        ``member_id`` matches ``member_id`` or ``previous_member_id`` (both sides of a
        re-attribution).
        """
        stmt = audit_rows.audit_query(
            start=start,
            end=end,
            charger_id=charger_id,
            member_id=member_id,
            session_id=session_id,
            source=source,
            limit=limit,
        )
        return await self._run(self._read, audit_rows.select_entries, stmt)

    async def async_purge_audit(self, before: datetime) -> int:
        """Delete audit rows older than ``before``; the number deleted."""
        return await self._run(self._write, audit_rows.purge_entries, before)

    # ------------------------------------------------------------------ local lists

    async def async_load_local_lists(self) -> list[LocalListRecord]:
        """Every charger's last confirmed local authorization list."""
        return await self._run(self._read, local_list_rows.load_local_lists)

    async def async_save_local_list(self, record: LocalListRecord) -> None:
        """Store (insert or replace) a charger's confirmed local list."""
        await self._run(self._write, local_list_rows.save_local_list, record)

    async def async_delete_local_list(self, charger_id: str) -> None:
        """Forget a removed charger's local list."""
        await self._run(self._write, local_list_rows.delete_local_list, charger_id)


# --------------------------------------------------------------------------- helpers


def database_engine(url: str, *, echo: bool) -> Engine:
    """An engine for the URL: SQLite in WAL mode; a server's connections checked before use
    (a restarted server or a dropped connection is reconnected, not an error)."""
    parsed = parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(parsed, echo=echo)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # MySQL and MariaDB close idle connections after wait_timeout (8 h by default).
    return create_engine(parsed, echo=echo, pool_pre_ping=True, pool_recycle=3600)


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """WAL journal: readers do not block the writer; NORMAL sync is safe with WAL."""
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _session_writes(sessions: Sequence[Session | SessionWrite]) -> list[SessionWrite]:
    """Sessions as writes (a :class:`Session`: what is new since its marks)."""
    return [s if isinstance(s, SessionWrite) else SessionWrite.of(s) for s in sessions]


def _session_data(write: SessionWrite) -> dict[str, Any]:
    """A refused session write as JSON-friendly values (the row, the new points and slots)."""
    data = asdict(write.session)
    data.update(
        profile=[asdict(p) for p in write.points],
        slots=[asdict(s) for s in write.slots],
        open_slot=None if write.open_slot is None else asdict(write.open_slot),
    )
    return data


def _touch_schema_version(conn: Connection) -> None:
    """A write that changes nothing."""
    conn.execute(update(schema_version).values(version=schema_version.c.version))


def _writers(
    sessions: Sequence[Session | SessionWrite],
    lifetimes: Sequence[LifetimeRecord],
    patches: Sequence[SessionPatch],
) -> list[tuple[str, str, _RowWriter, Callable[[], object]]]:
    """One writer per row: (kind, key, write(conn, now), its data as JSON-friendly values)."""
    return [
        *(
            (
                "session",
                w.session.id,
                functools.partial(write_session, w),
                functools.partial(_session_data, w),
            )
            for w in _session_writes(sessions)
        ),
        *(
            (
                "lifetime",
                r.charger_id,
                functools.partial(write_lifetime, r),
                functools.partial(asdict, r),
            )
            for r in lifetimes
        ),
        *(
            (
                "patch",
                p.session_id,
                functools.partial(write_patch, p),
                functools.partial(asdict, p),
            )
            for p in patches
        ),
    ]
