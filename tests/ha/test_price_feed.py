"""Price sources inside Home Assistant: a price sensor's attributes, a price action's response,
a fixed price and a time-of-use schedule become the site's price series; the price sensors
show a kWh's price now and in an hour; a missing price is filled with the fallback price and
raises a repair; the options flow reads a source before it saves it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import issue_registry as ir
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
)

from custom_components.ev_sessions.const import DOMAIN
from custom_components.ev_sessions.core import (
    EnergyPricing,
    Tariff,
    TariffGroup,
    TariffGroupMode,
    TouSchedule,
)
from custom_components.ev_sessions.price_feed import (
    CONF_PRICE_SOURCE,
    CONF_TARIFF,
    ISSUE_PRICE_INCOMPLETE,
    ISSUE_PRICE_MISSING,
    PriceFeed,
)

from .helpers import entity_id

TZ = ZoneInfo("Europe/Stockholm")
#: Tuesday 1 December 2026, 10:07 in Stockholm.
NOW = datetime(2026, 12, 1, 10, 7, tzinfo=TZ)
TODAY = NOW.date()
TOMORROW = TODAY + timedelta(days=1)
SENSOR = "sensor.nordpool_kwh_se3_sek"
#: Supplier markup 0.05, energy tax 0.40, grid fee 0.30, VAT 25 %; fallback 1.00 per kWh.
TARIFF = Tariff(
    currency="SEK",
    fallback_price=Decimal("1.00"),
    supplier_markup=Decimal("0.05"),
    energy_tax=Decimal("0.40"),
    grid_fee=Decimal("0.30"),
    vat_rate=Decimal("0.25"),
)
ON_TOP = Decimal("0.75")  # markup + tax + grid fee


def with_tariff(spot: Decimal) -> Decimal:
    """A kWh's price with TARIFF applied, worked out here."""
    return (spot + ON_TOP) * Decimal("1.25")


def quarter_price(day: date, quarter: int) -> Decimal:
    """The price of a 15-minute interval in the fixtures (per kWh): a distinct price each."""
    return Decimal("0.500") + Decimal(quarter) / 1000 + (day - TODAY).days * Decimal("0.1")


def hour_price(day: date, hour: int) -> Decimal:
    """The price of an hourly interval in the fixtures (per kWh)."""
    return Decimal("0.30") + Decimal(hour) / 100 + (day - TODAY).days * Decimal("0.1")


def local(day: date, minutes: int) -> datetime:
    """Local wall-clock time ``minutes`` after the local midnight of ``day`` (no DST here)."""
    return datetime(day.year, day.month, day.day, tzinfo=TZ) + timedelta(minutes=minutes)


def hacs_raw(day: date, quarters: range) -> list[dict[str, Any]]:
    """HACS Nordpool ``raw_*`` records: aware datetimes, ``value`` per kWh."""
    return [
        {
            "start": local(day, 15 * q),
            "end": local(day, 15 * (q + 1)),
            "value": float(quarter_price(day, q)),
        }
        for q in quarters
    ]


def hacs_attributes(today: range = range(96), tomorrow: range | None = None) -> dict[str, Any]:
    """A HACS Nordpool sensor's attributes: 15-minute prices, tomorrow when published."""
    raw_today = hacs_raw(TODAY, today)
    raw_tomorrow = hacs_raw(TOMORROW, tomorrow) if tomorrow is not None else []
    return {
        "current_price": float(quarter_price(TODAY, 40)),
        "unit": "kWh",
        "currency": "SEK",
        "country": "Sweden",
        "region": "SE3",
        "today": [r["value"] for r in raw_today],
        "tomorrow": [r["value"] for r in raw_tomorrow],
        "tomorrow_valid": bool(raw_tomorrow),
        "raw_today": raw_today,
        "raw_tomorrow": raw_tomorrow,
        "unit_of_measurement": "SEK/kWh",
        "friendly_name": "Nordpool SE3",
    }


def entsoe_attributes(tomorrow_hours: int) -> dict[str, Any]:
    """An ENTSO-e sensor's attributes: hourly prices as ``{time, price}``, times as text."""

    def records(day: date, hours: range) -> list[dict[str, Any]]:
        return [
            {
                "time": f"{local(day, 60 * h):%Y-%m-%d %H:%M:%S%z}",
                "price": float(hour_price(day, h)),
            }
            for h in hours
        ]

    return {
        "prices_today": records(TODAY, range(24)),
        "prices_tomorrow": records(TOMORROW, range(tomorrow_hours)),
        "prices": records(TODAY, range(24)) + records(TOMORROW, range(tomorrow_hours)),
        "unit_of_measurement": "EUR/kWh",
        "friendly_name": "ENTSO-e current price",
    }


def tibber_response(days: list[date]) -> dict[str, Any]:
    """``tibber.get_prices``: per home, 15-minute ``{start_time, price}`` per kWh."""
    return {
        "prices": {
            "Hemma": [
                {
                    "start_time": local(day, 15 * q).isoformat(),
                    "price": float(quarter_price(day, q)),
                }
                for day in days
                for q in range(96)
            ]
        }
    }


def nordpool_core_response(day: date) -> dict[str, Any]:
    """``nordpool.get_prices_for_date``: per area, ``{start, end, price}`` per MWh, UTC times."""
    return {
        "SE3": [
            {
                "start": local(day, 15 * q).astimezone(UTC).isoformat(),
                "end": local(day, 15 * (q + 1)).astimezone(UTC).isoformat(),
                "price": float(quarter_price(day, q) * 1000),
            }
            for q in range(96)
        ]
    }


def source(kind: str, **fields: Any) -> dict[str, Any]:
    """A ``price_source`` option as the options flow stores it."""
    read = {
        "attributes": [],
        "entry": None,
        "start_key": None,
        "end_key": None,
        "price_key": None,
        "unit": None,
    }
    return {
        "kind": kind,
        "entity_id": None,
        "action": None,
        "action_data": {},
        "read": read,
        "schedule": None,
        **fields,
    }


@pytest.fixture
async def site(hass: HomeAssistant, freezer: FrozenDateTimeFactory) -> FrozenDateTimeFactory:
    """Stockholm, SEK, Tuesday 1 December 2026 10:07."""
    freezer.move_to(NOW)
    await hass.config.async_set_time_zone("Europe/Stockholm")
    hass.config.currency = "SEK"
    return freezer


type StartHub = Callable[..., Any]


@pytest.fixture
def start_hub(
    hass: HomeAssistant, hub_entry: MockConfigEntry, site: FrozenDateTimeFactory
) -> StartHub:
    """Set the hub up with a price source and a tariff in its options."""

    async def _start(
        price_source: dict[str, Any] | None, tariff: Tariff | None = TARIFF
    ) -> PriceFeed:
        options = dict(hub_entry.options)
        if price_source is not None:
            options[CONF_PRICE_SOURCE] = price_source
        if tariff is not None:
            options[CONF_TARIFF] = tariff.to_dict()
        hass.config_entries.async_update_entry(hub_entry, options=options)
        assert await hass.config_entries.async_setup(hub_entry.entry_id)
        await hass.async_block_till_done()
        assert hub_entry.state is ConfigEntryState.LOADED
        feed: PriceFeed = hub_entry.runtime_data.price_feed
        return feed

    return _start


def price_state(hass: HomeAssistant, key: str = "price_now") -> Any:
    """The state of a site price sensor."""
    state = hass.states.get(entity_id(hass, "sensor", f"site_{key}"))
    assert state is not None
    return state


def issue(hass: HomeAssistant, issue_id: str) -> ir.IssueEntry | None:
    """Our repair issue, if raised."""
    return ir.async_get(hass).async_get_issue(DOMAIN, issue_id)


async def move_to(hass: HomeAssistant, freezer: FrozenDateTimeFactory, when: datetime) -> None:
    """Let the clock run to ``when`` and fire the timers due."""
    freezer.move_to(when)
    async_fire_time_changed(hass, when)
    await hass.async_block_till_done()


# --- a price sensor ------------------------------------------------------------------------------


async def test_hacs_nordpool_sensor_gives_the_price_now_and_in_an_hour(
    hass: HomeAssistant, start_hub: StartHub
) -> None:
    """A 15-minute HACS Nordpool day: the price of 10:00-10:15 now, 11:00-11:15 in an hour,
    each with the tariff applied; tomorrow follows when the sensor publishes it."""
    hass.states.async_set(SENSOR, "0.54", hacs_attributes())
    feed = await start_hub(source("entity", entity_id=SENSOR))

    now = price_state(hass)
    assert Decimal(now.state) == with_tariff(Decimal("0.540"))
    assert now.attributes["unit_of_measurement"] == "SEK/kWh"
    assert now.attributes["interval_start"] == local(TODAY, 600).astimezone(UTC).isoformat()
    assert now.attributes["interval_end"] == local(TODAY, 615).astimezone(UTC).isoformat()
    assert now.attributes["source"] == SENSOR
    assert now.attributes["estimated"] is False
    assert now.attributes["source_price"] == 0.54
    next_hour = price_state(hass, "price_next_hour")
    assert Decimal(next_hour.state) == with_tariff(Decimal("0.544"))
    assert next_hour.attributes["interval_start"] == local(TODAY, 660).astimezone(UTC).isoformat()
    assert feed.series.complete_for(TODAY, TZ)
    assert not feed.series.complete_for(TOMORROW, TZ)
    assert issue(hass, ISSUE_PRICE_MISSING) is None
    assert issue(hass, ISSUE_PRICE_INCOMPLETE) is None

    hass.states.async_set(SENSOR, "0.54", hacs_attributes(tomorrow=range(96)))
    await hass.async_block_till_done()
    assert feed.series.complete_for(TOMORROW, TZ)
    assert feed.series.at(local(TOMORROW, 15 * 7)).price == quarter_price(TOMORROW, 7)


async def test_price_now_moves_at_the_quarter_hour(
    hass: HomeAssistant, start_hub: StartHub, site: FrozenDateTimeFactory
) -> None:
    """At 10:15 the sensors show the next interval's price without any change of the source."""
    hass.states.async_set(SENSOR, "0.54", hacs_attributes())
    await start_hub(source("entity", entity_id=SENSOR))

    await move_to(hass, site, local(TODAY, 615))
    assert Decimal(price_state(hass).state) == with_tariff(Decimal("0.541"))
    assert Decimal(price_state(hass, "price_next_hour").state) == with_tariff(Decimal("0.545"))


async def test_entsoe_hourly_day_with_tomorrow_partly_published(
    hass: HomeAssistant, start_hub: StartHub, site: FrozenDateTimeFactory
) -> None:
    """ENTSO-e hourly prices; tomorrow's first 12 hours only: tomorrow is incomplete (never
    "cheap"), its later hours have no price, and the price in an hour from 23:30 is tomorrow's."""
    hass.states.async_set("sensor.entsoe_price", "0.4", entsoe_attributes(tomorrow_hours=12))
    feed = await start_hub(source("entity", entity_id="sensor.entsoe_price"))

    assert Decimal(price_state(hass).state) == with_tariff(hour_price(TODAY, 10))
    interval = feed.series.at(NOW)
    assert interval is not None
    assert interval.length == timedelta(hours=1)
    assert feed.series.complete_for(TODAY, TZ)
    assert not feed.series.complete_for(TOMORROW, TZ)
    assert feed.series.missing_for(TOMORROW, TZ) == timedelta(hours=12)
    assert feed.series.at(local(TOMORROW, 13 * 60)) is None

    await move_to(hass, site, local(TODAY, 23 * 60 + 30))
    assert Decimal(price_state(hass, "price_next_hour").state) == with_tariff(
        hour_price(TOMORROW, 0)
    )


async def test_no_price_now_uses_the_fallback_and_raises_a_repair(
    hass: HomeAssistant, start_hub: StartHub
) -> None:
    """Prices until 10:00 only: now (10:07) gets the fallback price, marked estimated, and a
    repair says what to fix; both go when the sensor publishes the rest of the day."""
    hass.states.async_set(SENSOR, "0.5", hacs_attributes(today=range(40)))
    feed = await start_hub(source("entity", entity_id=SENSOR))

    now = price_state(hass)
    assert Decimal(now.state) == with_tariff(Decimal("1.00"))
    assert now.attributes["estimated"] is True
    assert now.attributes["source"] == "fallback"
    assert price_state(hass, "price_next_hour").state == STATE_UNAVAILABLE  # not filled ahead
    missing = issue(hass, ISSUE_PRICE_MISSING)
    assert missing is not None
    assert missing.translation_placeholders is not None
    assert missing.translation_placeholders["source"] == SENSOR
    assert missing.translation_placeholders["now"] == "10:07"
    assert missing.translation_placeholders["fallback"] == "1.00 SEK"
    assert not feed.series.complete_for(TODAY, TZ)

    hass.states.async_set(SENSOR, "0.54", hacs_attributes())
    await hass.async_block_till_done()
    now = price_state(hass)
    assert Decimal(now.state) == with_tariff(Decimal("0.540"))
    assert now.attributes["estimated"] is False
    assert issue(hass, ISSUE_PRICE_MISSING) is None
    assert issue(hass, ISSUE_PRICE_INCOMPLETE) is None


async def test_today_incomplete_raises_a_repair_naming_the_gap(
    hass: HomeAssistant, start_hub: StartHub
) -> None:
    """Now is priced but today's prices stop at 12:00: a repair names the gap (12 h)."""
    hass.states.async_set(SENSOR, "0.54", hacs_attributes(today=range(48)))
    await start_hub(source("entity", entity_id=SENSOR))

    assert Decimal(price_state(hass).state) == with_tariff(Decimal("0.540"))
    assert issue(hass, ISSUE_PRICE_MISSING) is None
    incomplete = issue(hass, ISSUE_PRICE_INCOMPLETE)
    assert incomplete is not None
    assert incomplete.translation_placeholders is not None
    assert incomplete.translation_placeholders["missing"] == "12:00"
    assert incomplete.translation_placeholders["gaps"] == "12:00-00:00"

    hass.states.async_set(SENSOR, "0.54", hacs_attributes())
    await hass.async_block_till_done()
    assert issue(hass, ISSUE_PRICE_INCOMPLETE) is None


async def test_a_source_without_the_past_hours_is_not_incomplete(
    hass: HomeAssistant, start_hub: StartHub
) -> None:
    """A sensor listing only the prices still to come (from 10:00): the rest of today is
    priced, so no repair; the hours before are estimated, never taken as real."""
    hass.states.async_set(SENSOR, "0.54", hacs_attributes(today=range(40, 96)))
    feed = await start_hub(source("entity", entity_id=SENSOR))

    assert Decimal(price_state(hass).state) == with_tariff(Decimal("0.540"))
    assert issue(hass, ISSUE_PRICE_MISSING) is None
    assert issue(hass, ISSUE_PRICE_INCOMPLETE) is None
    early = feed.series.at(local(TODAY, 60))
    assert early is not None
    assert early.estimated


async def test_a_sensor_that_goes_away_leaves_the_prices_it_published(
    hass: HomeAssistant, start_hub: StartHub
) -> None:
    """Prices as they were known: an unavailable sensor does not take today's prices away."""
    hass.states.async_set(SENSOR, "0.54", hacs_attributes())
    feed = await start_hub(source("entity", entity_id=SENSOR))

    hass.states.async_set(SENSOR, STATE_UNAVAILABLE, {})
    await hass.async_block_till_done()
    assert Decimal(price_state(hass).state) == with_tariff(Decimal("0.540"))
    assert feed.last_error is not None
    assert "no prices" in feed.last_error
    assert issue(hass, ISSUE_PRICE_MISSING) is None


# --- a price action ------------------------------------------------------------------------------


async def test_tibber_action_is_called_for_today_and_tomorrow(
    hass: HomeAssistant, start_hub: StartHub
) -> None:
    """``tibber.get_prices`` with return_response: start and end span today and tomorrow."""
    calls: list[dict[str, Any]] = []

    async def get_prices(call: ServiceCall) -> ServiceResponse:
        calls.append(dict(call.data))
        return tibber_response([TODAY])

    hass.services.async_register(
        "tibber", "get_prices", get_prices, supports_response=SupportsResponse.ONLY
    )
    feed = await start_hub(source("action", action="tibber.get_prices"))

    assert calls == [
        {
            "start": local(TODAY, 0).isoformat(),
            "end": local(TOMORROW + timedelta(days=1), 0).isoformat(),
        }
    ]
    assert Decimal(price_state(hass).state) == with_tariff(Decimal("0.540"))
    assert price_state(hass).attributes["source"] == "tibber.get_prices"
    assert feed.series.complete_for(TODAY, TZ)


async def test_nordpool_action_per_day_and_again_at_13_15(
    hass: HomeAssistant, start_hub: StartHub, site: FrozenDateTimeFactory
) -> None:
    """``nordpool.get_prices_for_date`` (per MWh) for today and tomorrow: tomorrow is refused
    until it is published; the call at 13:15 fetches it."""
    published = {TODAY}
    dates: list[str] = []

    async def get_prices_for_date(call: ServiceCall) -> ServiceResponse:
        day = date.fromisoformat(call.data["date"])
        dates.append(call.data["date"])
        assert call.data["areas"] == "SE3"
        if day not in published:
            raise ServiceValidationError("no prices for that date yet")
        return nordpool_core_response(day)

    hass.services.async_register(
        "nordpool",
        "get_prices_for_date",
        get_prices_for_date,
        supports_response=SupportsResponse.ONLY,
    )
    data = {"config_entry": "np1", "areas": "SE3", "currency": "SEK"}
    feed = await start_hub(
        source("action", action="nordpool.get_prices_for_date", action_data=data)
    )

    assert dates == [TODAY.isoformat(), TOMORROW.isoformat()]
    assert Decimal(price_state(hass).state) == with_tariff(Decimal("0.540"))  # 540 per MWh
    assert feed.last_error is None  # tomorrow not published yet is no error
    assert not feed.series.complete_for(TOMORROW, TZ)

    published.add(TOMORROW)
    await move_to(hass, site, local(TODAY, 13 * 60 + 15))
    assert TOMORROW.isoformat() in dates[2:]
    assert feed.series.complete_for(TOMORROW, TZ)
    assert feed.series.at(local(TOMORROW, 0)).price == quarter_price(TOMORROW, 0)


async def test_a_failing_action_keeps_trying_and_the_fallback_prices_meanwhile(
    hass: HomeAssistant, start_hub: StartHub, site: FrozenDateTimeFactory
) -> None:
    """The action fails: the fallback price and a repair; a retry a few minutes later works."""
    working = False

    async def get_prices(call: ServiceCall) -> ServiceResponse:
        if not working:
            raise ServiceValidationError("Tibber is down")
        return tibber_response([TODAY, TOMORROW])

    hass.services.async_register(
        "tibber", "get_prices", get_prices, supports_response=SupportsResponse.ONLY
    )
    feed = await start_hub(source("action", action="tibber.get_prices"))
    assert price_state(hass).attributes["estimated"] is True
    missing = issue(hass, ISSUE_PRICE_MISSING)
    assert missing is not None
    assert missing.translation_placeholders is not None
    assert "Tibber is down" in missing.translation_placeholders["details"]

    working = True
    await move_to(hass, site, NOW + timedelta(minutes=6))
    assert feed.last_error is None
    assert price_state(hass).attributes["estimated"] is False
    assert issue(hass, ISSUE_PRICE_MISSING) is None


# --- fixed price and time of use -----------------------------------------------------------------


async def test_fixed_price(hass: HomeAssistant, start_hub: StartHub) -> None:
    """A fixed price: every quarter-hour of today and tomorrow, VAT on top."""
    tariff = Tariff(
        currency="SEK",
        energy=EnergyPricing.FIXED,
        fixed_price=Decimal("1.20"),
        vat_rate=Decimal("0.25"),
    )
    feed = await start_hub(source("fixed"), tariff)

    assert Decimal(price_state(hass).state) == Decimal("1.50")
    assert price_state(hass).attributes["source"] == "fixed"
    assert Decimal(price_state(hass, "price_next_hour").state) == Decimal("1.50")
    assert feed.series.complete_for(TODAY, TZ)
    assert feed.series.complete_for(TOMORROW, TZ)
    assert issue(hass, ISSUE_PRICE_MISSING) is None


async def test_time_of_use_schedule(
    hass: HomeAssistant, start_hub: StartHub, site: FrozenDateTimeFactory
) -> None:
    """Weekdays 06:00-22:00 at 1.50, else 1.00 (no tariff components: the price as is)."""
    schedule = TouSchedule.from_dict(
        {
            "default": "1.00",
            "windows": [{"days": "weekdays", "start": "06:00", "end": "22:00", "price": "1.50"}],
        }
    )
    feed = await start_hub(
        source("tou", schedule=schedule.to_dict()),
        Tariff(currency="SEK", fallback_price=Decimal("1.00")),
    )
    assert Decimal(price_state(hass).state) == Decimal("1.50")
    assert price_state(hass).attributes["source"] == "tou"
    assert feed.series.complete_for(TOMORROW, TZ)

    await move_to(hass, site, local(TODAY, 21 * 60 + 30))
    assert Decimal(price_state(hass).state) == Decimal("1.50")
    assert Decimal(price_state(hass, "price_next_hour").state) == Decimal("1.00")


async def test_without_a_price_source_the_price_sensors_are_unavailable(
    hass: HomeAssistant, start_hub: StartHub
) -> None:
    """No price options: the sensors exist but have no price; no repair."""
    await start_hub(None, None)
    assert price_state(hass).state == STATE_UNAVAILABLE
    assert price_state(hass, "price_next_hour").state == STATE_UNAVAILABLE
    assert issue(hass, ISSUE_PRICE_MISSING) is None


# --- the options flow ----------------------------------------------------------------------------


async def _open_prices(hass: HomeAssistant, entry: MockConfigEntry, kind: str) -> dict[str, Any]:
    result = await hass.config_entries.options.async_init(entry.entry_id)
    assert result["type"] is FlowResultType.MENU
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "prices"}
    )
    assert result["step_id"] == "prices"
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"kind": kind})
    assert result["step_id"] == f"prices_{kind}"
    return dict(result)


TARIFF_FORM = {
    "fallback_price": 1.0,
    "supplier_markup": 0.05,
    "energy_tax": 0.4,
    "grid_fee": 0.3,
    "vat_percent": 25,
    "guest_mode": "markup",
    "guest_markup_per_kwh": 0.5,
    "guest_markup_percent": 0,
    "company_car_rate": 2.5,
}


async def test_options_flow_reads_the_sensor_before_it_saves(
    hass: HomeAssistant, start_hub: StartHub, hub_entry: MockConfigEntry
) -> None:
    """A sensor without price attributes is an error on the form (with its attributes
    listed); a price sensor leads to the tariff with what it found; saving stores the core's
    forms and the price sensors follow without reloading the hub."""
    await start_hub(None, None)
    server = hub_entry.runtime_data.server
    hass.states.async_set("sensor.outdoor", "3.5", {"unit_of_measurement": "°C", "trend": "up"})
    hass.states.async_set(SENSOR, "0.54", hacs_attributes())

    result = await _open_prices(hass, hub_entry, "entity")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"entity_id": "sensor.outdoor", "read": {"unit": "auto"}}
    )
    assert result["type"] is FlowResultType.FORM
    assert result["errors"] == {"entity_id": "no_prices"}
    assert "trend" in result["description_placeholders"]["details"]

    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"entity_id": SENSOR, "read": {"unit": "auto"}}
    )
    assert result["step_id"] == "prices_tariff"
    assert result["description_placeholders"] == {
        "today_count": "96",
        "today_missing": "0:00",
        "tomorrow_count": "0",
        "tomorrow_missing": "24:00",
        "first_price": "0.5",
        "first_start": "2026-12-01 00:00",
        "currency": "SEK",
        "shape": "nordpool_hacs",
        "details": "",
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**TARIFF_FORM, "guest_mode": "fixed"}
    )
    assert result["errors"] == {"guest_fixed_price": "required"}  # a fixed price needs one
    result = await hass.config_entries.options.async_configure(result["flow_id"], TARIFF_FORM)
    assert result["step_id"] == "prices_fees"  # then the surcharges and fees: none
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()

    assert hub_entry.options[CONF_PRICE_SOURCE] == source("entity", entity_id=SENSOR)
    tariff = Tariff.from_dict(hub_entry.options[CONF_TARIFF])
    assert tariff.fallback_price == Decimal("1.0")
    assert (tariff.supplier_markup, tariff.energy_tax, tariff.grid_fee) == (
        Decimal("0.05"),
        Decimal("0.4"),
        Decimal("0.3"),
    )
    assert tariff.vat_rate == Decimal("0.25")
    assert tariff.groups["guest"] == TariffGroup(
        mode=TariffGroupMode.MARKUP, markup_per_kwh=Decimal("0.5"), operator_fees=True
    )
    assert tariff.groups["company_car"].reimbursement_per_kwh == Decimal("2.5")
    assert hub_entry.options["db_url"]  # the other options are kept
    # Taken in live: the same hub (no reload), its price sensors now priced.
    assert hub_entry.runtime_data.server is server
    assert Decimal(price_state(hass).state) == with_tariff(Decimal("0.540"))

    # The hub step keeps the price options.
    result = await hass.config_entries.options.async_init(hub_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "hub"}
    )
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "reject_unknown_chargers": True,
            "meter_interval": 10,
            "slow_max_kw": 3.7,
            "fast_min_kw": 11.0,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()  # (other options: the hub reloads)
    assert hub_entry.state is ConfigEntryState.LOADED
    assert hub_entry.options[CONF_PRICE_SOURCE] == source("entity", entity_id=SENSOR)
    assert hub_entry.options["reject_unknown_chargers"] is True
    assert Decimal(price_state(hass).state) == with_tariff(Decimal("0.540"))


async def test_options_flow_action_and_fixed_and_schedule(
    hass: HomeAssistant, start_hub: StartHub, hub_entry: MockConfigEntry
) -> None:
    """An unknown action and an invalid schedule are errors on their forms; a working action
    and a fixed price are saved after the tariff step."""
    await start_hub(None, None)

    async def get_prices(call: ServiceCall) -> ServiceResponse:
        return tibber_response([TODAY, TOMORROW])

    hass.services.async_register(
        "tibber", "get_prices", get_prices, supports_response=SupportsResponse.ONLY
    )
    result = await _open_prices(hass, hub_entry, "action")
    schema_action = next(k for k in result["data_schema"].schema if k == "action")
    assert "tibber.get_prices" in result["data_schema"].schema[schema_action].config["options"]
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"action": "nothere.get_prices", "read": {"unit": "auto"}}
    )
    assert result["errors"] == {"action": "action_not_found"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"action": "tibber.get_prices", "read": {"entry": "Hemma", "unit": "auto"}},
    )
    assert result["step_id"] == "prices_tariff"
    assert result["description_placeholders"]["tomorrow_count"] == "96"
    assert result["description_placeholders"]["tomorrow_missing"] == "0:00"
    result = await hass.config_entries.options.async_configure(result["flow_id"], TARIFF_FORM)
    assert result["step_id"] == "prices_fees"  # then the surcharges and fees: none
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    stored = hub_entry.options[CONF_PRICE_SOURCE]
    assert (stored["kind"], stored["action"], stored["read"]["entry"]) == (
        "action",
        "tibber.get_prices",
        "Hemma",
    )

    result = await _open_prices(hass, hub_entry, "tou")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"schedule": {"default": "1", "windows": [{"start": "06:10", "end": "22:00", "price": 2}]}},
    )
    assert result["errors"] == {"schedule": "invalid_schedule"}
    assert "not on a quarter-hour" in result["description_placeholders"]["details"]

    result = await _open_prices(hass, hub_entry, "fixed")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"fixed_price": 1.2}
    )
    assert result["step_id"] == "prices_tariff"
    assert "fallback_price" not in result["data_schema"].schema
    form = {k: v for k, v in TARIFF_FORM.items() if k != "fallback_price"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {**form, "supplier_markup": 0, "energy_tax": 0, "grid_fee": 0}
    )
    assert result["step_id"] == "prices_fees"  # then the surcharges and fees: none
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    tariff = Tariff.from_dict(hub_entry.options[CONF_TARIFF])
    assert (tariff.energy, tariff.fixed_price) == (EnergyPricing.FIXED, Decimal("1.2"))
    assert hub_entry.options[CONF_PRICE_SOURCE]["kind"] == "fixed"
    assert Decimal(price_state(hass).state) == Decimal("1.50")

    # No source: saved at once (the tariff kept), the price sensors have no price.
    result = await hass.config_entries.options.async_init(hub_entry.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"next_step_id": "prices"}
    )
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"kind": "none"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert hub_entry.options[CONF_PRICE_SOURCE]["kind"] == "none"
    assert hub_entry.options[CONF_TARIFF] == tariff.to_dict()
    assert price_state(hass).state == STATE_UNAVAILABLE


async def test_options_flow_errors_each_on_its_field_then_a_schedule_is_saved(
    hass: HomeAssistant, start_hub: StartHub, hub_entry: MockConfigEntry
) -> None:
    """Action data that is not an object, an action that answers no prices and a schedule
    that is not an object are errors on their fields; a valid schedule leads to the tariff,
    whose fallback price is the schedule's default (a schedule never has a gap), and is saved."""
    await start_hub(None, None)

    async def no_prices(call: ServiceCall) -> ServiceResponse:
        return {"prices": {}}

    hass.services.async_register(
        "tibber", "get_prices", no_prices, supports_response=SupportsResponse.ONLY
    )
    result = await _open_prices(hass, hub_entry, "action")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"action": "tibber.get_prices", "action_data": ["home"], "read": {"unit": "auto"}},
    )
    assert result["errors"] == {"action_data": "not_an_object"}
    typed = next(k for k in result["data_schema"].schema if k == "action_data")
    assert typed.description == {"suggested_value": ["home"]}  # shown again to be corrected
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"action": "tibber.get_prices", "read": {"unit": "auto"}}
    )
    assert result["errors"] == {"action": "no_prices"}
    assert result["description_placeholders"]["details"]

    result = await _open_prices(hass, hub_entry, "tou")
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"schedule": "cheap nights"}
    )
    assert result["errors"] == {"schedule": "invalid_schedule"}
    assert "not an object" in result["description_placeholders"]["details"]
    schedule = {
        "default": "1.5",
        "windows": [{"days": "all", "start": "00:00", "end": "06:00", "price": "0.5"}],
    }
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"schedule": schedule}
    )
    assert result["step_id"] == "prices_tariff"
    fallback = next(k for k in result["data_schema"].schema if k == "fallback_price")
    assert fallback.description == {"suggested_value": 1.5}
    result = await hass.config_entries.options.async_configure(result["flow_id"], TARIFF_FORM)
    assert result["step_id"] == "prices_fees"
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert hub_entry.options[CONF_PRICE_SOURCE]["kind"] == "tou"
    assert TouSchedule.from_dict(hub_entry.options[CONF_PRICE_SOURCE]["schedule"]) == (
        TouSchedule.from_dict(schedule)
    )
