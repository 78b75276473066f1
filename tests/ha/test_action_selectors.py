"""Actions take chargers and members from device pickers, not free text (issue 11)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr, entity_registry as er, selector
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
import yaml

from custom_components.ev_sessions.const import DOMAIN, EVENT_SESSION_ENDED
from custom_components.ev_sessions.devices import HUB_IDENTIFIER

from .helpers import charger_clock, ocpp_charger_entry, wait_until
from .test_ocpp_hub import Make, energy

SERVICES_YAML = Path(__file__).parents[2] / "custom_components" / DOMAIN / "services.yaml"


def _device(hass: HomeAssistant, value: str) -> dr.DeviceEntry:
    devices = dr.async_get(hass).async_get_devices(identifiers={(DOMAIN, value)})
    assert len(devices) == 1, value
    return devices[0]


def _matches(hass: HomeAssistant, config: dict[str, Any], device: dr.DeviceEntry) -> bool:
    """Whether the device picker offers this device (the frontend's rules: any device filter,
    and, when entity filters are given, an entity of the device matching one of them)."""
    entry = hass.config_entries.async_get_entry(device.config_entry_id)
    domains = {entry.domain} if entry is not None else set()
    device_ok = any(
        rule.get("integration") in (None, *domains) and rule.get("model") in (None, device.model)
        for rule in config.get("filter", [{}])
    )
    if not device_ok:
        return False
    entity_rules = config.get("entity")
    if not entity_rules:
        return True
    entities = er.async_entries_for_device(er.async_get(hass), device.id)
    return any(
        rule.get("integration") in (None, entity.platform)
        and rule.get("domain") in (None, entity.domain)
        and rule.get("device_class") in (None, entity.device_class or entity.original_device_class)
        for entity in entities
        for rule in entity_rules
    )


async def test_pickers_offer_only_chargers_and_only_members(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """Every charger field offers the chargers (not the hub, not members); every member field
    the members (not chargers, not the hub); each selector is valid."""
    entry = ocpp_charger_entry(hass, "CP-SEL")
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    charger = _device(hass, "charger_CP-SEL")
    anna, hub_device = _device(hass, "member_anna"), _device(hass, HUB_IDENTIFIER[1])
    services = yaml.safe_load(SERVICES_YAML.read_text())
    checked = 0
    for service, spec in services.items():
        for field, field_spec in spec.get("fields", {}).items():
            if field not in ("device_id", "member"):
                continue
            selector.validate_selector(field_spec["selector"])
            config = field_spec["selector"].get("device")
            assert config is not None, f"{service}.{field} is not a device picker"
            offered = {d.id for d in (charger, anna, hub_device) if _matches(hass, config, d)}
            wanted = charger.id if field == "device_id" else anna.id
            assert offered == {wanted}, f"{service}.{field}"
            checked += 1
    assert checked >= 14  # the 14 fields of the session and charger actions, and any newer


async def test_actions_accept_member_and_charger_devices_and_the_old_ids(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """start_charging, list_sessions, list_authorizations, reattribute_session and learn_tag
    take the member's device id as the picker gives it; names and ids still work."""
    ended = async_capture_events(hass, EVENT_SESSION_ENDED)
    entry = ocpp_charger_entry(hass, "CP-SEL")
    assert await hass.config_entries.async_setup(entry.entry_id)
    cp = make_cp("CP-SEL", power_w=0.0, meter_start_wh=1_000)
    await cp.connect()
    await cp.plug_in(1)
    charger = _device(hass, "charger_CP-SEL").id
    anna, bo = _device(hass, "member_anna").id, _device(hass, "member_bo").id
    await hass.services.async_call(
        DOMAIN,
        "start_charging",
        {"device_id": charger, "connector": 1, "member": anna},
        blocking=True,
    )
    assert cp.requests_for("RemoteStartTransaction")[0]["idTag"] == "TAG-ANNA"
    # The charger's own id until the hub answers StartTransaction is a negative placeholder:
    # wait for the hub's, so the meter values and the stop below follow the start.
    await wait_until(
        hass,
        lambda: isinstance(tid := cp.connector(1).transaction_id, int) and tid > 0,
        what="start",
    )
    await cp.send_meter_values(1, sampled_values=energy(1_000))
    cp.time_offset = charger_clock(30)
    cp.connector(1).energy_wh = 2_000
    await cp.stop(1, "Local")
    await cp.unplug(1)
    await wait_until(hass, lambda: len(ended) == 1)
    session_id = ended[0].data["id"]

    async def sessions_of(member: str) -> list[str]:
        listed = await hass.services.async_call(
            DOMAIN, "list_sessions", {"member": member}, blocking=True, return_response=True
        )
        assert listed is not None
        return [s["id"] for s in listed["sessions"]]

    assert await sessions_of(anna) == [session_id]
    assert await sessions_of(bo) == []
    assert await sessions_of("Anna") == [session_id]  # automations written with names
    moved = await hass.services.async_call(
        DOMAIN,
        "reattribute_session",
        {"session_id": session_id, "member": bo},
        blocking=True,
        return_response=True,
    )
    assert moved == {"changed": True, "from_member_id": "anna", "to_member_id": "bo"}
    assert await sessions_of("bo") == [session_id]  # and with ids
    audit = await hass.services.async_call(
        DOMAIN,
        "list_authorizations",
        {"member": bo, "device_id": charger},
        blocking=True,
        return_response=True,
    )
    assert audit is not None
    assert audit["authorizations"][0]["source"] == "reattribution"
    await hass.services.async_call(
        DOMAIN, "learn_tag", {"device_id": charger, "member": bo}, blocking=True
    )
    assert await cp.swipe("NEW-CARD") == "Accepted"
    await hass.async_block_till_done()
    bo_entry = next(s for s in hub.subentries.values() if s.data.get("id") == "bo")
    assert [t["id_tag"] for t in bo_entry.data["tags"]] == ["TAG-BO", "NEW-CARD"]
