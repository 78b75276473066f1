"""The hub options' "Prices" steps: where prices come from and what a kWh costs on top.

First the source: none, a fixed price, a time-of-use schedule, a price sensor or a price
action. A sensor or an action is read once before anything is saved (test before save): a
source that gives no prices shows an error on its form with what was found. Then the tariff
(fallback price, supplier markup, energy tax, grid fee, VAT, the guest and company-car groups),
with what the source gave in the description. Last the operator's surcharges and fees (a fee per
session, an idle fee, a fast-charging surcharge, a time-of-day surcharge, demand pricing), paid
only by the tariff groups with ``operator_fees`` (guests by default). Both are stored in the hub
options in the core's JSON forms (``price_source``: :meth:`PriceSourceConfig.to_dict`, ``tariff``:
:meth:`Tariff.to_dict`); the price feed follows them without reloading the hub.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
from decimal import Decimal
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry, ConfigFlowResult
from homeassistant.const import CONF_ENTITY_ID
from homeassistant.core import HomeAssistant, SupportsResponse
from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    ObjectSelector,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)
from homeassistant.util import dt as dt_util
import probatio as vol

from .core import (
    GROUP_COMPANY_CAR,
    GROUP_GUEST,
    DemandPricing,
    EnergyPricing,
    FastChargingSurcharge,
    IdleFee,
    PriceSeries,
    PriceSourceOptions,
    PriceUnit,
    SpeedClass,
    Tariff,
    TariffGroup,
    TariffGroupMode,
    TariffProblem,
    TouSchedule,
    TouScheduleError,
    to_decimal,
)
from .price_feed import (
    CONF_PRICE_SOURCE,
    CONF_TARIFF,
    PriceConfig,
    PriceSourceConfig,
    PriceSourceKind,
    SourceRead,
    async_read_once,
    day_summary,
    format_duration,
    price_config,
)

if TYPE_CHECKING:
    from homeassistant.data_entry_flow import FlowHandler

    _Base = FlowHandler[Any, ConfigFlowResult, Any]
else:
    _Base = object

#: Form fields.
CONF_KIND = "kind"
CONF_FIXED_PRICE = "fixed_price"
CONF_SCHEDULE = "schedule"
CONF_ACTION = "action"
CONF_ACTION_DATA = "action_data"
CONF_READ = "read"
CONF_ATTRIBUTES = "attributes"
CONF_ENTRY = "entry"
CONF_START_KEY = "start_key"
CONF_END_KEY = "end_key"
CONF_PRICE_KEY = "price_key"
CONF_UNIT = "unit"
CONF_FALLBACK_PRICE = "fallback_price"
CONF_SUPPLIER_MARKUP = "supplier_markup"
CONF_ENERGY_TAX = "energy_tax"
CONF_GRID_FEE = "grid_fee"
CONF_VAT_PERCENT = "vat_percent"
CONF_GUEST_MODE = "guest_mode"
CONF_GUEST_MARKUP = "guest_markup_per_kwh"
CONF_GUEST_MARKUP_PERCENT = "guest_markup_percent"
CONF_GUEST_FIXED_PRICE = "guest_fixed_price"
CONF_COMPANY_CAR_RATE = "company_car_rate"
CONF_SESSION_FEE = "session_fee"
CONF_IDLE_PER_MINUTE = "idle_fee_per_minute"
CONF_IDLE_GRACE = "idle_fee_grace_minutes"
CONF_IDLE_MAX = "idle_fee_max_amount"
CONF_FAST_PER_CLASS = {speed: f"fast_charging_{speed}_per_kwh" for speed in SpeedClass}
CONF_FAST_THRESHOLD = "fast_charging_threshold_kw"
CONF_FAST_ABOVE = "fast_charging_above_threshold_per_kwh"
CONF_TIME_OF_DAY = "time_of_day"
CONF_DEMAND_CONNECTORS = "demand_connectors"
CONF_DEMAND_BUSY_ABOVE = "demand_busy_above"
CONF_DEMAND_SURCHARGE = "demand_surcharge_per_kwh"
CONF_DEMAND_LOW = "demand_low_demand_discount"
#: The unit choice meaning "recognize it".
UNIT_AUTO = "auto"
#: A time-of-use schedule to start from.
EXAMPLE_SCHEDULE: dict[str, Any] = {
    "default": "1.00",
    "windows": [{"days": "weekdays", "start": "06:00", "end": "22:00", "price": "1.50"}],
    "seasons": [],
}
#: A tariff problem's field -> the form field it belongs to.
_TARIFF_FIELDS = {
    "fallback_price": CONF_FALLBACK_PRICE,
    "supplier_markup": CONF_SUPPLIER_MARKUP,
    "energy_tax": CONF_ENERGY_TAX,
    "grid_fee": CONF_GRID_FEE,
    "vat_rate": CONF_VAT_PERCENT,
    f"groups.{GROUP_GUEST}.markup_per_kwh": CONF_GUEST_MARKUP,
    f"groups.{GROUP_GUEST}.markup_rate": CONF_GUEST_MARKUP_PERCENT,
    f"groups.{GROUP_GUEST}.fixed_per_kwh": CONF_GUEST_FIXED_PRICE,
    f"groups.{GROUP_COMPANY_CAR}.reimbursement_per_kwh": CONF_COMPANY_CAR_RATE,
}
#: A fee or surcharge problem's field -> the fees form field it belongs to.
_FEE_FIELDS = {
    "session_fee": CONF_SESSION_FEE,
    "idle_fee.per_minute": CONF_IDLE_PER_MINUTE,
    "idle_fee.grace_minutes": CONF_IDLE_GRACE,
    "idle_fee.max_amount": CONF_IDLE_MAX,
    **{f"fast_charging.per_speed_class.{s}": key for s, key in CONF_FAST_PER_CLASS.items()},
    "fast_charging.power_threshold_w": CONF_FAST_THRESHOLD,
    "fast_charging.above_threshold_per_kwh": CONF_FAST_ABOVE,
    "time_of_day": CONF_TIME_OF_DAY,
    "demand.connectors": CONF_DEMAND_CONNECTORS,
    "demand.busy_above": CONF_DEMAND_BUSY_ABOVE,
    "demand.surcharge_per_kwh": CONF_DEMAND_SURCHARGE,
    "demand.low_demand": CONF_DEMAND_LOW,
}
#: A tariff problem's code -> the form error.
_TARIFF_ERRORS = {
    "required": "required",
    "negative": "must_not_be_negative",
    "out_of_range": "out_of_range",
    "not_a_number": "not_a_number",
    "not_an_integer": "not_an_integer",
    "invalid_schedule": "invalid_schedule",
}
#: The tariff fields the fees step sets (their problems are shown there).
_FEE_GROUPS = frozenset({"session_fee", "idle_fee", "fast_charging", "time_of_day", "demand"})
_HUNDRED = Decimal(100)
_THOUSAND = Decimal(1000)
_MAX_DETAILS = 8


def _money(currency: str, *, per_kwh: bool = True) -> NumberSelector:
    unit = f"{currency}/kWh" if per_kwh else currency
    return NumberSelector(
        NumberSelectorConfig(
            min=0, step="any", mode=NumberSelectorMode.BOX, unit_of_measurement=unit
        )
    )


def _percent() -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            min=0, max=99.99, step="any", mode=NumberSelectorMode.BOX, unit_of_measurement="%"
        )
    )


def _suggested(value: object) -> dict[str, Any]:
    return {"suggested_value": value}


def _number(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _count(minimum: int, unit: str | None = None) -> NumberSelector:
    config = NumberSelectorConfig(min=minimum, step=1, mode=NumberSelectorMode.BOX)
    if unit is not None:
        config["unit_of_measurement"] = unit
    return NumberSelector(config)


def _blank(value: object) -> bool:
    """Whether a form value means "none" (absent, empty text, empty object)."""
    return value is None or value == "" or (isinstance(value, Mapping) and not value)


@dataclass(slots=True)
class _FeesForm:
    """The surcharges-and-fees form being read: its answers, and the errors found reading them
    (each form field's error; the problems' messages for the description)."""

    form: Mapping[str, Any]
    errors: dict[str, str] = field(default_factory=dict)
    details: list[str] = field(default_factory=list)

    def given(self, *keys: str) -> bool:
        """Whether any of ``keys`` has a value."""
        return any(not _blank(self.form.get(key)) for key in keys)

    def amount(self, key: str) -> Decimal | None:
        """An amount (``None`` when empty or not a number, the latter an error)."""
        value = self.form.get(key)
        if _blank(value):
            return None
        number = to_decimal(value)
        if number is None:
            self.errors[key] = "not_a_number"
        return number

    def whole(self, key: str, *, required: bool = False) -> int | None:
        """A whole number (``None`` when empty or not whole, the latter an error)."""
        number = self.amount(key)
        if number is None:
            if required and key not in self.errors:
                self.errors[key] = "required"
            return None
        if number != number.to_integral_value():
            self.errors[key] = "not_an_integer"
            return None
        return int(number)

    def require(self, key: str) -> Decimal | None:
        """An amount that must be given (it belongs with another one that is)."""
        number = self.amount(key)
        if number is None and key not in self.errors:
            self.errors[key] = "required"
        return number

    def schedule(self, key: str) -> TouSchedule | None:
        """A time-of-use schedule (``None`` when empty); its problems go to the details."""
        value = self.form.get(key)
        if _blank(value):
            return None
        if not isinstance(value, Mapping):
            self.errors[key] = "not_an_object"
            return None
        try:
            return TouSchedule.from_dict(value)
        except TouScheduleError as err:
            self.errors[key] = "invalid_schedule"
            self.details += (f"{key}: {problem}" for problem in err.problems)
            return None

    def problem(self, problem: TariffProblem) -> None:
        """A problem :meth:`Tariff.problems` found, on its field (else the form's base)."""
        form_field = _FEE_FIELDS.get(problem.field, "base")
        if form_field not in self.errors:
            code = _TARIFF_ERRORS.get(problem.code, "invalid")
            self.errors[form_field] = "tariff_invalid" if form_field == "base" else code
        self.details.append(str(problem))


def _idle_fee(read: _FeesForm) -> IdleFee | None:
    if not read.given(CONF_IDLE_PER_MINUTE, CONF_IDLE_GRACE, CONF_IDLE_MAX):
        return None
    per_minute = read.require(CONF_IDLE_PER_MINUTE)
    grace = read.whole(CONF_IDLE_GRACE)
    max_amount = read.amount(CONF_IDLE_MAX)
    if per_minute is None:
        return None
    return IdleFee(per_minute=per_minute, grace_minutes=grace or 0, max_amount=max_amount)


def _fast_charging(read: _FeesForm) -> FastChargingSurcharge | None:
    per_class = {
        speed: amount
        for speed, key in CONF_FAST_PER_CLASS.items()
        if (amount := read.amount(key)) is not None
    }
    threshold_w: int | None = None
    above = Decimal(0)
    if read.given(CONF_FAST_THRESHOLD, CONF_FAST_ABOVE):
        threshold_kw = read.require(CONF_FAST_THRESHOLD)
        above = read.require(CONF_FAST_ABOVE) or Decimal(0)
        if threshold_kw is not None:
            threshold_w = int((threshold_kw * _THOUSAND).to_integral_value())
    if not per_class and threshold_w is None:
        return None
    return FastChargingSurcharge(
        per_speed_class=MappingProxyType(per_class),
        power_threshold_w=threshold_w,
        above_threshold_per_kwh=above,
    )


def _demand(read: _FeesForm) -> DemandPricing | None:
    keys = (CONF_DEMAND_CONNECTORS, CONF_DEMAND_BUSY_ABOVE, CONF_DEMAND_SURCHARGE, CONF_DEMAND_LOW)
    if not read.given(*keys):
        return None
    connectors = read.whole(CONF_DEMAND_CONNECTORS, required=True)
    busy_above = read.whole(CONF_DEMAND_BUSY_ABOVE, required=True)
    surcharge = read.amount(CONF_DEMAND_SURCHARGE)
    low_demand = read.schedule(CONF_DEMAND_LOW)
    if connectors is None or busy_above is None:
        return None
    return DemandPricing(
        connectors=connectors,
        busy_above=busy_above,
        surcharge_per_kwh=surcharge or Decimal(0),
        low_demand=low_demand,
    )


def fees_from_form(base: Tariff, form: Mapping[str, Any]) -> tuple[Tariff, _FeesForm]:
    """``base`` with the fees form's surcharges and fees (an empty field: none), checked with
    :meth:`Tariff.problems`; the form's errors and details alongside."""
    read = _FeesForm(form)
    tariff = replace(
        base,
        session_fee=read.amount(CONF_SESSION_FEE) or Decimal(0),
        idle_fee=_idle_fee(read),
        fast_charging=_fast_charging(read),
        time_of_day=read.schedule(CONF_TIME_OF_DAY),
        demand=_demand(read),
    )
    if not read.errors:
        for problem in tariff.problems():
            read.problem(problem)
    return tariff, read


def fees_defaults(tariff: Tariff) -> dict[str, Any]:
    """The fees form's values from ``tariff`` (``None``: empty)."""
    idle, fast, demand = tariff.idle_fee, tariff.fast_charging, tariff.demand
    per_class = fast.per_speed_class if fast is not None else {}
    threshold = None if fast is None else fast.power_threshold_w
    low_demand = None if demand is None else demand.low_demand
    return {
        CONF_SESSION_FEE: _number(tariff.session_fee) if tariff.session_fee else None,
        CONF_IDLE_PER_MINUTE: None if idle is None else _number(idle.per_minute),
        CONF_IDLE_GRACE: None if idle is None or not idle.grace_minutes else idle.grace_minutes,
        CONF_IDLE_MAX: None if idle is None else _number(idle.max_amount),
        **{key: _number(per_class.get(speed)) for speed, key in CONF_FAST_PER_CLASS.items()},
        CONF_FAST_THRESHOLD: None if threshold is None else threshold / 1000,
        CONF_FAST_ABOVE: (
            None if fast is None or threshold is None else _number(fast.above_threshold_per_kwh)
        ),
        CONF_TIME_OF_DAY: None if tariff.time_of_day is None else tariff.time_of_day.to_dict(),
        CONF_DEMAND_CONNECTORS: None if demand is None else demand.connectors,
        CONF_DEMAND_BUSY_ABOVE: None if demand is None else demand.busy_above,
        CONF_DEMAND_SURCHARGE: None if demand is None else _number(demand.surcharge_per_kwh),
        CONF_DEMAND_LOW: None if low_demand is None else low_demand.to_dict(),
    }


def fees_schema(currency: str, defaults: Mapping[str, Any]) -> vol.Schema:
    """The fees form: every field optional (empty = none), pre-filled with ``defaults``."""
    per_kwh = _money(currency)
    selectors: dict[str, Any] = {
        CONF_SESSION_FEE: _money(currency, per_kwh=False),
        CONF_IDLE_PER_MINUTE: NumberSelector(
            NumberSelectorConfig(
                min=0,
                step="any",
                mode=NumberSelectorMode.BOX,
                unit_of_measurement=f"{currency}/min",
            )
        ),
        CONF_IDLE_GRACE: _count(0, "min"),
        CONF_IDLE_MAX: _money(currency, per_kwh=False),
        **dict.fromkeys(CONF_FAST_PER_CLASS.values(), per_kwh),
        CONF_FAST_THRESHOLD: NumberSelector(
            NumberSelectorConfig(
                min=0, step="any", mode=NumberSelectorMode.BOX, unit_of_measurement="kW"
            )
        ),
        CONF_FAST_ABOVE: per_kwh,
        CONF_TIME_OF_DAY: ObjectSelector(),
        CONF_DEMAND_CONNECTORS: _count(1),
        CONF_DEMAND_BUSY_ABOVE: _count(0),
        CONF_DEMAND_SURCHARGE: per_kwh,
        CONF_DEMAND_LOW: ObjectSelector(),
    }
    return vol.Schema(
        {
            vol.Optional(key, description=_suggested(defaults.get(key))): selector
            for key, selector in selectors.items()
        }
    )


def _read_schema(read: PriceSourceOptions) -> vol.Schema:
    """The "how to read it" section: attribute and key names, the unit (blank = guess)."""
    return vol.Schema(
        {
            vol.Optional(
                CONF_ATTRIBUTES, description=_suggested(", ".join(read.attributes))
            ): TextSelector(),
            vol.Optional(CONF_ENTRY, description=_suggested(read.entry)): TextSelector(),
            vol.Optional(CONF_START_KEY, description=_suggested(read.start_key)): TextSelector(),
            vol.Optional(CONF_END_KEY, description=_suggested(read.end_key)): TextSelector(),
            vol.Optional(CONF_PRICE_KEY, description=_suggested(read.price_key)): TextSelector(),
            vol.Required(
                CONF_UNIT, default=UNIT_AUTO if read.unit is None else read.unit.value
            ): SelectSelector(
                SelectSelectorConfig(
                    options=[UNIT_AUTO, *(unit.value for unit in PriceUnit)],
                    mode=SelectSelectorMode.DROPDOWN,
                    translation_key="price_unit",
                )
            ),
        }
    )


def _read_options(data: Mapping[str, Any] | None) -> PriceSourceOptions:
    """The section's answers as :class:`PriceSourceOptions` (blank fields: guess)."""
    data = dict(data or {})
    if data.get(CONF_UNIT) == UNIT_AUTO:
        data[CONF_UNIT] = None
    return PriceSourceOptions.from_dict(data)


def response_actions(hass: HomeAssistant) -> list[str]:
    """Actions that answer with data (candidates for a price action), sorted."""
    return sorted(
        f"{domain}.{service}"
        for domain, services in hass.services.async_services().items()
        for service in services
        if hass.services.supports_response(domain, service) is not SupportsResponse.NONE
    )


def _details(read: SourceRead, extra: list[str] | None = None) -> str:
    """What a read found wrong, as a list for a form's description."""
    lines = [read.error] if read.error else []
    lines += [str(problem) for problem in read.problems[:_MAX_DETAILS]]
    if len(read.problems) > _MAX_DETAILS:
        lines.append(f"... {len(read.problems) - _MAX_DETAILS} more")
    lines += extra or []
    return "".join(f"\n- {line}" for line in lines)


def found_placeholders(hass: HomeAssistant, read: SourceRead) -> dict[str, str]:
    """What a read found, for the tariff step's description: intervals today and tomorrow,
    the time each has no price (0:00 = complete), the first price of today."""
    tz = dt_util.get_time_zone(hass.config.time_zone) or dt_util.get_default_time_zone()
    today = dt_util.utcnow().astimezone(tz).date()
    series = PriceSeries(read.intervals)
    days = {
        name: day_summary(series, day, tz)
        for name, day in (("today", today), ("tomorrow", today + timedelta(days=1)))
    }
    first = next((i for i in series if i.start.astimezone(tz).date() >= today), None)
    first = first or (series.intervals[0] if len(series) else None)
    return {
        "today_count": str(days["today"].intervals),
        "today_missing": format_duration(days["today"].missing),
        "tomorrow_count": str(days["tomorrow"].intervals),
        "tomorrow_missing": format_duration(days["tomorrow"].missing),
        "first_price": "-" if first is None else str(first.price),
        "first_start": "-" if first is None else f"{first.start.astimezone(tz):%Y-%m-%d %H:%M}",
        "currency": hass.config.currency,
        "shape": (read.shape or "-") if first is not None else "-",
    }


class PriceOptionsSteps(_Base):
    """The hub options' price steps (mixed into the options flow)."""

    config_entry: ConfigEntry
    _price_source: PriceSourceConfig
    _price_read: SourceRead
    _fixed_price: Decimal | None = None
    _tariff: Tariff

    def _prices_now(self) -> PriceConfig:
        return price_config(self.config_entry.options)

    def _base_tariff(self) -> Tariff:
        return self._prices_now().tariff or Tariff(currency=self.hass.config.currency)

    async def async_step_prices(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Choose the kind of price source."""
        current = self._prices_now()
        if user_input is not None:
            kind = PriceSourceKind(user_input[CONF_KIND])
            if kind is PriceSourceKind.NONE:
                return self._save_prices(PriceSourceConfig(), current.tariff)
            steps = {
                PriceSourceKind.FIXED: self.async_step_prices_fixed,
                PriceSourceKind.TOU: self.async_step_prices_tou,
                PriceSourceKind.ENTITY: self.async_step_prices_entity,
                PriceSourceKind.ACTION: self.async_step_prices_action,
            }
            return await steps[kind]()
        return self.async_show_form(
            step_id="prices",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_KIND, default=current.source.kind.value): SelectSelector(
                        SelectSelectorConfig(
                            options=[kind.value for kind in PriceSourceKind],
                            mode=SelectSelectorMode.LIST,
                            translation_key="price_source_kind",
                        )
                    )
                }
            ),
        )

    async def async_step_prices_fixed(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """One price per kWh at all times."""
        errors: dict[str, str] = {}
        if user_input is not None:
            price = to_decimal(user_input.get(CONF_FIXED_PRICE))
            if price is None or price < 0:
                errors[CONF_FIXED_PRICE] = "must_not_be_negative"
            else:
                self._fixed_price = price
                source = PriceSourceConfig(kind=PriceSourceKind.FIXED)
                tariff = replace(self._base_tariff(), energy=EnergyPricing.FIXED, fixed_price=price)
                if (await self._async_try(source, tariff)).intervals:
                    return await self.async_step_prices_tariff()
                errors[CONF_FIXED_PRICE] = "no_prices"
        current = self._prices_now().tariff
        return self.async_show_form(
            step_id="prices_fixed",
            data_schema=vol.Schema(
                {
                    vol.Required(
                        CONF_FIXED_PRICE,
                        description=_suggested(_number(current.fixed_price) if current else None),
                    ): _money(self.hass.config.currency)
                }
            ),
            errors=errors,
        )

    async def async_step_prices_tou(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A price per local time: windows on weekdays/weekends, a default, optional seasons."""
        errors: dict[str, str] = {}
        problems: list[str] = []
        current = self._prices_now().source
        schedule_input: Any = (
            current.schedule.to_dict() if current.schedule is not None else EXAMPLE_SCHEDULE
        )
        if user_input is not None:
            schedule_input = user_input.get(CONF_SCHEDULE)
            try:
                if not isinstance(schedule_input, Mapping):
                    raise TouScheduleError(["not an object"])
                schedule = TouSchedule.from_dict(schedule_input)
            except TouScheduleError as err:
                errors[CONF_SCHEDULE] = "invalid_schedule"
                problems = list(err.problems)
            else:
                source = PriceSourceConfig(kind=PriceSourceKind.TOU, schedule=schedule)
                tariff = replace(self._base_tariff(), energy=EnergyPricing.SPOT)
                if (await self._async_try(source, tariff)).intervals:
                    return await self.async_step_prices_tariff()
                errors[CONF_SCHEDULE] = "no_prices"
        return self.async_show_form(
            step_id="prices_tou",
            data_schema=vol.Schema(
                {vol.Required(CONF_SCHEDULE, default=schedule_input): ObjectSelector()}
            ),
            errors=errors,
            description_placeholders={"details": "".join(f"\n- {p}" for p in problems)},
        )

    async def async_step_prices_entity(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A price sensor: its attributes are read (test before save)."""
        errors: dict[str, str] = {}
        details = ""
        current = self._prices_now().source
        entity_id = current.entity_id if current.kind is PriceSourceKind.ENTITY else None
        read = current.read
        if user_input is not None:
            entity_id = user_input[CONF_ENTITY_ID]
            read = _read_options(user_input.get(CONF_READ))
            source = PriceSourceConfig(kind=PriceSourceKind.ENTITY, entity_id=entity_id, read=read)
            tariff = replace(self._base_tariff(), energy=EnergyPricing.SPOT)
            read_once = await self._async_try(source, tariff)
            if read_once.intervals:
                return await self.async_step_prices_tariff()
            state = self.hass.states.get(str(entity_id))
            errors[CONF_ENTITY_ID] = "entity_not_found" if state is None else "no_prices"
            attributes = [] if state is None else [f"attributes: {', '.join(state.attributes)}"]
            details = _details(read_once, attributes)
        return self.async_show_form(
            step_id="prices_entity",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_ENTITY_ID, description=_suggested(entity_id)): EntitySelector(
                        EntitySelectorConfig()
                    ),
                    vol.Required(CONF_READ, default={}): section(
                        _read_schema(read), {"collapsed": True}
                    ),
                }
            ),
            errors=errors,
            description_placeholders={"details": details},
        )

    async def async_step_prices_action(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """A price action with a response: it is called once (test before save)."""
        errors: dict[str, str] = {}
        details = ""
        current = self._prices_now().source
        is_action = current.kind is PriceSourceKind.ACTION
        action = current.action if is_action else None
        # What the user typed is shown again, also when it is not an object (the error).
        action_data: Any = current.action_data if is_action else {}
        read = current.read
        if user_input is not None:
            action = str(user_input[CONF_ACTION]).strip()
            action_data = user_input.get(CONF_ACTION_DATA) or {}
            read = _read_options(user_input.get(CONF_READ))
            domain, _, service = action.partition(".")
            if not isinstance(action_data, Mapping):
                errors[CONF_ACTION_DATA] = "not_an_object"
            elif not service or not self.hass.services.has_service(domain, service):
                errors[CONF_ACTION] = "action_not_found"
            else:
                source = PriceSourceConfig(
                    kind=PriceSourceKind.ACTION,
                    action=action,
                    action_data=dict(action_data),
                    read=read,
                )
                tariff = replace(self._base_tariff(), energy=EnergyPricing.SPOT)
                read_once = await self._async_try(source, tariff)
                if read_once.intervals:
                    return await self.async_step_prices_tariff()
                errors[CONF_ACTION] = "no_prices"
                details = _details(read_once)
        return self.async_show_form(
            step_id="prices_action",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_ACTION, description=_suggested(action)): SelectSelector(
                        SelectSelectorConfig(
                            options=response_actions(self.hass),
                            custom_value=True,
                            mode=SelectSelectorMode.DROPDOWN,
                        )
                    ),
                    vol.Optional(
                        CONF_ACTION_DATA,
                        description=_suggested(
                            dict(action_data) if isinstance(action_data, Mapping) else action_data
                        ),
                    ): ObjectSelector(),
                    vol.Required(CONF_READ, default={}): section(
                        _read_schema(read), {"collapsed": True}
                    ),
                }
            ),
            errors=errors,
            description_placeholders={"details": details},
        )

    async def _async_try(self, source: PriceSourceConfig, tariff: Tariff) -> SourceRead:
        """Read ``source`` once (test before save); kept for the tariff step when it gave
        prices."""
        read = await async_read_once(self.hass, PriceConfig(source=source, tariff=tariff))
        if read.intervals:
            self._price_source, self._price_read = source, read
        return read

    async def async_step_prices_tariff(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """What a kWh costs on top of the source's price, and what the groups pay."""
        errors: dict[str, str] = {}
        details: list[str] = []
        base = self._base_tariff()
        fixed = self._price_source.kind is PriceSourceKind.FIXED
        if user_input is not None:
            tariff = self._tariff_from_form(base, user_input, fixed=fixed)
            for problem in tariff.problems():
                if problem.field.partition(".")[0] in _FEE_GROUPS:
                    continue  # the next step's
                form_field = _TARIFF_FIELDS.get(problem.field)
                if form_field is not None:
                    errors[form_field] = _TARIFF_ERRORS.get(problem.code, "invalid")
                else:
                    errors["base"] = "tariff_invalid"
                    details.append(str(problem))
            if not errors:
                self._tariff = tariff
                return await self.async_step_prices_fees()
        currency = self.hass.config.currency
        defaults = self._tariff_defaults(base, fixed=fixed)
        if user_input is not None:
            defaults.update(user_input)
        guest = base.groups.get(GROUP_GUEST, TariffGroup())
        fields: dict[Any, Any] = {}
        if not fixed:
            fields[
                vol.Required(
                    CONF_FALLBACK_PRICE, description=_suggested(defaults[CONF_FALLBACK_PRICE])
                )
            ] = _money(currency)
        for key in (CONF_SUPPLIER_MARKUP, CONF_ENERGY_TAX, CONF_GRID_FEE):
            fields[vol.Required(key, default=defaults[key])] = _money(currency)
        fields[vol.Required(CONF_VAT_PERCENT, default=defaults[CONF_VAT_PERCENT])] = _percent()
        fields[vol.Required(CONF_GUEST_MODE, default=defaults[CONF_GUEST_MODE])] = SelectSelector(
            SelectSelectorConfig(
                options=[mode.value for mode in TariffGroupMode],
                mode=SelectSelectorMode.DROPDOWN,
                translation_key="tariff_group_mode",
            )
        )
        fields[vol.Required(CONF_GUEST_MARKUP, default=defaults[CONF_GUEST_MARKUP])] = _money(
            currency
        )
        fields[
            vol.Required(CONF_GUEST_MARKUP_PERCENT, default=defaults[CONF_GUEST_MARKUP_PERCENT])
        ] = _percent()
        fields[
            vol.Optional(
                CONF_GUEST_FIXED_PRICE, description=_suggested(_number(guest.fixed_per_kwh))
            )
        ] = _money(currency)
        fields[
            vol.Optional(
                CONF_COMPANY_CAR_RATE, description=_suggested(defaults[CONF_COMPANY_CAR_RATE])
            )
        ] = _money(currency)
        return self.async_show_form(
            step_id="prices_tariff",
            data_schema=vol.Schema(fields),
            errors=errors,
            description_placeholders={
                **found_placeholders(self.hass, self._price_read),
                "details": "".join(f"\n- {line}" for line in details),
            },
        )

    async def async_step_prices_fees(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The operator's surcharges and fees (all optional), paid by the groups with
        ``operator_fees``; saved with the source and the rest of the tariff."""
        errors: dict[str, str] = {}
        details: list[str] = []
        defaults = fees_defaults(self._tariff)
        if user_input is not None:
            tariff, read = fees_from_form(self._tariff, user_input)
            if not read.errors:
                return self._save_prices(self._price_source, tariff)
            errors, details = read.errors, read.details
            defaults = {key: user_input.get(key) for key in defaults}
        paying = [name for name, group in self._tariff.groups.items() if group.operator_fees]
        return self.async_show_form(
            step_id="prices_fees",
            data_schema=fees_schema(self.hass.config.currency, defaults),
            errors=errors,
            description_placeholders={
                "groups": ", ".join(paying) or "-",
                "currency": self.hass.config.currency,
                "details": "".join(f"\n- {line}" for line in details[:_MAX_DETAILS]),
            },
        )

    def _tariff_defaults(self, base: Tariff, *, fixed: bool) -> dict[str, Any]:
        """The tariff form's values from the tariff in use."""
        guest = base.groups.get(GROUP_GUEST, TariffGroup(mode=TariffGroupMode.MARKUP))
        car = base.groups.get(GROUP_COMPANY_CAR, TariffGroup())
        fallback = base.fallback_price
        schedule = self._price_source.schedule
        if fallback is None and schedule is not None:
            fallback = schedule.default  # a schedule never has a gap: its default will do
        return {
            CONF_FALLBACK_PRICE: _number(fallback),
            CONF_SUPPLIER_MARKUP: float(base.supplier_markup),
            CONF_ENERGY_TAX: float(base.energy_tax),
            CONF_GRID_FEE: float(base.grid_fee),
            CONF_VAT_PERCENT: float(base.vat_rate * _HUNDRED),
            CONF_GUEST_MODE: guest.mode.value,
            CONF_GUEST_MARKUP: float(guest.markup_per_kwh),
            CONF_GUEST_MARKUP_PERCENT: float(guest.markup_rate * _HUNDRED),
            CONF_COMPANY_CAR_RATE: _number(car.reimbursement_per_kwh),
        }

    def _tariff_from_form(self, base: Tariff, form: Mapping[str, Any], *, fixed: bool) -> Tariff:
        """The tariff in use with the form's values (its other settings kept)."""

        def number(key: str) -> Decimal | None:
            return to_decimal(form.get(key))

        def zero(key: str) -> Decimal:
            return number(key) or Decimal(0)

        groups = dict(base.groups)
        guest = groups.get(GROUP_GUEST, TariffGroup(operator_fees=True))
        groups[GROUP_GUEST] = replace(
            guest,
            mode=TariffGroupMode(form.get(CONF_GUEST_MODE, guest.mode.value)),
            markup_per_kwh=zero(CONF_GUEST_MARKUP),
            markup_rate=(zero(CONF_GUEST_MARKUP_PERCENT) / _HUNDRED).normalize(),
            fixed_per_kwh=number(CONF_GUEST_FIXED_PRICE),
        )
        car = groups.get(GROUP_COMPANY_CAR, TariffGroup())
        groups[GROUP_COMPANY_CAR] = replace(
            car, reimbursement_per_kwh=number(CONF_COMPANY_CAR_RATE)
        )
        return replace(
            base,
            currency=self.hass.config.currency,
            energy=EnergyPricing.FIXED if fixed else EnergyPricing.SPOT,
            fixed_price=self._fixed_price if fixed else base.fixed_price,
            fallback_price=base.fallback_price if fixed else number(CONF_FALLBACK_PRICE),
            supplier_markup=zero(CONF_SUPPLIER_MARKUP),
            energy_tax=zero(CONF_ENERGY_TAX),
            grid_fee=zero(CONF_GRID_FEE),
            vat_rate=(zero(CONF_VAT_PERCENT) / _HUNDRED).normalize(),
            groups=groups,
        )

    def _save_prices(self, source: PriceSourceConfig, tariff: Tariff | None) -> ConfigFlowResult:
        """Store the source and the tariff in the hub options (the price feed follows)."""
        options = {**self.config_entry.options, CONF_PRICE_SOURCE: source.to_dict()}
        if tariff is not None:
            options[CONF_TARIFF] = tariff.to_dict()
        return self.async_create_entry(data=options)


__all__ = ["PriceOptionsSteps", "found_placeholders", "response_actions"]
