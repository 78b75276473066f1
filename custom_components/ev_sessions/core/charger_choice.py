"""Which charger, and when, is cheapest next for a member who can use several.

Each candidate charger gets the plan :func:`~.planner.make_plan` would make for the same request
with that charger's limits (phases, current range) and the same prices and tariff, so the choice
differs where the chargers do: a faster charger fits the energy into fewer, cheaper quarter-hours.
:func:`rank_choices` orders them: a free charger before a busy one (another car's session is
open on it), a plan that meets the ready-by time before one that cannot, then the lowest expected
cost, the earliest finish and the charger id (deterministic).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any

from .planner import ChargerLimits, Plan, PlanRequest, PlanState, make_plan
from .prices import PriceSeries
from .tariff import Tariff

_LAST = datetime.max.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargerChoice:
    """One candidate charger: the plan it would charge by, and whether it is busy now."""

    charger_id: str
    plan: Plan
    busy: bool = False

    def sort_key(self) -> tuple[bool, bool, Decimal, datetime, str]:
        """Free first, meeting the ready-by first, then cost, finish and charger id."""
        cost = self.plan.expected_cost
        return (
            self.busy,
            self.plan.state is PlanState.CANNOT_MEET_READY_BY,
            Decimal("Infinity") if cost is None else cost,
            self.plan.finish or _LAST,
            self.charger_id,
        )

    def as_dict(self) -> dict[str, Any]:
        """Plain data for an action's response."""
        plan = self.plan
        cost = plan.cost
        return {
            "charger_id": self.charger_id,
            "busy": self.busy,
            "state": plan.state.value,
            "start": None if plan.start is None else plan.start.isoformat(),
            "finish": None if plan.finish is None else plan.finish.isoformat(),
            "energy_wh": plan.energy_wh,
            "needed_wh": plan.needed_wh,
            "cost": None if cost is None else str(cost.total),
            "currency": None if cost is None else cost.currency,
            "windows": [window.to_dict() for window in plan.windows],
        }


def rank_choices(choices: Iterable[ChargerChoice]) -> tuple[ChargerChoice, ...]:
    """The choices, the best first (see the module docstring)."""
    return tuple(sorted(choices, key=ChargerChoice.sort_key))


def cheapest_charger(
    request: PlanRequest,
    chargers: Mapping[str, ChargerLimits],
    prices: PriceSeries,
    tariff: Tariff | None,
    *,
    now: datetime,
    tz: tzinfo = UTC,
    busy: frozenset[str] = frozenset(),
) -> tuple[ChargerChoice, ...]:
    """Every charger's plan for ``request``, ranked (the first is the cheapest next)."""
    return rank_choices(
        ChargerChoice(
            charger_id=charger_id,
            plan=make_plan(request, limits, prices, tariff, now=now, tz=tz),
            busy=charger_id in busy,
        )
        for charger_id, limits in chargers.items()
    )


__all__ = ["ChargerChoice", "cheapest_charger", "rank_choices"]
