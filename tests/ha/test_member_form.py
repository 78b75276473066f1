"""The member form's notify actions and tag dialog (issue 11)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from homeassistant import config_entries
from homeassistant.core import HomeAssistant
from homeassistant.helpers.translation import async_get_translations
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_mock_service

from custom_components.ev_sessions.const import DOMAIN
from custom_components.ev_sessions.core.tariff import EnergyPricing, Tariff
from custom_components.ev_sessions.member_flow import CONF_NOTIFY, CONF_TAGS

from .helpers import charger_clock, ocpp_charger_entry, set_fixed_price, wait_until
from .test_ocpp_hub import Make, energy


def _set_notify(hass: HomeAssistant, hub: MockConfigEntry, member_id: str, *targets: str) -> None:
    subentry = next(s for s in hub.subentries.values() if s.data.get("id") == member_id)
    hass.config_entries.async_update_subentry(
        hub, subentry, data={**subentry.data, CONF_NOTIFY: list(targets)}
    )


async def _charge_for_anna(hass: HomeAssistant, make_cp: Make, stop_at_wh: int) -> None:
    """Anna charges at the charger named Garage from 10 kWh to ``stop_at_wh``; stopped."""
    entry = ocpp_charger_entry(hass, "CP-NT")
    hass.config_entries.async_update_entry(entry, title="Garage")
    assert await hass.config_entries.async_setup(entry.entry_id)
    cp = make_cp("CP-NT", power_w=0.0, meter_start_wh=10_000)
    await cp.connect()
    await cp.plug_in(1)
    await cp.start(1, "TAG-ANNA")
    await cp.send_meter_values(1, sampled_values=energy(10_000))
    cp.time_offset = charger_clock(30)
    cp.connector(1).energy_wh = stop_at_wh
    await cp.stop(1, "EVDisconnected")


async def test_charging_finished_notifies_the_members_notify_actions(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make, caplog: pytest.LogCaptureFixture
) -> None:
    """Anna's two notify actions get the charger, the energy and the cost so far; a notify
    action that does not exist is logged and does not stop the others; Bo hears nothing."""
    anna_phone = async_mock_service(hass, "notify", "mobile_app_anna")
    anna_tablet = async_mock_service(hass, "notify", "tablet")
    bo_phone = async_mock_service(hass, "notify", "mobile_app_bo")
    _set_notify(hass, hub, "anna", "notify.mobile_app_anna", "notify.gone", "notify.tablet")
    _set_notify(hass, hub, "bo", "notify.mobile_app_bo")
    await set_fixed_price(
        hass,
        hub,
        Tariff(
            currency=hass.config.currency,
            energy=EnergyPricing.FIXED,
            fixed_price=Decimal("2.00"),
        ),
    )
    await _charge_for_anna(hass, make_cp, stop_at_wh=12_500)
    await wait_until(hass, lambda: len(anna_phone) == 1 and len(anna_tablet) == 1)
    expected = {
        "title": "Charging finished",
        "message": f"Garage: 2.50 kWh charged for Anna, 5.00 {hass.config.currency} so far.",
    }
    assert anna_phone[0].data == expected
    assert anna_tablet[0].data == expected
    assert bo_phone == []
    assert "Notify action notify.gone does not exist" in caplog.text


async def test_unpriced_session_notifies_the_energy_only(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """Without a price source the message carries the energy, no cost."""
    calls = async_mock_service(hass, "notify", "mobile_app_anna")
    _set_notify(hass, hub, "anna", "notify.mobile_app_anna")
    await _charge_for_anna(hass, make_cp, stop_at_wh=11_000)
    await wait_until(hass, lambda: len(calls) == 1)
    assert calls[0].data["message"] == "Garage: 1.00 kWh charged for Anna."


def _tag_fields(result: Any) -> dict[str, Any]:
    schema = result["data_schema"].schema
    selector = next(value for key, value in schema.items() if key == CONF_TAGS)
    fields: dict[str, Any] = selector.config["fields"]
    return fields


async def test_tag_dialog_preselects_active_and_explains_each_field(
    hass: HomeAssistant, hub: MockConfigEntry
) -> None:
    """A new tag starts as *active*; every field of the dialog has a name and a help text in
    both languages (the dialog's own title is Home Assistant's *Add* / *Edit*)."""
    result = await hass.config_entries.subentries.async_init(
        (hub.entry_id, "member"), context={"source": config_entries.SOURCE_USER}
    )
    fields = _tag_fields(result)
    assert fields["status"]["default"] == "active"
    for language in ("en", "sv"):
        strings = await async_get_translations(hass, language, "selector", [DOMAIN])
        for field in fields:
            prefix = f"component.{DOMAIN}.selector.tags.fields.{field}"
            assert strings.get(f"{prefix}.name"), (language, field)
            assert strings.get(f"{prefix}.description"), (language, field)
