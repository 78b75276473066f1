"""The hub at startup when its port is taken or its certificate cannot be loaded (issue 16
coverage): not ready, with the reason on the entry, and set up by the retry once it can be."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
import socket

from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.ev_sessions.const import CONF_SSL_CERTFILE, CONF_SSL_KEYFILE

from .helpers import wait_until


async def test_a_taken_port_is_retried_until_it_is_free(
    hass: HomeAssistant, hub_entry: MockConfigEntry, hub_port: int
) -> None:
    holder = socket.socket()
    holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 0)
    holder.bind(("127.0.0.1", hub_port))
    holder.listen()
    try:
        assert not await hass.config_entries.async_setup(hub_entry.entry_id)
        assert hub_entry.state is ConfigEntryState.SETUP_RETRY
        assert hub_entry.error_reason_translation_key == "port_unavailable"
        placeholders = hub_entry.error_reason_translation_placeholders or {}
        assert placeholders["port"] == str(hub_port)
    finally:
        holder.close()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(minutes=5))
    await wait_until(hass, lambda: hub_entry.state is ConfigEntryState.LOADED, what="retried")
    assert await hass.config_entries.async_unload(hub_entry.entry_id)


async def test_a_missing_certificate_is_named(
    hass: HomeAssistant, hub_entry: MockConfigEntry, tmp_path: Path
) -> None:
    missing = tmp_path / "cert.pem"
    hass.config_entries.async_update_entry(
        hub_entry,
        data={
            **hub_entry.data,
            CONF_SSL_CERTFILE: str(missing),
            CONF_SSL_KEYFILE: str(tmp_path / "key.pem"),
        },
    )
    assert not await hass.config_entries.async_setup(hub_entry.entry_id)
    assert hub_entry.state is ConfigEntryState.SETUP_RETRY
    assert hub_entry.error_reason_translation_key == "tls_error"
    placeholders = hub_entry.error_reason_translation_placeholders or {}
    assert placeholders["error"] == "ssl_certfile: file_not_found"
    assert await hass.config_entries.async_unload(hub_entry.entry_id)
