"""Copy the whole session history from one database to another (SQLite to a server).

    python -m custom_components.ev_sessions.core.storage.copy SOURCE_URL TARGET_URL

Both are SQLAlchemy URLs (``sqlite:////config/ev_sessions.db``,
``postgresql+psycopg://user:password@host/db``, ``mysql+pymysql://...``). The source is brought
to the current schema first (as the hub does when it starts); the target is created at the
current schema, or may already hold it (the hub options' check creates it) but must be empty: a
target with any session, price, cost, audit or other row is refused, nothing is written. Every
table is copied row for row in one transaction on the target (all or nothing), ids included;
PostgreSQL's id sequences are moved past the copied ids. Stop the hub (or Home Assistant) while
copying, so nothing is written to the source meanwhile.
"""

from __future__ import annotations

from collections.abc import Sequence
import sys

from sqlalchemy import Connection, Engine, Table, func, insert, select, text

from .errors import StorageError, fault_of
from .migrations import migrate
from .schema import metadata, schema_version
from .store import database_engine
from .urls import redact_url, scrub

#: Rows read and written per statement.
_BATCH = 1000


class TargetNotEmptyError(StorageError):
    """The target database already holds rows; nothing was copied."""


def copy_database(source_url: str, target_url: str) -> dict[str, int]:
    """Copy every row of every table from ``source_url`` to the empty ``target_url``.

    The rows copied per table. :class:`TargetNotEmptyError` when the target holds rows,
    :class:`StorageError` for any other failure (the target is left as it was).
    """
    source = target = None
    try:
        source = database_engine(source_url, echo=False)
        target = database_engine(target_url, echo=False)
        with source.begin() as src:
            migrate(src)
        with source.connect() as src, target.begin() as dst:
            migrate(dst)
            tables = _data_tables()
            filled = [table.name for table in tables if _has_rows(dst, table)]
            if filled:
                raise TargetNotEmptyError(
                    f"the target database is not empty (rows in {', '.join(filled)})"
                )
            copied = {table.name: _copy_table(src, dst, table) for table in tables}
            _reset_sequences(dst, tables)
    except StorageError:
        raise
    except Exception as err:  # noqa: BLE001  (any driver error: a StorageError, no password)
        message = scrub(scrub(f"{type(err).__name__}: {err}", source_url), target_url)
        raise StorageError(message, fault=fault_of(err)) from None
    finally:
        for engine in (source, target):
            if isinstance(engine, Engine):
                engine.dispose()
    return copied


def _data_tables() -> list[Table]:
    """Every table but the schema version, parents before children."""
    return [table for table in metadata.sorted_tables if table is not schema_version]


def _has_rows(conn: Connection, table: Table) -> bool:
    return conn.execute(select(1).select_from(table).limit(1)).first() is not None


def _copy_table(src: Connection, dst: Connection, table: Table) -> int:
    """Copy a table in batches, in primary key order; the number of rows."""
    order = list(table.primary_key.columns) or list(table.columns)
    result = src.execution_options(stream_results=True, yield_per=_BATCH).execute(
        select(table).order_by(*order)
    )
    count = 0
    for rows in result.partitions(_BATCH):
        dst.execute(insert(table), [row._asdict() for row in rows])
        count += len(rows)
    return count


def _reset_sequences(dst: Connection, tables: Sequence[Table]) -> None:
    """PostgreSQL: the next generated id of each table follows the largest copied one."""
    if dst.dialect.name != "postgresql":
        return  # SQLite and MySQL continue after the largest id by themselves
    for table in tables:
        column = table.autoincrement_column
        if column is None:
            continue
        largest = dst.execute(select(func.max(column))).scalar()
        if largest is not None:
            dst.execute(
                text("SELECT setval(pg_get_serial_sequence(:table, :column), :value)"),
                {"table": table.name, "column": column.name, "value": int(largest)},
            )


def main(argv: Sequence[str]) -> int:
    """``copy SOURCE_URL TARGET_URL``: copy and report what was copied."""
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)  # noqa: T201
        return 2
    source_url, target_url = argv
    try:
        copied = copy_database(source_url, target_url)
    except StorageError as err:
        print(f"not copied: {err}", file=sys.stderr)  # noqa: T201
        return 1
    for name, count in copied.items():
        print(f"{name}: {count} rows")  # noqa: T201
    print(f"copied {redact_url(source_url)} to {redact_url(target_url)}")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
