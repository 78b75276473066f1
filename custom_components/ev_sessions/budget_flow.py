"""The hub options' "Power budget" step and how its settings are read.

The main fuse per phase and the phase count, the grid meter (a power entity, import positive,
or one current entity per phase), an optional solar export or production entity, how the
headroom is shared, what the chargers charge from (the fuse, solar surplus, solar with a
minimum), the static fallback limit and the meter timeout. Stored in the hub options under
``power_budget`` (a fuse of 0 or no fuse: no budget); changing them reloads the hub.

A charger's own part (:func:`charger_budget_fields`, :func:`with_charger_budget`): the phases it
uses (suggested from what it measures), the site phase of a 1-phase charger, its priority and
an optional minimum current; in the OCPP charger's options form and a Modbus charger's
*Power budget* step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final

from homeassistant.config_entries import ConfigFlowResult
from homeassistant.helpers.selector import (
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
)
import probatio as vol

from .charger_options import (
    CONF_BUDGET_MIN_CURRENT,
    CONF_BUDGET_PHASE,
    CONF_BUDGET_PHASES,
    CONF_BUDGET_PRIORITY,
    DEFAULT_MIN_CURRENT_A,
    CurrentRange,
    budget_options,
    current_range,
    measured_phases,
)
from .core import BudgetSettings, BudgetSharing, ChargeMode

if TYPE_CHECKING:
    from homeassistant.config_entries import ConfigEntry
    from homeassistant.data_entry_flow import FlowHandler

    _Base = FlowHandler[Any, ConfigFlowResult, Any]
else:
    _Base = object

#: Hub option holding the budget's settings.
CONF_POWER_BUDGET: Final = "power_budget"
CONF_FUSE_A: Final = "fuse_a"
CONF_PHASES: Final = "phases"
CONF_GRID_POWER: Final = "grid_power_entity"
CONF_GRID_CURRENTS: Final = "grid_current_entities"
CONF_SOLAR_ENTITY: Final = "solar_entity"
CONF_SOLAR_KIND: Final = "solar_kind"
CONF_SHARING: Final = "sharing"
CONF_MODE: Final = "charge_mode"
CONF_FALLBACK_A: Final = "fallback_a"
CONF_METER_TIMEOUT: Final = "meter_timeout_s"
SOLAR_EXPORT: Final = "export"
SOLAR_PRODUCTION: Final = "production"
DEFAULT_METER_TIMEOUT_S: Final = 60


@dataclass(frozen=True, slots=True, kw_only=True)
class BudgetConfig:
    """The budget's settings as configured."""

    settings: BudgetSettings
    grid_power: str | None = None
    grid_currents: tuple[str, ...] = ()
    solar_entity: str | None = None
    solar_kind: str = SOLAR_EXPORT
    mode: ChargeMode = ChargeMode.FUSE


def budget_config(hub_options: Mapping[str, Any]) -> BudgetConfig | None:
    """The configured budget, None without a fuse."""
    data: Mapping[str, Any] = hub_options.get(CONF_POWER_BUDGET) or {}
    fuse = float(data.get(CONF_FUSE_A) or 0)
    if fuse <= 0:
        return None
    grid_power = data.get(CONF_GRID_POWER) or None
    currents = tuple(data.get(CONF_GRID_CURRENTS) or ())
    fallback = data.get(CONF_FALLBACK_A)
    settings = BudgetSettings(
        fuse_a=fuse,
        phases=int(data.get(CONF_PHASES, 3)),
        sharing=BudgetSharing(data.get(CONF_SHARING, BudgetSharing.FAIR)),
        grid_meter=bool(grid_power or currents),
        meter_timeout=timedelta(seconds=float(data.get(CONF_METER_TIMEOUT, 60))),
        fallback_a=None if fallback is None or fallback == "" else float(fallback),  # 0: pause
    )
    return BudgetConfig(
        settings=settings,
        grid_power=grid_power,
        grid_currents=currents,
        solar_entity=data.get(CONF_SOLAR_ENTITY) or None,
        solar_kind=str(data.get(CONF_SOLAR_KIND, SOLAR_EXPORT)),
        mode=ChargeMode(data.get(CONF_MODE, ChargeMode.FUSE)),
    )


def _box(low: float, high: float, step: float, unit: str) -> NumberSelector:
    return NumberSelector(
        NumberSelectorConfig(
            min=low, max=high, step=step, unit_of_measurement=unit, mode=NumberSelectorMode.BOX
        )
    )


def _choice(key: str, options: list[str]) -> SelectSelector:
    return SelectSelector(
        SelectSelectorConfig(options=options, translation_key=key, mode=SelectSelectorMode.DROPDOWN)
    )


def _suggested(value: object) -> dict[str, object]:
    return {"suggested_value": value}


class BudgetOptionsSteps(_Base):
    """The hub options' power budget step (mixed into the options flow)."""

    config_entry: ConfigEntry

    async def async_step_power_budget(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Fuse, grid meter, solar, sharing and safety of the site power budget."""
        current: dict[str, Any] = dict(self.config_entry.options.get(CONF_POWER_BUDGET) or {})
        errors: dict[str, str] = {}
        if user_input is not None:
            currents = list(user_input.get(CONF_GRID_CURRENTS) or [])
            phases = int(user_input.get(CONF_PHASES, 3))
            if currents and len(currents) != phases:
                errors[CONF_GRID_CURRENTS] = "grid_currents_per_phase"
            elif currents and user_input.get(CONF_GRID_POWER):
                errors[CONF_GRID_POWER] = "grid_power_or_currents"
            if not errors:
                data = {key: value for key, value in user_input.items() if value not in (None, "")}
                data[CONF_PHASES] = phases
                data[CONF_GRID_CURRENTS] = currents
                options = {**self.config_entry.options, CONF_POWER_BUDGET: data}
                return self.async_create_entry(data=options)
            current = user_input
        schema = vol.Schema(
            {
                vol.Optional(CONF_FUSE_A, description=_suggested(current.get(CONF_FUSE_A))): _box(
                    0, 1000, 1, "A"
                ),
                vol.Required(CONF_PHASES, default=str(current.get(CONF_PHASES, 3))): _choice(
                    "budget_phases", ["1", "3"]
                ),
                vol.Optional(
                    CONF_GRID_POWER, description=_suggested(current.get(CONF_GRID_POWER))
                ): EntitySelector(EntitySelectorConfig(domain="sensor", device_class="power")),
                vol.Optional(
                    CONF_GRID_CURRENTS, description=_suggested(current.get(CONF_GRID_CURRENTS))
                ): EntitySelector(
                    EntitySelectorConfig(domain="sensor", device_class="current", multiple=True)
                ),
                vol.Optional(
                    CONF_SOLAR_ENTITY, description=_suggested(current.get(CONF_SOLAR_ENTITY))
                ): EntitySelector(EntitySelectorConfig(domain="sensor", device_class="power")),
                vol.Required(
                    CONF_SOLAR_KIND, default=current.get(CONF_SOLAR_KIND, SOLAR_EXPORT)
                ): _choice("budget_solar_kind", [SOLAR_EXPORT, SOLAR_PRODUCTION]),
                vol.Required(
                    CONF_SHARING, default=current.get(CONF_SHARING, BudgetSharing.FAIR.value)
                ): _choice("budget_sharing", [s.value for s in BudgetSharing]),
                vol.Required(
                    CONF_MODE, default=current.get(CONF_MODE, ChargeMode.FUSE.value)
                ): _choice("budget_charge_mode", [m.value for m in ChargeMode]),
                vol.Optional(
                    CONF_FALLBACK_A, description=_suggested(current.get(CONF_FALLBACK_A))
                ): _box(0, 80, 1, "A"),
                vol.Required(
                    CONF_METER_TIMEOUT,
                    default=current.get(CONF_METER_TIMEOUT, DEFAULT_METER_TIMEOUT_S),
                ): _box(5, 3600, 1, "s"),
            }
        )
        return self.async_show_form(step_id="power_budget", data_schema=schema, errors=errors)


def charger_budget_fields(entry: ConfigEntry) -> dict[Any, Any]:
    """A charger's power budget fields: phases (what it has, else what it measures: a Modbus
    profile with one phase, an OCPP charger reporting current on L1 only), its site phase,
    priority and minimum current."""
    options = budget_options(entry)
    phases = options.phases or measured_phases(entry) or 3
    return {
        vol.Required(CONF_BUDGET_PHASES, default=str(phases)): _choice("budget_phases", ["1", "3"]),
        vol.Required(CONF_BUDGET_PHASE, default=str(options.phase)): _choice(
            "budget_phase", ["1", "2", "3"]
        ),
        vol.Required(CONF_BUDGET_PRIORITY, default=options.priority): NumberSelector(
            NumberSelectorConfig(min=0, max=100, step=1, mode=NumberSelectorMode.BOX)
        ),
        vol.Optional(CONF_BUDGET_MIN_CURRENT, description=_suggested(options.min_a)): _box(
            DEFAULT_MIN_CURRENT_A, 80, 0.5, "A"
        ),
    }


def charger_budget_errors(user_input: Mapping[str, Any], limits: CurrentRange) -> dict[str, str]:
    """A minimum current outside the charger's current range."""
    min_a = user_input.get(CONF_BUDGET_MIN_CURRENT)
    if min_a and not limits.min_a <= float(min_a) <= limits.max_a:
        return {CONF_BUDGET_MIN_CURRENT: "budget_min_out_of_range"}
    return {}


def with_charger_budget(
    options: Mapping[str, Any], user_input: Mapping[str, Any]
) -> dict[str, Any]:
    """``options`` with the form's power budget fields (no minimum when it was emptied)."""
    kept = {key: value for key, value in options.items() if key != CONF_BUDGET_MIN_CURRENT}
    kept[CONF_BUDGET_PHASES] = int(user_input.get(CONF_BUDGET_PHASES, 3))
    kept[CONF_BUDGET_PHASE] = int(user_input.get(CONF_BUDGET_PHASE, 1))
    kept[CONF_BUDGET_PRIORITY] = int(user_input.get(CONF_BUDGET_PRIORITY) or 0)
    if min_a := user_input.get(CONF_BUDGET_MIN_CURRENT):
        kept[CONF_BUDGET_MIN_CURRENT] = float(min_a)
    return kept


class ChargerBudgetSteps(_Base):
    """A Modbus charger's power budget step (mixed into the options flow)."""

    config_entry: ConfigEntry

    async def async_step_charger_budget(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The charger's phases, site phase, priority and minimum current in the budget."""
        entry = self.config_entry
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = charger_budget_errors(user_input, current_range(entry))
            if not errors:
                return self.async_create_entry(data=with_charger_budget(entry.options, user_input))
        schema = vol.Schema(charger_budget_fields(entry))
        if user_input is not None:
            schema = self.add_suggested_values_to_schema(schema, user_input)
        return self.async_show_form(step_id="charger_budget", data_schema=schema, errors=errors)
