"""Audit log of authorization decisions, session re-attributions and re-pricings.

Plain typed Python (no Home Assistant import). Rows live in the session database (table
``auth_audit``, schema 3). :meth:`AuditLog.record` is synchronous and does no I/O: entries are
queued and written in batches (one transaction) by :meth:`AuditLog.async_flush`, which the
flush loop (:meth:`AuditLog.async_start`) runs every ``flush_interval`` or as soon as
``batch_size`` entries wait. Stop the audit log (:meth:`AuditLog.async_stop`) **before** the
session engine, which closes the shared store.

Full tags are stored (the audit log must say which card was used); log them through
:func:`~.members.shorten_tag` only.
"""

from __future__ import annotations

import asyncio
from collections import deque
import contextlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
import logging
from typing import TYPE_CHECKING

from custom_components.ev_sessions.chargers.events import (
    AuthorizationRequest,
    AuthorizationStatus,
)

from .members import shorten_tag
from .model import utcnow

if TYPE_CHECKING:
    from .charger_policy import Decision
    from .engine import SessionEngine
    from .storage import SessionStore

_LOGGER = logging.getLogger(__name__)


class AuditSource(StrEnum):
    """Where an audited decision or change came from."""

    AUTHORIZE = "authorize"
    START_TRANSACTION = "start_transaction"
    TRANSACTION_EVENT = "transaction_event"
    REMOTE_START = "remote_start"
    LEARN = "learn"
    REATTRIBUTION = "reattribution"
    #: A stored session cost changed: an explicit reprice (``reason`` ``reprice``, the user's
    #: words in ``detail``) or the real price replacing an estimate (``estimate_replaced``).
    REPRICE = "reprice"


@dataclass(frozen=True, slots=True, kw_only=True)
class AuditEntry:
    """One audit row.

    Authorization rows fill charger, connector, tag, member, status and reason. Re-attribution
    rows (source ``reattribution``) fill ``session_id``, ``previous_member_id`` (from),
    ``member_id`` (to) and ``user_id`` (who). Reprice rows (source ``reprice``) fill
    ``session_id``, ``reason`` (a cost reason), ``user_id`` and ``detail`` (the user's reason
    and the totals before and after). ``id`` is set on rows read back.
    """

    at: datetime
    source: AuditSource
    charger_id: str | None = None
    connector_id: int | None = None
    id_tag: str | None = None
    member_id: str | None = None
    status: AuthorizationStatus | None = None
    reason: str | None = None
    guest: bool = False
    session_id: str | None = None
    previous_member_id: str | None = None
    user_id: str | None = None
    detail: str | None = None
    id: int | None = None

    @classmethod
    def from_decision(
        cls,
        request: AuthorizationRequest,
        decision: Decision,
        source: AuditSource = AuditSource.AUTHORIZE,
        *,
        at: datetime | None = None,
        session_id: str | None = None,
    ) -> AuditEntry:
        """The row for a decision on ``request`` (at the request time unless ``at``)."""
        return cls(
            at=request.at if at is None else at,
            source=source,
            charger_id=request.charger_id,
            connector_id=request.connector_id,
            id_tag=request.id_tag,
            member_id=decision.member_id,
            status=decision.status,
            reason=str(decision.reason),
            guest=decision.guest,
            session_id=session_id,
        )


class SessionNotFoundError(LookupError):
    """No session with that id (neither in memory nor stored)."""


class AuditLog:
    """Queues audit entries and writes them in batches to the :class:`SessionStore`."""

    def __init__(
        self,
        store: SessionStore,
        *,
        flush_interval: timedelta = timedelta(seconds=30),
        batch_size: int = 100,
        max_pending: int = 10_000,
    ) -> None:
        """Queue for ``store`` (opened and closed by its owner, the session engine)."""
        self.store = store
        self.flush_interval = flush_interval
        self.batch_size = batch_size
        self.max_pending = max_pending
        #: Entries dropped because the queue was full (database unavailable for long).
        self.dropped = 0
        #: Entries the database refused for their data (quarantined, see ``storage``).
        self.refused = 0
        self._pending: deque[AuditEntry] = deque()
        self._lock = asyncio.Lock()
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None

    @property
    def pending(self) -> int:
        """Entries waiting to be written."""
        return len(self._pending)

    def record(self, entry: AuditEntry) -> None:
        """Queue an entry (synchronous, no I/O)."""
        self._pending.append(entry)
        self._trim()
        _LOGGER.debug(
            "Audit %s %s tag %s -> %s (%s)",
            entry.source,
            entry.charger_id,
            shorten_tag(entry.id_tag) if entry.id_tag else "-",
            entry.status or entry.member_id,
            entry.reason,
        )
        if self._wake is not None and len(self._pending) >= self.batch_size:
            self._wake.set()

    def record_decision(
        self,
        request: AuthorizationRequest,
        decision: Decision,
        source: AuditSource = AuditSource.AUTHORIZE,
        *,
        session_id: str | None = None,
    ) -> AuditEntry:
        """Queue the row of a decision and return it."""
        entry = AuditEntry.from_decision(request, decision, source, session_id=session_id)
        self.record(entry)
        return entry

    async def async_flush(self) -> int:
        """Write every queued entry in one transaction; the number written."""
        async with self._lock:
            batch = list(self._pending)
            if not batch:
                return 0
            self._pending.clear()
            try:
                refused = await self.store.async_save_audit(batch)
            except BaseException:
                # Back in front, in order; entries recorded meanwhile still count to the cap.
                self._pending.extendleft(reversed(batch))
                self._trim()
                raise
            # Rows the database refused for their data are quarantined, never retried forever.
            self.refused += len(refused)
            return len(batch) - len(refused)

    def _trim(self) -> None:
        """Drop the oldest entries beyond :attr:`max_pending`."""
        excess = len(self._pending) - self.max_pending
        if excess <= 0:
            return
        if self.dropped == 0:
            _LOGGER.warning("Audit log queue full; dropping the oldest entries")
        for _ in range(excess):
            self._pending.popleft()
        self.dropped += excess

    async def async_start(self) -> None:
        """Start the background flush loop (idempotent)."""
        if self._task is None:
            self._wake = asyncio.Event()
            self._task = asyncio.create_task(self._loop(), name="ev_sessions audit flush")

    async def async_stop(self) -> None:
        """Stop the loop and write what is queued (does not close the store)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
            self._wake = None
        await self.async_flush()

    async def _loop(self) -> None:
        from .storage import StorageError

        assert self._wake is not None
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.flush_interval.total_seconds()):
                    await self._wake.wait()
            self._wake.clear()
            try:
                await self.async_flush()
            except StorageError:
                _LOGGER.exception("Could not write the ev_sessions audit log; will retry")

    async def async_query(
        self,
        *,
        start: datetime | None = None,
        end: datetime | None = None,
        charger_id: str | None = None,
        member_id: str | None = None,
        session_id: str | None = None,
        source: AuditSource | None = None,
        limit: int | None = 100,
    ) -> list[AuditEntry]:
        """Rows with ``start <= at < end``, newest first (queued entries are written first;
        when that fails, what is stored is read).

        ``member_id`` matches the member of a decision and both sides of a re-attribution.
        """
        from .storage import StorageError

        try:
            await self.async_flush()
        except StorageError as err:
            _LOGGER.debug("Reading the stored audit log without the queued entries: %s", err)
        return await self.store.async_query_audit(
            start=start,
            end=end,
            charger_id=charger_id,
            member_id=member_id,
            session_id=session_id,
            source=source,
            limit=limit,
        )

    async def async_purge(self, before: datetime) -> int:
        """Delete rows older than ``before`` (queued ones included); the number deleted."""
        await self.async_flush()
        return await self.store.async_purge_audit(before)

    async def async_purge_older_than(self, days: int, *, now: datetime | None = None) -> int:
        """Apply a retention of ``days`` (0 keeps everything); the number of rows deleted."""
        if days <= 0:
            return 0
        deleted = await self.async_purge((now or utcnow()) - timedelta(days=days))
        if deleted:
            _LOGGER.info("Removed %d audit log entries older than %d days", deleted, days)
        return deleted


async def async_reattribute(
    engine: SessionEngine,
    audit: AuditLog,
    session_id: str,
    to_member_id: str | None,
    *,
    by_user: str | None = None,
    at: datetime | None = None,
    id_tag: str | None = None,
) -> AuditEntry | None:
    """Move a session to another member and record who did it (None when nothing changes).

    Works for open, recently ended and stored sessions (through
    :meth:`SessionEngine.attribute`). The session keeps the tag that was presented unless
    ``id_tag`` is given. Raises :class:`SessionNotFoundError` for an unknown session id.
    """
    session = engine.session(session_id)
    if session is None:
        await engine.async_flush()  # pending attribution patches reach the database first
        session = await audit.store.async_get(session_id)
    if session is None:
        raise SessionNotFoundError(session_id)
    if session.member_id == to_member_id and id_tag in (None, session.id_tag):
        return None
    entry = AuditEntry(
        at=utcnow() if at is None else at,
        source=AuditSource.REATTRIBUTION,
        charger_id=session.charger_id,
        connector_id=session.connector_id,
        id_tag=session.id_tag if id_tag is None else id_tag,
        member_id=to_member_id,
        reason="reattributed",
        session_id=session_id,
        previous_member_id=session.member_id,
        user_id=by_user,
    )
    engine.attribute(session_id, to_member_id, id_tag)
    audit.record(entry)
    _LOGGER.info(
        "Session %s re-attributed from %s to %s by %s",
        session_id,
        session.member_id,
        to_member_id,
        by_user or "system",
    )
    return entry


__all__ = [
    "AuditEntry",
    "AuditLog",
    "AuditSource",
    "SessionNotFoundError",
    "async_reattribute",
]
