"""Database servers: what their errors mean, and URLs whose password never shows."""

from __future__ import annotations

import os
import socket
import threading

import psycopg.errors
import pymysql
import pytest
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from custom_components.ev_sessions.core import SessionStore, StorageError, StorageFault
from custom_components.ev_sessions.core.storage import fault_of
from custom_components.ev_sessions.core.storage.urls import (
    backend_of,
    redact_url,
    scrub,
    with_password,
)
from tests.databases import SERVER_BACKENDS, SERVER_ENV, run_script


def _wrapped(orig: Exception) -> DBAPIError:
    """A driver exception as SQLAlchemy raises it."""
    return DBAPIError.instance("SELECT 1", {}, orig, Exception)


@pytest.mark.parametrize(
    ("orig", "fault"),
    [
        (psycopg.errors.InvalidPassword("password authentication failed"), StorageFault.AUTH),
        (psycopg.errors.InvalidAuthorizationSpecification("no pg_hba.conf"), StorageFault.AUTH),
        (psycopg.errors.DiskFull("could not extend file"), StorageFault.FULL),
        (psycopg.errors.ReadOnlySqlTransaction("read-only transaction"), StorageFault.READ_ONLY),
        (psycopg.errors.AdminShutdown("terminating connection"), StorageFault.UNAVAILABLE),
        (psycopg.errors.StringDataRightTruncation("value too long"), StorageFault.ROW),
        (psycopg.errors.UniqueViolation("duplicate key"), StorageFault.ROW),
        (pymysql.err.OperationalError(1045, "Access denied"), StorageFault.AUTH),
        (pymysql.err.OperationalError(2003, "Can't connect"), StorageFault.UNAVAILABLE),
        (pymysql.err.OperationalError(1114, "The table is full"), StorageFault.FULL),
        (pymysql.err.OperationalError(1290, "--read-only option"), StorageFault.READ_ONLY),
        (pymysql.err.InternalError(1792, "read-only transaction"), StorageFault.READ_ONLY),
        (pymysql.err.DataError(1406, "Data too long"), StorageFault.ROW),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Exception) else str(value),
)
def test_server_errors_mean_their_fault(orig: Exception, fault: StorageFault) -> None:
    """PostgreSQL's SQLSTATE and MySQL's error numbers say the fault, as SQLite's codes do."""
    assert fault_of(_wrapped(orig)) is fault


def test_urls_without_their_password() -> None:
    """The password is masked in the URL and in messages, also when the URL does not parse."""
    url = "postgresql+psycopg://ev:p%40ss word@db.lan:5432/ev"
    assert redact_url(url) == "postgresql+psycopg://ev:***@db.lan:5432/ev"
    assert (
        redact_url("postgresql://ev:secret@db:notaport/ev") == "postgresql://ev:***@db:notaport/ev"
    )
    assert redact_url("sqlite:////config/ev_sessions.db") == "sqlite:////config/ev_sessions.db"
    assert scrub("failed for p@ss word and p%40ss+word", url) == "failed for *** and ***"
    assert with_password(redact_url(url), "p@ss word") == url
    assert backend_of(url) == "postgresql"
    assert backend_of("mysql+pymysql://u:p@h/db") == "mysql"
    # a password as a query parameter (drivers accept it) and an unencoded "@" in a password
    query = "postgresql+psycopg://ev@db/ev?sslmode=require&password=topsecret"
    assert redact_url(query) == "postgresql+psycopg://ev@db/ev?sslmode=require&password=***"
    assert scrub("auth failed: topsecret", query) == "auth failed: ***"
    raw_at = "postgresql+psycopg://ev:p@ss@db/ev"
    assert redact_url(raw_at) == "postgresql+psycopg://ev:***@db/ev"
    assert scrub("password p@ss refused", raw_at) == "password *** refused"


@pytest.mark.usefixtures("socket_enabled")
async def test_unreachable_server_and_bad_urls_name_no_password() -> None:
    """Nothing listens: UNAVAILABLE; a URL that does not parse or names no known database: a
    StorageError; no message carries the password."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    for url, fault in (
        (f"postgresql+psycopg://ev:s3cret@127.0.0.1:{port}/ev", StorageFault.UNAVAILABLE),
        (f"mysql+pymysql://ev:s3cret@127.0.0.1:{port}/ev", StorageFault.UNAVAILABLE),
        ("postgresql+psycopg://ev:s3cret@host:port/ev", StorageFault.OTHER),
        ("nosuchdb://ev:s3cret@host/ev", StorageFault.OTHER),
    ):
        store = SessionStore(url)
        with pytest.raises(StorageError) as failed:
            await store.async_open()
        await store.async_close()
        assert failed.value.fault is fault, url
        assert "s3cret" not in str(failed.value)


async def test_newer_schema_is_its_own_fault(db_url: str) -> None:
    """A database written by a newer version is refused as such (the options flow says so)."""
    run_script(
        db_url,
        "CREATE TABLE schema_version (version INTEGER);INSERT INTO schema_version VALUES (99);",
    )
    store = SessionStore(db_url)
    with pytest.raises(StorageError) as failed:
        await store.async_open()
    await store.async_close()
    assert failed.value.fault is StorageFault.NEWER_SCHEMA


@pytest.mark.parametrize("backend", SERVER_BACKENDS)
async def test_wrong_password_is_an_auth_fault(
    backend: str, request: pytest.FixtureRequest
) -> None:
    """The real server refuses a wrong password: AUTH, and the message names no password."""
    if backend == "mariadb":
        request.getfixturevalue("socket_enabled")  # PyMySQL uses Python's sockets
    url = make_url(os.environ[SERVER_ENV[backend]]).set(password="wrong-s3cret")
    store = SessionStore(url.render_as_string(hide_password=False))
    with pytest.raises(StorageError) as failed:
        await store.async_open()
    await store.async_close()
    assert failed.value.fault is StorageFault.AUTH
    assert "wrong-s3cret" not in str(failed.value)


async def test_a_closed_store_starts_no_worker_thread(db_url: str) -> None:
    """A call after close (a late caller while the hub moves to another database) is refused
    instead of starting a database thread nobody ends; reopening works."""
    store = SessionStore(db_url)
    await store.async_open()
    await store.async_close()
    before = {t.name for t in threading.enumerate()}
    with pytest.raises(StorageError, match="closed"):
        await store.async_load_open()
    assert {t.name for t in threading.enumerate()} == before
    await store.async_open()
    try:
        assert await store.async_load_open() == []
    finally:
        await store.async_close()


class _UnknownStateError(Exception):
    """A psycopg error whose SQLSTATE no rule names."""

    sqlstate = "ZZ123"


@pytest.mark.parametrize(
    ("err", "fault"),
    [
        (OSError(30, "Read-only file system"), StorageFault.READ_ONLY),
        (OSError(28, "No space left on device"), StorageFault.FULL),
        (OSError(111, "Connection refused"), StorageFault.UNAVAILABLE),
        (_wrapped(_UnknownStateError("odd")), StorageFault.OTHER),
        (_wrapped(Exception("no such table: sessions")), StorageFault.OTHER),
        (RuntimeError("bug"), StorageFault.OTHER),
    ],
)
def test_faults_without_a_code_are_told_by_their_message_or_kind(
    err: BaseException, fault: StorageFault
) -> None:
    """Without a code that says it: the message (read-only, full), else the kind of error;
    an unknown SQLSTATE is no reason to guess."""
    assert fault_of(err) is fault
