"""Event sequences through the engine, with a real SQLite file."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from custom_components.ev_sessions.chargers.events import ConnectorState
from custom_components.ev_sessions.core import AnomalyKind, SpeedClass

from .helpers import CP, Harness, at, ended, sample, started, status


@pytest.fixture
async def harness(db_url: str) -> AsyncIterator[Harness]:
    """Engines over one fresh database (each backend), stopped after the test."""
    h = Harness(db_url)
    yield h
    await h.close()


async def test_normal_ocpp_session(harness: Harness) -> None:
    """Plug, authorize, charge 2 h at 7.2 kW, car full, idle 1 h, unplug."""
    engine = await harness.engine()
    engine.handle_event(status(at(0), ConnectorState.PREPARING))
    engine.handle_event(started(at(0.5), "1", 100_000, id_tag="TAG1"))
    engine.handle_event(status(at(1), ConnectorState.CHARGING))
    for m in range(1, 122):
        engine.handle_event(
            sample(
                at(m),
                transaction_id="1",
                energy_register_wh=100_000 + 120 * (m - 1),
                power_w=7200.0,
            )
        )
    engine.handle_event(status(at(121), ConnectorState.SUSPENDED_EV))
    for m in range(122, 181):
        engine.handle_event(
            sample(at(m), transaction_id="1", energy_register_wh=114_400, power_w=0.0)
        )
    live = engine.connector(CP, 1).session
    assert live is not None
    assert live.idle_time(at(151)) == timedelta(minutes=30)
    engine.handle_event(ended(at(181), "1", 114_400, reason="EVDisconnected"))
    assert engine.connector(CP, 1).session is not None  # still plugged in
    engine.handle_event(status(at(182), ConnectorState.AVAILABLE))

    view = engine.connector(CP, 1)
    assert view.session is None
    session = view.last_session
    assert session is not None
    assert session.energy_wh == 14_400
    assert (session.meter_start_wh, session.meter_stop_wh) == (100_000, 114_400)
    assert session.transaction_id == "1"
    assert session.id_tag == "TAG1"
    assert session.plugged_in_at == at(0)
    assert session.charging_started_at == at(1)
    assert session.charging_finished_at == at(121)
    assert session.unplugged_at == at(182)
    assert session.idle_time() == timedelta(minutes=61)
    assert session.max_power_w == 7200.0
    assert session.charging_duration_s == 7200.0
    assert session.avg_power_w == pytest.approx(7200.0)
    assert session.speed_class is SpeedClass.NORMAL
    assert session.stop_reason == "EVDisconnected"
    assert session.anomalies == []
    assert harness.kinds() == ["started", "charging_finished", "ended"]  # no double start
    assert engine.lifetime_energy_wh(CP) == 14_400

    stored = await engine.async_sessions()
    assert len(stored) == 1
    assert stored[0].id == session.id
    assert stored[0].energy_wh == 14_400
    assert stored[0].charging_finished_at == at(121)
    assert stored[0].unplugged_at == at(182)
    assert stored[0].speed_class is SpeedClass.NORMAL
    assert stored[0].profile[-1].energy_wh - stored[0].profile[0].energy_wh == 14_400


async def test_the_last_samples_power_ends_with_the_transaction(harness: Harness) -> None:
    """A charger sends no more samples once its transaction ended: the connector then shows
    0 W and 0 A on the phases it measured, not the last sample's 7.4 kW (the car is still
    plugged in, status Finishing)."""
    engine = await harness.engine()
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    engine.handle_event(started(at(0), "1", 1_000))
    engine.handle_event(
        sample(
            at(1),
            transaction_id="1",
            energy_register_wh=1_123,
            power_w=7400.0,
            current_a=(32.2, None, None),
        )
    )
    assert engine.connector(CP, 1).power_w == 7400.0
    engine.handle_event(ended(at(2), "1", 1_246))
    engine.handle_event(status(at(2), ConnectorState.FINISHING))
    view = engine.connector(CP, 1)
    assert view.session is not None  # still plugged in
    assert view.power_w == 0.0
    assert view.current_a == (0.0, None, None)


async def test_two_connectors_are_independent(harness: Harness) -> None:
    """Two vehicles at once on one charger: two sessions, energies apart, lifetime summed."""
    engine = await harness.engine()
    engine.handle_event(status(at(0), ConnectorState.PREPARING, connector=1))
    engine.handle_event(status(at(0), ConnectorState.PREPARING, connector=2))
    for k in range(11):
        engine.handle_event(
            sample(at(k), connector=1, energy_register_wh=1_000 + 100 * k, power_w=6000.0)
        )
        engine.handle_event(
            sample(at(k), connector=2, energy_register_wh=50_000 + 200 * k, power_w=12000.0)
        )
    first = engine.connector(CP, 1).session
    second = engine.connector(CP, 2).session
    assert first is not None
    assert second is not None
    assert first.id != second.id
    engine.handle_event(status(at(20), ConnectorState.AVAILABLE, connector=1))
    assert engine.connector(CP, 2).session is second
    engine.handle_event(status(at(30), ConnectorState.AVAILABLE, connector=2))
    assert (first.energy_wh, second.energy_wh) == (1_000, 2_000)
    assert (first.speed_class, second.speed_class) == (SpeedClass.NORMAL, SpeedClass.FAST)
    assert engine.connectors(CP) == [1, 2]
    assert engine.lifetime_energy_wh(CP) == 3_000


async def test_restart_mid_session_continues_same_session(harness: Harness) -> None:
    """Clean restart between samples: the same session continues with exact energy."""
    engine = await harness.engine()
    engine.handle_event(status(at(0), ConnectorState.PREPARING))
    engine.handle_event(started(at(0), "7", 2_000))
    engine.handle_event(status(at(1), ConnectorState.CHARGING))
    for m in range(1, 31):
        engine.handle_event(
            sample(at(m), transaction_id="7", energy_register_wh=2_000 + 100 * m, power_w=6000.0)
        )
    session_id = engine.connector(CP, 1).session.id  # type: ignore[union-attr]
    await engine.async_stop()

    engine2 = await harness.engine()
    restored = engine2.connector(CP, 1).session
    assert restored is not None
    assert restored.id == session_id
    assert restored.energy_wh == 3_000
    assert restored.transaction_id == "7"
    engine2.handle_event(
        status(at(30.5), ConnectorState.CHARGING)
    )  # charger re-reports after reconnect
    for m in range(31, 61):
        engine2.handle_event(
            sample(at(m), transaction_id="7", energy_register_wh=2_000 + 100 * m, power_w=6000.0)
        )
    engine2.handle_event(ended(at(61), "7", 8_000))
    engine2.handle_event(status(at(62), ConnectorState.AVAILABLE))
    session = engine2.connector(CP, 1).last_session
    assert session is not None
    assert session.id == session_id
    assert session.energy_wh == 6_000
    assert (session.meter_start_wh, session.meter_stop_wh) == (2_000, 8_000)
    assert session.charging_duration_s == pytest.approx(3600.0)
    assert harness.kinds().count("started") == 1
    assert engine2.lifetime_energy_wh(CP) == 6_000
    assert [s.id for s in await engine2.async_sessions()] == [session_id]


async def test_crash_after_periodic_flush_loses_no_energy(harness: Harness) -> None:
    """Samples after the last flush are lost with the process, but the register covers them."""
    engine = await harness.engine()
    engine.handle_event(status(at(0), ConnectorState.PREPARING))
    for m in range(21):
        engine.handle_event(sample(at(m), energy_register_wh=10_000 + 50 * m, power_w=3000.0))
    await engine.async_flush()
    for m in range(21, 31):
        engine.handle_event(sample(at(m), energy_register_wh=10_000 + 50 * m, power_w=3000.0))
    # crash: no final flush
    assert engine._task is not None
    engine._task.cancel()
    await engine._store.async_close()
    harness.engines.remove(engine)

    engine2 = await harness.engine()
    session = engine2.connector(CP, 1).session
    assert session is not None
    assert session.energy_wh == 1_000
    engine2.handle_event(sample(at(31), energy_register_wh=10_000 + 50 * 31, power_w=3000.0))
    assert session.energy_wh == 1_550
    assert engine2.lifetime_energy_wh(CP) == 1_550


@pytest.mark.parametrize(
    ("registers", "energy", "kind"),
    [
        ([5_000, 5_100, 0, 50, 150], 250, AnomalyKind.METER_RESET),
        ([5_000, 5_100, 0, 5_150], 150, AnomalyKind.METER_RESET),  # glitch to 0 and back
        ([2**32 - 100, 2**32 - 50, 30, 80], 180, AnomalyKind.ROLLOVER),
        ([1_000, 1_100, 9_000_000, 9_000_100], 200, AnomalyKind.IMPLAUSIBLE_JUMP),
    ],
)
async def test_register_anomalies(
    harness: Harness, registers: list[int], energy: int, kind: AnomalyKind
) -> None:
    """Resets, glitches, 32-bit rollover and impossible jumps: never negative, flagged."""
    engine = await harness.engine()
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    lifetimes = []
    for m, register in enumerate(registers):
        engine.handle_event(sample(at(m), energy_register_wh=register, power_w=6000.0))
        lifetimes.append(engine.lifetime_energy_wh(CP))
    session = engine.connector(CP, 1).session
    assert session is not None
    assert session.energy_wh == energy
    assert [a.kind for a in session.anomalies] == [kind]
    assert lifetimes == sorted(lifetimes)
    assert lifetimes[-1] == energy


async def test_per_session_register_meter_start_zero(harness: Harness) -> None:
    """A charger whose register restarts at 0 with every transaction."""
    engine = await harness.engine()
    for tx, total in (("a", 3_000), ("b", 2_000)):
        engine.handle_event(status(at(0 if tx == "a" else 100), ConnectorState.PREPARING))
        base = 0 if tx == "a" else 100
        engine.handle_event(started(at(base + 0.5), tx, 0))
        for k in range(1, total // 100 + 1):
            engine.handle_event(
                sample(at(base + k), transaction_id=tx, energy_register_wh=100 * k, power_w=6000.0)
            )
        engine.handle_event(ended(at(base + 60), tx, total))
        engine.handle_event(status(at(base + 61), ConnectorState.AVAILABLE))
        session = engine.connector(CP, 1).last_session
        assert session is not None
        assert session.energy_wh == total
        assert (session.meter_start_wh, session.meter_stop_wh) == (0, total)
        assert session.anomalies == []
    assert engine.lifetime_energy_wh(CP) == 5_000


async def test_session_energy_register_only(harness: Harness) -> None:
    """A charger that only reports energy of the current session."""
    engine = await harness.engine()
    energies = []
    for base, values in ((0, (0, 400, 800)), (60, (300, 600))):
        engine.handle_event(status(at(base), ConnectorState.CHARGING))
        for k, value in enumerate(values, start=1):
            engine.handle_event(sample(at(base + k), session_energy_wh=value, power_w=4800.0))
        engine.handle_event(status(at(base + 10), ConnectorState.AVAILABLE))
        session = engine.connector(CP, 1).last_session
        assert session is not None
        assert session.anomalies == []
        energies.append(session.energy_wh)
    assert energies == [800, 600]
    assert engine.lifetime_energy_wh(CP) == 1_400


async def test_out_of_order_and_replayed_samples(harness: Harness) -> None:
    """Older samples never count twice; identical ones are ignored."""
    engine = await harness.engine()
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    for m, register in ((1, 1_000), (2, 1_100), (3, 1_200)):
        engine.handle_event(sample(at(m), energy_register_wh=register, power_w=6000.0))
    engine.handle_event(sample(at(2), energy_register_wh=1_100, power_w=6000.0))  # replay
    engine.handle_event(sample(at(1.5), energy_register_wh=1_050, power_w=6000.0))  # late
    engine.handle_event(sample(at(3), energy_register_wh=1_200, power_w=6000.0))  # replay
    engine.handle_event(sample(at(4), energy_register_wh=1_300, power_w=6000.0))
    session = engine.connector(CP, 1).session
    assert session is not None
    assert session.energy_wh == 300
    counts = {a.kind: a.count for a in session.anomalies}
    assert counts == {AnomalyKind.REPLAYED: 2, AnomalyKind.OUT_OF_ORDER: 1}
    assert engine.connector(CP, 1).energy_register_wh == 1_300
    assert engine.lifetime_energy_wh(CP) == 300


async def test_offline_transaction_replayed_after_the_fact(harness: Harness) -> None:
    """Queued samples and stop of a transaction never seen starting: real timestamps kept."""
    engine = await harness.engine()
    engine.handle_event(status(at(0), ConnectorState.AVAILABLE))
    engine.handle_event(sample(at(1), energy_register_wh=19_000))
    for m in range(10, 41, 10):
        engine.handle_event(
            sample(
                at(m),
                transaction_id="off-1",
                energy_register_wh=20_000 + 100 * (m - 10),
                power_w=6000.0,
                offline=True,
            )
        )
    engine.handle_event(ended(at(45), "off-1", 23_500, offline=True, reason="Local"))
    assert engine.connector(CP, 1).session is None
    session = engine.connector(CP, 1).last_session
    assert session is not None
    assert session.transaction_id == "off-1"
    assert (session.plugged_in_at, session.unplugged_at) == (at(10), at(45))
    assert session.energy_wh == 3_500
    assert (session.meter_start_wh, session.meter_stop_wh) == (20_000, 23_500)
    assert session.charging_started_at == at(10)
    assert engine.lifetime_energy_wh(CP) == 4_500


async def test_transaction_end_without_any_start_is_retroactive(harness: Harness) -> None:
    """Only the StopTransaction arrives: a session is created from it and the last register."""
    engine = await harness.engine()
    engine.handle_event(status(at(0), ConnectorState.AVAILABLE))
    engine.handle_event(sample(at(1), energy_register_wh=30_000))
    engine.handle_event(ended(at(50), "ghost", 31_200, connector=None, id_tag="T9", offline=True))
    session = engine.connector(CP, 1).last_session
    assert session is not None
    assert session.transaction_id == "ghost"
    assert session.energy_wh == 1_200
    assert (session.meter_start_wh, session.meter_stop_wh) == (30_000, 31_200)
    assert session.unplugged_at == at(50)
    assert session.id_tag == "T9"
    assert [a.kind for a in session.anomalies] == [AnomalyKind.RETROACTIVE]
    assert harness.kinds() == ["started", "ended"]
    stored = await engine.async_sessions()
    assert [s.energy_wh for s in stored] == [1_200]


async def test_modbus_status_only_session(harness: Harness) -> None:
    """No transactions: states and a lifetime register; finish detected from power."""
    engine = await harness.engine(finish_after=timedelta(minutes=10))
    engine.handle_event(status(at(0), ConnectorState.PREPARING))
    engine.handle_event(sample(at(0), energy_register_wh=5_000_000, power_w=0.0))
    engine.handle_event(status(at(1), ConnectorState.CHARGING))
    for m in range(1, 61):
        engine.handle_event(
            sample(at(m), energy_register_wh=5_000_000 + 184 * (m - 1), power_w=11_040.0)
        )
    for m in range(61, 121):  # the charger stays in "charging" but nothing flows
        engine.handle_event(sample(at(m), energy_register_wh=5_011_040, power_w=0.0))
        if m == 70:
            assert harness.kinds() == ["started"]
        if m == 71:
            assert harness.kinds() == ["started", "charging_finished"]
    engine.handle_event(status(at(125), ConnectorState.AVAILABLE))
    session = engine.connector(CP, 1).last_session
    assert session is not None
    assert session.transaction_id is None
    assert session.energy_wh == 11_040
    assert session.meter_start_wh == 5_000_000
    assert session.charging_finished_at == at(61)
    assert session.idle_time() == timedelta(minutes=64)
    assert session.speed_class is SpeedClass.FAST
    assert harness.kinds() == ["started", "charging_finished", "ended"]
    assert engine.lifetime_energy_wh(CP) == 11_040


async def test_charging_finished_cleared_on_resume_and_by_timer(harness: Harness) -> None:
    """A pause longer than finish_after finishes; resuming clears it; the timer also finishes."""
    engine = await harness.engine(finish_after=timedelta(minutes=5))
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    engine.handle_event(sample(at(0), power_w=7000.0))
    engine.handle_event(status(at(10), ConnectorState.SUSPENDED_EVSE))
    engine.handle_event(sample(at(16), power_w=0.0))
    session = engine.connector(CP, 1).session
    assert session is not None
    assert session.charging_finished_at == at(10)
    engine.handle_event(status(at(20), ConnectorState.CHARGING))
    assert session.charging_finished_at is None
    engine.handle_event(sample(at(30), power_w=0.0))
    assert session.charging_finished_at is None
    harness.clock.now = at(36)  # no more events: the flush loop's timer confirms
    await asyncio.sleep(0.5)
    assert session.charging_finished_at == at(30)


async def test_power_only_integration(harness: Harness) -> None:
    """No register at all: power integrated exactly, fractions carried."""
    engine = await harness.engine()
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    for s in range(0, 3601, 10):
        engine.handle_event(sample(at(seconds=s), power_w=1000.0))
    engine.handle_event(status(at(61), ConnectorState.AVAILABLE))
    session = engine.connector(CP, 1).last_session
    assert session is not None
    assert session.energy_wh == 1_000
    assert session.meter_start_wh is None
    assert engine.lifetime_energy_wh(CP) == 1_000


async def test_power_samples_ignored_once_a_register_exists(harness: Harness) -> None:
    """Power-only frames between register frames add nothing (no double count)."""
    engine = await harness.engine()
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    for m in range(11):
        engine.handle_event(sample(at(m), energy_register_wh=1_000 + 100 * m))
        engine.handle_event(sample(at(m + 0.5), power_w=6000.0))
    session = engine.connector(CP, 1).session
    assert session is not None
    assert session.energy_wh == 1_000
    assert session.max_power_w == 6000.0


async def test_lifetime_monotonic_across_reset_restart_and_replacement(harness: Harness) -> None:
    """The Energy-dashboard counter only ever goes up."""
    engine = await harness.engine()
    seen = []
    for m, register in ((0, 10_000), (1, 12_000), (2, 0), (3, 500)):
        engine.handle_event(sample(at(m), energy_register_wh=register))
        seen.append(engine.lifetime_energy_wh(CP))
    await engine.async_stop()
    engine = await harness.engine()
    seen.append(engine.lifetime_energy_wh(CP))
    for m, register in ((60, 800), (120, 40), (121, 90)):  # replaced charger at m=120
        engine.handle_event(sample(at(m), energy_register_wh=register))
        seen.append(engine.lifetime_energy_wh(CP))
    assert seen == [0, 2_000, 2_000, 2_500, 2_500, 2_800, 2_800, 2_850]


async def test_station_meter_not_added_to_connector_meters(harness: Harness) -> None:
    """Connector 0 counts only while connectors report nothing of their own."""
    engine = await harness.engine()
    engine.handle_event(sample(at(0), connector=0, energy_register_wh=1_000))
    engine.handle_event(sample(at(1), connector=0, energy_register_wh=1_500))
    assert engine.lifetime_energy_wh(CP) == 500
    engine.handle_event(sample(at(2), connector=1, energy_register_wh=70))
    engine.handle_event(sample(at(3), connector=0, energy_register_wh=2_000))
    engine.handle_event(sample(at(3), connector=1, energy_register_wh=570))
    assert engine.lifetime_energy_wh(CP) == 1_000
    assert engine.connectors(CP) == [1]


async def test_new_transaction_on_busy_connector_ends_previous(harness: Harness) -> None:
    """A second transaction without an unplug in between starts a new session."""
    engine = await harness.engine()
    engine.handle_event(started(at(0), "1", 0))
    engine.handle_event(sample(at(1), transaction_id="1", energy_register_wh=500, power_w=3000.0))
    engine.handle_event(ended(at(2), "1", 600))
    engine.handle_event(started(at(3), "2", 600))
    engine.handle_event(started(at(3), "2", 600))  # duplicate
    first = engine.connector(CP, 1).last_session
    second = engine.connector(CP, 1).session
    assert first is not None
    assert second is not None
    assert first.transaction_id == "1"
    assert first.energy_wh == 600
    assert first.unplugged_at == at(3)
    assert second.transaction_id == "2"
    assert second.energy_wh == 0
    assert harness.kinds() == ["started", "charging_finished", "ended", "started"]


async def test_tags_assigned_from_presented_tags(harness: Harness) -> None:
    """A tag presented before plugging in lands on the next session of that charger."""
    from custom_components.ev_sessions.chargers.events import AuthorizationStatus, TagPresented

    engine = await harness.engine()
    engine.handle_event(
        TagPresented(
            charger_id=CP,
            at=at(0),
            connector_id=None,
            id_tag="CARD",
            status=AuthorizationStatus.ACCEPTED,
        )
    )
    engine.handle_event(status(at(1), ConnectorState.PREPARING))
    session = engine.connector(CP, 1).session
    assert session is not None
    assert session.id_tag == "CARD"
    engine.attribute(session.id, "alice", None)
    assert (session.member_id, session.id_tag) == ("alice", "CARD")


async def test_listeners_only_for_affected_charger(harness: Harness) -> None:
    """Charger listeners are called for their charger only; unsubscribing works."""
    engine = await harness.engine()
    calls = {"a": 0, "b": 0}

    def on_a(charger_id: str) -> None:
        assert charger_id == "cp-a"
        calls["a"] += 1

    def on_b(charger_id: str) -> None:
        assert charger_id == "cp-b"
        calls["b"] += 1

    engine.charger_changes.add("cp-a", on_a)
    remove_b = engine.charger_changes.add("cp-b", on_b)
    for m in range(5):
        engine.handle_event(sample(at(m), charger="cp-b", power_w=1000.0))
    assert calls == {"a": 0, "b": 5}
    engine.handle_event(status(at(6), ConnectorState.PREPARING, charger="cp-a"))
    assert calls == {"a": 1, "b": 5}
    remove_b()
    engine.handle_event(sample(at(7), charger="cp-b", power_w=1000.0))
    assert calls == {"a": 1, "b": 5}


async def test_estimated_end_time(harness: Harness) -> None:
    """Energy target, SoC target with capacity, learnt capacity, taper, unknown."""
    engine = await harness.engine()
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    for m in range(61):
        engine.handle_event(
            sample(
                at(m),
                energy_register_wh=1_000 + 10_000 * m // 60,
                power_w=10_000.0,
                soc_pct=20 + m / 6,
            )
        )
    view = engine.connector(CP, 1)
    assert view.estimated_end_at is None  # no target
    engine.set_target(CP, 1, energy_wh=20_000)
    harness.clock.now = at(60)
    engine.set_target(CP, 1, energy_wh=20_000)
    assert view.estimated_end_at == at(120)  # 10 kWh left at 10 kW
    engine.set_target(CP, 1, soc_pct=80, battery_wh=60_000)
    assert view.estimated_end_at == at(60 + 180)  # 50 % of 60 kWh at 10 kW
    engine.set_target(CP, 1, soc_pct=80)  # learnt: 10 kWh per 10 % -> 1 kWh per %
    assert view.estimated_end_at == at(60 + 50 * 60 / 10)
    # taper: above 80 % the power falls; the estimate follows the trend
    for m in range(61, 71):
        engine.handle_event(
            sample(
                at(m),
                energy_register_wh=11_000 + 100 * (m - 60),
                power_w=10_000.0 - 400 * (m - 60),
                soc_pct=81 + (m - 60) / 10,
            )
        )
    engine.set_target(CP, 1, soc_pct=95, battery_wh=60_000)
    harness.clock.now = at(70)
    engine.set_target(CP, 1, soc_pct=95, battery_wh=60_000)
    flat = at(70) + timedelta(hours=(95 - 82) * 600 / 6000)
    assert view.estimated_end_at is not None
    assert view.estimated_end_at > flat
    engine.set_target(CP, 1)
    assert view.estimated_end_at is None
