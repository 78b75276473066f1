"""Repair fix flows whose subject is gone, the bill pages' bad requests, and a database URL
sent back masked (issue 16 coverage): each ends in a clear answer, never an error page."""

from __future__ import annotations

from http import HTTPStatus

from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.ev_sessions.const import (
    CONF_ENTRY_TYPE,
    CONF_OCPP_PORT,
    DOMAIN,
    ENTRY_TYPE_HUB,
    HUB_UNIQUE_ID,
)
from custom_components.ev_sessions.database_flow import typed_url
from custom_components.ev_sessions.hub import (
    CONF_ALLOW_WITHOUT_PASSWORD,
    CONF_IDENTITY,
    ISSUE_IDENTITY,
    ISSUE_NO_PASSWORD,
)
from custom_components.ev_sessions.repairs import async_create_fix_flow
from tests.core.billing_fixtures import Clock, Household, local

from .helpers import ocpp_charger_entry


async def _start_fix(hass: HomeAssistant, issue_id: str, data: dict[str, str]) -> dict[str, object]:
    flow = await async_create_fix_flow(hass, issue_id, data)
    flow.hass = hass
    flow.flow_id = "test"
    flow.handler = DOMAIN
    return dict(await flow.async_step_init())


async def test_unknown_tag_fix_needs_the_hub_and_a_member(hass: HomeAssistant) -> None:
    result = await _start_fix(hass, "unknown_tag_CAFE", {"id_tag": "CAFE"})
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "hub_not_loaded")
    MockConfigEntry(
        domain=DOMAIN,
        unique_id=HUB_UNIQUE_ID,
        data={CONF_ENTRY_TYPE: ENTRY_TYPE_HUB, CONF_OCPP_PORT: 9000},
    ).add_to_hass(hass)
    result = await _start_fix(hass, "unknown_tag_CAFE", {"id_tag": "CAFE"})
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "no_members")


async def test_charger_fixes_of_a_removed_charger_abort(hass: HomeAssistant) -> None:
    for issue in (ISSUE_NO_PASSWORD, ISSUE_IDENTITY):
        result = await _start_fix(hass, f"{issue}_CP9", {"entry_id": "gone"})
        assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "charger_removed")


async def test_charger_fixes_apply_to_the_entry_while_the_hub_is_not_loaded(
    hass: HomeAssistant,
) -> None:
    """The entry is changed now; the hub takes it in when it starts."""
    entry = ocpp_charger_entry(hass, "CP1")
    flow = await async_create_fix_flow(
        hass, f"{ISSUE_NO_PASSWORD}_CP1", {"entry_id": entry.entry_id}
    )
    flow.hass = hass
    result = await flow.async_step_init()
    assert result["step_id"] == "confirm"
    assert result["description_placeholders"] == {"charger": "CP1"}
    result = await flow.async_step_confirm({})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options[CONF_ALLOW_WITHOUT_PASSWORD] is True

    data = {"entry_id": entry.entry_id, "vendor": "ACME", "model": "W2", "serial": "S-2"}
    flow = await async_create_fix_flow(hass, f"{ISSUE_IDENTITY}_CP1", data)
    flow.hass = hass
    await flow.async_step_init()
    result = await flow.async_step_confirm({})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.data[CONF_IDENTITY] == {"vendor": "ACME", "model": "W2", "serial": "S-2"}


async def test_bill_pages_bad_requests(
    hass: HomeAssistant, hub: MockConfigEntry, hass_client: ClientSessionGenerator
) -> None:
    await hass.config.async_set_time_zone("Europe/Stockholm")
    house = Household(hub.runtime_data.hub.site.store, Clock())
    await house.add("s-a1", "anna", local(2026, 11, 3, 18), local(2026, 11, 3, 22), 7_400)
    client = await hass_client()
    csv = await client.get("/api/ev_sessions/reports/2026-11.csv")
    assert csv.status == HTTPStatus.OK
    assert csv.content_type == "text/csv"
    rows = (await csv.text()).splitlines()
    assert any("7.400" in row or "7400" in row for row in rows[1:]), rows
    assert (await client.get("/api/ev_sessions/reports/2026-13")).status == HTTPStatus.NOT_FOUND
    assert (await client.get("/api/ev_sessions/reports/soon")).status == HTTPStatus.NOT_FOUND

    assert await hass.config_entries.async_unload(hub.entry_id)
    for path in ("/api/ev_sessions/bills/2026-0001", "/api/ev_sessions/reports/2026-11"):
        assert (await client.get(path)).status == HTTPStatus.SERVICE_UNAVAILABLE, path


def test_a_database_url_sent_back_masked_keeps_the_stored_password() -> None:
    stored = "postgresql+psycopg://ev:s3cret@db.local:5432/ev"
    assert typed_url(" postgresql+psycopg://ev:***@db.local:5432/ev ", stored) == stored
    # Another password typed: that one; a URL that cannot be read is left for the check.
    typed = "postgresql+psycopg://ev:new@db.local:5432/ev"
    assert typed_url(typed, stored) == typed
    broken = "postgresql+psycopg://ev:***@db.local:port/ev"
    assert typed_url(broken, stored) == broken
