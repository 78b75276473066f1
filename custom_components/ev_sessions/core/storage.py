"""Session storage in a real database (SQLAlchemy 2.0 Core).

SQLite by default (``sqlite:///<path>``); any SQLAlchemy URL (PostgreSQL, MySQL) works the same,
only the URL changes. Every database call runs on one dedicated worker thread so the event loop
never blocks, and the engine hands over batches: :meth:`SessionStore.async_save` is one
transaction (one commit) for any number of sessions and counters.

A storage error is confined to the row that caused it: when a batch fails because of a row's data
(not because the database refuses writes), :meth:`SessionStore.async_save_rows` writes the rows one
by one, and the rows the database refuses are **quarantined**: their data is kept as JSON in the
``quarantine`` table (or logged in full when even that fails) and returned to the caller. Every
error leaves this module as a :class:`StorageError` whose :attr:`~StorageError.fault` says what
kind of fault it is (read-only, full, unavailable database, or a row's data).

Schema versions are tracked in the ``schema_version`` table and upgraded step by step by the
functions in :data:`MIGRATIONS`. Times are stored as naive UTC, money as a decimal string, the
power profile in the compact form of :mod:`.power_profile`.

Schema history:

1. ``sessions``, ``lifetime_energy``;
2. ``sessions.anomalies``;
3. ``auth_audit`` (authorization decisions and session re-attributions, see :mod:`.audit`) and
   ``local_auth_lists`` (per-charger local authorization list version and entries, see
   :class:`~.local_lists.LocalListState`);
4. ``quarantine`` (rows the database refused, as JSON).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
import functools
import json
import logging
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    DateTime,
    Dialect,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    Row,
    String,
    Table,
    Text,
    create_engine,
    delete,
    event,
    insert,
    inspect,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import (
    DataError,
    DBAPIError,
    DisconnectionError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    SQLAlchemyError,
    StatementError,
)
from sqlalchemy.types import TypeDecorator

from custom_components.ev_sessions.chargers.events import AuthorizationStatus

from .audit import AuditEntry, AuditSource
from .local_lists import LocalListRecord, entries_from_json, entries_hash, entries_to_json
from .model import (
    Anomaly,
    AnomalyKind,
    ChargeTracking,
    Session,
    SpeedClass,
    as_utc,
    from_iso,
    to_iso,
)
from .power_profile import pack_profile, unpack_profile

_LOGGER = logging.getLogger(__name__)

#: The schema this code writes.
SCHEMA_VERSION = 4


class StorageFault(StrEnum):
    """What kind of storage fault an error is."""

    READ_ONLY = "read_only"  # the database (file, directory, server) refuses writes
    FULL = "full"  # no space left
    UNAVAILABLE = "unavailable"  # cannot be opened or reached, or I/O errors
    ROW = "row"  # the database works but refuses this row's data
    OTHER = "other"


class StorageError(Exception):
    """The database could not be opened, migrated, read or written."""

    def __init__(self, message: str, *, fault: StorageFault = StorageFault.OTHER) -> None:
        """An error of the given kind (``fault``)."""
        super().__init__(message)
        self.fault = fault


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes stored as naive UTC (portable across databases)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Store as naive UTC."""
        return None if value is None else as_utc(value).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        """Read back as aware UTC."""
        return None if value is None else as_utc(value)


metadata = MetaData()

schema_version = Table(
    "schema_version",
    metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
)

sessions_table = Table(
    "sessions",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("charger_id", String(255), nullable=False),
    Column("connector_id", Integer, nullable=False),
    Column("transaction_id", String(64)),
    Column("member_id", String(255)),
    Column("id_tag", String(64)),
    Column("plugged_in_at", UTCDateTime, nullable=False),
    Column("unplugged_at", UTCDateTime),
    Column("charging_started_at", UTCDateTime),
    Column("charging_finished_at", UTCDateTime),
    Column("transaction_ended_at", UTCDateTime),
    Column("meter_start_wh", BigInteger),
    Column("meter_stop_wh", BigInteger),
    Column("energy_wh", BigInteger, nullable=False),
    Column("max_power_w", Float),
    Column("charging_duration_s", Float, nullable=False),
    Column("speed_class", String(16)),
    Column("stop_reason", String(64)),
    Column("cost", String(40)),
    Column("tariff", String(255)),
    Column("profile", Text),
    Column("tracking", Text),
    Column("is_open", Boolean, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("anomalies", Text),  # added in schema 2
    Index("ix_sessions_charger_plugged", "charger_id", "plugged_in_at"),
    Index("ix_sessions_plugged", "plugged_in_at"),
    Index("ix_sessions_member", "member_id"),
    Index("ix_sessions_open", "is_open"),
)

lifetime_table = Table(
    "lifetime_energy",
    metadata,
    Column("charger_id", String(255), primary_key=True),
    Column("total_wh", BigInteger, nullable=False),
    Column("state", Text),
    Column("updated_at", UTCDateTime, nullable=False),
)


audit_table = Table(
    "auth_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("source", String(32), nullable=False),
    Column("charger_id", String(255)),
    Column("connector_id", Integer),
    Column("id_tag", String(64)),
    Column("member_id", String(255)),
    Column("status", String(16)),
    Column("reason", String(32)),
    Column("guest", Boolean, nullable=False),
    Column("session_id", String(36)),
    Column("previous_member_id", String(255)),
    Column("user_id", String(255)),
    Index("ix_auth_audit_at", "at"),
    Index("ix_auth_audit_charger_at", "charger_id", "at"),
    Index("ix_auth_audit_member_at", "member_id", "at"),
    Index("ix_auth_audit_session", "session_id"),
)

local_list_table = Table(
    "local_auth_lists",
    metadata,
    Column("charger_id", String(255), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("entries", Text, nullable=False),
    Column("entries_hash", String(16), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)


def _migrate_1_to_2(conn: Connection) -> None:
    """Schema 2 records the anomalies of each session."""
    conn.execute(text("ALTER TABLE sessions ADD COLUMN anomalies TEXT"))


quarantine_table = Table(
    "quarantine",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("key", String(255), primary_key=True),
    Column("first_at", UTCDateTime, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("error", Text, nullable=False),
    Column("data", Text, nullable=False),
)


def _migrate_2_to_3(conn: Connection) -> None:
    """Schema 3 adds the authorization audit log and the local authorization list versions.

    The tables are created from their current definitions: a later migration that changes them
    must cope with tables created here in either shape.
    """
    audit_table.create(conn, checkfirst=True)
    local_list_table.create(conn, checkfirst=True)


def _migrate_3_to_4(conn: Connection) -> None:
    """Schema 4 keeps the rows the database refused (quarantine), as JSON."""
    quarantine_table.create(conn, checkfirst=True)


#: ``MIGRATIONS[n]`` upgrades schema ``n`` to ``n + 1``.
MIGRATIONS: dict[int, Callable[[Connection], None]] = {
    1: _migrate_1_to_2,
    2: _migrate_2_to_3,
    3: _migrate_3_to_4,
}


@dataclass(slots=True, kw_only=True)
class LifetimeRecord:
    """Stored state of a charger's lifetime counter."""

    charger_id: str
    total_wh: int
    state: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True, kw_only=True)
class SessionPatch:
    """Fields to change on a stored session (attribution, cost)."""

    session_id: str
    values: dict[str, Any]
    only_unpriced: bool = False  # apply only if the session has no cost yet


@dataclass(frozen=True, slots=True, kw_only=True)
class RowFailure:
    """A row the database refused because of its data (``kind`` session, lifetime or patch)."""

    kind: str
    key: str
    error: str


@dataclass(frozen=True, slots=True, kw_only=True)
class QuarantineRecord:
    """A stored quarantine row: the latest refused data of one session, counter or patch."""

    kind: str
    key: str
    first_at: datetime
    at: datetime
    attempts: int
    error: str
    data: str


type _RowWriter = Callable[[Connection, datetime], None]


class SessionStore:
    """The session database. Create, :meth:`async_open`, use, :meth:`async_close`."""

    def __init__(self, url: str, *, echo: bool = False) -> None:
        """Remember the URL; nothing is opened yet."""
        self.url = url
        self._echo = echo
        self._engine: Engine | None = None
        self._executor: ThreadPoolExecutor | None = None
        #: Number of committed write transactions (for tests and diagnostics).
        self.commits = 0

    # ------------------------------------------------------------------ plumbing

    async def _run[T](self, fn: Callable[..., T], *args: Any) -> T:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="ev_sessions_db")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(_guard, fn, *args))

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (only valid after :meth:`async_open`)."""
        if self._engine is None:
            raise StorageError("store is not open")
        return self._engine

    async def async_open(self) -> None:
        """Connect and bring the schema to :data:`SCHEMA_VERSION` (idempotent)."""
        if self._engine is None:
            await self._run(self._open)

    def _open(self) -> None:
        engine = create_engine(self.url, echo=self._echo)
        if engine.dialect.name == "sqlite":
            event.listen(engine, "connect", _sqlite_pragmas)
        try:
            with engine.begin() as conn:
                _migrate(conn)
        except Exception:
            engine.dispose()
            raise
        self._engine = engine

    async def async_close(self) -> None:
        """Release the connections and the worker thread (idempotent)."""
        if self._executor is None:
            return
        if self._engine is not None:
            await self._run(self.engine.dispose)
            self._engine = None
        executor, self._executor = self._executor, None
        executor.shutdown(wait=True)

    async def async_schema_version(self) -> int:
        """The schema version of the open database."""
        return await self._run(self._schema_version)

    def _schema_version(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(schema_version.c.version)).scalar_one())

    async def async_check_writable(self) -> None:
        """Commit a write that changes nothing; :class:`StorageError` if the database refuses.

        Finds a read-only file or directory, a full disk and an unreachable server at setup
        instead of at the first session.
        """
        await self._run(self._check_writable)

    def _check_writable(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(schema_version).values(version=schema_version.c.version))
        self.commits += 1

    # ------------------------------------------------------------------ writes

    async def async_save(
        self,
        sessions: Sequence[Session] = (),
        lifetimes: Sequence[LifetimeRecord] = (),
        patches: Sequence[SessionPatch] = (),
    ) -> None:
        """Write sessions (insert or update), counters and patches in one transaction."""
        if sessions or lifetimes or patches:
            await self._run(self._save, sessions, lifetimes, patches)

    async def async_save_rows(
        self,
        sessions: Sequence[Session] = (),
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
        sessions: Sequence[Session],
        lifetimes: Sequence[LifetimeRecord],
        patches: Sequence[SessionPatch],
    ) -> None:
        now = datetime.now(UTC)
        with self.engine.begin() as conn:
            for _kind, _key, write, _data in _writers(sessions, lifetimes, patches):
                write(conn, now)
        self.commits += 1

    def _save_rows(
        self,
        sessions: Sequence[Session],
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
            self._quarantine(failure, data, now)
        return [failure for failure, _ in failures]

    def _quarantine(self, failure: RowFailure, data: Callable[[], object], now: datetime) -> None:
        """Keep a refused row's data: in the quarantine table, else in the log (in full)."""
        try:
            text_ = json.dumps(data(), default=str, separators=(",", ":"))
        except Exception as err:  # noqa: BLE001  (anything: the data is logged instead)
            text_ = f"unserializable ({err}): {data()!r}"
        _LOGGER.error(
            "ev_sessions could not store %s %s (%s); it is quarantined until it changes",
            failure.kind,
            failure.key,
            failure.error,
        )
        key = failure.key[:255]
        try:
            with self.engine.begin() as conn:
                result = conn.execute(
                    update(quarantine_table)
                    .where(quarantine_table.c.kind == failure.kind, quarantine_table.c.key == key)
                    .values(
                        at=now,
                        attempts=quarantine_table.c.attempts + 1,
                        error=failure.error,
                        data=text_,
                    )
                )
                if result.rowcount == 0:
                    conn.execute(
                        insert(quarantine_table).values(
                            kind=failure.kind,
                            key=key,
                            first_at=now,
                            at=now,
                            attempts=1,
                            error=failure.error,
                            data=text_,
                        )
                    )
        except Exception:
            _LOGGER.exception(
                "Could not quarantine %s %s either; its data: %s", failure.kind, key, text_
            )
        else:
            self.commits += 1

    async def async_quarantined(self) -> list[QuarantineRecord]:
        """The quarantined rows, newest first."""
        return await self._run(self._select_quarantine)

    def _select_quarantine(self) -> list[QuarantineRecord]:
        stmt = select(quarantine_table).order_by(quarantine_table.c.at.desc())
        with self.engine.connect() as conn:
            return [
                QuarantineRecord(
                    kind=row.kind,
                    key=row.key,
                    first_at=row.first_at,
                    at=row.at,
                    attempts=int(row.attempts),
                    error=row.error,
                    data=row.data,
                )
                for row in conn.execute(stmt)
            ]

    # ------------------------------------------------------------------ reads

    async def async_load_open(self) -> list[Session]:
        """Sessions whose vehicle is still connected."""
        return await self._run(self._select, sessions_table.c.is_open.is_(True), None, False)

    async def async_load_ended_since(self, since: datetime) -> list[Session]:
        """Sessions that ended at or after ``since`` (oldest first)."""
        cond = sessions_table.c.unplugged_at >= since
        return await self._run(self._select, cond, None, False)

    async def async_load_lifetimes(self) -> list[LifetimeRecord]:
        """Every charger's lifetime counter."""
        return await self._run(self._load_lifetimes)

    def _load_lifetimes(self) -> list[LifetimeRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(lifetime_table)).all()
        return [
            LifetimeRecord(
                charger_id=row.charger_id,
                total_wh=int(row.total_wh),
                state=json.loads(row.state) if row.state else {},
            )
            for row in rows
        ]

    async def async_get(self, session_id: str) -> Session | None:
        """One session by id."""
        found = await self._run(self._select, sessions_table.c.id == session_id, None, False)
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
        conds: list[Any] = []
        if start is not None:
            unplugged = sessions_table.c.unplugged_at
            conds.append(or_(unplugged.is_(None), unplugged > start))
        if end is not None:
            conds.append(sessions_table.c.plugged_in_at < end)
        if charger_id is not None:
            conds.append(sessions_table.c.charger_id == charger_id)
        if member_id is not None:
            conds.append(sessions_table.c.member_id == member_id)
        return await self._run(self._select_many, conds, limit)

    def _select_many(self, conds: list[Any], limit: int | None) -> list[Session]:
        stmt = select(sessions_table).where(*conds)
        stmt = stmt.order_by(sessions_table.c.plugged_in_at.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [_row_session(row) for row in conn.execute(stmt)]

    def _select(self, cond: Any, limit: int | None, newest_first: bool) -> list[Session]:
        order = sessions_table.c.plugged_in_at
        stmt = select(sessions_table).where(cond)
        stmt = stmt.order_by(order.desc() if newest_first else order).limit(limit)
        with self.engine.connect() as conn:
            return [_row_session(row) for row in conn.execute(stmt)]

    # ------------------------------------------------------------------ audit log

    async def async_save_audit(self, entries: Sequence[AuditEntry]) -> None:
        """Append audit rows in one transaction."""
        if entries:
            await self._run(self._save_audit, entries)

    def _save_audit(self, entries: Sequence[AuditEntry]) -> None:
        rows = [_audit_row(entry) for entry in entries]
        with self.engine.begin() as conn:
            conn.execute(insert(audit_table), rows)
        self.commits += 1

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
        c = audit_table.c
        conds: list[Any] = []
        if start is not None:
            conds.append(c.at >= start)
        if end is not None:
            conds.append(c.at < end)
        if charger_id is not None:
            conds.append(c.charger_id == charger_id)
        if member_id is not None:
            conds.append((c.member_id == member_id) | (c.previous_member_id == member_id))
        if session_id is not None:
            conds.append(c.session_id == session_id)
        if source is not None:
            conds.append(c.source == str(source))
        stmt = select(audit_table).where(*conds).order_by(c.at.desc(), c.id.desc()).limit(limit)
        return await self._run(self._select_audit, stmt)

    def _select_audit(self, stmt: Any) -> list[AuditEntry]:
        with self.engine.connect() as conn:
            return [_row_audit(row) for row in conn.execute(stmt)]

    async def async_purge_audit(self, before: datetime) -> int:
        """Delete audit rows older than ``before``; the number deleted."""
        return await self._run(self._purge_audit, before)

    def _purge_audit(self, before: datetime) -> int:
        with self.engine.begin() as conn:
            result = conn.execute(delete(audit_table).where(audit_table.c.at < before))
        self.commits += 1
        return int(result.rowcount)

    # ------------------------------------------------------------------ local lists

    async def async_load_local_lists(self) -> list[LocalListRecord]:
        """Every charger's last confirmed local authorization list."""
        return await self._run(self._load_local_lists)

    def _load_local_lists(self) -> list[LocalListRecord]:
        with self.engine.connect() as conn:
            rows = conn.execute(select(local_list_table)).all()
        return [
            LocalListRecord(
                charger_id=row.charger_id,
                version=int(row.version),
                entries=entries_from_json(row.entries),
            )
            for row in rows
        ]

    async def async_save_local_list(self, record: LocalListRecord) -> None:
        """Store (insert or replace) a charger's confirmed local list."""
        await self._run(self._save_local_list, record)

    def _save_local_list(self, record: LocalListRecord) -> None:
        row = {
            "version": record.version,
            "entries": entries_to_json(record.entries),
            "entries_hash": entries_hash(record.entries),
            "updated_at": datetime.now(UTC),
        }
        with self.engine.begin() as conn:
            result = conn.execute(
                update(local_list_table)
                .where(local_list_table.c.charger_id == record.charger_id)
                .values(row)
            )
            if result.rowcount == 0:
                conn.execute(insert(local_list_table).values(charger_id=record.charger_id, **row))
        self.commits += 1

    async def async_delete_local_list(self, charger_id: str) -> None:
        """Forget a removed charger's local list."""
        await self._run(self._delete_local_list, charger_id)

    def _delete_local_list(self, charger_id: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                delete(local_list_table).where(local_list_table.c.charger_id == charger_id)
            )
        self.commits += 1


# --------------------------------------------------------------------------- helpers


def _guard[T](fn: Callable[..., T], *args: Any) -> T:
    """Run a database call; every error leaves as a :class:`StorageError` with its fault."""
    try:
        return fn(*args)
    except StorageError:
        raise
    except Exception as err:
        raise StorageError(f"{type(err).__name__}: {err}", fault=fault_of(err)) from err


#: SQLite primary result codes and the fault each means.
_SQLITE_FAULTS = {
    3: StorageFault.READ_ONLY,  # SQLITE_PERM
    8: StorageFault.READ_ONLY,  # SQLITE_READONLY
    23: StorageFault.READ_ONLY,  # SQLITE_AUTH
    13: StorageFault.FULL,  # SQLITE_FULL
    10: StorageFault.UNAVAILABLE,  # SQLITE_IOERR
    11: StorageFault.UNAVAILABLE,  # SQLITE_CORRUPT
    14: StorageFault.UNAVAILABLE,  # SQLITE_CANTOPEN
    26: StorageFault.UNAVAILABLE,  # SQLITE_NOTADB
    5: StorageFault.UNAVAILABLE,  # SQLITE_BUSY
    6: StorageFault.UNAVAILABLE,  # SQLITE_LOCKED
}


def fault_of(err: BaseException) -> StorageFault:
    """What kind of fault an exception raised by a database call is.

    ``ROW`` (the row's data: a value the driver cannot bind or the database refuses, a
    constraint) is told apart from faults of the database itself, after which no row can be
    written (read-only, full, unreachable, a broken schema).
    """
    if isinstance(err, StorageError):
        return err.fault
    orig = err.orig if isinstance(err, DBAPIError) else err
    code = getattr(orig, "sqlite_errorcode", None)
    if isinstance(code, int) and (code & 0xFF) in _SQLITE_FAULTS:
        return _SQLITE_FAULTS[code & 0xFF]
    message = str(err).lower()
    if "read-only" in message or "readonly" in message:
        return StorageFault.READ_ONLY
    if "disk is full" in message or "no space left" in message or "disk full" in message:
        return StorageFault.FULL
    if isinstance(err, (IntegrityError, DataError)) or "binding parameter" in message:
        return StorageFault.ROW
    if isinstance(err, (OperationalError, InterfaceError, DisconnectionError)) or (
        isinstance(err, DBAPIError) and err.connection_invalidated
    ):
        return StorageFault.UNAVAILABLE
    if isinstance(err, DBAPIError):
        return StorageFault.OTHER  # e.g. a missing table: the database, not the row
    if isinstance(err, (StatementError, ValueError, TypeError, ArithmeticError)):
        return StorageFault.ROW  # a value that cannot be bound or encoded (NaN, 1e30, ...)
    if isinstance(err, (OSError, SQLAlchemyError)):
        return StorageFault.UNAVAILABLE
    return StorageFault.OTHER


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    """WAL journal: readers do not block the writer; NORMAL sync is safe with WAL."""
    cursor = dbapi_conn.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def _migrate(conn: Connection) -> None:
    """Create a new database at the current schema, or upgrade an older one step by step."""
    tables = set(inspect(conn).get_table_names())
    if "schema_version" not in tables:
        if "sessions" in tables:
            raise StorageError("database has sessions but no schema_version table")
        metadata.create_all(conn)
        conn.execute(insert(schema_version).values(version=SCHEMA_VERSION))
        return
    version = int(conn.execute(select(schema_version.c.version)).scalar_one())
    if version > SCHEMA_VERSION:
        raise StorageError(f"database schema {version} is newer than supported {SCHEMA_VERSION}")
    while version < SCHEMA_VERSION:
        _LOGGER.info("Migrating ev_sessions database schema %s -> %s", version, version + 1)
        MIGRATIONS[version](conn)
        version += 1
        conn.execute(update(schema_version).values(version=version))


def _writers(
    sessions: Sequence[Session],
    lifetimes: Sequence[LifetimeRecord],
    patches: Sequence[SessionPatch],
) -> list[tuple[str, str, _RowWriter, Callable[[], object]]]:
    """One writer per row: (kind, key, write(conn, now), its data as JSON-friendly values)."""
    return [
        *(
            ("session", s.id, functools.partial(_write_session, s), functools.partial(asdict, s))
            for s in sessions
        ),
        *(
            (
                "lifetime",
                r.charger_id,
                functools.partial(_write_lifetime, r),
                functools.partial(asdict, r),
            )
            for r in lifetimes
        ),
        *(
            (
                "patch",
                p.session_id,
                functools.partial(_write_patch, p),
                functools.partial(asdict, p),
            )
            for p in patches
        ),
    ]


def _write_session(session: Session, conn: Connection, now: datetime) -> None:
    row = _session_row(session, now)
    result = conn.execute(
        update(sessions_table).where(sessions_table.c.id == session.id).values(row)
    )
    if result.rowcount == 0:
        conn.execute(insert(sessions_table).values(id=session.id, **row))


def _write_lifetime(record: LifetimeRecord, conn: Connection, now: datetime) -> None:
    row = {
        "total_wh": record.total_wh,
        "state": json.dumps(record.state, separators=(",", ":")),
        "updated_at": now,
    }
    result = conn.execute(
        update(lifetime_table).where(lifetime_table.c.charger_id == record.charger_id).values(row)
    )
    if result.rowcount == 0:
        conn.execute(insert(lifetime_table).values(charger_id=record.charger_id, **row))


def _write_patch(patch: SessionPatch, conn: Connection, now: datetime) -> None:
    values = dict(patch.values)
    if "cost" in values and values["cost"] is not None:
        values["cost"] = str(values["cost"])
    stmt = update(sessions_table).where(sessions_table.c.id == patch.session_id)
    if patch.only_unpriced:
        stmt = stmt.where(sessions_table.c.cost.is_(None))
    conn.execute(stmt.values(updated_at=now, **values))


def _session_row(session: Session, now: datetime) -> dict[str, Any]:
    open_ = session.is_open
    return {
        "charger_id": session.charger_id,
        "connector_id": session.connector_id,
        "transaction_id": session.transaction_id,
        "member_id": session.member_id,
        "id_tag": session.id_tag,
        "plugged_in_at": session.plugged_in_at,
        "unplugged_at": session.unplugged_at,
        "charging_started_at": session.charging_started_at,
        "charging_finished_at": session.charging_finished_at,
        "transaction_ended_at": session.transaction_ended_at,
        "meter_start_wh": session.meter_start_wh,
        "meter_stop_wh": session.meter_stop_wh,
        "energy_wh": session.energy_wh,
        "max_power_w": session.max_power_w,
        "charging_duration_s": session.charging_duration_s,
        "speed_class": None if session.speed_class is None else str(session.speed_class),
        "stop_reason": session.stop_reason,
        "cost": None if session.cost is None else str(session.cost),
        "tariff": session.tariff,
        "profile": pack_profile(session.profile) or None,
        "anomalies": _pack_anomalies(session.anomalies),
        "tracking": _pack_tracking(session.tracking) if open_ else None,
        "is_open": open_,
        "updated_at": now,
    }


def _row_session(row: Row[Any]) -> Session:
    return Session(
        id=row.id,
        charger_id=row.charger_id,
        connector_id=int(row.connector_id),
        transaction_id=row.transaction_id,
        member_id=row.member_id,
        id_tag=row.id_tag,
        plugged_in_at=row.plugged_in_at,
        unplugged_at=row.unplugged_at,
        charging_started_at=row.charging_started_at,
        charging_finished_at=row.charging_finished_at,
        transaction_ended_at=row.transaction_ended_at,
        meter_start_wh=row.meter_start_wh,
        meter_stop_wh=row.meter_stop_wh,
        energy_wh=int(row.energy_wh),
        max_power_w=row.max_power_w,
        charging_duration_s=float(row.charging_duration_s),
        speed_class=None if row.speed_class is None else SpeedClass(row.speed_class),
        stop_reason=row.stop_reason,
        cost=None if row.cost is None else Decimal(row.cost),
        tariff=row.tariff,
        profile=unpack_profile(row.profile),
        anomalies=_unpack_anomalies(row.anomalies),
        tracking=_unpack_tracking(row.tracking),
    )


def _audit_row(entry: AuditEntry) -> dict[str, Any]:
    return {
        "at": entry.at,
        "source": str(entry.source),
        "charger_id": entry.charger_id,
        "connector_id": entry.connector_id,
        "id_tag": None if entry.id_tag is None else entry.id_tag[:64],  # column size
        "member_id": entry.member_id,
        "status": None if entry.status is None else str(entry.status),
        "reason": entry.reason,
        "guest": entry.guest,
        "session_id": entry.session_id,
        "previous_member_id": entry.previous_member_id,
        "user_id": entry.user_id,
    }


def _row_audit(row: Row[Any]) -> AuditEntry:
    return AuditEntry(
        id=int(row.id),
        at=row.at,
        source=AuditSource(row.source),
        charger_id=row.charger_id,
        connector_id=row.connector_id,
        id_tag=row.id_tag,
        member_id=row.member_id,
        status=None if row.status is None else AuthorizationStatus(row.status),
        reason=row.reason,
        guest=bool(row.guest),
        session_id=row.session_id,
        previous_member_id=row.previous_member_id,
        user_id=row.user_id,
    )


def _pack_anomalies(anomalies: list[Anomaly]) -> str | None:
    if not anomalies:
        return None
    return json.dumps(
        [
            {"kind": str(a.kind), "at": a.at.isoformat(), "detail": a.detail, "count": a.count}
            for a in anomalies
        ],
        separators=(",", ":"),
    )


def _unpack_anomalies(text_: str | None) -> list[Anomaly]:
    if not text_:
        return []
    return [
        Anomaly(
            kind=AnomalyKind(item["kind"]),
            at=datetime.fromisoformat(item["at"]),
            detail=item.get("detail", ""),
            count=int(item.get("count", 1)),
        )
        for item in json.loads(text_)
    ]


def _pack_tracking(tracking: ChargeTracking) -> str:
    return json.dumps(
        {
            "charging": tracking.charging,
            "stopped_since": to_iso(tracking.stopped_since),
            "last_event_at": to_iso(tracking.last_event_at),
            "soc_start_pct": tracking.soc_start_pct,
            "soc_start_energy_wh": tracking.soc_start_energy_wh,
        },
        separators=(",", ":"),
    )


def _unpack_tracking(text_: str | None) -> ChargeTracking:
    if not text_:
        return ChargeTracking()
    data = json.loads(text_)
    return ChargeTracking(
        charging=bool(data.get("charging")),
        stopped_since=from_iso(data.get("stopped_since")),
        last_event_at=from_iso(data.get("last_event_at")),
        soc_start_pct=data.get("soc_start_pct"),
        soc_start_energy_wh=data.get("soc_start_energy_wh"),
    )
