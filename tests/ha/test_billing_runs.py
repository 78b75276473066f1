"""Bill runs in Home Assistant: a run the database failed (unreachable at 06:00 on the 1st) is
tried again after 5, 15 and 60 minutes, then hourly, until the bills are issued; a hub
unloaded meanwhile leaves no retry behind."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.ev_sessions.billing_glue import EVENT_BILL_ISSUED
from tests.core.billing_fixtures import Clock, Household, local
from tests.core.helpers import refusing_writes

from .conftest import add_hub_entry


@pytest.fixture
async def hub_entry(
    hass: HomeAssistant, hub_port: int, tmp_path: Any, freezer: FrozenDateTimeFactory
) -> MockConfigEntry:
    """A Stockholm hub on 1 December 2026 at 07:00, after the bills' time (06:00)."""
    await hass.config.async_set_time_zone("Europe/Stockholm")
    freezer.move_to(local(2026, 12, 1, 7))
    return add_hub_entry(hass, hub_port, tmp_path, [{"id": "anna", "name": "Anna"}])


async def _tick(hass: HomeAssistant, freezer: FrozenDateTimeFactory, delta: timedelta) -> None:
    freezer.tick(delta)
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)


async def test_a_failed_bill_run_is_tried_again_with_back_off(
    hass: HomeAssistant, hub: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """The database refuses the bills: the run is tried again after 5, 15 and 60 minutes and
    then every hour (not earlier); once the database takes them the bills are issued and
    announced, and no more tries follow."""
    issued = async_capture_events(hass, EVENT_BILL_ISSUED)
    billing = hub.runtime_data.billing
    assert billing is not None
    store = hub.runtime_data.hub.site.store
    house = Household(store, Clock())
    await house.add("s-a1", "anna", local(2026, 11, 3, 18), local(2026, 11, 3, 22), 7_400)

    second = timedelta(seconds=1)
    with refusing_writes(store):
        assert await billing.async_run() == []  # the run at 06:00 on the 1st
        assert billing.failed_runs == 1
        for failed, minutes in enumerate((5, 15, 60, 60), start=1):
            await _tick(hass, freezer, timedelta(minutes=minutes) - second)
            assert billing.failed_runs == failed, minutes  # not tried yet
            await _tick(hass, freezer, second)
            assert billing.failed_runs == failed + 1, minutes  # tried, failed again
        assert issued == []
    await _tick(hass, freezer, timedelta(minutes=60))
    assert billing.failed_runs == 0
    assert [event.data["number"] for event in issued] == ["2026-0001"]
    await _tick(hass, freezer, timedelta(hours=5))
    assert len(issued) == 1


async def test_a_retry_pending_at_unload_is_cancelled(
    hass: HomeAssistant, hub: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    """A run failed and its retry waits: unloading the hub cancels it (no timer left)."""
    billing = hub.runtime_data.billing
    assert billing is not None
    store = hub.runtime_data.hub.site.store
    await Household(store, Clock()).add(
        "s-a1", "anna", local(2026, 11, 3, 18), local(2026, 11, 3, 22), 7_400
    )
    with refusing_writes(store):
        await billing.async_run()
    assert billing.failed_runs == 1
    assert await hass.config_entries.async_unload(hub.entry_id)
    await _tick(hass, freezer, timedelta(minutes=10))
    assert billing.failed_runs == 1
