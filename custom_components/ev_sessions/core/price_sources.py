"""Price sources as Home Assistant shows them, turned into sorted :class:`PriceInterval` lists.

A dynamic price reaches HA as a sensor's attributes or an action's response. Whatever its shape,
the prices are a list of records, each with a start time and a price. This module recognizes the
known shapes (HACS Nordpool, HA core Nordpool, ENTSO-e, Tibber, GE-Spot) and, beyond them, any list
of records by its key names; the attribute and key names and the unit can be set when the guess
fails (:class:`PriceSourceOptions`).

Nothing here raises on bad data: a record without a start or a price, with a NaN or infinite price,
or with a time that cannot be read is skipped and reported as a :class:`PriceProblem`.

The length of an interval is its ``end`` when the record has one, otherwise the spacing of the
starts (15 or 60 minutes; a gap is not stretched over: a record next to a gap takes the spacing of
its regular neighbours). Completeness is a question for :class:`PriceSeries`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from enum import StrEnum
from itertools import pairwise
import math
from typing import Any

from .prices import PriceInterval, PriceSeries, to_decimal

#: Key names recognized as a record's start time, in order of preference.
RECORD_START_KEYS = (
    "start",
    "time",
    "start_time",
    "hour",
    "datetime",
    "timestamp",
    "startsAt",
    "from",
)
#: Key names recognized as a record's end time.
RECORD_END_KEYS = ("end", "end_time", "endsAt", "till", "to")
#: Key names recognized as a record's price, in order of preference.
RECORD_PRICE_KEYS = ("value", "price", "price_ct_per_kwh", "electricity_price", "total")
#: The longest interval a record may span (prices are 15- or 60-minute intervals).
MAX_PRICE_INTERVAL = timedelta(minutes=60)
#: The length assumed for a lone record with no ``end`` and no neighbour to measure the spacing.
LONE_RECORD_LENGTH = timedelta(minutes=15)


class PriceUnit(StrEnum):
    """The unit a source publishes its prices in (the result is always per kWh)."""

    PER_KWH = "per_kwh"
    PER_MWH = "per_mwh"
    CENTS_PER_KWH = "cents_per_kwh"  # ct, öre, øre: a hundredth of the currency per kWh

    @property
    def factor(self) -> Decimal:
        """Multiply a published price by this to get the price per kWh."""
        return _FACTORS[self]


_FACTORS = {
    PriceUnit.PER_KWH: Decimal(1),
    PriceUnit.PER_MWH: Decimal("0.001"),
    PriceUnit.CENTS_PER_KWH: Decimal("0.01"),
}


class PriceSourceShape(StrEnum):
    """Which shape a source's data was recognized as."""

    NORDPOOL_HACS = "nordpool_hacs"  # raw_today / raw_tomorrow
    NORDPOOL_CORE = "nordpool_core"  # {area: [{start, end, price}]} per MWh
    ENTSOE = "entsoe"  # prices_today / prices_tomorrow / prices, or {"prices": [...]}
    TIBBER = "tibber"  # {"prices": {home: [{start_time, price}]}}
    GE_SPOT = "ge_spot"  # today_interval_prices / tomorrow_interval_prices
    RECORDS = "records"  # any list of records, by key names
    UNKNOWN = "unknown"  # nothing that looks like prices


class PriceProblemKind(StrEnum):
    """Why a record (or the whole data) gave no price."""

    NO_PRICES = "no_prices"  # no list of price records found
    MISSING_ATTRIBUTE = "missing_attribute"  # a configured attribute/key is absent
    AMBIGUOUS_ENTRY = "ambiguous_entry"  # several areas/homes, none configured: the first taken
    NOT_A_RECORD = "not_a_record"  # a list item that is not a mapping
    MISSING_START = "missing_start"
    BAD_START = "bad_start"  # unparsable, or without a time zone
    MISSING_PRICE = "missing_price"  # no price key, or null
    BAD_PRICE = "bad_price"  # not a number, NaN or infinite
    BAD_END = "bad_end"  # unparsable, at or before the start, or longer than MAX_PRICE_INTERVAL
    DUPLICATE = "duplicate"  # a second, different price for the same start (the first kept)
    OVERLAP = "overlap"  # an end past the next record's start (cut at that start)


@dataclass(frozen=True, slots=True)
class PriceProblem:
    """A record skipped (or corrected) while reading a source."""

    kind: PriceProblemKind
    where: str  # e.g. "raw_today[3]"
    detail: str = ""

    def __str__(self) -> str:
        """Readable form for logs and repair issues."""
        return f"{self.where}: {self.kind}" + (f" ({self.detail})" if self.detail else "")


@dataclass(frozen=True, slots=True)
class ParsedPrices:
    """The intervals read from a source (sorted by start), and what was skipped."""

    intervals: tuple[PriceInterval, ...]
    problems: tuple[PriceProblem, ...] = ()
    shape: PriceSourceShape = PriceSourceShape.RECORDS

    @property
    def skipped(self) -> int:
        """How many problems were found (records skipped or corrected)."""
        return len(self.problems)

    @property
    def series(self) -> PriceSeries:
        """The intervals as a :class:`PriceSeries`."""
        return PriceSeries(self.intervals)


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceSourceOptions:
    """How to read a source when the guess is not enough (every field ``None`` = guess).

    * ``attributes`` - the attributes (or response keys) holding the record lists, e.g.
      ``("raw_today", "raw_tomorrow")``;
    * ``entry`` - which area (HA core Nordpool) or home (Tibber) to take from a keyed response;
    * ``start_key``, ``end_key``, ``price_key`` - the record's key names;
    * ``unit`` - the unit of the published price.
    """

    attributes: tuple[str, ...] = ()
    entry: str | None = None
    start_key: str | None = None
    end_key: str | None = None
    price_key: str | None = None
    unit: PriceUnit | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form (as the hub options store it)."""
        return {
            "attributes": list(self.attributes),
            "entry": self.entry,
            "start_key": self.start_key,
            "end_key": self.end_key,
            "price_key": self.price_key,
            "unit": None if self.unit is None else self.unit.value,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PriceSourceOptions:
        """Read :meth:`to_dict`'s form; blank strings count as not set. Raises ``ValueError``."""

        def text(key: str) -> str | None:
            value = data.get(key)
            if value is None or (isinstance(value, str) and not value.strip()):
                return None
            if not isinstance(value, str):
                raise ValueError(f"{key}: not a text: {value!r}")
            return value.strip()

        raw_attributes = data.get("attributes") or ()
        if isinstance(raw_attributes, str):
            raw_attributes = raw_attributes.split(",")
        attributes = tuple(str(a).strip() for a in raw_attributes if str(a).strip())
        unit = text("unit")
        try:
            parsed_unit = None if unit is None else PriceUnit(unit)
        except ValueError:
            choices = ", ".join(u.value for u in PriceUnit)
            raise ValueError(f"unit: {unit!r} is not one of {choices}") from None
        return cls(
            attributes=attributes,
            entry=text("entry"),
            start_key=text("start_key"),
            end_key=text("end_key"),
            price_key=text("price_key"),
            unit=parsed_unit,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class _Context:
    source: str
    currency: str
    fetched_at: datetime
    tz: tzinfo | None


@dataclass(frozen=True, slots=True)
class _Record:
    start: datetime
    end: datetime | None
    price: Decimal
    where: str


# --- reading values ------------------------------------------------------------------------------


def parse_record_time(value: object, tz: tzinfo | None = None) -> datetime | None:
    """A record's time as an aware UTC datetime, or ``None`` when it cannot be read.

    Accepts aware datetimes, ISO 8601 strings ("2023-03-06 00:00:00+01:00", "...Z") and Unix
    timestamps in seconds or milliseconds. A time without a zone is read in ``tz``; without ``tz``
    it cannot be placed and gives ``None``.
    """
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value.strip())
        except ValueError:
            return None
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        if not math.isfinite(value) or value < 1e9:
            return None
        seconds = value / 1000 if value >= 1e12 else value
        try:
            return datetime.fromtimestamp(seconds, UTC)
        except OverflowError, OSError, ValueError:
            return None
    else:
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        if tz is None:
            return None
        parsed = parsed.replace(tzinfo=tz)
    return parsed.astimezone(UTC)


def _first_key(record: Mapping[str, Any], candidates: Sequence[str]) -> str | None:
    return next((key for key in candidates if key in record), None)


def _guess_keys(records: Sequence[object], options: PriceSourceOptions) -> tuple[str, str, str]:
    """The start, end and price keys of ``records`` (configured names win)."""
    start_key, end_key, price_key = options.start_key, options.end_key, options.price_key
    for record in records:
        if not isinstance(record, Mapping):
            continue
        start_key = start_key or _first_key(record, RECORD_START_KEYS)
        end_key = end_key or _first_key(record, RECORD_END_KEYS)
        price_key = price_key or _first_key(record, RECORD_PRICE_KEYS)
        if start_key and price_key:
            break
    return (
        start_key or RECORD_START_KEYS[0],
        end_key or RECORD_END_KEYS[0],
        price_key or RECORD_PRICE_KEYS[0],
    )


def _unit_for(price_key: str, options: PriceSourceOptions, default: PriceUnit) -> PriceUnit:
    if options.unit is not None:
        return options.unit
    if price_key.lower().startswith(("price_ct", "price_cent")) or "_ct_" in price_key.lower():
        return PriceUnit.CENTS_PER_KWH
    return default


def _as_records(value: object) -> Sequence[object] | None:
    """A list of records, or a mapping of ISO time -> price turned into one; else ``None``."""
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        return value
    if (
        isinstance(value, Mapping)
        and value
        and all(isinstance(k, str) for k in value)
        and all(
            not isinstance(v, (Mapping, Sequence)) or isinstance(v, str) for v in value.values()
        )
    ):
        return [{"start": key, "price": price} for key, price in value.items()]
    return None


def _read_list(
    records: Sequence[object],
    where: str,
    options: PriceSourceOptions,
    ctx: _Context,
    default_unit: PriceUnit,
    problems: list[PriceProblem],
) -> tuple[list[_Record], Decimal]:
    """The readable records of one list, and the list's unit factor."""
    start_key, end_key, price_key = _guess_keys(records, options)
    factor = _unit_for(price_key, options, default_unit).factor
    found: list[_Record] = []
    for index, record in enumerate(records):
        here = f"{where}[{index}]"
        if not isinstance(record, Mapping):
            problems.append(PriceProblem(PriceProblemKind.NOT_A_RECORD, here, repr(record)[:60]))
            continue
        if record.get(start_key) is None:
            problems.append(PriceProblem(PriceProblemKind.MISSING_START, here, f"no {start_key!r}"))
            continue
        start = parse_record_time(record[start_key], ctx.tz)
        if start is None:
            detail = repr(record[start_key])[:60]
            problems.append(PriceProblem(PriceProblemKind.BAD_START, here, detail))
            continue
        if record.get(price_key) is None:
            problems.append(PriceProblem(PriceProblemKind.MISSING_PRICE, here, f"no {price_key!r}"))
            continue
        price = to_decimal(record[price_key])
        if price is None:
            detail = repr(record[price_key])[:60]
            problems.append(PriceProblem(PriceProblemKind.BAD_PRICE, here, detail))
            continue
        end: datetime | None = None
        if record.get(end_key) is not None:
            end = parse_record_time(record[end_key], ctx.tz)
            if end is None or not start < end <= start + MAX_PRICE_INTERVAL:
                detail = repr(record[end_key])[:60]
                problems.append(PriceProblem(PriceProblemKind.BAD_END, here, detail))
                continue
        found.append(_Record(start=start, end=end, price=price * factor, where=here))
    return found, factor


def _lengths(records: Sequence[_Record]) -> list[timedelta]:
    """Each record's length from the spacing of the starts (``records`` sorted, unique starts).

    A spacing counts as the length when a neighbour has the same spacing (a regular run); a
    record next to a gap takes the smaller spacing of its neighbours, so the gap stays a gap.
    """
    spacing = [b.start - a.start for a, b in pairwise(records)]
    lengths: list[timedelta] = []
    for index in range(len(records)):
        before = spacing[index - 1] if index > 0 else None
        after = spacing[index] if index < len(spacing) else None
        following = spacing[index + 1] if index + 1 < len(spacing) else None
        if after is not None and after <= MAX_PRICE_INTERVAL and after in (before, following):
            lengths.append(after)
            continue
        candidates = [s for s in (before, after) if s is not None and s <= MAX_PRICE_INTERVAL]
        if candidates:
            lengths.append(min(candidates))
        elif after is not None:
            lengths.append(min(LONE_RECORD_LENGTH, after))
        else:
            lengths.append(LONE_RECORD_LENGTH)
    return lengths


def _to_intervals(
    records: list[_Record], ctx: _Context, problems: list[PriceProblem]
) -> tuple[PriceInterval, ...]:
    """Sort, drop duplicate starts, settle each length, and build the intervals."""
    records.sort(key=lambda r: r.start)
    unique: list[_Record] = []
    for record in records:
        if unique and unique[-1].start == record.start:
            if unique[-1].price != record.price:
                detail = f"{record.price} vs {unique[-1].price} at {record.start.isoformat()}"
                problems.append(PriceProblem(PriceProblemKind.DUPLICATE, record.where, detail))
            continue
        unique.append(record)
    lengths = _lengths(unique)
    intervals: list[PriceInterval] = []
    for index, record in enumerate(unique):
        length = lengths[index] if record.end is None else record.end - record.start
        if index + 1 < len(unique) and record.start + length > unique[index + 1].start:
            problems.append(
                PriceProblem(
                    PriceProblemKind.OVERLAP, record.where, "cut at the next record's start"
                )
            )
            length = unique[index + 1].start - record.start
        intervals.append(
            PriceInterval(
                source=ctx.source,
                start=record.start,
                length=length,
                price=record.price,
                currency=ctx.currency,
                fetched_at=ctx.fetched_at,
            )
        )
    return tuple(intervals)


def _parse_lists(
    lists: Sequence[tuple[str, object]],
    options: PriceSourceOptions,
    ctx: _Context,
    default_unit: PriceUnit,
    shape: PriceSourceShape,
    problems: list[PriceProblem],
) -> ParsedPrices:
    records: list[_Record] = []
    for where, value in lists:
        if value is None:
            continue  # e.g. raw_tomorrow before tomorrow is published
        as_records = _as_records(value)
        if as_records is None:
            problems.append(PriceProblem(PriceProblemKind.NO_PRICES, where, repr(value)[:60]))
            continue
        found, _ = _read_list(as_records, where, options, ctx, default_unit, problems)
        records += found
    return ParsedPrices(_to_intervals(records, ctx, problems), tuple(problems), shape)


def _context(source: str, currency: str, fetched_at: datetime, tz: tzinfo | None) -> _Context:
    return _Context(source=source, currency=currency, fetched_at=fetched_at.astimezone(UTC), tz=tz)


# --- the known shapes ----------------------------------------------------------------------------


def parse_records(
    records: object,
    *,
    source: str,
    currency: str,
    fetched_at: datetime,
    options: PriceSourceOptions = PriceSourceOptions(),  # noqa: B008 - frozen, shared safely
    tz: tzinfo | None = None,
    where: str = "records",
    unit: PriceUnit = PriceUnit.PER_KWH,
) -> ParsedPrices:
    """Any list of price records, recognized by its key names (``RECORD_START_KEYS`` and so on).

    ``unit`` is the default when neither ``options.unit`` nor the price key ("price_ct_per_kwh")
    says otherwise. A mapping of ISO time -> price is read as records too.
    """
    ctx = _context(source, currency, fetched_at, tz)
    return _parse_lists([(where, records)], options, ctx, unit, PriceSourceShape.RECORDS, [])


def parse_nordpool_hacs(
    attributes: Mapping[str, Any],
    *,
    source: str,
    currency: str,
    fetched_at: datetime,
    options: PriceSourceOptions = PriceSourceOptions(),  # noqa: B008
    tz: tzinfo | None = None,
) -> ParsedPrices:
    """The HACS Nordpool sensor: ``raw_today`` + ``raw_tomorrow`` of {start, end, value} per kWh."""
    ctx = _context(source, currency, fetched_at, tz)
    lists = [(name, attributes.get(name)) for name in ("raw_today", "raw_tomorrow")]
    return _parse_lists(lists, options, ctx, PriceUnit.PER_KWH, PriceSourceShape.NORDPOOL_HACS, [])


def _keyed_entry(
    response: Mapping[str, Any], entry: str | None, problems: list[PriceProblem]
) -> tuple[str, object] | None:
    """The list under ``entry`` (an area, a home), or the only/first one when not configured."""
    if entry is not None:
        if entry not in response:
            choices = ", ".join(sorted(map(str, response)))
            problems.append(
                PriceProblem(PriceProblemKind.MISSING_ATTRIBUTE, entry, f"available: {choices}")
            )
            return None
        return entry, response[entry]
    if not response:
        problems.append(PriceProblem(PriceProblemKind.NO_PRICES, "response", "empty"))
        return None
    names = list(response)
    if len(names) > 1:
        detail = f"took {names[0]!r} of {', '.join(map(str, names))}"
        problems.append(PriceProblem(PriceProblemKind.AMBIGUOUS_ENTRY, "response", detail))
    return str(names[0]), response[names[0]]


def parse_nordpool_core(
    response: Mapping[str, Any],
    *,
    source: str,
    currency: str,
    fetched_at: datetime,
    options: PriceSourceOptions = PriceSourceOptions(),  # noqa: B008
    tz: tzinfo | None = None,
) -> ParsedPrices:
    """HA core ``nordpool.get_prices_for_date``: ``{area: [{start, end, price}]}`` per MWh.

    ``options.entry`` names the area when the response holds several.
    """
    ctx = _context(source, currency, fetched_at, tz)
    problems: list[PriceProblem] = []
    found = _keyed_entry(response, options.entry, problems)
    lists = [] if found is None else [found]
    return _parse_lists(
        lists, options, ctx, PriceUnit.PER_MWH, PriceSourceShape.NORDPOOL_CORE, problems
    )


def parse_entsoe(
    data: Mapping[str, Any] | Sequence[object],
    *,
    source: str,
    currency: str,
    fetched_at: datetime,
    options: PriceSourceOptions = PriceSourceOptions(),  # noqa: B008
    tz: tzinfo | None = None,
) -> ParsedPrices:
    """ENTSO-e: sensor attributes ``prices_today`` + ``prices_tomorrow`` (else ``prices``) of
    {time, price}, or the ``get_energy_prices`` response ``{"prices": [{timestamp, price}]}``.
    """
    ctx = _context(source, currency, fetched_at, tz)
    if not isinstance(data, Mapping):
        return _parse_lists(
            [("prices", data)], options, ctx, PriceUnit.PER_KWH, PriceSourceShape.ENTSOE, []
        )
    if "prices_today" in data or "prices_tomorrow" in data:
        lists = [(name, data.get(name)) for name in ("prices_today", "prices_tomorrow")]
    else:
        lists = [("prices", data.get("prices"))]
    return _parse_lists(lists, options, ctx, PriceUnit.PER_KWH, PriceSourceShape.ENTSOE, [])


def parse_tibber(
    response: Mapping[str, Any],
    *,
    source: str,
    currency: str,
    fetched_at: datetime,
    options: PriceSourceOptions = PriceSourceOptions(),  # noqa: B008
    tz: tzinfo | None = None,
) -> ParsedPrices:
    """HA core ``tibber.get_prices``: ``{"prices": {home: [{start_time, price}]}}`` per kWh.

    ``options.entry`` names the home when the response holds several.
    """
    ctx = _context(source, currency, fetched_at, tz)
    problems: list[PriceProblem] = []
    homes = response.get("prices")
    if not isinstance(homes, Mapping):
        problems.append(PriceProblem(PriceProblemKind.NO_PRICES, "prices", repr(homes)[:60]))
        return ParsedPrices((), tuple(problems), PriceSourceShape.TIBBER)
    found = _keyed_entry(homes, options.entry, problems)
    lists = [] if found is None else [(f"prices[{found[0]!r}]", found[1])]
    return _parse_lists(lists, options, ctx, PriceUnit.PER_KWH, PriceSourceShape.TIBBER, problems)


def parse_ge_spot(
    attributes: Mapping[str, Any],
    *,
    source: str,
    currency: str,
    fetched_at: datetime,
    options: PriceSourceOptions = PriceSourceOptions(),  # noqa: B008
    tz: tzinfo | None = None,
) -> ParsedPrices:
    """GE-Spot: ``today_interval_prices`` + ``tomorrow_interval_prices`` ({time, value} records, or
    a mapping of time -> price); ``*_hourly_prices`` when the interval ones are absent.
    """
    ctx = _context(source, currency, fetched_at, tz)
    prefix = "interval" if "today_interval_prices" in attributes else "hourly"
    names = (f"today_{prefix}_prices", f"tomorrow_{prefix}_prices")
    lists = [(name, attributes.get(name)) for name in names]
    return _parse_lists(lists, options, ctx, PriceUnit.PER_KWH, PriceSourceShape.GE_SPOT, [])


# --- recognizing the shape -----------------------------------------------------------------------


def _looks_like_records(value: object) -> bool:
    """A non-empty list whose first mapping has a known start key and a known price key."""
    records = _as_records(value)
    if not records:
        return False
    first = next((r for r in records if isinstance(r, Mapping)), None)
    return (
        first is not None
        and _first_key(first, RECORD_START_KEYS) is not None
        and _first_key(first, RECORD_PRICE_KEYS) is not None
    )


def recognize_shape(data: object) -> PriceSourceShape:
    """Which known shape ``data`` (attributes, an action response or a list) has."""
    if isinstance(data, Sequence) and not isinstance(data, (str, bytes)):
        return PriceSourceShape.RECORDS if _looks_like_records(data) else PriceSourceShape.UNKNOWN
    if not isinstance(data, Mapping):
        return PriceSourceShape.UNKNOWN
    if "raw_today" in data or "raw_tomorrow" in data:
        return PriceSourceShape.NORDPOOL_HACS
    if any(
        f"{day}_{kind}_prices" in data
        for day in ("today", "tomorrow")
        for kind in ("interval", "hourly")
    ):
        return PriceSourceShape.GE_SPOT
    if "prices_today" in data or "prices_tomorrow" in data:
        return PriceSourceShape.ENTSOE
    prices = data.get("prices")
    if (
        isinstance(prices, Mapping)
        and prices
        and all(_looks_like_records(v) or v == [] for v in prices.values())
    ):
        return PriceSourceShape.TIBBER
    if _looks_like_records(prices):
        return PriceSourceShape.ENTSOE
    values = list(data.values())
    if values and all(isinstance(v, list) for v in values) and any(values):
        first = next(r for v in values for r in v)
        if isinstance(first, Mapping) and {"start", "end", "price"} <= set(first):
            return PriceSourceShape.NORDPOOL_CORE
    if any(_looks_like_records(v) for v in values):
        return PriceSourceShape.RECORDS
    return PriceSourceShape.UNKNOWN


_PARSERS = {
    PriceSourceShape.NORDPOOL_HACS: parse_nordpool_hacs,
    PriceSourceShape.NORDPOOL_CORE: parse_nordpool_core,
    PriceSourceShape.ENTSOE: parse_entsoe,
    PriceSourceShape.TIBBER: parse_tibber,
    PriceSourceShape.GE_SPOT: parse_ge_spot,
}


def parse_price_source(
    data: object,
    *,
    source: str,
    currency: str,
    fetched_at: datetime,
    options: PriceSourceOptions = PriceSourceOptions(),  # noqa: B008
    tz: tzinfo | None = None,
) -> ParsedPrices:
    """Read prices from a sensor's attributes, an action's response or a plain list of records.

    With ``options.attributes`` set, exactly those attributes/keys are read as record lists.
    Otherwise the shape is recognized (:func:`recognize_shape`); a mapping of another shape is
    searched for every value that is a list of price records. Never raises: what cannot be read
    is in :attr:`ParsedPrices.problems` (``no_prices`` when nothing was found at all).
    """
    ctx = _context(source, currency, fetched_at, tz)
    if options.attributes:
        problems: list[PriceProblem] = []
        lists: list[tuple[str, object]] = []
        for name in options.attributes:
            if isinstance(data, Mapping) and name in data:
                lists.append((name, data[name]))
            else:
                problems.append(PriceProblem(PriceProblemKind.MISSING_ATTRIBUTE, name))
        return _parse_lists(
            lists, options, ctx, PriceUnit.PER_KWH, PriceSourceShape.RECORDS, problems
        )
    shape = recognize_shape(data)
    if shape in _PARSERS and isinstance(data, Mapping):
        return _PARSERS[shape](
            data, source=source, currency=currency, fetched_at=fetched_at, options=options, tz=tz
        )
    if shape is PriceSourceShape.RECORDS and isinstance(data, Mapping):
        lists = [(str(k), v) for k, v in data.items() if _looks_like_records(v)]
        return _parse_lists(lists, options, ctx, PriceUnit.PER_KWH, shape, [])
    if shape is PriceSourceShape.RECORDS:
        return _parse_lists([("records", data)], options, ctx, PriceUnit.PER_KWH, shape, [])
    problem = PriceProblem(PriceProblemKind.NO_PRICES, "data", type(data).__name__)
    return ParsedPrices((), (problem,), PriceSourceShape.UNKNOWN)


__all__ = [
    "LONE_RECORD_LENGTH",
    "MAX_PRICE_INTERVAL",
    "RECORD_END_KEYS",
    "RECORD_PRICE_KEYS",
    "RECORD_START_KEYS",
    "ParsedPrices",
    "PriceProblem",
    "PriceProblemKind",
    "PriceSourceOptions",
    "PriceSourceShape",
    "PriceUnit",
    "parse_entsoe",
    "parse_ge_spot",
    "parse_nordpool_core",
    "parse_nordpool_hacs",
    "parse_price_source",
    "parse_record_time",
    "parse_records",
    "parse_tibber",
    "recognize_shape",
]
