"""Fixtures for tests that run the integration inside Home Assistant with real sockets."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
import socket
from typing import Any

from homeassistant.config_entries import ConfigEntryState, ConfigSubentryData
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
from syrupy.assertion import SnapshotAssertion

from custom_components.ev_sessions.const import (
    CONF_DB_URL,
    CONF_ENTRY_TYPE,
    CONF_METER_INTERVAL,
    CONF_OCPP_HOST,
    CONF_OCPP_PORT,
    DOMAIN,
    ENTRY_TYPE_HUB,
    HUB_UNIQUE_ID,
)
from simulators.ocpp import SimConfig, SimulatedChargePoint

from .helpers import charger_clock

#: The household of the tests: Anna (two tags, one blocked, one expired) and Bo.
MEMBERS: list[dict[str, Any]] = [
    {
        "id": "anna",
        "name": "Anna",
        "person_entity_id": "person.anna",
        "tags": [
            {"id_tag": "TAG-ANNA", "status": "active", "label": "Keyring"},
            {"id_tag": "TAG-ANNA-OLD", "status": "blocked"},
            {"id_tag": "TAG-ANNA-2020", "status": "active", "expires_at": "2020-01-01"},
        ],
        "group_id_tag": "FAMILY",
    },
    {"id": "bo", "name": "Bo", "tags": [{"id_tag": "TAG-BO", "status": "active"}]},
]


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots with Home Assistant's serializer (registry ids, context and state times
    left out), as in HA core's tests/conftest.py: syrupy's own fixture would win otherwise."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)


def member_subentry(member: dict[str, Any]) -> ConfigSubentryData:
    """A member as the subentry flow stores it."""
    return ConfigSubentryData(
        data=member, subentry_type="member", title=member["name"], unique_id=member["id"]
    )


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def hub_port(socket_enabled: None) -> int:
    """The OCPP port of the hub under test (sockets on 127.0.0.1 allowed)."""
    return free_port()


def add_hub_entry(
    hass: HomeAssistant, port: int, tmp_path: Any, members: list[dict[str, Any]]
) -> MockConfigEntry:
    """A hub entry (not yet set up) with these members and its database in ``tmp_path``."""
    entry = MockConfigEntry(
        domain=DOMAIN,
        unique_id=HUB_UNIQUE_ID,
        title="EV Sessions",
        data={
            CONF_ENTRY_TYPE: ENTRY_TYPE_HUB,
            CONF_OCPP_PORT: port,
            CONF_OCPP_HOST: "127.0.0.1",
        },
        options={CONF_DB_URL: f"sqlite:///{tmp_path / 'ev_sessions.db'}", CONF_METER_INTERVAL: 10},
        subentries_data=[member_subentry(m) for m in members],
    )
    entry.add_to_hass(hass)
    return entry


@pytest.fixture
def hub_entry(hass: HomeAssistant, hub_port: int, tmp_path: Any) -> MockConfigEntry:
    """A hub entry (not yet set up) with its database in the test's temp dir."""
    return add_hub_entry(hass, hub_port, tmp_path, MEMBERS)


@pytest.fixture
async def hub(hass: HomeAssistant, hub_entry: MockConfigEntry) -> MockConfigEntry:
    """The hub, set up."""
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    await hass.async_block_till_done()
    assert hub_entry.state is ConfigEntryState.LOADED
    return hub_entry


@pytest.fixture
async def make_cp(
    hub_port: int,
) -> AsyncIterator[Callable[..., SimulatedChargePoint]]:
    """Build simulated charge points for the hub; all are closed at the end."""
    made: list[SimulatedChargePoint] = []

    def _make(charger_id: str = "CP1", **config: Any) -> SimulatedChargePoint:
        cp = SimulatedChargePoint(
            f"ws://127.0.0.1:{hub_port}/ocpp/{charger_id}",
            SimConfig(charger_id=charger_id, **config),
        )
        cp.time_offset = charger_clock(0)
        made.append(cp)
        return cp

    yield _make
    for cp in made:
        await cp.close()
