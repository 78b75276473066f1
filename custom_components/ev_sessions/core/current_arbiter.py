"""One current per charger from several wishes: the user's limit, the plan and the site budget.

Three parts of the hub want to set a charger's current: the user (the current-limit entity and
the ``set_current_limit`` action), the charging plan (when it is executed with live commands) and
the site power budget (the main fuse, solar surplus). Each states its wish with
:meth:`CurrentArbiter.request` (``None`` = no opinion, ``0`` = pause); the charger gets the
smallest wish, so no part can override another's safety limit, and the arbiter is the only place
that sends a charger a current limit on their behalf.

Sending is economical and safe:

* a lower current is sent at once (a fuse must not wait);
* a higher one only when it differs from what was sent by at least ``step_a`` and
  ``min_interval`` has passed since the last send (the arbiter retries after the interval);
  a charger may have its own :class:`ArbiterSettings` (:meth:`CurrentArbiter.configure`), e.g.
  a Modbus profile whose charger accepts writes only every so often;
* when every wish is withdrawn, the limit is released once (``None`` is sent);
* a failed send is remembered as not sent, and retried at the next request or :meth:`reapply`
  (e.g. when the charger reconnects).

Plain asyncio, no Home Assistant.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
import functools
import logging

from custom_components.ev_sessions.chargers.events import CommandResult

from .listeners import KeyedListeners
from .model import utcnow
from .ports import Clock

_LOGGER = logging.getLogger(__name__)

#: ``send(charger_id, amps)``: apply a limit (``None`` releases it); the charger's answer
#: (``data["limit_a"]``: what it applied, when it says). Raises when the charger cannot be reached.
SendLimit = Callable[[str, float | None], Awaitable[CommandResult]]


class LimitSource(StrEnum):
    """Who wishes a current: the order is also the order shown to users."""

    USER = "user"
    PLAN = "plan"
    BUDGET = "budget"


@dataclass(frozen=True, slots=True, kw_only=True)
class ArbiterSettings:
    """How often and by how much a charger's current may rise."""

    #: A rise smaller than this is not sent (A).
    step_a: float = 1.0
    #: At least this long between two rises sent to one charger.
    min_interval: timedelta = timedelta(seconds=10)


@dataclass(frozen=True, slots=True, kw_only=True)
class CurrentDecision:
    """What a charger should get, why, and what it was last sent."""

    charger_id: str
    #: The smallest wish (A), None when nobody has one.
    target_a: float | None
    #: The wish that decided the target (None when nobody has one).
    decided_by: LimitSource | None
    #: Every wish in force.
    wishes: Mapping[LimitSource, float]
    #: What the charger last applied (A; None: released or never sent).
    applied_a: float | None
    #: The last send failed; the arbiter retries.
    failed: bool = False

    def as_dict(self) -> dict[str, object]:
        """Plain data for sensor attributes and diagnostics."""
        return {
            "target_a": self.target_a,
            "decided_by": None if self.decided_by is None else str(self.decided_by),
            "wishes": {str(source): amps for source, amps in self.wishes.items()},
            "applied_a": self.applied_a,
            "failed": self.failed,
        }


@dataclass(slots=True)
class _ChargerState:
    wishes: dict[LimitSource, float] = field(default_factory=dict)
    #: What was last applied; ``None`` with ``sent`` False: never sent / released.
    applied: float | None = None
    sent: bool = False
    failed: bool = False
    last_send: datetime | None = None
    retry: asyncio.TimerHandle | None = None
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class CurrentArbiter:
    """The smallest wish of user, plan and budget per charger, sent economically."""

    def __init__(
        self,
        send: SendLimit,
        *,
        settings: ArbiterSettings | None = None,
        clock: Clock = utcnow,
    ) -> None:
        """``send`` applies a limit on a charger (see :data:`SendLimit`)."""
        self._send = send
        self.settings = settings or ArbiterSettings()
        self._clock = clock
        self._state: dict[str, _ChargerState] = {}
        self._settings: dict[str, ArbiterSettings] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        #: Called with the new :class:`CurrentDecision` whenever a charger's changed.
        self.decisions: KeyedListeners[str, CurrentDecision] = KeyedListeners("current decision")

    def configure(self, charger_id: str, settings: ArbiterSettings | None) -> None:
        """A charger's own step and rise interval (None: the arbiter's)."""
        if settings is None:
            self._settings.pop(charger_id, None)
        else:
            self._settings[charger_id] = settings

    def settings_of(self, charger_id: str) -> ArbiterSettings:
        """The step and rise interval that hold for a charger."""
        return self._settings.get(charger_id, self.settings)

    # ------------------------------------------------------------------ wishes

    def request(self, charger_id: str, source: LimitSource, amps: float | None) -> None:
        """State (or withdraw, with ``None``) a wish; the charger is updated in the background."""
        self._set_wish(charger_id, source, amps)
        self._spawn(functools.partial(self.async_apply, charger_id))

    async def async_request(
        self, charger_id: str, source: LimitSource, amps: float | None
    ) -> CommandResult:
        """State a wish and apply it now; returns the charger's answer.

        Unlike :meth:`request` the answer is returned and errors raised (the user's own limit
        wants an answer), and a rise is sent at once (the user asked for it). When nothing had
        to be sent the answer is ``Unchanged`` with the limit in force.
        """
        self._set_wish(charger_id, source, amps)
        return await self._apply(charger_id, force=True, raise_errors=True)

    def decision(self, charger_id: str) -> CurrentDecision:
        """What the charger should get and why."""
        state = self._state.get(charger_id) or _ChargerState()
        target, by = _smallest(state.wishes)
        return CurrentDecision(
            charger_id=charger_id,
            target_a=target,
            decided_by=by,
            wishes=dict(state.wishes),
            applied_a=state.applied,
            failed=state.failed,
        )

    def forget(self, charger_id: str) -> None:
        """Drop a charger removed by the user (its wishes and any retry)."""
        state = self._state.pop(charger_id, None)
        self._settings.pop(charger_id, None)
        if state is not None and state.retry is not None:
            state.retry.cancel()

    def reapply(self, charger_id: str) -> None:
        """Send the target again (the charger reconnected and may have forgotten it)."""
        state = self._state.get(charger_id)
        if state is None or not (state.wishes or state.sent or state.failed):
            return  # nothing wished, nothing sent, nothing left to release
        state.sent = False
        self._spawn(functools.partial(self.async_apply, charger_id, force=True))

    # ------------------------------------------------------------------ sending

    async def async_apply(self, charger_id: str, *, force: bool = False) -> float | None:
        """Bring the charger to its target if it needs it (see the module docstring); returns
        the limit in force. Failures are logged and retried later, not raised."""
        await self._apply(charger_id, force=force, raise_errors=False)
        return self.decision(charger_id).applied_a

    async def _apply(self, charger_id: str, *, force: bool, raise_errors: bool) -> CommandResult:
        state = self._state.setdefault(charger_id, _ChargerState())
        async with state.lock:
            target, _ = _smallest(state.wishes)
            if not self._due(state, target, self.settings_of(charger_id), force=force):
                return CommandResult(
                    accepted=True, status="Unchanged", data={"limit_a": state.applied}
                )
            try:
                result = await self._send(charger_id, target)
            except asyncio.CancelledError:
                raise
            except Exception as err:
                self._failed(charger_id, state)
                if raise_errors:
                    raise
                _LOGGER.warning("%s: current limit %s A not applied: %s", charger_id, target, err)
                return CommandResult(accepted=False, status="Error", data={"error": str(err)})
            if not result.accepted:
                self._failed(charger_id, state)
                if not raise_errors:
                    _LOGGER.warning(
                        "%s: current limit %s A refused: %s", charger_id, target, result.status
                    )
                return result
            applied = result.data.get("limit_a")
            if isinstance(applied, int | float) and not isinstance(applied, bool):
                state.applied = float(applied)
            else:
                state.applied = target
            state.sent = target is not None
            state.failed = False
            state.last_send = self._clock()
            self._publish(charger_id)
            return result

    def _failed(self, charger_id: str, state: _ChargerState) -> None:
        state.failed = True
        state.sent = False
        self._publish(charger_id)

    def _due(
        self,
        state: _ChargerState,
        target: float | None,
        settings: ArbiterSettings,
        *,
        force: bool,
    ) -> bool:
        """Whether ``target`` must be sent now; schedules a retry for a held-back rise."""
        if target is None:
            return state.sent or state.failed  # release once
        if not state.sent or state.applied is None:
            return True
        if target < state.applied:
            return True  # lower at once: safety first
        if target == state.applied:
            return False
        if force:
            return True
        if target - state.applied < settings.step_a:
            return False
        wait = self._wait(state, settings)
        if wait > 0:
            self._retry_later(state, wait)
            return False
        return True

    def _wait(self, state: _ChargerState, settings: ArbiterSettings) -> float:
        """Seconds until a rise may be sent."""
        if state.last_send is None:
            return 0.0
        passed = self._clock() - state.last_send
        return max(0.0, (settings.min_interval - passed).total_seconds())

    def _retry_later(self, state: _ChargerState, wait: float) -> None:
        if state.retry is not None:
            return
        loop = asyncio.get_running_loop()
        charger_id = next(key for key, value in self._state.items() if value is state)

        def retry() -> None:
            state.retry = None
            self._spawn(functools.partial(self.async_apply, charger_id))

        state.retry = loop.call_later(wait, retry)

    # ------------------------------------------------------------------ internals

    def _set_wish(self, charger_id: str, source: LimitSource, amps: float | None) -> None:
        if amps is not None and amps < 0:
            raise ValueError(f"a current wish cannot be negative: {amps}")
        state = self._state.setdefault(charger_id, _ChargerState())
        if amps is None:
            state.wishes.pop(source, None)
        else:
            state.wishes[source] = float(amps)
        self._publish(charger_id)

    def _publish(self, charger_id: str) -> None:
        self.decisions.emit(charger_id, self.decision(charger_id))

    def _spawn(self, work: Callable[[], Awaitable[object]]) -> None:
        """Run ``work()`` in a task; the coroutine is made inside it, so a task cancelled
        before it started (at shutdown) leaves no coroutine un-awaited."""

        async def run() -> None:
            await work()

        task = asyncio.get_running_loop().create_task(run(), name="ev_sessions current limit")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def async_wait_idle(self) -> None:
        """Return once no send is pending (tests, shutdown)."""
        while pending := [task for task in self._tasks if not task.done()]:
            await asyncio.gather(*pending, return_exceptions=True)

    async def async_stop(self) -> None:
        """Cancel retries and pending sends."""
        for state in self._state.values():
            if state.retry is not None:
                state.retry.cancel()
                state.retry = None
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


def _smallest(wishes: Mapping[LimitSource, float]) -> tuple[float | None, LimitSource | None]:
    """The smallest wish and whose it is (the first source in :class:`LimitSource` order on a
    tie)."""
    best: tuple[float | None, LimitSource | None] = (None, None)
    for source in LimitSource:
        amps = wishes.get(source)
        if amps is not None and (best[0] is None or amps < best[0]):
            best = (amps, source)
    return best


__all__ = [
    "ArbiterSettings",
    "CurrentArbiter",
    "CurrentDecision",
    "LimitSource",
    "SendLimit",
]
