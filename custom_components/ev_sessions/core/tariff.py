"""What a kWh and a session cost: the tariff as configuration (stored as JSON in the hub options).

The price of a kWh (excl. VAT) is the sum of its components: the spot price (or a fixed energy
price), the supplier markup, the energy tax and the grid fee (a constant, or its own time-of-use
schedule). VAT is added on top: (spot + markup + tax + grid fee) x (1 + VAT). Every amount in a
tariff is **excl. VAT**, per kWh unless named otherwise.

On top of the energy the operator of a shared charger may add surcharges and fees
(:class:`FastChargingSurcharge`, a time-of-day surcharge, a fee per session, an :class:`IdleFee`,
:class:`DemandPricing`). Who pays what depends on the member's tariff group
(:class:`TariffGroup`): a household member pays at cost, a guest with a markup or a fixed price
per kWh, a company car at cost with a claimable amount at a fixed reimbursement rate.

A :class:`Tariff` is checked with :meth:`Tariff.problems` (each a :class:`TariffProblem` naming the
field); :meth:`Tariff.from_dict` raises :class:`TariffError` with all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from decimal import Decimal
from enum import StrEnum
import re
from types import MappingProxyType
from typing import Any

from .model import SpeedClass
from .prices import TouSchedule, TouScheduleError, to_decimal

_ZERO = Decimal(0)
#: The built-in tariff groups (members carry one in ``Member.tariff_group``; ``None`` = default).
GROUP_HOUSEHOLD = "household"
GROUP_GUEST = "guest"
GROUP_COMPANY_CAR = "company_car"
#: The version of :meth:`Tariff.to_dict`'s form.
TARIFF_FORMAT = 1


class EnergyPricing(StrEnum):
    """Where the energy part of a kWh's price comes from."""

    SPOT = "spot"  # the price series of the site's price source
    FIXED = "fixed"  # one fixed price per kWh (``Tariff.fixed_price``)


class TariffGroupMode(StrEnum):
    """How a tariff group pays for a kWh."""

    AT_COST = "at_cost"  # the tariff's price of the kWh
    MARKUP = "markup"  # at cost plus a markup (per kWh and/or a share of the price)
    FIXED = "fixed"  # a fixed price per kWh instead of all components


class PriceComponent(StrEnum):
    """The named parts of a kWh's price (excl. VAT)."""

    SPOT = "spot"
    FIXED = "fixed"
    SUPPLIER_MARKUP = "supplier_markup"
    ENERGY_TAX = "energy_tax"
    GRID_FEE = "grid_fee"
    GROUP_MARKUP = "group_markup"
    GROUP_PRICE = "group_price"


@dataclass(frozen=True, slots=True)
class EnergyPrice:
    """The price of one kWh at one moment: its components (excl. VAT) and the VAT rate."""

    components: tuple[tuple[PriceComponent, Decimal], ...]
    vat_rate: Decimal

    @property
    def excl_vat(self) -> Decimal:
        """The sum of the components (not rounded)."""
        return sum((value for _, value in self.components), _ZERO)

    @property
    def incl_vat(self) -> Decimal:
        """The price with VAT (not rounded)."""
        return self.excl_vat * (1 + self.vat_rate)


@dataclass(frozen=True, slots=True, kw_only=True)
class TariffGroup:
    """What one tariff group pays.

    * ``mode`` - at cost, with a markup (``markup_per_kwh`` plus ``markup_rate`` x the positive
      price), or a ``fixed_per_kwh`` price replacing every component;
    * ``reimbursement_per_kwh`` - a company car's fixed reimbursement rate: the claimable amount is
      kept beside the cost;
    * ``operator_fees`` - whether the operator's surcharges and fees apply to this group.
    """

    mode: TariffGroupMode = TariffGroupMode.AT_COST
    markup_per_kwh: Decimal = _ZERO
    markup_rate: Decimal = _ZERO
    fixed_per_kwh: Decimal | None = None
    reimbursement_per_kwh: Decimal | None = None
    operator_fees: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "mode": self.mode.value,
            "markup_per_kwh": str(self.markup_per_kwh),
            "markup_rate": str(self.markup_rate),
            "fixed_per_kwh": _text(self.fixed_per_kwh),
            "reimbursement_per_kwh": _text(self.reimbursement_per_kwh),
            "operator_fees": self.operator_fees,
        }


def default_tariff_groups() -> Mapping[str, TariffGroup]:
    """Household at cost; guest at cost with the operator's fees; company car at cost."""
    return MappingProxyType(
        {
            GROUP_HOUSEHOLD: TariffGroup(),
            GROUP_GUEST: TariffGroup(mode=TariffGroupMode.MARKUP, operator_fees=True),
            GROUP_COMPANY_CAR: TariffGroup(),
        }
    )


@dataclass(frozen=True, slots=True, kw_only=True)
class FastChargingSurcharge:
    """A surcharge per kWh for fast charging: by the session's speed class, and/or on the energy of
    every slot whose highest power exceeded ``power_threshold_w`` (both may apply)."""

    per_speed_class: Mapping[SpeedClass, Decimal] = field(
        default_factory=lambda: MappingProxyType({})
    )
    power_threshold_w: int | None = None
    above_threshold_per_kwh: Decimal = _ZERO

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "per_speed_class": {k.value: str(v) for k, v in self.per_speed_class.items()},
            "power_threshold_w": self.power_threshold_w,
            "above_threshold_per_kwh": str(self.above_threshold_per_kwh),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class IdleFee:
    """A fee per whole minute a car stays plugged in after charging finished, after a grace period,
    up to ``max_amount`` (excl. VAT) when set."""

    per_minute: Decimal
    grace_minutes: int = 0
    max_amount: Decimal | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "per_minute": str(self.per_minute),
            "grace_minutes": self.grace_minutes,
            "max_amount": _text(self.max_amount),
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class DemandPricing:
    """Demand-based pricing for shared chargers.

    A surcharge per kWh on the energy of slots in which more than ``busy_above`` of the site's
    ``connectors`` were busy (the busy counts per slot are an input of pricing), and a discount per
    kWh in low-demand hours (``low_demand``: a schedule of discounts, 0 outside those hours).
    """

    connectors: int
    busy_above: int
    surcharge_per_kwh: Decimal = _ZERO
    low_demand: TouSchedule | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "connectors": self.connectors,
            "busy_above": self.busy_above,
            "surcharge_per_kwh": str(self.surcharge_per_kwh),
            "low_demand": None if self.low_demand is None else self.low_demand.to_dict(),
        }


@dataclass(frozen=True, slots=True)
class TariffProblem:
    """One thing wrong with a tariff: the field (dotted path), a code and a readable message.

    Codes: ``required``, ``not_a_number``, ``not_an_integer``, ``negative``, ``out_of_range``,
    ``unknown_choice``, ``invalid_schedule``, ``not_an_object``, ``invalid``.
    """

    field: str
    code: str
    message: str

    def __str__(self) -> str:
        """``field: message``."""
        return f"{self.field}: {self.message}"


class TariffError(ValueError):
    """A tariff that cannot be used; ``problems`` lists every reason."""

    def __init__(self, problems: tuple[TariffProblem, ...]) -> None:
        """Carry every problem found."""
        super().__init__("; ".join(map(str, problems)))
        self.problems = problems


@dataclass(frozen=True, slots=True, kw_only=True)
class Tariff:
    """The price of a kWh and the operator's surcharges and fees, per tariff group.

    Amounts are excl. VAT, per kWh unless named otherwise. ``fallback_price`` stands in for the spot
    price of a slot the price source has no price for (the cost is then marked estimated).
    ``time_of_day`` is a surcharge per kWh by local time (0 outside its windows).
    """

    currency: str
    energy: EnergyPricing = EnergyPricing.SPOT
    fixed_price: Decimal | None = None
    fallback_price: Decimal | None = None
    supplier_markup: Decimal = _ZERO
    energy_tax: Decimal = _ZERO
    grid_fee: Decimal = _ZERO
    grid_fee_schedule: TouSchedule | None = None
    vat_rate: Decimal = _ZERO
    fast_charging: FastChargingSurcharge | None = None
    time_of_day: TouSchedule | None = None
    session_fee: Decimal = _ZERO
    idle_fee: IdleFee | None = None
    demand: DemandPricing | None = None
    groups: Mapping[str, TariffGroup] = field(default_factory=default_tariff_groups)
    default_group: str = GROUP_HOUSEHOLD

    # --- pricing ---------------------------------------------------------------------------------

    def resolve_group(self, name: str | None) -> tuple[str, TariffGroup]:
        """The group named ``name``; the default group for ``None`` or a name not configured."""
        if name is not None and name in self.groups:
            return name, self.groups[name]
        return self.default_group, self.groups.get(self.default_group, TariffGroup())

    def needs_spot(self, group: TariffGroup) -> bool:
        """Whether a kWh's price for ``group`` depends on the spot price."""
        return group.mode is not TariffGroupMode.FIXED and self.energy is EnergyPricing.SPOT

    def energy_price(
        self, spot: Decimal | None, at: datetime, tz: tzinfo, group: TariffGroup | None = None
    ) -> EnergyPrice:
        """The price of a kWh at ``at`` for ``group`` (default group when ``None``).

        ``spot`` is the source's price at ``at`` (ignored unless :meth:`needs_spot`; required then).
        """
        group = self.resolve_group(None)[1] if group is None else group
        if group.mode is TariffGroupMode.FIXED:
            fixed = group.fixed_per_kwh if group.fixed_per_kwh is not None else _ZERO
            return EnergyPrice(((PriceComponent.GROUP_PRICE, fixed),), self.vat_rate)
        if self.energy is EnergyPricing.FIXED:
            base: tuple[PriceComponent, Decimal] = (PriceComponent.FIXED, self.fixed_price or _ZERO)
        elif spot is None:
            raise ValueError("the spot price is needed for spot pricing")
        else:
            base = (PriceComponent.SPOT, spot)
        grid_fee = (
            self.grid_fee
            if self.grid_fee_schedule is None
            else self.grid_fee_schedule.price_at(at, tz)
        )
        components = [
            base,
            (PriceComponent.SUPPLIER_MARKUP, self.supplier_markup),
            (PriceComponent.ENERGY_TAX, self.energy_tax),
            (PriceComponent.GRID_FEE, grid_fee),
        ]
        if group.mode is TariffGroupMode.MARKUP:
            at_cost = sum((value for _, value in components), _ZERO)
            markup = group.markup_per_kwh + group.markup_rate * max(at_cost, _ZERO)
            components.append((PriceComponent.GROUP_MARKUP, markup))
        return EnergyPrice(tuple(components), self.vat_rate)

    # --- validation ------------------------------------------------------------------------------

    def problems(self) -> tuple[TariffProblem, ...]:
        """Everything wrong with this tariff (empty when it can be used)."""
        found: list[TariffProblem] = []
        if not re.fullmatch(r"[A-Z]{3}", self.currency):
            found.append(
                TariffProblem("currency", "invalid", f"not an ISO 4217 code: {self.currency!r}")
            )
        if self.energy is EnergyPricing.FIXED and self.fixed_price is None:
            found.append(TariffProblem("fixed_price", "required", "needed for a fixed price"))
        if self.energy is EnergyPricing.SPOT and self.fallback_price is None:
            found.append(
                TariffProblem(
                    "fallback_price",
                    "required",
                    "needed for spot pricing (used when a price is missing)",
                )
            )
        for name in ("fixed_price", "fallback_price", "supplier_markup", "energy_tax", "grid_fee"):
            _not_negative(found, name, getattr(self, name))
        _not_negative(found, "session_fee", self.session_fee)
        if not _ZERO <= self.vat_rate < 1:
            found.append(
                TariffProblem(
                    "vat_rate", "out_of_range", f"a fraction (0.25 for 25 %), got {self.vat_rate}"
                )
            )
        _schedule_problems(found, "grid_fee_schedule", self.grid_fee_schedule)
        _schedule_problems(found, "time_of_day", self.time_of_day)
        found += _fast_charging_problems(self.fast_charging)
        found += _idle_fee_problems(self.idle_fee)
        found += _demand_problems(self.demand)
        found += _group_problems(self.groups, self.default_group)
        return tuple(found)

    def check(self) -> Tariff:
        """This tariff, or :class:`TariffError` with every problem."""
        if found := self.problems():
            raise TariffError(found)
        return self

    # --- JSON ------------------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (Decimals as strings), read back by :meth:`from_dict`."""
        return {
            "version": TARIFF_FORMAT,
            "currency": self.currency,
            "energy": self.energy.value,
            "fixed_price": _text(self.fixed_price),
            "fallback_price": _text(self.fallback_price),
            "supplier_markup": str(self.supplier_markup),
            "energy_tax": str(self.energy_tax),
            "grid_fee": str(self.grid_fee),
            "grid_fee_schedule": _schedule_dict(self.grid_fee_schedule),
            "vat_rate": str(self.vat_rate),
            "fast_charging": None if self.fast_charging is None else self.fast_charging.to_dict(),
            "time_of_day": _schedule_dict(self.time_of_day),
            "session_fee": str(self.session_fee),
            "idle_fee": None if self.idle_fee is None else self.idle_fee.to_dict(),
            "demand": None if self.demand is None else self.demand.to_dict(),
            "groups": {name: group.to_dict() for name, group in self.groups.items()},
            "default_group": self.default_group,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Tariff:
        """Read :meth:`to_dict`'s form (missing keys take their defaults; numbers may be numbers
        or strings); raise :class:`TariffError` with every problem found: what cannot be read,
        and what is wrong with the rest (:meth:`problems`)."""
        reader = _Reader(data)
        currency = reader.text("currency", required=True)
        tariff = cls(
            currency=currency.upper(),
            energy=reader.choice("energy", EnergyPricing, EnergyPricing.SPOT),
            fixed_price=reader.optional_decimal("fixed_price"),
            fallback_price=reader.optional_decimal("fallback_price"),
            supplier_markup=reader.decimal("supplier_markup"),
            energy_tax=reader.decimal("energy_tax"),
            grid_fee=reader.decimal("grid_fee"),
            grid_fee_schedule=reader.schedule("grid_fee_schedule"),
            vat_rate=reader.decimal("vat_rate"),
            fast_charging=reader.nested("fast_charging", _read_fast_charging),
            time_of_day=reader.schedule("time_of_day"),
            session_fee=reader.decimal("session_fee"),
            idle_fee=reader.nested("idle_fee", _read_idle_fee),
            demand=reader.nested("demand", _read_demand),
            groups=reader.groups("groups"),
            default_group=reader.text("default_group") or GROUP_HOUSEHOLD,
        )
        unreadable = {problem.field for problem in reader.problems}
        found = [*reader.problems]
        found += (p for p in tariff.problems() if p.field not in unreadable)
        if found:
            raise TariffError(tuple(found))
        return tariff


# --- helpers -------------------------------------------------------------------------------------


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _schedule_dict(schedule: TouSchedule | None) -> dict[str, Any] | None:
    return None if schedule is None else schedule.to_dict()


def _not_negative(found: list[TariffProblem], name: str, value: Decimal | None) -> None:
    if value is not None and value < 0:
        found.append(TariffProblem(name, "negative", f"must not be negative, got {value}"))


def _schedule_problems(found: list[TariffProblem], name: str, schedule: TouSchedule | None) -> None:
    """A schedule's own problems, and negative amounts (surcharges, fees and discounts are >= 0)."""
    if schedule is None:
        return
    found.extend(TariffProblem(name, "invalid_schedule", p) for p in schedule.problems())
    values = [schedule.default, *(w.price for w in schedule.windows)]
    for season in schedule.seasons:
        values += [season.default, *(w.price for w in season.windows)]
    if any(value < 0 for value in values):
        found.append(TariffProblem(name, "negative", "a price in the schedule is negative"))


def _fast_charging_problems(fast: FastChargingSurcharge | None) -> list[TariffProblem]:
    found: list[TariffProblem] = []
    if fast is None:
        return found
    for speed, value in fast.per_speed_class.items():
        _not_negative(found, f"fast_charging.per_speed_class.{speed}", value)
    if fast.power_threshold_w is not None and fast.power_threshold_w <= 0:
        found.append(
            TariffProblem(
                "fast_charging.power_threshold_w", "out_of_range", "must be more than 0 W"
            )
        )
    _not_negative(found, "fast_charging.above_threshold_per_kwh", fast.above_threshold_per_kwh)
    return found


def _idle_fee_problems(idle: IdleFee | None) -> list[TariffProblem]:
    found: list[TariffProblem] = []
    if idle is None:
        return found
    _not_negative(found, "idle_fee.per_minute", idle.per_minute)
    _not_negative(found, "idle_fee.max_amount", idle.max_amount)
    if idle.grace_minutes < 0:
        found.append(TariffProblem("idle_fee.grace_minutes", "negative", "must not be negative"))
    return found


def _demand_problems(demand: DemandPricing | None) -> list[TariffProblem]:
    found: list[TariffProblem] = []
    if demand is None:
        return found
    if demand.connectors < 1:
        found.append(TariffProblem("demand.connectors", "out_of_range", "at least one connector"))
    if not 0 <= demand.busy_above < demand.connectors:
        found.append(
            TariffProblem(
                "demand.busy_above",
                "out_of_range",
                f"between 0 and {max(demand.connectors - 1, 0)} (fewer than the connectors)",
            )
        )
    _not_negative(found, "demand.surcharge_per_kwh", demand.surcharge_per_kwh)
    _schedule_problems(found, "demand.low_demand", demand.low_demand)
    return found


def _group_problems(groups: Mapping[str, TariffGroup], default: str) -> list[TariffProblem]:
    found: list[TariffProblem] = []
    if default not in groups:
        choices = ", ".join(sorted(groups)) or "none"
        found.append(
            TariffProblem(
                "default_group", "unknown_choice", f"{default!r} is not a group ({choices})"
            )
        )
    for name, group in groups.items():
        where = f"groups.{name}"
        if not name.strip():
            found.append(TariffProblem(where, "invalid", "a group needs a name"))
        if group.mode is TariffGroupMode.FIXED and group.fixed_per_kwh is None:
            found.append(
                TariffProblem(f"{where}.fixed_per_kwh", "required", "needed for a fixed price")
            )
        _not_negative(found, f"{where}.markup_per_kwh", group.markup_per_kwh)
        _not_negative(found, f"{where}.markup_rate", group.markup_rate)
        _not_negative(found, f"{where}.fixed_per_kwh", group.fixed_per_kwh)
        _not_negative(found, f"{where}.reimbursement_per_kwh", group.reimbursement_per_kwh)
    return found


class _Reader:
    """Reads a tariff's JSON form, collecting every problem instead of stopping at the first."""

    def __init__(self, data: Mapping[str, Any], prefix: str = "") -> None:
        self.data = data
        self.prefix = prefix
        self.problems: list[TariffProblem] = []

    def _where(self, key: str) -> str:
        return f"{self.prefix}{key}"

    def add(self, key: str, code: str, message: str) -> None:
        self.problems.append(TariffProblem(self._where(key), code, message))

    def text(self, key: str, *, required: bool = False) -> str:
        value = self.data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.add(key, "required", "missing")
            return ""
        if not isinstance(value, str):
            self.add(key, "invalid", f"not a text: {value!r}")
            return ""
        return value.strip()

    def optional_decimal(self, key: str) -> Decimal | None:
        value = self.data.get(key)
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        number = to_decimal(value)
        if number is None:
            self.add(key, "not_a_number", f"not a number: {value!r}")
        return number

    def decimal(self, key: str, default: Decimal = _ZERO) -> Decimal:
        number = self.optional_decimal(key)
        return default if number is None else number

    def integer(self, key: str, default: int | None = None) -> int | None:
        value = self.data.get(key)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            self.add(key, "not_an_integer", f"not a whole number: {value!r}")
            return default
        try:
            return int(value)
        except ValueError:
            self.add(key, "not_an_integer", f"not a whole number: {value!r}")
            return default

    def choice[E: StrEnum](self, key: str, enum: type[E], default: E) -> E:
        value = self.data.get(key)
        if value is None:
            return default
        try:
            return enum(value)
        except ValueError:
            choices = ", ".join(member.value for member in enum)
            self.add(key, "unknown_choice", f"{value!r} is not one of {choices}")
            return default

    def schedule(self, key: str) -> TouSchedule | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.add(key, "not_an_object", f"not a schedule: {value!r}")
            return None
        try:
            return TouSchedule.from_dict(value)
        except TouScheduleError as err:
            for problem in err.problems:
                self.add(key, "invalid_schedule", problem)
            return None

    def nested[T](self, key: str, read: Callable[[_Reader], T]) -> T | None:
        value = self.data.get(key)
        if value is None:
            return None
        if not isinstance(value, Mapping):
            self.add(key, "not_an_object", f"not an object: {value!r}")
            return None
        reader = _Reader(value, f"{self._where(key)}.")
        result = read(reader)
        self.problems += reader.problems
        return None if reader.problems else result

    def groups(self, key: str) -> Mapping[str, TariffGroup]:
        value = self.data.get(key)
        if value is None:
            return default_tariff_groups()
        if not isinstance(value, Mapping):
            self.add(key, "not_an_object", f"not an object: {value!r}")
            return default_tariff_groups()
        groups: dict[str, TariffGroup] = {}
        for name, raw in value.items():
            if not isinstance(raw, Mapping):
                self.add(f"{key}.{name}", "not_an_object", f"not an object: {raw!r}")
                continue
            reader = _Reader(raw, f"{self._where(key)}.{name}.")
            groups[str(name)] = _read_group(reader)
            self.problems += reader.problems
        return MappingProxyType(groups)


def _read_group(reader: _Reader) -> TariffGroup:
    operator_fees = reader.data.get("operator_fees", False)
    if not isinstance(operator_fees, bool):
        reader.add("operator_fees", "invalid", f"not true/false: {operator_fees!r}")
        operator_fees = False
    return TariffGroup(
        mode=reader.choice("mode", TariffGroupMode, TariffGroupMode.AT_COST),
        markup_per_kwh=reader.decimal("markup_per_kwh"),
        markup_rate=reader.decimal("markup_rate"),
        fixed_per_kwh=reader.optional_decimal("fixed_per_kwh"),
        reimbursement_per_kwh=reader.optional_decimal("reimbursement_per_kwh"),
        operator_fees=operator_fees,
    )


def _read_fast_charging(reader: _Reader) -> FastChargingSurcharge:
    per_speed: dict[SpeedClass, Decimal] = {}
    raw = reader.data.get("per_speed_class") or {}
    if not isinstance(raw, Mapping):
        reader.add("per_speed_class", "not_an_object", f"not an object: {raw!r}")
        raw = {}
    for key, value in raw.items():
        try:
            speed = SpeedClass(key)
        except ValueError:
            choices = ", ".join(s.value for s in SpeedClass)
            reader.add(f"per_speed_class.{key}", "unknown_choice", f"not one of {choices}")
            continue
        number = to_decimal(value)
        if number is None:
            reader.add(f"per_speed_class.{key}", "not_a_number", f"not a number: {value!r}")
            continue
        per_speed[speed] = number
    return FastChargingSurcharge(
        per_speed_class=MappingProxyType(per_speed),
        power_threshold_w=reader.integer("power_threshold_w"),
        above_threshold_per_kwh=reader.decimal("above_threshold_per_kwh"),
    )


def _read_idle_fee(reader: _Reader) -> IdleFee:
    if reader.data.get("per_minute") is None:
        reader.add("per_minute", "required", "missing")
    return IdleFee(
        per_minute=reader.decimal("per_minute"),
        grace_minutes=reader.integer("grace_minutes", 0) or 0,
        max_amount=reader.optional_decimal("max_amount"),
    )


def _read_demand(reader: _Reader) -> DemandPricing:
    connectors = reader.integer("connectors")
    busy_above = reader.integer("busy_above")
    if connectors is None:
        reader.add("connectors", "required", "missing")
    if busy_above is None:
        reader.add("busy_above", "required", "missing")
    return DemandPricing(
        connectors=connectors or 0,
        busy_above=busy_above or 0,
        surcharge_per_kwh=reader.decimal("surcharge_per_kwh"),
        low_demand=reader.schedule("low_demand"),
    )


__all__ = [
    "GROUP_COMPANY_CAR",
    "GROUP_GUEST",
    "GROUP_HOUSEHOLD",
    "TARIFF_FORMAT",
    "DemandPricing",
    "EnergyPrice",
    "EnergyPricing",
    "FastChargingSurcharge",
    "IdleFee",
    "PriceComponent",
    "Tariff",
    "TariffError",
    "TariffGroup",
    "TariffGroupMode",
    "TariffProblem",
    "default_tariff_groups",
]
