"""The site power budget's glue: the fallback current as configured, and a charger-wide limit
of the hub's released when no budget wants it any more."""

from __future__ import annotations

from datetime import UTC, datetime

from custom_components.ev_sessions.budget_flow import budget_config
from custom_components.ev_sessions.core import (
    BudgetReason,
    ChargerLoad,
    PowerBudget,
)

#: A moment (the budget has no clock of its own).
T0 = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)


def test_a_fallback_of_zero_pauses_every_charger() -> None:
    """A fallback current of 0 A is a setting (pause everything while the meter is silent),
    not an empty field that falls back to the fuse divided among the chargers."""
    meter = {"fuse_a": 20, "phases": 3, "grid_power_entity": "sensor.grid"}
    config = budget_config({"power_budget": {**meter, "fallback_a": 0}})
    assert config is not None
    assert config.settings.fallback_a == 0.0
    result = PowerBudget(config.settings).allocate(
        T0, [ChargerLoad(charger_id="cp", active=True)], grid=None
    )
    assert result.allocations["cp"].current_a == 0.0
    assert result.allocations["cp"].reason is BudgetReason.FALLBACK
    empty = budget_config({"power_budget": meter})
    assert empty is not None
    assert empty.settings.fallback_a is None
