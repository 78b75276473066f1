"""Config and options flows: they test before they create."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from unittest.mock import patch

from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_sessions.billing_glue import CONF_BILL_DAY, CONF_BILL_TIME
from custom_components.ev_sessions.const import (
    CONF_CHARGER_ID,
    CONF_ENTRY_TYPE,
    CONF_FAST_MIN_KW,
    CONF_METER_INTERVAL,
    CONF_MODEL,
    CONF_OCPP_PORT,
    CONF_PROTOCOL,
    CONF_REJECT_UNKNOWN,
    CONF_SLOW_MAX_KW,
    CONF_SSL_CERTFILE,
    CONF_SSL_KEYFILE,
    CONF_UNIT_ID,
    DOMAIN,
    ENTRY_TYPE_CHARGER,
    ENTRY_TYPE_HUB,
    HUB_UNIQUE_ID,
    PROTOCOL_MODBUS,
    PROTOCOL_OCPP,
)
from simulators.modbus import start_simulator

from .conftest import free_port
from .helpers import ocpp_charger_entry

pytestmark = pytest.mark.usefixtures("socket_enabled")


@pytest.fixture(autouse=True)
async def _no_setup(hass: HomeAssistant) -> AsyncIterator[None]:
    """Created entries are not set up: the flow is what is tested here."""
    with (
        patch("custom_components.ev_sessions.async_setup_entry", return_value=True),
        patch("custom_components.ev_sessions.async_unload_entry", return_value=True),
    ):
        yield
        for entry in hass.config_entries.async_entries(DOMAIN):
            await hass.config_entries.async_unload(entry.entry_id)


def _hub_entry(hass: HomeAssistant, port: int = 9000) -> MockConfigEntry:
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=HUB_UNIQUE_ID,
        data={CONF_ENTRY_TYPE: ENTRY_TYPE_HUB, CONF_OCPP_PORT: port},
    )
    entry.add_to_hass(hass)
    return entry


async def test_hub_is_created_once(hass: HomeAssistant) -> None:
    """The first flow creates the hub after checking that the port is free."""
    port = free_port()
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "hub"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_OCPP_PORT: port}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"] == {
        CONF_ENTRY_TYPE: ENTRY_TYPE_HUB,
        CONF_OCPP_PORT: port,
        CONF_SSL_CERTFILE: "",
        CONF_SSL_KEYFILE: "",
    }
    assert result["result"].unique_id == HUB_UNIQUE_ID

    # With a hub in place, the user flow offers to add chargers instead.
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["modbus", "ocpp"]


async def test_hub_port_in_use(hass: HomeAssistant) -> None:
    """A port something else listens on is refused, tied to the port field."""
    port = free_port()
    server = await asyncio.start_server(lambda _r, _w: None, "0.0.0.0", port)  # noqa: S104
    try:
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_OCPP_PORT: port}
        )
    finally:
        server.close()
        await server.wait_closed()
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {CONF_OCPP_PORT: "port_in_use"}


async def test_hub_tls_files_are_checked(
    hass: HomeAssistant, certificate: tuple[str, str], tmp_path: Path
) -> None:
    """Missing or broken certificate files are errors; a good pair is accepted."""
    cert, key = certificate
    port = free_port()
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    flow_id = result["flow_id"]
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_OCPP_PORT: port, CONF_SSL_CERTFILE: str(tmp_path / "missing.pem")}
    )
    assert result["errors"] == {CONF_SSL_CERTFILE: "file_not_found"}
    broken = tmp_path / "broken.pem"
    broken.write_text("not a certificate")
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_OCPP_PORT: port, CONF_SSL_CERTFILE: str(broken)}
    )
    assert result["errors"] == {CONF_SSL_CERTFILE: "invalid_certificate"}
    result = await hass.config_entries.flow.async_configure(
        flow_id, {CONF_OCPP_PORT: port, CONF_SSL_CERTFILE: cert, CONF_SSL_KEYFILE: key}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["data"][CONF_SSL_CERTFILE] == cert


async def test_add_ocpp_charger_by_id(hass: HomeAssistant) -> None:
    """An OCPP charger can be added before it connects, with a password."""
    _hub_entry(hass)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "ocpp"}
    )
    assert result["step_id"] == "ocpp"
    for bad in ("", "a/b", "x" * 49):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {CONF_CHARGER_ID: bad}
        )
        assert result["errors"] == {CONF_CHARGER_ID: "invalid_charger_id"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_CHARGER_ID: " CP-7 ", CONF_PASSWORD: "s3cret"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "CP-7"
    assert result["data"] == {
        CONF_ENTRY_TYPE: ENTRY_TYPE_CHARGER,
        CONF_PROTOCOL: PROTOCOL_OCPP,
        CONF_CHARGER_ID: "CP-7",
        CONF_PASSWORD: "s3cret",
    }

    # The same id again is refused.
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "ocpp"}
    )
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_CHARGER_ID: "CP-7"}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "already_configured"


async def test_add_modbus_charger_tests_the_connection(hass: HomeAssistant) -> None:
    """Unreachable: error on the form; reachable: created with the serial as unique id."""
    _hub_entry(hass)
    port = free_port()
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"next_step_id": "modbus"}
    )
    user_input = {CONF_HOST: "127.0.0.1", CONF_PORT: port, CONF_MODEL: "vestel"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"base": "cannot_connect"}

    sim = await start_simulator("vestel", port=port)
    try:
        result = await hass.config_entries.flow.async_configure(result["flow_id"], user_input)
    finally:
        await sim.stop()
    assert result["type"] is FlowResultType.CREATE_ENTRY
    data = result["data"]
    assert data[CONF_PROTOCOL] == PROTOCOL_MODBUS
    assert data[CONF_UNIT_ID] == 255  # the model's usual unit id
    assert data[CONF_PORT] == port
    assert result["result"].unique_id == data[CONF_CHARGER_ID]
    assert data[CONF_CHARGER_ID].startswith("modbus_")


async def test_options_hub(hass: HomeAssistant) -> None:
    """Hub options validate the speed thresholds and keep the bills' issuing day and time."""
    entry = _hub_entry(hass)
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == ["hub", "prices", "power_budget"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "hub"}
    )
    assert result["step_id"] == "hub"
    options = {
        CONF_REJECT_UNKNOWN: True,
        CONF_METER_INTERVAL: 30,
        CONF_SLOW_MAX_KW: 11.0,
        CONF_FAST_MIN_KW: 7.0,
        CONF_BILL_DAY: 2,  # bills issued on the 2nd at 07:30 local
        CONF_BILL_TIME: "07:30",
    }
    result = await hass.config_entries.options.async_configure(result["flow_id"], options)
    assert result["errors"] == {CONF_FAST_MIN_KW: "fast_below_slow"}
    options[CONF_SLOW_MAX_KW] = 4.0
    result = await hass.config_entries.options.async_configure(result["flow_id"], options)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert entry.options == options


async def test_options_ocpp_charger_password(hass: HomeAssistant) -> None:
    """The charger's password is set and cleared in its options."""
    _hub_entry(hass)
    entry = ocpp_charger_entry(hass, "CP-9")
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["step_id"] == "charger"
    await hass.config_entries.options.async_configure(result["flow_id"], {CONF_PASSWORD: "pw1"})
    assert entry.data[CONF_PASSWORD] == "pw1"
    result = await hass.config_entries.options.async_init(entry.entry_id)
    await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert CONF_PASSWORD not in entry.data


async def test_reconfigure_hub_port(hass: HomeAssistant) -> None:
    """Reconfiguring the hub to a free port updates it; the current port is not 'in use'."""
    entry = _hub_entry(hass, port=free_port())
    new_port = free_port()
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "reconfigure"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {CONF_OCPP_PORT: new_port}
    )
    assert result["type"] is FlowResultType.ABORT
    assert result["reason"] == "reconfigure_successful"
    assert entry.data[CONF_OCPP_PORT] == new_port


async def test_options_ocpp_charger_form_keeps_the_password(hass: HomeAssistant) -> None:
    """The options form shows the stored password (masked), so saving it for the maximum
    current or battery capacity does not remove the charger's password."""
    _hub_entry(hass)
    entry = ocpp_charger_entry(hass, "CP-8")
    result = await hass.config_entries.options.async_init(entry.entry_id)
    await hass.config_entries.options.async_configure(result["flow_id"], {CONF_PASSWORD: "pw1"})
    result = await hass.config_entries.options.async_init(entry.entry_id)
    suggested = {
        str(key): key.description.get("suggested_value")
        for key in result["data_schema"].schema
        if key.description
    }
    assert suggested[CONF_PASSWORD] == "pw1"
