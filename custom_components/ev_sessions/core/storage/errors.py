"""Storage errors: every database error leaves the storage package as a :class:`StorageError`.

Its :attr:`~StorageError.fault` says what kind of fault it is: the database refuses writes
(read-only, full), cannot be reached, or refuses one row's data (:data:`StorageFault.ROW`: the
other rows can still be written, see :mod:`.quarantine`).
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from typing import Any

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


class StorageFault(StrEnum):
    """What kind of storage fault an error is."""

    READ_ONLY = "read_only"  # the database (file, directory, server) refuses writes
    FULL = "full"  # no space left
    UNAVAILABLE = "unavailable"  # cannot be opened or reached, or I/O errors
    ROW = "row"  # the database works but refuses this row's data
    AUTH = "auth"  # a server refused the user name or password of the URL
    NEWER_SCHEMA = "newer_schema"  # written by a newer version of this integration
    OTHER = "other"


class StorageError(Exception):
    """The database could not be opened, migrated, read or written."""

    def __init__(self, message: str, *, fault: StorageFault = StorageFault.OTHER) -> None:
        """An error of the given kind (``fault``)."""
        super().__init__(message)
        self.fault = fault


def guard[T](fn: Callable[..., T], *args: Any) -> T:
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


#: PostgreSQL SQLSTATE classes (the first two characters) and codes, and the fault each means.
_SQLSTATE_FAULTS = {
    "28": StorageFault.AUTH,  # invalid authorization specification, invalid password
    "08": StorageFault.UNAVAILABLE,  # connection exceptions
    "57P": StorageFault.UNAVAILABLE,  # server shutting down, cannot connect now
    "53100": StorageFault.FULL,  # disk_full
    "25006": StorageFault.READ_ONLY,  # read_only_sql_transaction (a hot standby)
    "42501": StorageFault.READ_ONLY,  # insufficient_privilege
    "22": StorageFault.ROW,  # data exceptions (a value too long, a NUL character, ...)
    "23": StorageFault.ROW,  # integrity constraint violations
}

#: MySQL / MariaDB error numbers and the fault each means.
_MYSQL_FAULTS = {
    1044: StorageFault.AUTH,  # ER_DBACCESS_DENIED_ERROR
    1045: StorageFault.AUTH,  # ER_ACCESS_DENIED_ERROR
    1698: StorageFault.AUTH,  # ER_ACCESS_DENIED_NO_PASSWORD_ERROR
    2002: StorageFault.UNAVAILABLE,  # CR_CONNECTION_ERROR
    2003: StorageFault.UNAVAILABLE,  # CR_CONN_HOST_ERROR
    2006: StorageFault.UNAVAILABLE,  # CR_SERVER_GONE_ERROR
    2013: StorageFault.UNAVAILABLE,  # CR_SERVER_LOST
    1114: StorageFault.FULL,  # ER_RECORD_FILE_FULL
    1021: StorageFault.FULL,  # ER_DISK_FULL
    1290: StorageFault.READ_ONLY,  # ER_OPTION_PREVENTS_STATEMENT (--read-only)
    1142: StorageFault.READ_ONLY,  # ER_TABLEACCESS_DENIED_ERROR
    1792: StorageFault.READ_ONLY,  # ER_CANT_EXECUTE_IN_READ_ONLY_TRANSACTION
}


def _server_fault(orig: BaseException) -> StorageFault | None:
    """The fault a database server's own error code says (PostgreSQL, MySQL), if it says."""
    if "authentication failed" in str(orig):  # libpq at connect: a message, no SQLSTATE
        return StorageFault.AUTH
    sqlstate = getattr(orig, "sqlstate", None)  # psycopg
    if isinstance(sqlstate, str):
        for prefix in (sqlstate, sqlstate[:3], sqlstate[:2]):
            if prefix in _SQLSTATE_FAULTS:
                return _SQLSTATE_FAULTS[prefix]
        return None
    args = getattr(orig, "args", ())
    if type(orig).__module__.startswith("pymysql") and args and isinstance(args[0], int):
        return _MYSQL_FAULTS.get(args[0])
    return None


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
    if orig is not None and (server := _server_fault(orig)) is not None:
        return server
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
