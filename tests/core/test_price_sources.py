"""Price sources: every shape HA shows prices in becomes sorted PriceIntervals (issue 12)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from custom_components.ev_sessions.core import (
    ParsedPrices,
    PriceProblemKind,
    PriceSeries,
    PriceSourceOptions,
    PriceSourceShape,
    PriceUnit,
    parse_entsoe,
    parse_ge_spot,
    parse_nordpool_core,
    parse_nordpool_hacs,
    parse_price_source,
    parse_record_time,
    parse_records,
    parse_tibber,
    recognize_shape,
)

FIXTURES = Path(__file__).parent / "fixtures" / "prices"
STHLM = ZoneInfo("Europe/Stockholm")
AMS = ZoneInfo("Europe/Amsterdam")
FETCHED = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
QUARTER = timedelta(minutes=15)
HOUR = timedelta(hours=1)


def load(name: str) -> Any:
    """A fixture's JSON."""
    return json.loads((FIXTURES / name).read_text())


def parse(data: object, **kwargs: Any) -> ParsedPrices:
    """``parse_price_source`` with the test's source, currency and fetch time."""
    return parse_price_source(
        data, source="sensor.prices", currency="SEK", fetched_at=FETCHED, **kwargs
    )


def assert_sorted_and_disjoint(parsed: ParsedPrices) -> None:
    """Intervals are in order and never overlap."""
    for before, after in zip(parsed.intervals, parsed.intervals[1:], strict=False):
        assert before.end <= after.start


def test_nordpool_hacs_15_minute_day_is_complete_and_exact() -> None:
    """raw_today of 96 quarter-hours: every price kept exactly, per kWh, the local day complete."""
    data = load("nordpool_hacs_15min.json")
    assert recognize_shape(data) is PriceSourceShape.NORDPOOL_HACS
    parsed = parse(data)
    assert parsed.shape is PriceSourceShape.NORDPOOL_HACS
    assert parsed.problems == ()
    assert len(parsed.intervals) == 96
    first, last = parsed.intervals[0], parsed.intervals[-1]
    # 2025-10-14 00:00 in Stockholm (CEST, +02:00) is 2025-10-13 22:00 UTC.
    assert first.start == datetime(2025, 10, 13, 22, 0, tzinfo=UTC)
    assert first.length == QUARTER
    assert first.price == Decimal("0.4")
    assert last.price == Decimal("0.875")  # 0.4 + 0.005 * 95
    assert {i.currency for i in parsed.intervals} == {"SEK"}
    assert {i.source for i in parsed.intervals} == {"sensor.prices"}
    assert parsed.series.complete_for(date(2025, 10, 14), STHLM)
    assert not parsed.series.complete_for(date(2025, 10, 15), STHLM)  # tomorrow not published
    assert_sorted_and_disjoint(parsed)


def test_nordpool_hacs_accepts_aware_datetimes_as_ha_holds_them() -> None:
    """Inside HA the attributes hold datetime objects, not strings: the same intervals result."""
    data = load("nordpool_hacs_15min.json")
    as_strings = parse_nordpool_hacs(data, source="s", currency="SEK", fetched_at=FETCHED)
    for record in data["raw_today"]:
        record["start"] = datetime.fromisoformat(record["start"]).astimezone(STHLM)
        record["end"] = datetime.fromisoformat(record["end"]).astimezone(STHLM)
    as_datetimes = parse_nordpool_hacs(data, source="s", currency="SEK", fetched_at=FETCHED)
    assert as_datetimes.intervals == as_strings.intervals


def test_spring_dst_day_has_92_quarters_and_a_partly_published_tomorrow_is_incomplete() -> None:
    """2026-03-29 (23 h): 92 quarter-hours make it complete; tomorrow (half a day, one null) not."""
    parsed = parse(load("nordpool_hacs_dst_spring.json"))
    day, tomorrow = date(2026, 3, 29), date(2026, 3, 30)
    today_intervals = [
        i for i in parsed.intervals if i.start < datetime(2026, 3, 29, 22, tzinfo=UTC)
    ]
    assert len(today_intervals) == 92
    assert parsed.series.complete_for(day, STHLM)
    assert not parsed.series.complete_for(tomorrow, STHLM)
    # 47 of tomorrow's 48 published quarter-hours; the null one is skipped and reported.
    assert len(parsed.intervals) == 92 + 47
    assert [p.kind for p in parsed.problems] == [PriceProblemKind.MISSING_PRICE]
    assert parsed.problems[0].where == "raw_tomorrow[5]"
    # The missing quarter-hour (tomorrow 01:15 local = 2026-03-29 23:15 UTC) has no price.
    assert parsed.series.at(datetime(2026, 3, 29, 23, 15, tzinfo=UTC)) is None
    # The local day after 02:00 jumps to CEST: 03:00 local is 01:00 UTC, priced by index 8.
    at_three = parsed.series.at(datetime(2026, 3, 29, 1, 0, tzinfo=UTC))
    assert at_three is not None
    assert at_three.price == Decimal("0.316")  # 0.3 + 0.002 * 8


def test_nordpool_core_autumn_dst_day_is_per_mwh_and_has_25_hours() -> None:
    """HA core Nordpool: per MWh -> per kWh exactly; 2024-10-27 has 25 hours; the area chosen."""
    data = load("nordpool_core_dst_autumn.json")
    assert recognize_shape(data) is PriceSourceShape.NORDPOOL_CORE
    parsed = parse(data, options=PriceSourceOptions(entry="SE3"))
    assert parsed.problems == ()
    assert len(parsed.intervals) == 25
    assert {i.length for i in parsed.intervals} == {HOUR}
    assert parsed.intervals[0].price == Decimal("0.2505")  # 250.5 SEK/MWh
    assert parsed.intervals[1].price == Decimal("0.26075")  # 260.75 SEK/MWh
    assert parsed.series.complete_for(date(2024, 10, 27), STHLM)
    se4 = parse(data, options=PriceSourceOptions(entry="SE4"))
    assert se4.intervals[0].price == Decimal("0.5")


def test_nordpool_core_without_area_takes_the_first_and_says_so() -> None:
    """Several areas and none configured: the first is read, and an ambiguity is reported."""
    parsed = parse_nordpool_core(
        load("nordpool_core_dst_autumn.json"), source="s", currency="SEK", fetched_at=FETCHED
    )
    assert len(parsed.intervals) == 25
    assert parsed.intervals[0].price == Decimal("0.2505")
    assert [p.kind for p in parsed.problems] == [PriceProblemKind.AMBIGUOUS_ENTRY]
    missing = parse(load("nordpool_core_dst_autumn.json"), options=PriceSourceOptions(entry="NO1"))
    assert missing.intervals == ()
    assert [p.kind for p in missing.problems] == [PriceProblemKind.MISSING_ATTRIBUTE]


def test_entsoe_hourly_day_complete_and_partly_published_tomorrow_incomplete() -> None:
    """prices_today (24 h, "YYYY-MM-DD HH:MM:SS+01:00") complete; 12 h of tomorrow incomplete."""
    data = load("entsoe_hourly_partial.json")
    assert recognize_shape(data) is PriceSourceShape.ENTSOE
    parsed = parse_entsoe(data, source="s", currency="EUR", fetched_at=FETCHED)
    assert parsed.problems == ()
    assert len(parsed.intervals) == 36
    assert {i.length for i in parsed.intervals} == {HOUR}
    assert parsed.intervals[0].start == datetime(2023, 3, 5, 23, 0, tzinfo=UTC)
    assert parsed.intervals[0].price == Decimal("0.1")
    series = parsed.series
    assert series.complete_for(date(2023, 3, 6), AMS)
    assert not series.complete_for(date(2023, 3, 7), AMS)
    assert series.missing_for(date(2023, 3, 7), AMS) == timedelta(hours=12)
    # The last published hour of tomorrow is an hour long, not stretched to the end of the day.
    assert series.intervals[-1].end == datetime(2023, 3, 7, 11, 0, tzinfo=UTC)


def test_entsoe_action_response_with_a_gap_and_a_nan() -> None:
    """{"prices": [{timestamp, price}]}: the missing hour stays a gap; the NaN is skipped."""
    data = load("entsoe_action_gap.json")
    assert recognize_shape(data) is PriceSourceShape.ENTSOE
    parsed = parse(data)
    assert [p.kind for p in parsed.problems] == [PriceProblemKind.BAD_PRICE]
    assert parsed.problems[0].where == "prices[3]"
    assert len(parsed.intervals) == 22  # 24 - the missing 10:00 - the NaN 03:00
    assert {i.length for i in parsed.intervals} == {HOUR}
    series = parsed.series
    day_start = datetime(2023, 3, 7, 23, 0, tzinfo=UTC)  # 2023-03-08 00:00 +01:00
    assert series.gaps(day_start, day_start + timedelta(days=1)) == (
        (day_start + 3 * HOUR, day_start + 4 * HOUR),
        (day_start + 10 * HOUR, day_start + 11 * HOUR),
    )
    assert not series.complete_for(date(2023, 3, 8), AMS)
    assert series.at(day_start + 10 * HOUR + QUARTER) is None


def test_tibber_15_minute_day_per_home() -> None:
    """{"prices": {home: [...]}}: the configured home's 96 quarter-hours."""
    data = load("tibber_15min.json")
    assert recognize_shape(data) is PriceSourceShape.TIBBER
    parsed = parse_tibber(
        data, source="tibber", currency="SEK", fetched_at=FETCHED,
        options=PriceSourceOptions(entry="Stugan"),
    )  # fmt: skip
    assert parsed.problems == ()
    assert len(parsed.intervals) == 96
    assert {i.length for i in parsed.intervals} == {QUARTER}
    assert parsed.intervals[0].price == Decimal("0.9")
    assert parsed.intervals[1].price == Decimal("0.904")
    assert parsed.series.complete_for(date(2025, 11, 3), STHLM)
    first_home = parse(data)
    assert first_home.intervals[0].price == Decimal("1.2")
    assert [p.kind for p in first_home.problems] == [PriceProblemKind.AMBIGUOUS_ENTRY]


def test_ge_spot_bad_records_are_skipped_and_counted_never_raised() -> None:
    """A missing value, an infinite value and an unparsable time: three problems, 93 intervals."""
    data = load("ge_spot_15min_bad_records.json")
    assert recognize_shape(data) is PriceSourceShape.GE_SPOT
    parsed = parse_ge_spot(data, source="ge", currency="SEK", fetched_at=FETCHED)
    assert parsed.skipped == 3
    assert [(p.kind, p.where) for p in parsed.problems] == [
        (PriceProblemKind.MISSING_PRICE, "today_interval_prices[7]"),
        (PriceProblemKind.BAD_PRICE, "today_interval_prices[8]"),
        (PriceProblemKind.BAD_START, "today_interval_prices[9]"),
    ]
    assert len(parsed.intervals) == 93
    # The three holes stay holes: quarter-hours 7, 8 and 9 of the day have no price.
    day_start = datetime(2025, 11, 3, 23, 0, tzinfo=UTC)
    assert parsed.series.gaps(day_start, day_start + timedelta(days=1)) == (
        (day_start + 7 * QUARTER, day_start + 10 * QUARTER),
    )
    assert parsed.intervals[6].length == QUARTER
    assert parsed.intervals[7].start == day_start + 10 * QUARTER


def test_generic_records_recognized_by_key_names_in_cents() -> None:
    """{"data": [{hour, price_ct_per_kwh}]}: found by pattern, ct/kWh divided by 100."""
    data = load("generic_ct_hourly.json")
    assert recognize_shape(data) is PriceSourceShape.RECORDS
    parsed = parse(data)
    assert parsed.problems == ()
    assert len(parsed.intervals) == 24
    assert parsed.intervals[0].start == datetime(2025, 6, 1, 22, 0, tzinfo=UTC)
    assert parsed.intervals[0].price == Decimal("0.2")  # 20 ct
    assert parsed.intervals[1].price == Decimal("0.205")  # 20.5 ct
    assert parsed.series.complete_for(date(2025, 6, 2), ZoneInfo("Europe/Berlin"))


def test_options_name_attributes_keys_and_unit_when_the_guess_fails() -> None:
    """Unknown key names and an unknown attribute: the user names them, and the unit."""
    attributes = {
        "forecast": [
            {"begins": "2025-06-02T00:00:00+00:00", "cost": 12.5},
            {"begins": "2025-06-02T00:15:00+00:00", "cost": 13},
        ],
        "other": "x",
    }
    assert recognize_shape(attributes) is PriceSourceShape.UNKNOWN
    assert parse(attributes).intervals == ()
    assert [p.kind for p in parse(attributes).problems] == [PriceProblemKind.NO_PRICES]
    options = PriceSourceOptions(
        attributes=("forecast", "missing"),
        start_key="begins",
        price_key="cost",
        unit=PriceUnit.CENTS_PER_KWH,
    )
    parsed = parse(attributes, options=options)
    assert [i.price for i in parsed.intervals] == [Decimal("0.125"), Decimal("0.13")]
    assert [i.length for i in parsed.intervals] == [QUARTER, QUARTER]
    assert [(p.kind, p.where) for p in parsed.problems] == [
        (PriceProblemKind.MISSING_ATTRIBUTE, "missing")
    ]
    assert PriceSourceOptions.from_dict(options.to_dict()) == options


def test_source_options_from_form_input() -> None:
    """The options form gives comma-separated attributes and blanks: blanks mean 'guess'."""
    options = PriceSourceOptions.from_dict(
        {"attributes": "raw_today, raw_tomorrow", "start_key": " ", "unit": "per_mwh"}
    )
    assert options == PriceSourceOptions(
        attributes=("raw_today", "raw_tomorrow"), unit=PriceUnit.PER_MWH
    )
    with pytest.raises(ValueError, match="unit"):
        PriceSourceOptions.from_dict({"unit": "per_gwh"})


def test_spacing_gives_length_and_a_resolution_change_is_followed() -> None:
    """No ``end``: 60-minute records then 15-minute ones (the day the market changed)."""
    t0 = datetime(2025, 9, 30, 22, 0, tzinfo=UTC)
    records = [{"start": (t0 - (3 - i) * HOUR).isoformat(), "price": 1} for i in range(3)]
    records += [{"start": (t0 + i * QUARTER).isoformat(), "price": 2} for i in range(8)]
    parsed = parse_records(records, source="s", currency="EUR", fetched_at=FETCHED)
    lengths = [i.length for i in parsed.intervals]
    assert lengths == [HOUR] * 3 + [QUARTER] * 8
    assert parsed.series.covers(t0 - 3 * HOUR, t0 + 2 * HOUR)
    # ... and back from 15 minutes to 60 minutes.
    records = [{"start": (t0 + i * QUARTER).isoformat(), "price": 2} for i in range(4)]
    records += [{"start": (t0 + (1 + i) * HOUR).isoformat(), "price": 1} for i in range(3)]
    parsed = parse_records(records, source="s", currency="EUR", fetched_at=FETCHED)
    assert [i.length for i in parsed.intervals] == [QUARTER] * 4 + [HOUR] * 3


def test_a_lone_record_is_a_quarter_hour_and_unsorted_input_is_sorted() -> None:
    """One record without end: 15 minutes (never claims more than it may); order restored."""
    t0 = datetime(2025, 11, 1, 10, 0, tzinfo=UTC)
    lone = parse_records(
        [{"time": t0.isoformat(), "price": 1}], source="s", currency="EUR", fetched_at=FETCHED
    )
    assert [i.length for i in lone.intervals] == [QUARTER]
    shuffled = [{"time": (t0 + i * QUARTER).isoformat(), "price": i} for i in (3, 0, 2, 1)]
    parsed = parse_records(shuffled, source="s", currency="EUR", fetched_at=FETCHED)
    assert [i.price for i in parsed.intervals] == [0, 1, 2, 3]
    assert parsed.series.covers(t0, t0 + HOUR)


def test_bad_values_of_every_kind_are_reported() -> None:
    """NaN float, bool, nested object, naive time without a zone, end before start, duplicates."""
    t0 = datetime(2025, 11, 1, 10, 0, tzinfo=UTC)
    records: list[object] = [
        {"start": t0.isoformat(), "price": 1.5},
        {"start": (t0 + QUARTER).isoformat(), "price": float("nan")},
        {"start": (t0 + 2 * QUARTER).isoformat(), "price": True},
        {"start": (t0 + 3 * QUARTER).isoformat(), "price": {"x": 1}},
        {"start": "2025-11-01T11:00:00", "price": 1},  # no zone
        {"start": (t0 + 5 * QUARTER).isoformat(), "end": t0.isoformat(), "price": 1},
        {"start": t0.isoformat(), "price": 1.5},  # the same again: silently merged
        {"start": t0.isoformat(), "price": 9},  # a different price for the same start
        {"price": 1},
        "garbage",
        {"start": 12, "price": 1},  # a number too small to be a timestamp
    ]
    parsed = parse_records(records, source="s", currency="EUR", fetched_at=FETCHED)
    assert [i.price for i in parsed.intervals] == [Decimal("1.5")]
    assert sorted(p.kind for p in parsed.problems) == sorted(
        [
            PriceProblemKind.BAD_PRICE,
            PriceProblemKind.BAD_PRICE,
            PriceProblemKind.BAD_PRICE,
            PriceProblemKind.BAD_START,
            PriceProblemKind.BAD_END,
            PriceProblemKind.DUPLICATE,
            PriceProblemKind.MISSING_START,
            PriceProblemKind.NOT_A_RECORD,
            PriceProblemKind.BAD_START,
        ]
    )
    # With the site's zone a naive time can be placed.
    naive = parse_records(
        [{"start": "2025-11-01T11:00:00", "price": 1}],
        source="s",
        currency="EUR",
        fetched_at=FETCHED,
        tz=STHLM,
    )
    assert naive.intervals[0].start == datetime(2025, 11, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize("data", [None, 42, "text", [], {}, {"prices": None}, [1, 2, 3]])
def test_nothing_usable_never_raises(data: object) -> None:
    """Whatever the sensor holds, parsing returns (with no intervals)."""
    parsed = parse(data)
    assert parsed.intervals == ()


def test_an_end_past_the_next_start_is_cut_and_reported() -> None:
    """Overlapping records: the earlier one is cut at the later one's start."""
    t0 = datetime(2025, 11, 1, 10, 0, tzinfo=UTC)
    records = [
        {"start": t0.isoformat(), "end": (t0 + HOUR).isoformat(), "value": 1},
        {"start": (t0 + QUARTER).isoformat(), "end": (t0 + 2 * QUARTER).isoformat(), "value": 2},
    ]
    parsed = parse_records(records, source="s", currency="EUR", fetched_at=FETCHED)
    assert [i.length for i in parsed.intervals] == [QUARTER, QUARTER]
    assert [p.kind for p in parsed.problems] == [PriceProblemKind.OVERLAP]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2023-03-06 00:00:00+01:00", datetime(2023, 3, 5, 23, 0, tzinfo=UTC)),
        ("2025-06-02T00:00:00Z", datetime(2025, 6, 2, 0, 0, tzinfo=UTC)),
        (1748822400, datetime(2025, 6, 2, 0, 0, tzinfo=UTC)),
        (1748822400000, datetime(2025, 6, 2, 0, 0, tzinfo=UTC)),
        ("yesterday", None),
        (float("inf"), None),
        (None, None),
    ],
)
def test_parse_time(value: object, expected: datetime | None) -> None:
    """ISO strings with offsets or Z, Unix seconds and milliseconds; nonsense gives None."""
    assert parse_record_time(value) == expected


def test_ge_spot_mapping_of_time_to_price() -> None:
    """A mapping {ISO time: price} is read as records too."""
    t0 = datetime(2025, 11, 1, 10, 0, tzinfo=UTC)
    data = {"today_interval_prices": {(t0 + i * QUARTER).isoformat(): 1 + i for i in range(4)}}
    parsed = parse(data)
    assert parsed.shape is PriceSourceShape.GE_SPOT
    assert [i.price for i in parsed.intervals] == [1, 2, 3, 4]
    assert isinstance(parsed.series, PriceSeries)
    assert parsed.series.covers(t0, t0 + HOUR)


KW: dict[str, Any] = {"source": "test", "currency": "SEK", "fetched_at": FETCHED}
RECORD = {"start": "2026-01-05T10:00:00+00:00", "price": 1.25}


@pytest.mark.parametrize(
    ("parsed", "problem"),
    [
        (parse_nordpool_hacs({"raw_today": 5}, **KW), "raw_today: no_prices (5)"),
        (parse_nordpool_core({}, **KW), "response: no_prices (empty)"),
        (parse_tibber({"prices": [RECORD]}, **KW), "prices: no_prices"),
    ],
)
def test_a_source_of_the_wrong_shape_says_where(parsed: ParsedPrices, problem: str) -> None:
    """What the price flow shows when a source answers in another shape than its own."""
    assert parsed.intervals == ()
    assert str(parsed.problems[0]).startswith(problem)


def test_lists_without_their_wrapper_are_still_read() -> None:
    """An ENTSO-e list given bare, records among other values, a bare list of records."""
    entsoe = parse_entsoe([{"time": RECORD["start"], "price": 1.25}], **KW)
    assert [(i.start, i.price) for i in entsoe.intervals] == [
        (datetime(2026, 1, 5, 10, tzinfo=UTC), Decimal("1.25"))
    ]
    mixed = parse_records(["header", RECORD], **KW)
    assert [i.price for i in mixed.intervals] == [Decimal("1.25")]
    bare = parse_price_source([RECORD], **KW)
    assert (bare.shape, len(bare.intervals)) == (PriceSourceShape.RECORDS, 1)


def test_a_key_name_that_is_no_text_and_a_time_out_of_range() -> None:
    with pytest.raises(ValueError, match="start_key: not a text: 5"):
        PriceSourceOptions.from_dict({"start_key": 5})
    assert parse_record_time(1e20) is None
