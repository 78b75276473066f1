"""Who may see and change bills: administrators everything; a user who is not an administrator
only the bills of the member whose person they are (pages and actions), never issuing, paying,
reports or checks; the signed link sent for a bill opens it for whoever was sent it."""

from __future__ import annotations

from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.auth.models import User
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import Unauthorized
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.ev_sessions.billing_glue import EVENT_BILL_ISSUED
from custom_components.ev_sessions.const import (
    DOMAIN,
)
from tests.core.billing_fixtures import Clock, Household, local

from .conftest import add_hub_entry

MEMBERS = [
    {"id": "anna", "name": "Anna", "person_entity_id": "person.anna"},
    {"id": "gus", "name": "Gus", "tariff_group": "guest"},
]
ANNA_BILL, GUS_BILL = "2026-0001", "2026-0002"


@pytest.fixture
async def hub_entry(
    hass: HomeAssistant, hub_port: int, tmp_path: Any, freezer: FrozenDateTimeFactory
) -> MockConfigEntry:
    """A Stockholm hub on 1 December 2026 at 07:00, after the bills' time (06:00)."""
    await hass.config.async_set_time_zone("Europe/Stockholm")
    freezer.move_to(local(2026, 12, 1, 7))
    return add_hub_entry(hass, hub_port, tmp_path, MEMBERS)


@pytest.fixture
async def billed(hass: HomeAssistant, hub: MockConfigEntry) -> dict[str, dict[str, Any]]:
    """November billed: Anna's bill 2026-0001 and Gus's 2026-0002; the events by member."""
    issued = async_capture_events(hass, EVENT_BILL_ISSUED)
    house = Household(hub.runtime_data.hub.site.store, Clock())
    await house.add("s-a1", "anna", local(2026, 11, 3, 18), local(2026, 11, 3, 22), 7_400)
    await house.add("s-g1", "gus", local(2026, 11, 12, 9), local(2026, 11, 12, 11), 5_555)
    await hass.config_entries.async_reload(hub.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    by_member = {event.data["member_id"]: event.data for event in issued}
    assert by_member["anna"]["number"] == ANNA_BILL
    assert by_member["gus"]["number"] == GUS_BILL
    return by_member


def _person_of(hass: HomeAssistant, user: User) -> None:
    """Anna's person is ``user``."""
    hass.states.async_set("person.anna", "home", {"user_id": user.id})


async def test_a_user_who_is_not_an_administrator_sees_only_their_own_bills(
    hass: HomeAssistant,
    billed: dict[str, dict[str, Any]],
    hass_read_only_user: User,
    hass_read_only_access_token: str,
    hass_client: ClientSessionGenerator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """The pages: Anna (not an administrator) opens her bill, not Gus's (403) nor the
    household report (403); an administrator opens all; Gus's signed link opens his bill
    without a login; without a login or link: 401."""
    _person_of(hass, hass_read_only_user)
    anna = await hass_client(hass_read_only_access_token)
    assert (await anna.get(f"/api/ev_sessions/bills/{ANNA_BILL}")).status == 200
    assert (await anna.get(f"/api/ev_sessions/bills/{ANNA_BILL}.pdf")).status == 200
    assert (await anna.get(f"/api/ev_sessions/bills/{GUS_BILL}")).status == 403
    assert (await anna.get(f"/api/ev_sessions/bills/{GUS_BILL}?format=csv")).status == 403
    assert (await anna.get("/api/ev_sessions/reports/2026-11")).status == 403

    admin = await hass_client()
    for path in (f"bills/{ANNA_BILL}", f"bills/{GUS_BILL}", "reports/2026-11"):
        assert (await admin.get(f"/api/ev_sessions/{path}")).status == 200, path

    anonymous = await hass_client_no_auth()
    assert (await anonymous.get(f"/api/ev_sessions/bills/{GUS_BILL}")).status == 401
    assert (await anonymous.get(billed["gus"]["link"])).status == 200  # the link Gus was sent
    assert (await anna.get(billed["gus"]["link"])).status == 200

    # Anna's person is no longer this user: none of the bills.
    hass.states.async_set("person.anna", "home", {"user_id": None})
    assert (await anna.get(f"/api/ev_sessions/bills/{ANNA_BILL}")).status == 403


async def test_actions_for_users_who_are_not_administrators(
    hass: HomeAssistant,
    billed: dict[str, dict[str, Any]],
    hass_read_only_user: User,
    hass_admin_user: User,
) -> None:
    """Issuing, marking paid, the household report and the month check are for administrators;
    list_bills and get_bill answer a user who is not one with their own member's bills."""
    _person_of(hass, hass_read_only_user)
    user = Context(user_id=hass_read_only_user.id)

    async def call(service: str, data: dict[str, Any], context: Context) -> Any:
        return await hass.services.async_call(
            DOMAIN, service, data, blocking=True, return_response=True, context=context
        )

    for service, data in (
        ("generate_bill", {"member": "anna"}),
        ("generate_bill", {"member": "anna", "month": "2026-11", "issue": True}),
        ("mark_bill_paid", {"number": ANNA_BILL}),
        ("household_report", {"month": "2026-11"}),
        ("check_bills", {"month": "2026-11"}),
    ):
        with pytest.raises(Unauthorized):
            await call(service, data, user)
    listed = await call("list_bills", {}, user)
    assert [b["number"] for b in listed["bills"]] == [ANNA_BILL]
    assert (await call("get_bill", {"number": ANNA_BILL}, user))["member_id"] == "anna"
    with pytest.raises(Unauthorized):
        await call("get_bill", {"number": GUS_BILL}, user)
    with pytest.raises(Unauthorized):
        await call("list_bills", {"member": "gus"}, user)

    admin = Context(user_id=hass_admin_user.id)
    listed = await call("list_bills", {}, admin)
    assert [b["number"] for b in listed["bills"]] == [GUS_BILL, ANNA_BILL]
    assert (await call("get_bill", {"number": GUS_BILL}, admin))["member_id"] == "gus"
    paid = await call("mark_bill_paid", {"number": GUS_BILL}, admin)
    assert paid["status"] == "paid"
    assert (await call("check_bills", {"month": "2026-11"}, admin))["ok"] is True
    assert (await call("household_report", {"month": "2026-11"}, admin))["energy_wh"] == 12_955
    assert (await call("generate_bill", {"member": "gus"}, admin))["status"] == "preview"
