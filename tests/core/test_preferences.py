"""Member preferences and what is learned from a member's own sessions (synthetic months)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
import random
from types import MappingProxyType
from zoneinfo import ZoneInfo

from hypothesis import given, strategies as st

from custom_components.ev_sessions.core import (
    WEEKDAY_GROUP,
    WEEKEND_GROUP,
    AllowedHours,
    MemberPreferences,
    PlanMode,
    WeekReadyBy,
    effective_defaults,
    learn_habits,
    recommend,
)

TZ = ZoneInfo("Europe/Stockholm")
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # a Tuesday


@dataclass(frozen=True)
class Past:
    """A stored session as learning sees it."""

    plugged_in_at: datetime
    unplugged_at: datetime | None
    energy_wh: int


def history(days: int = 110, seed: int = 7) -> list[Past]:
    """Weekday evenings: plugged in ~17:30, unplugged ~07:10 the next weekday morning, ~15 kWh;
    weekends: a midday top-up (10:00-16:00, 8 kWh) every Saturday; a few quick top-ups."""
    rng = random.Random(seed)
    sessions: list[Past] = []
    first = date(2026, 8, 13)
    for offset in range(days):
        day = first + timedelta(days=offset)
        if day.weekday() < 4:  # Monday-Thursday evenings, leaving the next (week)day
            plug = datetime.combine(day, time(17, 30), tzinfo=TZ) + timedelta(
                minutes=rng.randint(-20, 20)
            )
            leave = datetime.combine(day + timedelta(days=1), time(7, 10), tzinfo=TZ) + timedelta(
                minutes=rng.choice((-6, -3, 0, 0, 0, 3, 6))
            )
            sessions.append(Past(plug, leave, 15000 + rng.randint(-1500, 1500)))
        elif day.weekday() == 5:
            plug = datetime.combine(day, time(10), tzinfo=TZ)
            sessions.append(Past(plug, plug + timedelta(hours=6), 8000))
        if offset % 9 == 0:  # a quick top-up: says nothing about departures
            plug = datetime.combine(day, time(12), tzinfo=TZ)
            sessions.append(Past(plug, plug + timedelta(minutes=10), 1200))
    sessions.append(Past(NOW - timedelta(hours=2), None, 3000))  # still plugged in
    return [
        Past(
            s.plugged_in_at.astimezone(UTC),
            s.unplugged_at and s.unplugged_at.astimezone(UTC),
            s.energy_wh,
        )
        for s in sessions
    ]


def test_habits_learned_from_months_of_sessions() -> None:
    habits = learn_habits(history(), TZ, now=NOW)

    weekdays = habits[WEEKDAY_GROUP]
    assert weekdays.departure == time(7, 10)
    assert time(17, 10) <= weekdays.plug_in <= time(17, 50)
    assert 14000 <= weekdays.energy_wh <= 16000
    # Mon-Thu evenings of the last 120 days (Aug 13 - Nov 30: 62 of them), the quick top-ups
    # and the open session left out.
    assert weekdays.sessions == 62
    weekend = habits[WEEKEND_GROUP]
    assert (weekend.departure, weekend.energy_wh, weekend.sessions) == (time(16), 8000, 16)


def test_recommendation_says_what_and_on_how_many_sessions() -> None:
    habits = learn_habits(history(), TZ, now=NOW)

    advice = recommend(habits, MemberPreferences())

    assert advice is not None
    assert advice.group == WEEKDAY_GROUP
    assert (advice.departure, advice.ready_by) == (time(7, 10), time(7, 0))
    assert advice.sessions == 62
    accepted = advice.apply(MemberPreferences())
    assert dict(accepted.ready_by) == dict.fromkeys(range(5), time(7))
    assert accepted.energy_wh == advice.energy_wh
    # Once accepted, the weekend is suggested next; with too little evidence, nothing.
    following = recommend(habits, accepted)
    assert following is not None
    assert (following.group, following.ready_by) == (WEEKEND_GROUP, time(16))
    assert recommend(learn_habits(history(days=6), TZ, now=NOW), MemberPreferences()) is None


def test_own_settings_win_and_habits_fill_the_rest() -> None:
    habits = learn_habits(history(), TZ, now=NOW)
    evening = datetime(2026, 12, 1, 18, 0, tzinfo=TZ)  # Tuesday evening

    learned = effective_defaults(MemberPreferences(), habits, now=evening, tz=TZ)
    assert learned.ready_by == datetime(2026, 12, 2, 7, 10, tzinfo=TZ)
    assert learned.learned
    assert learned.mode is PlanMode.CHEAPEST
    assert learned.energy_wh == habits[WEEKDAY_GROUP].energy_wh

    own = MemberPreferences(
        ready_by=MappingProxyType({2: time(6, 30)}), energy_wh=20000, mode=PlanMode.CONTINUOUS
    )
    mine = effective_defaults(own, habits, now=evening, tz=TZ)
    assert mine.ready_by == datetime(2026, 12, 2, 6, 30, tzinfo=TZ)
    assert (mine.energy_wh, mine.mode, mine.learned) == (20000, PlanMode.CONTINUOUS, False)

    nothing = effective_defaults(MemberPreferences(), {}, now=evening, tz=TZ)
    assert (nothing.ready_by, nothing.energy_wh) == (None, None)


def test_preferences_survive_their_stored_form() -> None:
    prefs = MemberPreferences(
        ready_by=MappingProxyType({0: time(7), 5: time(9, 15)}),
        target_soc_pct=80,
        mode=PlanMode.PRICE_CAP,
        price_cap=Decimal("1.25"),
        allowed_hours=(AllowedHours(start=time(22), end=time(6)),),
    )

    assert MemberPreferences.from_dict(prefs.to_dict()) == prefs
    assert MemberPreferences.from_dict(None).is_empty
    broken = MemberPreferences.from_dict({"ready_by": {"9": "07:00", "1": "x"}, "mode": "fast"})
    assert broken.is_empty


def test_a_day_of_its_own_wins_over_its_group() -> None:
    """Weekdays 07:00 but Friday 08:00, weekend 10:00 but Saturday 09:00: each day's time; the
    form of those per-day times gives them back, and a plan on Saturday morning is ready by
    Saturday's 09:00, on Saturday evening by Sunday's 10:00."""
    week = WeekReadyBy(
        weekdays=time(7),
        weekend=time(10),
        days=MappingProxyType({4: time(8), 5: time(9)}),
    )

    days = week.ready_by()

    assert dict(days) == {0: time(7), 1: time(7), 2: time(7), 3: time(7), 4: time(8)} | {
        5: time(9),
        6: time(10),
    }
    assert WeekReadyBy.of(days).ready_by() == days
    prefs = MemberPreferences(ready_by=days)
    saturday = datetime(2026, 12, 5, 6, 0, tzinfo=TZ)
    assert saturday.weekday() == 5
    morning = effective_defaults(prefs, {}, now=saturday, tz=TZ)
    assert morning.ready_by == datetime(2026, 12, 5, 9, 0, tzinfo=TZ)
    evening = effective_defaults(prefs, {}, now=saturday.replace(hour=20), tz=TZ)
    assert evening.ready_by == datetime(2026, 12, 6, 10, 0, tzinfo=TZ)


def test_the_form_of_per_day_times() -> None:
    """A group's time is the one most of its days share, only when each of its days has one;
    the other days keep their own; nothing set: nothing shown."""
    mostly = {0: time(7), 1: time(6, 30), 2: time(6, 30), 3: time(7), 4: time(6, 30)}
    assert WeekReadyBy.of(mostly) == WeekReadyBy(
        weekdays=time(6, 30), days=MappingProxyType({0: time(7), 3: time(7)})
    )
    tie = {5: time(9), 6: time(10)}
    assert WeekReadyBy.of(tie) == WeekReadyBy(weekend=time(9), days=MappingProxyType({6: time(10)}))
    partly = {0: time(7), 1: time(7)}
    assert WeekReadyBy.of(partly) == WeekReadyBy(days=MappingProxyType(partly))
    assert WeekReadyBy.of({}) == WeekReadyBy()
    assert dict(WeekReadyBy().ready_by()) == {}


_TIMES = st.sampled_from([time(6), time(6, 30), time(7), time(8, 15)])


@given(st.dictionaries(st.integers(0, 6), _TIMES))
def test_per_day_times_survive_the_form(days: dict[int, time]) -> None:
    """Any per-day times come back the same from their form."""
    assert dict(WeekReadyBy.of(days).ready_by()) == days
