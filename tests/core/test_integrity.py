"""Nothing a charger sends can break the record: bad values, clock jumps, storage faults."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
import json
import logging
import math
from typing import Any

import pytest
from sqlalchemy import event

from custom_components.ev_sessions.chargers.events import ConnectorState
from custom_components.ev_sessions.core import AnomalyKind, ProfilePoint, StorageError
from custom_components.ev_sessions.core.model import StorageStatus
from custom_components.ev_sessions.core.storage import StorageFault

from .helpers import CP, Harness, at, ended, refusing_writes, sample, started, status

CP2 = "cp-2"


@pytest.fixture
async def harness(db_url: str) -> AsyncIterator[Harness]:
    """Engines over one fresh database (each backend), stopped after the test."""
    h = Harness(db_url)
    yield h
    await h.close()


def _kinds(session: object) -> dict[AnomalyKind, int]:
    return {a.kind: a.count for a in getattr(session, "anomalies", [])}


# --------------------------------------------------------------------------- values


async def test_non_finite_and_huge_values_are_ignored(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """NaN power, a 1e30 register, NaN/huge currents and voltages, SoC 150: each is ignored,
    the rest of the sample is used, the session stays saveable and one warning is logged."""
    engine = await harness.engine()
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    engine.handle_event(started(at(0), "1", 10_000))
    engine.handle_event(
        sample(at(1), transaction_id="1", energy_register_wh=10_100, power_w=7000.0)
    )
    with caplog.at_level(logging.WARNING):
        engine.handle_event(
            sample(
                at(2),
                transaction_id="1",
                energy_register_wh=10**30,
                power_w=math.nan,
                current_a=(math.nan, 1e30, 16.0),
                voltage_v=(math.inf, 230.0, -5.0),
                soc_pct=150.0,
            )
        )
        view = engine.connector(CP, 1)
        assert view.current_a == (None, None, 16.0)
        assert view.voltage_v == (None, 230.0, None)
        assert (view.soc_pct, view.power_w) == (None, None)
        engine.handle_event(
            sample(at(3), transaction_id="1", energy_register_wh=2**63, power_w=math.inf)
        )
    assert view.energy_register_wh == 10_100
    engine.handle_event(
        sample(at(4), transaction_id="1", energy_register_wh=10_300, power_w=7000.0)
    )
    engine.handle_event(ended(at(5), "1", 10_400))
    session = view.session
    assert session is not None
    assert session.energy_wh == 400
    assert (session.meter_start_wh, session.meter_stop_wh) == (10_000, 10_400)
    assert session.max_power_w == 7000.0
    assert _kinds(session)[AnomalyKind.IMPLAUSIBLE_VALUE] == 2
    assert engine.lifetime_energy_wh(CP) == 400
    warnings = [r for r in caplog.records if "cannot be real" in r.getMessage()]
    assert len(warnings) == 1  # once per charger
    await engine.async_flush()
    assert engine.storage_status == StorageStatus()
    stored = await engine.async_sessions()
    assert [(s.energy_wh, s.max_power_w) for s in stored] == [(400, 7000.0)]


async def test_negative_and_nan_meter_start_and_stop_are_refused(harness: Harness) -> None:
    """meterStart -5000 is not stored; a NaN meterStop does not lose the transaction end."""
    engine = await harness.engine()
    engine.handle_event(status(at(0), ConnectorState.PREPARING))
    engine.handle_event(started(at(0), "7", -5000))
    session = engine.connector(CP, 1).session
    assert session is not None
    assert session.meter_start_wh is None
    assert engine.last_registers(CP, 1)[0] is None
    engine.handle_event(sample(at(1), transaction_id="7", energy_register_wh=20_000))
    engine.handle_event(sample(at(2), transaction_id="7", energy_register_wh=20_500))
    engine.handle_event(ended(at(3), "7", math.nan, reason="Local"))  # type: ignore[arg-type]
    assert session.transaction_ended_at == at(3)
    assert session.stop_reason == "Local"
    assert (session.meter_start_wh, session.meter_stop_wh, session.energy_wh) == (
        20_000,
        20_500,
        500,
    )
    assert _kinds(session)[AnomalyKind.IMPLAUSIBLE_VALUE] == 2
    await engine.async_flush()
    [stored] = await engine.async_sessions()
    assert (stored.meter_start_wh, stored.meter_stop_wh) == (20_000, 20_500)


# --------------------------------------------------------------------------- clock jumps


async def test_sample_stamped_hours_ahead_does_not_freeze_counting(harness: Harness) -> None:
    """One sample stamped 2 h ahead is taken as received; later samples and the meterStop
    count, and so does the lifetime counter (of this session and the next)."""
    engine = await harness.engine(future_tolerance=timedelta(minutes=5))
    clock = harness.clock
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    engine.handle_event(started(at(0), "1", 50_000))
    clock.now = at(1)
    engine.handle_event(
        sample(at(1), transaction_id="1", energy_register_wh=50_100, power_w=6000.0)
    )
    clock.now = at(2)
    engine.handle_event(sample(at(120 + 2), transaction_id="1", energy_register_wh=50_200))
    for m in range(3, 11):
        clock.now = at(m)
        engine.handle_event(
            sample(at(m), transaction_id="1", energy_register_wh=50_000 + 100 * m, power_w=6000.0)
        )
    clock.now = at(11)
    engine.handle_event(ended(at(11), "1", 51_500))
    engine.handle_event(status(at(11), ConnectorState.AVAILABLE))
    session = engine.connector(CP, 1).last_session
    assert session is not None
    assert session.energy_wh == 1_500
    assert session.meter_stop_wh == 51_500
    assert session.unplugged_at == at(11)
    assert _kinds(session) == {AnomalyKind.CLOCK_AHEAD: 1}
    assert engine.lifetime_energy_wh(CP) == 1_500
    # the next session counts too
    clock.now = at(20)
    engine.handle_event(status(at(20), ConnectorState.CHARGING))
    engine.handle_event(started(at(20), "2", 51_500))
    clock.now = at(30)
    engine.handle_event(ended(at(30), "2", 52_000))
    assert engine.connector(CP, 1).session is not None
    assert engine.connector(CP, 1).session.energy_wh == 500  # type: ignore[union-attr]
    assert engine.lifetime_energy_wh(CP) == 2_000


async def test_restamped_reading_keeps_the_chargers_elapsed_time_for_plausibility(
    harness: Harness,
) -> None:
    """A reading re-stamped at the hub's clock is not an implausible jump just because its
    stamp moved: the charger said 21 minutes passed (10 kWh: 28 kW, not 600 kW)."""
    engine = await harness.engine(future_tolerance=timedelta(minutes=5))
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    engine.handle_event(started(at(0), "1", 1_000))
    harness.clock.now = at(1)
    engine.handle_event(sample(at(22), transaction_id="1", energy_register_wh=11_000))
    session = engine.connector(CP, 1).session
    assert session is not None
    assert session.energy_wh == 10_000
    assert _kinds(session) == {AnomalyKind.CLOCK_AHEAD: 1}
    assert engine.lifetime_energy_wh(CP) == 10_000


async def test_stamp_slightly_ahead_then_earlier_readings_still_count(harness: Harness) -> None:
    """A sample 4 min ahead (within the tolerance), then the clock is corrected: the register
    readings stamped before it still count when the register moved forward."""
    engine = await harness.engine(future_tolerance=timedelta(minutes=5))
    clock = harness.clock
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    engine.handle_event(started(at(0), "1", 1_000))
    clock.now = at(1)
    engine.handle_event(sample(at(5), transaction_id="1", energy_register_wh=1_100))
    clock.now = at(2)
    engine.handle_event(sample(at(2), transaction_id="1", energy_register_wh=1_200))
    engine.handle_event(sample(at(2), transaction_id="1", energy_register_wh=1_200))  # replay
    engine.handle_event(sample(at(1.5), transaction_id="1", energy_register_wh=1_150))  # old
    clock.now = at(3)
    engine.handle_event(ended(at(3), "1", 1_900))  # 700 Wh in "0 s": within the tolerance
    session = engine.connector(CP, 1).session
    assert session is not None
    assert (session.energy_wh, session.meter_stop_wh) == (900, 1_900)
    assert engine.lifetime_energy_wh(CP) == 900
    assert AnomalyKind.CLOCK_AHEAD not in _kinds(session)


async def test_meter_state_saved_ahead_of_the_clock_is_healed_at_start(harness: Harness) -> None:
    """Counters saved while a future stamp was accepted (before this fix) do not freeze the
    counting after a restart."""
    old = await harness.engine()  # no tolerance: behaves like the engine before the fix
    old.handle_event(status(at(0), ConnectorState.CHARGING))
    old.handle_event(started(at(0), "1", 1_000))
    old.handle_event(sample(at(120), transaction_id="1", energy_register_wh=1_100))
    await old.async_stop()
    harness.clock.now = at(2)
    engine = await harness.engine(future_tolerance=timedelta(minutes=5))
    for m in range(3, 6):
        harness.clock.now = at(m)
        engine.handle_event(sample(at(m), transaction_id="1", energy_register_wh=1_000 + 200 * m))
    engine.handle_event(ended(at(5), "1", 2_000))
    session = engine.connector(CP, 1).session
    assert session is not None
    assert (session.energy_wh, session.meter_stop_wh) == (1_000, 2_000)
    assert engine.lifetime_energy_wh(CP) == 1_000


# --------------------------------------------------------------------------- unknown ends


async def test_unknown_transaction_end_without_retroactive_changes_nothing(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """An OCPP 1.6 StopTransaction for an id the hub never issued: no session, no event, the
    connector's sessions and the lifetime counter untouched."""
    engine = await harness.engine()
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    engine.handle_event(started(at(0), "1", 10_000))
    engine.handle_event(sample(at(1), transaction_id="1", energy_register_wh=10_500, power_w=7e3))
    engine.handle_event(ended(at(2), "1", 11_000))
    engine.handle_event(status(at(3), ConnectorState.AVAILABLE))
    engine.handle_event(status(at(4), ConnectorState.CHARGING))
    engine.handle_event(started(at(4), "2", 11_000))
    view = engine.connector(CP, 1)
    live, last = view.session, view.last_session
    events_before = harness.kinds()
    with caplog.at_level(logging.WARNING):
        engine.handle_event(ended(at(5), "999", 99_999, retroactive=False))
        engine.handle_event(ended(at(5), "998", 99_999, connector=None, retroactive=False))
    assert harness.kinds() == events_before
    assert (view.session, view.last_session) == (live, last)
    assert live is not None
    assert last is not None
    assert live.transaction_ended_at is None
    assert live.energy_wh == 0
    assert last.energy_wh == 1_000
    assert engine.lifetime_energy_wh(CP) == 1_000
    assert engine.last_registers(CP, 1)[0] == 11_000
    assert sum("never started" in r.getMessage() for r in caplog.records) == 1
    engine.handle_event(sample(at(6), transaction_id="2", energy_register_wh=11_300, power_w=7e3))
    assert live.energy_wh == 300  # counting continues from the real register
    await engine.async_flush()
    assert sorted(s.transaction_id or "" for s in await engine.async_sessions()) == ["1", "2"]


# --------------------------------------------------------------------------- storage faults


async def test_a_row_the_database_refuses_is_quarantined_and_others_are_written(
    harness: Harness,
) -> None:
    """A session the driver cannot store (a tag with a lone surrogate slipped past) does not
    stop the other chargers' writes nor the flush loop; it is quarantined and reported, and
    retried when it changes."""
    engine = await harness.engine(flush_interval=timedelta(seconds=0.05))
    reports: list[StorageStatus] = []
    engine.storage_changes.add(reports.append)
    engine.handle_event(status(at(0), ConnectorState.CHARGING, charger=CP2))
    engine.handle_event(started(at(0), "ok", 1_000, charger=CP2))
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    engine.handle_event(started(at(0), "bad", 5_000, id_tag="\udc80"))
    engine.handle_event(sample(at(1), transaction_id="bad", energy_register_wh=5_100))
    await engine.async_flush()  # no exception: the bad row is confined
    bad = engine.connector(CP, 1).session
    assert bad is not None
    status_now = engine.storage_status
    assert status_now.writable is True
    assert [(q.kind, q.key) for q in status_now.quarantined] == [("session", bad.id)]
    assert "surrogates not allowed" in status_now.quarantined[0].error
    assert reports[-1].quarantined == status_now.quarantined
    [stored] = await harness.engines[0]._store.async_quarantined()
    assert (stored.kind, stored.key, stored.attempts) == ("session", bad.id, 1)
    data = json.loads(stored.data)
    assert (data["energy_wh"], data["meter_start_wh"], data["transaction_id"]) == (
        100,
        5_000,
        "bad",
    )
    # the other charger's later changes are written by the periodic flush, and the lifetime
    # counter of the bad session's charger (a row of its own) too
    engine.handle_event(sample(at(2), transaction_id="ok", energy_register_wh=1_700, charger=CP2))
    await asyncio.sleep(0.3)
    stored_sessions = await harness.engines[0]._store.async_sessions()
    assert [(s.charger_id, s.energy_wh) for s in stored_sessions] == [(CP2, 700)]
    lifetimes = {r.charger_id: r.total_wh for r in await engine._store.async_load_lifetimes()}
    assert lifetimes == {CP: 100, CP2: 700}
    # kept out of the batches until it changes; then tried again (and refused again)
    commits = engine._store.commits
    await engine.async_flush()
    assert engine._store.commits == commits
    engine.handle_event(sample(at(3), transaction_id="bad", energy_register_wh=5_300))
    await engine.async_flush()
    [stored] = await engine._store.async_quarantined()
    assert stored.attempts == 2
    assert json.loads(stored.data)["energy_wh"] == 300
    # once the data is storable it is written and no longer reported
    engine.attribute(bad.id, None, "TAG")  # a re-attribution corrects the tag
    await engine.async_flush()
    assert engine.storage_status.quarantined == ()
    assert reports[-1].quarantined == ()
    assert {s.transaction_id: s.energy_wh for s in await engine.async_sessions()} == {
        "ok": 700,
        "bad": 300,
    }


async def test_implausible_state_that_slipped_past_is_confined(harness: Harness) -> None:
    """Even a NaN or a 1e30 inside a session (not from an event) only quarantines that row."""
    engine = await harness.engine()
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    engine.handle_event(status(at(0), ConnectorState.CHARGING, connector=2))
    engine.handle_event(status(at(0), ConnectorState.CHARGING, charger=CP2))
    await engine.async_flush()
    one = engine.connector(CP, 1).session
    two = engine.connector(CP, 2).session
    assert one is not None
    assert two is not None
    one.energy_wh = 10**30  # what an unchecked register would have produced
    two.max_power_w = math.nan
    two.profile[-1] = ProfilePoint(at=at(1), energy_wh=0, power_w=math.nan)
    engine.handle_event(sample(at(1), energy_register_wh=100, charger=CP2))
    engine.handle_event(sample(at(2), energy_register_wh=300, charger=CP2))
    engine.attribute(one.id, "m1", None)
    engine.attribute(two.id, "m1", None)
    await engine.async_flush()
    assert sorted(q.key for q in engine.storage_status.quarantined) == sorted([one.id, two.id])
    stored = {
        s.charger_id: s.energy_wh for s in await engine.async_sessions() if s.charger_id == CP2
    }
    assert stored == {CP2: 200}


async def test_listing_and_shutdown_while_the_database_refuses_writes(
    harness: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    """async_sessions reads what is stored when the flush fails; the flush loop keeps going;
    shutdown tries the final save and logs what it could not write."""
    engine = await harness.engine(flush_interval=timedelta(seconds=0.05))
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    engine.handle_event(started(at(0), "1", 1_000))
    await engine.async_flush()
    store = engine._store
    reports: list[StorageStatus] = []
    engine.storage_changes.add(reports.append)
    with refusing_writes(store):
        engine.handle_event(sample(at(1), transaction_id="1", energy_register_wh=1_400))
        [listed] = await engine.async_sessions()  # no StorageError
        assert listed.energy_wh == 0  # what is stored
        await asyncio.sleep(0.2)  # the loop fails several times and goes on
        assert engine._task is not None
        assert not engine._task.done()
        assert [r.writable for r in reports] == [False]
        assert reports[0].fault == str(StorageFault.READ_ONLY)
        with pytest.raises(StorageError):
            await engine.async_flush()
        session = engine.connector(CP, 1).session
        assert session is not None
        with caplog.at_level(logging.ERROR):
            await engine.async_stop()  # does not raise
    assert any(
        "Unsaved session" in r.getMessage() and session.id in r.getMessage() for r in caplog.records
    )


async def test_shutdown_saves_after_flush_loop_recovered(harness: Harness) -> None:
    """Writes fail, then work again: the listener hears both and the data is stored."""
    engine = await harness.engine(flush_interval=timedelta(seconds=0.05))
    reports: list[StorageStatus] = []
    engine.storage_changes.add(reports.append)
    store = engine._store
    with refusing_writes(store):
        engine.handle_event(status(at(0), ConnectorState.CHARGING))
        engine.handle_event(started(at(0), "1", 1_000))
        engine.handle_event(sample(at(1), transaction_id="1", energy_register_wh=1_250))
        await asyncio.sleep(0.15)
    await asyncio.sleep(0.2)
    assert [r.writable for r in reports] == [False, True]
    await engine.async_stop()
    store2 = harness.engines[0]._store
    await store2.async_open()
    try:
        assert [s.energy_wh for s in await store2.async_sessions()] == [250]
    finally:
        await store2.async_close()


@pytest.mark.parametrize("db_backend", ["sqlite"])  # SQLite's page limit makes it full
async def test_full_disk_is_a_database_fault_not_a_bad_row(harness: Harness) -> None:
    """A full database (SQLITE_FULL) keeps every change pending; nothing is quarantined."""
    engine = await harness.engine(flush_interval=timedelta(seconds=60))
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    await engine.async_flush()
    store = engine._store
    sql_engine = store.engine

    def no_new_pages(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count={pages}")
        cursor.close()

    event.listen(sql_engine, "connect", no_new_pages)
    sql_engine.dispose()
    try:
        for n in range(30):  # sessions with large profiles need new pages
            engine.handle_event(status(at(n), ConnectorState.CHARGING, charger=f"cp-{n + 10}"))
            for m in range(200):
                engine.handle_event(
                    sample(
                        at(n, seconds=m),
                        charger=f"cp-{n + 10}",
                        energy_register_wh=1_000 + 20 * m,
                        power_w=float(m * 37 % 11_000),
                    )
                )
        with pytest.raises(StorageError) as failed:
            await engine.async_flush()
        assert failed.value.fault is StorageFault.FULL
        assert engine.storage_status.quarantined == ()
        assert engine.storage_status.fault == "full"
    finally:
        event.remove(sql_engine, "connect", no_new_pages)
        sql_engine.dispose()
    await engine.async_flush()
    assert len(await engine.async_sessions()) == 31
