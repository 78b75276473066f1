"""Storage of what grows while a session charges: the profile in chunks, the slots in rows."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib
from datetime import datetime, timedelta
import random
import time
from typing import Any

import pytest
from sqlalchemy import event

from custom_components.ev_sessions.chargers.events import ConnectorState, MeterSample
from custom_components.ev_sessions.core import EngineSettings, SessionEngine, SessionStore
from custom_components.ev_sessions.core.slots import EnergySlot
from tests.databases import rows

from .helpers import CP, T0, Harness, at, sample, status


@pytest.fixture
async def harness(db_url: str) -> AsyncIterator[Harness]:
    """Engines over one fresh database (each backend), stopped after the test."""
    h = Harness(db_url)
    yield h
    await h.close()


def _shape(slots: list[EnergySlot]) -> list[tuple[datetime, int, float | None, datetime | None]]:
    return [(s.start, s.energy_wh, s.max_power_w, s.closed_at) for s in slots]


class _Written:
    """The SQL a store's engine executes, with the size of its parameters."""

    def __init__(self, store: SessionStore) -> None:
        self.statements: list[tuple[str, int]] = []
        event.listen(store.engine, "before_cursor_execute", self._record)

    def _record(self, _c: Any, _cur: Any, statement: str, params: Any, *_: Any) -> None:
        self.statements.append((statement.split()[0], len(repr(params))))

    def take(self) -> list[tuple[str, int]]:
        taken, self.statements = self.statements, []
        return taken


def _noisy(second: int, register: int) -> MeterSample:
    """A 1 Hz sample whose power alternates by 400 W: compaction keeps every point."""
    power = 7000.0 + 400 * (second % 2)
    return sample(at(seconds=second), energy_register_wh=register, power_w=power)


async def test_a_flush_writes_only_what_is_new(harness: Harness) -> None:
    """After two hours at 1 Hz (7,200 points kept) a flush writes one minute of points and the
    open slot, as much as the first minute's flush did: not the whole profile."""
    engine = await harness.engine(flush_interval=timedelta(hours=1))
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    written = _Written(engine._store)
    register = 10_000
    sizes: list[int] = []
    for second in range(2 * 3600 + 60):
        register += 2
        engine.handle_event(_noisy(second, register))
        if second % 60 == 59:
            written.take()
            await engine.async_flush()
            sizes.append(sum(size for _, size in written.take()))
    session = engine.connector(CP, 1).session
    assert session is not None
    assert len(session.profile) > 7_200
    assert max(sizes[1:]) < 2 * sizes[1], sizes
    assert max(sizes) < 10_000, sizes
    # one chunk per flush, the session row holds one point
    chunks = rows(harness.url, "SELECT count(*), sum(length(points)) FROM profile_chunks")
    assert chunks[0][0] == len(sizes)
    [(row_profile,)] = rows(harness.url, "SELECT length(profile) FROM sessions")
    assert row_profile < 200
    [stored] = await engine.async_sessions()
    assert stored.profile == session.profile
    assert stored.slots == session.slots
    assert stored.open_slot == session.open_slot
    assert stored.slots_energy_wh == stored.energy_wh == session.energy_wh


async def test_ended_session_chunks_are_merged_once(harness: Harness) -> None:
    """Chunks of an ended session become one row; later writes leave it alone."""
    engine = await harness.engine(flush_interval=timedelta(hours=1))
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    for second in range(300):
        engine.handle_event(_noisy(second, 1000 + 2 * second))
        if second % 60 == 59:
            await engine.async_flush()
    assert rows(harness.url, "SELECT count(*) FROM profile_chunks") == [(5,)]
    engine.handle_event(status(at(5), ConnectorState.AVAILABLE))
    await engine.async_flush()
    assert rows(harness.url, "SELECT seq FROM profile_chunks") == [(0,)]
    session = engine.connector(CP, 1).last_session
    assert session is not None
    written = _Written(engine._store)
    engine.attribute(session.id, "anna", None)
    await engine.async_flush()
    assert "DELETE" not in [kind for kind, _ in written.take()]
    [stored] = await engine.async_sessions()
    assert stored.profile == session.profile
    assert stored.member_id == "anna"


def _steps(rng: random.Random, seconds: int) -> list[MeterSample]:
    """Flat runs of random length with steps between them (lossless values: whole W, 0.1 A)."""
    events: list[MeterSample] = []
    register, power = 50_000, 7000.0
    for second in range(seconds):
        if rng.random() < 0.02:
            power = float(rng.choice([0, 1400, 3700, 7000, 11000]))
        wobble = float(rng.choice([0, 10, -10]))
        register += round(power / 360) if second % 10 == 0 else 0
        events.append(
            sample(
                at(seconds=second),
                energy_register_wh=register,
                power_w=power + wobble,
                current_a=(round(power / 690, 1), round(power / 690, 1), None),
                soc_pct=round(20 + second / 100, 1),
            )
        )
    return events


async def test_flushes_and_restarts_store_what_memory_holds(harness: Harness) -> None:
    """Flushed at random moments (also inside flat runs, whose last point compaction still
    replaces) and restarted twice, the stored profile and slots equal those of an engine that
    never wrote anything."""
    rng = random.Random(3)
    events = _steps(rng, 3 * 3600 // 2)
    reference = SessionEngine(
        SessionStore("sqlite://"),
        clock=lambda: T0,
        settings=EngineSettings(future_tolerance=timedelta(days=1)),
    )
    reference.handle_event(status(at(0), ConnectorState.CHARGING))
    for item in events:
        reference.handle_event(item)
    expected = reference.connector(CP, 1).session
    assert expected is not None

    engine = await harness.engine(flush_interval=timedelta(hours=1))
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    restarts = {len(events) // 3, 2 * len(events) // 3}
    for index, item in enumerate(events):
        engine.handle_event(item)
        if rng.random() < 0.01:
            await engine.async_flush()
        if index in restarts:
            await engine.async_stop()
            engine = await harness.engine(flush_interval=timedelta(hours=1))
    live = engine.connector(CP, 1).session
    assert live is not None
    assert live.profile == expected.profile
    await engine.async_flush()
    [stored] = await engine.async_sessions()
    assert len(stored.profile) > 100
    assert stored.profile == expected.profile
    assert _shape(stored.slots) == _shape(expected.slots)
    assert stored.open_slot is not None
    assert expected.open_slot is not None
    assert _shape([stored.open_slot]) == _shape([expected.open_slot])
    assert stored.energy_wh == expected.energy_wh == stored.slots_energy_wh


async def test_slots_of_a_time_range(harness: Harness) -> None:
    """The store lists the slots that start in a range, open ones as last written."""
    engine = await harness.engine()
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    for minute, register in ((0, 100), (10, 400), (20, 700), (35, 1000)):
        engine.handle_event(sample(at(minute), energy_register_wh=register, power_w=1800.0))
    await engine.async_flush()
    slots = await engine._store.async_slots(at(0), at(45))
    assert [(s.start, s.energy_wh, s.closed_at is None) for s in slots] == [
        (at(0), 300, False),
        (at(15), 300, False),
        (at(30), 300, True),
    ]
    assert [s.start for s in await engine._store.async_slots(at(15), at(30))] == [at(15)]


async def test_a_write_whose_outcome_was_not_learned_is_written_again(harness: Harness) -> None:
    """A flush cancelled while its transaction commits (the rows are stored, the engine does not
    learn of it): the next write replaces those rows. Nothing twice, nothing refused."""
    engine = await harness.engine(flush_interval=timedelta(hours=1))
    store = engine._store
    engine.handle_event(status(at(0), ConnectorState.CHARGING))
    await engine.async_flush()

    def slow_commit(_conn: Any) -> None:
        time.sleep(0.03)  # on the database thread: the flush is cancelled meanwhile

    second = 0
    for round_ in range(6):
        for _ in range(100):
            second += 7
            engine.handle_event(_noisy(second, 1000 + 3 * second))
        if round_ % 2 == 0:
            event.listen(store.engine, "commit", slow_commit)
        flush = asyncio.create_task(engine.async_flush())
        await asyncio.sleep(0.01)
        flush.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await flush
        if round_ % 2 == 0:
            assert flush.cancelled()
            await asyncio.sleep(0.04)  # the commit goes through
            event.remove(store.engine, "commit", slow_commit)
    await engine.async_flush()
    assert engine.storage_status.quarantined == ()
    assert await store.async_quarantined() == []
    session = engine.connector(CP, 1).session
    assert session is not None
    [stored] = await engine.async_sessions()
    assert stored.profile == session.profile
    assert stored.slots == session.slots
    assert stored.open_slot == session.open_slot
    assert stored.slots_energy_wh == stored.energy_wh == session.energy_wh == 3 * (second - 7)
