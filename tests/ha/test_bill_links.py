"""Signed links to bills and reports: made with a key kept in HA's storage, they open without
a login after restarts (a reload of the hub, a new start that reads the key again) for 60 days;
a tampered, moved or expired link gets 401."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.ev_sessions.bill_links import DATA_SIGNER, STORAGE_KEY
from custom_components.ev_sessions.billing_glue import EVENT_BILL_ISSUED
from tests.core.billing_fixtures import Clock, Household, local

from .conftest import add_hub_entry

#: HA's own signing secret, made in memory at each start.
HA_SIGN_SECRET = "http.auth.sign_secret"


@pytest.fixture
async def hub_entry(
    hass: HomeAssistant, hub_port: int, tmp_path: Any, freezer: FrozenDateTimeFactory
) -> MockConfigEntry:
    """A Stockholm hub on 1 December 2026 at 07:00, after the bills' time (06:00)."""
    await hass.config.async_set_time_zone("Europe/Stockholm")
    freezer.move_to(local(2026, 12, 1, 7))
    return add_hub_entry(hass, hub_port, tmp_path, [{"id": "anna", "name": "Anna"}])


async def _restart(hass: HomeAssistant, hub: MockConfigEntry) -> None:
    """What a restart changes: HA's signing secret is new, the hub starts again and reads
    the link key from storage."""
    hass.data.pop(HA_SIGN_SECRET, None)
    hass.data.pop(DATA_SIGNER, None)
    assert await hass.config_entries.async_reload(hub.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_links_open_after_restarts_until_they_expire(
    hass: HomeAssistant,
    hub: MockConfigEntry,
    hass_client_no_auth: ClientSessionGenerator,
    hass_storage: dict[str, Any],
    freezer: FrozenDateTimeFactory,
) -> None:
    """The bill's links from the notification open without a login after a reload of the hub
    and after the key is read again from storage; a changed token, format or bill number,
    and any link after 60 days, get 401."""
    issued = async_capture_events(hass, EVENT_BILL_ISSUED)
    house = Household(hub.runtime_data.hub.site.store, Clock())
    await house.add("s-a1", "anna", local(2026, 11, 3, 18), local(2026, 11, 3, 22), 7_400)
    await hass.config_entries.async_reload(hub.entry_id)  # the catch-up run issues the bill
    await hass.async_block_till_done(wait_background_tasks=True)
    [event] = issued
    link, pdf_link = event.data["link"], event.data["pdf_link"]
    assert link.startswith("/api/ev_sessions/bills/2026-0001?expires=")
    assert "&token=" in link
    key = hass_storage[STORAGE_KEY]["data"]["key"]
    assert len(bytes.fromhex(key)) == 32

    anonymous = await hass_client_no_auth()
    assert (await anonymous.get(link)).status == 200
    await _restart(hass, hub)
    assert hass_storage[STORAGE_KEY]["data"]["key"] == key  # the same key, read again
    assert (await anonymous.get(link)).status == 200
    answer = await anonymous.get(pdf_link)
    assert answer.status == 200
    assert (await answer.read()).startswith(b"%PDF")

    token = link.rsplit("=", 1)[1]
    forged = token[:-1] + ("0" if token[-1] != "0" else "1")
    for bad in (
        link.rsplit("=", 1)[0] + "=" + forged,  # a changed token
        link.replace("2026-0001", "2026-0002"),  # another bill with this token
        link.replace("?", "?format=csv&"),  # another format
        link.replace("expires=", "expires=9"),  # a later expiry
        "/api/ev_sessions/bills/2026-0001?token=" + token,  # no expiry
    ):
        assert (await anonymous.get(bad)).status == 401, bad

    freezer.tick(timedelta(days=59))
    await _restart(hass, hub)
    assert (await anonymous.get(link)).status == 200  # still within the 60 days
    freezer.tick(timedelta(days=1, seconds=1))
    assert (await anonymous.get(link)).status == 401  # expired
    assert (await anonymous.get(pdf_link)).status == 401
