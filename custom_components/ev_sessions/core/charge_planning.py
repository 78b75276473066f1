"""Planned charging at the site: a plan per charger, re-planned on every relevant change and
executed on the charger.

:class:`ChargePlanning` belongs to the :class:`~.site.ChargingSite`. Per charger it keeps a
:class:`PlanSettings` (mode, ready-by, energy or SoC target, price cap, member) and the
:class:`~.planner.Plan` made from it with the site's prices and tariff, and re-plans when

* prices arrive or the tariff changes (:meth:`ChargePlanning.prices_changed`);
* a car is plugged in, a session starts or ends (the engine's session events);
* the settings change (:meth:`ChargePlanning.set_settings`);
* the preferences of the plan's member change (:meth:`ChargePlanning.preferences_changed`,
  called when the site's members change);
* the energy delivered differs from the plan by more than
  :attr:`PlanningSettings.replan_tolerance_wh`;
* the car stops accepting energy (charging finished): the plan is ``done`` - when the car
  stopped inside a window (not in its last :attr:`PlanningSettings.finish_margin`), said so
  itself (SuspendedEV) while the plan let it charge, or took nothing for
  :attr:`PlanningSettings.deviation_grace` into a window. A car that stops because the plan
  paused it (between windows, or at a window's end) is not done.

Execution (:class:`Execution`):

* ``charging_profile`` - an OCPP charger gets the plan as a charging schedule
  (:class:`SetChargingSchedule`: the adapter makes it a TxDefaultProfile before a transaction and
  a TxProfile during one), so it follows the plan while Home Assistant is down; it is confirmed
  with :class:`GetCurrentLimit` (GetCompositeSchedule where supported). A charger that refuses
  profiles falls back to live control, for good;
* ``live`` - Modbus chargers, the fallback and solar-first: the plan's current at each moment is
  the ``PLAN`` wish of the :class:`~.current_arbiter.CurrentArbiter` (0 = pause, ``None`` = no
  opinion), re-stated at every window start and end; the arbiter combines it with the user's limit
  and the site budget;
* ``none`` - a charger the hub cannot control (or no plan): the plan is only shown.

Taking a plan back (cleared, done, or carried out another way) clears the schedule it left on an
OCPP charger. A charger that is offline then owes the clear (:attr:`ChargePlanning.pending_clears`,
kept with the plans): it is sent when the charger connects again, and before any new plan's
schedule, so a stale 0 A pause does not hold every later transaction.

A charger that does not follow its plan (energy outside a window, none inside) for longer than
:attr:`PlanningSettings.deviation_grace` is reported once per plan
(:attr:`ChargePlanning.deviations`).
Settings and plans persist through the :class:`PlanStore` port (the glue uses HA's Store).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta, tzinfo
from decimal import Decimal
from enum import StrEnum
import logging
from typing import TYPE_CHECKING, Any, Protocol

from custom_components.ev_sessions.chargers.events import (
    ChargerError,
    ClearLimits,
    CommandNotSupportedError,
    ConnectorState,
    GetCurrentLimit,
    SchedulePeriod,
    SetChargingSchedule,
)

from .charger_choice import ChargerChoice, rank_choices
from .current_arbiter import LimitSource
from .listeners import KeyedListeners, Listeners, Remove
from .model import Session, SessionEvent, SessionEventKind, utcnow
from .planner import (
    ChargerLimits,
    DeviationWatch,
    Plan,
    PlanDeviation,
    PlanMode,
    PlanRequest,
    PlanState,
    make_plan,
)
from .preferences import Habit, MemberPreferences, effective_defaults
from .prices import to_decimal

if TYPE_CHECKING:
    from .site import ChargingSite


def _nothing() -> None:
    """A removal that has nothing left to remove."""


_LOGGER = logging.getLogger(__name__)

#: The version of the stored form.
STORE_FORMAT = 1
#: The connector plans are made for (chargers with one connector).
PLAN_CONNECTOR = 1
#: A limit read back within this of the plan's current confirms it (A).
LIMIT_TOLERANCE_A = 0.5


class Execution(StrEnum):
    """How a plan is carried out on its charger."""

    CHARGING_PROFILE = "charging_profile"
    LIVE = "live"
    NONE = "none"


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanningSettings:
    """Tunables of planned charging."""

    #: Re-plan when the delivered energy differs from the plan by more than this (Wh) ...
    replan_tolerance_wh: int = 1000
    #: ... but not more often than this.
    replan_min_interval: timedelta = timedelta(minutes=5)
    #: A charger not following its plan for this long is reported.
    deviation_grace: timedelta = timedelta(minutes=10)
    #: Power above this counts as charging (W).
    charging_threshold_w: float = 300.0
    #: The shortest window the chargers and cars tolerate.
    min_window: timedelta = timedelta(minutes=15)
    #: A car that stops within this of a window's end stopped because the window ended (the
    #: charger's clock and its meter interval): that is not a full car.
    finish_margin: timedelta = timedelta(minutes=5)


def _text_time(value: time | None) -> str | None:
    return None if value is None else value.strftime("%H:%M")


@dataclass(frozen=True, slots=True, kw_only=True)
class PlanSettings:
    """What a charger's plan is for (set by entities and actions).

    ``ready_by`` is a local time of day (the next one counts); ``ready_by_at`` a moment, which
    wins while it is ahead. Unset values come from the member's preferences or habits (the mode:
    the member's, else ``cheapest``).
    """

    mode: PlanMode | None = None
    ready_by: time | None = None
    ready_by_at: datetime | None = None
    energy_wh: int | None = None
    target_soc_pct: float | None = None
    price_cap: Decimal | None = None
    min_energy_wh: int = 0
    member_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "mode": None if self.mode is None else self.mode.value,
            "ready_by": _text_time(self.ready_by),
            "ready_by_at": None if self.ready_by_at is None else self.ready_by_at.isoformat(),
            "energy_wh": self.energy_wh,
            "target_soc_pct": self.target_soc_pct,
            "price_cap": None if self.price_cap is None else str(self.price_cap),
            "min_energy_wh": self.min_energy_wh,
            "member_id": self.member_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PlanSettings:
        """Read :meth:`to_dict`'s form (unreadable values are left unset)."""
        ready_by = data.get("ready_by")
        ready_by_at = data.get("ready_by_at")
        mode = data.get("mode")
        return cls(
            mode=PlanMode(mode) if mode in {m.value for m in PlanMode} else None,
            ready_by=time.fromisoformat(ready_by) if isinstance(ready_by, str) else None,
            ready_by_at=datetime.fromisoformat(ready_by_at)
            if isinstance(ready_by_at, str)
            else None,
            energy_wh=data.get("energy_wh"),
            target_soc_pct=data.get("target_soc_pct"),
            price_cap=to_decimal(data.get("price_cap")),
            min_energy_wh=int(data.get("min_energy_wh") or 0),
            member_id=data.get("member_id"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargerPlan:
    """A charger's plan as shown: the settings, the plan, how it is carried out."""

    charger_id: str
    settings: PlanSettings
    plan: Plan
    execution: Execution
    #: The session energy when the plan was made (the plan covers what is still needed).
    delivered_wh: int = 0
    #: The charger confirmed the schedule (its limit now is the plan's); None: not asked.
    confirmed: bool | None = None

    def as_dict(self) -> dict[str, Any]:
        """Plain data for attributes, ``get_plan`` and diagnostics."""
        plan = self.plan
        cost = plan.cost
        return {
            "charger_id": self.charger_id,
            "mode": plan.mode.value,
            "state": plan.state.value,
            "execution": self.execution.value,
            "provisional": plan.provisional,
            "ready_by": None if plan.ready_by is None else plan.ready_by.isoformat(),
            "start": None if plan.start is None else plan.start.isoformat(),
            "finish": None if plan.finish is None else plan.finish.isoformat(),
            "energy_wh": plan.energy_wh,
            "needed_wh": plan.needed_wh,
            "cost": None if cost is None else str(cost.total),
            "currency": None if cost is None else cost.currency,
            "cost_estimated": None if cost is None else cost.estimated,
            "member_id": plan.member_id,
            "windows": [window.to_dict() for window in plan.windows],
            "prices_used": [
                {
                    "start": interval.start.isoformat(),
                    "end": interval.end.isoformat(),
                    "price": str(interval.price),
                    "currency": interval.currency,
                }
                for interval in plan.prices_used
            ],
        }


class PlanStore(Protocol):
    """Where settings and plans are kept across restarts (the glue: HA's Store)."""

    async def async_load(self) -> Mapping[str, Any] | None:
        """The stored form, if any."""

    def save(self, data: Mapping[str, Any]) -> None:
        """Keep ``data`` (the glue may delay and coalesce writes)."""


@dataclass(slots=True)
class _Charger:
    settings: PlanSettings
    current: ChargerPlan | None = None
    watch: DeviationWatch = field(default_factory=DeviationWatch)
    timer: asyncio.TimerHandle | None = None
    last_plan: datetime | None = None
    removers: list[Remove] = field(default_factory=list)
    #: The member preferences the current plan was made with.
    preferences: MemberPreferences | None = None


class ChargePlanning:
    """Plans per charger, re-planned and executed; see the module docstring."""

    def __init__(
        self,
        site: ChargingSite,
        *,
        settings: PlanningSettings | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """Plan for ``site``'s chargers; nothing is stored until :meth:`async_start`."""
        self._site = site
        self.settings = settings or PlanningSettings()
        self._clock = clock
        self._store: PlanStore | None = None
        self._chargers: dict[str, _Charger] = {}
        self._no_profiles: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._habits: dict[str, Mapping[str, Habit]] = {}
        #: Chargers that owe a clear of a plan's schedule, with their reconnect listener.
        self._pending_clears: dict[str, Remove] = {}
        #: The charger's limits (glue: from its options); default 3 x 16 A at 230 V.
        self.limits_of: Callable[[str], ChargerLimits] = lambda _cid: ChargerLimits()
        #: The battery capacity for a SoC target (Wh), if known.
        self.battery_of: Callable[[str], int | None] = lambda _cid: None
        #: The SoC of a member's car (glue: their car's battery sensor), for a charger whose
        #: connector knows none (its own reading, else its SoC entity's, wins).
        self.member_soc_of: Callable[[str | None], float | None] = lambda _mid: None
        #: A member's own preferences (glue: the member subentry).
        self.preferences_of: Callable[[str | None], MemberPreferences] = (
            lambda _mid: MemberPreferences()
        )
        #: Called with the charger's plan (or None when cleared) whenever it changed.
        self.changes: KeyedListeners[str, ChargerPlan | None] = KeyedListeners("plan")
        #: Called once per plan with a charger that does not follow it.
        self.deviations: Listeners[tuple[str, PlanDeviation]] = Listeners("plan deviation")
        site.engine.session_events.add(self._on_session_event)
        site.member_changes.add(lambda _directory: self.preferences_changed())

    # ------------------------------------------------------------------ lifecycle

    async def async_start(self, store: PlanStore | None) -> None:
        """Load the stored settings and plans; each plan resumes (see :meth:`async_resume`)."""
        self._store = store
        data = await store.async_load() if store is not None else None
        if not data or data.get("version") != STORE_FORMAT:
            return
        for charger_id in data.get("pending_clears") or ():
            if isinstance(charger_id, str):
                self._owe_clear(charger_id)
        for charger_id, stored in (data.get("chargers") or {}).items():
            try:
                settings = PlanSettings.from_dict(stored["settings"])
                state = self._state(charger_id, settings)
                raw_plan = stored.get("plan")
                if raw_plan is not None:
                    state.current = ChargerPlan(
                        charger_id=charger_id,
                        settings=settings,
                        plan=Plan.from_dict(raw_plan),
                        execution=Execution(stored.get("execution", Execution.NONE)),
                        delivered_wh=int(stored.get("delivered_wh", 0)),
                    )
                    state.preferences = self.preferences_of(state.current.plan.member_id)
            except (KeyError, ValueError, TypeError) as err:
                _LOGGER.warning("Stored plan of %s not used: %s", charger_id, err)
        for charger_id in sorted(set(self._chargers) | set(self._pending_clears)):
            if self._site.charger(charger_id) is not None:
                self._connected(charger_id)

    async def async_stop(self) -> None:
        """Stop timers, listeners and background work."""
        for remove in self._pending_clears.values():
            remove()
        self._pending_clears = dict.fromkeys(self._pending_clears, _nothing)
        for state in self._chargers.values():
            if state.timer is not None:
                state.timer.cancel()
                state.timer = None
        tasks = [task for task in self._tasks if not task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)

    async def async_wait_idle(self) -> None:
        """Return once no background work runs (tests)."""
        while pending := [task for task in self._tasks if not task.done()]:
            await asyncio.gather(*pending, return_exceptions=True)

    # ------------------------------------------------------------------ settings

    def settings_of(self, charger_id: str) -> PlanSettings | None:
        """The charger's plan settings, if it has any."""
        state = self._chargers.get(charger_id)
        return None if state is None else state.settings

    def plan_of(self, charger_id: str) -> ChargerPlan | None:
        """The charger's current plan, if any."""
        state = self._chargers.get(charger_id)
        return None if state is None else state.current

    @property
    def pending_clears(self) -> set[str]:
        """The chargers that owe a clear of a plan's schedule (they were offline)."""
        return set(self._pending_clears)

    @property
    def planned_chargers(self) -> list[str]:
        """The chargers with plan settings."""
        return sorted(self._chargers)

    async def async_set_settings(self, charger_id: str, settings: PlanSettings) -> ChargerPlan:
        """Plan the charger with ``settings`` from now on; returns the new plan."""
        state = self._state(charger_id, settings)
        state.settings = settings
        return await self.async_replan(charger_id, force=True)

    async def async_clear(self, charger_id: str) -> None:
        """No plan for the charger any more: its execution is withdrawn."""
        state = self._chargers.pop(charger_id, None)
        if state is None:
            return
        if state.timer is not None:
            state.timer.cancel()
        for remove in state.removers:
            remove()
        if state.current is not None:
            await self._withdraw(charger_id, state.current.execution)
        self._save()
        self.changes.emit(charger_id, None)

    def set_habits(self, member_id: str, habits: Mapping[str, Habit]) -> None:
        """A member's learned habits (defaults where they set nothing)."""
        self._habits[member_id] = habits

    def _state(self, charger_id: str, settings: PlanSettings) -> _Charger:
        state = self._chargers.get(charger_id)
        if state is None:
            state = self._chargers[charger_id] = _Charger(settings=settings)
            state.removers.append(
                self._site.engine.charger_changes.add(charger_id, self._on_charger_change)
            )
            state.removers.append(
                self._site.charger_info.add(charger_id, lambda _info: self._connected(charger_id))
            )
        return state

    # ------------------------------------------------------------------ planning

    def prices_changed(self) -> None:
        """Prices arrived or the tariff changed: re-plan every charger."""
        for charger_id in list(self._chargers):
            self._spawn(self.async_replan(charger_id, force=True), f"replan {charger_id}")

    def preferences_changed(self) -> None:
        """Members changed: re-plan at once each charger whose plan's member now has other
        preferences than the plan was made with."""
        for charger_id, state in list(self._chargers.items()):
            if state.current is None or state.preferences is None:
                continue
            if self.preferences_of(state.current.plan.member_id) != state.preferences:
                self._spawn(self.async_replan(charger_id, force=True), f"replan {charger_id}")

    def _tz(self) -> tzinfo:
        return self._site.pricer.tz

    def _delivered(self, charger_id: str) -> tuple[int, bool, str | None]:
        """The open session's energy, whether one is open, and its member."""
        view = self._site.engine.connector(charger_id, PLAN_CONNECTOR)
        session = view.session
        if session is None:
            return 0, False, None
        return session.energy_wh, True, session.member_id

    def _request(
        self, charger_id: str, settings: PlanSettings, now: datetime, *, own_session: bool = True
    ) -> PlanRequest:
        """The planner's request: the settings, the member's defaults, what was delivered
        (``own_session`` False: the open session is someone else's, nothing is delivered)."""
        tz = self._tz()
        delivered, _plugged, session_member = (
            self._delivered(charger_id) if own_session else (0, False, None)
        )
        member_id = settings.member_id or session_member
        member = self._site.directory.member(member_id)
        defaults = effective_defaults(
            self.preferences_of(member_id),
            self._habits.get(member_id or "", {}),
            now=now,
            tz=tz,
        )
        ready_by: datetime | None = None
        if settings.ready_by_at is not None and settings.ready_by_at > now:
            ready_by = settings.ready_by_at
        elif settings.ready_by is not None:
            local = now.astimezone(tz)
            ready_by = datetime.combine(local.date(), settings.ready_by, tzinfo=tz)
            if ready_by <= now:
                ready_by = datetime.combine(
                    local.date() + timedelta(days=1), settings.ready_by, tzinfo=tz
                )
        else:
            ready_by = defaults.ready_by
        energy = settings.energy_wh
        target_soc = settings.target_soc_pct
        if energy is None and target_soc is None:
            energy, target_soc = defaults.energy_wh, defaults.target_soc_pct
        current_soc = self._site.engine.connector(charger_id, PLAN_CONNECTOR).soc_pct
        if current_soc is None:
            current_soc = self.member_soc_of(member_id)
        return PlanRequest(
            mode=settings.mode or defaults.mode,
            ready_by=ready_by,
            energy_wh=None if energy is None else energy - delivered,
            target_soc_pct=target_soc,
            current_soc_pct=current_soc,
            battery_wh=self.battery_of(charger_id),
            price_cap=settings.price_cap if settings.price_cap is not None else defaults.price_cap,
            min_energy_wh=max(settings.min_energy_wh - delivered, 0),
            min_window=self.settings.min_window,
            tariff_group=None if member is None else member.tariff_group,
            member_id=member_id,
            allowed_hours=defaults.allowed_hours,
        )

    def _make(
        self, charger_id: str, settings: PlanSettings, now: datetime, *, own_session: bool = True
    ) -> Plan:
        request = self._request(charger_id, settings, now, own_session=own_session)
        pricer = self._site.pricer
        if request.needed_wh() is None and request.mode is PlanMode.NOW:
            return Plan(
                mode=PlanMode.NOW,
                state=PlanState.CHARGING_NOW,
                created_at=now,
                ready_by=None,
                needed_wh=0,
                outside_windows_a=None,
                member_id=request.member_id,
            )
        return make_plan(
            request,
            self.limits_of(charger_id),
            pricer.series,
            pricer.tariff,
            now=now,
            tz=self._tz(),
        )

    async def async_replan(self, charger_id: str, *, force: bool = False) -> ChargerPlan:
        """Plan the charger again now and carry the plan out; returns it."""
        state = self._chargers[charger_id]
        now = self._clock()
        plan = self._make(charger_id, state.settings, now)
        state.preferences = self.preferences_of(plan.member_id)
        delivered, _plugged, _member = self._delivered(charger_id)
        previous = state.current
        execution = self._execution_for(charger_id, plan)
        current = ChargerPlan(
            charger_id=charger_id,
            settings=state.settings,
            plan=plan,
            execution=execution,
            delivered_wh=delivered,
        )
        state.current, state.last_plan = current, now
        state.watch = DeviationWatch(
            grace=self.settings.deviation_grace, threshold_w=self.settings.charging_threshold_w
        )
        if (
            not force
            and previous is not None
            and previous.plan.windows == plan.windows
            and previous.execution is execution
        ):
            state.current = replace(current, confirmed=previous.confirmed)
            self._after_change(charger_id)
            return state.current
        if previous is not None and previous.execution is not execution:
            await self._withdraw(charger_id, previous.execution)
        await self._execute(charger_id)
        self._after_change(charger_id)
        return self._chargers[charger_id].current or current

    def cheapest_for(
        self,
        member_id: str | None,
        charger_ids: Iterable[str],
        settings: PlanSettings | None = None,
    ) -> tuple[ChargerChoice, ...]:
        """Which of ``charger_ids`` is cheapest next for the member: each charger's plan for
        ``settings`` (what they leave out: the member's preferences and habits), ranked by
        :func:`~.charger_choice.rank_choices`; a charger with someone else's session open is
        busy. Nothing is planned or sent."""
        now = self._clock()
        wanted = replace(settings or PlanSettings(), member_id=member_id)
        choices: list[ChargerChoice] = []
        for charger_id in charger_ids:
            session = self._site.engine.connector(charger_id, PLAN_CONNECTOR).session
            busy = session is not None and session.member_id != member_id
            plan = self._make(charger_id, wanted, now, own_session=not busy)
            choices.append(ChargerChoice(charger_id=charger_id, plan=plan, busy=busy))
        return rank_choices(choices)

    def _execution_for(self, charger_id: str, plan: Plan) -> Execution:
        link = self._site.charger(charger_id)
        if link is None or plan.leaves_charger_alone:
            return Execution.NONE
        if (
            link.gate is not None
            and charger_id not in self._no_profiles
            and plan.outside_windows_a is not None
        ):
            return Execution.CHARGING_PROFILE
        return Execution.LIVE

    # ------------------------------------------------------------------ execution

    async def _execute(self, charger_id: str) -> None:
        await self._async_pay_clear(charger_id)  # first: never clear the new plan's schedule
        state = self._chargers.get(charger_id)
        if state is None or state.current is None:
            return
        current = state.current
        if current.execution is Execution.CHARGING_PROFILE:
            confirmed = await self._send_profile(charger_id, current.plan)
            if confirmed is None:  # refused: live control from now on
                self._no_profiles.add(charger_id)
                current = replace(current, execution=Execution.LIVE)
                state.current = current
            else:
                state.current = replace(current, confirmed=confirmed)
                self._site.current.request(charger_id, LimitSource.PLAN, None)
        if state.current is not None and state.current.execution is Execution.LIVE:
            self._apply_live(charger_id, state.current.plan)

    def _apply_live(self, charger_id: str, plan: Plan) -> None:
        self._site.current.request(charger_id, LimitSource.PLAN, plan.current_at(self._clock()))

    def schedule_periods(self, plan: Plan) -> list[SchedulePeriod]:
        """The plan as schedule periods from now: the current now, then at each change."""
        now = self._clock()
        start = now.replace(second=0, microsecond=0)
        periods = [SchedulePeriod(start=start, limit_a=plan.current_at(now) or 0.0)]
        at = plan.next_change(now)
        while at is not None:
            periods.append(SchedulePeriod(start=at, limit_a=plan.current_at(at) or 0.0))
            at = plan.next_change(at)
        return periods

    async def _send_profile(self, charger_id: str, plan: Plan) -> bool | None:
        """Send the plan as a schedule; whether the charger confirmed it (``None``: refused)."""
        command = SetChargingSchedule(
            connector_id=PLAN_CONNECTOR, periods=self.schedule_periods(plan)
        )
        try:
            result = await self._site.async_execute(charger_id, command)
        except CommandNotSupportedError:
            result = None
        except ChargerError as err:
            _LOGGER.info(
                "Plan for %s not sent now (%s): sent again when it is back", charger_id, err
            )
            return False
        if result is None or not result.accepted:
            _LOGGER.warning(
                "Charger %s refused the plan as a charging profile (%s): live control instead",
                charger_id,
                "not supported" if result is None else result.status,
            )
            return None
        return await self._confirm(charger_id, plan)

    async def _confirm(self, charger_id: str, plan: Plan) -> bool:
        """The charger's limit now is the plan's (read back where it can say)."""
        try:
            answer = await self._site.async_execute(
                charger_id, GetCurrentLimit(connector_id=PLAN_CONNECTOR)
            )
        except ChargerError:
            return False
        limit = answer.data.get("limit_a")
        wanted = plan.current_at(self._clock()) or 0.0
        return (
            answer.accepted
            and isinstance(limit, int | float)
            and abs(float(limit) - wanted) < LIMIT_TOLERANCE_A
        )

    async def _withdraw(self, charger_id: str, execution: Execution) -> None:
        """Take back what an execution set on the charger."""
        if execution is Execution.LIVE:
            self._site.current.request(charger_id, LimitSource.PLAN, None)
        elif execution is Execution.CHARGING_PROFILE:
            self._owe_clear(charger_id)
            await self._async_pay_clear(charger_id)
            self._save()

    def _owe_clear(self, charger_id: str) -> None:
        """The charger's plan schedule is to be cleared (sent again once it is back)."""
        if charger_id not in self._pending_clears:
            self._pending_clears[charger_id] = self._site.charger_info.add(
                charger_id, lambda _info: self._reconnected_owing(charger_id)
            )

    def _reconnected_owing(self, charger_id: str) -> None:
        # a charger with a plan hears of it through its plan's own listener (_state)
        if charger_id not in self._chargers:
            self._connected(charger_id)

    async def _async_pay_clear(self, charger_id: str) -> bool:
        """Send the clear the charger owes, if any; whether none is owed any more."""
        if charger_id not in self._pending_clears:
            return True
        try:
            await self._site.async_execute(charger_id, ClearLimits(connector_id=PLAN_CONNECTOR))
        except CommandNotSupportedError as err:
            _LOGGER.debug("%s cannot clear a plan's schedule: %s", charger_id, err)
        except ChargerError as err:
            _LOGGER.info(
                "The plan's schedule on %s is not cleared now (%s): cleared when it is back",
                charger_id,
                err,
            )
            return False
        self._pending_clears.pop(charger_id)()
        self._save()
        self._site.current.reapply(charger_id)  # the user's or budget's limit, again
        return True

    async def async_resume(self, charger_id: str) -> None:
        """After a restart or reconnect: a profile still in force is kept (confirmed by the
        charger), otherwise the plan is sent again; live plans state their wish again."""
        state = self._chargers.get(charger_id)
        if state is None:
            return
        if state.current is None:
            await self.async_replan(charger_id)
            return
        current = state.current
        if current.plan.leaves_charger_alone and current.execution is not Execution.NONE:
            # stored by an older version with its pause: take that back
            await self._withdraw(charger_id, current.execution)
            current = state.current = replace(current, execution=Execution.NONE)
        if current.plan.leaves_charger_alone:
            pass  # a full car, or no target: nothing to keep on the charger
        elif current.execution is Execution.CHARGING_PROFILE:
            if await self._confirm(charger_id, current.plan):
                state.current = replace(current, confirmed=True)
            else:
                await self._execute(charger_id)
        elif current.execution is Execution.LIVE:
            self._apply_live(charger_id, current.plan)
        elif self._site.charger(charger_id) is not None:
            await self.async_replan(charger_id, force=True)
            return
        self._after_change(charger_id)

    def async_refresh(self, charger_id: str) -> None:
        """A window started or ended: live plans state their new wish; listeners hear of it."""
        state = self._chargers.get(charger_id)
        if state is None or state.current is None:
            return
        if state.current.execution is Execution.LIVE:
            self._apply_live(charger_id, state.current.plan)
        self._after_change(charger_id)

    def _after_change(self, charger_id: str) -> None:
        """Save, tell the listeners, and wake up at the plan's next change."""
        state = self._chargers.get(charger_id)
        if state is None:
            return
        self._save()
        self.changes.emit(charger_id, state.current)
        if state.timer is not None:
            state.timer.cancel()
            state.timer = None
        if state.current is None:
            return
        now = self._clock()
        at = state.current.plan.next_change(now)
        if at is None:
            return
        delay = max((at - now).total_seconds(), 0.0)
        state.timer = asyncio.get_running_loop().call_later(delay, self.async_refresh, charger_id)

    # ------------------------------------------------------------------ observing

    def _connected(self, charger_id: str) -> None:
        self._spawn(self._async_reconnected(charger_id), f"resume plan {charger_id}")

    async def _async_reconnected(self, charger_id: str) -> None:
        """The charger is back: first the clear it owes, then its plan resumes."""
        await self._async_pay_clear(charger_id)
        await self.async_resume(charger_id)

    def _on_session_event(self, event: SessionEvent) -> None:
        charger_id = event.session.charger_id
        state = self._chargers.get(charger_id)
        if state is None:
            return
        if event.kind is SessionEventKind.CHARGING_FINISHED:
            stopped = event.session.charging_finished_at
            current = state.current
            if (
                current is not None
                and stopped is not None
                and self._car_is_full(charger_id, current.plan, stopped)
            ):
                self._done(charger_id)
            return
        self._spawn(self.async_replan(charger_id), f"replan {charger_id}")

    def _car_is_full(self, charger_id: str, plan: Plan, stopped: datetime) -> bool:
        """The car stopped by itself (at ``stopped``), not because the plan paused it: the plan
        had no say at all, the car stopped inside a window (not at its end), or the charger says
        the car takes nothing (SuspendedEV) while the plan lets it charge."""
        if plan.leaves_charger_alone:
            return True
        window = plan.window_at(stopped)
        if window is not None and window.end - stopped > self.settings.finish_margin:
            return True
        view = self._site.engine.connector(charger_id, PLAN_CONNECTOR)
        return view.status is ConnectorState.SUSPENDED_EV and plan.current_at(self._clock()) != 0

    def _done(self, charger_id: str) -> None:
        """The car is full: the plan is done and takes back what it set on the charger."""
        state = self._chargers.get(charger_id)
        if state is None or state.current is None or state.current.plan.state is PlanState.DONE:
            return
        plan = state.current.plan
        done = replace(plan, state=PlanState.DONE, windows=(), slots=(), outside_windows_a=None)
        state.current = replace(state.current, plan=done)
        self._spawn(self._async_done(charger_id), f"plan done {charger_id}")

    async def _async_done(self, charger_id: str) -> None:
        state = self._chargers.get(charger_id)
        if state is None or state.current is None:
            return
        await self._withdraw(charger_id, state.current.execution)
        state.current = replace(state.current, execution=Execution.NONE)
        self._after_change(charger_id)

    def _on_charger_change(self, charger_id: str) -> None:
        """A meter reading: is the plan followed, and is it still right?"""
        state = self._chargers.get(charger_id)
        if state is None or state.current is None:
            return
        current = state.current
        delivered, plugged, _member = self._delivered(charger_id)
        if not plugged or current.execution is Execution.NONE:
            return
        now = self._clock()
        view = self._site.engine.connector(charger_id, PLAN_CONNECTOR)
        if self._idle_in_window(current.plan, view.session, now):
            self._done(charger_id)
            return
        deviation = state.watch.observe(current.plan, now, view.power_w)
        if deviation is not None:
            _LOGGER.warning(
                "Charger %s does not follow its plan (%s since %s)",
                charger_id,
                deviation.kind,
                deviation.since.isoformat(),
            )
            self.deviations.emit((charger_id, deviation))
        if not current.plan.windows or (
            state.last_plan is not None
            and now - state.last_plan < self.settings.replan_min_interval
        ):
            return
        expected = current.plan.planned_wh_until(now)
        if abs((delivered - current.delivered_wh) - expected) > self.settings.replan_tolerance_wh:
            state.last_plan = now
            self._spawn(self.async_replan(charger_id), f"replan {charger_id}")

    def _idle_in_window(self, plan: Plan, session: Session | None, now: datetime) -> bool:
        """The car, which had charged and stopped, takes nothing
        :attr:`PlanningSettings.deviation_grace` into a window: it is full."""
        window = plan.window_at(now)
        if window is None or session is None or session.charging_finished_at is None:
            return False
        idle_since = max(window.start, session.charging_finished_at)
        return now - idle_since >= self.settings.deviation_grace

    # ------------------------------------------------------------------ persistence

    def _save(self) -> None:
        if self._store is None:
            return
        chargers: dict[str, Any] = {}
        for charger_id, state in sorted(self._chargers.items()):
            entry: dict[str, Any] = {"settings": state.settings.to_dict()}
            if state.current is not None:
                entry["plan"] = state.current.plan.to_dict()
                entry["execution"] = state.current.execution.value
                entry["delivered_wh"] = state.current.delivered_wh
            chargers[charger_id] = entry
        self._store.save(
            {
                "version": STORE_FORMAT,
                "chargers": chargers,
                "pending_clears": sorted(self._pending_clears),
            }
        )

    def _spawn(self, work: Coroutine[Any, Any, object], name: str) -> None:
        async def run() -> None:
            await work

        task = asyncio.get_running_loop().create_task(run(), name=f"ev_sessions {name}")
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


__all__ = [
    "LIMIT_TOLERANCE_A",
    "PLAN_CONNECTOR",
    "STORE_FORMAT",
    "ChargePlanning",
    "ChargerPlan",
    "Execution",
    "PlanSettings",
    "PlanStore",
    "PlanningSettings",
]
