"""The hub options' price source as stored (issue 16 coverage): what cannot be used is named,
never raised at startup; an action of no known kind is called once with its data as is."""

from __future__ import annotations

from datetime import date
import re
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from custom_components.ev_sessions.price_feed import (
    ActionCall,
    PriceSourceConfig,
    PriceSourceKind,
    action_calls,
    price_config,
)


@pytest.mark.parametrize(
    ("stored", "problem"),
    [
        ({"kind": "magic"}, "kind: unknown source kind 'magic'"),
        (
            {"kind": "action", "action": "a.b", "action_data": [1]},
            "action_data: not an object: [1]",
        ),
        ({"kind": "entity"}, "entity_id: needed for an entity source"),
        ({"kind": "action", "action": "prices"}, "action: not an action (domain.name): 'prices'"),
        ({"kind": "tou", "schedule": "cheap"}, "schedule: needed for a time-of-use source"),
        ({"kind": "fixed", "read": "raw"}, "read: not an object: 'raw'"),
    ],
)
def test_a_stored_source_that_cannot_be_used_is_named(stored: dict[str, Any], problem: str) -> None:
    with pytest.raises(ValueError, match=f"^{re.escape(problem)}$"):
        PriceSourceConfig.from_dict(stored)
    config = price_config({"price_source": stored})  # at startup: no source, the problem kept
    assert config.source == PriceSourceConfig()
    assert config.problems == (f"price_source: {problem}",)


def test_a_source_is_named_by_its_entity_action_or_kind() -> None:
    assert PriceSourceConfig(kind=PriceSourceKind.FIXED).name == "fixed"
    assert PriceSourceConfig(kind=PriceSourceKind.ACTION, action="x.get").name == "x.get"


def test_an_action_of_no_known_kind_is_called_once_with_its_data() -> None:
    calls = action_calls(
        "energy.get_prices", {"area": "SE3"}, date(2026, 12, 1), ZoneInfo("Europe/Stockholm")
    )
    assert calls == [ActionCall("energy", "get_prices", {"area": "SE3"})]
