"""The site power budget: allocation rounds (core/power_budget.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
import itertools

from custom_components.ev_sessions.core import (
    BudgetNoticeKind,
    BudgetReason,
    BudgetSettings,
    BudgetSharing,
    BudgetState,
    ChargeMode,
    ChargerLoad,
    GridReading,
    PowerBudget,
    SolarReading,
    SolarSettings,
)

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


def at(seconds: float) -> datetime:
    """T0 plus seconds."""
    return T0 + timedelta(seconds=seconds)


def grid(
    when: datetime, l1: float, l2: float | None = None, l3: float | None = None
) -> GridReading:
    """A per-phase grid reading (A, import positive)."""
    return GridReading(at=when, currents_a=(l1, l1 if l2 is None else l2, l1 if l3 is None else l3))


def car(charger_id: str, draw: float = 0.0, **kw: object) -> ChargerLoad:
    """An active 3-phase charger drawing ``draw`` A on each phase."""
    values: dict[str, object] = {"active": True, "draw_a": (draw, draw, draw)}
    values.update(kw)
    return ChargerLoad(charger_id=charger_id, **values)  # type: ignore[arg-type]


def amps(result: object) -> dict[str, float]:
    """Allocated current by charger."""
    return {cid: a.current_a for cid, a in result.allocations.items()}  # type: ignore[attr-defined]


def reasons(result: object) -> dict[str, BudgetReason]:
    """BudgetReason by charger."""
    return {cid: a.reason for cid, a in result.allocations.items()}  # type: ignore[attr-defined]


def test_fair_share_of_the_headroom_left_by_the_household() -> None:
    """Headroom = fuse - (grid - the chargers' own draw); shared equally."""
    budget = PowerBudget(BudgetSettings(fuse_a=20))
    # 17 A imported per phase, of which the two cars draw 6 A each: the household 5 A.
    result = budget.allocate(T0, [car("a", 6), car("b", 6)], grid(T0, 17))
    assert result.headroom_a == (15.0, 15.0, 15.0)
    assert amps(result) == {"a": 7.5, "b": 7.5}
    assert reasons(result) == {"a": BudgetReason.SHARED, "b": BudgetReason.SHARED}
    assert result.state is BudgetState.LIMITED
    assert {(n.kind, n.charger_id) for n in result.notices} == {
        (BudgetNoticeKind.THROTTLED, "a"),
        (BudgetNoticeKind.THROTTLED, "b"),
    }
    # Room for both maximums: normal, no new notices.
    result = budget.allocate(at(5), [car("a", 7.5), car("b", 7.5)], grid(at(5), 16))
    assert amps(result) == {"a": 32.0, "b": 32.0} or result.headroom_a[0] < 64
    wide = PowerBudget(BudgetSettings(fuse_a=80)).allocate(T0, [car("a"), car("b")], grid(T0, 0))
    assert amps(wide) == {"a": 32.0, "b": 32.0}
    assert wide.state is BudgetState.NORMAL
    assert reasons(wide) == {"a": BudgetReason.MAX, "b": BudgetReason.MAX}


def test_priority_fills_the_higher_priority_first_and_pauses_the_lower_one() -> None:
    """Minimums first, then the company car up to its maximum; with room for one minimum only
    the company car charges."""
    budget = PowerBudget(BudgetSettings(fuse_a=20, sharing=BudgetSharing.PRIORITY))
    chargers = [car("company", priority=1, max_a=16), car("family")]
    result = budget.allocate(T0, chargers, grid(T0, 0))
    assert amps(result) == {"company": 14.0, "family": 6.0}
    result = budget.allocate(at(5), chargers, grid(at(5), 10))
    assert amps(result) == {"company": 10.0, "family": 0.0}
    assert reasons(result)["family"] is BudgetReason.PAUSED
    assert (BudgetNoticeKind.PAUSED, "family") in {(n.kind, n.charger_id) for n in result.notices}


def test_urgency_serves_the_earliest_ready_by_first() -> None:
    """By urgency: the car needed first gets the current above the minimums."""
    budget = PowerBudget(BudgetSettings(fuse_a=20, sharing=BudgetSharing.URGENCY))
    chargers = [
        car("later", ready_by=at(8 * 3600)),
        car("soon", ready_by=at(2 * 3600)),
        car("whenever"),
    ]
    result = budget.allocate(T0, chargers, grid(T0, 0))
    assert amps(result) == {"soon": 8.0, "later": 6.0, "whenever": 6.0}


def test_rotation_lets_every_paused_session_charge_in_turn_without_chatter() -> None:
    """Room for two minimums, three sessions: each pauses in turn after the rotation period,
    nobody starves, and within a period nothing changes."""
    budget = PowerBudget(BudgetSettings(fuse_a=12, rotation=timedelta(minutes=15)))
    chargers = [car("a"), car("b"), car("c")]
    charged = dict.fromkeys("abc", 0)
    paused_for = dict.fromkeys("abc", 0)
    changes = 0
    previous: dict[str, float] | None = None
    for step in range(0, 3 * 3600, 10):  # three hours of rounds every 10 s
        now = at(step)
        result = budget.allocate(now, chargers, grid(now, 0))
        current = amps(result)
        assert sorted(current.values()) == [0.0, 6.0, 6.0]
        for cid, value in current.items():
            charged[cid] += value > 0
            paused_for[cid] = 0 if value > 0 else paused_for[cid] + 1
            assert paused_for[cid] <= 90  # never waits more than one 15-minute turn
        if previous is not None and current != previous:
            changes += 1
        previous = current
    # Every session charged about two thirds of the time; a swap every 15 minutes.
    assert all(600 <= rounds <= 840 for rounds in charged.values()), charged
    assert changes == 11


def test_mixed_one_and_three_phase_chargers_count_on_their_phases() -> None:
    """A 1-phase charger on L2 shares L2 with a 3-phase one; L1/L3 are not used by it."""
    budget = PowerBudget(BudgetSettings(fuse_a=20))
    three = car("three")
    one = ChargerLoad(charger_id="one", phases=1, phase=2, active=True, draw_a=(9.0, 0.0, 0.0))
    # The grid shows the 1-phase charger's 9 A (its own L1) on site phase L2.
    result = budget.allocate(T0, [three, one], grid(T0, 2, 11, 2))
    assert result.headroom_a == (18.0, 18.0, 18.0)
    assert amps(result) == {"three": 9.0, "one": 9.0}
    assert result.allocated_a == (9.0, 18.0, 9.0)
    # A 1-phase charger on L1 next to them: L1 holds 18 A for two.
    other = ChargerLoad(charger_id="other", phases=1, phase=1, active=True)
    result = budget.allocate(at(5), [three, one, other], grid(at(5), 2, 11, 2))
    assert amps(result) == {"three": 9.0, "one": 9.0, "other": 9.0}
    assert all(value <= 18.0 + 1e-9 for value in result.allocated_a)


def test_a_fuse_exactly_reached_pauses_nobody() -> None:
    """Minimums that add up to the headroom exactly all charge (no float error pauses one)."""
    budget = PowerBudget(BudgetSettings(fuse_a=20.4))
    chargers = [car(cid, max_a=6.1, min_a=6.1) for cid in "abc"]
    result = budget.allocate(T0, chargers, grid(T0, 2.1))
    assert amps(result) == {"a": 6.1, "b": 6.1, "c": 6.1}
    assert all(a.reason is BudgetReason.MAX for a in result.allocations.values())
    assert max(result.allocated_a) <= 18.3 + 1e-9


def test_the_household_load_step_is_followed_within_one_round() -> None:
    """3 x 20 A, three cars, a 9 kW household step: the next round keeps the site under the
    fuse (one car at its minimum, two paused)."""
    budget = PowerBudget(BudgetSettings(fuse_a=20))
    house_a = 0.5
    chargers = [car(cid) for cid in "abc"]
    result = budget.allocate(T0, chargers, grid(T0, house_a))
    assert amps(result) == {"a": 6.5, "b": 6.5, "c": 6.5}
    drawn = amps(result)
    house_a += 9000 / 230 / 3
    loads = [car(cid, drawn[cid]) for cid in "abc"]
    result = budget.allocate(at(1), loads, grid(at(1), house_a + sum(drawn.values())))
    assert sorted(amps(result).values()) == [0.0, 0.0, 6.4]
    assert house_a + sum(amps(result).values()) <= 20


def test_a_silent_grid_meter_falls_back_to_the_static_limit() -> None:
    """No reading for longer than the timeout: the fuse divided among the chargers on a phase
    (or the configured fallback); below the minimum a charger pauses."""
    settings = BudgetSettings(fuse_a=20, meter_timeout=timedelta(seconds=30))
    budget = PowerBudget(settings)
    reading = grid(T0, 1)
    assert budget.allocate(at(10), [car("a"), car("b")], reading).state is BudgetState.LIMITED
    result = budget.allocate(at(31), [car("a"), car("b")], reading)
    assert result.state is BudgetState.FALLBACK
    assert amps(result) == {"a": 10.0, "b": 10.0}
    assert set(reasons(result).values()) == {BudgetReason.FALLBACK}
    four = [car(cid) for cid in "abcd"]
    assert set(amps(budget.allocate(at(40), four, reading)).values()) == {0.0}
    configured = PowerBudget(BudgetSettings(fuse_a=20, fallback_a=8))
    assert amps(configured.allocate(T0, [car("a"), car("b")], None)) == {"a": 8.0, "b": 8.0}
    # Back: normal allocation again.
    result = budget.allocate(at(41), [car("a"), car("b")], grid(at(41), 1))
    assert result.state is not BudgetState.FALLBACK
    assert amps(result) == {"a": 9.5, "b": 9.5}


def test_without_a_grid_meter_the_chargers_share_the_fuse() -> None:
    """No grid meter configured: the fuse is the chargers' own (no fallback)."""
    budget = PowerBudget(BudgetSettings(fuse_a=16, grid_meter=False))
    result = budget.allocate(T0, [car("a"), car("b")])
    assert amps(result) == {"a": 8.0, "b": 8.0}
    assert result.state is BudgetState.LIMITED


def test_idle_chargers_get_what_is_left() -> None:
    """A charger without a session gets the rest of the headroom (0 when less than its
    minimum), so a car plugged in starts within the fuse."""
    budget = PowerBudget(BudgetSettings(fuse_a=25))
    idle = ChargerLoad(charger_id="idle")
    result = budget.allocate(T0, [car("busy", max_a=16), idle], grid(T0, 0))
    assert amps(result) == {"busy": 16.0, "idle": 9.0}
    assert reasons(result)["idle"] is BudgetReason.IDLE
    result = budget.allocate(at(5), [car("busy"), idle], grid(at(5), 0))
    assert amps(result) == {"busy": 25.0, "idle": 0.0}


def _solar_day(
    budget: PowerBudget, pv_w: list[float], house_w: float = 500.0, step_s: int = 10
) -> list[float]:
    """Rounds every ``step_s`` with the car drawing what it was given; the allocations."""
    given = 0.0
    out: list[float] = []
    for index, production in enumerate(pv_w):
        now = at(index * step_s)
        load = car("sun", given, mode=ChargeMode.SOLAR)
        net_w = house_w + given * 230 * 3 - production
        result = budget.allocate(now, [load], GridReading(at=now, power_w=net_w))
        given = amps(result)["sun"]
        out.append(given)
    return out


def test_pv_surplus_with_clouds_follows_the_sun_without_chatter() -> None:
    """Clouds every 30 s do not switch the car; a long cloud does, after the delay, and the
    car then stays off for the minimum off time."""
    solar = SolarSettings(
        enable_delay=timedelta(minutes=1),
        disable_delay=timedelta(minutes=3),
        min_on=timedelta(minutes=5),
        min_off=timedelta(minutes=5),
    )
    budget = PowerBudget(BudgetSettings(fuse_a=25, solar=solar))
    sunny = [9000.0] * 12  # 2 minutes of sun
    clouds = [9000.0 if (i // 3) % 2 else 2000.0 for i in range(60)]  # 10 minutes, 30 s each
    overcast = [1000.0] * 24  # 4 minutes
    sun_again = [9000.0] * 36
    currents = _solar_day(budget, sunny + clouds + overcast + sun_again)
    # Off, then on after the enable delay at the surplus (8500 W / 690 = 12.3 -> 12 A).
    assert currents[:6] == [0.0] * 6
    assert currents[6] == 12.0
    switches = sum((a > 0) != (b > 0) for a, b in itertools.pairwise(currents))
    clouds_part = currents[12 : 12 + 60]
    assert min(clouds_part) >= 6.0  # never off in passing clouds
    # Overcast from 720 s: off after the 3-minute disable delay, not before.
    assert currents[89] >= 6.0
    assert currents[90] == 0.0
    # Sun again at 960 s: still off until the 5-minute minimum off time ends (1200 s).
    assert currents[96:120] == [0.0] * 24
    assert currents[120] == 12.0
    assert switches == 3
    # The site sensors: what the surplus is and what the car uses of it.
    result = budget.allocate(at(10_000), [car("sun", 12, mode=ChargeMode.SOLAR)], None)
    assert result.state is BudgetState.FALLBACK


def test_a_surplus_wavering_around_a_step_does_not_chatter() -> None:
    """A surplus that wavers by +-200 W around 11 A (7590 W) lowers the current once and rises
    again only as far as the surplus covers it with the margin; a real rise follows."""
    budget = PowerBudget(BudgetSettings(fuse_a=25, solar=SolarSettings(enable_delay=timedelta(0))))
    wavering = [7790.0 if index % 2 else 7390.0 for index in range(30)]  # 11.3 / 10.7 A
    currents = _solar_day(budget, [8100.0] + wavering + [8900.0] * 3, house_w=0.0)
    assert currents[0] == 11.0  # 8100 W: 11.7 A
    changes = sum(a != b for a, b in itertools.pairwise(currents[: 1 + len(wavering)]))
    assert changes == 1  # down to 10 A once, not back and forth
    assert set(currents[2 : 1 + len(wavering)]) == {10.0}
    assert currents[-1] == 12.0  # 8900 W: 12.9 A, 0.9 A above 12 A: a real rise


def test_solar_min_charges_at_the_minimum_from_the_grid() -> None:
    """Solar with a minimum: no surplus still charges at the minimum current."""
    budget = PowerBudget(BudgetSettings(fuse_a=25))
    load = car("sun", mode=ChargeMode.SOLAR_MIN)
    result = budget.allocate(
        T0, [load], GridReading(at=T0, power_w=300), SolarReading(at=T0, production_w=0)
    )
    assert amps(result) == {"sun": 6.0}
    assert reasons(result) == {"sun": BudgetReason.SOLAR_MIN}
    waiting = car("sun", mode=ChargeMode.SOLAR)
    result = PowerBudget(BudgetSettings(fuse_a=25)).allocate(
        T0, [waiting], GridReading(at=T0, power_w=300)
    )
    assert amps(result) == {"sun": 0.0}
    assert reasons(result) == {"sun": BudgetReason.SOLAR_WAITING}


def test_export_entity_and_production_give_the_surplus() -> None:
    """Surplus = the solar chargers' draw - net import (grid - export), capped by production."""
    budget = PowerBudget(BudgetSettings(fuse_a=25, solar=SolarSettings(enable_delay=timedelta(0))))
    load = car("sun", 0, mode=ChargeMode.SOLAR)
    result = budget.allocate(
        T0,
        [load],
        GridReading(at=T0, power_w=0),
        SolarReading(at=T0, export_w=5000, production_w=4500),
    )
    assert result.surplus_w == 4500
    assert amps(result) == {"sun": 6.0}  # 4500 W / 690 W per A = 6.5 -> 6 A
    assert result.solar_in_use_w == 6 * 230 * 3


def test_a_disobeying_charger_is_reported_then_paused_then_released() -> None:
    """Over its limit longer than the grace period: reported; still on after the pause delay:
    paused (its draw is kept out of the others' share meanwhile); drawing nothing: released."""
    settings = BudgetSettings(
        fuse_a=32, overdraw_grace=timedelta(seconds=30), overdraw_pause_after=timedelta(seconds=60)
    )
    budget = PowerBudget(settings)
    kinds: list[BudgetNoticeKind] = []

    def round_at(seconds: float, draw: float) -> dict[str, float]:
        now = at(seconds)
        chargers = [car("rogue", draw, limit_a=10.0), car("good", 10.0, limit_a=10.0)]
        result = budget.allocate(now, chargers, grid(now, 1 + draw + 10))
        kinds.extend(n.kind for n in result.notices if n.charger_id == "rogue")
        return amps(result)

    round_at(0, 20)
    round_at(20, 20)
    assert BudgetNoticeKind.DISOBEYING not in kinds
    current = round_at(30, 20)
    assert BudgetNoticeKind.DISOBEYING in kinds
    # 20 - 10 A beyond its limit are kept out of the headroom: 31 - 10 left for two minimums+.
    assert current["good"] + current["rogue"] + 10 <= 31
    current = round_at(90, 20)
    assert current["rogue"] == 0.0
    assert BudgetNoticeKind.DISOBEYING_PAUSED in kinds
    assert (
        budget.allocate(at(95), [car("rogue", 20, limit_a=0.0)], grid(at(95), 21))
        .allocations["rogue"]
        .reason
        is BudgetReason.DISOBEYING
    )
    current = round_at(100, 0)
    assert BudgetNoticeKind.OBEYING in kinds
    assert current["rogue"] > 0
