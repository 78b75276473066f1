"""What one charger can do, from its options and (Modbus) its profile.

The current range its limit may take, the battery it charges (for an estimated end), whether
it has a tag source and how many phases it measures. Entities and actions read these so that
they offer only what the charger can fill.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError

from .chargers.modbus.register_map import LifetimeSource, Quantity, RegisterMap
from .const import CONF_CHARGER_ID, CONF_ENTRY_TYPE, DOMAIN, ENTRY_TYPE_CHARGER, ENTRY_TYPE_HUB
from .price_feed import PriceSourceKind, price_config

#: Charger option: the most current the charger may draw (its rating or the fuse), in A.
CONF_MAX_CURRENT: Final = "max_current_a"
#: Charger option: the usable capacity of the car's battery, in kWh (estimated end from SoC).
CONF_BATTERY_CAPACITY: Final = "battery_capacity_kwh"
#: Charger option: a battery sensor with the car's SoC, for a charger that reports none.
CONF_SOC_ENTITY: Final = "soc_entity_id"

#: Charger options of the site power budget: the phases the charger uses (1 or 3), the site
#: phase (1-3) a 1-phase charger is on, its priority (higher first) and the least current the
#: budget gives it (A; below that it pauses).
CONF_BUDGET_PHASES: Final = "budget_phases"
CONF_BUDGET_PHASE: Final = "budget_phase"
CONF_BUDGET_PRIORITY: Final = "budget_priority"
CONF_BUDGET_MIN_CURRENT: Final = "budget_min_current_a"

#: IEC 61851: the least current a charger may offer (OCPP has no standard minimum).
DEFAULT_MIN_CURRENT_A: Final = 6.0
#: The maximum when the charger's options do not say.
DEFAULT_MAX_CURRENT_A: Final = 32.0


@dataclass(frozen=True, slots=True)
class CurrentRange:
    """A limit is 0 (pause) or between ``min_a`` and ``max_a``."""

    min_a: float
    max_a: float

    def check(self, limit_a: float) -> None:
        """Raise a translated :class:`ServiceValidationError` for a limit out of range."""
        if limit_a == 0 or self.min_a <= limit_a <= self.max_a:
            return
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="current_limit_out_of_range",
            translation_placeholders={
                "current": _amps(limit_a),
                "min": _amps(self.min_a),
                "max": _amps(self.max_a),
            },
        )


def _amps(value: float) -> str:
    return f"{value:g}"


def _profile(entry: ConfigEntry) -> RegisterMap | None:
    """The register map of a loaded Modbus charger (the variant the device turned out to be)."""
    adapter = getattr(getattr(entry, "runtime_data", None), "adapter", None)
    profile = getattr(adapter, "profile", None)
    return profile if isinstance(profile, RegisterMap) else None


def current_range(entry: ConfigEntry) -> CurrentRange:
    """The range of the charger's current limit."""
    adapter = getattr(getattr(entry, "runtime_data", None), "adapter", None)
    if (profile := _profile(entry)) is not None:
        max_a = getattr(adapter, "max_current_a", profile.max_current_a)
        return CurrentRange(profile.min_current_a, float(max_a))
    configured: Any = entry.options.get(CONF_MAX_CURRENT)
    max_a = float(configured) if configured else DEFAULT_MAX_CURRENT_A
    return CurrentRange(min(DEFAULT_MIN_CURRENT_A, max_a), max_a)


def battery_capacity_wh(entry: ConfigEntry) -> int | None:
    """The battery capacity configured for the charger, in Wh, if any."""
    capacity: Any = entry.options.get(CONF_BATTERY_CAPACITY)
    return round(float(capacity) * 1000) if capacity else None


def soc_entity_id(entry: ConfigEntry) -> str | None:
    """The entity chosen for the car's state of charge, if any."""
    entity_id: Any = entry.options.get(CONF_SOC_ENTITY)
    return str(entity_id) if entity_id else None


def has_tag_source(entry: ConfigEntry) -> bool:
    """Whether the charger can report tags: OCPP chargers can; a Modbus one if it maps RFID."""
    profile = _profile(entry)
    return profile is None or Quantity.RFID in profile.values


def has_meter_register(entry: ConfigEntry) -> bool:
    """Whether the charger reports its own lifetime meter: OCPP chargers do (the
    Energy.Active.Import.Register); a Modbus one if its profile maps a lifetime register (a
    profile with only a session register gets a counter built by the hub, not the charger's)."""
    profile = _profile(entry)
    if profile is None:
        return True
    return (
        Quantity.ENERGY_TOTAL_WH in profile.values and profile.lifetime is LifetimeSource.REGISTER
    )


def phase_count(entry: ConfigEntry) -> int | None:
    """Phases the charger measures: 1 for a Modbus profile that maps no L2/L3 value, else 3;
    ``None`` for an OCPP charger (known once it reports a value of the second or third phase)."""
    profile = _profile(entry)
    if profile is None:
        return None
    l2_l3 = {
        Quantity.CURRENT_L2_A,
        Quantity.CURRENT_L3_A,
        Quantity.VOLTAGE_L2_V,
        Quantity.VOLTAGE_L3_V,
    }
    return 3 if l2_l3 & set(profile.values) else 1


@dataclass(frozen=True, slots=True)
class ChargerBudgetOptions:
    """How a charger takes part in the site power budget, as its options say."""

    #: Phases it uses; ``None``: as it measures (:func:`phase_count`, else 3).
    phases: int | None = None
    #: The site phase (1-3) of a 1-phase charger.
    phase: int = 1
    priority: int = 0
    #: The least current the budget gives it (A); ``None``: its current range's minimum.
    min_a: float | None = None


def budget_options(entry: ConfigEntry) -> ChargerBudgetOptions:
    """The charger's power budget options (the defaults for those not set)."""
    options = entry.options
    phases: Any = options.get(CONF_BUDGET_PHASES)
    min_a: Any = options.get(CONF_BUDGET_MIN_CURRENT)
    return ChargerBudgetOptions(
        phases=int(phases) if phases else None,
        phase=int(options.get(CONF_BUDGET_PHASE) or 1),
        priority=int(options.get(CONF_BUDGET_PRIORITY) or 0),
        min_a=float(min_a) if min_a else None,
    )


def measured_phases(entry: ConfigEntry) -> int | None:
    """The phases the charger measures, to suggest its budget phases: a Modbus profile's
    (:func:`phase_count`); for an OCPP charger 3 once it reported a current on L2 or L3, 1 while
    it reports current on L1 only; ``None`` while nothing is known."""
    if (phases := phase_count(entry)) is not None:
        return phases
    runtime = getattr(entry, "runtime_data", None)
    engine = getattr(getattr(runtime, "hub", None), "engine", None)
    charger_id = entry.data.get(CONF_CHARGER_ID)
    if engine is None or charger_id is None:
        return None
    l1_only = False
    for connector_id in engine.connectors(charger_id):
        currents = engine.connector(charger_id, connector_id).current_a
        if not currents:
            continue
        if any(value is not None for value in currents[1:]):
            return 3
        l1_only = l1_only or currents[0] is not None
    return 1 if l1_only else None


def prices_configured(hub_options: Mapping[str, Any]) -> bool:
    """Whether the hub has a price source (cost entities have something to show)."""
    return price_config(hub_options).source.kind is not PriceSourceKind.NONE


def hub_config_entry(hass: HomeAssistant) -> ConfigEntry | None:
    """The hub's config entry."""
    for entry in hass.config_entries.async_entries(DOMAIN, include_ignore=False):
        if entry.data.get(CONF_ENTRY_TYPE) == ENTRY_TYPE_HUB:
            return entry
    return None


def charger_entry(hass: HomeAssistant, charger_id: str) -> ConfigEntry | None:
    """The loaded config entry of a charger."""
    for entry in hass.config_entries.async_entries(DOMAIN, include_ignore=False):
        if (
            entry.data.get(CONF_ENTRY_TYPE) == ENTRY_TYPE_CHARGER
            and entry.data.get(CONF_CHARGER_ID) == charger_id
        ):
            return entry
    return None
