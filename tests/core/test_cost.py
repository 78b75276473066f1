"""Session cost: every slot at its own interval's price, itemized, reconciling (issue 12).

The expected amounts are worked out by hand in each test, not with the code under test.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
import json
from zoneinfo import ZoneInfo

from hypothesis import given, settings, strategies as st
import pytest

from custom_components.ev_sessions.core import (
    ALL_DAYS,
    FALLBACK_PRICE_SOURCE,
    GROUP_COMPANY_CAR,
    GROUP_GUEST,
    GROUP_HOUSEHOLD,
    CostError,
    CostLineKind,
    DemandPricing,
    EnergySlot,
    FastChargingSurcharge,
    IdleFee,
    PriceInterval,
    SessionCost,
    SessionFacts,
    SpeedClass,
    Tariff,
    TariffGroup,
    TariffGroupMode,
    TouSchedule,
    TouWindow,
    fixed_prices,
    minor_unit,
    price_session,
    round_money,
)

STHLM = ZoneInfo("Europe/Stockholm")
FETCHED = datetime(2026, 1, 1, tzinfo=UTC)
QUARTER = timedelta(minutes=15)
HOUR = timedelta(hours=1)
SID = "s-1"


def slot(start: datetime, wh: int, max_w: float | None = None, sid: str = SID) -> EnergySlot:
    """A closed slot of the test's session."""
    return EnergySlot(session_id=sid, start=start, energy_wh=wh, max_power_w=max_w)


def price(
    start: datetime,
    value: str,
    *,
    length: timedelta = HOUR,
    currency: str = "SEK",
    estimated: bool = False,
) -> PriceInterval:
    """A price of the Nordpool sensor."""
    return PriceInterval(
        source="sensor.nordpool",
        start=start,
        length=length,
        price=Decimal(value),
        currency=currency,
        fetched_at=FETCHED,
        estimated=estimated,
    )


def swedish(**changes: object) -> Tariff:
    """Spot + 0.05 markup + 0.439 energy tax + 0.25 grid fee, 25 % VAT, fallback 1.50."""
    base: dict[str, object] = {
        "currency": "SEK",
        "fallback_price": Decimal("1.50"),
        "supplier_markup": Decimal("0.05"),
        "energy_tax": Decimal("0.439"),
        "grid_fee": Decimal("0.25"),
        "vat_rate": Decimal("0.25"),
    }
    base.update(changes)
    return Tariff(**base)  # type: ignore[arg-type]


T18 = datetime(2026, 1, 12, 18, 0, tzinfo=UTC)


def test_multi_slot_session_by_hand() -> None:
    """Four slots over two hourly prices, each at its own hour's price.

    Unit prices excl. VAT:
      18:00 UTC: 1.20 + 0.05 + 0.439 + 0.25 = 1.939
      19:00 UTC: 0.80 + 0.05 + 0.439 + 0.25 = 1.539
    Lines (rounded to öre, half up):
      18:30  2750 Wh x 1.939 / 1000 = 5.33225  -> 5.33
      18:45  2750 Wh x 1.939 / 1000 = 5.33225  -> 5.33
      19:00  2600 Wh x 1.539 / 1000 = 4.0014   -> 4.00
      19:15  1234 Wh x 1.539 / 1000 = 1.899126 -> 1.90
    Excl. VAT 5.33 + 5.33 + 4.00 + 1.90 = 16.56; VAT 16.56 x 0.25 = 4.14; total 20.70.
    """
    slots = [
        slot(T18 + 2 * QUARTER, 2750),
        slot(T18 + 3 * QUARTER, 2750),
        slot(T18 + HOUR, 2600),
        slot(T18 + HOUR + QUARTER, 1234),
    ]
    prices = [price(T18, "1.20"), price(T18 + HOUR, "0.80")]
    cost = price_session(slots, prices, swedish(), None, SessionFacts(energy_wh=9334, tz=STHLM))
    energy = cost.energy_lines
    assert [(line.start, line.energy_wh) for line in energy] == [
        (T18 + 2 * QUARTER, 2750),
        (T18 + 3 * QUARTER, 2750),
        (T18 + HOUR, 2600),
        (T18 + HOUR + QUARTER, 1234),
    ]
    assert [line.unit_price for line in energy] == [Decimal("1.939")] * 2 + [Decimal("1.539")] * 2
    assert [line.amount for line in energy] == [
        Decimal("5.33"),
        Decimal("5.33"),
        Decimal("4.00"),
        Decimal("1.90"),
    ]
    assert energy[0].components == (
        ("spot", Decimal("1.20")),
        ("supplier_markup", Decimal("0.05")),
        ("energy_tax", Decimal("0.439")),
        ("grid_fee", Decimal("0.25")),
    )
    assert {line.source for line in energy} == {"sensor.nordpool"}
    assert cost.amount_excl_vat == Decimal("16.56")
    assert cost.vat == Decimal("4.14")
    assert cost.total == Decimal("20.70")
    assert cost.lines[-1].kind is CostLineKind.VAT
    assert cost.lines[-1].quantity == Decimal("16.56")
    assert cost.energy_wh == 9334
    assert cost.session_id == SID
    assert cost.group == GROUP_HOUSEHOLD
    assert not cost.estimated
    assert cost.claimable is None
    assert cost.problems() == []
    # Average incl. VAT: 20.70 / 9.334 kWh.
    assert cost.average_price_per_kwh == Decimal("20.70") * 1000 / 9334


def test_rounding_is_half_up_per_line_and_on_vat() -> None:
    """1000 Wh at 1.225 = 1.225 -> 1.23 (half up, not 1.22); VAT 1.23 x 0.25 = 0.3075 -> 0.31."""
    tariff = Tariff(currency="SEK", fallback_price=Decimal(0), vat_rate=Decimal("0.25"))
    cost = price_session([slot(T18, 1000)], [price(T18, "1.225")], tariff, None, SessionFacts())
    assert cost.energy_lines[0].amount == Decimal("1.23")
    assert cost.vat == Decimal("0.31")
    assert cost.total == Decimal("1.54")


def test_currency_minor_units() -> None:
    """JPY has no minor unit, KWD three decimals, SEK and unknown codes two."""
    assert (minor_unit("JPY"), minor_unit("KWD"), minor_unit("SEK"), minor_unit("XYZ")) == (
        0,
        3,
        2,
        2,
    )
    assert round_money(Decimal("38.5"), "JPY") == Decimal(39)
    assert round_money(Decimal("1.0005"), "KWD") == Decimal("1.001")
    # 1234 Wh at 31.5 JPY/kWh = 38.871 -> 39 yen.
    tariff = Tariff(currency="JPY", fallback_price=Decimal(0))
    prices = [price(T18, "31.5", currency="JPY")]
    cost = price_session([slot(T18, 1234)], prices, tariff, None)
    assert cost.total == Decimal(39)


def test_missing_price_uses_the_fallback_and_marks_estimated() -> None:
    """19:00 has no price: 1.50 stands in for the spot, the line and the session are estimated.

    18:00: 1000 Wh x (1.00 + 0.739) = 1.739 -> 1.74
    19:00: 1000 Wh x (1.50 + 0.739) = 2.239 -> 2.24 (estimated)
    """
    slots = [slot(T18, 1000), slot(T18 + HOUR, 1000)]
    cost = price_session(slots, [price(T18, "1.00")], swedish(), None)
    first, second = cost.energy_lines
    assert (first.amount, first.estimated, first.source) == (
        Decimal("1.74"),
        False,
        "sensor.nordpool",
    )
    assert (second.amount, second.estimated, second.source) == (
        Decimal("2.24"),
        True,
        FALLBACK_PRICE_SOURCE,
    )
    assert second.components[0] == ("spot", Decimal("1.50"))
    assert cost.estimated


def test_an_estimated_interval_or_another_currency_marks_estimated() -> None:
    """A price stored as an estimate keeps the line estimated; a EUR price is no SEK price."""
    cost = price_session([slot(T18, 1000)], [price(T18, "1.00", estimated=True)], swedish(), None)
    assert cost.estimated
    assert cost.energy_lines[0].unit_price == Decimal("1.739")
    cost = price_session([slot(T18, 1000)], [price(T18, "0.10", currency="EUR")], swedish(), None)
    assert cost.estimated
    assert cost.energy_lines[0].source == FALLBACK_PRICE_SOURCE


def test_slots_without_energy_give_no_line_and_are_never_estimated() -> None:
    """A slot with 0 Wh (nothing drawn) has no line, so its missing price does not matter."""
    cost = price_session([slot(T18, 1000), slot(T18 + HOUR, 0)], [price(T18, "1")], swedish(), None)
    assert len(cost.energy_lines) == 1
    assert not cost.estimated


def test_reconciliation_errors() -> None:
    """Slots not adding up to the session, of two sessions, or negative: refused."""
    with pytest.raises(CostError, match="2000 Wh, the session 2001 Wh"):
        price_session(
            [slot(T18, 1000), slot(T18 + QUARTER, 1000)],
            [],
            swedish(),
            None,
            SessionFacts(energy_wh=2001),
        )
    with pytest.raises(CostError, match="several sessions"):
        price_session([slot(T18, 1), slot(T18 + QUARTER, 1, sid="s-2")], [], swedish(), None)
    with pytest.raises(CostError, match="negative"):
        price_session([slot(T18, -1)], [], swedish(), None)


def test_a_late_slot_with_the_same_start_is_a_line_of_its_own() -> None:
    """Energy after the session ended is a second slot with the last slot's start: both priced."""
    slots = [slot(T18, 1000), slot(T18, 10)]
    cost = price_session(slots, [price(T18, "1.00")], swedish(), None, SessionFacts(energy_wh=1010))
    assert [line.energy_wh for line in cost.energy_lines] == [1000, 10]
    # 10 Wh x 1.739 = 0.01739 -> 0.02
    assert [line.amount for line in cost.energy_lines] == [Decimal("1.74"), Decimal("0.02")]


def operator_tariff() -> Tariff:
    """Spot only (no markup, tax or grid fee), 25 % VAT, every operator surcharge and fee."""
    return Tariff(
        currency="SEK",
        fallback_price=Decimal("2.00"),
        vat_rate=Decimal("0.25"),
        fast_charging=FastChargingSurcharge(
            per_speed_class={SpeedClass.FAST: Decimal("0.50")},
            power_threshold_w=11000,
            above_threshold_per_kwh=Decimal("0.30"),
        ),
        time_of_day=TouSchedule(
            default=Decimal(0),
            windows=(
                TouWindow(days=ALL_DAYS, start=time(17), end=time(20), price=Decimal("0.20")),
            ),
        ),
        session_fee=Decimal("5.00"),
        idle_fee=IdleFee(per_minute=Decimal("0.10"), grace_minutes=30, max_amount=Decimal(20)),
        demand=DemandPricing(
            connectors=4,
            busy_above=2,
            surcharge_per_kwh=Decimal("0.40"),
            low_demand=TouSchedule(
                default=Decimal(0),
                windows=(
                    TouWindow(days=ALL_DAYS, start=time(0), end=time(6), price=Decimal("0.15")),
                ),
            ),
        ),
        groups={
            GROUP_HOUSEHOLD: TariffGroup(),
            GROUP_GUEST: TariffGroup(mode=TariffGroupMode.MARKUP, operator_fees=True),
            "neighbour": TariffGroup(
                mode=TariffGroupMode.FIXED, fixed_per_kwh=Decimal("2.40"), operator_fees=True
            ),
            GROUP_COMPANY_CAR: TariffGroup(reimbursement_per_kwh=Decimal("2.50")),
        },
    )


# Monday 2026-01-12, Stockholm on CET (UTC+1).
A = datetime(2026, 1, 12, 16, 45, tzinfo=UTC)  # 17:45 local
B = datetime(2026, 1, 12, 17, 0, tzinfo=UTC)  # 18:00 local
C = datetime(2026, 1, 12, 17, 15, tzinfo=UTC)  # 18:15 local
D = datetime(2026, 1, 12, 23, 0, tzinfo=UTC)  # 00:00 local, Tuesday
SLOTS = [slot(A, 3000, 11000), slot(B, 2750, 22000), slot(C, 2750, 22000), slot(D, 1600, 7000)]
FACTS = SessionFacts(
    energy_wh=10100,
    speed_class=SpeedClass.FAST,
    charging_finished_at=datetime(2026, 1, 12, 23, 15, tzinfo=UTC),
    unplugged_at=datetime(2026, 1, 13, 0, 27, 30, tzinfo=UTC),
    busy_connectors={B: 2, C: 3, D: 1},
    tz=STHLM,
)


def spot_one() -> tuple[PriceInterval, ...]:
    """1.00 SEK/kWh all day."""
    return fixed_prices(
        Decimal("1.00"), A - HOUR, D + HOUR, currency="SEK", fetched_at=FETCHED, source="spot"
    )


def test_guest_pays_every_surcharge_and_fee_by_hand() -> None:
    """Energy at 1.00/kWh: A 3.00, B 2.75, C 2.75, D 1.60 = 10.10 (10100 Wh). Then:

    fast (speed class FAST)  10100 Wh x 0.50 = 5.05
    fast (above 11000 W)     B + C = 5500 Wh x 0.30 = 1.65 (A at exactly 11000 W is not above)
    time of day 17-20 local  A + B + C = 8500 Wh x 0.20 = 1.70
    demand (> 2 of 4 busy)   C = 2750 Wh x 0.40 = 1.10
    low demand 00-06 local   D = 1600 Wh x -0.15 = -0.24
    session fee              5.00
    idle fee                 unplugged 72.5 min after finishing, minus 30 grace = 42 whole
                             minutes x 0.10 = 4.20
    excl. VAT 10.10 + 5.05 + 1.65 + 1.70 + 1.10 - 0.24 + 5.00 + 4.20 = 28.56
    VAT 28.56 x 0.25 = 7.14; total 35.70
    """
    cost = price_session(SLOTS, spot_one(), operator_tariff(), GROUP_GUEST, FACTS)
    lines = [(line.kind, line.energy_wh, line.unit_price, line.amount) for line in cost.lines]
    assert lines == [
        (CostLineKind.ENERGY, 3000, Decimal("1.00"), Decimal("3.00")),
        (CostLineKind.ENERGY, 2750, Decimal("1.00"), Decimal("2.75")),
        (CostLineKind.ENERGY, 2750, Decimal("1.00"), Decimal("2.75")),
        (CostLineKind.ENERGY, 1600, Decimal("1.00"), Decimal("1.60")),
        (CostLineKind.FAST_CHARGING, 10100, Decimal("0.50"), Decimal("5.05")),
        (CostLineKind.FAST_CHARGING, 5500, Decimal("0.30"), Decimal("1.65")),
        (CostLineKind.TIME_OF_DAY, 8500, Decimal("0.20"), Decimal("1.70")),
        (CostLineKind.DEMAND, 2750, Decimal("0.40"), Decimal("1.10")),
        (CostLineKind.LOW_DEMAND_DISCOUNT, 1600, Decimal("-0.15"), Decimal("-0.24")),
        (CostLineKind.SESSION_FEE, None, Decimal("5.00"), Decimal("5.00")),
        (CostLineKind.IDLE_FEE, None, Decimal("0.10"), Decimal("4.20")),
        (CostLineKind.VAT, None, Decimal("0.25"), Decimal("7.14")),
    ]
    assert cost.lines[-2].quantity == Decimal(42)
    assert cost.amount_excl_vat == Decimal("28.56")
    assert cost.total == Decimal("35.70")
    assert cost.group == GROUP_GUEST
    assert cost.problems() == []


def test_household_pays_at_cost_without_operator_fees() -> None:
    """Energy only: 10.10; VAT 2.525 -> 2.53 (half up); total 12.63."""
    cost = price_session(SLOTS, spot_one(), operator_tariff(), GROUP_HOUSEHOLD, FACTS)
    assert {line.kind for line in cost.lines} == {CostLineKind.ENERGY, CostLineKind.VAT}
    assert cost.amount_excl_vat == Decimal("10.10")
    assert cost.vat == Decimal("2.53")
    assert cost.total == Decimal("12.63")
    assert cost.claimable is None
    # A group the tariff does not know is priced as the default group (household).
    assert price_session(SLOTS, spot_one(), operator_tariff(), "work", FACTS).total == cost.total


def test_company_car_keeps_cost_and_claimable() -> None:
    """At cost 12.63 incl. VAT; claimable 10100 Wh x 2.50 = 25.25 kept beside it."""
    cost = price_session(SLOTS, spot_one(), operator_tariff(), GROUP_COMPANY_CAR, FACTS)
    assert cost.total == Decimal("12.63")
    assert cost.claimable == Decimal("25.25")
    assert cost.group == GROUP_COMPANY_CAR


def test_fixed_price_group_ignores_the_spot_and_missing_prices() -> None:
    """Neighbour at 2.40/kWh: 7.20 + 6.60 + 6.60 + 3.84 = 24.24 energy, never estimated."""
    cost = price_session(SLOTS, [], operator_tariff(), "neighbour", FACTS)
    assert [line.amount for line in cost.energy_lines] == [
        Decimal("7.20"),
        Decimal("6.60"),
        Decimal("6.60"),
        Decimal("3.84"),
    ]
    assert not cost.estimated
    # + the same surcharges and fees as the guest: 28.56 - 10.10 = 18.46 -> 42.70 excl. VAT.
    assert cost.amount_excl_vat == Decimal("42.70")


def test_idle_fee_cap_grace_and_live() -> None:
    """Capped at 20.00; inside the grace none; while plugged in it runs to ``as_of``."""
    finished = datetime(2026, 1, 12, 23, 15, tzinfo=UTC)
    tariff = operator_tariff()

    def idle_amount(**facts: object) -> Decimal | None:
        cost = price_session(
            [slot(D, 1000)],
            spot_one(),
            tariff,
            GROUP_GUEST,
            SessionFacts(charging_finished_at=finished, tz=STHLM, **facts),  # type: ignore[arg-type]
        )
        fees = [line.amount for line in cost.lines if line.kind is CostLineKind.IDLE_FEE]
        return fees[0] if fees else None

    # Overnight: 7 h 45 min = 465 min - 30 = 435 min x 0.10 = 43.50 -> capped 20.00.
    assert idle_amount(unplugged_at=finished + timedelta(hours=7, minutes=45)) == Decimal("20")
    assert idle_amount(unplugged_at=finished + timedelta(minutes=30)) is None
    # 30 min 59 s: 0 whole minutes after the grace.
    assert idle_amount(unplugged_at=finished + timedelta(minutes=30, seconds=59)) is None
    assert idle_amount(as_of=finished + timedelta(minutes=45)) == Decimal("1.50")
    assert idle_amount() is None  # still plugged in, no live time given


def test_demand_surcharge_needs_a_busy_count() -> None:
    """Slots without a busy count get no demand surcharge; more than N busy do."""
    cost = price_session([slot(B, 1000)], spot_one(), operator_tariff(), GROUP_GUEST)
    assert CostLineKind.DEMAND not in {line.kind for line in cost.lines}
    facts = SessionFacts(busy_connectors={B: 4})
    cost = price_session([slot(B, 1000)], spot_one(), operator_tariff(), GROUP_GUEST, facts)
    assert [line.amount for line in cost.lines if line.kind is CostLineKind.DEMAND] == [
        Decimal("0.40")
    ]


def test_session_without_energy_has_no_session_fee() -> None:
    """A session that drew nothing pays no session fee (it may still pay an idle fee)."""
    cost = price_session(
        [], spot_one(), operator_tariff(), GROUP_GUEST, SessionFacts(session_id=SID)
    )
    assert cost.lines == ()
    assert cost.total == Decimal(0)
    assert cost.session_id == SID


def test_json_round_trip_is_exact_and_tampering_is_refused() -> None:
    """to_dict -> JSON -> from_dict gives the same cost; a total that does not add up is refused."""
    cost = price_session(SLOTS, spot_one(), operator_tariff(), GROUP_GUEST, FACTS)
    stored = json.loads(json.dumps(cost.to_dict()))
    assert stored["total"] == "35.70"
    assert stored["lines"][0]["start"] == "2026-01-12T16:45:00+00:00"
    assert SessionCost.from_dict(stored) == cost
    stored["total"] = "35.71"
    with pytest.raises(ValueError, match="do not add up"):
        SessionCost.from_dict(stored)
    stored = json.loads(json.dumps(cost.to_dict()))
    stored["lines"][0]["amount"] = 3.0
    with pytest.raises(ValueError, match="not a decimal string"):
        SessionCost.from_dict(stored)
    stored = json.loads(json.dumps(cost.to_dict()))
    stored["lines"][0]["start"] = "2026-01-12T16:45:00"
    with pytest.raises(ValueError, match="no time zone"):
        SessionCost.from_dict(stored)
    stored["lines"] = 5
    with pytest.raises(ValueError, match="malformed"):
        SessionCost.from_dict(stored)


# --- properties ----------------------------------------------------------------------------------

money = st.decimals(min_value=0, max_value=5, places=4, allow_nan=False, allow_infinity=False)


@st.composite
def sessions(
    draw: st.DrawFn,
) -> tuple[list[EnergySlot], list[PriceInterval], Tariff, str, SessionFacts]:
    """Random slots, prices (some missing, some hourly), tariff components >= 0 and a group."""
    currency = draw(st.sampled_from(["SEK", "JPY", "KWD"]))
    quarters = draw(st.lists(st.integers(0, 191), max_size=24, unique=True))
    t0 = datetime(2026, 3, 28, 20, 0, tzinfo=UTC)  # across the spring DST night in Stockholm
    slots = [
        EnergySlot(
            session_id=SID,
            start=t0 + q * QUARTER,
            energy_wh=draw(st.integers(0, 25000)),
            max_power_w=draw(st.none() | st.floats(0, 50000)),
        )
        for q in quarters
    ]
    prices = [
        PriceInterval(
            source="p",
            start=t0 + q * QUARTER,
            length=QUARTER,
            price=draw(money),
            currency=currency,
            fetched_at=FETCHED,
            estimated=draw(st.booleans()),
        )
        for q in range(192)
        if draw(st.booleans())
    ]
    surcharge = TouSchedule(
        default=draw(money),
        windows=(TouWindow(days=ALL_DAYS, start=time(17), end=time(20), price=draw(money)),),
    )
    tariff = Tariff(
        currency=currency,
        fallback_price=draw(money),
        supplier_markup=draw(money),
        energy_tax=draw(money),
        grid_fee=draw(money),
        grid_fee_schedule=draw(st.none() | st.just(surcharge)),
        vat_rate=draw(st.decimals(min_value=0, max_value="0.3", places=3)),
        fast_charging=FastChargingSurcharge(
            per_speed_class={SpeedClass.FAST: draw(money)},
            power_threshold_w=11000,
            above_threshold_per_kwh=draw(money),
        ),
        time_of_day=surcharge,
        session_fee=draw(money),
        idle_fee=IdleFee(per_minute=draw(money), grace_minutes=draw(st.integers(0, 60))),
        demand=DemandPricing(connectors=4, busy_above=2, surcharge_per_kwh=draw(money)),
        groups={
            GROUP_HOUSEHOLD: TariffGroup(),
            GROUP_GUEST: TariffGroup(
                mode=TariffGroupMode.MARKUP,
                markup_per_kwh=draw(money),
                markup_rate=draw(st.decimals(min_value=0, max_value=1, places=2)),
                operator_fees=True,
            ),
            GROUP_COMPANY_CAR: TariffGroup(reimbursement_per_kwh=draw(money)),
        },
    )
    finished = t0 + draw(st.integers(0, 48 * 60)) * timedelta(minutes=1)
    facts = SessionFacts(
        energy_wh=sum(s.energy_wh for s in slots),
        speed_class=draw(st.sampled_from(list(SpeedClass))),
        charging_finished_at=finished,
        unplugged_at=finished + draw(st.integers(0, 10**6)) * timedelta(seconds=1),
        busy_connectors={s.start: draw(st.integers(0, 4)) for s in slots},
        tz=STHLM,
    )
    group = draw(st.sampled_from([GROUP_HOUSEHOLD, GROUP_GUEST, GROUP_COMPANY_CAR, "other"]))
    return slots, prices, tariff, group, facts


@settings(max_examples=80, deadline=None)
@given(sessions())
def test_property_lines_add_up_exactly_and_are_rounded(
    case: tuple[list[EnergySlot], list[PriceInterval], Tariff, str, SessionFacts],
) -> None:
    """Sum of lines == total; total >= 0 with components >= 0; every amount in minor units;
    energy lines' Wh == the slots' Wh; the JSON form reads back equal."""
    slots, prices, tariff, group, facts = case
    assert tariff.problems() == ()
    cost = price_session(slots, prices, tariff, group, facts)
    quantum = Decimal(1).scaleb(-minor_unit(tariff.currency))
    assert sum((line.amount for line in cost.lines), Decimal(0)) == cost.total
    assert cost.amount_excl_vat + cost.vat == cost.total
    assert cost.total >= 0
    for line in cost.lines:
        assert line.amount == line.amount.quantize(quantum)
        assert line.amount.as_tuple().exponent >= -minor_unit(tariff.currency)
    assert sum(line.energy_wh or 0 for line in cost.energy_lines) == facts.energy_wh
    assert cost.energy_wh == facts.energy_wh
    assert cost.problems() == []
    assert SessionCost.from_dict(json.loads(json.dumps(cost.to_dict()))) == cost
