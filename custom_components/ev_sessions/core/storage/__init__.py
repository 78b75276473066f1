"""Session storage in a real database (SQLAlchemy 2.0 Core), one module per table.

SQLite by default (``sqlite:///<path>``); any SQLAlchemy URL (PostgreSQL, MySQL) works the same,
only the URL changes. :class:`SessionStore` (:mod:`.store`) is the one entry point: it owns the
database and its worker thread and delegates to the per-table modules:

* :mod:`.errors` - :class:`StorageError` and its :class:`StorageFault`;
* :mod:`.schema` - every table, :data:`SCHEMA_VERSION`, UTC times; :mod:`.migrations` - upgrades;
* :mod:`.sessions` - the ``sessions`` table (:class:`SessionWrite`, :class:`SessionPatch`), with
  the append-only tables of what grows while a session charges: :mod:`.profile_rows` (the power
  profile in chunks) and :mod:`.slot_rows` (the energy slots);
* :mod:`.price_rows` - the ``prices`` table: price intervals as they were known
  (:class:`PriceReplace`);
* :mod:`.lifetimes` - the ``lifetime_energy`` table (:class:`LifetimeRecord`);
* :mod:`.audit_rows` - the ``auth_audit`` table, rows of the audit log of :mod:`..audit`;
* :mod:`.local_list_rows` - the ``local_auth_lists`` table, records of :mod:`..local_lists`;
* :mod:`.quarantine` - the ``quarantine`` table: rows the database refused (:class:`RowFailure`).
"""

from .errors import StorageError, StorageFault, fault_of
from .lifetimes import LifetimeRecord
from .price_rows import PriceReplace
from .quarantine import QuarantineRecord, RowFailure
from .schema import SCHEMA_VERSION
from .sessions import SessionPatch, SessionWrite
from .store import SessionStore

__all__ = [
    "SCHEMA_VERSION",
    "LifetimeRecord",
    "PriceReplace",
    "QuarantineRecord",
    "RowFailure",
    "SessionPatch",
    "SessionStore",
    "SessionWrite",
    "StorageError",
    "StorageFault",
    "fault_of",
]
