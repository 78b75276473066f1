"""The database servers the storage tests run against: SQLite always, PostgreSQL when there.

``EV_SESSIONS_TEST_PG_URL`` names a PostgreSQL server (a SQLAlchemy URL whose role may create
databases; ``.ci/run`` starts one with ``.ci/postgres``). With it set, every test that takes
the ``db_url`` fixture runs once on SQLite and once on PostgreSQL, each time on a database of
its own (a fresh PostgreSQL database per test, dropped afterwards). Without it (a developer's
laptop) the PostgreSQL runs are skipped and say why.

The helpers read and write a database by URL with plain SQLAlchemy, so a test's own SQL runs
on every backend.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
import contextlib
import os
from pathlib import Path
from typing import Any
import uuid

import pytest
from sqlalchemy import Engine, create_engine, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

PG_ENV = "EV_SESSIONS_TEST_PG_URL"

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
]


@contextlib.contextmanager
def fresh_database(backend: str, tmp_path: Path, name: str = "ev") -> Iterator[str]:
    """The URL of a new, empty database on ``backend``; a server's is dropped afterwards."""
    if backend == "sqlite":
        yield f"sqlite:///{tmp_path / f'{name}.db'}"
        return
    server = make_url(os.environ[PG_ENV])
    database = f"ev_test_{uuid.uuid4().hex[:16]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{database}"'))
        yield server.set(database=database).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
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

    ``TIMESTAMP`` becomes ``DATETIME`` on SQLite: the columns are then declared as SQLAlchemy's
    ``DateTime`` declares them on each backend, as the schemas of older versions were.
    """
    if make_url(url).get_backend_name() == "sqlite":
        script = script.replace("TIMESTAMP", "DATETIME")
    with connected(url) as engine, engine.begin() as conn:
        for statement in script.split(";"):
            if statement.strip():
                conn.execute(text(statement))


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


def text_length(column_names: Sequence[str]) -> str:
    """A SQL expression: the summed text length of the columns (NULL counts 0)."""
    return " + ".join(f"coalesce(length(CAST({c} AS TEXT)), 0)" for c in column_names)
