"""Which charger and when is cheapest next for a member who can use several (issue 13).

Hourly prices from 17:00 UTC: 0.80 SEK, except 01:00-02:00 at 0.10 and 02:00-03:00 at 0.40;
+25 % VAT. 8,280 Wh by 05:00. The garage charges 3 x 16 A (2,760 Wh a quarter-hour), the carport
1 x 16 A (920 Wh a quarter-hour).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from custom_components.ev_sessions.core import (
    ChargerChoice,
    ChargerLimits,
    PlanRequest,
    PlanState,
    PriceInterval,
    PriceSeries,
    Tariff,
    cheapest_charger,
    make_plan,
)

NOW = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
TARIFF = Tariff(currency="SEK", fallback_price=Decimal("2.00"), vat_rate=Decimal("0.25"))
GARAGE = ChargerLimits(phases=3, voltage_v=230, min_current_a=6, max_current_a=16)
CARPORT = ChargerLimits(phases=1, voltage_v=230, min_current_a=6, max_current_a=16)
CHARGERS = {"carport": CARPORT, "garage": GARAGE}
REQUEST = PlanRequest(energy_wh=8280, ready_by=datetime(2026, 3, 3, 5, 0, tzinfo=UTC))


def hourly() -> PriceSeries:
    """The night's prices (see the module docstring)."""
    special = {1: "0.10", 2: "0.40"}
    return PriceSeries(
        [
            PriceInterval(
                source="sensor.nordpool",
                start=NOW + timedelta(hours=n),
                length=timedelta(hours=1),
                price=Decimal(special.get((17 + n) % 24, "0.80")),
                currency="SEK",
                fetched_at=NOW,
            )
            for n in range(14)
        ]
    )


def at(hour: int, minute: int = 0) -> datetime:
    """A time in the night after NOW."""
    return datetime(2026, 3, 3, hour, minute, tzinfo=UTC)


def test_the_faster_charger_is_cheapest_in_the_cheapest_hour() -> None:
    """The garage fits 8.28 kWh into 01:00-01:45 at 0.10: 3 x 0.28 + VAT = 1.05; the carport
    needs 9 quarter-hours (4 at 0.10, 4 at 0.40 and the earlier of the 0.80 neighbours):
    4 x 0.09 + 4 x 0.37 + 0.74 = 2.58 + VAT 0.65 = 3.23."""
    garage, carport = cheapest_charger(REQUEST, CHARGERS, hourly(), TARIFF, now=NOW)

    assert garage.charger_id == "garage"
    assert (garage.plan.start, garage.plan.finish) == (at(1), at(1, 45))
    assert garage.plan.expected_cost == Decimal("1.05")
    assert carport.charger_id == "carport"
    assert (carport.plan.start, carport.plan.finish) == (at(0, 45), at(3))
    assert carport.plan.expected_cost == Decimal("3.23")
    # The same plan the charger would get.
    assert garage.plan == make_plan(REQUEST, GARAGE, hourly(), TARIFF, now=NOW)


def test_a_busy_charger_and_one_that_cannot_make_it_come_last() -> None:
    """The garage is busy: the carport is first. By 01:30 the carport cannot charge 8.28 kWh:
    the garage (free) wins although charging at once costs more than the carport's night."""
    first, second = cheapest_charger(
        REQUEST, CHARGERS, hourly(), TARIFF, now=NOW, busy=frozenset({"garage"})
    )
    assert (first.charger_id, first.busy, second.charger_id, second.busy) == (
        "carport",
        False,
        "garage",
        True,
    )

    early = PlanRequest(energy_wh=8280, ready_by=NOW + timedelta(hours=2))
    best, other = cheapest_charger(early, CHARGERS, hourly(), TARIFF, now=NOW)
    assert best.charger_id == "garage"
    assert best.plan.state is PlanState.PLANNED
    assert other.plan.state is PlanState.CANNOT_MEET_READY_BY


def test_equal_chargers_rank_by_id_and_the_answer_is_plain_data() -> None:
    """Two garages alike: the same plan, ranked by charger id; as_dict is JSON-safe."""
    choices = cheapest_charger(REQUEST, {"b": GARAGE, "a": GARAGE}, hourly(), TARIFF, now=NOW)
    assert [choice.charger_id for choice in choices] == ["a", "b"]
    data = choices[0].as_dict()
    assert data == {
        "charger_id": "a",
        "busy": False,
        "state": "planned",
        "start": "2026-03-03T01:00:00+00:00",
        "finish": "2026-03-03T01:45:00+00:00",
        "energy_wh": 8280,
        "needed_wh": 8280,
        "cost": "1.05",
        "currency": "SEK",
        "windows": [
            {
                "start": "2026-03-03T01:00:00+00:00",
                "end": "2026-03-03T01:45:00+00:00",
                "current_a": 16.0,
                "power_w": 11040.0,
                "energy_wh": 8280,
            }
        ],
    }
    assert isinstance(choices[0], ChargerChoice)
