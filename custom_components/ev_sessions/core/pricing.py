"""Session pricing: the site's sessions priced from their slots, live and recorded.

:class:`SessionPricer` is owned by the :class:`~.site.ChargingSite`. It is given the prices as
they become known (:meth:`SessionPricer.async_prices_known`, stored in the ``prices`` table) and
the tariff in force (:meth:`SessionPricer.set_tariff`; ``None``: costs stay unknown).

* **live** (:meth:`SessionPricer.live_cost`, synchronous): an open session's closed slots and its
  running slot, priced with the prices known now (held in memory); an ended session shows its
  recorded cost;
* **recorded** (``session_costs``, append-only, :mod:`.cost_records`): when a session ends, its
  slots are priced with the prices stored as known when each slot closed (``known_at =
  slot.closed_at``), the tariff in force and the member's tariff group, and the cost recorded
  (the session row's ``cost`` carries its total). A recorded cost changes only by
  :meth:`SessionPricer.async_reprice` (a reason, the audit log), once more when energy reaches
  the session after it ended (``late_slot``), and once, automatically, when a real price
  replaces an estimated one the cost used (``estimate_replaced``, with the tariff the cost was
  recorded with; also in the audit log). A later change of prices or tariff never changes it.

Demand pricing (:class:`~.tariff.DemandPricing`) needs, per slot, how many of the site's
connectors were busy: :func:`busy_connectors` counts, per quarter-hour, the most connectors
occupied at once (a session occupies its connector from plug-in to unplug), from the stored
sessions that overlap the session's slots when a cost is recorded (so a later reprice counts the
same), from the sessions held in memory for the live cost.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
import logging
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from .audit import AuditEntry, AuditLog, AuditSource
from .cost import CostError, SessionCost, SessionFacts, price_session
from .cost_records import CostReason, CostRecord
from .listeners import Listeners
from .model import Session, utcnow
from .prices import PriceInterval, PriceSeries
from .slots import SLOT_LENGTH, EnergySlot
from .storage.price_rows import PriceReplace
from .tariff import Tariff, TariffError

if TYPE_CHECKING:
    from .engine import SessionEngine
    from .storage import SessionStore

_LOGGER = logging.getLogger(__name__)

#: Prices held in memory for live costs: those ending after now minus this.
KEEP_PRICES = timedelta(days=2)
#: Recorded costs of ended sessions held in memory (for the live cost of the last sessions).
KEEP_RECORDED = 2000


class UnknownSessionError(LookupError):
    """No session with that id (neither in memory nor stored)."""


class NoTariffError(RuntimeError):
    """No tariff is configured: nothing can be priced."""


@dataclass(frozen=True, slots=True)
class ChargerCost:
    """A charger's sum of the recorded costs of its sessions, in one currency."""

    total: Decimal
    currency: str


def prices_as_known(
    slots: Sequence[EnergySlot], versions: Iterable[PriceInterval], now: datetime | None
) -> PriceSeries:
    """The price of each slot as it was known when the slot closed (``now`` for an open slot,
    and for every slot when ``now`` is given as the moment to price "as known now").

    ``versions`` are every stored version of the intervals; per slot, the versions fetched at or
    before its moment are ranked like :class:`PriceSeries` (a real price beats an estimate, then
    the latest) and the one covering the slot's start is its price, cut to the slot.
    """
    stored = list(versions)
    by_moment: dict[datetime | None, PriceSeries] = {}
    found: list[PriceInterval] = []
    for slot in slots:
        moment = now if now is not None else slot.closed_at
        series = by_moment.get(moment)
        if series is None:
            known = (v for v in stored if moment is None or v.fetched_at <= moment)
            series = by_moment[moment] = PriceSeries(known)
        interval = series.at(slot.start)
        if interval is not None:
            found.append(replace(interval, start=slot.start, length=SLOT_LENGTH))
    return PriceSeries(found)


def busy_connectors(
    slots: Iterable[EnergySlot], sessions: Iterable[Session], now: datetime
) -> dict[datetime, int]:
    """Per slot start, the most connectors occupied at once during that quarter-hour.

    A session occupies its connector (charger and connector id) from ``plugged_in_at`` to
    ``unplugged_at`` (an open one to ``now``); two sessions on one connector count once, and a
    session that ends at the moment another starts does not overlap it.
    """
    occupied = [
        ((s.charger_id, s.connector_id), s.plugged_in_at, s.unplugged_at or now) for s in sessions
    ]
    busy: dict[datetime, int] = {}
    for start in sorted({slot.start for slot in slots}):
        end = start + SLOT_LENGTH
        events: list[tuple[datetime, int, tuple[str, int]]] = []
        for key, begin, finish in occupied:
            if begin < end and finish > start and finish > begin:
                events.append((max(begin, start), 1, key))
                events.append((min(finish, end), -1, key))
        events.sort(key=lambda event: (event[0], event[1]))  # ends before starts at a moment
        per_connector: Counter[tuple[str, int]] = Counter()
        now_busy = most = 0
        for _, step, key in events:
            per_connector[key] += step
            if step > 0 and per_connector[key] == 1:
                now_busy += 1
                most = max(most, now_busy)
            elif step < 0 and per_connector[key] == 0:
                now_busy -= 1
        busy[start] = most
    return busy


def _slots_of(session: Session) -> list[EnergySlot]:
    slots = list(session.slots)
    if session.open_slot is not None:
        slots.append(session.open_slot)
    return slots


class SessionPricer:
    """Prices the site's sessions; see the module docstring."""

    def __init__(
        self,
        engine: SessionEngine,
        store: SessionStore,
        audit: AuditLog,
        *,
        group_of: Callable[[str | None], str | None],
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """Price with ``group_of(member_id)`` as the member's tariff group."""
        self._engine = engine
        self._store = store
        self._audit = audit
        self._group_of = group_of
        self._clock = clock
        self.tariff: Tariff | None = None
        #: Sessions that were open while a tariff was in force: only these are priced live
        #: once they ended (one that ended before any tariff stays unpriced).
        self._under_tariff: set[str] = set()
        #: The site's time zone (time-of-use windows are read in it).
        self.tz: tzinfo = UTC
        self._series = PriceSeries()
        self._recorded: dict[str, SessionCost] = {}
        #: Per (charger, currency): the sum of the costs in force of its sessions.
        self._charger_totals: dict[tuple[str, str], Decimal] = {}
        self._running: dict[str, asyncio.Task[None]] = {}
        self._again: dict[str, CostReason] = {}
        #: One recording per session at a time (see :meth:`_async_record`).
        self._locks: dict[str, tuple[asyncio.Lock, int]] = {}  # lock, callers holding/waiting
        self._tasks: set[asyncio.Task[Any]] = set()
        #: Called with every recorded cost (sensors, member totals).
        self.recorded: Listeners[CostRecord] = Listeners("recorded cost")

    # ------------------------------------------------------------------ lifecycle

    async def async_start(self) -> None:
        """Load the prices known for live costs and the chargers' cost totals."""
        now = self._clock()
        known = await self._store.async_prices(start=now - KEEP_PRICES, end=now + KEEP_PRICES)
        self._series = PriceSeries(known)
        totals = await self._store.async_charger_cost_totals()
        self._charger_totals = dict(totals)

    async def async_stop(self) -> None:
        """Let running pricings finish (they write to the store the engine closes later)."""
        await self.async_wait_idle()

    async def async_wait_idle(self) -> None:
        """Return once no pricing is running."""
        while pending := [task for task in self._tasks if not task.done()]:
            await asyncio.gather(*pending, return_exceptions=True)

    # ------------------------------------------------------------------ inputs

    def set_tariff(self, tariff: Tariff | None) -> None:
        """Price with ``tariff`` from now on (``None``: costs stay unknown); past costs stay."""
        if tariff is not None:
            tariff.check()
            for session in self._open_sessions():
                self._under_tariff.add(session.id)
        else:
            self._under_tariff.clear()  # nothing is priced without a tariff
        self.tariff = tariff

    @property
    def series(self) -> PriceSeries:
        """The prices known now (held in memory for live costs)."""
        return self._series

    async def async_prices_known(self, intervals: Sequence[PriceInterval]) -> list[PriceInterval]:
        """Store prices as known now (a real price replaces an estimated one of its source and
        start); recorded costs that used an estimate a new real price covers are re-priced once.
        Returns the intervals stored."""
        stored = await self._store.async_save_prices(intervals, replace=PriceReplace.ESTIMATED)
        keep_from = self._clock() - KEEP_PRICES
        self._series = PriceSeries([*(i for i in self._series if i.end > keep_from), *stored])
        real = [interval for interval in stored if not interval.estimated]
        if real:
            await self._replace_estimates(real)
        return stored

    # ------------------------------------------------------------------ live

    def live_cost(self, session: Session) -> SessionCost | None:
        """The session's cost now: recorded once ended, else priced from what is known now.

        A session that ended before the tariff came into force is not priced here (it stays
        unpriced until ``reprice_session``).
        """
        recorded = self._recorded.get(session.id)
        if recorded is not None:
            return recorded
        tariff = self.tariff
        if tariff is None:
            return None
        if session.is_open:
            self._under_tariff.add(session.id)
        elif session.id not in self._under_tariff:
            return None
        slots = _slots_of(session)
        now = self._clock()
        busy: dict[datetime, int] = {}
        if tariff.demand is not None:
            busy = busy_connectors(slots, self._sessions_in_memory(session), now)
        try:
            return price_session(
                slots,
                self._series,
                tariff,
                self._group_of(session.member_id),
                self._facts(session, now, busy),
            )
        except CostError as err:
            _LOGGER.debug("No live cost for session %s: %s", session.id, err)
            return None

    def recorded_cost(self, session_id: str) -> SessionCost | None:
        """The recorded cost of a session held in memory (recently recorded), if any."""
        return self._recorded.get(session_id)

    def charger_total(self, charger_id: str, currency: str) -> ChargerCost | None:
        """The sum of the recorded costs in ``currency`` of the charger's sessions (``None``
        before any); sessions priced in another currency are never added in."""
        total = self._charger_totals.get((charger_id, currency))
        return None if total is None else ChargerCost(total, currency)

    def _open_sessions(self) -> list[Session]:
        """The sessions open now on every connector of the site."""
        found: list[Session] = []
        for charger_id in self._engine.charger_ids():
            for connector_id in self._engine.connectors(charger_id):
                open_session = self._engine.connector(charger_id, connector_id).session
                if open_session is not None:
                    found.append(open_session)
        return found

    def _sessions_in_memory(self, session: Session) -> list[Session]:
        """``session`` and the open and last sessions of every connector of the site."""
        found = {session.id: session}
        for charger_id in self._engine.charger_ids():
            for connector_id in self._engine.connectors(charger_id):
                view = self._engine.connector(charger_id, connector_id)
                for other in (view.session, view.last_session):
                    if other is not None:
                        found.setdefault(other.id, other)
        return list(found.values())

    def _facts(
        self, session: Session, now: datetime, busy: Mapping[datetime, int] | None = None
    ) -> SessionFacts:
        return SessionFacts(
            session_id=session.id,
            energy_wh=session.energy_wh,
            speed_class=session.speed_class,
            charging_finished_at=session.charging_finished_at,
            unplugged_at=session.unplugged_at,
            as_of=now,
            busy_connectors=MappingProxyType(dict(busy or {})),
            tz=self.tz,
        )

    # ------------------------------------------------------------------ engine events

    def session_ended(self, session_id: str) -> None:
        """The session ended: record its cost (in the background)."""
        if self.tariff is not None:
            self._under_tariff.add(session_id)
            self._schedule(session_id, CostReason.FINAL)

    def slot_closed(self, slot: EnergySlot) -> None:
        """A slot closed: energy after the end of a priced session re-prices it (in the
        background)."""
        session = self._engine.session(slot.session_id)
        if session is not None and session.is_open:
            return
        if slot.session_id in self._recorded:
            self._schedule(slot.session_id, CostReason.LATE_SLOT)

    def _schedule(self, session_id: str, reason: CostReason) -> None:
        """Record the session's cost; one pricing per session at a time (repeats coalesced)."""
        if session_id in self._running:
            self._again[session_id] = reason
            return
        task = asyncio.get_running_loop().create_task(
            self._record_loop(session_id, reason), name=f"ev_sessions price {session_id}"
        )
        self._running[session_id] = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _record_loop(self, session_id: str, reason: CostReason) -> None:
        try:
            while True:
                try:
                    await self._async_record(session_id, reason)
                except Exception:
                    _LOGGER.exception("Could not price session %s", session_id)
                next_reason = self._again.pop(session_id, None)
                if next_reason is None:
                    return
                reason = next_reason
        finally:
            self._running.pop(session_id, None)
            self._under_tariff.discard(session_id)  # recorded (or failing): no live pricing

    # ------------------------------------------------------------------ recording

    async def _session(self, session_id: str) -> Session:
        session = self._engine.session(session_id)
        if session is None:
            await self._engine.async_flush()
            session = await self._store.async_get(session_id)
        if session is None:
            raise UnknownSessionError(session_id)
        return session

    async def _price_stored(
        self, session: Session, tariff: Tariff, *, as_known_now: bool
    ) -> SessionCost:
        """Price from the stored prices: as known when each slot closed, or as known now."""
        slots = _slots_of(session)
        now = self._clock()
        versions: list[PriceInterval] = []
        busy: dict[datetime, int] = {}
        if slots:
            start = min(slot.start for slot in slots)
            end = max(slot.end for slot in slots)
            versions = await self._store.async_price_versions(start, end)
            if tariff.demand is not None:
                busy = await self._busy_stored(session, slots, start, end, now)
        prices = prices_as_known(slots, versions, now if as_known_now else None)
        group = self._group_of(session.member_id)
        return price_session(slots, prices, tariff, group, self._facts(session, now, busy))

    async def _busy_stored(
        self,
        session: Session,
        slots: Sequence[EnergySlot],
        start: datetime,
        end: datetime,
        now: datetime,
    ) -> dict[datetime, int]:
        """Busy connectors per slot from the stored sessions overlapping ``[start, end)``
        (pending changes written first; the session priced as given)."""
        stored = await self._engine.async_sessions(start=start, end=end)
        found = {other.id: other for other in stored}
        found[session.id] = session
        return busy_connectors(slots, found.values(), now)

    async def _async_record(
        self,
        session_id: str,
        reason: CostReason,
        *,
        tariff: Tariff | None = None,
        note: str | None = None,
        user_id: str | None = None,
    ) -> CostRecord | None:
        """Price and record one session; one recording per session at a time, whichever path
        asks (final, late slot, reprice, estimate replaced), so each reads the previous record
        after the one before it was saved."""
        lock, users = self._locks.get(session_id, (asyncio.Lock(), 0))
        self._locks[session_id] = (lock, users + 1)
        try:
            async with lock:
                return await self._async_record_now(
                    session_id, reason, tariff=tariff, note=note, user_id=user_id
                )
        finally:
            lock, users = self._locks[session_id]
            if users == 1:
                del self._locks[session_id]
            else:
                self._locks[session_id] = (lock, users - 1)

    async def _async_record_now(
        self,
        session_id: str,
        reason: CostReason,
        *,
        tariff: Tariff | None,
        note: str | None,
        user_id: str | None,
    ) -> CostRecord | None:
        tariff = tariff or self.tariff
        if tariff is None:
            return None
        session = await self._session(session_id)
        cost = await self._price_stored(
            session,
            tariff,
            as_known_now=reason in (CostReason.REPRICE, CostReason.ESTIMATE_REPLACED),
        )
        previous = (await self._store.async_costs([session_id])).get(session_id)
        record = CostRecord(
            session_id=session_id,
            computed_at=self._clock(),
            reason=reason,
            cost=cost,
            tariff=tariff.to_dict(),
            note=note,
            user_id=user_id,
        )
        record = replace(record, id=await self._store.async_save_cost(record))
        self._remember(record)
        self._add_to_charger(session.charger_id, previous, cost)
        # last: it notifies the charger's entities, which read the totals above
        self._engine.set_cost(session_id, cost.total, _tariff_label(cost), overwrite=True)
        if reason in (CostReason.REPRICE, CostReason.ESTIMATE_REPLACED):
            self._audit_reprice(session, record, previous)
        self.recorded.emit(record)
        return record

    def _remember(self, record: CostRecord) -> None:
        self._under_tariff.discard(record.session_id)  # its recorded cost answers from now on
        self._recorded.pop(record.session_id, None)
        self._recorded[record.session_id] = record.cost
        while len(self._recorded) > KEEP_RECORDED:
            del self._recorded[next(iter(self._recorded))]

    def _add_to_charger(
        self, charger_id: str, previous: CostRecord | None, cost: SessionCost
    ) -> None:
        if previous is not None:
            key = (charger_id, previous.cost.currency)
            self._charger_totals[key] = self._charger_totals.get(key, Decimal(0)) - (
                previous.cost.total
            )
        key = (charger_id, cost.currency)
        self._charger_totals[key] = self._charger_totals.get(key, Decimal(0)) + cost.total

    def _audit_reprice(
        self, session: Session, record: CostRecord, previous: CostRecord | None
    ) -> None:
        before = "unknown" if previous is None else str(previous.cost.total)
        words = f"{record.note}: " if record.note else ""
        self._audit.record(
            AuditEntry(
                at=record.computed_at,
                source=AuditSource.REPRICE,
                charger_id=session.charger_id,
                connector_id=session.connector_id,
                member_id=session.member_id,
                reason=str(record.reason),
                session_id=session.id,
                user_id=record.user_id,
                detail=f"{words}{before} -> {record.cost.total} {record.cost.currency}",
            )
        )

    async def async_reprice(
        self, session_id: str, reason: str, user_id: str | None = None
    ) -> CostRecord:
        """Price the session again with the tariff in force and the prices known now; record
        it with ``reason`` (and the user) and in the audit log. Raises
        :class:`UnknownSessionError`, :class:`NoTariffError`."""
        if self.tariff is None:
            raise NoTariffError
        record = await self._async_record(
            session_id, CostReason.REPRICE, note=reason, user_id=user_id
        )
        assert record is not None
        return record

    async def _replace_estimates(self, real: Sequence[PriceInterval]) -> None:
        """Re-price, once each, the recorded estimated costs whose slots the new real prices
        cover (with the tariff each was recorded with)."""
        start = min(interval.start for interval in real)
        end = max(interval.end for interval in real)
        covered = PriceSeries(real)
        slots = await self._store.async_slots(start - SLOT_LENGTH, end)
        ids = sorted({slot.session_id for slot in slots if covered.at(slot.start) is not None})
        if not ids:
            return
        latest = await self._store.async_costs(ids)
        for session_id, record in latest.items():
            if not record.cost.estimated:
                continue
            history = await self._store.async_cost_history(session_id)
            if any(r.reason is CostReason.ESTIMATE_REPLACED for r in history):
                continue
            try:
                tariff = Tariff.from_dict(record.tariff) if record.tariff else self.tariff
                await self._async_record(session_id, CostReason.ESTIMATE_REPLACED, tariff=tariff)
            except (TariffError, CostError, UnknownSessionError) as err:
                _LOGGER.warning("Could not re-price session %s: %s", session_id, err)

    def spawn(self, work: Coroutine[Any, Any, object], name: str) -> None:
        """Run ``work`` in the background, awaited by :meth:`async_wait_idle`."""
        task = asyncio.get_running_loop().create_task(work, name=f"ev_sessions {name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _tariff_label(cost: SessionCost) -> str:
    """What the session row's ``tariff`` says about its cost: currency and tariff group."""
    return f"{cost.currency} {cost.group}"


__all__ = [
    "KEEP_PRICES",
    "ChargerCost",
    "NoTariffError",
    "SessionPricer",
    "UnknownSessionError",
    "busy_connectors",
    "prices_as_known",
]
