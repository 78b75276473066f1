"""The cost of a session: every slot's Wh at the price of its own interval, itemized.

:func:`price_session` prices a session's :class:`EnergySlot` values with the prices as they were
stored and a :class:`Tariff`, and returns a :class:`SessionCost` of itemized :class:`CostLine`
values: one energy line per slot that drew energy, the operator's surcharge and fee lines, and a
VAT line.

Rounding happens at two documented points only, always to the currency's minor unit
(:func:`minor_unit`, ISO 4217) with ROUND_HALF_UP:

1. each line's amount (energy: Wh x unit price / 1000; surcharges: their Wh x rate / 1000; fees);
2. the VAT line: the sum of the rounded lines before it x the VAT rate.

Unit prices are never rounded. The totals are sums of rounded lines and need no rounding, so the
sum of the lines is the total exactly; the claimable amount of a company car (Wh x rate / 1000) is
rounded once. Reconciliation: the energy lines' Wh add up to the session's Wh.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import ROUND_HALF_UP, Decimal, localcontext
from enum import StrEnum
from types import MappingProxyType
from typing import Any

from .model import SpeedClass
from .prices import PriceInterval, PriceSeries, to_decimal
from .slots import EnergySlot
from .tariff import Tariff, TariffGroup

_ZERO = Decimal(0)

#: The version of :meth:`SessionCost.to_dict`'s form.
COST_FORMAT = 1
#: The ``source`` of an energy line priced with the tariff's fallback price.
FALLBACK_PRICE_SOURCE = "fallback"
#: ISO 4217 minor units of the currencies whose minor unit is not 2 (every other currency: 2).
MINOR_UNITS: Mapping[str, int] = MappingProxyType(
    {
        "BHD": 3, "BIF": 0, "CLF": 4, "CLP": 0, "DJF": 0, "GNF": 0, "IQD": 3, "ISK": 0, "JOD": 3,
        "JPY": 0, "KMF": 0, "KRW": 0, "KWD": 3, "LYD": 3, "OMR": 3, "PYG": 0, "RWF": 0, "TND": 3,
        "UGX": 0, "UYI": 0, "UYW": 4, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
    }
)  # fmt: skip
_PRECISION = 60  # digits for the unrounded arithmetic: far beyond any price times any energy
_MINUTE = timedelta(minutes=1)


def minor_unit(currency: str) -> int:
    """The number of decimals of ``currency`` (ISO 4217; 2 when not listed in ``MINOR_UNITS``)."""
    return MINOR_UNITS.get(currency.upper(), 2)


def round_money(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded half-up to the minor unit of ``currency``."""
    with localcontext(prec=_PRECISION):
        return amount.quantize(Decimal(1).scaleb(-minor_unit(currency)), rounding=ROUND_HALF_UP)


class CostLineKind(StrEnum):
    """What a cost line charges for."""

    ENERGY = "energy"  # one slot's Wh at that slot's unit price
    FAST_CHARGING = "fast_charging"  # per kWh: the speed class, or slots above the power threshold
    TIME_OF_DAY = "time_of_day"  # per kWh in the surcharge's windows
    DEMAND = "demand"  # per kWh of slots with more than N of M connectors busy
    LOW_DEMAND_DISCOUNT = "low_demand_discount"  # per kWh in low-demand hours (negative amount)
    SESSION_FEE = "session_fee"
    IDLE_FEE = "idle_fee"  # per whole minute plugged in after charging finished and the grace
    VAT = "vat"  # the VAT on every line before it


class CostError(ValueError):
    """Slots that cannot be priced as given (mixed sessions, negative or unreconciled Wh)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CostLine:
    """One line of a session's bill (``amount`` excl. VAT except for the VAT line itself).

    * energy: ``start`` the slot, ``energy_wh``, ``unit_price`` per kWh excl. VAT with its
      ``components``, ``source`` the price interval's source (``"fallback"`` when none);
    * per-kWh surcharges: ``energy_wh`` charged and ``unit_price`` per kWh (negative: discount);
    * idle fee: ``quantity`` minutes at ``unit_price`` per minute (capped at the tariff's maximum);
    * session fee: ``quantity`` 1 at ``unit_price``;
    * VAT: ``quantity`` the amount it is levied on, ``unit_price`` the rate.
    """

    kind: CostLineKind
    amount: Decimal
    start: datetime | None = None
    energy_wh: int | None = None
    quantity: Decimal | None = None
    unit_price: Decimal | None = None
    components: tuple[tuple[str, Decimal], ...] = ()
    estimated: bool = False
    source: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (Decimals as strings, times ISO 8601)."""
        return {
            "kind": self.kind.value,
            "amount": str(self.amount),
            "start": None if self.start is None else self.start.isoformat(),
            "energy_wh": self.energy_wh,
            "quantity": None if self.quantity is None else str(self.quantity),
            "unit_price": None if self.unit_price is None else str(self.unit_price),
            "components": [[name, str(value)] for name, value in self.components],
            "estimated": self.estimated,
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> CostLine:
        """Read :meth:`to_dict`'s form exactly; ``ValueError`` when it cannot be read."""
        start = data.get("start")
        energy_wh = data.get("energy_wh")
        if energy_wh is not None and (
            not isinstance(energy_wh, int) or isinstance(energy_wh, bool)
        ):
            raise ValueError(f"energy_wh: not a whole number: {energy_wh!r}")
        return cls(
            kind=CostLineKind(data["kind"]),
            amount=_exact(data.get("amount"), "amount"),
            start=None if start is None else _time(start),
            energy_wh=energy_wh,
            quantity=_optional_exact(data.get("quantity"), "quantity"),
            unit_price=_optional_exact(data.get("unit_price"), "unit_price"),
            components=tuple(
                (str(name), _exact(value, f"components.{name}"))
                for name, value in data.get("components", ())
            ),
            estimated=bool(data.get("estimated", False)),
            source=data.get("source"),
        )


def _exact(value: object, where: str) -> Decimal:
    if not isinstance(value, str):
        raise ValueError(f"{where}: not a decimal string: {value!r}")
    number = to_decimal(value)
    if number is None:
        raise ValueError(f"{where}: not a number: {value!r}")
    return number


def _time(value: object) -> datetime:
    if not isinstance(value, str):
        raise ValueError(f"start: not an ISO time: {value!r}")
    at = datetime.fromisoformat(value)
    if at.tzinfo is None:
        raise ValueError(f"start: no time zone: {value!r}")
    return at


def _optional_exact(value: object, where: str) -> Decimal | None:
    return None if value is None else _exact(value, where)


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionFacts:
    """What pricing needs to know about a session beyond its slots.

    * ``energy_wh`` - the session's metered Wh: when given, the slots must add up to it exactly;
    * ``speed_class`` - for the fast-charging surcharge per speed class;
    * ``charging_finished_at``, ``unplugged_at`` - for the idle fee; while still plugged in, the
      idle fee runs to ``as_of`` (a live cost), or is left out when ``as_of`` is not given;
    * ``busy_connectors`` - per slot start, how many of the site's connectors were busy (demand
      pricing; a slot without a count gets no demand surcharge);
    * ``tz`` - the site's time zone, in which time-of-use windows are read.
    """

    session_id: str | None = None
    energy_wh: int | None = None
    speed_class: SpeedClass | None = None
    charging_finished_at: datetime | None = None
    unplugged_at: datetime | None = None
    as_of: datetime | None = None
    busy_connectors: Mapping[datetime, int] = field(default_factory=lambda: MappingProxyType({}))
    tz: tzinfo = UTC


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionCost:
    """A session's itemized cost (see the module docstring for the rounding points).

    ``amount_excl_vat`` is the sum of the lines before VAT, ``vat`` the VAT line, ``total`` the sum
    of all lines. ``claimable`` is a company car's reimbursement (``None`` for other groups).
    ``estimated`` is set when any energy line used a fallback price.
    """

    session_id: str
    currency: str
    group: str
    vat_rate: Decimal
    lines: tuple[CostLine, ...]
    energy_wh: int
    amount_excl_vat: Decimal
    vat: Decimal
    total: Decimal
    claimable: Decimal | None = None
    estimated: bool = False

    @property
    def energy_lines(self) -> tuple[CostLine, ...]:
        """The energy lines, one per slot that drew energy, in time order."""
        return tuple(line for line in self.lines if line.kind is CostLineKind.ENERGY)

    @property
    def average_price_per_kwh(self) -> Decimal | None:
        """The total incl. VAT per kWh (in the current decimal context), ``None`` without energy."""
        if not self.energy_wh:
            return None
        return self.total * 1000 / self.energy_wh

    def problems(self) -> list[str]:
        """Broken invariants (empty for a cost made by :func:`price_session`)."""
        found: list[str] = []
        quantum = Decimal(1).scaleb(-minor_unit(self.currency))
        for index, line in enumerate(self.lines):
            if line.amount != line.amount.quantize(quantum):
                found.append(f"lines[{index}].amount {line.amount} is not in minor units")
        if sum((line.amount for line in self.lines), _ZERO) != self.total:
            found.append("the lines do not add up to the total")
        if self.amount_excl_vat + self.vat != self.total:
            found.append("amount excl. VAT + VAT is not the total")
        if sum(line.energy_wh or 0 for line in self.energy_lines) != self.energy_wh:
            found.append("the energy lines do not add up to the session's Wh")
        if self.estimated != any(line.estimated for line in self.lines):
            found.append("estimated does not match the lines")
        return found

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (Decimals as strings), read back exactly by :meth:`from_dict`."""
        return {
            "version": COST_FORMAT,
            "session_id": self.session_id,
            "currency": self.currency,
            "group": self.group,
            "vat_rate": str(self.vat_rate),
            "lines": [line.to_dict() for line in self.lines],
            "energy_wh": self.energy_wh,
            "amount_excl_vat": str(self.amount_excl_vat),
            "vat": str(self.vat),
            "total": str(self.total),
            "claimable": None if self.claimable is None else str(self.claimable),
            "estimated": self.estimated,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SessionCost:
        """Read :meth:`to_dict`'s form; ``ValueError`` when unreadable or not reconciling."""
        if data.get("version") != COST_FORMAT:
            raise ValueError(f"unknown cost format {data.get('version')!r}")
        energy_wh = data.get("energy_wh")
        if not isinstance(energy_wh, int) or isinstance(energy_wh, bool):
            raise ValueError(f"energy_wh: not a whole number: {energy_wh!r}")
        try:
            cost = cls(
                session_id=str(data["session_id"]),
                currency=str(data["currency"]),
                group=str(data["group"]),
                vat_rate=_exact(data.get("vat_rate"), "vat_rate"),
                lines=tuple(CostLine.from_dict(line) for line in data["lines"]),
                energy_wh=energy_wh,
                amount_excl_vat=_exact(data.get("amount_excl_vat"), "amount_excl_vat"),
                vat=_exact(data.get("vat"), "vat"),
                total=_exact(data.get("total"), "total"),
                claimable=_optional_exact(data.get("claimable"), "claimable"),
                estimated=bool(data.get("estimated", False)),
            )
        except KeyError as err:
            raise ValueError(f"missing {err}") from None
        except (TypeError, AttributeError) as err:
            raise ValueError(f"malformed cost: {err}") from None
        if found := cost.problems():
            raise ValueError("; ".join(found))
        return cost


# --- pricing -------------------------------------------------------------------------------------


def price_session(
    slots: Iterable[EnergySlot],
    prices: PriceSeries | Iterable[PriceInterval],
    tariff: Tariff,
    group: str | None,
    facts: SessionFacts | None = None,
) -> SessionCost:
    """The itemized cost of the session whose slots are ``slots``.

    Each slot that drew energy is priced with the interval of ``prices`` containing its start (in
    the tariff's currency); without one, the tariff's ``fallback_price`` stands in for the spot
    price and the line is estimated. ``group`` is the member's tariff group (``None``, or a group
    the tariff does not define: its default group). Two slots may share a start (energy that
    arrived after the session ended is a slot of its own): each is a line. Raises
    :class:`CostError` for slots of several sessions, negative Wh, or Wh not adding up to
    ``facts.energy_wh``.
    """
    facts = facts or SessionFacts()
    ordered = _checked_slots(slots, facts)
    series = prices if isinstance(prices, PriceSeries) else PriceSeries(prices)
    group_name, rules = tariff.resolve_group(group)
    currency = tariff.currency
    with localcontext(prec=_PRECISION):
        lines = [
            _energy_line(slot, series, tariff, rules, facts.tz)
            for slot in ordered
            if slot.energy_wh
        ]
        if rules.operator_fees:
            lines += _surcharge_lines(ordered, tariff, facts)
            lines += _fee_lines(ordered, tariff, facts)
        amount_excl_vat = sum((line.amount for line in lines), _ZERO)
        vat = round_money(amount_excl_vat * tariff.vat_rate, currency)
        if tariff.vat_rate and lines:
            lines.append(
                CostLine(
                    kind=CostLineKind.VAT,
                    amount=vat,
                    quantity=amount_excl_vat,
                    unit_price=tariff.vat_rate,
                )
            )
        energy_wh = sum(slot.energy_wh for slot in ordered)
        claimable = None
        if rules.reimbursement_per_kwh is not None:
            claimable = _per_kwh(energy_wh, rules.reimbursement_per_kwh, currency)
    return SessionCost(
        session_id=facts.session_id or (ordered[0].session_id if ordered else ""),
        currency=currency,
        group=group_name,
        vat_rate=tariff.vat_rate,
        lines=tuple(lines),
        energy_wh=energy_wh,
        amount_excl_vat=amount_excl_vat,
        vat=vat,
        total=amount_excl_vat + vat,
        claimable=claimable,
        estimated=any(line.estimated for line in lines),
    )


def _checked_slots(slots: Iterable[EnergySlot], facts: SessionFacts) -> list[EnergySlot]:
    ordered = sorted(slots, key=lambda slot: slot.start)  # stable: equal starts keep their order
    ids = {slot.session_id for slot in ordered}
    if facts.session_id is not None:
        ids.add(facts.session_id)
    if len(ids) > 1:
        raise CostError(f"slots of several sessions: {sorted(ids)}")
    for slot in ordered:
        if slot.energy_wh < 0:
            raise CostError(f"slot {slot.start.isoformat()} has negative energy {slot.energy_wh}")
    energy_wh = sum(slot.energy_wh for slot in ordered)
    if facts.energy_wh is not None and energy_wh != facts.energy_wh:
        raise CostError(f"the slots hold {energy_wh} Wh, the session {facts.energy_wh} Wh")
    return ordered


def _per_kwh(energy_wh: int, rate: Decimal, currency: str) -> Decimal:
    """``energy_wh`` at ``rate`` per kWh, rounded (a rounding point: one line amount)."""
    return round_money(Decimal(energy_wh) * rate / 1000, currency)


def _spot_for(slot: EnergySlot, series: PriceSeries, tariff: Tariff) -> tuple[Decimal, str, bool]:
    """The spot price of ``slot``, its source and whether it is estimated."""
    interval = series.at(slot.start)
    if interval is not None and interval.currency == tariff.currency:
        return interval.price, interval.source, interval.estimated
    if tariff.fallback_price is None:
        raise CostError(f"no price for {slot.start.isoformat()} and no fallback price configured")
    return tariff.fallback_price, FALLBACK_PRICE_SOURCE, True


def _energy_line(
    slot: EnergySlot, series: PriceSeries, tariff: Tariff, group: TariffGroup, tz: tzinfo
) -> CostLine:
    if tariff.needs_spot(group):
        spot: Decimal | None
        spot, source, estimated = _spot_for(slot, series, tariff)
    else:
        spot, source, estimated = None, "tariff", False
    price = tariff.energy_price(spot, slot.start, tz, group)
    unit = price.excl_vat
    return CostLine(
        kind=CostLineKind.ENERGY,
        amount=_per_kwh(slot.energy_wh, unit, tariff.currency),
        start=slot.start,
        energy_wh=slot.energy_wh,
        unit_price=unit,
        components=tuple((str(name), value) for name, value in price.components),
        estimated=estimated,
        source=source,
    )


def _per_kwh_lines(
    kind: CostLineKind, charged: Iterable[tuple[EnergySlot, Decimal]], currency: str
) -> list[CostLine]:
    """One line per distinct rate: the Wh of the slots charged at it (rate 0 left out)."""
    by_rate: dict[Decimal, int] = {}
    for slot, rate in charged:
        if rate and slot.energy_wh:
            by_rate[rate] = by_rate.get(rate, 0) + slot.energy_wh
    return [
        CostLine(
            kind=kind,
            amount=_per_kwh(energy_wh, rate, currency),
            energy_wh=energy_wh,
            unit_price=rate,
        )
        for rate, energy_wh in by_rate.items()
    ]


def _surcharge_lines(
    slots: list[EnergySlot], tariff: Tariff, facts: SessionFacts
) -> list[CostLine]:
    lines: list[CostLine] = []
    currency = tariff.currency
    fast = tariff.fast_charging
    if fast is not None:
        rate = fast.per_speed_class.get(facts.speed_class) if facts.speed_class else None
        if rate:
            lines += _per_kwh_lines(
                CostLineKind.FAST_CHARGING, ((s, rate) for s in slots), currency
            )
        threshold = fast.power_threshold_w
        if threshold is not None and fast.above_threshold_per_kwh:
            above = [
                (slot, fast.above_threshold_per_kwh)
                for slot in slots
                if slot.max_power_w is not None and slot.max_power_w > threshold
            ]
            lines += _per_kwh_lines(CostLineKind.FAST_CHARGING, above, currency)
    if tariff.time_of_day is not None:
        schedule = tariff.time_of_day
        charged = ((slot, schedule.price_at(slot.start, facts.tz)) for slot in slots)
        lines += _per_kwh_lines(CostLineKind.TIME_OF_DAY, charged, currency)
    demand = tariff.demand
    if demand is not None:
        busy = [
            (slot, demand.surcharge_per_kwh)
            for slot in slots
            if facts.busy_connectors.get(slot.start, 0) > demand.busy_above
        ]
        lines += _per_kwh_lines(CostLineKind.DEMAND, busy, currency)
        if demand.low_demand is not None:
            low = demand.low_demand
            discounts = ((slot, -low.price_at(slot.start, facts.tz)) for slot in slots)
            lines += _per_kwh_lines(CostLineKind.LOW_DEMAND_DISCOUNT, discounts, currency)
    return lines


def idle_minutes(finished_at: datetime | None, until: datetime | None, grace_minutes: int) -> int:
    """Whole minutes plugged in after charging finished and the grace period (0 when unknown)."""
    if finished_at is None or until is None:
        return 0
    idle = until - finished_at - grace_minutes * _MINUTE
    return max(idle // _MINUTE, 0)


def _fee_lines(slots: list[EnergySlot], tariff: Tariff, facts: SessionFacts) -> list[CostLine]:
    lines: list[CostLine] = []
    currency = tariff.currency
    if tariff.session_fee and any(slot.energy_wh for slot in slots):
        lines.append(
            CostLine(
                kind=CostLineKind.SESSION_FEE,
                amount=round_money(tariff.session_fee, currency),
                quantity=Decimal(1),
                unit_price=tariff.session_fee,
            )
        )
    idle = tariff.idle_fee
    if idle is not None and idle.per_minute:
        until = facts.unplugged_at or facts.as_of
        minutes = idle_minutes(facts.charging_finished_at, until, idle.grace_minutes)
        if minutes:
            amount = minutes * idle.per_minute
            if idle.max_amount is not None:
                amount = min(amount, idle.max_amount)
            lines.append(
                CostLine(
                    kind=CostLineKind.IDLE_FEE,
                    amount=round_money(amount, currency),
                    quantity=Decimal(minutes),
                    unit_price=idle.per_minute,
                )
            )
    return lines


__all__ = [
    "COST_FORMAT",
    "FALLBACK_PRICE_SOURCE",
    "MINOR_UNITS",
    "CostError",
    "CostLine",
    "CostLineKind",
    "SessionCost",
    "SessionFacts",
    "idle_minutes",
    "minor_unit",
    "price_session",
    "round_money",
]
