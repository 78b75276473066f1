"""The database servers the storage tests run against: SQLite always, PostgreSQL and MariaDB
when there.

``EV_SESSIONS_TEST_PG_URL`` names a PostgreSQL server and ``EV_SESSIONS_TEST_MARIADB_URL`` a
MariaDB server (SQLAlchemy URLs whose user may create databases; ``.ci/run`` starts them with
``.ci/postgres`` and ``.ci/mariadb``). With them set, every test that takes the ``db_url``
fixture runs on SQLite, on PostgreSQL and on MariaDB, each time on a database of its own (a
fresh server database per test, dropped afterwards). Without them (a developer's laptop) the
server runs are skipped and say why.

The helpers read and write a database by URL with plain SQLAlchemy, so a test's own SQL runs
on every backend.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
import contextlib
import os
from pathlib import Path
import re
from typing import Any
import uuid

import pytest
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

PG_ENV = "EV_SESSIONS_TEST_PG_URL"
MARIADB_ENV = "EV_SESSIONS_TEST_MARIADB_URL"

#: The environment variable naming each server backend's URL.
SERVER_ENV = {"postgresql": PG_ENV, "mariadb": MARIADB_ENV}

#: The ``db_url`` fixture's parameters: one per backend.
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param(
        "postgresql",
        id="postgresql",
        marks=pytest.mark.skipif(
            not os.environ.get(PG_ENV), reason=f"no PostgreSQL server: {PG_ENV} is not set"
        ),
    ),
    pytest.param(
        "mariadb",
        id="mariadb",
        marks=pytest.mark.skipif(
            not os.environ.get(MARIADB_ENV),
            reason=f"no MariaDB server: {MARIADB_ENV} is not set",
        ),
    ),
]

#: The backends that are database servers (the ``backend`` parameter of server-only tests).
SERVER_BACKENDS = [p for p in BACKENDS if p.id != "sqlite"]


@contextlib.contextmanager
def fresh_database(backend: str, tmp_path: Path, name: str = "ev") -> Iterator[str]:
    """The URL of a new, empty database on ``backend``; a server's is dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / f'{name}.db'}"
        return
    server = make_url(os.environ[SERVER_ENV[backend]])
    database = f"ev_test_{uuid.uuid4().hex[:16]}"
    mariadb = backend == "mariadb"
    create = (
        f"CREATE DATABASE `{database}` CHARACTER SET utf8mb4"
        if mariadb
        else f'CREATE DATABASE "{database}"'
    )
    drop = (
        f"DROP DATABASE IF EXISTS `{database}`"
        if mariadb
        else f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'
    )
    admin = create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            conn.execute(text(create))
        yield server.set(database=database).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(drop))
        admin.dispose()


@contextlib.contextmanager
def connected(url: str) -> Iterator[Engine]:
    """A short-lived engine on ``url``, disposed afterwards."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        yield engine
    finally:
        engine.dispose()


def rows(url: str, query: str, **params: Any) -> list[tuple[Any, ...]]:
    """The rows ``query`` returns (named parameters as ``:name``)."""
    with connected(url) as engine, engine.connect() as conn:
        return [tuple(row) for row in conn.execute(text(query), params)]


def run_script(url: str, script: str) -> None:
    """Run ``;``-separated statements in one transaction.

    ``TIMESTAMP`` becomes ``DATETIME`` on SQLite (and ``DATETIME(6)`` on MariaDB, whose
    ``TIMESTAMP`` updates itself): the columns are then declared as the schema declares them on
    each backend. On MariaDB ``TEXT`` becomes ``LONGTEXT``, a ``TEXT`` key ``VARCHAR(255)`` and
    ``"name"`` `` `name` ``, as the schema declares them there.
    """
    backend = make_url(url).get_backend_name()
    if backend == "sqlite":
        script = script.replace("TIMESTAMP", "DATETIME")
    elif backend == "mysql":
        script = _for_mariadb(script)
    with connected(url) as engine, engine.begin() as conn:
        for statement in script.split(";"):
            if statement.strip():
                conn.execute(text(statement))


def _for_mariadb(script: str) -> str:
    """A script written for SQLite and PostgreSQL in MariaDB's words."""
    script = re.sub(r'"(\w+)"', r"`\1`", script.replace("TIMESTAMP", "DATETIME(6)"))
    script = re.sub(r"\bTEXT PRIMARY KEY\b", "VARCHAR(255) PRIMARY KEY", script)
    script = re.sub(r"\bTEXT NOT NULL PRIMARY KEY\b", "VARCHAR(255) NOT NULL PRIMARY KEY", script)
    script = re.sub(r"\b(VARCHAR\(\d+\))", r"\1 COLLATE utf8mb4_bin", script)
    script = re.sub(r"\bDOUBLE PRECISION\b|\bREAL\b|\bFLOAT\b", "DOUBLE", script)
    return re.sub(r"\bTEXT\b", "LONGTEXT", script)


def columns(url: str, table: str) -> list[str]:
    """The names of ``table``'s columns, in order."""
    with connected(url) as engine:
        return [column["name"] for column in inspect(engine).get_columns(table)]


def schema_of(url: str) -> dict[str, Any]:
    """Tables with their columns (name, type, nullable), primary key and indexes, comparable
    between two databases of one backend."""
    with connected(url) as engine:
        insp = inspect(engine)
        return {
            table: {
                "columns": [
                    (c["name"], str(c["type"]), c["nullable"]) for c in insp.get_columns(table)
                ],
                "primary_key": insp.get_pk_constraint(table)["constrained_columns"],
                "indexes": sorted(
                    (i["name"] or "", tuple(i["column_names"]), bool(i["unique"]))
                    for i in insp.get_indexes(table)
                ),
            }
            for table in sorted(insp.get_table_names())
        }


def text_length(column_names: Sequence[str], url: str = "") -> str:
    """A SQL expression: the summed text length of the columns (NULL counts 0)."""
    kind = "CHAR" if url and make_url(url).get_backend_name() == "mysql" else "TEXT"
    return " + ".join(f"coalesce(length(CAST({c} AS {kind})), 0)" for c in column_names)
