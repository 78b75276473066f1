"""What an action tells the user when it cannot do what was asked (issue 16 coverage).

Each error is a translated ``ServiceValidationError`` naming what was wrong (the session, the
member, the bill, the month), never a traceback; the same actions answer once the input is right.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_sessions.const import DOMAIN
from custom_components.ev_sessions.core import Month
from custom_components.ev_sessions.core.tariff import EnergyPricing, Tariff
from tests.core.billing_fixtures import Clock, Household, local

from .helpers import ocpp_charger_entry, set_fixed_price


async def _call(hass: HomeAssistant, action: str, data: dict[str, Any]) -> Any:
    return await hass.services.async_call(DOMAIN, action, data, blocking=True, return_response=True)


async def _refused(
    hass: HomeAssistant, action: str, data: dict[str, Any]
) -> ServiceValidationError:
    with pytest.raises(ServiceValidationError) as err:
        await _call(hass, action, data)
    return err.value


def _member_device(hass: HomeAssistant, member_id: str) -> str:
    devices = dr.async_get(hass).async_get_devices(identifiers={(DOMAIN, f"member_{member_id}")})
    assert len(devices) == 1
    return devices[0].id


async def test_session_actions_name_the_unknown_session_and_member(
    hass: HomeAssistant, hub: MockConfigEntry
) -> None:
    house = Household(hub.runtime_data.hub.site.store, Clock())
    await house.add("s-old", "anna", local(2026, 11, 3, 18), local(2026, 11, 3, 22), 7_400)

    # A stored session (no longer in the engine's memory) is read from the database.
    session = (await _call(hass, "get_session", {"session_id": "s-old"}))["session"]
    assert (session["id"], session["energy_wh"], session["member_id"]) == ("s-old", 7_400, "anna")

    err = await _refused(hass, "get_session", {"session_id": "s-none"})
    assert (err.translation_key, err.translation_placeholders) == (
        "unknown_session",
        {"session_id": "s-none"},
    )
    assert str(err) == "No session s-none"

    err = await _refused(hass, "reattribute_session", {"session_id": "s-none", "member": "bo"})
    assert err.translation_key == "unknown_session"
    err = await _refused(hass, "reattribute_session", {"session_id": "s-old", "member": "Zed"})
    assert (err.translation_key, str(err)) == ("unknown_member", "No member named Zed")
    moved = await _call(hass, "reattribute_session", {"session_id": "s-old", "member": "Bo"})
    assert moved == {"changed": True, "from_member_id": "anna", "to_member_id": "bo"}

    # Re-pricing needs a tariff first, then a session that exists.
    err = await _refused(hass, "reprice_session", {"session_id": "s-old", "reason": "check"})
    assert err.translation_key == "no_tariff"
    tariff = Tariff(
        currency=hass.config.currency,
        energy=EnergyPricing.FIXED,
        fixed_price=Decimal("2.00"),
        vat_rate=Decimal("0.25"),
    )
    await set_fixed_price(hass, hub, tariff)
    err = await _refused(hass, "reprice_session", {"session_id": "s-none", "reason": "check"})
    assert (err.translation_key, err.translation_placeholders) == (
        "unknown_session",
        {"session_id": "s-none"},
    )
    repriced = await _call(hass, "reprice_session", {"session_id": "s-old", "reason": "check"})
    assert repriced["cost"]["total"] == "18.50"  # 7.4 kWh x 2.00 x 1.25
    # The members' statistics rebuild after the re-attribution is cancelled with the hub.
    assert await hass.config_entries.async_unload(hub.entry_id)


async def test_list_sessions_of_one_charger_by_its_device(
    hass: HomeAssistant, hub: MockConfigEntry
) -> None:
    entry = ocpp_charger_entry(hass, "cp-1")
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    house = Household(hub.runtime_data.hub.site.store, Clock())
    await house.add("s-1", "anna", local(2026, 11, 3, 18), local(2026, 11, 3, 22), 1_000)
    await house.add(
        "s-2", "bo", local(2026, 11, 4, 18), local(2026, 11, 4, 22), 2_000, charger="cp-2"
    )
    device = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)[0]
    listed = await _call(
        hass,
        "list_sessions",
        {"device_id": device.id, "start": "2026-11-01 00:00:00"},
    )
    assert [s["id"] for s in listed["sessions"]] == ["s-1"]


async def test_actions_after_the_hub_is_unloaded_say_so(
    hass: HomeAssistant, hub: MockConfigEntry
) -> None:
    assert await hass.config_entries.async_unload(hub.entry_id)
    assert hub.state is ConfigEntryState.NOT_LOADED
    for action, data in (
        ("get_session", {"session_id": "s-1"}),
        ("list_bills", {}),
        ("get_plan", {"device_id": "x"}),
    ):
        err = await _refused(hass, action, data)
        assert (err.translation_key, str(err)) == (
            "hub_not_loaded",
            "The EV Sessions hub is not loaded",
        ), action


async def test_bill_actions_name_the_unknown_bill_member_and_month(
    hass: HomeAssistant, hub: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> None:
    await hass.config.async_set_time_zone("Europe/Stockholm")
    freezer.move_to(local(2026, 12, 10, 12))
    house = Household(hub.runtime_data.hub.site.store, Clock())
    await house.add("s-a1", "anna", local(2026, 11, 3, 18), local(2026, 11, 3, 22), 7_400)

    err = await _refused(hass, "get_bill", {"number": "2026-0099"})
    assert (err.translation_key, str(err)) == ("unknown_bill", "No bill with number 2026-0099")
    err = await _refused(hass, "generate_bill", {"member": "Zed"})
    assert (err.translation_key, err.translation_placeholders) == (
        "unknown_member",
        {"member": "Zed"},
    )
    err = await _refused(hass, "check_bills", {"month": "2026-13"})
    assert err.translation_key == "billing_error"
    assert "not a month: 2026-13" in str(err)
    running = str(Month(2026, 12))
    err = await _refused(hass, "generate_bill", {"member": "anna", "month": running, "issue": True})
    assert (err.translation_key, str(err)) == (
        "month_not_over",
        f"The month {running} is not over yet: its bills can only be previewed",
    )

    # November is over: issued for Anna, chosen by her device (the action's selector).
    bill = await _call(
        hass,
        "generate_bill",
        {"member": _member_device(hass, "anna"), "month": "2026-11", "issue": True},
    )
    assert (bill["number"], bill["member_id"], bill["status"]) == ("2026-0001", "anna", "unpaid")
    assert bill["link"].startswith("/api/ev_sessions/bills/2026-0001?expires=")
    assert [line["session_id"] for line in bill["lines"]] == ["s-a1"]

    report = await _call(hass, "household_report", {"month": "2026-11"})
    assert report["energy_wh"] == 7_400
    assert report["link"].startswith("/api/ev_sessions/reports/2026-11?expires=")
    assert report["pdf_link"].startswith("/api/ev_sessions/reports/2026-11.pdf?expires=")
