"""Members and RFID inside Home Assistant, driven by a real OCPP charge point."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from homeassistant.components.repairs import DOMAIN as REPAIRS_DOMAIN, repairs_flow_manager
from homeassistant.core import Context, HomeAssistant, State
from homeassistant.helpers import (
    device_registry as dr,
    entity_registry as er,
    issue_registry as ir,
)
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
    mock_restore_cache,
)

from custom_components.ev_sessions.chargers.events import (
    AuthorizationRequest,
    AuthorizationStatus,
)
from custom_components.ev_sessions.const import DOMAIN, EVENT_SESSION_ENDED, HUB_UNIQUE_ID
from custom_components.ev_sessions.coordinator import MEMBER_REFRESH_COOLDOWN
from custom_components.ev_sessions.core import AuthorizationMode, ChargerAccess, ChargingSite
from custom_components.ev_sessions.hub import CONF_AUTHORIZATION_MODE, CONF_CHARGER_MEMBER
from custom_components.ev_sessions.members import EVENT_TAG_REJECTED, member_subentries

from .helpers import (
    charger_clock,
    entity_id,
    ocpp_charger_entry,
    state_of,
    wait_state,
    wait_until,
)
from .test_ocpp_hub import Make, energy


async def _charger(hass: HomeAssistant, make_cp: Make, charger_id: str = "CP-M", **cfg: Any):  # type: ignore[no-untyped-def]
    entry = ocpp_charger_entry(hass, charger_id)
    assert await hass.config_entries.async_setup(entry.entry_id)
    cp = make_cp(charger_id, power_w=0.0, **cfg)
    await cp.connect()
    await wait_until(hass, lambda: bool(cp.requests_for("SendLocalList")), what="local list")
    # A request is recorded when it arrives, before the charger handled it (ocpp validates it
    # in a worker thread first): the charger holds the list once the hub's sync is over.
    await _site(hass).async_wait_idle()
    return entry, cp


def _site(hass: HomeAssistant) -> ChargingSite:
    hub = next(e for e in hass.config_entries.async_entries(DOMAIN) if e.unique_id == HUB_UNIQUE_ID)
    return hub.runtime_data.hub.site


async def _select(hass: HomeAssistant, unique_id: str, option: str) -> None:
    await hass.services.async_call(
        "select",
        "select_option",
        {"entity_id": entity_id(hass, "select", unique_id), "option": option},
        blocking=True,
    )


async def test_tags_are_decided_by_member_status(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """Active accepted with the family parent tag; blocked, expired and unknown refused."""
    _entry, cp = await _charger(hass, make_cp)
    rejected = async_capture_events(hass, EVENT_TAG_REJECTED)
    assert await cp.swipe("TAG-ANNA") == "Accepted"
    assert await cp.swipe("tag-anna") == "Accepted"  # RFID UIDs compare without case
    assert await cp.swipe("TAG-ANNA-OLD") == "Blocked"
    assert await cp.swipe("TAG-ANNA-2020") == "Expired"
    assert await cp.swipe("STRANGER") == "Invalid"
    await hass.async_block_till_done()
    assert [(e.data["id_tag"], e.data["reason"]) for e in rejected] == [
        ("TAG-ANNA-OLD", "blocked"),
        ("TAG-ANNA-2020", "expired"),
        ("STRANGER", "unknown_tag"),
    ]
    # The unknown tag (only) can be added to a member from Settings -> Repairs.
    issues = ir.async_get(hass).issues
    assert (DOMAIN, "unknown_tag_stranger") in issues
    assert (DOMAIN, "unknown_tag_tag-anna-old") not in issues
    event_state = hass.states.get(entity_id(hass, "event", "charger_CP-M_authorization"))
    assert event_state is not None
    assert event_state.attributes["event_type"] == "rejected"
    assert event_state.attributes["tag"] == "STRA…(8)"
    assert state_of(hass, "sensor", "charger_CP-M_last_member") == "Anna"  # the last accepted one

    response = await hass.services.async_call(
        DOMAIN, "list_authorizations", {"limit": 10}, blocking=True, return_response=True
    )
    assert response is not None
    rows = response["authorizations"]
    assert [(r["id_tag"], r["status"], r["member_name"]) for r in reversed(rows)] == [
        ("TAG-ANNA", "accepted", "Anna"),
        ("tag-anna", "accepted", "Anna"),
        ("TAG-ANNA-OLD", "blocked", "Anna"),
        ("TAG-ANNA-2020", "expired", "Anna"),
        ("STRANGER", "invalid", None),
    ]


async def test_repair_adds_the_unknown_tag_to_a_member(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """Two clicks: open the repair, pick the member; the tag charges from then on."""
    assert await async_setup_component(hass, REPAIRS_DOMAIN, {})
    _entry, cp = await _charger(hass, make_cp)
    assert await cp.swipe("NEWCARD1") == "Invalid"
    await hass.async_block_till_done()
    manager = repairs_flow_manager(hass)
    assert manager is not None
    flow = await manager.async_init(DOMAIN, data={"issue_id": "unknown_tag_newcard1"})
    assert flow["step_id"] == "init"
    assert flow["description_placeholders"] == {"tag": "NEWCARD1"}
    result = await manager.async_configure(flow["flow_id"], {"member": "bo"})
    assert result["type"] == "create_entry"
    await hass.async_block_till_done()
    bo = next(s for s in member_subentries(hub) if s.data["id"] == "bo")
    assert [t["id_tag"] for t in bo.data["tags"]] == ["TAG-BO", "NEWCARD1"]
    assert await cp.swipe("NEWCARD1") == "Accepted"


async def test_local_list_full_then_differential_with_cache_clear_on_block(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """The charger gets the members' tags; a change is sent as a differential update."""
    _entry, cp = await _charger(hass, make_cp)
    first = cp.requests_for("SendLocalList")[0]
    assert first["updateType"] == "Full"
    entries = {e["idTag"]: e["idTagInfo"] for e in first["localAuthorizationList"]}
    assert entries["TAG-ANNA"]["status"] == "Accepted"
    assert entries["TAG-ANNA"]["parentIdTag"] == "FAMILY"
    assert entries["TAG-ANNA-OLD"]["status"] == "Blocked"
    assert entries["TAG-ANNA-2020"]["status"] == "Expired"
    assert entries["TAG-BO"]["status"] == "Accepted"
    version = first["listVersion"]
    assert cp.local_list_version == version
    assert len(cp.requests_for("ClearCache")) == 1  # after a full list: cached before it

    bo = next(s for s in member_subentries(hub) if s.data["id"] == "bo")
    hass.config_entries.async_update_subentry(
        hub, bo, data={**bo.data, "tags": [{"id_tag": "TAG-BO", "status": "blocked"}]}
    )
    await wait_until(hass, lambda: len(cp.requests_for("SendLocalList")) == 2, what="update")
    update = cp.requests_for("SendLocalList")[1]
    assert update["updateType"] == "Differential"
    assert update["listVersion"] == version + 1
    assert [(e["idTag"], e["idTagInfo"]["status"]) for e in update["localAuthorizationList"]] == [
        ("TAG-BO", "Blocked")
    ]
    await wait_until(hass, lambda: len(cp.requests_for("ClearCache")) == 2, what="cache cleared")
    assert await cp.swipe("TAG-BO") == "Blocked"


async def test_session_is_attributed_and_counted_for_the_member(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """Anna's tag starts the session: it is hers, and her device shows it."""
    ended = async_capture_events(hass, EVENT_SESSION_ENDED)
    _entry, cp = await _charger(hass, make_cp, meter_start_wh=5_000)
    await cp.plug_in(1)
    await cp.start(1, "TAG-ANNA")
    await cp.send_meter_values(1, sampled_values=energy(5_000))
    cp.time_offset = charger_clock(30)
    cp.connector(1).energy_wh = 8_500
    await cp.stop(1, "Local")
    await cp.unplug(1)
    await wait_until(hass, lambda: len(ended) == 1)
    assert ended[0].data["member_id"] == "anna"
    assert ended[0].data["energy_wh"] == 3_500
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, "member_anna"), hub.entry_id
    )
    assert device is not None
    assert device.name == "Anna"
    # The member totals refresh at the start at once, then at most once a second (debounced):
    # let the cooldown pass for the end (no wall-clock wait).
    async_fire_time_changed(hass, dt_util.utcnow() + MEMBER_REFRESH_COOLDOWN)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert state_of(hass, "sensor", "member_anna_energy_this_month") == "3.5"
    assert state_of(hass, "sensor", "member_anna_sessions_this_month") == "1"
    assert state_of(hass, "sensor", "member_bo_sessions_this_month") == "0"
    assert state_of(hass, "binary_sensor", "member_anna_charging") == "off"
    assert state_of(hass, "sensor", "member_anna_cost_this_month") == "unknown"  # not priced
    hub.runtime_data.hub.engine.set_cost(ended[0].data["id"], Decimal("7.25"), "test")
    await hub.runtime_data.members.async_refresh()
    await wait_state(hass, "sensor", "member_anna_cost_this_month", "7.25")

    # Moved to Bo afterwards: recorded who did it, from whom, to whom.
    session_id = ended[0].data["id"]
    admin = await hass.auth.async_create_user("Admin")
    context = Context(user_id=admin.id)
    moved = await hass.services.async_call(
        DOMAIN,
        "reattribute_session",
        {"session_id": session_id, "member": "Bo"},
        blocking=True,
        return_response=True,
        context=context,
    )
    assert moved == {"changed": True, "from_member_id": "anna", "to_member_id": "bo"}
    audit = await hass.services.async_call(
        DOMAIN,
        "list_authorizations",
        {"member": "bo", "limit": 5},
        blocking=True,
        return_response=True,
    )
    assert audit is not None
    row = audit["authorizations"][0]
    assert (row["source"], row["previous_member_id"], row["member_id"], row["user_id"]) == (
        "reattribution",
        "anna",
        "bo",
        admin.id,
    )
    sessions = await hass.services.async_call(
        DOMAIN, "list_sessions", {}, blocking=True, return_response=True
    )
    assert sessions is not None
    assert sessions["sessions"][0]["member_id"] == "bo"
    for member, expected in (("Bo", [session_id]), ("anna", [])):
        filtered = await hass.services.async_call(
            DOMAIN, "list_sessions", {"member": member}, blocking=True, return_response=True
        )
        assert filtered is not None
        assert [s["id"] for s in filtered["sessions"]] == expected


async def test_guest_and_free_policies(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """Guests are accepted as guests; free charging goes to the chosen member."""
    _entry, cp = await _charger(hass, make_cp)
    assert await cp.swipe("VISITOR") == "Invalid"
    await _select(hass, "charger_CP-M_authorization", "members_and_guests")
    assert await cp.swipe("VISITOR") == "Accepted"
    assert await cp.swipe("TAG-ANNA-OLD") == "Blocked"  # blocked stays blocked
    await _select(hass, "charger_CP-M_member", "Bo")
    await _select(hass, "charger_CP-M_authorization", "free")
    assert await cp.swipe("ANYTHING") == "Accepted"
    ended = async_capture_events(hass, EVENT_SESSION_ENDED)
    await cp.plug_in(1)
    await cp.start(1, "ANYTHING")
    cp.time_offset = charger_clock(5)
    await cp.stop(1, "Local")
    await cp.unplug(1)
    await wait_until(hass, lambda: len(ended) == 1)
    assert ended[0].data["member_id"] == "bo"


async def test_learn_mode_adds_the_next_tag_to_the_member(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """Choose the member, press Learn tag, swipe: the tag is theirs."""
    _entry, cp = await _charger(hass, make_cp)
    await _select(hass, "charger_CP-M_member", "Bo")
    await hass.services.async_call(
        "button",
        "press",
        {"entity_id": entity_id(hass, "button", "charger_CP-M_learn_tag")},
        blocking=True,
    )
    assert await cp.swipe("FOB-42") == "Accepted"
    await hass.async_block_till_done()
    bo = next(s for s in member_subentries(hub) if s.data["id"] == "bo")
    assert [t["id_tag"] for t in bo.data["tags"]] == ["TAG-BO", "FOB-42"]
    assert await cp.swipe("FOB-43") == "Invalid"  # learn mode ended with the first tag


async def test_remote_start_uses_the_callers_member_tag(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """A remote start by Anna's HA user sends Anna's tag, so the session is hers."""
    anna = await hass.auth.async_create_user("Anna")
    stranger = await hass.auth.async_create_user("Guest user")
    hass.states.async_set("person.anna", "home", {"user_id": anna.id})
    _entry, cp = await _charger(hass, make_cp)
    await cp.plug_in(1)
    await hass.services.async_call(
        "button",
        "press",
        {"entity_id": entity_id(hass, "button", "charger_CP-M_start_charging")},
        blocking=True,
        context=Context(user_id=anna.id),
    )
    assert cp.requests_for("RemoteStartTransaction")[0]["idTag"] == "TAG-ANNA"
    await wait_state(hass, "sensor", "charger_CP-M_last_member", "Anna")
    await cp.stop(1, "Local")
    # A user without a member gets an HA tag the charger is allowed to start with.
    await hass.services.async_call(
        DOMAIN,
        "start_charging",
        {"device_id": _device_id(hass, "CP-M"), "connector": 1},
        blocking=True,
        context=Context(user_id=stranger.id),
    )
    tag = cp.requests_for("RemoteStartTransaction")[1]["idTag"]
    assert tag == f"HA-{stranger.id[:17]}"
    assert len(tag) == 20
    assert await cp.swipe(tag) == "Accepted"


def _device_id(hass: HomeAssistant, charger_id: str) -> str:
    entry = next(e for e in hass.config_entries.async_entries(DOMAIN) if e.unique_id == charger_id)
    device = dr.async_get(hass).async_get_device_by_identifier(
        (DOMAIN, f"charger_{charger_id}"), entry.entry_id
    )
    assert device is not None
    return device.id


async def test_member_added_in_the_ui_can_charge_at_once(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """The member flow (a subentry of the hub) takes effect without a reload."""
    _entry, cp = await _charger(hass, make_cp)
    assert await cp.swipe("NEW-CARD") == "Invalid"
    result = await hass.config_entries.subentries.async_init(
        (hub.entry_id, "member"), context={"source": "user"}
    )
    assert result["type"] == "form"
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"],
        {"name": "Cleo", "tags": [{"id_tag": "NEW-CARD", "label": "Blue fob"}]},
    )
    assert result["type"] == "create_entry"
    await hass.async_block_till_done()
    assert await cp.swipe("NEW-CARD") == "Accepted"
    await wait_until(hass, lambda: len(cp.requests_for("SendLocalList")) == 2, what="list update")
    assert cp.requests_for("SendLocalList")[1]["updateType"] == "Differential"
    cleo = next(s for s in member_subentries(hub) if s.title == "Cleo")
    await wait_state(hass, "sensor", f"member_{cleo.data['id']}_sessions_this_month", "0")

    # A tag another member holds is refused by the form.
    result = await hass.config_entries.subentries.async_init(
        (hub.entry_id, "member"), context={"source": "user"}
    )
    result = await hass.config_entries.subentries.async_configure(
        result["flow_id"], {"name": "Dup", "tags": [{"id_tag": "tag-bo"}]}
    )
    assert result["errors"] == {"tags": "tag_in_use"}


async def test_configured_charger_is_decided_before_its_entry_is_set_up(
    hass: HomeAssistant, hub: MockConfigEntry
) -> None:
    """Right after HA starts, a charger may swipe before its own entry is loaded."""
    ocpp_charger_entry(hass, "LATE-1")  # added, not set up yet
    site = hub.runtime_data.hub.site
    now = dt_util.utcnow()
    member = await site.authorize(
        AuthorizationRequest(charger_id="LATE-1", id_tag="TAG-ANNA", connector_id=1, at=now)
    )
    assert member.status is AuthorizationStatus.ACCEPTED
    stranger = await site.authorize(
        AuthorizationRequest(charger_id="NOT-ADDED", id_tag="TAG-ANNA", connector_id=1, at=now)
    )
    assert stranger.status is AuthorizationStatus.INVALID


async def test_charger_settings_are_entry_options_by_member_id(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """Who may charge and the charger's member are stored in the entry options by id, taken
    in without a reload; renaming the member keeps the choice, and the session is theirs."""
    entry, cp = await _charger(hass, make_cp)
    runtime = entry.runtime_data
    await _select(hass, "charger_CP-M_member", "Bo")
    await _select(hass, "charger_CP-M_authorization", "members_and_guests")
    assert entry.options[CONF_CHARGER_MEMBER] == "bo"
    assert entry.options[CONF_AUTHORIZATION_MODE] == "members_and_guests"
    await hass.async_block_till_done()
    assert entry.runtime_data is runtime  # not reloaded
    assert await cp.swipe("VISITOR") == "Accepted"

    bo = next(s for s in member_subentries(hub) if s.data["id"] == "bo")
    hass.config_entries.async_update_subentry(
        hub, bo, title="Robert", data={**bo.data, "name": "Robert"}
    )
    await hass.async_block_till_done()
    assert state_of(hass, "select", "charger_CP-M_member") == "Robert"
    assert entry.options[CONF_CHARGER_MEMBER] == "bo"
    ended = async_capture_events(hass, EVENT_SESSION_ENDED)
    await cp.plug_in(1)  # no tag: the charger's member
    cp.time_offset = charger_clock(5)
    await cp.unplug(1)
    await wait_until(hass, lambda: len(ended) == 1)
    assert ended[0].data["member_id"] == "bo"


async def test_settings_restored_by_the_selects_become_entry_options_once(
    hass: HomeAssistant, hub: MockConfigEntry
) -> None:
    """An entry from before the options takes the selects' restored states (nothing lost on
    the update); from then on the entry options rule, whatever a select restores."""
    entry = ocpp_charger_entry(hass, "CP-OLD")
    registry = er.async_get(hass)
    selects = {
        key: registry.async_get_or_create(
            "select", DOMAIN, f"charger_CP-OLD_{key}", config_entry=entry
        ).entity_id
        for key in ("member", "authorization")
    }
    mock_restore_cache(
        hass, [State(selects["member"], "Bo"), State(selects["authorization"], "free")]
    )
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert entry.options == {CONF_CHARGER_MEMBER: "bo", CONF_AUTHORIZATION_MODE: "free"}
    site = hub.runtime_data.hub.site
    assert site.access_of("CP-OLD") == ChargerAccess(mode=AuthorizationMode.FREE, member_id="bo")
    assert hass.states.get(selects["member"]).state == "Bo"  # type: ignore[union-attr]

    await _select(hass, "charger_CP-OLD_member", "Anna")
    assert await hass.config_entries.async_reload(entry.entry_id)  # restores "Bo" again
    await hass.async_block_till_done()
    assert entry.options[CONF_CHARGER_MEMBER] == "anna"
    assert hass.states.get(selects["member"]).state == "Anna"  # type: ignore[union-attr]

    # An old entry without a restored state stores the defaults.
    fresh = ocpp_charger_entry(hass, "CP-NEW")
    assert await hass.config_entries.async_setup(fresh.entry_id)
    await hass.async_block_till_done()
    assert fresh.options == {CONF_CHARGER_MEMBER: None, CONF_AUTHORIZATION_MODE: "members_only"}
