"""The session engine: turns normalized charger events into sessions and energy counters.

:meth:`SessionEngine.handle_event` is synchronous and does no I/O: it updates the in-memory
state, marks what changed and wakes the flush loop, which writes batches to the
:class:`~.storage.SessionStore` at least every ``flush_interval`` and shortly
(``state_flush_delay``) after a session starts, finishes charging or ends.

Session rules:

* a session starts when a vehicle is connected (a state of ``VEHICLE_CONNECTED_STATES``), or a
  transaction starts, or a sample of an unknown transaction arrives while no vehicle is known
  to be absent (offline replay, state unknown after a restart); a transaction start attaches to
  the open session of its connector instead of starting a second one;
* it ends when the connector reports no vehicle (``available``/``reserved``); a transaction end
  keeps it open until then (the vehicle may stay plugged in), unless no vehicle is connected;
* a transaction end never seen started creates a session after the fact (``retroactive``)
  when the event allows it (:attr:`TransactionEnded.retroactive`, OCPP 2.0.1); otherwise it
  changes nothing (OCPP 1.6: the hub issues transaction ids, an unknown one is refused).

Energy comes from :mod:`.energy`; a session counts the deltas of readings taken while it is open,
after its first register reading (its ``meter_start_wh``). Each delta also goes to the session's
energy slot of the reading's UTC quarter-hour (the rule of :mod:`.slots`); a reading in a later
quarter-hour closes the open slot (reported to :attr:`SessionEngine.closed_slots`), the end of
the session closes its last one. The slots of a session always sum to its ``energy_wh``.

Nothing a charger sends can break the record:

* values that are not finite numbers within the bounds of :mod:`..chargers.events`
  (``MAX_ENERGY_REGISTER_WH`` ...) are ignored (the rest of the event is used), recorded as an
  ``implausible_value`` anomaly on the session and logged once per charger;
* an event stamped more than ``future_tolerance`` ahead of the engine's clock is taken as
  stamped at the engine's clock (``clock_ahead`` anomaly);
* a row the database refuses is quarantined by the store (the other rows are written) and kept
  out of later writes until it changes; the flush loop survives any error; the storage state is
  reported to :attr:`SessionEngine.storage_changes`.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Iterable
import contextlib
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
import logging
from uuid import uuid4

from custom_components.ev_sessions.chargers.events import (
    MAX_ABS_CURRENT_A,
    MAX_ABS_POWER_W,
    MAX_ENERGY_REGISTER_WH,
    MAX_VOLTAGE_V,
    VEHICLE_CONNECTED_STATES,
    AuthorizationStatus,
    ChargerConnected,
    ChargerDisconnected,
    ChargerEvent,
    ChargerInfo,
    ConnectorState,
    MeterSample,
    StatusChanged,
    TagPresented,
    TransactionEnded,
    TransactionStarted,
    plausible,
)

from .energy import LifetimeCounter, Reading, close_slot, meter_slot
from .estimate import estimate_end
from .listeners import KeyedListeners, Listeners
from .model import (
    AnomalyKind,
    ConnectorView,
    EngineSettings,
    Phases,
    ProfilePoint,
    QuarantinedRow,
    Session,
    SessionEvent,
    SessionEventKind,
    SpeedClass,
    StorageStatus,
    Target,
    utcnow,
)
from .power_profile import append_point
from .slots import EnergySlot
from .stats import OccupancyStats, compute_stats
from .storage import (
    LifetimeRecord,
    RowFailure,
    SessionPatch,
    SessionStore,
    SessionWrite,
    StorageError,
    fault_of,
)


def _no_flow(view: ConnectorView) -> None:
    """A connector that can draw nothing now (its transaction ended): power 0, the phases
    it measured at 0 A."""
    view.power_w = 0.0
    if view.current_a is not None:
        view.current_a = (
            None if view.current_a[0] is None else 0.0,
            None if view.current_a[1] is None else 0.0,
            None if view.current_a[2] is None else 0.0,
        )


__all__ = ["EngineSettings", "SessionEngine", "SessionEvent", "SessionEventKind"]

_LOGGER = logging.getLogger(__name__)

#: States that say no vehicle is connected (a session ends on them).
NO_VEHICLE_STATES = frozenset({ConnectorState.AVAILABLE, ConnectorState.RESERVED})
#: States that end charging at once (the vehicle is full or the transaction is over).
_FINISHED_STATES = frozenset({ConnectorState.SUSPENDED_EV, ConnectorState.FINISHING})
#: Quarantined rows remembered for :attr:`SessionEngine.storage_status`.
_MAX_QUARANTINED = 50


@dataclass(slots=True)
class _Connector:
    view: ConnectorView
    recent_power: deque[tuple[datetime, float]] = field(default_factory=deque)
    #: The register of the last reading taken while no energy flowed (or whose energy a session
    #: counted): where the next session's meter starts. ``pending_wh``: energy read since then
    #: outside a session; ``read_at``: the time of the last register reading.
    baseline_wh: int | None = None
    pending_wh: int = 0
    read_at: datetime | None = None
    #: The charger reported a state of charge itself: one from outside (``set_external_soc``)
    #: is ignored from then on.
    soc_from_charger: bool = False


@dataclass(slots=True)
class _Charger:
    charger_id: str
    lifetime: LifetimeCounter
    connectors: dict[int, _Connector] = field(default_factory=dict)
    connected: bool = False
    info: ChargerInfo | None = None
    status: ConnectorState = ConnectorState.UNKNOWN
    pending_tag: tuple[str, datetime] | None = None


class SessionEngine:
    """Sessions, live connector views and lifetime energy of every charger."""

    def __init__(
        self,
        store: SessionStore,
        *,
        clock: Callable[[], datetime] = utcnow,
        settings: EngineSettings | None = None,
    ) -> None:
        """Create an engine over ``store`` (opened by :meth:`async_start`)."""
        self._store = store
        self._clock = clock
        self.settings = settings or EngineSettings()
        self._chargers: dict[str, _Charger] = {}
        #: Called with the charger id after every change of that charger (only its own).
        self.charger_changes: KeyedListeners[str, str] = KeyedListeners("charger change")
        #: Called on each session milestone (started, charging finished, ended).
        self.session_events: Listeners[SessionEvent] = Listeners("session event")
        #: Called when writes start or stop failing and when a row is quarantined.
        self.storage_changes: Listeners[StorageStatus] = Listeners("storage status")
        #: Called with each energy slot as it closes (the first reading of a later quarter-hour,
        #: or the end of the session).
        self.closed_slots: Listeners[EnergySlot] = Listeners("closed slot")
        self._dirty_sessions: dict[str, Session] = {}
        self._dirty_lifetimes: set[str] = set()
        self._patches: list[SessionPatch] = []
        self._known: dict[str, Session] = {}  # open and recently ended sessions by id
        self._ended: deque[Session] = deque()  # recently ended, oldest first (for stats)
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._stopped = False
        self._warned: set[tuple[str, str]] = set()
        self._storage = StorageStatus()
        self._quarantined: dict[tuple[str, str], QuarantinedRow] = {}
        #: While an event re-stamped at the engine's clock is applied: how far ahead it was
        #: stamped (the charger says that much time passed; register jumps may use it).
        self._slack = timedelta(0)

    # ------------------------------------------------------------------ lifecycle

    async def async_start(self) -> None:
        """Open the store, restore open sessions and counters, start the flush loop."""
        await self._store.async_open()
        now, tolerance = self._clock(), self.settings.future_tolerance
        for record in await self._store.async_load_lifetimes():
            charger = self._charger(record.charger_id)
            charger.lifetime = LifetimeCounter.from_dict(
                record.charger_id, record.total_wh, record.state
            )
            if charger.lifetime.heal_clock(now, tolerance):
                _LOGGER.warning(
                    "Meter times of charger %s were ahead of the clock; counting from now",
                    record.charger_id,
                )
                self._dirty_lifetimes.add(record.charger_id)
        since = self._clock() - self.settings.stats_retention
        for session in await self._store.async_load_ended_since(since):
            conn = self._connector(self._charger(session.charger_id), session.connector_id)
            conn.view.last_session = session
            self._ended.append(session)
            self._known[session.id] = session
        for session in await self._store.async_load_open():
            conn = self._connector(self._charger(session.charger_id), session.connector_id)
            if conn.view.session is not None:  # two open sessions on a connector: end older
                older = conn.view.session
                older.unplugged_at = session.plugged_in_at
                older.stop_reason = older.stop_reason or "superseded"
                self._close_slot(older)
                self._remember_ended(older)
                self._mark(older)
            last_event = session.tracking.last_event_at
            if last_event is not None and last_event > now + tolerance:
                session.tracking.last_event_at = now  # stamped ahead before that was refused
            conn.view.session = session
            self._known[session.id] = session
        self._wake = asyncio.Event()
        self._task = asyncio.create_task(self._flush_loop(), name="ev_sessions flush")

    async def async_stop(self) -> None:
        """Stop the flush loop, write everything pending and close the store (idempotent).

        The final save is attempted whatever happened before (a failed flush loop, a failing
        timeout check); if it fails, what could not be written is logged in full.
        """
        if self._stopped:
            return
        self._stopped = True
        if self._task is not None:
            self._task.cancel()
            try:
                await self._task
            except asyncio.CancelledError:
                pass
            except Exception:
                _LOGGER.exception("The ev_sessions flush loop had failed")
            self._task = None
        try:
            self._check_timeouts(self._clock())
        except Exception:
            _LOGGER.exception("Could not check session timeouts at shutdown")
        try:
            await self.async_flush()
        except Exception as err:  # noqa: BLE001  (logged with everything that is lost)
            self._log_unsaved(err)
        finally:
            await self._store.async_close()

    def _log_unsaved(self, err: BaseException) -> None:
        """The final save failed: put what it could not write in the log, in full."""
        _LOGGER.error(
            "Could not write %d sessions, %d energy counters and %d changes at shutdown (%s); "
            "they follow in full",
            len(self._dirty_sessions),
            len(self._dirty_lifetimes),
            len(self._patches),
            err,
        )
        for session in self._dirty_sessions.values():
            _LOGGER.error("Unsaved session: %r", session)
        for cid in self._dirty_lifetimes:
            lifetime = self._chargers[cid].lifetime
            _LOGGER.error("Unsaved lifetime energy of %s: %s Wh", cid, lifetime.total_wh)
        for patch in self._patches:
            _LOGGER.error("Unsaved change: %r", patch)

    async def _flush_loop(self) -> None:
        """Flush periodically and soon after state changes; survives every error."""
        assert self._wake is not None
        interval = self.settings.flush_interval.total_seconds()
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(interval):
                    await self._wake.wait()
            if self._wake.is_set():
                self._wake.clear()
                await asyncio.sleep(self.settings.state_flush_delay.total_seconds())
            try:
                self._check_timeouts(self._clock())
                await self.async_flush()
            except StorageError as err:
                _LOGGER.debug("Could not write ev_sessions data; will retry: %s", err)
            except Exception:
                _LOGGER.exception("Unexpected error while writing ev_sessions data; will retry")

    async def async_flush(self) -> None:
        """Write every pending change now.

        One transaction normally; a row the database refuses is quarantined by the store and
        kept out of later writes until it changes, the other rows are written. Raises
        :class:`StorageError` when the database refuses writes: everything stays pending.
        """
        async with self._lock:
            sessions = dict(self._dirty_sessions)
            lifetimes = set(self._dirty_lifetimes)
            patches = self._patches
            if not (sessions or lifetimes or patches):
                return
            self._dirty_sessions.clear()
            self._dirty_lifetimes.clear()
            self._patches = []
            try:
                records = [
                    LifetimeRecord(
                        charger_id=cid,
                        total_wh=self._chargers[cid].lifetime.total_wh,
                        state=self._chargers[cid].lifetime.to_dict(),
                    )
                    for cid in lifetimes
                ]
                writes = [SessionWrite.of(s) for s in sessions.values()]
                failures = await self._store.async_save_rows(writes, records, patches)
            except BaseException as err:
                for sid, session in sessions.items():
                    session.stored.exact = False  # some rows may be written: check next time
                    self._dirty_sessions.setdefault(sid, session)
                self._dirty_lifetimes |= lifetimes
                self._patches[:0] = patches
                if not isinstance(err, Exception):
                    raise  # cancelled: the changes stay pending for the next flush
                self._write_failed(err)
                if isinstance(err, StorageError):
                    raise
                raise StorageError(f"{type(err).__name__}: {err}", fault=fault_of(err)) from err
            refused = {f.key for f in failures if f.kind == "session"}
            for write in writes:
                if write.session.id not in refused:
                    write.mark_written(sessions[write.session.id])
            self._write_succeeded(failures, sessions.keys(), lifetimes)

    async def async_persist(self) -> None:
        """Write what has changed so far now; on a storage fault log and return.

        The adapters await this (through the hub) before they answer a transaction start or
        end. The changes stay pending and the flush loop retries them.
        """
        try:
            await self.async_flush()
        except Exception as err:  # noqa: BLE001  (the charger gets its answer regardless)
            _LOGGER.warning("Session change kept in memory, not yet written: %s", err)

    # ------------------------------------------------------------------ storage state

    @property
    def storage_status(self) -> StorageStatus:
        """Whether writes reach the database, and the rows it refused."""
        pending = len(self._dirty_sessions) + len(self._dirty_lifetimes) + len(self._patches)
        return replace(self._storage, pending=pending)

    def _write_failed(self, err: Exception) -> None:
        fault = str(fault_of(err))
        error = str(err)
        previous = self._storage
        if previous.writable:
            _LOGGER.warning(
                "Cannot write ev_sessions data (%s); changes are kept in memory and retried",
                error,
            )
        self._storage = replace(
            previous,
            writable=False,
            error=error,
            fault=fault,
            failing_since=previous.failing_since or self._clock(),
        )
        if previous.writable or previous.fault != fault:
            self._storage_changed()

    def _write_succeeded(
        self, failures: list[RowFailure], session_ids: Iterable[str], charger_ids: Iterable[str]
    ) -> None:
        previous = self._storage
        changed = not previous.writable
        if changed:
            _LOGGER.warning("ev_sessions data is written again")
        written = {("session", sid) for sid in session_ids}
        written |= {("lifetime", cid) for cid in charger_ids}
        failed = {(f.kind, f.key) for f in failures}
        for key in written - failed:
            changed |= self._quarantined.pop(key, None) is not None
        now = self._clock()
        for failure in failures:
            key = (failure.kind, failure.key)
            if key not in self._quarantined:
                _LOGGER.error(
                    "The database refused %s %s (%s); it is kept out of writes until it changes",
                    failure.kind,
                    failure.key,
                    failure.error,
                )
            self._quarantined.pop(key, None)
            self._quarantined[key] = QuarantinedRow(
                kind=failure.kind, key=failure.key, error=failure.error, at=now
            )
            changed = True
        while len(self._quarantined) > _MAX_QUARANTINED:
            self._quarantined.pop(next(iter(self._quarantined)))
        self._storage = StorageStatus(quarantined=tuple(self._quarantined.values()))
        if changed:
            self._storage_changed()

    def _storage_changed(self) -> None:
        self.storage_changes.emit(self.storage_status)

    def _check_timeouts(self, now: datetime) -> None:
        """Confirm charging finished for flows stopped long enough without further events."""
        for charger in self._chargers.values():
            touched = False
            for conn in charger.connectors.values():
                session = conn.view.session
                if session is not None and session.tracking.stopped_since is not None:
                    touched |= self._maybe_finish(session, now, immediate=False)
            if touched:
                self._notify(charger.charger_id)
        cutoff = now - self.settings.stats_retention
        while self._ended and (self._ended[0].unplugged_at or now) < cutoff:
            old = self._ended.popleft()
            self._known.pop(old.id, None)

    # ------------------------------------------------------------------ listeners

    def _notify(self, charger_id: str) -> None:
        self.charger_changes.emit(charger_id, charger_id)

    def _emit(self, kind: SessionEventKind, session: Session) -> None:
        self._mark(session, urgent=True)
        if self.session_events:
            self.session_events.emit(SessionEvent(kind=kind, session=session.snapshot()))

    # ------------------------------------------------------------------ queries

    def is_connected(self, charger_id: str) -> bool:
        """Whether the charger is connected right now."""
        charger = self._chargers.get(charger_id)
        return charger is not None and charger.connected

    def charger_ids(self) -> list[str]:
        """Chargers seen (or restored from the store)."""
        return sorted(self._chargers)

    def connectors(self, charger_id: str) -> list[int]:
        """Connector ids (1..n) seen on a charger."""
        charger = self._chargers.get(charger_id)
        return sorted(cid for cid in charger.connectors if cid > 0) if charger else []

    def connector(self, charger_id: str, connector_id: int) -> ConnectorView:
        """Live view of a connector (an empty view if it was never seen)."""
        charger = self._chargers.get(charger_id)
        conn = charger.connectors.get(connector_id) if charger else None
        if conn is None:
            return ConnectorView(charger_id=charger_id, connector_id=connector_id)
        return conn.view

    def lifetime_energy_wh(self, charger_id: str) -> int:
        """The charger's lifetime energy: never decreases (``total_increasing``)."""
        charger = self._chargers.get(charger_id)
        return charger.lifetime.total_wh if charger else 0

    def last_registers(self, charger_id: str, connector_id: int) -> tuple[int | None, int | None]:
        """The last energy register and session register applied for a connector.

        Restored from the store after a restart: an adapter that builds the register itself
        (ABB: only a session register) continues from it instead of restarting at 0.
        """
        charger = self._chargers.get(charger_id)
        meter = charger.lifetime.meters.get(connector_id) if charger else None
        if meter is None:
            return None, None
        return meter.register_wh, meter.session_register_wh

    def session(self, session_id: str) -> Session | None:
        """An open or recently ended session held in memory."""
        return self._known.get(session_id)

    def session_slots(self, session_id: str) -> list[EnergySlot]:
        """The closed energy slots of a session held in memory, oldest first.

        With :meth:`open_slot` they sum to the session's energy. Stored sessions carry theirs
        (:attr:`Session.slots`, from :meth:`async_sessions`).
        """
        session = self._known.get(session_id)
        return list(session.slots) if session is not None else []

    def open_slot(self, session_id: str) -> EnergySlot | None:
        """The slot a session held in memory is metering now (its energy so far), if any."""
        session = self._known.get(session_id)
        return session.open_slot if session is not None else None

    async def async_sessions(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        charger_id: str | None = None,
        member_id: str | None = None,
        limit: int | None = None,
    ) -> list[Session]:
        """Stored sessions that overlap ``[start, end)``, newest first.

        Pending changes are written first; if that fails, what is stored is read.
        """
        try:
            await self.async_flush()
        except StorageError as err:
            _LOGGER.debug("Reading stored sessions without the pending changes: %s", err)
        return await self._store.async_sessions(
            start=start, end=end, charger_id=charger_id, member_id=member_id, limit=limit
        )

    def stats(
        self,
        charger_id: str | None = None,
        *,
        window: timedelta = timedelta(hours=24),
        day_start: datetime | None = None,
    ) -> OccupancyStats:
        """Occupancy and demand of a charger, or of the site when ``charger_id`` is None.

        ``day_start`` (for "today" figures) defaults to midnight UTC; pass local midnight.
        """
        now = self._clock()
        if day_start is None:
            day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        if charger_id is None:
            chargers = list(self._chargers.values())
        else:
            chargers = [self._chargers[charger_id]] if charger_id in self._chargers else []
        ids = {c.charger_id for c in chargers}
        sessions = [s for s in self._ended if s.charger_id in ids]
        connectors = 0
        for charger in chargers:
            for cid, conn in charger.connectors.items():
                connectors += cid > 0
                if conn.view.session is not None:
                    sessions.append(conn.view.session)
        return compute_stats(
            sessions,
            charger_id=charger_id,
            connectors=connectors,
            now=now,
            window=window,
            day_start=day_start,
        )

    # ------------------------------------------------------------------ commands

    def set_target(
        self,
        charger_id: str,
        connector_id: int,
        *,
        energy_wh: int | None = None,
        soc_pct: float | None = None,
        battery_wh: int | None = None,
    ) -> None:
        """Set (or clear, with no arguments) the target used for the end-time estimate."""
        conn = self._connector(self._charger(charger_id), connector_id)
        if energy_wh is None and soc_pct is None:
            conn.view.target = None
        else:
            conn.view.target = Target(energy_wh=energy_wh, soc_pct=soc_pct, battery_wh=battery_wh)
        self._estimate(conn, self._clock())
        self._notify(charger_id)

    def set_external_soc(self, charger_id: str, connector_id: int, soc_pct: float | None) -> None:
        """A state of charge from outside the charger (e.g. the car's own integration), for a
        charger that reports none: shown as the connector's SoC and used for the end estimate
        like a reported one. Ignored once the charger reported a SoC itself; ``None`` clears
        it (the source is unavailable)."""
        conn = self._connector(self._charger(charger_id), connector_id)
        if conn.soc_from_charger or conn.view.soc_pct == soc_pct:
            return
        conn.view.soc_pct = soc_pct
        session = conn.view.session
        if session is not None and soc_pct is not None and session.tracking.soc_start_pct is None:
            session.tracking.soc_start_pct = soc_pct
            session.tracking.soc_start_energy_wh = session.energy_wh
            self._mark(session)
        self._estimate(conn, self._clock())
        self._notify(charger_id)

    def flag(self, session_id: str, kind: AnomalyKind, detail: str = "") -> None:
        """Record an anomaly on an open or recently ended session (e.g. an unauthorized start)."""
        session = self._known.get(session_id)
        if session is None:
            return
        session.add_anomaly(kind, self._clock(), detail)
        self._mark(session, urgent=True)
        self._notify(session.charger_id)

    def attribute(self, session_id: str, member_id: str | None, id_tag: str | None) -> None:
        """Attribute a session to a member (and tag); works for stored sessions too."""
        session = self._known.get(session_id)
        if session is not None:
            session.member_id = member_id
            if id_tag is not None:
                session.id_tag = id_tag
            self._mark(session)
            self._notify(session.charger_id)
            return
        values: dict[str, object] = {"member_id": member_id}
        if id_tag is not None:
            values["id_tag"] = id_tag
        self._patches.append(SessionPatch(session_id=session_id, values=values))
        self._wakeup()

    def set_cost(
        self, session_id: str, cost: Decimal, tariff: str | None, *, overwrite: bool = False
    ) -> None:
        """Record a session's price. A priced session keeps its price unless ``overwrite``."""
        session = self._known.get(session_id)
        if session is not None:
            if session.cost is None or overwrite:
                session.cost, session.tariff = cost, tariff
                self._mark(session)
                self._notify(session.charger_id)
            return
        self._patches.append(
            SessionPatch(
                session_id=session_id,
                values={"cost": cost, "tariff": tariff},
                only_unpriced=not overwrite,
            )
        )
        self._wakeup()

    # ------------------------------------------------------------------ events

    def handle_event(self, event: ChargerEvent) -> None:
        """Apply one charger event (synchronous, no I/O).

        Implausible values are dropped from it and a time stamped too far ahead is replaced by
        the engine's clock first; both are recorded on the event's session.
        """
        charger = self._charger(event.charger_id)
        event, ahead = self._checked_time(event)
        event, refused = _checked_values(event)
        self._slack = ahead or timedelta(0)
        try:
            if not self._dispatch(charger, event):
                return
        finally:
            self._slack = timedelta(0)
        if ahead is not None or refused:
            self._record_doubts(charger, event, ahead, refused)
        self._notify(event.charger_id)

    def _checked_time(self, event: ChargerEvent) -> tuple[ChargerEvent, timedelta | None]:
        """The event, stamped at the engine's clock if it is stamped too far ahead of it."""
        now = self._clock()
        at = event.at
        if not isinstance(at, datetime):  # not a time at all: taken as received
            return replace(event, at=now), None
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
            event = replace(event, at=at)
        ahead = at - now
        if ahead > self.settings.future_tolerance:
            return replace(event, at=now), ahead
        return event, None

    def _record_doubts(
        self, charger: _Charger, event: ChargerEvent, ahead: timedelta | None, refused: list[str]
    ) -> None:
        """Record what was refused or re-stamped on the event's session; warn once a charger."""
        session = self._session_of(charger, event)
        kind = type(event).__name__
        if ahead is not None:
            detail = f"{kind} stamped {ahead} ahead of the hub's clock"
            self._warn_once(
                charger.charger_id,
                "clock",
                "Charger %s stamps events ahead of the hub's clock (%s); using the receive time",
                charger.charger_id,
                detail,
            )
            if session is not None:
                session.add_anomaly(AnomalyKind.CLOCK_AHEAD, event.at, detail)
                self._mark(session)
        if refused:
            detail = f"{kind}: " + ", ".join(refused)
            self._warn_once(
                charger.charger_id,
                "value",
                "Charger %s sent values that cannot be real; they are ignored (%s)",
                charger.charger_id,
                detail,
            )
            if session is not None:
                session.add_anomaly(AnomalyKind.IMPLAUSIBLE_VALUE, event.at, detail)
                self._mark(session)

    def _session_of(self, charger: _Charger, event: ChargerEvent) -> Session | None:
        """The session an (already applied) event belongs to, if any."""
        if isinstance(event, TransactionEnded):
            for conn in charger.connectors.values():
                for session in (conn.view.session, conn.view.last_session):
                    if session is not None and session.transaction_id == event.transaction_id:
                        return session
            return None
        connector_id = getattr(event, "connector_id", None)
        if not isinstance(connector_id, int) or connector_id not in charger.connectors:
            return None
        view = charger.connectors[connector_id].view
        if view.session is not None:
            return view.session
        tx = getattr(event, "transaction_id", None)
        last = view.last_session
        if tx is not None and last is not None and last.transaction_id == tx:
            return last
        return None

    def _warn_once(self, charger_id: str, topic: str, message: str, *args: object) -> None:
        """Log a warning the first time per charger and topic, later ones at debug level."""
        key = (charger_id, topic)
        if key in self._warned:
            _LOGGER.debug(message, *args)
            return
        self._warned.add(key)
        _LOGGER.warning(message, *args)

    def _dispatch(self, charger: _Charger, event: ChargerEvent) -> bool:
        """Apply the event; False for events the engine does not use."""
        match event:
            case MeterSample():
                self._on_sample(charger, event)
            case StatusChanged():
                self._on_status(charger, event)
            case TransactionStarted():
                self._on_tx_started(charger, event)
            case TransactionEnded():
                self._on_tx_ended(charger, event)
            case TagPresented():
                self._on_tag(charger, event)
            case ChargerConnected():
                charger.connected = True
                charger.info = event.info
            case ChargerDisconnected():
                charger.connected = False
            case _:
                return False
        return True

    def _on_status(self, charger: _Charger, event: StatusChanged) -> None:
        if event.connector_id == 0:
            charger.status = event.state
            return
        conn = self._connector(charger, event.connector_id)
        session = conn.view.session
        if session is not None and event.at < session.plugged_in_at:
            return  # a stale status from before this session (replayed queue)
        conn.view.status = event.state
        conn.view.error_code = event.error_code
        conn.view.updated_at = event.at
        if event.state in VEHICLE_CONNECTED_STATES:
            if session is None:
                session = self._start_session(charger, conn, event.at, from_baseline=True)
            self._touch(session, event.at)
            if event.state is ConnectorState.CHARGING:
                self._set_flow(session, True, event.at)
            else:
                immediate = event.state in _FINISHED_STATES
                self._set_flow(session, False, event.at, immediate=immediate)
        elif session is not None:
            if event.state in NO_VEHICLE_STATES:
                self._end_session(conn, session, event.at, "ev_disconnected")
            else:  # faulted, unavailable: energy stops, the vehicle may still be there
                self._touch(session, event.at)
                self._set_flow(session, False, event.at)

    def _on_sample(self, charger: _Charger, event: MeterSample) -> None:
        meter = charger.lifetime.meter(event.connector_id)
        if event.connector_id == 0:
            reading = meter.read(
                event.at,
                self.settings,
                register_wh=event.energy_register_wh,
                session_register_wh=event.session_energy_wh,
                power_w=event.power_w,
                slack=self._slack,
            )
            if charger.lifetime.add(0, reading) or reading.applied:
                self._dirty_lifetimes.add(charger.charger_id)
            return
        conn = self._connector(charger, event.connector_id)
        view = conn.view
        session = view.session
        last = view.last_session
        tx = event.transaction_id
        if session is not None and session.transaction_id is None and tx is not None:
            session.transaction_id = tx  # the transaction start may never arrive
        if session is None and tx is not None:
            if last is not None and last.transaction_id == tx:
                session = last  # a late sample of the session that just ended
            elif event.offline or view.status not in NO_VEHICLE_STATES:
                session = self._start_session(charger, conn, event.at, transaction_id=tx)
        reading = meter.read(
            event.at,
            self.settings,
            register_wh=event.energy_register_wh,
            session_register_wh=event.session_energy_wh,
            power_w=event.power_w,
            slack=self._slack,
        )
        if not reading.applied:
            if session is not None and reading.anomaly is not None:
                session.add_anomaly(reading.anomaly, event.at, reading.detail)
                self._mark(session)
            return
        if charger.lifetime.add(event.connector_id, reading) or reading.source:
            self._dirty_lifetimes.add(charger.charger_id)
        power = event.power_w
        if power is None and meter.power_at is None and reading.delta_wh and reading.since_last_s:
            # a charger without a power measurand: power from the register
            power = reading.delta_wh * 3600.0 / reading.since_last_s
        view.power_w = power
        view.current_a = event.current_a
        view.voltage_v = event.voltage_v
        if event.soc_pct is not None:
            view.soc_pct = event.soc_pct
            conn.soc_from_charger = True
        if event.energy_register_wh is not None:
            view.energy_register_wh = event.energy_register_wh
        view.updated_at = event.at
        view.received_at = self._clock()  # the charger's own time may be off
        self._track_baseline(
            conn, reading, event.energy_register_wh, event.at, counted=session is not None
        )
        if session is None:
            return
        since = reading.since_last_s
        if (
            since is not None
            and since > self.settings.gap_after.total_seconds()
            and event.at - timedelta(seconds=since) >= session.plugged_in_at
            and session.tracking.charging
            and reading.anomaly is not AnomalyKind.GAP
        ):
            session.add_anomaly(AnomalyKind.GAP, event.at, f"{since:.0f} s")
        self._touch(session, event.at)
        self._account(
            session, reading, event.energy_register_wh, event.session_energy_wh, event.at, power
        )
        if power is not None:
            if session.max_power_w is None or power > session.max_power_w:
                session.max_power_w = power
                session.speed_class = self._classify(session)
            self._set_flow(session, power >= self.settings.charging_threshold_w, event.at)
            if session is view.session:
                conn.recent_power.append((event.at, power))
                horizon = event.at - self.settings.estimate_window
                while conn.recent_power and conn.recent_power[0][0] < horizon:
                    conn.recent_power.popleft()
        if event.soc_pct is not None and session.tracking.soc_start_pct is None:
            session.tracking.soc_start_pct = event.soc_pct
            session.tracking.soc_start_energy_wh = session.energy_wh
        self._point(session, event.at, power, event.current_a, event.soc_pct)
        if session is view.session:
            self._estimate(conn, event.at)

    def _account(
        self,
        session: Session,
        reading: Reading,
        register_wh: int | None,
        session_register_wh: int | None,
        at: datetime,
        power_w: float | None = None,
    ) -> None:
        """Add a reading's energy to a session and its slot; keep its meter start/stop."""
        if reading.anomaly is not None and reading.anomaly is not AnomalyKind.GAP:
            session.add_anomaly(reading.anomaly, at, reading.detail)
        value = register_wh if reading.source == "register" else None
        if reading.source == "session_register":
            value = session_register_wh
            if session.meter_start_wh is None:
                session.meter_start_wh = 0
        if value is not None and (
            session.meter_start_wh is None or (reading.rebased and session.energy_wh == 0)
        ):
            session.meter_start_wh = value  # the session's first reading: nothing to add yet
            delta = 0
        else:
            delta = reading.delta_wh
            session.energy_wh += delta
        if value is not None:
            session.meter_stop_wh = value
        self._meter_slot(session, at, delta, power_w)
        self._mark(session)

    def _meter_slot(
        self, session: Session, at: datetime, energy_wh: int, power_w: float | None
    ) -> None:
        """Count a reading in the session's slots (an ended session's slot closes at once)."""
        if not session.is_open and energy_wh == 0:
            return
        closed = meter_slot(session, at, energy_wh=energy_wh, power_w=power_w, now=self._clock())
        if closed is not None:
            self.closed_slots.emit(closed)
        if not session.is_open:
            self._close_slot(session)

    def _close_slot(self, session: Session) -> None:
        """Close the session's open slot (its session ended)."""
        closed = close_slot(session, self._clock())
        if closed is not None:
            self.closed_slots.emit(closed)

    def _on_tx_started(self, charger: _Charger, event: TransactionStarted) -> None:
        conn = self._connector(charger, event.connector_id)
        session = conn.view.session
        last = conn.view.last_session
        tx = event.transaction_id
        if session is None and last is not None and last.transaction_id == tx:
            return  # replay of a finished transaction
        if session is not None and session.transaction_id not in (None, tx):
            self._end_session(conn, session, event.at, "new_transaction")
            session = None
        if session is None:
            session = self._start_session(charger, conn, event.at, transaction_id=tx)
        session.transaction_id = tx
        session.id_tag = session.id_tag or event.id_tag
        session.plugged_in_at = min(session.plugged_in_at, event.at)
        if event.meter_start_wh is not None:
            reading = charger.lifetime.meter(event.connector_id).read(
                event.at,
                self.settings,
                register_wh=event.meter_start_wh,
                boundary=True,
                slack=self._slack,
            )
            if reading.applied:
                charger.lifetime.add(event.connector_id, reading)
                self._dirty_lifetimes.add(charger.charger_id)
                self._touch(session, event.at)
                self._account(session, reading, event.meter_start_wh, None, event.at)
                self._track_baseline(conn, reading, event.meter_start_wh, event.at, counted=True)
            elif session.meter_start_wh is None:
                session.meter_start_wh = event.meter_start_wh
        self._mark(session, urgent=True)

    def _on_tx_ended(self, charger: _Charger, event: TransactionEnded) -> None:
        found = self._find_transaction(charger, event)
        if found is None and not event.retroactive:
            # OCPP 1.6: the hub issues transaction ids; an end for one it never issued is
            # answered by the adapter, but it must not build a session or move any counter.
            self._warn_once(
                charger.charger_id,
                "unknown_transaction",
                "Charger %s ended transaction %s that the hub never started; ignored",
                charger.charger_id,
                event.transaction_id,
            )
            return
        if found is None:
            self._retroactive(charger, event)
            return
        conn, session = found
        if event.meter_stop_wh is not None:
            reading = charger.lifetime.meter(conn.view.connector_id).read(
                event.at, self.settings, register_wh=event.meter_stop_wh, slack=self._slack
            )
            if reading.applied:
                charger.lifetime.add(conn.view.connector_id, reading)
                self._dirty_lifetimes.add(charger.charger_id)
                self._touch(session, event.at)
                self._account(session, reading, event.meter_stop_wh, None, event.at)
                self._track_baseline(conn, reading, event.meter_stop_wh, event.at, counted=True)
                self._point(session, event.at, None, None, None)
        session.transaction_ended_at = event.at
        session.stop_reason = event.reason or "transaction_ended"
        session.id_tag = session.id_tag or event.id_tag
        _no_flow(conn.view)  # the last sample's power is history: no transaction, no energy
        if session.is_open:
            self._touch(session, event.at)
            self._set_flow(session, False, event.at, immediate=True)
            if conn.view.status in NO_VEHICLE_STATES:
                self._end_session(conn, session, event.at, session.stop_reason)
        self._mark(session, urgent=True)

    def _find_transaction(
        self, charger: _Charger, event: TransactionEnded
    ) -> tuple[_Connector, Session] | None:
        """The session of a transaction end: by id, else the one open session without one.

        The second rule only for ends that may be retroactive (the charger issues the ids);
        otherwise only the id counts.
        """
        conns = list(charger.connectors.values())
        if event.connector_id is not None:
            own = self._connector(charger, event.connector_id)
            conns = [own] + [c for c in conns if c is not own]
        for conn in conns:
            for session in (conn.view.session, conn.view.last_session):
                if session is not None and session.transaction_id == event.transaction_id:
                    return conn, session
        if not event.retroactive:
            return None
        candidates = [
            c
            for c in conns
            if c.view.session is not None
            and c.view.session.transaction_id is None
            and (event.connector_id is None or c.view.connector_id == event.connector_id)
        ]
        if len(candidates) == 1:
            conn = candidates[0]
            assert conn.view.session is not None
            conn.view.session.transaction_id = event.transaction_id
            return conn, conn.view.session
        return None

    def _retroactive(self, charger: _Charger, event: TransactionEnded) -> None:
        """A transaction end never seen started: record the session after the fact."""
        connector_id = event.connector_id or 1
        conn = self._connector(charger, connector_id)
        session = Session(
            id=str(uuid4()),
            charger_id=charger.charger_id,
            connector_id=connector_id,
            plugged_in_at=event.at,
            transaction_id=event.transaction_id,
            id_tag=event.id_tag,
            transaction_ended_at=event.at,
            stop_reason=event.reason or "transaction_ended",
        )
        session.add_anomaly(AnomalyKind.RETROACTIVE, event.at, "transaction start never seen")
        meter = charger.lifetime.meter(connector_id)
        if event.meter_stop_wh is not None:
            previous = meter.register_wh
            reading = meter.read(
                event.at, self.settings, register_wh=event.meter_stop_wh, slack=self._slack
            )
            if reading.applied:
                charger.lifetime.add(connector_id, reading)
                self._dirty_lifetimes.add(charger.charger_id)
                if previous is not None and reading.anomaly is None:
                    session.meter_start_wh = previous
                    session.energy_wh = reading.delta_wh
                    self._meter_slot(session, event.at, reading.delta_wh, None)
                else:
                    session.meter_start_wh = event.meter_stop_wh
            session.meter_stop_wh = event.meter_stop_wh
        session.unplugged_at = event.at
        self._close_slot(session)
        session.profile = [
            ProfilePoint(at=event.at, energy_wh=0),
            ProfilePoint(at=event.at, energy_wh=session.energy_wh),
        ]
        session.speed_class = self._classify(session)
        self._known[session.id] = session
        if conn.view.session is None:
            conn.view.last_session = session
        self._remember_ended(session)
        self._emit(SessionEventKind.STARTED, session)
        self._emit(SessionEventKind.ENDED, session)

    def _on_tag(self, charger: _Charger, event: TagPresented) -> None:
        if event.status is not AuthorizationStatus.ACCEPTED:
            return
        if event.connector_id is not None:
            session = self._connector(charger, event.connector_id).view.session
            if session is not None and session.id_tag is None:
                session.id_tag = event.id_tag
                self._mark(session)
                return
        charger.pending_tag = (event.id_tag, event.at)

    # ------------------------------------------------------------------ session state

    def _start_session(
        self,
        charger: _Charger,
        conn: _Connector,
        at: datetime,
        transaction_id: str | None = None,
        *,
        from_baseline: bool = False,
    ) -> Session:
        """A new session on ``conn``; ``from_baseline``: a vehicle seen arriving (a state),
        whose meter starts at the connector's baseline (:meth:`_begin_at_baseline`)."""
        session = Session(
            id=str(uuid4()),
            charger_id=charger.charger_id,
            connector_id=conn.view.connector_id,
            plugged_in_at=at,
            transaction_id=transaction_id,
        )
        session.tracking.last_event_at = at
        if from_baseline:
            self._begin_at_baseline(charger, conn, session, at)
        session.profile.append(ProfilePoint(at=at, energy_wh=session.energy_wh))
        if charger.pending_tag is not None:
            tag, tag_at = charger.pending_tag
            if timedelta(0) <= at - tag_at <= self.settings.tag_window:
                session.id_tag = tag
            charger.pending_tag = None
        charger.lifetime.meter(conn.view.connector_id).start_session()
        conn.view.session = session
        conn.view.estimated_end_at = None
        conn.recent_power.clear()
        self._known[session.id] = session
        self._emit(SessionEventKind.STARTED, session)
        return session

    def _track_baseline(
        self,
        conn: _Connector,
        reading: Reading,
        register_wh: int | None,
        at: datetime,
        *,
        counted: bool,
    ) -> None:
        """Keep the register where the connector's next session starts (see :class:`_Connector`).

        A polled charger is seen charging only at the first poll after the car started; the
        energy since the previous (idle) poll is in the lifetime energy, so it must be in the
        session too. A gap longer than ``gap_after`` or an anomaly forgets the baseline.
        """
        if reading.source != "register" or register_wh is None:
            return
        since = reading.since_last_s
        gap = since is not None and since > self.settings.gap_after.total_seconds()
        conn.read_at = at
        if counted or (reading.delta_wh == 0 and reading.anomaly is None and not reading.rebased):
            conn.baseline_wh, conn.pending_wh = register_wh, 0
        elif reading.anomaly is not None or reading.rebased or gap:
            conn.baseline_wh, conn.pending_wh = None, 0
        elif conn.baseline_wh is not None:
            conn.pending_wh += reading.delta_wh

    def _begin_at_baseline(
        self, charger: _Charger, conn: _Connector, session: Session, at: datetime
    ) -> None:
        """Start a new session's meter at the baseline; the energy read since then counts."""
        register = charger.lifetime.meter(conn.view.connector_id).register_wh
        base, pending, read_at = conn.baseline_wh, conn.pending_wh, conn.read_at
        if (
            base is None
            or read_at is None
            or register != base + pending
            or at - read_at > self.settings.gap_after
        ):
            return
        session.meter_start_wh = base
        session.meter_stop_wh = register
        if pending:
            session.energy_wh = pending
            self._meter_slot(session, at, pending, None)
        conn.baseline_wh, conn.pending_wh = register, 0

    def _end_session(self, conn: _Connector, session: Session, at: datetime, reason: str) -> None:
        at = max(at, session.plugged_in_at)
        self._touch(session, at)
        if session.charging_started_at is not None and session.charging_finished_at is None:
            session.charging_finished_at = session.tracking.stopped_since or at
            self._emit(SessionEventKind.CHARGING_FINISHED, session)
        session.tracking.charging = False
        session.tracking.stopped_since = None
        session.unplugged_at = at
        session.stop_reason = session.stop_reason or reason
        session.speed_class = self._classify(session)
        self._point(session, at, None, None, None)
        self._close_slot(session)
        conn.view.session = None
        conn.view.last_session = session
        conn.view.target = None
        conn.view.estimated_end_at = None
        conn.recent_power.clear()
        self._remember_ended(session)
        self._emit(SessionEventKind.ENDED, session)

    def _touch(self, session: Session, at: datetime) -> None:
        """Advance the session clock to ``at``, counting the time energy was flowing."""
        tracking = session.tracking
        last = tracking.last_event_at
        if last is None or at > last:
            if last is not None and tracking.charging:
                session.charging_duration_s += (at - last).total_seconds()
            tracking.last_event_at = at

    def _set_flow(
        self, session: Session, flowing: bool, at: datetime, *, immediate: bool = False
    ) -> None:
        """Track whether energy flows; detect the end of charging (and its cancellation)."""
        if not session.is_open:
            return
        tracking = session.tracking
        if flowing:
            if session.charging_started_at is None:
                session.charging_started_at = at
                self._mark(session, urgent=True)
            tracking.charging = True
            tracking.stopped_since = None
            if session.charging_finished_at is not None:
                session.charging_finished_at = None  # it resumed
                self._mark(session, urgent=True)
            return
        if session.charging_started_at is None:
            return
        if tracking.charging:
            tracking.charging = False
            tracking.stopped_since = at
        elif tracking.stopped_since is None and session.charging_finished_at is None:
            tracking.stopped_since = at
        self._maybe_finish(session, at, immediate=immediate)

    def _maybe_finish(self, session: Session, now: datetime, *, immediate: bool) -> bool:
        since = session.tracking.stopped_since
        if session.charging_finished_at is not None or since is None:
            return False
        if not immediate and now - since < self.settings.finish_after:
            return False
        session.charging_finished_at = since
        self._emit(SessionEventKind.CHARGING_FINISHED, session)
        return True

    def _point(
        self,
        session: Session,
        at: datetime,
        power: float | None,
        current: tuple[float | None, float | None, float | None] | None,
        soc: float | None,
    ) -> None:
        if session.profile and at < session.profile[-1].at:
            at = session.profile[-1].at
        point = ProfilePoint(
            at=at, energy_wh=session.energy_wh, power_w=power, current_a=current, soc_pct=soc
        )
        append_point(session.profile, point, self.settings)

    def _classify(self, session: Session) -> SpeedClass | None:
        power = session.max_power_w if self.settings.speed_basis == "max" else None
        if self.settings.speed_basis == "avg":
            power = session.avg_power_w
        if power is None or power < self.settings.charging_threshold_w:
            return None  # never charged
        if power < self.settings.slow_max_w:
            return SpeedClass.SLOW
        if power < self.settings.fast_min_w:
            return SpeedClass.NORMAL
        return SpeedClass.FAST

    def _estimate(self, conn: _Connector, now: datetime) -> None:
        session = conn.view.session
        if session is None or conn.view.target is None:
            conn.view.estimated_end_at = None
            return
        conn.view.estimated_end_at = estimate_end(
            session,
            conn.view.target,
            soc_pct=conn.view.soc_pct,
            recent=list(conn.recent_power),
            now=now,
            settings=self.settings,
        )

    # ------------------------------------------------------------------ plumbing

    def _charger(self, charger_id: str) -> _Charger:
        charger = self._chargers.get(charger_id)
        if charger is None:
            charger = self._chargers[charger_id] = _Charger(
                charger_id=charger_id, lifetime=LifetimeCounter(charger_id=charger_id)
            )
        return charger

    def _connector(self, charger: _Charger, connector_id: int) -> _Connector:
        conn = charger.connectors.get(connector_id)
        if conn is None:
            view = ConnectorView(charger_id=charger.charger_id, connector_id=connector_id)
            conn = charger.connectors[connector_id] = _Connector(view=view)
        return conn

    def _remember_ended(self, session: Session) -> None:
        self._ended.append(session)
        self._known[session.id] = session

    def _mark(self, session: Session, *, urgent: bool = False) -> None:
        self._dirty_sessions[session.id] = session
        if urgent:
            self._wakeup()

    def _wakeup(self) -> None:
        if self._wake is not None:
            self._wake.set()


# --------------------------------------------------------------------------- value checks


def _number(value: object, low: float, high: float) -> float | None:
    """``value`` when it is a finite number within ``[low, high]``, else ``None``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    if isinstance(value, int):  # compared as int: 10**400 must not overflow a float
        return float(value) if low <= value <= high else None
    return value if plausible(value, low, high) else None


def _short(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


class _Checker:
    """Collects the names and values of what an event carried that cannot be real."""

    def __init__(self) -> None:
        self.refused: list[str] = []

    def energy(self, name: str, value: object) -> int | None:
        if value is None:
            return None
        checked = _number(value, 0, MAX_ENERGY_REGISTER_WH)
        if checked is None:
            self.refused.append(f"{name}={_short(value)}")
            return None
        return value if isinstance(value, int) else round(checked)

    def number(self, name: str, value: object, low: float, high: float) -> float | None:
        if value is None:
            return None
        checked = _number(value, low, high)
        if checked is None:
            self.refused.append(f"{name}={_short(value)}")
        return checked

    def phases(self, name: str, values: object, low: float, high: float) -> Phases | None:
        if values is None:
            return None
        if not isinstance(values, tuple) or len(values) != 3:
            self.refused.append(f"{name}={_short(values)}")
            return None
        l1, l2, l3 = (self.number(f"{name}[{i}]", v, low, high) for i, v in enumerate(values))
        if l1 is None and l2 is None and l3 is None:
            return None
        return (l1, l2, l3)


def _checked_values(event: ChargerEvent) -> tuple[ChargerEvent, list[str]]:
    """The event without values that are not finite or out of range, and what was dropped."""
    check = _Checker()
    match event:
        case MeterSample():
            checked: ChargerEvent = replace(
                event,
                energy_register_wh=check.energy("energy_register_wh", event.energy_register_wh),
                session_energy_wh=check.energy("session_energy_wh", event.session_energy_wh),
                power_w=check.number("power_w", event.power_w, -MAX_ABS_POWER_W, MAX_ABS_POWER_W),
                current_a=check.phases(
                    "current_a", event.current_a, -MAX_ABS_CURRENT_A, MAX_ABS_CURRENT_A
                ),
                voltage_v=check.phases("voltage_v", event.voltage_v, 0.0, MAX_VOLTAGE_V),
                soc_pct=check.number("soc_pct", event.soc_pct, 0.0, 100.0),
            )
        case TransactionStarted():
            checked = replace(
                event, meter_start_wh=check.energy("meter_start_wh", event.meter_start_wh)
            )
        case TransactionEnded():
            checked = replace(
                event, meter_stop_wh=check.energy("meter_stop_wh", event.meter_stop_wh)
            )
        case _:
            return event, []
    return (checked, check.refused) if check.refused else (event, [])
