"""The database schema: every table, the schema version this code writes, and UTC times.

Times are stored as naive UTC (:class:`UTCDateTime`), money as a decimal string, the power
profile in the compact form of :mod:`..power_profile`. Older schemas are upgraded by
:mod:`.migrations`.

What grows while a session charges is appended, never rewritten: the power profile in
``profile_chunks`` (one row per flush with the points that flush added; the session row keeps
only the last point, which compaction may still replace; once the session has ended its chunks
are merged into one row) and the energy slots in ``energy_slots`` (a row per quarter-hour,
written as it closes; the open slot's row is updated until it closes). A flush therefore writes
in proportion to what is new, not to how long the sessions have been charging.

Schema history:

1. ``sessions``, ``lifetime_energy``;
2. ``sessions.anomalies``;
3. ``auth_audit`` (authorization decisions and session re-attributions, see :mod:`..audit`) and
   ``local_auth_lists`` (per-charger local authorization list version and entries, see
   :class:`~..local_lists.LocalListState`);
4. ``quarantine`` (rows the database refused, as JSON);
5. ``energy_slots`` (the Wh of each session per UTC quarter-hour), ``profile_chunks`` (the
   power profile, appended per flush; ``sessions.profile`` keeps only the last point) and
   ``prices`` (price intervals as they were known, every version kept);
6. ``session_costs`` (every recorded cost of a session with its reason, append-only; the
   session row's ``cost``/``tariff`` carry the one in force) and ``auth_audit.detail``;
7. ``bills`` (issued monthly bills with the exact lines they showed, immutable but for the paid
   status), ``bill_items`` (each line and correction of a bill, per session and member, for
   corrections and revenue), ``bill_counters`` (the last bill number per year) and the index
   ``ix_sessions_unplugged`` (a session is billed in the month it ended).

On MariaDB / MySQL the same types are declared in that server's words (:func:`_on_mysql`):
times with microseconds, doubles, long texts, and text keys compared byte for byte (as SQLite
and PostgreSQL compare them), so that ``cp1`` and ``CP1`` stay two chargers.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    MetaData,
    Table,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.types import String as _String, Text as _Text, TypeDecorator, TypeEngine

from custom_components.ev_sessions.core.model import as_utc

#: The schema this code writes.
SCHEMA_VERSION = 7


#: SQLAlchemy's names of MariaDB / MySQL.
_MYSQL = ("mysql", "mariadb")


def _on_mysql[T](generic: TypeEngine[T], native: TypeEngine[T]) -> TypeEngine[T]:
    """``generic`` on SQLite and PostgreSQL, ``native`` on MariaDB / MySQL."""
    return generic.with_variant(native, *_MYSQL)


def chars(length: int) -> TypeEngine[str]:
    """A text of at most ``length`` characters, compared byte for byte everywhere."""
    return _on_mysql(_String(length), mysql.VARCHAR(length, collation="utf8mb4_bin"))


#: A text of any length (MariaDB's ``TEXT`` holds 64 kB only).
Text = _on_mysql(_Text(), mysql.LONGTEXT())

#: A double precision float (MariaDB's ``FLOAT`` is single precision).
Double: TypeEngine[float] = Float().with_variant(mysql.DOUBLE(asdecimal=False), *_MYSQL)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes stored as naive UTC (portable across databases; microseconds on
    MariaDB / MySQL too)."""

    impl = DateTime
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """``DATETIME(6)`` on MariaDB / MySQL (their ``DATETIME`` drops the microseconds)."""
        if dialect.name in _MYSQL:
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime())

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
    Column("id", chars(36), primary_key=True),
    Column("charger_id", chars(255), nullable=False),
    Column("connector_id", Integer, nullable=False),
    Column("transaction_id", chars(64)),
    Column("member_id", chars(255)),
    Column("id_tag", chars(64)),
    Column("plugged_in_at", UTCDateTime, nullable=False),
    Column("unplugged_at", UTCDateTime),
    Column("charging_started_at", UTCDateTime),
    Column("charging_finished_at", UTCDateTime),
    Column("transaction_ended_at", UTCDateTime),
    Column("meter_start_wh", BigInteger),
    Column("meter_stop_wh", BigInteger),
    Column("energy_wh", BigInteger, nullable=False),
    Column("max_power_w", Double),
    Column("charging_duration_s", Double, nullable=False),
    Column("speed_class", chars(16)),
    Column("stop_reason", chars(64)),
    Column("cost", chars(40)),
    Column("tariff", chars(255)),
    Column("profile", Text),  # schema 5: the points not in profile_chunks (the last one)
    Column("tracking", Text),
    Column("is_open", Boolean, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("anomalies", Text),  # added in schema 2
    Index("ix_sessions_charger_plugged", "charger_id", "plugged_in_at"),
    Index("ix_sessions_plugged", "plugged_in_at"),
    Index("ix_sessions_member", "member_id"),
    Index("ix_sessions_open", "is_open"),
    Index("ix_sessions_unplugged", "unplugged_at"),  # schema 7
)

lifetime_table = Table(
    "lifetime_energy",
    metadata,
    Column("charger_id", chars(255), primary_key=True),
    Column("total_wh", BigInteger, nullable=False),
    Column("state", Text),
    Column("updated_at", UTCDateTime, nullable=False),
)


audit_table = Table(
    "auth_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("source", chars(32), nullable=False),
    Column("charger_id", chars(255)),
    Column("connector_id", Integer),
    Column("id_tag", chars(64)),
    Column("member_id", chars(255)),
    Column("status", chars(16)),
    Column("reason", chars(32)),
    Column("guest", Boolean, nullable=False),
    Column("session_id", chars(36)),
    Column("previous_member_id", chars(255)),
    Column("user_id", chars(255)),
    Column("detail", Text),  # added in schema 6 (e.g. a reprice's reason and amounts)
    Index("ix_auth_audit_at", "at"),
    Index("ix_auth_audit_charger_at", "charger_id", "at"),
    Index("ix_auth_audit_member_at", "member_id", "at"),
    Index("ix_auth_audit_session", "session_id"),
)

local_list_table = Table(
    "local_auth_lists",
    metadata,
    Column("charger_id", chars(255), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("entries", Text, nullable=False),
    Column("entries_hash", chars(16), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

quarantine_table = Table(
    "quarantine",
    metadata,
    Column("kind", chars(16), primary_key=True),
    Column("key", chars(255), primary_key=True),
    Column("first_at", UTCDateTime, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("error", Text, nullable=False),
    Column("data", Text, nullable=False),
)

slots_table = Table(
    "energy_slots",
    metadata,
    Column("session_id", chars(36), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),  # 0, 1, ... per session
    Column("start", UTCDateTime, nullable=False),  # a UTC quarter-hour boundary
    Column("energy_wh", BigInteger, nullable=False),
    Column("max_power_w", Double),
    Column("closed_at", UTCDateTime),  # NULL: the session's open slot
    Index("ix_energy_slots_start", "start"),
)

profile_chunks_table = Table(
    "profile_chunks",
    metadata,
    Column("session_id", chars(36), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),  # index of the first point
    Column("points", Text, nullable=False),  # the compact form of ..power_profile
)

prices_table = Table(
    "prices",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("source", chars(255), nullable=False),
    Column("start", UTCDateTime, nullable=False),
    Column("end", UTCDateTime, nullable=False),
    Column("length_s", Integer, nullable=False),
    Column("price", chars(40), nullable=False),  # a decimal string, per kWh
    Column("currency", chars(8), nullable=False),
    Column("fetched_at", UTCDateTime, nullable=False),
    Column("estimated", Boolean, nullable=False),
    Index("ix_prices_source_start", "source", "start"),
)

session_costs_table = Table(
    "session_costs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("session_id", chars(36), nullable=False),
    Column("computed_at", UTCDateTime, nullable=False),
    Column("reason", chars(32), nullable=False),  # a CostReason
    Column("total", chars(40), nullable=False),  # a decimal string
    Column("currency", chars(8), nullable=False),
    Column("estimated", Boolean, nullable=False),
    Column("cost", Text, nullable=False),  # SessionCost.to_dict() as JSON
    Column("tariff", Text),  # Tariff.to_dict() as JSON
    Column("note", Text),
    Column("user_id", chars(255)),
    Index("ix_session_costs_session", "session_id", "id"),
)

bills_table = Table(
    "bills",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("number", chars(32), nullable=False, unique=True),  # "2027-0001"
    Column("year", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("period", chars(7), nullable=False),  # "2026-12", the local month billed
    Column("member_id", chars(255), nullable=False),
    Column("member_name", chars(255), nullable=False),
    Column("issued_at", UTCDateTime, nullable=False),
    Column("paid_at", UTCDateTime),  # the only column changed after issue
    Column("currency", chars(8), nullable=False),
    Column("energy_wh", BigInteger, nullable=False),
    Column("total", chars(40), nullable=False),  # a decimal string
    Column("paying", Boolean, nullable=False),
    Column("data", Text, nullable=False),  # Bill.to_dict() as JSON: the exact lines shown
    UniqueConstraint("period", "member_id", name="uq_bills_period_member"),
    UniqueConstraint("year", "seq", name="uq_bills_year_seq"),
    Index("ix_bills_member", "member_id", "period"),
)

bill_items_table = Table(
    "bill_items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("bill_id", Integer, nullable=False),
    Column("number", chars(32), nullable=False),
    Column("kind", chars(8), nullable=False),  # line, credit, debit
    Column("session_id", chars(36), nullable=False),
    Column("member_id", chars(255), nullable=False),
    Column("charger_id", chars(255), nullable=False),
    Column("period", chars(7), nullable=False),  # the bill's period
    Column("session_period", chars(7), nullable=False),  # the month the session ended in
    Column("issued_at", UTCDateTime, nullable=False),
    Column("energy_wh", BigInteger, nullable=False),  # signed
    Column("amount_excl_vat", chars(40), nullable=False),  # signed decimal strings
    Column("vat", chars(40), nullable=False),
    Column("total", chars(40), nullable=False),
    Index("ix_bill_items_session", "session_id"),
    Index("ix_bill_items_session_period", "session_period"),
)

bill_counters_table = Table(
    "bill_counters",
    metadata,
    Column("year", Integer, primary_key=True, autoincrement=False),
    Column("last", Integer, nullable=False),
)
