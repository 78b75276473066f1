"""Event builders and an engine factory for the core tests."""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import event

from custom_components.ev_sessions.chargers.events import (
    ConnectorState,
    MeterSample,
    StatusChanged,
    TransactionEnded,
    TransactionStarted,
)
from custom_components.ev_sessions.core import (
    EngineSettings,
    SessionEngine,
    SessionEvent,
    SessionStore,
)

T0 = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
CP = "cp-1"


@dataclass
class Clock:
    """A settable clock for the engine."""

    now: datetime = T0

    def __call__(self) -> datetime:
        """Now."""
        return self.now


def at(minutes: float = 0.0, seconds: float = 0.0) -> datetime:
    """T0 plus an offset."""
    return T0 + timedelta(minutes=minutes, seconds=seconds)


def status(
    when: datetime, state: ConnectorState, *, connector: int = 1, charger: str = CP
) -> StatusChanged:
    """A StatusChanged event."""
    return StatusChanged(charger_id=charger, at=when, connector_id=connector, state=state)


def sample(when: datetime, *, connector: int = 1, charger: str = CP, **kw: Any) -> MeterSample:
    """A MeterSample event."""
    return MeterSample(charger_id=charger, at=when, connector_id=connector, **kw)


def started(
    when: datetime, tx: str, meter: int | None, *, connector: int = 1, charger: str = CP, **kw: Any
) -> TransactionStarted:
    """A TransactionStarted event."""
    return TransactionStarted(
        charger_id=charger,
        at=when,
        connector_id=connector,
        transaction_id=tx,
        meter_start_wh=meter,
        **kw,
    )


def ended(
    when: datetime,
    tx: str,
    meter: int | None,
    *,
    connector: int | None = 1,
    charger: str = CP,
    **kw: Any,
) -> TransactionEnded:
    """A TransactionEnded event."""
    return TransactionEnded(
        charger_id=charger,
        at=when,
        connector_id=connector,
        transaction_id=tx,
        meter_stop_wh=meter,
        **kw,
    )


def minutes(start: float, stop: float, step: float = 1.0) -> Iterator[float]:
    """start, start + step, ... < stop."""
    value = start
    while value < stop:
        yield value
        value += step


@contextlib.contextmanager
def refusing_writes(store: SessionStore) -> Iterator[None]:
    """While in the block, the store's database refuses every write (a real fault).

    SQLite: ``PRAGMA query_only`` on every connection, answered with SQLITE_READONLY exactly
    as for a read-only file (which chmod cannot produce when the tests run as root).
    PostgreSQL and MariaDB: every transaction read-only, as on a hot standby.
    """
    statement = {
        "sqlite": "PRAGMA query_only=ON",
        "mysql": "SET SESSION TRANSACTION READ ONLY",
    }.get(store.engine.dialect.name, "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY")

    def query_only(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute(statement)
        cursor.close()
        if store.engine.dialect.name != "sqlite":
            dbapi_conn.commit()

    engine = store.engine
    event.listen(engine, "connect", query_only)
    engine.dispose()  # pooled connections reconnect with the setting
    try:
        yield
    finally:
        event.remove(engine, "connect", query_only)
        engine.dispose()


@dataclass
class Harness:
    """Creates engines on one database and stops them at the end of the test."""

    #: The database URL (the ``db_url`` fixture: SQLite, and PostgreSQL when configured).
    url: str
    clock: Clock = field(default_factory=Clock)
    engines: list[SessionEngine] = field(default_factory=list)
    events: list[SessionEvent] = field(default_factory=list)

    async def engine(self, **settings: Any) -> SessionEngine:
        """A started engine (fast flushes unless told otherwise)."""
        settings.setdefault("flush_interval", timedelta(seconds=0.2))
        settings.setdefault("state_flush_delay", timedelta(seconds=0.01))
        # The clock stands still at T0 while the events move on: accept their times unless a
        # test of clock jumps sets a tolerance (and moves the clock).
        settings.setdefault("future_tolerance", timedelta(days=3650))
        engine = SessionEngine(
            SessionStore(self.url), clock=self.clock, settings=EngineSettings(**settings)
        )
        await engine.async_start()
        engine.session_events.add(self.events.append)
        self.engines.append(engine)
        return engine

    async def close(self) -> None:
        """Stop every engine."""
        for engine in self.engines:
            await engine.async_stop()

    def kinds(self) -> list[str]:
        """Kinds of the session events seen so far."""
        return [str(e.kind) for e in self.events]
