"""What the site budget takes as a charger's draw and demand (core/site_budget.py): only fresh
samples of open sessions count, a sample from before a lowered limit counts at most that limit;
a session wants no more than the user's or the plan's limit, a full car no more than its
minimum."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from custom_components.ev_sessions.chargers.events import (
    ChargerConnected,
    ChargerInfo,
    ConnectorState,
)
from custom_components.ev_sessions.core import (
    BudgetNotice,
    BudgetNoticeKind,
    BudgetReason,
    BudgetResult,
    BudgetSettings,
    GridReading,
    LimitSource,
    SiteBudget,
    SiteBudgetSettings,
)

from .helpers import Clock, at, sample, started, status
from .test_site import MakeRig, Rig, make_rig  # noqa: F401  (the fixture)


def _plug(rig: Rig, charger_id: str, state: ConnectorState = ConnectorState.CHARGING) -> None:
    """A connected charger with a session open."""
    site = rig.site
    site.handle_event(
        ChargerConnected(charger_id=charger_id, at=rig.clock(), info=ChargerInfo(protocol="x"))
    )
    site.handle_event(status(rig.clock(), state, charger=charger_id))
    site.handle_event(started(rig.clock(), f"tx-{charger_id}", 0, charger=charger_id))


def _draws(rig: Rig, charger_id: str, amps: float, register_wh: int = 10) -> None:
    """A sample, received now: ``amps`` on three phases."""
    rig.site.handle_event(
        sample(
            rig.clock(),
            charger=charger_id,
            energy_register_wh=register_wh,
            power_w=amps * 690,
            current_a=(amps, amps, amps),
        )
    )


def _budget(rig: Rig, fuse_a: float, **settings: object) -> SiteBudget:
    budget = SiteBudget(
        rig.site,
        SiteBudgetSettings(budget=BudgetSettings(fuse_a=fuse_a), **settings),  # type: ignore[arg-type]
        clock=rig.clock,
    )
    rig.site.budget = budget
    return budget


async def _stop(rig: Rig, budget: SiteBudget) -> None:
    """Stop the budget and let its releases reach the chargers (before the site stops)."""
    budget.stop()
    await rig.site.async_wait_idle()


def _grid(rig: Rig, amps: float) -> GridReading:
    return GridReading(at=rig.clock(), currents_a=(amps, amps, amps))


def _currents(result: BudgetResult) -> dict[str, float]:
    return {cid: a.current_a for cid, a in result.allocations.items()}


async def test_a_stopped_session_s_last_sample_is_not_its_draw(make_rig: MakeRig) -> None:  # noqa: F811
    """25 A fuse; cp-a's car left (its session ended) while its last sample said 16 A; cp-b
    draws 10 A and the household 10 A (the grid shows 20 A): the household is 10 A, not
    20 - 26 = 0, so cp-b gets 15 A and not the whole fuse; idle cp-a is not taken for a
    charger drawing 16 A against its 0 A limit."""
    clock = Clock(at(1))
    rig = await make_rig(clock)
    rig.link("cp-a")
    rig.link("cp-b")
    _plug(rig, "cp-a")
    _plug(rig, "cp-b")
    _draws(rig, "cp-a", 16)
    _draws(rig, "cp-b", 10)
    # The car leaves; the charger reports its transaction's end later, or never.
    rig.site.handle_event(status(clock(), ConnectorState.AVAILABLE, charger="cp-a"))
    assert rig.engine.connector("cp-a", 1).session is None
    budget = _budget(rig, 25)
    notices: list[BudgetNotice] = []
    budget.notices.add(notices.append)
    budget.grid = _grid(rig, 20)
    result = budget.run_round()
    assert result.headroom_a == (15.0, 15.0, 15.0)
    assert _currents(result) == {"cp-a": 0.0, "cp-b": 15.0}
    for seconds in range(0, 600, 30):  # long past the overdraw grace and pause
        clock.now = at(1, 1 + seconds)
        budget.grid = _grid(rig, 20)
        result = budget.run_round()
    assert result.allocations["cp-a"].reason is BudgetReason.IDLE
    assert not [n for n in notices if n.kind is BudgetNoticeKind.DISOBEYING]
    await _stop(rig, budget)


async def test_a_sample_older_than_the_max_age_counts_as_nothing(make_rig: MakeRig) -> None:  # noqa: F811
    """A charger that stopped reporting mid-session: after ``sample_max_age`` its last draw no
    longer counts, the whole grid reading is the household's (the safe side)."""
    clock = Clock(at(1))
    rig = await make_rig(clock)
    rig.link("cp-b")
    _plug(rig, "cp-b")
    _draws(rig, "cp-b", 10)
    budget = _budget(rig, 25)
    assert budget.settings.sample_max_age == timedelta(seconds=30)
    clock.now = at(1, 30)
    budget.grid = _grid(rig, 20)
    assert budget.run_round().headroom_a == (15.0, 15.0, 15.0)
    clock.now = at(1, 31)
    budget.grid = _grid(rig, 20)
    assert budget.run_round().headroom_a == (5.0, 5.0, 5.0)
    await _stop(rig, budget)


async def test_a_sample_from_before_a_lowered_limit_counts_at_most_the_limit(
    make_rig: MakeRig,  # noqa: F811
) -> None:
    """cp-a drew 16 A; the user cuts it to 6 A and the grid meter already shows it (3 A house
    + 6 + 10 = 19 A) before cp-a's next sample: its draw counts 6 A, so the household stays
    3 A and is not taken for 0 (19 - 26). A sample received once the car had time to follow
    counts as it is (a charger ignoring its limit is still seen)."""
    clock = Clock(at(1))
    rig = await make_rig(clock)
    rig.link("cp-a")
    rig.link("cp-b")
    _plug(rig, "cp-a")
    _plug(rig, "cp-b")
    _draws(rig, "cp-a", 16)
    _draws(rig, "cp-b", 10)
    budget = _budget(rig, 25)
    budget.grid = _grid(rig, 29)
    assert budget.run_round().headroom_a == (22.0, 22.0, 22.0)
    clock.now = at(1, 2)
    await rig.site.current.async_request("cp-a", LimitSource.USER, 6)
    budget.grid = _grid(rig, 19)
    assert budget.run_round().headroom_a == (22.0, 22.0, 22.0)
    clock.now = at(1, 10)
    _draws(rig, "cp-a", 16, register_wh=20)  # it ignores the limit
    _draws(rig, "cp-b", 10, register_wh=20)
    budget.grid = _grid(rig, 29)
    assert budget.run_round().headroom_a == (22.0, 22.0, 22.0)
    await _stop(rig, budget)


async def test_a_session_wants_no_more_than_the_user_or_the_plan(make_rig: MakeRig) -> None:  # noqa: F811
    """20 A fuse, household 4 A: car A waits for its cheap window (the plan wishes 0 A), so car
    B charges at the whole 16 A, not at a share of 8 A; when A's window opens, a round follows
    soon and they share. A user's limit of 7 A on A leaves B the other 9 A."""
    clock = Clock(at(1))
    rig = await make_rig(clock)
    rig.link("cp-a")
    rig.link("cp-b")
    _plug(rig, "cp-a")
    _plug(rig, "cp-b")
    _draws(rig, "cp-a", 0)
    _draws(rig, "cp-b", 8)
    rig.site.current.request("cp-a", LimitSource.PLAN, 0)
    budget = _budget(rig, 20, debounce=timedelta(seconds=0.01))
    budget.grid = _grid(rig, 12)
    budget.start()
    result = budget.result
    assert result is not None
    assert _currents(result) == {"cp-a": 0.0, "cp-b": 16.0}
    assert result.allocations["cp-a"].reason is BudgetReason.HELD
    assert {n.charger_id for n in result.notices} == {"cp-b"}  # A: held, not paused
    rig.site.current.request("cp-a", LimitSource.PLAN, None)  # the window opens
    await asyncio.sleep(0.05)
    assert budget.result is not result
    assert _currents(budget.result) == {"cp-a": 8.0, "cp-b": 8.0}
    await rig.site.current.async_request("cp-a", LimitSource.USER, 7)
    await asyncio.sleep(0.05)
    assert _currents(budget.result) == {"cp-a": 7.0, "cp-b": 9.0}
    await _stop(rig, budget)


async def test_a_full_car_keeps_its_minimum_but_takes_no_share(make_rig: MakeRig) -> None:  # noqa: F811
    """Car A is full (SuspendedEV, drawing nothing): it keeps its 6 A minimum to resume at,
    and car B gets the other 10 A instead of an equal share of 8 A."""
    clock = Clock(at(1))
    rig = await make_rig(clock)
    rig.link("cp-a")
    rig.link("cp-b")
    _plug(rig, "cp-a", ConnectorState.SUSPENDED_EV)
    _plug(rig, "cp-b")
    _draws(rig, "cp-a", 0)
    _draws(rig, "cp-b", 8)
    budget = _budget(rig, 20)
    budget.grid = _grid(rig, 12)
    assert _currents(budget.run_round()) == {"cp-a": 6.0, "cp-b": 10.0}
    await _stop(rig, budget)
