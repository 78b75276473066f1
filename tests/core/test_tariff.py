"""The tariff: price components, groups, JSON form and validation (issue 12)."""

from __future__ import annotations

from datetime import UTC, datetime, time
from decimal import Decimal
import json
from types import MappingProxyType
from zoneinfo import ZoneInfo

import pytest

from custom_components.ev_sessions.core import (
    ALL_DAYS,
    GROUP_COMPANY_CAR,
    GROUP_GUEST,
    GROUP_HOUSEHOLD,
    WEEKDAYS,
    DemandPricing,
    EnergyPricing,
    FastChargingSurcharge,
    IdleFee,
    PriceComponent,
    SpeedClass,
    Tariff,
    TariffError,
    TariffGroup,
    TariffGroupMode,
    TouSchedule,
    TouWindow,
)

STHLM = ZoneInfo("Europe/Stockholm")
NOON = datetime(2026, 1, 12, 11, 0, tzinfo=UTC)  # Monday 12:00 CET


def swedish() -> Tariff:
    """A Swedish household tariff: spot + markup + energy tax + grid fee, 25 % VAT."""
    return Tariff(
        currency="SEK",
        fallback_price=Decimal("1.50"),
        supplier_markup=Decimal("0.05"),
        energy_tax=Decimal("0.439"),
        grid_fee=Decimal("0.25"),
        vat_rate=Decimal("0.25"),
    )


def full_tariff() -> Tariff:
    """A tariff using every option."""
    peak = TouSchedule(
        default=Decimal("0.20"),
        windows=(TouWindow(days=WEEKDAYS, start=time(6), end=time(22), price=Decimal("0.55")),),
    )
    evening = TouSchedule(
        default=Decimal(0),
        windows=(TouWindow(days=ALL_DAYS, start=time(17), end=time(20), price=Decimal("0.20")),),
    )
    night = TouSchedule(
        default=Decimal(0),
        windows=(TouWindow(days=ALL_DAYS, start=time(0), end=time(6), price=Decimal("0.15")),),
    )
    return Tariff(
        currency="SEK",
        fallback_price=Decimal("1.50"),
        supplier_markup=Decimal("0.05"),
        energy_tax=Decimal("0.439"),
        grid_fee_schedule=peak,
        vat_rate=Decimal("0.25"),
        fast_charging=FastChargingSurcharge(
            per_speed_class={SpeedClass.FAST: Decimal("0.50")},
            power_threshold_w=11000,
            above_threshold_per_kwh=Decimal("0.30"),
        ),
        time_of_day=evening,
        session_fee=Decimal("5.00"),
        idle_fee=IdleFee(per_minute=Decimal("0.10"), grace_minutes=30, max_amount=Decimal(20)),
        demand=DemandPricing(
            connectors=4, busy_above=2, surcharge_per_kwh=Decimal("0.40"), low_demand=night
        ),
        groups={
            GROUP_HOUSEHOLD: TariffGroup(),
            GROUP_GUEST: TariffGroup(
                mode=TariffGroupMode.MARKUP,
                markup_per_kwh=Decimal("0.10"),
                markup_rate=Decimal("0.2"),
                operator_fees=True,
            ),
            "neighbour": TariffGroup(
                mode=TariffGroupMode.FIXED, fixed_per_kwh=Decimal("2.40"), operator_fees=True
            ),
            GROUP_COMPANY_CAR: TariffGroup(reimbursement_per_kwh=Decimal("2.50")),
        },
    )


def test_default_formula_spot_markup_tax_grid_fee_times_vat() -> None:
    """(1.00 + 0.05 + 0.439 + 0.25) x 1.25 = 2.17375 per kWh, components kept by name."""
    price = swedish().energy_price(Decimal("1.00"), NOON, STHLM)
    assert price.components == (
        (PriceComponent.SPOT, Decimal("1.00")),
        (PriceComponent.SUPPLIER_MARKUP, Decimal("0.05")),
        (PriceComponent.ENERGY_TAX, Decimal("0.439")),
        (PriceComponent.GRID_FEE, Decimal("0.25")),
    )
    assert price.excl_vat == Decimal("1.739")
    assert price.incl_vat == Decimal("2.17375")


def test_negative_spot_is_kept() -> None:
    """A negative spot price lowers the kWh's price; it is not clamped."""
    price = swedish().energy_price(Decimal("-0.30"), NOON, STHLM)
    assert price.excl_vat == Decimal("0.439")  # -0.30 + 0.05 + 0.439 + 0.25


def test_grid_fee_by_its_own_time_of_use_schedule() -> None:
    """The grid fee follows its schedule in local time: weekday 06-22 peak, else off-peak."""
    tariff = full_tariff()
    peak = tariff.energy_price(Decimal(1), NOON, STHLM)
    assert dict(peak.components)[PriceComponent.GRID_FEE] == Decimal("0.55")
    night = tariff.energy_price(Decimal(1), datetime(2026, 1, 12, 22, 0, tzinfo=UTC), STHLM)
    assert dict(night.components)[PriceComponent.GRID_FEE] == Decimal("0.20")  # 23:00 local


def test_fixed_energy_price_needs_no_spot() -> None:
    """Fixed pricing: the fixed price replaces the spot component."""
    tariff = Tariff(
        currency="EUR", energy=EnergyPricing.FIXED, fixed_price=Decimal("0.30"),
        energy_tax=Decimal("0.05"), vat_rate=Decimal("0.19"),
    )  # fmt: skip
    group = tariff.resolve_group(None)[1]
    assert not tariff.needs_spot(group)
    price = tariff.energy_price(None, NOON, STHLM)
    assert price.components[0] == (PriceComponent.FIXED, Decimal("0.30"))
    assert price.excl_vat == Decimal("0.35")
    with pytest.raises(ValueError, match="spot"):
        swedish().energy_price(None, NOON, STHLM)


def test_groups_at_cost_markup_and_fixed() -> None:
    """Household at cost; guest + 0.10 + 20 % of the price; neighbour a fixed 2.40."""
    tariff = full_tariff()
    spot = Decimal("1.00")
    at_cost = tariff.energy_price(spot, NOON, STHLM, tariff.groups[GROUP_HOUSEHOLD])
    assert at_cost.excl_vat == Decimal("2.039")  # 1.00 + 0.05 + 0.439 + 0.55
    guest = tariff.energy_price(spot, NOON, STHLM, tariff.groups[GROUP_GUEST])
    # markup: 0.10 + 0.2 x 2.039 = 0.5078
    assert dict(guest.components)[PriceComponent.GROUP_MARKUP] == Decimal("0.5078")
    assert guest.excl_vat == Decimal("2.5468")
    neighbour = tariff.energy_price(spot, NOON, STHLM, tariff.groups["neighbour"])
    assert neighbour.components == ((PriceComponent.GROUP_PRICE, Decimal("2.40")),)
    assert not tariff.needs_spot(tariff.groups["neighbour"])


def test_unknown_or_missing_group_falls_back_to_the_default_group() -> None:
    """A member's group the tariff does not know (or none) is priced as the default group."""
    tariff = full_tariff()
    assert tariff.resolve_group(None) == (GROUP_HOUSEHOLD, TariffGroup())
    assert tariff.resolve_group("work")[0] == GROUP_HOUSEHOLD
    assert tariff.resolve_group("neighbour")[0] == "neighbour"


def test_default_groups() -> None:
    """Built in: household and company car at cost without fees; guests pay the fees."""
    groups = Tariff(currency="SEK", fallback_price=Decimal(1)).groups
    assert set(groups) == {GROUP_HOUSEHOLD, GROUP_GUEST, GROUP_COMPANY_CAR}
    assert not groups[GROUP_HOUSEHOLD].operator_fees
    assert groups[GROUP_GUEST].operator_fees
    assert groups[GROUP_COMPANY_CAR].mode is TariffGroupMode.AT_COST


def test_json_round_trip_is_exact() -> None:
    """to_dict is JSON-safe (Decimals as strings) and from_dict gives the same tariff back."""
    tariff = full_tariff()
    assert tariff.problems() == ()
    stored = json.loads(json.dumps(tariff.to_dict()))
    assert stored["supplier_markup"] == "0.05"
    assert Tariff.from_dict(stored) == tariff
    assert Tariff.from_dict(swedish().to_dict()) == swedish()


def test_from_dict_accepts_numbers_and_defaults() -> None:
    """A minimal form: numbers as numbers, everything else default."""
    tariff = Tariff.from_dict({"currency": "sek", "fallback_price": 1.5, "vat_rate": 0.25})
    assert tariff.currency == "SEK"
    assert tariff.fallback_price == Decimal("1.5")
    assert tariff.vat_rate == Decimal("0.25")
    assert tariff.groups[GROUP_GUEST].operator_fees


def test_validation_names_every_problem() -> None:
    """All problems at once, each with its field and a code the options flow can translate."""
    with pytest.raises(TariffError) as err:
        Tariff.from_dict(
            {
                "currency": "SEK",
                "energy": "spot",
                "supplier_markup": "-0.05",
                "energy_tax": "lots",
                "vat_rate": 25,
                "fast_charging": {"per_speed_class": {"warp": 1}, "power_threshold_w": 0},
                "idle_fee": {"grace_minutes": "ten"},
                "demand": {"connectors": 2, "busy_above": 2},
                "time_of_day": {"default": 0, "windows": [{"days": "all", "start": "06:05"}]},
                "groups": {"guest": {"mode": "fixed"}, "vip": {"mode": "free"}},
                "default_group": "household",
            }
        )
    problems = {(p.field, p.code) for p in err.value.problems}
    assert problems == {
        ("energy_tax", "not_a_number"),
        ("fast_charging.per_speed_class.warp", "unknown_choice"),
        ("idle_fee.grace_minutes", "not_an_integer"),
        ("idle_fee.per_minute", "required"),
        ("time_of_day", "invalid_schedule"),
        ("groups.vip.mode", "unknown_choice"),
        ("supplier_markup", "negative"),
        ("fallback_price", "required"),
        ("vat_rate", "out_of_range"),
        ("demand.busy_above", "out_of_range"),
        ("groups.guest.fixed_per_kwh", "required"),
        ("default_group", "unknown_choice"),  # the groups given replace the built-in ones
    }
    # The same checks on a tariff made in code.
    tariff = Tariff(
        currency="kronor",
        supplier_markup=Decimal("-0.05"),
        vat_rate=Decimal(25),
        fast_charging=FastChargingSurcharge(power_threshold_w=0),
        demand=DemandPricing(connectors=2, busy_above=2),
        groups=MappingProxyType({"guest": TariffGroup(mode=TariffGroupMode.FIXED)}),
    )
    semantic = {(p.field, p.code) for p in tariff.problems()}
    assert semantic == {
        ("currency", "invalid"),
        ("fallback_price", "required"),
        ("supplier_markup", "negative"),
        ("vat_rate", "out_of_range"),
        ("fast_charging.power_threshold_w", "out_of_range"),
        ("demand.busy_above", "out_of_range"),
        ("default_group", "unknown_choice"),
        ("groups.guest.fixed_per_kwh", "required"),
    }
    with pytest.raises(TariffError, match="vat_rate: a fraction"):
        tariff.check()
    messages = [str(p) for p in tariff.problems()]
    assert "vat_rate: a fraction (0.25 for 25 %), got 25" in messages


def test_fixed_pricing_requires_its_price_and_surcharge_schedules_are_not_negative() -> None:
    """A fixed tariff without price, and a negative time-of-day surcharge, are refused."""
    tariff = Tariff(
        currency="SEK",
        energy=EnergyPricing.FIXED,
        time_of_day=TouSchedule(default=Decimal("-1")),
    )
    assert {(p.field, p.code) for p in tariff.problems()} == {
        ("fixed_price", "required"),
        ("time_of_day", "negative"),
    }
