"""Diagnostics: what a maintainer needs to see, with passwords and tags redacted."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from homeassistant.components.diagnostics import async_redact_data
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_PASSWORD
from homeassistant.core import HomeAssistant

from .const import CONF_DB_URL, CONF_ENTRY_TYPE, DOMAIN, ENTRY_TYPE_HUB
from .coordinator import ChargerRuntimeData, HubRuntimeData
from .core.storage.urls import redact_url
from .serialize import session_summary

TO_REDACT = {CONF_PASSWORD, "id_tag", "idTag", "id_token", "idToken", "member_id"}


async def async_get_config_entry_diagnostics(
    hass: HomeAssistant, entry: ConfigEntry
) -> dict[str, Any]:
    """Hub: settings and the OCPP server; charger: identity, connectors, protocol deviations."""
    data: dict[str, Any] = {
        "entry": {"data": dict(entry.data), "options": dict(entry.options)},
    }
    for part in data["entry"].values():  # the database URL without its password
        if part.get(CONF_DB_URL):
            part[CONF_DB_URL] = redact_url(str(part[CONF_DB_URL]))
    if entry.data[CONF_ENTRY_TYPE] == ENTRY_TYPE_HUB:
        hub_runtime: HubRuntimeData = entry.runtime_data
        data["ocpp_server"] = hub_runtime.server.diagnostics()
        data["chargers"] = sorted(hub_runtime.hub.site.chargers)
        directory = hub_runtime.hub.site.directory
        data["members"] = [
            {
                "id": member.id,
                "tags": len(member.tags),
                "has_person": member.person_entity_id is not None,
                "tariff_group": member.tariff_group,
            }
            for member in directory
        ]
        data["member_problems"] = list(directory.problems)
        storage = hub_runtime.hub.engine.storage_status
        data["storage"] = {
            "writable": storage.writable,
            "fault": storage.fault,
            "error": storage.error,
            "failing_since": storage.failing_since.isoformat() if storage.failing_since else None,
            "pending": storage.pending,
            "quarantined": [
                {"kind": row.kind, "key": row.key, "error": row.error, "at": row.at.isoformat()}
                for row in storage.quarantined
            ],
        }
        return async_redact_data(data, TO_REDACT)

    runtime: ChargerRuntimeData = entry.runtime_data
    engine = runtime.hub.engine
    charger_id = runtime.link.charger_id
    data["info"] = asdict(runtime.link.info) if runtime.link.info else None
    data["lifetime_energy_wh"] = engine.lifetime_energy_wh(charger_id)
    connectors = []
    for connector_id in engine.connectors(charger_id):
        view = engine.connector(charger_id, connector_id)
        connectors.append(
            {
                "connector_id": connector_id,
                "status": view.status.value,
                "error_code": view.error_code,
                "power_w": view.power_w,
                "energy_register_wh": view.energy_register_wh,
                "session": session_summary(view.session) if view.session else None,
                "last_session": session_summary(view.last_session) if view.last_session else None,
            }
        )
    data["connectors"] = connectors
    if runtime.adapter is not None:
        data["adapter"] = runtime.adapter.diagnostics()
    else:
        hub_entry_runtime = _hub_runtime(hass)
        if hub_entry_runtime is not None:
            data["adapter"] = hub_entry_runtime.server.charger_diagnostics(charger_id)
    return async_redact_data(data, TO_REDACT)


def _hub_runtime(hass: HomeAssistant) -> HubRuntimeData | None:
    for other in hass.config_entries.async_loaded_entries(DOMAIN):
        if other.data.get(CONF_ENTRY_TYPE) == ENTRY_TYPE_HUB:
            runtime: HubRuntimeData = other.runtime_data
            return runtime
    return None
