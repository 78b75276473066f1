"""Less common paths: connection state, late messages, faults, failures, settings."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from custom_components.ev_sessions.chargers.events import (
    AuthorizationStatus,
    ChargerConnected,
    ChargerDisconnected,
    ChargerInfo,
    ConnectorState,
    ProtocolDeviation,
    TagPresented,
)
from custom_components.ev_sessions.core import (
    EngineSettings,
    Session,
    SpeedClass,
    StorageError,
    Target,
)
from custom_components.ev_sessions.core.estimate import (
    remaining_energy_wh,
    seconds_to_deliver,
)
from custom_components.ev_sessions.core.storage import StorageFault

from .helpers import CP, Harness, at, ended, refusing_writes, sample, started, status


@pytest.fixture
async def harness(db_url: str) -> AsyncIterator[Harness]:
    """Engines over one fresh database (each backend), stopped after the test."""
    h = Harness(db_url)
    yield h
    await h.close()


async def test_connection_state_and_views(harness: Harness) -> None:
    """Connected flag, charger ids, empty views for unknown connectors, ignored events."""
    engine = await harness.engine()
    assert not engine.is_connected(CP)
    engine.handle_event(
        ChargerConnected(charger_id=CP, at=at(0), info=ChargerInfo(protocol="ocpp1.6"))
    )
    assert engine.is_connected(CP)
    engine.handle_event(ProtocolDeviation(charger_id=CP, at=at(0), kind="x", detail="y"))
    engine.handle_event(status(at(0), ConnectorState.UNAVAILABLE, connector=0))
    engine.handle_event(ChargerDisconnected(charger_id=CP, at=at(1)))
    assert not engine.is_connected(CP)
    assert engine.charger_ids() == [CP]
    assert engine.connectors(CP) == []
    assert engine.connectors("other") == []
    view = engine.connector(CP, 3)
    assert (view.connector_id, view.session, view.status) == (3, None, ConnectorState.UNKNOWN)
    assert engine.lifetime_energy_wh("other") == 0


async def test_late_sample_and_stop_after_unplug(harness: Harness) -> None:
    """Available before StopTransaction, and a last sample after it: same session updated."""
    engine = await harness.engine()
    engine.handle_event(started(at(0), "5", 1_000))
    engine.handle_event(sample(at(1), transaction_id="5", energy_register_wh=1_500, power_w=7e3))
    engine.handle_event(status(at(2), ConnectorState.AVAILABLE))
    engine.handle_event(sample(at(2.5), transaction_id="5", energy_register_wh=1_550))
    engine.handle_event(ended(at(3), "5", 1_600, reason="EVDisconnected"))
    engine.handle_event(started(at(3), "5", 1_000))  # replayed start: ignored
    session = engine.connector(CP, 1).last_session
    assert session is not None
    assert engine.connector(CP, 1).session is None
    assert session.energy_wh == 600
    assert session.meter_stop_wh == 1_600
    assert session.stop_reason == "EVDisconnected"  # the charger's reason wins
    assert session.transaction_ended_at == at(3)
    assert session.profile[-1].energy_wh == 600
    assert harness.kinds() == ["started", "charging_finished", "ended"]


async def test_stop_without_id_attaches_to_status_session(harness: Harness) -> None:
    """A stop of an unknown transaction lands on the one open session without a transaction."""
    engine = await harness.engine()
    engine.handle_event(status(at(0), ConnectorState.PREPARING, connector=2))
    engine.handle_event(sample(at(1), connector=2, energy_register_wh=100, power_w=2000.0))
    engine.handle_event(ended(at(5), "x", 300, connector=None))
    session = engine.connector(CP, 2).session
    assert session is not None
    assert session.transaction_id == "x"
    assert session.energy_wh == 200
    assert session.speed_class is SpeedClass.SLOW
    assert session.charging_finished_at == at(5)


async def test_fault_stops_flow_and_tags(harness: Harness) -> None:
    """A fault keeps the session but stops the flow; tags fill the open session."""
    engine = await harness.engine(finish_after=timedelta(minutes=1))
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    engine.handle_event(
        TagPresented(
            charger_id=CP,
            at=at(0),
            connector_id=1,
            id_tag="BAD",
            status=AuthorizationStatus.INVALID,
        )
    )
    engine.handle_event(
        TagPresented(
            charger_id=CP,
            at=at(0),
            connector_id=1,
            id_tag="OK",
            status=AuthorizationStatus.ACCEPTED,
        )
    )
    engine.handle_event(status(at(5), ConnectorState.FAULTED))
    engine.handle_event(status(at(7), ConnectorState.FAULTED))
    session = engine.connector(CP, 1).session
    assert session is not None
    assert session.id_tag == "OK"
    assert session.charging_finished_at == at(5)
    assert session.charging_duration_s == 300.0


async def test_listener_errors_do_not_break_the_engine(harness: Harness) -> None:
    """A failing listener is logged; other listeners and the engine go on."""
    engine = await harness.engine()

    def broken(*_args: object) -> None:
        raise RuntimeError("boom")

    engine.charger_changes.add(CP, broken)
    remove = engine.session_events.add(broken)
    engine.handle_event(status(at(0), ConnectorState.PREPARING))
    assert harness.kinds() == ["started"]
    remove()
    remove()


async def test_failed_write_is_retried(harness: Harness) -> None:
    """A database refusing writes keeps everything pending for the next flush."""
    engine = await harness.engine(flush_interval=timedelta(seconds=60))
    store = engine._store
    with refusing_writes(store):
        engine.handle_event(status(at(0), ConnectorState.CHARGING))
        engine.handle_event(sample(at(1), energy_register_wh=10, power_w=3000.0))
        engine.handle_event(sample(at(2), energy_register_wh=60, power_w=3000.0))
        with pytest.raises(StorageError) as failed:
            await engine.async_flush()
        assert failed.value.fault is StorageFault.READ_ONLY
        assert engine.storage_status.writable is False
        assert engine.storage_status.pending == 2  # the session and the lifetime counter
    await engine.async_flush()
    assert engine.storage_status.writable is True
    stored = await store.async_load_open()
    assert [s.energy_wh for s in stored] == [50]
    assert [r.total_wh for r in await store.async_load_lifetimes()] == [50]


async def test_average_speed_basis(harness: Harness) -> None:
    """speed_basis='avg' classifies by energy over charging time."""
    engine = await harness.engine(speed_basis="avg")
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    engine.handle_event(sample(at(0), energy_register_wh=0, power_w=12_000.0))
    engine.handle_event(sample(at(60), energy_register_wh=5_000, power_w=12_000.0))
    engine.handle_event(status(at(61), ConnectorState.AVAILABLE))
    session = engine.connector(CP, 1).last_session
    assert session is not None
    assert session.avg_power_w is not None
    assert session.avg_power_w < 11_000
    assert session.speed_class is SpeedClass.NORMAL


async def test_ended_sessions_kept_for_stats_and_pruned(harness: Harness) -> None:
    """Restored ended sessions feed stats until they are older than the retention."""
    engine = await harness.engine()
    engine.handle_event(status(at(0), ConnectorState.PREPARING))
    engine.handle_event(status(at(30), ConnectorState.AVAILABLE))
    await engine.async_stop()
    harness.engines.remove(engine)
    engine = await harness.engine(stats_retention=timedelta(hours=2))
    last = engine.connector(CP, 1).last_session
    assert last is not None
    assert engine.session(last.id) is last
    assert engine.stats(CP, day_start=at(-1)).sessions_today == 1
    harness.clock.now = at(200)
    await engine.async_flush()
    engine._check_timeouts(harness.clock.now)
    assert engine.session(last.id) is None
    assert engine.stats(CP).sessions_today == 0


def test_estimate_math() -> None:
    """Remaining energy and delivery time, including a taper down to the floor."""
    session = Session(id="s", charger_id=CP, connector_id=1, plugged_in_at=at(0), energy_wh=5000)
    assert remaining_energy_wh(session, Target(energy_wh=8000), None) == 3000
    assert remaining_energy_wh(session, Target(soc_pct=80), None) is None
    assert remaining_energy_wh(session, Target(soc_pct=80), 50) is None  # nothing learnt yet
    assert remaining_energy_wh(session, Target(soc_pct=80, battery_wh=50_000), 70) == 5000
    assert seconds_to_deliver(1000, 10_000, 0.0) == 360.0
    # falling 10 W/s from 10 kW: 3600 s would reach 0; the floor is 1 kW after 900 s
    t = seconds_to_deliver(1000, 10_000, -10.0)
    assert 360 < t < 900
    joules_to_floor = (10_000 + 1_000) / 2 * 900
    assert seconds_to_deliver(joules_to_floor / 3600 + 1000, 10_000, -10.0) == pytest.approx(
        900 + 3600
    )


async def test_settings_defaults() -> None:
    """Defaults match the documented thresholds."""
    settings = EngineSettings()
    assert (settings.slow_max_w, settings.fast_min_w, settings.speed_basis) == (3700, 11000, "max")
    assert settings.flush_interval == timedelta(minutes=1)
    assert settings.future_tolerance == timedelta(minutes=5)


async def test_sample_transaction_id_then_late_start(harness: Harness) -> None:
    """A sample names the transaction first; its start arrives later with the tag."""
    engine = await harness.engine()
    engine.handle_event(status(at(0), ConnectorState.PREPARING))
    engine.handle_event(sample(at(1), transaction_id="9", energy_register_wh=700, power_w=4e3))
    engine.handle_event(started(at(0.5), "9", 690, id_tag="LATE", offline=True))
    engine.handle_event(sample(at(2), transaction_id="9", energy_register_wh=760, power_w=4e3))
    session = engine.connector(CP, 1).session
    assert session is not None
    assert (session.transaction_id, session.id_tag) == ("9", "LATE")
    assert session.energy_wh == 60  # the late start reading is older: not counted twice
    assert harness.kinds() == ["started"]
    await engine.async_stop()
    await engine.async_stop()  # idempotent
