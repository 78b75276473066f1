"""Copying the history from SQLite to another database (a server): every row, ids included."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select

from custom_components.ev_sessions.chargers.events import (
    AuthorizationListEntry,
    AuthorizationStatus,
    ConnectorState,
)
from custom_components.ev_sessions.core import (
    AuditEntry,
    AuditSource,
    CostReason,
    CostRecord,
    LocalListRecord,
    PriceInterval,
    SessionFacts,
    SessionStore,
    StorageError,
    Tariff,
    price_session,
)
from custom_components.ev_sessions.core.storage.copy import (
    TargetNotEmptyError,
    copy_database,
    main,
)
from custom_components.ev_sessions.core.storage.schema import metadata, schema_version
from tests.databases import connected

from .helpers import CP, Harness, at, sample, status

TARIFF = Tariff(currency="SEK", fallback_price=Decimal("1.50"), vat_rate=Decimal("0.25"))


async def _history(url: str) -> None:
    """Two charged sessions (profile chunks, slots, lifetimes), prices, a cost, audit rows and
    a local list, written by the engine and the store as the hub writes them."""
    harness = Harness(url)
    try:
        await _write_history(harness)
    finally:
        await harness.close()


async def _write_history(harness: Harness) -> None:
    engine = await harness.engine()
    for charger, start in ((CP, 0), ("cp-2", 30)):
        engine.handle_event(status(at(start), ConnectorState.CHARGING, charger=charger))
        for minute in range(0, 50, 5):
            engine.handle_event(
                sample(
                    at(start + minute),
                    charger=charger,
                    energy_register_wh=10_000 + 110 * minute,
                    power_w=6600.0 + minute,
                )
            )
            await engine.async_flush()
        engine.handle_event(status(at(start + 55), ConnectorState.AVAILABLE, charger=charger))
    await engine.async_flush()
    store = engine._store
    [first, _second] = await store.async_sessions()
    await store.async_save_prices(
        [
            PriceInterval(
                source="fixed",
                start=at(15 * n),
                length=timedelta(minutes=15),
                price=Decimal("1.25"),
                currency="SEK",
                fetched_at=at(0),
            )
            for n in range(6)
        ]
    )
    cost = price_session(
        first.slots,
        [],
        TARIFF,
        None,
        SessionFacts(session_id=first.id, energy_wh=first.energy_wh),
    )
    await store.async_save_cost(
        CostRecord(
            session_id=first.id,
            computed_at=at(90),
            reason=CostReason.FINAL,
            cost=cost,
            tariff=TARIFF.to_dict(),
            note="n",
        )
    )
    await store.async_save_audit(
        [
            AuditEntry(at=at(n), source=AuditSource.AUTHORIZE, charger_id=CP, id_tag=f"T{n}")
            for n in range(3)
        ]
    )
    await store.async_save_local_list(
        LocalListRecord(
            charger_id=CP,
            version=3,
            entries=(AuthorizationListEntry(id_tag="T1", status=AuthorizationStatus.ACCEPTED),),
        )
    )


def _all_rows(url: str) -> dict[str, list[tuple[object, ...]]]:
    """Every table's rows in key order (through the schema's types: comparable across
    backends)."""
    with connected(url) as engine, engine.connect() as conn:
        return {
            table.name: [
                tuple(row)
                for row in conn.execute(select(table).order_by(*table.primary_key.columns))
            ]
            for table in metadata.sorted_tables
            if table is not schema_version
        }


async def test_copy_sqlite_history_to_another_database(tmp_path: Path, db_url: str) -> None:
    """Every row arrives as it was (sessions, chunks, slots, lifetimes, prices, costs, audit,
    local lists); the target reads the same sessions and costs; new ids continue after the
    copied ones; a second copy into the now filled target is refused and changes nothing."""
    source = f"sqlite:///{tmp_path / 'source.db'}"
    await _history(source)
    copied = copy_database(source, db_url)
    expected = _all_rows(source)
    assert {name: len(rows) for name, rows in expected.items()} == copied
    for name in ("sessions", "profile_chunks", "energy_slots", "lifetime_energy"):
        assert copied[name] >= 2, name
    assert copied["prices"] == 6
    assert copied["session_costs"] == 1
    assert copied["auth_audit"] == 3
    assert copied["local_auth_lists"] == 1
    assert _all_rows(db_url) == expected

    old, new = SessionStore(source), SessionStore(db_url)
    await old.async_open()
    await new.async_open()
    try:
        assert await new.async_sessions() == await old.async_sessions()
        ids = [s.id for s in await old.async_sessions()]
        assert await new.async_costs(ids) == await old.async_costs(ids)
        await new.async_save_audit([AuditEntry(at=at(9), source=AuditSource.AUTHORIZE)])
        audit = await new.async_query_audit(limit=None)
        assert len(audit) == 4
    finally:
        await old.async_close()
        await new.async_close()

    before = _all_rows(db_url)
    with pytest.raises(TargetNotEmptyError, match="not empty"):
        copy_database(source, db_url)
    assert _all_rows(db_url) == before


def test_copy_command_reports_and_hides_passwords(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The command prints the rows per table; a failure says why without the password."""
    source = f"sqlite:///{tmp_path / 'source.db'}"
    target = f"sqlite:///{tmp_path / 'target.db'}"
    assert main([source, target]) == 0
    out = capsys.readouterr().out
    assert "sessions: 0 rows" in out
    assert f"copied {source} to {target}" in out
    assert main([source, "postgresql+psycopg://ev:s3cret@127.0.0.1:1/ev"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("not copied: ")
    assert "s3cret" not in err
    assert main([source]) == 2


def test_copy_failure_is_a_storage_error(tmp_path: Path) -> None:
    """A target that cannot be opened is a StorageError naming no password."""
    source = f"sqlite:///{tmp_path / 'source.db'}"
    with pytest.raises(StorageError) as failed:
        copy_database(source, f"sqlite:///{tmp_path}/missing/dir/ev.db")
    assert "unable to open" in str(failed.value)
