"""Actions: query and export sessions, control chargers."""

from __future__ import annotations

import csv
from datetime import datetime
import io
from typing import Any

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.util import dt as dt_util
import probatio as vol

from .chargers.events import (
    SetCurrentLimit,
    StartCharging,
    StopCharging,
    UnlockConnector,
)
from .const import DOMAIN
from .helpers import execute_command, remote_id_tag
from .hub import Hub
from .serialize import SESSION_CSV_FIELDS, session_summary
from .setup_charger import loaded_hub

ATTR_DEVICE_ID = "device_id"
ATTR_CONNECTOR = "connector"
ATTR_START = "start"
ATTR_END = "end"
ATTR_LIMIT = "limit"
ATTR_ID_TAG = "id_tag"
ATTR_CURRENT = "current"

MAX_ID_TAG_LENGTH = 20  # OCPP 1.6 idTag is CiString20

_QUERY_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_DEVICE_ID): cv.string,
        vol.Optional(ATTR_START): cv.datetime,
        vol.Optional(ATTR_END): cv.datetime,
        vol.Optional(ATTR_LIMIT, default=100): vol.All(
            vol.Coerce(int), vol.Range(min=1, max=10000)
        ),
    }
)
_CHARGER_SCHEMA = {
    vol.Required(ATTR_DEVICE_ID): cv.string,
    vol.Optional(ATTR_CONNECTOR, default=1): vol.All(vol.Coerce(int), vol.Range(min=0, max=64)),
}
_START_SCHEMA = vol.Schema(
    {
        **_CHARGER_SCHEMA,
        vol.Optional(ATTR_ID_TAG): vol.All(cv.string, vol.Length(min=1, max=MAX_ID_TAG_LENGTH)),
    }
)
_STOP_SCHEMA = vol.Schema(_CHARGER_SCHEMA)
_LIMIT_SCHEMA = vol.Schema(
    {
        **_CHARGER_SCHEMA,
        vol.Required(ATTR_CURRENT): vol.All(vol.Coerce(float), vol.Range(min=0, max=500)),
    }
)


def _hub(hass: HomeAssistant) -> Hub:
    hub = loaded_hub(hass)
    if hub is None:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="hub_not_loaded")
    return hub


def charger_id_from_device(hass: HomeAssistant, hub: Hub, device_id: str) -> str:
    """The charger id behind an HA device id."""
    device = dr.async_get(hass).async_get(device_id)
    if device is not None:
        for domain, identifier in device.identifiers:
            if domain == DOMAIN and hub.charger(identifier) is not None:
                return identifier
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="unknown_charger_device",
        translation_placeholders={"device_id": device_id},
    )


def _as_utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt_util.get_default_time_zone())
    return dt_util.as_utc(value)


async def _query(call: ServiceCall) -> list[dict[str, Any]]:
    hub = _hub(call.hass)
    charger_id = None
    if device_id := call.data.get(ATTR_DEVICE_ID):
        charger_id = charger_id_from_device(call.hass, hub, device_id)
    sessions = await hub.engine.async_sessions(
        start=_as_utc(call.data.get(ATTR_START)),
        end=_as_utc(call.data.get(ATTR_END)),
        charger_id=charger_id,
        member_id=None,
        limit=call.data[ATTR_LIMIT],
    )
    return [session_summary(session) for session in sessions]


async def _list_sessions(call: ServiceCall) -> ServiceResponse:
    sessions: Any = await _query(call)
    return {"sessions": sessions}


async def _export_sessions(call: ServiceCall) -> ServiceResponse:
    rows = await _query(call)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=SESSION_CSV_FIELDS, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return {"csv": buffer.getvalue(), "count": len(rows)}


async def _start_charging(call: ServiceCall) -> None:
    hub = _hub(call.hass)
    charger_id = charger_id_from_device(call.hass, hub, call.data[ATTR_DEVICE_ID])
    id_tag = call.data.get(ATTR_ID_TAG) or remote_id_tag(call.context)
    await execute_command(
        hub, charger_id, StartCharging(connector_id=call.data[ATTR_CONNECTOR], id_tag=id_tag)
    )


async def _stop_charging(call: ServiceCall) -> None:
    hub = _hub(call.hass)
    charger_id = charger_id_from_device(call.hass, hub, call.data[ATTR_DEVICE_ID])
    await execute_command(hub, charger_id, StopCharging(connector_id=call.data[ATTR_CONNECTOR]))


async def _set_current_limit(call: ServiceCall) -> None:
    hub = _hub(call.hass)
    charger_id = charger_id_from_device(call.hass, hub, call.data[ATTR_DEVICE_ID])
    await execute_command(
        hub,
        charger_id,
        SetCurrentLimit(connector_id=call.data[ATTR_CONNECTOR], limit_a=call.data[ATTR_CURRENT]),
    )


async def _unlock(call: ServiceCall) -> None:
    hub = _hub(call.hass)
    charger_id = charger_id_from_device(call.hass, hub, call.data[ATTR_DEVICE_ID])
    await execute_command(
        hub, charger_id, UnlockConnector(connector_id=max(1, call.data[ATTR_CONNECTOR]))
    )


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's actions."""
    hass.services.async_register(
        DOMAIN, "list_sessions", _list_sessions, _QUERY_SCHEMA, SupportsResponse.ONLY
    )
    hass.services.async_register(
        DOMAIN, "export_sessions", _export_sessions, _QUERY_SCHEMA, SupportsResponse.ONLY
    )
    hass.services.async_register(DOMAIN, "start_charging", _start_charging, _START_SCHEMA)
    hass.services.async_register(DOMAIN, "stop_charging", _stop_charging, _STOP_SCHEMA)
    hass.services.async_register(DOMAIN, "set_current_limit", _set_current_limit, _LIMIT_SCHEMA)
    hass.services.async_register(DOMAIN, "unlock_connector", _unlock, _STOP_SCHEMA)
