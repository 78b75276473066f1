"""The hub options' "Surcharges and fees" step (after the tariff): a fee per session, an idle fee,
fast-charging surcharges, a time-of-day surcharge and demand pricing are stored in the tariff
(``Tariff.to_dict``) with the rest of the options kept; invalid values are errors on the form;
an empty field means none."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_sessions.core import (
    DemandPricing,
    EnergyPricing,
    FastChargingSurcharge,
    IdleFee,
    SpeedClass,
    Tariff,
    TouSchedule,
)
from custom_components.ev_sessions.price_feed import CONF_PRICE_SOURCE, CONF_TARIFF

TZ = ZoneInfo("Europe/Stockholm")
NOW = datetime(2026, 12, 1, 10, 7, tzinfo=TZ)
TARIFF_FORM = {
    "supplier_markup": 0,
    "energy_tax": 0.4,
    "grid_fee": 0.3,
    "vat_percent": 25,
    "guest_mode": "markup",
    "guest_markup_per_kwh": 0.5,
    "guest_markup_percent": 0,
}
EVENINGS = {
    "default": "0",
    "windows": [{"days": "weekdays", "start": "17:00", "end": "20:00", "price": "0.75"}],
}
NIGHTS = {
    "default": "0",
    "windows": [{"days": "all", "start": "00:00", "end": "06:00", "price": 0.2}],
}
FEES_FORM: dict[str, Any] = {
    "session_fee": 5,
    "idle_fee_per_minute": 0.5,
    "idle_fee_grace_minutes": 10,
    "idle_fee_max_amount": 100,
    "fast_charging_fast_per_kwh": 1.25,
    "fast_charging_threshold_kw": 22,
    "fast_charging_above_threshold_per_kwh": 0.5,
    "time_of_day": EVENINGS,
    "demand_connectors": 4,
    "demand_busy_above": 2,
    "demand_surcharge_per_kwh": 0.3,
    "demand_low_demand_discount": NIGHTS,
}


@pytest.fixture
async def hub(
    hass: HomeAssistant, hub_entry: MockConfigEntry, freezer: FrozenDateTimeFactory
) -> MockConfigEntry:
    """A loaded hub in Stockholm with SEK and no prices yet."""
    freezer.move_to(NOW)
    await hass.config.async_set_time_zone("Europe/Stockholm")
    hass.config.currency = "SEK"
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    await hass.async_block_till_done()
    assert hub_entry.state is ConfigEntryState.LOADED
    return hub_entry


async def open_fees(hass: HomeAssistant, entry: MockConfigEntry) -> dict[str, Any]:
    """Options -> prices -> a fixed price of 1.20 -> the tariff -> the fees form."""
    flow = hass.config_entries.options
    result = await flow.async_init(entry.entry_id)
    result = await flow.async_configure(result["flow_id"], {"next_step_id": "prices"})
    result = await flow.async_configure(result["flow_id"], {"kind": "fixed"})
    result = await flow.async_configure(result["flow_id"], {"fixed_price": 1.2})
    assert result["step_id"] == "prices_tariff"
    result = await flow.async_configure(result["flow_id"], TARIFF_FORM)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "prices_fees"
    return dict(result)


def suggested(result: dict[str, Any]) -> dict[str, Any]:
    """The fees form's pre-filled values."""
    return {
        str(key): (key.description or {}).get("suggested_value")
        for key in result["data_schema"].schema
    }


async def test_fees_are_stored_in_the_tariff(hass: HomeAssistant, hub: MockConfigEntry) -> None:
    """Every surcharge and fee set on the form is in the stored tariff, which reads back through
    Tariff.from_dict; the tariff step's values and the other options are kept."""
    result = await open_fees(hass, hub)
    assert result["description_placeholders"]["groups"] == "guest"  # the default groups
    assert set(suggested(result)) == {
        *FEES_FORM,
        "fast_charging_slow_per_kwh",
        "fast_charging_normal_per_kwh",
    }
    assert set(suggested(result).values()) == {None}  # no fees yet

    result = await hass.config_entries.options.async_configure(result["flow_id"], FEES_FORM)
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()

    tariff = Tariff.from_dict(hub.options[CONF_TARIFF])
    assert tariff.session_fee == Decimal(5)
    assert tariff.idle_fee == IdleFee(
        per_minute=Decimal("0.5"), grace_minutes=10, max_amount=Decimal(100)
    )
    assert tariff.fast_charging == FastChargingSurcharge(
        per_speed_class={SpeedClass.FAST: Decimal("1.25")},
        power_threshold_w=22_000,
        above_threshold_per_kwh=Decimal("0.5"),
    )
    assert tariff.time_of_day == TouSchedule.from_dict(EVENINGS)
    assert tariff.demand == DemandPricing(
        connectors=4,
        busy_above=2,
        surcharge_per_kwh=Decimal("0.3"),
        low_demand=TouSchedule.from_dict(NIGHTS),
    )
    assert (tariff.energy, tariff.fixed_price) == (EnergyPricing.FIXED, Decimal("1.2"))
    assert (tariff.energy_tax, tariff.grid_fee, tariff.vat_rate) == (
        Decimal("0.4"),
        Decimal("0.3"),
        Decimal("0.25"),
    )
    assert tariff.groups["guest"].operator_fees
    assert not tariff.groups["household"].operator_fees
    assert hub.options[CONF_PRICE_SOURCE]["kind"] == "fixed"
    assert hub.options["db_url"]  # the other options are kept
    assert hub.state is ConfigEntryState.LOADED

    # Opened again, the form shows what is stored; emptied, there are no fees.
    result = await open_fees(hass, hub)
    shown = suggested(result)
    assert shown["session_fee"] == 5.0
    assert shown["idle_fee_grace_minutes"] == 10
    assert shown["fast_charging_threshold_kw"] == 22.0
    assert shown["fast_charging_slow_per_kwh"] is None
    assert shown["time_of_day"] == TouSchedule.from_dict(EVENINGS).to_dict()
    assert (shown["demand_connectors"], shown["demand_busy_above"]) == (4, 2)
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    tariff = Tariff.from_dict(hub.options[CONF_TARIFF])
    assert (tariff.session_fee, tariff.idle_fee, tariff.fast_charging) == (Decimal(0), None, None)
    assert (tariff.time_of_day, tariff.demand) == (None, None)
    assert tariff.energy_tax == Decimal("0.4")


@pytest.mark.parametrize(
    ("fields", "errors", "detail"),
    [
        # Tariff.problems: more busy connectors than there are.
        (
            {"demand_connectors": 2, "demand_busy_above": 2},
            {"demand_busy_above": "out_of_range"},
            "demand.busy_above: between 0 and 1",
        ),
        # Tariff.problems: a surcharge schedule with a negative price.
        (
            {"time_of_day": {"default": "-0.1", "windows": []}},
            {"time_of_day": "must_not_be_negative"},
            "time_of_day: a price in the schedule is negative",
        ),
        # The schedule cannot be read.
        (
            {
                "demand_connectors": 2,
                "demand_busy_above": 1,
                "demand_low_demand_discount": {
                    "default": "0",
                    "windows": [{"start": "01:10", "end": "05:00", "price": 1}],
                },
            },
            {"demand_low_demand_discount": "invalid_schedule"},
            "not on a quarter-hour",
        ),
        # Parts without the amount they belong to.
        ({"idle_fee_grace_minutes": 5}, {"idle_fee_per_minute": "required"}, ""),
        (
            {"fast_charging_above_threshold_per_kwh": 0.5},
            {"fast_charging_threshold_kw": "required"},
            "",
        ),
        (
            {"demand_surcharge_per_kwh": 0.3},
            {"demand_connectors": "required", "demand_busy_above": "required"},
            "",
        ),
        (
            {"idle_fee_per_minute": 1, "idle_fee_grace_minutes": 2.5},
            {"idle_fee_grace_minutes": "not_an_integer"},
            "",
        ),
    ],
)
async def test_an_invalid_fee_is_an_error_on_the_form(
    hass: HomeAssistant,
    hub: MockConfigEntry,
    fields: dict[str, Any],
    errors: dict[str, str],
    detail: str,
) -> None:
    """Nothing is saved; the form shows the error on its field and what is wrong; corrected, it
    saves."""
    result = await open_fees(hass, hub)
    result = await hass.config_entries.options.async_configure(result["flow_id"], fields)
    assert result["type"] is FlowResultType.FORM
    assert result["step_id"] == "prices_fees"
    assert result["errors"] == errors
    assert detail in result["description_placeholders"]["details"]
    assert CONF_TARIFF not in hub.options
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"session_fee": 2}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert Tariff.from_dict(hub.options[CONF_TARIFF]).session_fee == Decimal(2)
