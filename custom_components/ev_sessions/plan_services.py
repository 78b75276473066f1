"""Planned-charging actions: ``set_plan``, ``clear_plan``, ``get_plan`` and ``cheapest_charger``.

``set_plan`` takes the charger (its device), optionally the member, the energy (kWh) or target
SoC, the ready-by time (a time of day, or a date and time) and the mode (without one: the
member's preferred mode, else cheapest), and answers with the plan; ``get_plan`` answers with
the charger's plan (windows, prices used, cost, finish, provisional or not); ``clear_plan``
withdraws it; ``cheapest_charger`` answers, for a member who can use several chargers, which
charger and time is cheapest next (each charger's plan, ranked).
"""

from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
import functools
from typing import Any

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util
import probatio as vol

from .const import DOMAIN
from .core import PlanMode, PlanSettings
from .hub import Hub
from .setup_charger import loaded_hub

ATTR_DEVICE_ID = "device_id"
ATTR_MEMBER = "member"
ATTR_ENERGY = "energy_kwh"
ATTR_SOC = "target_soc"
ATTR_READY_BY = "ready_by"
ATTR_MODE = "mode"
ATTR_PRICE_CAP = "price_cap"
ATTR_MIN_ENERGY = "min_energy_kwh"

_CHARGER: dict[Any, Any] = {vol.Required(ATTR_DEVICE_ID): cv.string}
_SET_PLAN_SCHEMA = vol.Schema(
    {
        **_CHARGER,
        vol.Optional(ATTR_MEMBER): vol.Any(None, cv.string),
        vol.Exclusive(ATTR_ENERGY, "target"): vol.All(
            vol.Coerce(float), vol.Range(min=0.1, max=500)
        ),
        vol.Exclusive(ATTR_SOC, "target"): vol.All(vol.Coerce(float), vol.Range(min=1, max=100)),
        vol.Optional(ATTR_READY_BY): vol.Any(cv.time, cv.datetime),
        vol.Optional(ATTR_MODE): vol.In([m.value for m in PlanMode]),
        vol.Optional(ATTR_PRICE_CAP): vol.All(vol.Coerce(float), vol.Range(min=0)),
        vol.Optional(ATTR_MIN_ENERGY): vol.All(vol.Coerce(float), vol.Range(min=0, max=500)),
    }
)
_CHARGER_SCHEMA = vol.Schema(_CHARGER)
_CHEAPEST_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_DEVICE_ID): vol.All(cv.ensure_list, [cv.string]),
        vol.Optional(ATTR_MEMBER): vol.Any(None, cv.string),
        vol.Exclusive(ATTR_ENERGY, "target"): vol.All(
            vol.Coerce(float), vol.Range(min=0.1, max=500)
        ),
        vol.Exclusive(ATTR_SOC, "target"): vol.All(vol.Coerce(float), vol.Range(min=1, max=100)),
        vol.Optional(ATTR_READY_BY): vol.Any(cv.time, cv.datetime),
    }
)


def _hub(hass: HomeAssistant) -> Hub:
    hub = loaded_hub(hass)
    if hub is None:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="hub_not_loaded")
    return hub


def _charger(call: ServiceCall) -> tuple[Hub, str]:
    from .services import charger_id_from_device  # services imports this module

    hub = _hub(call.hass)
    return hub, charger_id_from_device(call.hass, hub, call.data[ATTR_DEVICE_ID])


def _ready_by(value: time | datetime | None) -> tuple[time | None, datetime | None]:
    if value is None:
        return None, None
    if isinstance(value, datetime):
        local = value if value.tzinfo else value.replace(tzinfo=dt_util.get_default_time_zone())
        return None, dt_util.as_utc(local)
    return value, None


def _wh(kwh: float | None) -> int | None:
    return None if kwh is None else round(kwh * 1000)


async def _set_plan(call: ServiceCall) -> ServiceResponse:
    from .services import _member_id  # services imports this module

    hub, charger_id = _charger(call)
    member_id = _member_id(call.hass, hub, call.data.get(ATTR_MEMBER))
    ready_time, ready_at = _ready_by(call.data.get(ATTR_READY_BY))
    cap = call.data.get(ATTR_PRICE_CAP)
    mode = call.data.get(ATTR_MODE)
    settings = PlanSettings(
        mode=None if mode is None else PlanMode(mode),  # None: the member's mode
        ready_by=ready_time,
        ready_by_at=ready_at,
        energy_wh=_wh(call.data.get(ATTR_ENERGY)),
        target_soc_pct=call.data.get(ATTR_SOC),
        price_cap=None if cap is None else Decimal(str(cap)),
        min_energy_wh=_wh(call.data.get(ATTR_MIN_ENERGY)) or 0,
        member_id=member_id,
    )
    plan = await hub.site.planning.async_set_settings(charger_id, settings)
    return plan.as_dict()


async def _clear_plan(call: ServiceCall) -> None:
    hub, charger_id = _charger(call)
    await hub.site.planning.async_clear(charger_id)


async def _get_plan(call: ServiceCall) -> ServiceResponse:
    hub, charger_id = _charger(call)
    plan = hub.site.planning.plan_of(charger_id)
    if plan is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="no_plan",
            translation_placeholders={"charger": hub.charger_name(charger_id)},
        )
    return plan.as_dict()


async def _cheapest_charger(call: ServiceCall) -> ServiceResponse:
    """Which charger, and when, is cheapest next for the member (nothing is planned)."""
    from .services import _member_id, charger_id_from_device  # services imports this module

    hub = _hub(call.hass)
    member_id = _member_id(call.hass, hub, call.data.get(ATTR_MEMBER))
    devices: list[str] = call.data.get(ATTR_DEVICE_ID) or []
    charger_ids = (
        [charger_id_from_device(call.hass, hub, device) for device in devices]
        if devices
        else sorted(hub.site.chargers)
    )
    ready_time, ready_at = _ready_by(call.data.get(ATTR_READY_BY))
    settings = PlanSettings(
        ready_by=ready_time,
        ready_by_at=ready_at,
        energy_wh=_wh(call.data.get(ATTR_ENERGY)),
        target_soc_pct=call.data.get(ATTR_SOC),
    )
    choices = hub.site.planning.cheapest_for(member_id, charger_ids, settings)
    answers: list[Any] = [
        {**choice.as_dict(), "charger_name": hub.charger_name(choice.charger_id)}
        for choice in choices
    ]
    best = next((answer for answer in answers if not answer["busy"]), None)
    return {"member_id": member_id, "cheapest": best, "chargers": answers}


@callback
def async_setup_plan_services(hass: HomeAssistant) -> None:
    """Register the planned-charging actions."""
    register = functools.partial(hass.services.async_register, DOMAIN)
    register("set_plan", _set_plan, _SET_PLAN_SCHEMA, SupportsResponse.OPTIONAL)
    register("clear_plan", _clear_plan, _CHARGER_SCHEMA)
    register("get_plan", _get_plan, _CHARGER_SCHEMA, SupportsResponse.ONLY)
    register("cheapest_charger", _cheapest_charger, _CHEAPEST_SCHEMA, SupportsResponse.ONLY)
