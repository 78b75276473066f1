"""The ``quarantine`` table: rows the database refused because of their data, kept as JSON.

One row per refused session, counter or patch (``kind``, ``key``): the latest data, the error,
when it was first and last refused and how often. When even that cannot be stored the data is
logged in full.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
import json
import logging

from sqlalchemy import Connection, Engine, insert, select, update

from .schema import quarantine_table

_LOGGER = logging.getLogger(__name__)


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


def quarantine(
    engine: Engine, failure: RowFailure, data: Callable[[], object], now: datetime
) -> bool:
    """Keep a refused row's data: in the quarantine table, else in the log (in full).

    True when it was stored (one committed transaction).
    """
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
        with engine.begin() as conn:
            _upsert(conn, failure, key, text_, now)
    except Exception:
        _LOGGER.exception(
            "Could not quarantine %s %s either; its data: %s", failure.kind, key, text_
        )
        return False
    return True


def _upsert(conn: Connection, failure: RowFailure, key: str, text_: str, now: datetime) -> None:
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


def select_quarantined(conn: Connection) -> list[QuarantineRecord]:
    """The quarantined rows, newest first."""
    stmt = select(quarantine_table).order_by(quarantine_table.c.at.desc())
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
