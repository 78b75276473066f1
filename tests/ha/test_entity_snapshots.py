"""Every platform's entities in HA core style (``snapshot_platform``): a hub with one member
and one OCPP charger in the middle of the member's session, the clock frozen and every value
sent exactly, so the registry entries and states are the same on every run.

Only the platform under test is loaded (as HA core's integration tests do), so each snapshot
holds one platform; ``pytest --snapshot-update`` rewrites them after an intended change."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from unittest.mock import PropertyMock, patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity import Entity
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    snapshot_platform,
)
from syrupy.assertion import SnapshotAssertion

import custom_components.ev_sessions as integration
from custom_components.ev_sessions.core.tariff import EnergyPricing, Tariff
from simulators.ocpp import SimulatedChargePoint

from .helpers import charger_clock, ocpp_charger_entry, set_fixed_price
from .test_ocpp_hub import energy

Make = Callable[..., SimulatedChargePoint]

#: The frozen clock (HA's test time zone is US/Pacific: late on Monday evening there).
NOW = datetime.fromisoformat("2026-03-10T07:30:00+00:00")


@pytest.fixture
def entity_registry_enabled_by_default() -> Iterator[None]:
    """Every entity enabled, also those disabled by default (HA core's fixture)."""
    with patch.object(
        Entity, "entity_registry_enabled_default", new_callable=PropertyMock, return_value=True
    ):
        yield


@pytest.fixture
def hub_entry(
    platform: Platform,
    monkeypatch: pytest.MonkeyPatch,
    entity_registry_enabled_by_default: None,
    freezer: FrozenDateTimeFactory,
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
) -> MockConfigEntry:
    """The hub with one member (Anna), loading only ``platform`` for hub and chargers (the
    test unloads them while the lists are patched)."""
    monkeypatch.setattr(
        integration,
        "HUB_PLATFORMS",
        [p for p in integration.HUB_PLATFORMS if p == platform],
    )
    monkeypatch.setattr(
        integration,
        "CHARGER_PLATFORMS",
        [p for p in integration.CHARGER_PLATFORMS if p == platform],
    )
    freezer.move_to(NOW)
    anna = next(s for s in hub_entry.subentries.values() if s.unique_id == "anna")
    for subentry in list(hub_entry.subentries.values()):
        if subentry is not anna:
            hass.config_entries.async_remove_subentry(hub_entry, subentry.subentry_id)
    return hub_entry


async def _charging(hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make) -> MockConfigEntry:
    """Anna's session on CP1, started an hour ago by the charger's clock: 2345 Wh at 7.4 kW
    metered 20 minutes in, priced at 2.00 + 25 % VAT."""
    tariff = Tariff(
        currency=hass.config.currency,
        energy=EnergyPricing.FIXED,
        fixed_price=Decimal("2.00"),
        vat_rate=Decimal("0.25"),
    )
    await set_fixed_price(hass, hub, tariff)
    entry = ocpp_charger_entry(hass, "CP1")
    assert await hass.config_entries.async_setup(entry.entry_id)
    cp = make_cp("CP1", power_w=0.0, meter_start_wh=10_000)
    await cp.connect()
    await cp.plug_in(1)
    assert await cp.swipe("TAG-ANNA") == "Accepted"
    await cp.start(1, "TAG-ANNA")
    await cp.send_meter_values(1, sampled_values=energy(10_000))
    cp.time_offset = charger_clock(20)
    await cp.send_meter_values(1, sampled_values=energy(12_345))
    site = hub.runtime_data.hub.site
    await site.async_wait_idle()
    await hass.async_block_till_done()
    session = site.engine.connector("CP1", 1).session
    assert session is not None
    assert (session.member_id, session.energy_wh) == ("anna", 2345)
    return entry


#: Every platform the integration has, hub's and chargers' (a charger has no calendar).
PLATFORMS = sorted(set(integration.HUB_PLATFORMS) | set(integration.CHARGER_PLATFORMS))


@pytest.mark.parametrize("platform", PLATFORMS)
async def test_entities(
    hass: HomeAssistant,
    hub: MockConfigEntry,
    make_cp: Make,
    freezer: FrozenDateTimeFactory,
    platform: Platform,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Each platform's entities of the hub and of the charger: registry entries and states."""
    charger = await _charging(hass, hub, make_cp)
    # Entities fed by periodic refreshes (member totals, the sessions calendar) catch up with
    # the meter values within their 5 minutes: let them pass.
    freezer.tick(timedelta(minutes=5))
    async_fire_time_changed(hass)
    await hass.async_block_till_done(wait_background_tasks=True)
    snapshotted = 0
    for entry in (hub, charger):
        if er.async_entries_for_config_entry(entity_registry, entry.entry_id):
            await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)
            snapshotted += 1
    assert snapshotted
    # The hub unloads its chargers, the same platforms they loaded.
    assert await hass.config_entries.async_unload(hub.entry_id)
    await hass.async_block_till_done()
