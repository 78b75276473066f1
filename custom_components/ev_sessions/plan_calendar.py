"""The chargers' planned windows as events of the sessions calendar (issue 13).

Each window of a charger's plan is an event from its start to its end, titled with the charger,
the plan's energy and its expected cost ("Garage: planned charging 15.0 kWh, 10.00 SEK"); the
description says which window it is and what it charges. The texts are translated (kept in the
``exceptions`` category, as Home Assistant has no other one for an integration's runtime texts).
"""

from __future__ import annotations

from datetime import datetime

from homeassistant.components.calendar import CalendarEvent
from homeassistant.core import HomeAssistant
from homeassistant.helpers.translation import async_get_translations

from .const import DOMAIN
from .core import ChargerPlan
from .hub import Hub

_KEY_TITLE = "planned_charging_title"
_KEY_TITLE_NO_COST = "planned_charging_title_no_cost"
_KEY_WINDOW = "planned_charging_window"


def _kwh(wh: float) -> str:
    return f"{wh / 1000:.1f}"


def _events(
    strings: dict[str, str], name: str, current: ChargerPlan, start: datetime, end: datetime
) -> list[CalendarEvent]:
    def text(key: str) -> str:
        return strings[f"component.{DOMAIN}.exceptions.{key}.message"]

    plan = current.plan
    cost = plan.cost
    placeholders = {"charger": name, "energy_kwh": _kwh(plan.energy_wh)}
    if cost is None:
        title = text(_KEY_TITLE_NO_COST).format(**placeholders)
    else:
        title = text(_KEY_TITLE).format(
            **placeholders, cost=str(cost.total), currency=cost.currency
        )
    count = len(plan.windows)
    events = []
    for index, window in enumerate(plan.windows, 1):
        if window.end <= start or window.start >= end:
            continue
        description = text(_KEY_WINDOW).format(
            index=index,
            count=count,
            energy_kwh=_kwh(window.energy_wh),
            power_kw=f"{window.power_w / 1000:.1f}",
        )
        events.append(
            CalendarEvent(
                start=window.start,
                end=window.end,
                summary=title,
                description=description,
                uid=f"plan_{current.charger_id}_{window.start.isoformat()}",
            )
        )
    return events


async def async_planned_events(
    hass: HomeAssistant, hub: Hub, start: datetime, end: datetime
) -> list[CalendarEvent]:
    """The windows of every charger's plan that overlap ``[start, end)``."""
    planning = hub.site.planning
    plans = [p for cid in planning.planned_chargers if (p := planning.plan_of(cid)) is not None]
    if not any(p.plan.windows for p in plans):
        return []
    strings = await async_get_translations(hass, hass.config.language, "exceptions", {DOMAIN})
    events: list[CalendarEvent] = []
    for current in plans:
        name = hub.charger_name(current.charger_id)
        events.extend(_events(strings, name, current, start, end))
    return events
