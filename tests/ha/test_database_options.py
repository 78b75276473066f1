"""Hub options: the database URL is checked before it is saved and never shows its password."""

from __future__ import annotations

from collections.abc import Callable
import os
import socket
from typing import Any

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResult, FlowResultType
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.components.diagnostics import (
    get_diagnostics_for_config_entry,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
from sqlalchemy.engine import make_url

from custom_components.ev_sessions.const import (
    CONF_DB_URL,
    CONF_FAST_MIN_KW,
    CONF_METER_INTERVAL,
    CONF_REJECT_UNKNOWN,
    CONF_SLOW_MAX_KW,
)
from tests.databases import SERVER_BACKENDS, SERVER_ENV, run_script, schema_of


async def _hub_form(hass: HomeAssistant, entry: MockConfigEntry) -> FlowResult:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    return await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "hub"}
    )


def _suggested(form: FlowResult, key: str) -> Any:
    """The value the form suggests for ``key``."""
    for marker in form["data_schema"].schema:
        if marker == key:
            return (marker.description or {}).get("suggested_value")
    raise AssertionError(f"{key} not in the form")


async def _submit(hass: HomeAssistant, form: FlowResult, url: str | None) -> FlowResult:
    """The hub form with the other fields as they were and ``url`` for the database."""
    values: dict[str, Any] = {
        CONF_REJECT_UNKNOWN: False,
        CONF_METER_INTERVAL: 10,
        CONF_SLOW_MAX_KW: 4.0,
        CONF_FAST_MIN_KW: 22.0,
    }
    if url is not None:
        values[CONF_DB_URL] = url
    return await hass.config_entries.options.async_configure(form["flow_id"], values)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_database_url_checked_then_used(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    hub: MockConfigEntry,
    new_db: Callable[..., str],
) -> None:
    """Not a URL, nothing listening, a newer schema: the form says which; a usable database
    is created, saved, and the hub reloads onto it. The form and diagnostics show the URL
    without its password, and a URL sent back masked keeps the stored password."""
    form = await _hub_form(hass, hub)
    for url, error in (
        ("not a url", "db_invalid_url"),
        ("oracle://ev:pw@127.0.0.1/ev", "db_invalid_url"),
        (f"mysql+pymysql://ev:pw@127.0.0.1:{_closed_port()}/ev", "db_cannot_connect"),
        (f"postgresql+psycopg://ev:pw@127.0.0.1:{_closed_port()}/ev", "db_cannot_connect"),
    ):
        form = await _submit(hass, form, url)
        assert form["errors"] == {CONF_DB_URL: error}, url
    newer = new_db("newer")
    run_script(
        newer,
        "CREATE TABLE schema_version (version INTEGER);INSERT INTO schema_version VALUES (99)",
    )
    form = await _submit(hass, form, newer)
    assert form["errors"] == {CONF_DB_URL: "db_newer_schema"}
    assert schema_of(newer)["schema_version"]  # left as it was

    target = new_db("server")
    form = await _submit(hass, form, f"  {target} ")
    assert form["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert hub.options[CONF_DB_URL] == target
    assert hub.state is ConfigEntryState.LOADED
    assert hub.runtime_data.hub.site.store.url == target
    assert {"sessions", "session_costs", "schema_version"} <= set(schema_of(target))

    password = make_url(target).password
    form = await _hub_form(hass, hub)
    shown = _suggested(form, CONF_DB_URL)
    assert shown == make_url(target).render_as_string(hide_password=True)
    if password:
        assert password not in shown
        assert "***" in shown
    form = await _submit(hass, form, shown)  # sent back as shown
    assert form["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert hub.options[CONF_DB_URL] == target

    assert await async_setup_component(hass, "diagnostics", {})
    data = await get_diagnostics_for_config_entry(hass, hass_client, hub)
    assert data["entry"]["options"][CONF_DB_URL] == shown
    if password:
        assert password not in str(data)

    form = await _hub_form(hass, hub)
    form = await _submit(hass, form, "")  # empty: back to the SQLite file
    assert form["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert hub.state is ConfigEntryState.LOADED
    assert CONF_DB_URL not in hub.options


@pytest.mark.parametrize("backend", SERVER_BACKENDS)
async def test_wrong_password_is_said_and_never_logged(
    hass: HomeAssistant,
    hub: MockConfigEntry,
    backend: str,
    caplog: pytest.LogCaptureFixture,
    request: pytest.FixtureRequest,
) -> None:
    """The server refuses the password: the form says so; the log names the server only."""
    if backend == "mariadb":
        request.getfixturevalue("socket_enabled")  # PyMySQL uses Python's sockets
    url = make_url(os.environ[SERVER_ENV[backend]]).set(password="wr0ng-pass")
    form = await _hub_form(hass, hub)
    form = await _submit(hass, form, url.render_as_string(hide_password=False))
    assert form["errors"] == {CONF_DB_URL: "db_auth_failed"}
    assert "wr0ng-pass" not in caplog.text
    assert url.render_as_string(hide_password=True) in caplog.text
