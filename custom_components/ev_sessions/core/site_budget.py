"""The site power budget at work: allocation rounds for a :class:`ChargingSite`.

:class:`SiteBudget` runs a :class:`~.power_budget.PowerBudget` round every
:attr:`SiteBudgetSettings.interval` and soon after the grid meter changes (debounced), with each
connected charger's own draw from the engine's live connector views. The allocations become the
site budget's wishes in the current arbiter (``LimitSource.BUDGET``): a lower current goes out
at once, rises are stepped and spaced there. Results and notices (throttled, paused, disobeying)
go to listeners. Plain asyncio, no Home Assistant: the glue feeds the readings in.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
import logging
import math
from typing import TYPE_CHECKING

from custom_components.ev_sessions.chargers.events import ConnectorState

from .current_arbiter import CurrentDecision, LimitSource
from .listeners import Listeners
from .model import utcnow
from .ports import Clock
from .power_budget import (
    BudgetNotice,
    BudgetResult,
    BudgetSettings,
    ChargeMode,
    ChargerLoad,
    GridReading,
    PhaseCurrents,
    PowerBudget,
    SolarReading,
)

if TYPE_CHECKING:
    from .site import ChargingSite

_LOGGER = logging.getLogger(__name__)

#: ``ready_by(charger_id)``: when the plan wants the car ready (urgency), if it says.
type ReadyBy = Callable[[str], datetime | None]


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetCharger:
    """How one charger takes part in the budget (its options)."""

    phases: int = 3
    #: The site phase (1-3) of a 1-phase charger.
    phase: int = 1
    priority: int = 0
    min_a: float = 6.0
    max_a: float = 32.0
    mode: ChargeMode = ChargeMode.FUSE
    #: Its draw counts from a sample received this recently (None: the settings').
    sample_max_age: timedelta | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteBudgetSettings:
    """The budget and how often it runs."""

    budget: BudgetSettings
    #: A round at least this often.
    interval: timedelta = timedelta(seconds=5)
    #: A grid meter change runs a round this soon (changes within it share one round).
    debounce: timedelta = timedelta(seconds=1)
    #: Chargers without their own settings.
    default_charger: BudgetCharger = field(default_factory=BudgetCharger)
    #: A charger's draw counts only while a session is open and from a sample received this
    #: recently (about twice the interval it reports at); an older one counts as nothing, so a
    #: charger that went quiet is not taken out of the grid reading (the household's load).
    sample_max_age: timedelta = timedelta(seconds=30)
    #: A car follows a lowered limit within this time: a sample received before the limit was
    #: lowered, or this soon after, counts at most the new limit.
    limit_settle: timedelta = timedelta(seconds=5)


class SiteBudget:
    """Allocation rounds for the site's connected chargers; see the module docstring."""

    def __init__(
        self,
        site: ChargingSite,
        settings: SiteBudgetSettings,
        *,
        chargers: Mapping[str, BudgetCharger] | None = None,
        charger_settings: Callable[[str], BudgetCharger | None] | None = None,
        ready_by: ReadyBy | None = None,
        refresh: Callable[[], None] | None = None,
        clock: Clock = utcnow,
    ) -> None:
        """A budget over ``site``; nothing runs before :meth:`start`.

        A charger's settings: ``chargers``, else ``charger_settings(charger_id)``, else the
        defaults. ``refresh`` is called at the start of every round (the glue reads the meters).
        """
        self._site = site
        self.settings = settings
        self.budget = PowerBudget(settings.budget)
        self.chargers: dict[str, BudgetCharger] = dict(chargers or {})
        self._ready_by = ready_by
        self._charger_settings = charger_settings
        self._refresh = refresh
        self._clock = clock
        self.grid: GridReading | None = None
        self.solar: SolarReading | None = None
        #: The last round's result.
        self.result: BudgetResult | None = None
        #: Called with every round's result, and with every notice.
        self.results: Listeners[BudgetResult] = Listeners("budget result")
        self.notices: Listeners[BudgetNotice] = Listeners("budget notice")
        self._wished: dict[str, float | None] = {}
        #: Per charger: the limit in force last round, and when it was last seen lowered.
        self._applied: dict[str, float | None] = {}
        self._lowered_at: dict[str, datetime] = {}
        #: Per charger: the user's and the plan's wishes last seen, and the subscription to them.
        self._others: dict[str, Mapping[LimitSource, float]] = {}
        self._watching: dict[str, Callable[[], None]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._soon: asyncio.TimerHandle | None = None
        self._running = False

    # ------------------------------------------------------------------ inputs

    def start(self) -> None:
        """Run rounds from now on (the first at once)."""
        self._running = True
        self.run_round()

    def stop(self) -> None:
        """No more rounds; the budget's wishes are withdrawn (the chargers are released)."""
        self._running = False
        for handle in (self._timer, self._soon):
            if handle is not None:
                handle.cancel()
        self._timer = self._soon = None
        for remove in self._watching.values():
            remove()
        self._watching.clear()
        for charger_id, amps in self._wished.items():
            if amps is not None:
                self._site.current.request(charger_id, LimitSource.BUDGET, None)
        self._wished.clear()

    def grid_changed(self, reading: GridReading) -> None:
        """A new grid meter reading: a round soon."""
        self.grid = reading
        self._round_soon()

    def solar_changed(self, reading: SolarReading) -> None:
        """A new solar reading (used by the next round)."""
        self.solar = reading

    def set_charger(self, charger_id: str, charger: BudgetCharger | None) -> None:
        """A charger's budget settings (None: the defaults)."""
        if charger is None:
            self.chargers.pop(charger_id, None)
        else:
            self.chargers[charger_id] = charger

    def _round_soon(self) -> None:
        if not self._running or self._soon is not None:
            return
        loop = asyncio.get_running_loop()
        self._soon = loop.call_later(self.settings.debounce.total_seconds(), self._debounced)

    def _debounced(self) -> None:
        self._soon = None
        self.run_round()

    # ------------------------------------------------------------------ the round

    def run_round(self) -> BudgetResult:
        """One round now: allocate, wish, tell the listeners; the next is scheduled."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._refresh is not None:
            self._refresh()
        now = self._clock()
        loads = [self._load(charger_id, now) for charger_id in self._connected()]
        result = self.budget.allocate(now, loads, self.grid, self.solar)
        self.result = result
        for charger_id, allocation in result.allocations.items():
            self._wish(charger_id, allocation.current_a)
        for gone in [cid for cid in self._wished if cid not in result.allocations]:
            self._wish(gone, None)
        self.results.emit(result)
        for notice in result.notices:
            self.notices.emit(notice)
        if self._running:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_later(self.settings.interval.total_seconds(), self.run_round)
        return result

    def _connected(self) -> list[str]:
        engine = self._site.engine
        return sorted(cid for cid in self._site.chargers if engine.is_connected(cid))

    def _wish(self, charger_id: str, amps: float | None) -> None:
        if self._wished.get(charger_id) == amps and charger_id in self._wished:
            return
        self._wished[charger_id] = amps
        if amps is None:
            del self._wished[charger_id]
        self._site.current.request(charger_id, LimitSource.BUDGET, amps)

    def _load(self, charger_id: str, now: datetime) -> ChargerLoad:
        """The charger now: its settings, its draw per phase, whether a session is open and how
        much it wants (see :meth:`_draw` and :meth:`_demand`)."""
        config = self.chargers.get(charger_id)
        if config is None and self._charger_settings is not None:
            config = self._charger_settings(charger_id)
        if config is None:
            config = self.settings.default_charger
        decision = self._site.current.decision(charger_id)
        self._watch(charger_id, decision.wishes)
        draw, active, full = self._draw(charger_id, config, decision.applied_a, now)
        return ChargerLoad(
            charger_id=charger_id,
            phases=config.phases,
            phase=config.phase,
            min_a=config.min_a,
            max_a=config.max_a,
            draw_a=draw,
            priority=config.priority,
            ready_by=self._ready_by(charger_id) if self._ready_by is not None else None,
            active=active,
            mode=config.mode,
            limit_a=decision.applied_a,
            demand_a=_demand(decision.wishes, config, draw, full=full),
        )

    def _draw(
        self, charger_id: str, config: BudgetCharger, applied: float | None, now: datetime
    ) -> tuple[PhaseCurrents, bool, bool]:
        """Its draw per phase; whether a session is open; whether every open session's car
        paused itself (full).

        Only open sessions with a sample received within the charger's ``sample_max_age`` count
        (the engine keeps a connector's last values after its session ended). A sample received
        before the limit in force was lowered, or within ``limit_settle`` after, counts at most
        that limit: the car has followed it, and a draw taken for larger than it is would hide
        household load from the grid reading.
        """
        engine = self._site.engine
        max_age = config.sample_max_age or self.settings.sample_max_age
        lowered_at = self._lowered(charger_id, applied, now)
        draw = [0.0, 0.0, 0.0]
        active = False
        full = True
        unsettled = False
        voltage = self.settings.budget.voltage_v
        for connector_id in engine.connectors(charger_id):
            view = engine.connector(charger_id, connector_id)
            if view.session is None:
                continue
            active = True
            full = full and view.status is ConnectorState.SUSPENDED_EV
            received = view.received_at
            if received is None or now - received > max_age:
                continue
            if lowered_at is not None and received <= lowered_at + self.settings.limit_settle:
                unsettled = True
            currents = view.current_a
            if currents is not None and any(value is not None for value in currents):
                for p, value in enumerate(currents):
                    draw[p] += max(value or 0.0, 0.0)
            elif view.power_w:  # no currents: from the power, spread over its phases
                per_phase = max(view.power_w, 0.0) / (voltage * config.phases)
                for p in range(config.phases):
                    draw[p] += per_phase
        if unsettled and applied is not None:  # the limit is charger-wide
            draw = [min(value, applied) for value in draw]
        return (draw[0], draw[1], draw[2]), active, active and full

    def _lowered(self, charger_id: str, applied: float | None, now: datetime) -> datetime | None:
        """When the charger's limit in force was last seen lowered (first seen counts)."""
        before = self._applied.get(charger_id, math.inf)
        if applied is not None and (before is None or applied < before):
            self._lowered_at[charger_id] = now
        self._applied[charger_id] = applied
        return self._lowered_at.get(charger_id)

    def _watch(self, charger_id: str, wishes: Mapping[LimitSource, float]) -> None:
        """A round soon when the user's or the plan's wish for the charger changes."""
        self._others[charger_id] = _others(wishes)
        if charger_id in self._watching:
            return

        def changed(decision: CurrentDecision) -> None:
            others = _others(decision.wishes)
            if others != self._others.get(charger_id):
                self._others[charger_id] = others
                self._round_soon()

        self._watching[charger_id] = self._site.current.decisions.add(charger_id, changed)


def _others(wishes: Mapping[LimitSource, float]) -> dict[LimitSource, float]:
    """The wishes that are not the budget's."""
    return {source: amps for source, amps in wishes.items() if source is not LimitSource.BUDGET}


def _demand(
    wishes: Mapping[LimitSource, float],
    config: BudgetCharger,
    draw: PhaseCurrents,
    *,
    full: bool,
) -> float | None:
    """The most a charger wants: the smallest wish of the user and the plan (a plan waiting
    for its window wants 0); a car that paused itself (full) no more than its minimum or what
    it draws, so it keeps a current to resume at but takes no share. None: its maximum."""
    others = _others(wishes)
    demand = min(others.values()) if others else None
    if full:
        held = max(config.min_a, *draw)
        demand = held if demand is None else min(demand, held)
    return demand


__all__ = ["BudgetCharger", "ReadyBy", "SiteBudget", "SiteBudgetSettings"]
