"""The member form's section "Planned charging" (issue 13): a default ready-by on weekdays and
on weekends and, where a day differs, on that day (Monday .. Sunday), a default energy or
target SoC, the mode, a price cap and the hours charging is allowed in, stored in the member
subentry as ``preferences`` (:meth:`~.core.preferences.MemberPreferences.to_dict`: a ready-by
per weekday, so preferences stored before the days had fields of their own read the same).
See ``plan_preferences.py`` for how plans use them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import time
from decimal import Decimal
from types import MappingProxyType
from typing import Any

from homeassistant.data_entry_flow import section
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TimeSelector,
)
import probatio as vol

from .core import AllowedHours, MemberPreferences, PlanMode, WeekReadyBy

#: The member form's section and the subentry key the preferences are kept under.
CONF_PLANNING = "planning"
CONF_PREFERENCES = "preferences"
CONF_READY_WEEKDAYS = "ready_by_weekdays"
CONF_READY_WEEKEND = "ready_by_weekend"
#: A day's own ready-by (0 = Monday .. 6 = Sunday), over its weekdays / weekend time.
CONF_READY_DAYS = (
    "ready_by_monday",
    "ready_by_tuesday",
    "ready_by_wednesday",
    "ready_by_thursday",
    "ready_by_friday",
    "ready_by_saturday",
    "ready_by_sunday",
)
CONF_ENERGY = "energy_kwh"
CONF_SOC = "target_soc"
CONF_MODE = "mode"
CONF_PRICE_CAP = "price_cap"
CONF_ALLOWED_FROM = "allowed_from"
CONF_ALLOWED_UNTIL = "allowed_until"


def _hhmm(value: time | None) -> str | None:
    return None if value is None else value.strftime("%H:%M:%S")


def _time(value: Any) -> time | None:
    if isinstance(value, str) and value.strip():
        try:
            return time.fromisoformat(value.strip()).replace(second=0, microsecond=0)
        except ValueError:
            return None
    return None


def form_values(preferences: MemberPreferences) -> dict[str, Any]:
    """The form section's values for stored preferences."""
    hours = preferences.allowed_hours[0] if preferences.allowed_hours else None
    week = WeekReadyBy.of(preferences.ready_by)
    values: dict[str, Any] = {
        CONF_READY_WEEKDAYS: _hhmm(week.weekdays),
        CONF_READY_WEEKEND: _hhmm(week.weekend),
        **{CONF_READY_DAYS[day]: _hhmm(at) for day, at in week.days.items()},
        CONF_ENERGY: None if preferences.energy_wh is None else preferences.energy_wh / 1000,
        CONF_SOC: preferences.target_soc_pct,
        CONF_MODE: None if preferences.mode is None else preferences.mode.value,
        CONF_PRICE_CAP: None if preferences.price_cap is None else float(preferences.price_cap),
        CONF_ALLOWED_FROM: _hhmm(hours.start if hours else None),
        CONF_ALLOWED_UNTIL: _hhmm(hours.end if hours else None),
    }
    return {key: value for key, value in values.items() if value is not None}


def preferences_from_form(values: Mapping[str, Any] | None) -> MemberPreferences:
    """The preferences the form section describes (empty fields: not set)."""
    values = values or {}
    days = {day: _time(values.get(key)) for day, key in enumerate(CONF_READY_DAYS)}
    week = WeekReadyBy(
        weekdays=_time(values.get(CONF_READY_WEEKDAYS)),
        weekend=_time(values.get(CONF_READY_WEEKEND)),
        days=MappingProxyType({day: at for day, at in days.items() if at is not None}),
    )
    energy = values.get(CONF_ENERGY)
    soc = values.get(CONF_SOC)
    mode = values.get(CONF_MODE)
    cap = values.get(CONF_PRICE_CAP)
    start, end = _time(values.get(CONF_ALLOWED_FROM)), _time(values.get(CONF_ALLOWED_UNTIL))
    hours = (
        (AllowedHours(start=start, end=end),)
        if start is not None and end is not None and start != end
        else ()
    )
    return MemberPreferences(
        ready_by=week.ready_by(),
        energy_wh=round(float(energy) * 1000) if energy else None,
        target_soc_pct=float(soc) if soc else None,
        mode=PlanMode(mode) if mode else None,
        price_cap=None if cap is None or cap == "" else Decimal(str(cap)),
        allowed_hours=hours,
    )


def _suggested(value: Any) -> dict[str, Any]:
    return {"suggested_value": value}


def planning_section(defaults: Mapping[str, Any]) -> dict[Any, Any]:
    """The member form's "Planned charging" section; ``defaults`` are the form's input or the
    stored member."""
    if isinstance(defaults.get(CONF_PLANNING), Mapping):
        values = dict(defaults[CONF_PLANNING])
    else:
        values = form_values(MemberPreferences.from_dict(defaults.get(CONF_PREFERENCES)))
    box = NumberSelectorMode.BOX
    schema = vol.Schema(
        {
            vol.Optional(
                CONF_READY_WEEKDAYS, description=_suggested(values.get(CONF_READY_WEEKDAYS))
            ): TimeSelector(),
            vol.Optional(
                CONF_READY_WEEKEND, description=_suggested(values.get(CONF_READY_WEEKEND))
            ): TimeSelector(),
            **{
                vol.Optional(key, description=_suggested(values.get(key))): TimeSelector()
                for key in CONF_READY_DAYS
            },
            vol.Optional(CONF_ENERGY, description=_suggested(values.get(CONF_ENERGY))): (
                NumberSelector(
                    NumberSelectorConfig(
                        min=0.5, max=200, step=0.5, unit_of_measurement="kWh", mode=box
                    )
                )
            ),
            vol.Optional(CONF_SOC, description=_suggested(values.get(CONF_SOC))): NumberSelector(
                NumberSelectorConfig(min=1, max=100, step=1, unit_of_measurement="%", mode=box)
            ),
            vol.Optional(CONF_MODE, description=_suggested(values.get(CONF_MODE))): (
                SelectSelector(
                    SelectSelectorConfig(
                        options=[mode.value for mode in PlanMode],
                        translation_key="plan_mode",
                        mode=SelectSelectorMode.DROPDOWN,
                    )
                )
            ),
            vol.Optional(CONF_PRICE_CAP, description=_suggested(values.get(CONF_PRICE_CAP))): (
                NumberSelector(NumberSelectorConfig(min=0, max=100, step=0.01, mode=box))
            ),
            vol.Optional(
                CONF_ALLOWED_FROM, description=_suggested(values.get(CONF_ALLOWED_FROM))
            ): TimeSelector(),
            vol.Optional(
                CONF_ALLOWED_UNTIL, description=_suggested(values.get(CONF_ALLOWED_UNTIL))
            ): TimeSelector(),
        }
    )
    return {vol.Optional(CONF_PLANNING): section(schema, {"collapsed": True})}


def planning_errors(user_input: Mapping[str, Any]) -> dict[str, str]:
    """An energy and a target SoC together are one too many."""
    values = user_input.get(CONF_PLANNING) or {}
    if values.get(CONF_ENERGY) and values.get(CONF_SOC):
        return {"base": "energy_and_soc"}
    return {}


def store_preferences(data: dict[str, Any], user_input: Mapping[str, Any]) -> None:
    """Put the form's preferences into the member's stored ``data`` (none: nothing stored)."""
    preferences = preferences_from_form(user_input.get(CONF_PLANNING))
    if not preferences.is_empty:
        data[CONF_PREFERENCES] = preferences.to_dict()
