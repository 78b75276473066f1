"""Planned charging at the site: plans executed as charging profiles over the OCPP simulator
(1.6J and 2.0.1), live control through the current arbiter, re-planning, restarts, deviations."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
import functools
from typing import Any

import pytest

from custom_components.ev_sessions.chargers.events import (
    ChargerConnected,
    ChargerInfo,
    ChargerNotConnectedError,
    ClearLimits,
    ConnectorState,
    SetChargingSchedule,
    SetCurrentLimit,
)
from custom_components.ev_sessions.chargers.ocpp import OcppServer
from custom_components.ev_sessions.core import (
    STORE_FORMAT,
    ChargePlanning,
    ChargerLimits,
    ChargerLink,
    Execution,
    LimitSource,
    MemberPreferences,
    Plan,
    PlanMode,
    PlanningSettings,
    PlanSettings,
    PlanState,
    PriceInterval,
    Tariff,
    slot_start,
)
from simulators.ocpp import SimConfig, SimulatedChargePoint
from tests.chargers.ocpp.helpers import FAST

from .helpers import CP, T0, Clock, sample, started, status
from .test_site import FakeGate, MakeRig, Rig, make_rig  # noqa: F401  (the fixture)

TARIFF = Tariff(currency="SEK", fallback_price=Decimal("2.00"), vat_rate=Decimal("0.25"))
LIMITS = ChargerLimits(phases=3, voltage_v=230, min_current_a=6, max_current_a=16)


@dataclass
class MemoryStore:
    """The plan store port, in memory (the glue uses HA's Store)."""

    data: Mapping[str, Any] | None = None
    saves: list[Mapping[str, Any]] = field(default_factory=list)

    async def async_load(self) -> Mapping[str, Any] | None:
        return self.data

    def save(self, data: Mapping[str, Any]) -> None:
        self.data = data
        self.saves.append(data)


def quarter_prices(start: datetime, cheap: set[int], hours: int = 12) -> list[PriceInterval]:
    """Quarter-hour prices from ``start``: 0.10 at the quarter numbers in ``cheap``, else 1.00."""
    return [
        PriceInterval(
            source="test",
            start=start + timedelta(minutes=15 * n),
            length=timedelta(minutes=15),
            price=Decimal("0.10") if n in cheap else Decimal("1.00"),
            currency="SEK",
            fetched_at=start,
        )
        for n in range(hours * 4)
    ]


async def with_prices(rig: Rig, intervals: list[PriceInterval]) -> None:
    rig.site.set_tariff(TARIFF)
    await rig.site.async_prices_known(intervals)
    rig.site.planning.limits_of = lambda _cid: LIMITS


@dataclass
class OcppRig:
    rig: Rig
    server: OcppServer
    cp: SimulatedChargePoint


@pytest.fixture
async def ocpp_rig(
    make_rig: MakeRig,  # noqa: F811
    socket_enabled: None,
    request: pytest.FixtureRequest,
) -> AsyncIterator[Any]:
    """A site with a real OCPP server and a simulated charger in a transaction."""
    made: list[OcppRig] = []

    async def make(version: str, **config: Any) -> OcppRig:
        rig = await make_rig()
        server = OcppServer(
            rig.site,
            FAST,
            password_for=rig.site.password_for,
            known=rig.site.is_known,
            forgotten=rig.site.forget_waiting,
        )
        await server.start()
        rig.chargers.add("CP-PLAN", allow_without_password=True)
        rig.site.register_charger(
            ChargerLink(
                charger_id="CP-PLAN",
                send=functools.partial(server.execute, "CP-PLAN"),
                gate=server,
            )
        )
        cp = SimulatedChargePoint(
            f"ws://127.0.0.1:{server.port}/CP-PLAN",
            SimConfig(charger_id="CP-PLAN", version=version, power_w=0.0, **config),
        )
        await cp.connect()
        await cp.plug_in(1)
        assert await cp.swipe("TAG-ANNA") == "Accepted"
        await cp.start(1, "TAG-ANNA")
        async with asyncio.timeout(5):
            while rig.engine.connector("CP-PLAN", 1).session is None:
                await asyncio.sleep(0.01)
        await rig.site.async_wait_idle()
        made.append(OcppRig(rig, server, cp))
        return made[-1]

    yield make
    for item in made:
        await item.cp.close()
        await item.server.stop()


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_ocpp_charger_gets_the_plan_as_a_profile_and_keeps_it_over_a_restart(
    ocpp_rig: Any, version: str
) -> None:
    item: OcppRig = await ocpp_rig(version)
    rig, cp = item.rig, item.cp
    now = datetime.now(UTC)
    # Cheap now (this quarter and the next), dear after: the plan charges at once for 30 min.
    await with_prices(rig, quarter_prices(slot_start(now), {0, 1}))
    store = MemoryStore()
    await rig.site.planning.async_start(store)

    plan = await rig.site.planning.async_set_settings(
        "CP-PLAN", PlanSettings(energy_wh=2000, ready_by_at=now + timedelta(hours=6))
    )

    assert plan.execution is Execution.CHARGING_PROFILE
    assert plan.confirmed is True
    assert plan.plan.state is PlanState.PLANNED
    assert plan.plan.current_at(datetime.now(UTC)) == 16.0
    sent = cp.requests_for("SetChargingProfile")
    assert len(sent) == 1
    profile = sent[0].get("csChargingProfiles") or sent[0]["chargingProfile"]
    assert profile["chargingProfilePurpose"] == "TxProfile"
    periods = profile["chargingSchedule"]
    periods = periods[0] if isinstance(periods, list) else periods
    limits = [p["limit"] for p in periods["chargingSchedulePeriod"]]
    assert limits[0] == 16.0
    assert limits[-1] == 0.0  # paused once the energy is in
    assert cp.connector(1).limit_a == 16.0
    assert rig.site.current.decision("CP-PLAN").wishes == {}  # no live wish beside the profile

    # HA restarts mid-plan: a new planner over the same store finds the charger's profile still
    # in force (read back), keeps it and resumes the plan without sending it again.
    await rig.site.planning.async_stop()
    again = ChargePlanning(rig.site)
    again.limits_of = lambda _cid: LIMITS
    await again.async_start(MemoryStore(store.data))
    await again.async_wait_idle()
    resumed = again.plan_of("CP-PLAN")
    assert resumed is not None
    assert resumed.plan.windows == plan.plan.windows
    assert resumed.execution is Execution.CHARGING_PROFILE
    assert resumed.confirmed is True
    assert len(cp.requests_for("SetChargingProfile")) == 1
    await again.async_stop()


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_a_charger_refusing_schedules_falls_back_to_live_control(
    ocpp_rig: Any, version: str
) -> None:
    item: OcppRig = await ocpp_rig(version, refuse_schedules=True)
    rig, cp = item.rig, item.cp
    now = datetime.now(UTC)
    await with_prices(rig, quarter_prices(slot_start(now), {8, 9}))  # cheap in 2 hours
    await rig.site.planning.async_start(MemoryStore())

    plan = await rig.site.planning.async_set_settings(
        "CP-PLAN", PlanSettings(energy_wh=2000, ready_by_at=now + timedelta(hours=6))
    )
    await rig.site.async_wait_idle()

    assert plan.execution is Execution.LIVE
    decision = rig.site.current.decision("CP-PLAN")
    assert decision.wishes == {LimitSource.PLAN: 0.0}  # paused until the cheap window
    assert decision.applied_a == 0.0
    assert cp.connector(1).limit_a == 0.0  # the arbiter's standing limit, which it accepts


# --------------------------------------------------------------------------- live control


async def live_rig(make_rig: MakeRig, **settings: Any) -> tuple[Rig, Any]:  # noqa: F811
    """A site on a settable clock with a Modbus-like charger (no gate: live control)."""
    rig = await make_rig(Clock())
    charger = rig.link(CP)
    rig.site.planning.settings = PlanningSettings(**settings)
    await with_prices(rig, quarter_prices(T0, {4, 5, 6, 7}))  # cheap 18:00-19:00 UTC
    return rig, charger


async def test_live_plan_sets_the_current_per_window(make_rig: MakeRig) -> None:  # noqa: F811
    rig, charger = await live_rig(make_rig)
    await rig.site.planning.async_start(MemoryStore())

    plan = await rig.site.planning.async_set_settings(
        CP, PlanSettings(energy_wh=11040, ready_by_at=T0 + timedelta(hours=6))
    )
    await rig.site.async_wait_idle()

    assert plan.execution is Execution.LIVE
    assert [(w.start, w.end) for w in plan.plan.windows] == [
        (T0 + timedelta(hours=1), T0 + timedelta(hours=2))
    ]
    assert charger.of(SetCurrentLimit)[-1].limit_a == 0.0
    assert not charger.of(SetChargingSchedule)
    rig.clock.now = T0 + timedelta(hours=1)
    rig.site.planning.async_refresh(CP)
    await rig.site.async_wait_idle()
    assert charger.of(SetCurrentLimit)[-1].limit_a == 16.0
    rig.clock.now = T0 + timedelta(hours=2)
    rig.site.planning.async_refresh(CP)
    await rig.site.async_wait_idle()
    assert charger.of(SetCurrentLimit)[-1].limit_a == 0.0
    await rig.site.planning.async_clear(CP)
    await rig.site.async_wait_idle()
    assert rig.site.current.decision(CP).wishes == {}


async def test_new_prices_and_a_session_start_replan(make_rig: MakeRig) -> None:  # noqa: F811
    rig = await make_rig(Clock())
    rig.link(CP)
    rig.site.set_tariff(TARIFF)
    rig.site.planning.limits_of = lambda _cid: LIMITS
    # Prices only for the next 2 hours: the plan is provisional.
    await rig.site.async_prices_known(quarter_prices(T0, {2}, hours=2))
    await rig.site.planning.async_start(MemoryStore())
    plan = await rig.site.planning.async_set_settings(
        CP, PlanSettings(energy_wh=2760, ready_by_at=T0 + timedelta(hours=6))
    )
    assert plan.plan.state is PlanState.PROVISIONAL
    seen: list[Any] = []
    rig.site.planning.changes.add(CP, seen.append)

    await rig.site.async_prices_known(quarter_prices(T0, {12}))  # the rest arrives
    await rig.site.planning.async_wait_idle()

    replanned = rig.site.planning.plan_of(CP)
    assert replanned is not None
    assert replanned.plan.state is PlanState.PLANNED
    assert replanned.plan.start == T0 + timedelta(minutes=30)  # 0.10 at quarter 2 (and 12)
    assert seen

    # A session starts with 1,000 Wh already delivered: the plan covers the rest.
    rig.site.handle_event(status(T0, ConnectorState.CHARGING))
    rig.site.handle_event(started(T0, "tx-1", 0))
    rig.site.handle_event(sample(T0 + timedelta(seconds=30), energy_register_wh=1000))
    await rig.site.planning.async_wait_idle()
    await rig.site.planning.async_replan(CP)
    after = rig.site.planning.plan_of(CP)
    assert after is not None
    assert after.plan.needed_wh == 1760


async def test_a_charger_that_ignores_its_plan_is_reported_once(
    make_rig: MakeRig,  # noqa: F811
) -> None:
    rig, _charger = await live_rig(make_rig, deviation_grace=timedelta(minutes=10))
    await rig.site.planning.async_start(MemoryStore())
    await rig.site.planning.async_set_settings(
        CP, PlanSettings(energy_wh=11040, ready_by_at=T0 + timedelta(hours=6))
    )
    reported: list[tuple[str, Any]] = []
    rig.site.planning.deviations.add(reported.append)

    rig.site.handle_event(status(T0, ConnectorState.CHARGING))
    rig.site.handle_event(started(T0, "tx-1", 0))
    for minute in range(0, 25, 5):  # 11 kW at 17:00-17:20: outside the 18:00 window
        rig.clock.now = T0 + timedelta(minutes=minute)
        rig.site.handle_event(
            sample(rig.clock.now, energy_register_wh=minute * 10, power_w=11000.0)
        )

    assert [(cid, d.kind) for cid, d in reported] == [(CP, "outside_window")]


async def test_a_members_new_preferences_replan_their_chargers_at_once(
    make_rig: MakeRig,  # noqa: F811
) -> None:
    """Anna's plan takes its energy from her preferences (8 kWh); she changes them to 4 kWh:
    her charger is planned again at once. Bo's change leaves her plan alone."""
    rig, _charger = await live_rig(make_rig)
    preferences = {"anna": MemberPreferences(energy_wh=8000), "bo": MemberPreferences()}
    rig.site.planning.preferences_of = lambda member_id: preferences.get(
        member_id or "", MemberPreferences()
    )
    await rig.site.planning.async_start(MemoryStore())
    plan = await rig.site.planning.async_set_settings(
        CP, PlanSettings(member_id="anna", ready_by_at=T0 + timedelta(hours=6))
    )
    assert plan.plan.needed_wh == 8000
    seen: list[Any] = []
    rig.site.planning.changes.add(CP, seen.append)

    preferences["bo"] = MemberPreferences(energy_wh=1000)
    rig.site.members_changed()
    await rig.site.planning.async_wait_idle()
    assert seen == []

    preferences["anna"] = MemberPreferences(energy_wh=4000)
    rig.site.members_changed()
    await rig.site.planning.async_wait_idle()
    replanned = rig.site.planning.plan_of(CP)
    assert replanned is not None
    assert replanned.plan.needed_wh == 4000
    assert replanned.plan.energy_wh == 4000
    assert len(seen) == 1


# --------------------------------------------------------------------------- done or paused


async def two_window_rig(make_rig: MakeRig) -> tuple[Rig, Any]:  # noqa: F811
    """A live plan with two windows, 18:00-18:30 and 20:00-20:30 (0.10), 1.00 between them;
    a session open since 17:00, paused by the plan."""
    rig = await make_rig(Clock())
    charger = rig.link(CP)
    await with_prices(rig, quarter_prices(T0, {4, 5, 12, 13}))
    await rig.site.planning.async_start(MemoryStore())
    rig.site.handle_event(status(T0, ConnectorState.SUSPENDED_EVSE))
    rig.site.handle_event(started(T0, "tx-1", 0))
    plan = await rig.site.planning.async_set_settings(
        CP, PlanSettings(energy_wh=11040, ready_by_at=T0 + timedelta(hours=6))
    )
    assert [(w.start, w.end) for w in plan.plan.windows] == [
        (T0 + timedelta(hours=1), T0 + timedelta(hours=1, minutes=30)),
        (T0 + timedelta(hours=3), T0 + timedelta(hours=3, minutes=30)),
    ]
    await rig.site.async_wait_idle()
    return rig, charger


@dataclass
class Meter:
    """The charger's meter in the tests below: samples every 5 minutes (11,040 W: 920 Wh)."""

    rig: Rig
    register_wh: int = 0

    async def run(self, start: timedelta, stop: timedelta, power_w: float) -> None:
        """Samples in [start, stop) after T0, each after the plan's timer work is due."""
        at = start
        while at < stop:
            self.rig.clock.now = T0 + at
            self.rig.site.planning.async_refresh(CP)  # a window start or end (the timer's work)
            if power_w:
                self.register_wh += 920
            self.rig.site.handle_event(
                sample(self.rig.clock.now, energy_register_wh=self.register_wh, power_w=power_w)
            )
            await self.rig.site.async_wait_idle()
            at += timedelta(minutes=5)


async def test_the_pause_between_two_windows_is_not_a_full_car(
    make_rig: MakeRig,  # noqa: F811
) -> None:
    """Between the windows the plan pauses the car and the charger reports 0 W: after ten
    minutes the engine says charging finished, but the car did not stop by itself. The plan
    stays, the car stays paused, and it charges in the second (cheap) window."""
    rig, charger = await two_window_rig(make_rig)
    meter = Meter(rig)
    await meter.run(timedelta(hours=1), timedelta(hours=1, minutes=30), 11040.0)
    await meter.run(timedelta(hours=1, minutes=30), timedelta(hours=2, minutes=50), 0.0)
    session = rig.engine.connector(CP, 1).session
    assert session is not None
    assert session.charging_finished_at is not None  # the engine's view

    current = rig.site.planning.plan_of(CP)
    assert current is not None
    assert current.plan.state is PlanState.PLANNED
    assert current.plan.windows[-1].start == T0 + timedelta(hours=3)
    assert rig.site.current.decision(CP).wishes == {LimitSource.PLAN: 0.0}
    assert charger.of(SetCurrentLimit)[-1].limit_a == 0.0
    await meter.run(timedelta(hours=3), timedelta(hours=3, minutes=5), 11040.0)
    assert charger.of(SetCurrentLimit)[-1].limit_a == 16.0


async def test_a_car_that_stops_inside_a_window_is_done(
    make_rig: MakeRig,  # noqa: F811
) -> None:
    """The car takes nothing more from 18:15, inside the first window: ten minutes later the
    plan is done and leaves the charger alone."""
    rig, _charger = await two_window_rig(make_rig)
    meter = Meter(rig)
    await meter.run(timedelta(hours=1), timedelta(hours=1, minutes=15), 11040.0)
    await meter.run(timedelta(hours=1, minutes=15), timedelta(hours=1, minutes=30), 0.0)

    current = rig.site.planning.plan_of(CP)
    assert current is not None
    assert current.plan.state is PlanState.DONE
    assert current.plan.windows == ()
    assert rig.site.current.decision(CP).wishes == {}


async def test_a_car_that_takes_nothing_in_its_next_window_is_done(
    make_rig: MakeRig,  # noqa: F811
) -> None:
    """The car stopped right at the first window's end (full, or paused: it cannot be told),
    and takes nothing ten minutes into the second window: the plan is done then."""
    rig, _charger = await two_window_rig(make_rig)
    meter = Meter(rig)
    await meter.run(timedelta(hours=1), timedelta(hours=1, minutes=30), 11040.0)
    await meter.run(timedelta(hours=1, minutes=30), timedelta(hours=3, minutes=5), 0.0)
    current = rig.site.planning.plan_of(CP)
    assert current is not None
    assert current.plan.state is PlanState.PLANNED

    await meter.run(timedelta(hours=3, minutes=5), timedelta(hours=3, minutes=15), 0.0)
    current = rig.site.planning.plan_of(CP)
    assert current is not None
    assert current.plan.state is PlanState.DONE
    assert rig.site.current.decision(CP).wishes == {}


# --------------------------------------------------------------------------- no known need


@pytest.mark.parametrize("gate", [False, True])
@pytest.mark.parametrize(
    "settings",
    [
        PlanSettings(ready_by_at=T0 + timedelta(hours=6)),
        PlanSettings(ready_by_at=T0 + timedelta(hours=6), target_soc_pct=80),
        PlanSettings(mode=PlanMode.SOLAR_FIRST),
    ],
)
async def test_a_plan_that_does_not_know_what_to_charge_leaves_the_charger_alone(
    make_rig: MakeRig,  # noqa: F811
    settings: PlanSettings,
    gate: bool,
) -> None:
    """No energy, no member defaults or habits (or a SoC target without the car's SoC): the plan
    needs a target; it sends no schedule and wishes no current, live or as a profile; after a
    restart it still does not."""
    rig = await make_rig(Clock())
    charger = rig.link(CP, gate=FakeGate() if gate else None)
    await with_prices(rig, quarter_prices(T0, {4, 5}))
    store = MemoryStore()
    await rig.site.planning.async_start(store)

    plan = await rig.site.planning.async_set_settings(CP, settings)
    await rig.site.async_wait_idle()

    assert plan.plan.state is PlanState.NEEDS_TARGET
    assert plan.execution is Execution.NONE
    assert rig.site.current.decision(CP).wishes == {}
    assert not charger.of(SetChargingSchedule)
    assert not charger.of(SetCurrentLimit)

    again = ChargePlanning(rig.site, clock=rig.clock)
    again.limits_of = lambda _cid: LIMITS
    await again.async_start(MemoryStore(store.data))
    await again.async_wait_idle()
    await rig.site.async_wait_idle()
    resumed = again.plan_of(CP)
    assert resumed is not None
    assert resumed.plan.state is PlanState.NEEDS_TARGET
    assert rig.site.current.decision(CP).wishes == {}
    assert not charger.of(SetChargingSchedule)
    await again.async_stop()


async def test_a_target_soc_from_the_members_car_unless_the_charger_knows_one(
    make_rig: MakeRig,  # noqa: F811
) -> None:
    """80 % of a 40 kWh battery for Anna: her car's SoC (50 %) gives 12 kWh while the charger
    knows none; a SoC the connector has (the charger's own, or its SoC entity's: 60 %) wins
    (8 kWh); Bo, without a car SoC, needs a target."""
    rig = await make_rig(Clock())
    rig.link(CP)
    await with_prices(rig, quarter_prices(T0, {4, 5}))
    rig.site.planning.battery_of = lambda _cid: 40_000
    rig.site.planning.member_soc_of = lambda member_id: 50.0 if member_id == "anna" else None
    await rig.site.planning.async_start(MemoryStore())
    settings = PlanSettings(ready_by_at=T0 + timedelta(hours=6), target_soc_pct=80)

    anna = await rig.site.planning.async_set_settings(CP, replace(settings, member_id="anna"))
    assert (anna.plan.state, anna.plan.needed_wh) == (PlanState.PLANNED, 12_000)

    rig.engine.set_external_soc(CP, 1, 60.0)
    charger = await rig.site.planning.async_set_settings(CP, replace(settings, member_id="anna"))
    assert charger.plan.needed_wh == 8_000

    rig.engine.set_external_soc(CP, 1, None)
    bo = await rig.site.planning.async_set_settings(CP, replace(settings, member_id="bo"))
    assert bo.plan.state is PlanState.NEEDS_TARGET
    await rig.site.planning.async_stop()


async def test_a_stored_plan_that_reached_its_target_keeps_the_car_paused(
    make_rig: MakeRig,  # noqa: F811
) -> None:
    """A plan stored as done because its energy is in the car (0 A outside its windows,
    live): after a restart the pause is wished again (the arbiter starts empty), so the car
    does not go on charging at any price; a full car's done plan wishes nothing."""
    rig = await make_rig(Clock())
    rig.link(CP)
    await with_prices(rig, quarter_prices(T0, {4, 5}))
    done = Plan(
        mode=PlanMode.CHEAPEST,
        state=PlanState.DONE,
        created_at=T0,
        ready_by=None,
        needed_wh=0,
        outside_windows_a=0.0,
    )
    stored = {
        "version": STORE_FORMAT,
        "chargers": {
            CP: {
                "settings": PlanSettings(ready_by_at=T0 + timedelta(hours=6)).to_dict(),
                "plan": done.to_dict(),
                "execution": "live",
                "delivered_wh": 0,
            }
        },
    }
    await rig.site.planning.async_start(MemoryStore(stored))
    await rig.site.planning.async_wait_idle()
    await rig.site.async_wait_idle()

    current = rig.site.planning.plan_of(CP)
    assert current is not None
    assert current.plan.state is PlanState.DONE
    assert current.plan.current_at(T0) == 0.0
    assert rig.site.current.decision(CP).wishes == {LimitSource.PLAN: 0.0}


# --------------------------------------------------------------------------- the member's mode


async def test_a_plan_without_a_mode_takes_the_members_mode(
    make_rig: MakeRig,  # noqa: F811
) -> None:
    """Anna prefers price_cap at 1.00 (incl. VAT): only the 0.10 quarter-hours (0.125 with VAT)
    are taken, not the 1.00 ones (1.25); a mode set on the plan wins over hers."""
    rig = await make_rig(Clock())
    rig.link(CP)
    await with_prices(rig, quarter_prices(T0, {4, 5}))
    rig.site.planning.preferences_of = lambda member_id: (
        MemberPreferences(mode=PlanMode.PRICE_CAP, price_cap=Decimal("1.00"))
        if member_id == "anna"
        else MemberPreferences()
    )
    await rig.site.planning.async_start(MemoryStore())
    wanted = PlanSettings(member_id="anna", energy_wh=11040, ready_by_at=T0 + timedelta(hours=6))
    assert wanted.mode is None

    plan = await rig.site.planning.async_set_settings(CP, wanted)

    assert plan.plan.mode is PlanMode.PRICE_CAP
    assert plan.plan.energy_wh == 5520  # the two cheap quarter-hours
    assert [(w.start, w.end) for w in plan.plan.windows] == [
        (T0 + timedelta(hours=1), T0 + timedelta(hours=1, minutes=30))
    ]
    cheapest = await rig.site.planning.async_set_settings(
        CP, replace(wanted, mode=PlanMode.CHEAPEST)
    )
    assert cheapest.plan.mode is PlanMode.CHEAPEST
    assert cheapest.plan.energy_wh == 11040
    nobody = await rig.site.planning.async_set_settings(CP, replace(wanted, member_id=None))
    assert nobody.plan.mode is PlanMode.CHEAPEST
    assert PlanSettings.from_dict(wanted.to_dict()) == wanted


# --------------------------------------------------------------------------- clearing offline


async def test_a_plan_cleared_while_the_charger_is_offline_is_cleared_when_it_is_back(
    make_rig: MakeRig,  # noqa: F811
) -> None:
    """The plan's schedule is on an OCPP charger (a 0 A pause outside the windows); the plan is
    cleared while the charger is offline. The clear is kept (also over a restart) and sent when
    the charger connects again, so its later transactions are not paused for good."""
    rig = await make_rig(Clock())
    charger = rig.link(CP, gate=FakeGate())
    await with_prices(rig, quarter_prices(T0, {4, 5}))
    store = MemoryStore()
    await rig.site.planning.async_start(store)
    plan = await rig.site.planning.async_set_settings(
        CP, PlanSettings(energy_wh=2000, ready_by_at=T0 + timedelta(hours=6))
    )
    assert plan.execution is Execution.CHARGING_PROFILE
    assert charger.of(SetChargingSchedule)

    charger.answers[ClearLimits] = ChargerNotConnectedError("offline")
    await rig.site.planning.async_clear(CP)
    assert len(charger.of(ClearLimits)) == 1
    assert store.data is not None
    assert store.data["pending_clears"] == [CP]

    # Home Assistant restarts before the charger is back: the clear is still owed.
    await rig.site.planning.async_stop()
    again = ChargePlanning(rig.site, clock=rig.clock)
    await again.async_start(MemoryStore(store.data))
    await again.async_wait_idle()
    assert again.pending_clears == {CP}

    del charger.answers[ClearLimits]
    rig.site.handle_event(
        ChargerConnected(charger_id=CP, at=rig.clock.now, info=ChargerInfo(protocol="ocpp1.6"))
    )
    await again.async_wait_idle()
    await rig.site.async_wait_idle()
    cleared = charger.of(ClearLimits)
    assert len(cleared) == 3  # offline twice (the clear, the restart's try), then sent
    assert cleared[-1].connector_id == 1
    assert again.pending_clears == set()
    assert again.plan_of(CP) is None
    await again.async_stop()


async def test_a_new_plan_first_clears_what_an_old_one_left(
    make_rig: MakeRig,  # noqa: F811
) -> None:
    """A clear still owed when a new plan is sent goes first, so it never removes the new
    plan's schedule."""
    rig = await make_rig(Clock())
    charger = rig.link(CP, gate=FakeGate())
    await with_prices(rig, quarter_prices(T0, {4, 5}))
    await rig.site.planning.async_start(MemoryStore())
    settings = PlanSettings(energy_wh=2000, ready_by_at=T0 + timedelta(hours=6))
    await rig.site.planning.async_set_settings(CP, settings)
    charger.answers[ClearLimits] = ChargerNotConnectedError("offline")
    await rig.site.planning.async_clear(CP)
    del charger.answers[ClearLimits]
    charger.commands.clear()

    await rig.site.planning.async_set_settings(CP, settings)

    kinds = [type(command).__name__ for command in charger.commands]
    assert kinds.index("ClearLimits") < kinds.index("SetChargingSchedule")
    assert rig.site.planning.pending_clears == set()
