"""The site budget at work (core/site_budget.py): rounds over the site's chargers, their draw
from the engine, the allocations as the arbiter's budget wishes, debounced grid changes."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from custom_components.ev_sessions.chargers.events import (
    ChargerConnected,
    ChargerInfo,
    ClearLimits,
    ConnectorState,
    SetCurrentLimit,
)
from custom_components.ev_sessions.core import (
    BudgetCharger,
    BudgetNotice,
    BudgetNoticeKind,
    BudgetReason,
    BudgetSettings,
    GridReading,
    LimitSource,
    SiteBudget,
    SiteBudgetSettings,
)

from .helpers import Clock, at, sample, started, status
from .test_site import MakeRig, make_rig  # noqa: F401  (the fixture)


async def _charging(rig: object, charger_id: str, amps: float) -> None:
    """A connected charger with a session drawing ``amps`` on three phases."""
    site = rig.site  # type: ignore[attr-defined]
    site.handle_event(
        ChargerConnected(charger_id=charger_id, at=at(0), info=ChargerInfo(protocol="ocpp1.6"))
    )
    site.handle_event(status(at(0), ConnectorState.CHARGING, charger=charger_id))
    site.handle_event(started(at(0), f"tx-{charger_id}", 0, charger=charger_id))
    site.handle_event(
        sample(
            at(0, 10),
            charger=charger_id,
            energy_register_wh=10,
            power_w=amps * 690,
            current_a=(amps, amps, amps),
        )
    )


async def test_rounds_wish_the_allocations_and_follow_a_grid_step(make_rig: MakeRig) -> None:  # noqa: F811
    """Two charging cars share the headroom left by the household (their own draw taken out
    of the grid reading); a load step is followed after the debounce; notices reach their
    listeners; stopping withdraws the wishes."""
    clock = Clock(at(1))
    rig = await make_rig(clock)
    first, second = rig.link("cp-a"), rig.link("cp-b")
    await _charging(rig, "cp-a", 10)
    await _charging(rig, "cp-b", 10)
    settings = SiteBudgetSettings(
        budget=BudgetSettings(fuse_a=25), debounce=timedelta(seconds=0.01)
    )
    budget = SiteBudget(rig.site, settings, chargers={"cp-b": BudgetCharger(max_a=16)}, clock=clock)
    rig.site.budget = budget
    rig.site.current.settings = rig.site.current.settings.__class__(min_interval=timedelta(0))
    notices: list[BudgetNotice] = []
    budget.notices.add(notices.append)
    # 23 A per phase imported, 20 A of it the two cars: the household draws 3 A.
    budget.grid = GridReading(at=clock(), currents_a=(23.0, 23.0, 23.0))
    budget.start()
    result = budget.result
    assert result is not None
    assert result.headroom_a == (22.0, 22.0, 22.0)
    assert {cid: a.current_a for cid, a in result.allocations.items()} == {
        "cp-a": 11.0,
        "cp-b": 11.0,
    }
    await rig.site.async_wait_idle()
    assert first.of(SetCurrentLimit) == [
        SetCurrentLimit(connector_id=0, limit_a=11.0, charger_max=True)
    ]
    assert rig.site.current.decision("cp-b").wishes == {LimitSource.BUDGET: 11.0}
    # The oven: 8 A more. The next round (after the debounce) lowers both at once.
    budget.grid_changed(GridReading(at=clock(), currents_a=(31.0, 31.0, 31.0)))
    assert budget.result is result  # not yet: debounced
    await asyncio.sleep(0.05)
    assert budget.result is not result
    await rig.site.async_wait_idle()
    assert first.of(SetCurrentLimit)[-1].limit_a == 7.0
    assert second.of(SetCurrentLimit)[-1].limit_a == 7.0
    assert {n.kind for n in notices} == {BudgetNoticeKind.THROTTLED}
    # Stopping releases the chargers (the budget's wish withdrawn: the limit cleared).
    budget.stop()
    await rig.site.async_wait_idle()
    assert first.of(ClearLimits) == [ClearLimits(charger_max=True)]
    assert rig.site.current.decision("cp-a").wishes == {}


async def test_a_disconnected_charger_is_left_out(make_rig: MakeRig) -> None:  # noqa: F811
    """Only connected chargers take part; one without a session is idle."""
    clock = Clock(at(1))
    rig = await make_rig(clock)
    rig.link("cp-a")
    rig.link("cp-off")
    rig.site.handle_event(
        ChargerConnected(charger_id="cp-a", at=at(0), info=ChargerInfo(protocol="modbus"))
    )
    budget = SiteBudget(
        rig.site,
        SiteBudgetSettings(budget=BudgetSettings(fuse_a=16, grid_meter=False)),
        clock=clock,
    )
    result = budget.run_round()
    assert list(result.allocations) == ["cp-a"]
    assert result.allocations["cp-a"].reason is BudgetReason.IDLE
    assert result.allocations["cp-a"].current_a == 16.0
