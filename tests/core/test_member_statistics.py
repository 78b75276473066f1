"""Per-member hourly energy and cost (the long-term statistics, issue 16)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from custom_components.ev_sessions.core import (
    EnergySlot,
    Session,
    member_hours,
    member_statistic_key,
    spread_cost,
)

T0 = datetime(2026, 11, 3, 9, 0, tzinfo=UTC)


def _session(
    sid: str,
    member: str | None,
    slots: list[tuple[int, int]],
    *,
    cost: str | None = None,
    ended: bool = True,
) -> Session:
    """A session with slots given as (minutes after T0, Wh)."""
    session = Session(id=sid, charger_id="CP1", connector_id=1, plugged_in_at=T0, member_id=member)
    session.slots = [
        EnergySlot(session_id=sid, start=T0 + timedelta(minutes=m), energy_wh=wh, closed_at=T0)
        for m, wh in slots
    ]
    session.energy_wh = sum(wh for _, wh in slots)
    session.cost = None if cost is None else Decimal(cost)
    session.unplugged_at = T0 + timedelta(hours=5) if ended else None
    return session


def test_energy_per_hour_from_slots_with_running_sums() -> None:
    """Anna: 09:00-09:45 = 3 slots in hour 9, 10:00 and 10:15 in hour 10; Bo's own hours."""
    sessions = [
        _session("a", "anna", [(0, 1000), (15, 2000), (45, 500), (60, 700), (75, 300)]),
        _session("b", "bo", [(120, 4000)]),
    ]
    hours = member_hours(sessions, "SEK")
    assert [(h.start.hour, h.energy_wh, h.energy_sum_wh) for h in hours["anna"]] == [
        (9, 3500, 3500),
        (10, 1000, 4500),
    ]
    assert [(h.start.hour, h.energy_wh, h.energy_sum_wh) for h in hours["bo"]] == [(11, 4000, 4000)]


def test_cost_spread_by_energy_adds_up_exactly() -> None:
    """10.00 over 1 Wh : 1 Wh : 1 Wh is 3.34 + 3.33 + 3.33 (the largest remainder; ties go to
    the earlier hour), and the member's cost sum is the session's cost."""
    sessions = [_session("a", "anna", [(0, 1), (60, 1), (120, 1)], cost="10.00")]
    hours = member_hours(sessions, "SEK")["anna"]
    assert [h.cost for h in hours] == [Decimal("3.34"), Decimal("3.33"), Decimal("3.33")]
    assert hours[-1].cost_sum == Decimal("10.00")


def test_two_sessions_of_one_member_in_the_same_hour_add_up() -> None:
    sessions = [
        _session("a", "anna", [(0, 1000)], cost="2.00"),
        _session("b", "anna", [(30, 500)], cost="1.25"),
    ]
    (hour,) = member_hours(sessions, "EUR")["anna"]
    assert (hour.energy_wh, hour.cost, hour.energy_sum_wh, hour.cost_sum) == (
        1500,
        Decimal("3.25"),
        1500,
        Decimal("3.25"),
    )


def test_open_unattributed_and_unpriced_sessions() -> None:
    """An open session waits until it ended; a session without a member is nobody's; a
    session without a cost counts its energy only; a fee-only session counts at plug-in."""
    sessions = [
        _session("open", "anna", [(0, 1000)], ended=False),
        _session("nobody", None, [(0, 1000)], cost="1.00"),
        _session("unpriced", "bo", [(0, 1000)]),
        _session("fee", "bo", [], cost="5.00"),
    ]
    hours = member_hours(sessions, "SEK")
    assert "anna" not in hours
    assert [(h.start, h.energy_wh, h.cost) for h in hours["bo"]] == [(T0, 1000, Decimal("5.00"))]


def test_reattribution_moves_the_whole_session() -> None:
    session = _session("a", "anna", [(0, 1000)], cost="2.00")
    before = member_hours([session], "SEK")
    session.member_id = "bo"
    after = member_hours([session], "SEK")
    assert (list(before), list(after)) == (["anna"], ["bo"])
    assert after["bo"][0].cost_sum == Decimal("2.00")


def test_spread_cost_in_a_currency_without_minor_unit() -> None:
    parts = spread_cost(Decimal(100), {T0: 1, T0 + timedelta(hours=1): 2}, "JPY")
    assert list(parts.values()) == [Decimal(33), Decimal(67)]
    with pytest.raises(ValueError, match="no energy"):
        spread_cost(Decimal(1), {}, "SEK")


@pytest.mark.parametrize(
    ("member_id", "key"),
    [
        ("anna", "member_anna"),
        ("3f2a9c0d1b2e", "member_3f2a9c0d1b2e"),
        ("Bo-Ström", "member_bo_str_m"),
    ],
)
def test_statistic_key_is_a_slug(member_id: str, key: str) -> None:
    assert member_statistic_key(member_id) == key
