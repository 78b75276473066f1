"""Actions: query and export sessions, control chargers.

Actions never fail with an unexpected error: bad requests (a range that ends before it starts,
a connector the charger does not have, connector 0 where a connector is needed) raise
:class:`ServiceValidationError`, storage faults and charger errors :class:`HomeAssistantError`,
all translated.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
import csv
from datetime import datetime
import functools
import io
from typing import Any

from homeassistant.core import (
    HomeAssistant,
    ServiceCall,
    ServiceResponse,
    SupportsResponse,
    callback,
)
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.util import dt as dt_util
import probatio as vol

from .billing_services import async_setup_billing_services
from .chargers.events import (
    DEFAULT_MAX_CONNECTORS,
    StopCharging,
    UnlockConnector,
)
from .const import DOMAIN
from .core import SessionNotFoundError, StorageError, async_reattribute
from .core.cost import SessionCost
from .core.pricing import NoTariffError, UnknownSessionError
from .devices import charger_id_of, member_id_of
from .events_bridge import session_names
from .helpers import execute_command, run_command
from .hub import Hub
from .members import member_by_id_or_name
from .number import async_set_current_limit
from .plan_services import async_setup_plan_services
from .serialize import SESSION_CSV_FIELDS, session_summary
from .setup_charger import loaded_hub
from .statistics import async_members_changed

ATTR_DEVICE_ID = "device_id"
ATTR_CONNECTOR = "connector"
ATTR_START = "start"
ATTR_END = "end"
ATTR_LIMIT = "limit"
ATTR_ID_TAG = "id_tag"
ATTR_CURRENT = "current"
ATTR_MEMBER = "member"
ATTR_SESSION_ID = "session_id"
ATTR_REASON = "reason"
#: Cost columns of list_sessions and export_sessions (after the session's own).
COST_FIELDS = ["cost_total", "currency", "cost_estimated"]
#: Name columns of the CSV export (the household's names; the ids stay too).
NAME_FIELDS = ["charger_name", "member_name"]

MAX_ID_TAG_LENGTH = 20  # OCPP 1.6 idTag is CiString20

_QUERY_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_DEVICE_ID): cv.string,
        vol.Optional(ATTR_MEMBER): cv.string,
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
        vol.Optional(ATTR_MEMBER): cv.string,
        vol.Optional(ATTR_ID_TAG): vol.All(cv.string, vol.Length(min=1, max=MAX_ID_TAG_LENGTH)),
    }
)
_REATTRIBUTE_SCHEMA = vol.Schema(
    {vol.Required(ATTR_SESSION_ID): cv.string, vol.Required(ATTR_MEMBER): cv.string}
)
_SESSION_SCHEMA = vol.Schema({vol.Required(ATTR_SESSION_ID): cv.string})
_REPRICE_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_SESSION_ID): cv.string,
        vol.Required(ATTR_REASON): vol.All(cv.string, vol.Length(min=1, max=500)),
    }
)
_LEARN_SCHEMA = vol.Schema(
    {vol.Required(ATTR_DEVICE_ID): cv.string, vol.Required(ATTR_MEMBER): cv.string}
)
_STOP_SCHEMA = vol.Schema(_CHARGER_SCHEMA)
_LIMIT_SCHEMA = vol.Schema(
    {
        **_CHARGER_SCHEMA,
        # 0, the whole charger (connector 1 on a single-connector one): the limit entity's scope
        vol.Optional(ATTR_CONNECTOR, default=0): vol.All(vol.Coerce(int), vol.Range(min=0, max=64)),
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
        for identifier in device.identifiers:
            # Only a charger's device: the hub's and the members' are never chargers.
            charger_id = charger_id_of(identifier)
            if charger_id is not None and hub.site.charger(charger_id) is not None:
                return charger_id
    raise ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="unknown_charger_device",
        translation_placeholders={"device_id": device_id},
    )


def member_id_from_device(hass: HomeAssistant, device_id: str) -> str | None:
    """The member id behind a member's HA device id (``None`` for any other device or value)."""
    device = dr.async_get(hass).async_get(device_id)
    if device is None:
        return None
    return next(
        (member_id for identifier in device.identifiers if (member_id := member_id_of(identifier))),
        None,
    )


def _storage_errors[T](
    handler: Callable[[ServiceCall], Coroutine[Any, Any, T]],
) -> Callable[[ServiceCall], Coroutine[Any, Any, T]]:
    """Let a storage fault in the action become a translated error, not an unexpected one."""

    @functools.wraps(handler)
    async def wrapper(call: ServiceCall) -> T:
        try:
            return await handler(call)
        except StorageError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="storage_error",
                translation_placeholders={"error": str(err)},
            ) from err

    return wrapper


def _connector(hub: Hub, charger_id: str, connector_id: int, *, whole_charger: bool) -> int:
    """``connector_id`` when the charger has it (0, the whole charger, only if allowed)."""
    if connector_id == 0 and not whole_charger:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="connector_zero",
            translation_placeholders={"charger": charger_id},
        )
    link = hub.site.charger(charger_id)
    reported = link.info.connectors if link is not None and link.info is not None else 0
    limit = max([reported, *hub.engine.connectors(charger_id)]) or DEFAULT_MAX_CONNECTORS
    if connector_id > limit:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_connector",
            translation_placeholders={
                "charger": charger_id,
                "connector": str(connector_id),
                "count": str(limit),
            },
        )
    return connector_id


def _time_range(call: ServiceCall) -> tuple[datetime | None, datetime | None]:
    """The action's ``start`` and ``end`` as UTC; a range ending before it starts is refused."""
    start, end = _as_utc(call.data.get(ATTR_START)), _as_utc(call.data.get(ATTR_END))
    if start is not None and end is not None and start > end:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_time_range",
            translation_placeholders={"start": start.isoformat(), "end": end.isoformat()},
        )
    return start, end


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
    start, end = _time_range(call)
    sessions = await hub.engine.async_sessions(
        start=start,
        end=end,
        charger_id=charger_id,
        member_id=_member_id(call.hass, hub, call.data.get(ATTR_MEMBER)),
        limit=call.data[ATTR_LIMIT],
    )
    costs = await hub.site.store.async_costs([session.id for session in sessions])
    rows = []
    for session in sessions:
        row = session_summary(session)
        row.update(session_names(hub, session))
        record = costs.get(session.id)
        cost = record.cost if record is not None else hub.site.session_cost(session.id)
        row.update(_cost_columns(cost))
        rows.append(row)
    return rows


def _cost_columns(cost: SessionCost | None) -> dict[str, Any]:
    """The cost columns of a session (``None`` while it has no cost)."""
    if cost is None:
        return dict.fromkeys(COST_FIELDS)
    return {
        "cost_total": str(cost.total),
        "currency": cost.currency,
        "cost_estimated": cost.estimated,
    }


async def _get_session(call: ServiceCall) -> ServiceResponse:
    hub = _hub(call.hass)
    session_id = call.data[ATTR_SESSION_ID]
    session = hub.engine.session(session_id)
    if session is None:
        await hub.engine.async_flush()
        session = await hub.site.store.async_get(session_id)
    if session is None:
        raise _unknown_session(session_id)
    data = session_summary(session)
    record = (await hub.site.store.async_costs([session_id])).get(session_id)
    cost = hub.site.session_cost(session_id) if session.is_open or record is None else record.cost
    data.update(_cost_columns(cost))
    data["cost"] = None if cost is None else cost.to_dict()
    data["cost_reason"] = None if record is None or session.is_open else str(record.reason)
    data["slots"] = [
        {"start": slot.start.isoformat(), "energy_wh": slot.energy_wh}
        for slot in [*session.slots, *([session.open_slot] if session.open_slot else [])]
    ]
    session_data: Any = data
    return {"session": session_data}


async def _reprice_session(call: ServiceCall) -> ServiceResponse:
    hub = _hub(call.hass)
    session_id = call.data[ATTR_SESSION_ID]
    try:
        record = await hub.site.async_reprice(
            session_id, call.data[ATTR_REASON], call.context.user_id
        )
    except UnknownSessionError as err:
        raise _unknown_session(session_id) from err
    except NoTariffError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN, translation_key="no_tariff"
        ) from err
    cost_data: Any = record.cost.to_dict()
    return {"session_id": session_id, "cost": cost_data}


def _unknown_session(session_id: str) -> ServiceValidationError:
    return ServiceValidationError(
        translation_domain=DOMAIN,
        translation_key="unknown_session",
        translation_placeholders={"session_id": session_id},
    )


async def _list_sessions(call: ServiceCall) -> ServiceResponse:
    sessions: Any = await _query(call)
    return {"sessions": sessions}


async def _export_sessions(call: ServiceCall) -> ServiceResponse:
    rows = await _query(call)
    buffer = io.StringIO()
    fields = [*SESSION_CSV_FIELDS, *NAME_FIELDS, *COST_FIELDS]
    writer = csv.DictWriter(buffer, fieldnames=fields, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return {"csv": buffer.getvalue(), "count": len(rows)}


def _member_id(hass: HomeAssistant, hub: Hub, value: str | None) -> str | None:
    """The member id behind an action's ``member``: a member's device id (what the action's
    selector gives), or, as older automations write it, the member's id or name."""
    if not value:
        return None
    member = member_by_id_or_name(hub.site.directory, member_id_from_device(hass, value) or value)
    if member is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_member",
            translation_placeholders={"member": value},
        )
    return member.id


async def _start_charging(call: ServiceCall) -> None:
    hub = _hub(call.hass)
    charger_id = charger_id_from_device(call.hass, hub, call.data[ATTR_DEVICE_ID])
    connector_id = _connector(hub, charger_id, call.data[ATTR_CONNECTOR], whole_charger=False)
    await run_command(
        charger_id,
        hub.async_remote_start(
            charger_id,
            connector_id,
            user_id=call.context.user_id,
            member_id=_member_id(call.hass, hub, call.data.get(ATTR_MEMBER)),
            id_tag=call.data.get(ATTR_ID_TAG),
        ),
    )


async def _reattribute(call: ServiceCall) -> ServiceResponse:
    hub = _hub(call.hass)
    member_id = _member_id(call.hass, hub, call.data[ATTR_MEMBER])
    assert member_id is not None
    try:
        entry = await async_reattribute(
            hub.engine,
            hub.site.audit,
            call.data[ATTR_SESSION_ID],
            member_id,
            by_user=call.context.user_id,
        )
    except SessionNotFoundError as err:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_session",
            translation_placeholders={"session_id": call.data[ATTR_SESSION_ID]},
        ) from err
    await hub.site.audit.async_flush()
    if entry is not None:
        async_members_changed(call.hass, (entry.previous_member_id, member_id))
    return {
        "changed": entry is not None,
        "from_member_id": entry.previous_member_id if entry else None,
        "to_member_id": member_id,
    }


async def _list_authorizations(call: ServiceCall) -> ServiceResponse:
    hub = _hub(call.hass)
    charger_id = None
    if device_id := call.data.get(ATTR_DEVICE_ID):
        charger_id = charger_id_from_device(call.hass, hub, device_id)
    start, end = _time_range(call)
    rows = await hub.site.audit.async_query(
        start=start,
        end=end,
        charger_id=charger_id,
        member_id=_member_id(call.hass, hub, call.data.get(ATTR_MEMBER)),
        limit=call.data[ATTR_LIMIT],
    )
    directory = hub.site.directory
    items: Any = [
        {
            "at": row.at.isoformat(),
            "charger_id": row.charger_id,
            "connector_id": row.connector_id,
            "id_tag": row.id_tag,
            "member_id": row.member_id,
            "member_name": m.name if (m := directory.member(row.member_id)) else None,
            "status": row.status,
            "reason": row.reason,
            "source": row.source,
            "session_id": row.session_id,
            "previous_member_id": row.previous_member_id,
            "user_id": row.user_id,
        }
        for row in rows
    ]
    return {"authorizations": items}


async def _learn_tag(call: ServiceCall) -> None:
    hub = _hub(call.hass)
    charger_id = charger_id_from_device(call.hass, hub, call.data[ATTR_DEVICE_ID])
    member_id = _member_id(call.hass, hub, call.data[ATTR_MEMBER])
    assert member_id is not None
    hub.site.start_learning(charger_id, member_id)


async def _stop_charging(call: ServiceCall) -> None:
    hub = _hub(call.hass)
    charger_id = charger_id_from_device(call.hass, hub, call.data[ATTR_DEVICE_ID])
    connector_id = _connector(hub, charger_id, call.data[ATTR_CONNECTOR], whole_charger=False)
    await execute_command(hub, charger_id, StopCharging(connector_id=connector_id))


async def _set_current_limit(call: ServiceCall) -> None:
    hub = _hub(call.hass)
    charger_id = charger_id_from_device(call.hass, hub, call.data[ATTR_DEVICE_ID])
    connector_id = _connector(hub, charger_id, call.data[ATTR_CONNECTOR], whole_charger=True)
    await async_set_current_limit(call.hass, hub, charger_id, connector_id, call.data[ATTR_CURRENT])


async def _unlock(call: ServiceCall) -> None:
    hub = _hub(call.hass)
    charger_id = charger_id_from_device(call.hass, hub, call.data[ATTR_DEVICE_ID])
    connector_id = _connector(hub, charger_id, call.data[ATTR_CONNECTOR], whole_charger=False)
    await execute_command(hub, charger_id, UnlockConnector(connector_id=connector_id))


@callback
def async_setup_services(hass: HomeAssistant) -> None:
    """Register the integration's actions."""
    register = functools.partial(hass.services.async_register, DOMAIN)
    async_setup_billing_services(hass)
    async_setup_plan_services(hass)
    register("list_sessions", _storage_errors(_list_sessions), _QUERY_SCHEMA, SupportsResponse.ONLY)
    register(
        "export_sessions", _storage_errors(_export_sessions), _QUERY_SCHEMA, SupportsResponse.ONLY
    )
    register("start_charging", _storage_errors(_start_charging), _START_SCHEMA)
    register(
        "reattribute_session",
        _storage_errors(_reattribute),
        _REATTRIBUTE_SCHEMA,
        SupportsResponse.OPTIONAL,
    )
    register(
        "list_authorizations",
        _storage_errors(_list_authorizations),
        _QUERY_SCHEMA,
        SupportsResponse.ONLY,
    )
    register("get_session", _storage_errors(_get_session), _SESSION_SCHEMA, SupportsResponse.ONLY)
    register(
        "reprice_session",
        _storage_errors(_reprice_session),
        _REPRICE_SCHEMA,
        SupportsResponse.OPTIONAL,
    )
    register("learn_tag", _storage_errors(_learn_tag), _LEARN_SCHEMA)
    register("stop_charging", _storage_errors(_stop_charging), _STOP_SCHEMA)
    register("set_current_limit", _storage_errors(_set_current_limit), _LIMIT_SCHEMA)
    register("unlock_connector", _storage_errors(_unlock), _STOP_SCHEMA)
