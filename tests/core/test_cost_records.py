"""A stored session cost is read back exactly or refused with the reason (issue 16 coverage).

A cost is stored as JSON and shown on bills; a record that was tampered with or written by
another version must never be read as a different amount.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
import json
import re
from typing import Any

import pytest

from custom_components.ev_sessions.core import (
    CostError,
    EnergySlot,
    PriceInterval,
    SessionCost,
    Tariff,
    price_session,
)

T18 = datetime(2026, 1, 12, 18, 0, tzinfo=UTC)
TARIFF = Tariff(currency="SEK", fallback_price=Decimal("1.50"), vat_rate=Decimal("0.25"))


def _cost() -> SessionCost:
    """2000 Wh at 1.00 SEK/kWh: 2.00 + 0.50 VAT = 2.50."""
    slots = [
        EnergySlot(session_id="s-1", start=T18, energy_wh=1000, max_power_w=None),
        EnergySlot(session_id="s-1", start=T18 + timedelta(minutes=15), energy_wh=1000),
    ]
    price = PriceInterval(
        source="sensor.nordpool",
        start=T18,
        length=timedelta(hours=1),
        price=Decimal("1.00"),
        currency="SEK",
        fetched_at=T18,
    )
    return price_session(slots, [price], TARIFF, None)


def _stored() -> dict[str, Any]:
    return json.loads(json.dumps(_cost().to_dict()))


def test_the_stored_form_reads_back_exactly() -> None:
    cost = _cost()
    assert cost.total == Decimal("2.50")
    assert cost.average_price_per_kwh == Decimal("1.25")
    assert SessionCost.from_dict(_stored()) == cost


def _line(**changes: Any) -> dict[str, Any]:
    stored = _stored()
    stored["lines"][0].update(changes)
    return stored


@pytest.mark.parametrize(
    ("stored", "reason"),
    [
        ({**_stored(), "version": 99}, "unknown cost format 99"),
        ({**_stored(), "energy_wh": "2000"}, "energy_wh: not a whole number: '2000'"),
        ({**_stored(), "energy_wh": True}, "energy_wh: not a whole number: True"),
        (_line(energy_wh=1000.5), "energy_wh: not a whole number: 1000.5"),
        ({**_stored(), "total": "lots"}, "total: not a number: 'lots'"),
        (_line(start=1768240800), "start: not an ISO time: 1768240800"),
        ({k: v for k, v in _stored().items() if k != "group"}, "missing 'group'"),
        (_line(amount="1.004"), "lines[0].amount 1.004 is not in minor units"),
        ({**_stored(), "energy_wh": 2001}, "the energy lines do not add up to the session's Wh"),
        ({**_stored(), "estimated": True}, "estimated does not match the lines"),
    ],
)
def test_a_stored_cost_that_does_not_reconcile_is_refused(
    stored: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ValueError, match=re.escape(reason)):
        SessionCost.from_dict(stored)


def test_a_session_without_energy_has_no_average_price() -> None:
    cost = price_session([], [], TARIFF, None)
    assert cost.total == Decimal(0)
    assert cost.average_price_per_kwh is None


def test_no_price_and_no_fallback_is_an_error_not_a_free_session() -> None:
    slots = [EnergySlot(session_id="s-1", start=T18, energy_wh=1000)]
    tariff = Tariff(currency="SEK", vat_rate=Decimal("0.25"))
    with pytest.raises(CostError) as err:
        price_session(slots, [], tariff, None)
    assert str(err.value) == (
        "no price for 2026-01-12T18:00:00+00:00 and no fallback price configured"
    )
