"""The site's electricity prices in Home Assistant: the configured price source, read.

The hub options say where prices come from (``price_source``, :class:`PriceSourceConfig`) and
what a kWh costs on top (``tariff``, the core's :class:`Tariff`). :class:`PriceFeed` turns that
into a :class:`PriceSeries` for today and tomorrow (local time):

* ``fixed`` - the tariff's fixed price; ``tou`` - a time-of-use schedule: computed here;
* ``entity`` - a price sensor's attributes, read on every state change of the sensor;
* ``action`` - an action with a response (``nordpool.get_prices_for_date``,
  ``tibber.get_prices``, ...), called at start, every hour and at 13:15 local time.

Parsing and tariff math stay in the core (:func:`parse_price_source`, :class:`Tariff`).
Prices once read are kept (a sensor that goes away leaves what it published); a time that the
source leaves without a price is priced with the tariff's fallback price (an *estimated*
interval) up to the current quarter-hour, and a repair issue says what to fix. It goes once a
real price covers now again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
import contextlib
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final

from homeassistant.core import (
    CALLBACK_TYPE,
    Event,
    EventStateChangedData,
    HomeAssistant,
    callback,
)
from homeassistant.helpers import issue_registry as ir
from homeassistant.helpers.event import (
    async_call_later,
    async_track_state_change_event,
    async_track_time_change,
    async_track_time_interval,
    async_track_utc_time_change,
)
from homeassistant.helpers.start import async_at_started
from homeassistant.util import dt as dt_util

from .const import DOMAIN, LOGGER
from .core import (
    FALLBACK_PRICE_SOURCE,
    SLOT_LENGTH,
    Listeners,
    PriceInterval,
    PriceProblem,
    PriceSeries,
    PriceSourceOptions,
    PriceSourceShape,
    Tariff,
    TariffError,
    TouSchedule,
    fixed_prices,
    local_day_bounds,
    parse_price_source,
    slot_start,
    tou_prices,
)

#: Hub options: the price source (:meth:`PriceSourceConfig.to_dict`) and the tariff
#: (:meth:`Tariff.to_dict`). Changing only these does not reload the hub.
CONF_PRICE_SOURCE: Final = "price_source"
CONF_TARIFF: Final = "tariff"
PRICE_OPTION_KEYS: Final = frozenset({CONF_PRICE_SOURCE, CONF_TARIFF})
#: Repair issues: no real price for now; today's real prices incomplete.
ISSUE_PRICE_MISSING: Final = "price_missing"
ISSUE_PRICE_INCOMPLETE: Final = "price_today_incomplete"
#: Actions that take one day (``date``) and ones that take a range (``start``, ``end``).
PER_DAY_ACTIONS: Final = frozenset({"nordpool.get_prices_for_date"})
RANGE_ACTIONS: Final = frozenset({"tibber.get_prices"})
_MAX_DETAILS = 5


class PriceSourceKind(StrEnum):
    """Where the site's prices come from."""

    NONE = "none"
    FIXED = "fixed"  # the tariff's fixed price (Tariff.energy = fixed)
    TOU = "tou"  # a time-of-use schedule
    ENTITY = "entity"  # a price sensor's attributes
    ACTION = "action"  # an action's response

    @property
    def dynamic(self) -> bool:
        """Prices read from another integration (they can be missing)."""
        return self in (PriceSourceKind.ENTITY, PriceSourceKind.ACTION)


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceSourceConfig:
    """The price source as the hub options store it (``options["price_source"]``).

    ``entity_id`` for ``entity``; ``action`` ("domain.service") and ``action_data`` for
    ``action``; ``read`` how to read the records when the guess fails (both); ``schedule`` for
    ``tou``. A fixed price lives in the tariff (``fixed_price``).
    """

    kind: PriceSourceKind = PriceSourceKind.NONE
    entity_id: str | None = None
    action: str | None = None
    action_data: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    read: PriceSourceOptions = field(default_factory=PriceSourceOptions)
    schedule: TouSchedule | None = None

    @property
    def name(self) -> str:
        """The ``source`` of the intervals read: the entity id, the action, or the kind."""
        if self.kind is PriceSourceKind.ENTITY and self.entity_id:
            return self.entity_id
        if self.kind is PriceSourceKind.ACTION and self.action:
            return self.action
        return self.kind.value

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form."""
        return {
            "kind": self.kind.value,
            "entity_id": self.entity_id,
            "action": self.action,
            "action_data": dict(self.action_data),
            "read": self.read.to_dict(),
            "schedule": None if self.schedule is None else self.schedule.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PriceSourceConfig:
        """Read :meth:`to_dict`'s form; ``ValueError`` says what is wrong."""
        try:
            kind = PriceSourceKind(data.get("kind", PriceSourceKind.NONE.value))
        except ValueError:
            raise ValueError(f"kind: unknown source kind {data.get('kind')!r}") from None
        entity_id = data.get("entity_id") or None
        action = data.get("action") or None
        action_data = data.get("action_data") or {}
        if not isinstance(action_data, Mapping):
            raise ValueError(f"action_data: not an object: {action_data!r}")
        if kind is PriceSourceKind.ENTITY and not isinstance(entity_id, str):
            raise ValueError("entity_id: needed for an entity source")
        if kind is PriceSourceKind.ACTION and (not isinstance(action, str) or "." not in action):
            raise ValueError(f"action: not an action (domain.name): {action!r}")
        schedule = None
        if kind is PriceSourceKind.TOU:
            raw = data.get("schedule")
            if not isinstance(raw, Mapping):
                raise ValueError("schedule: needed for a time-of-use source")
            schedule = TouSchedule.from_dict(raw)
        read = data.get("read") or {}
        if not isinstance(read, Mapping):
            raise ValueError(f"read: not an object: {read!r}")
        return cls(
            kind=kind,
            entity_id=entity_id,
            action=action,
            action_data=MappingProxyType(dict(action_data)),
            read=PriceSourceOptions.from_dict(read),
            schedule=schedule,
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceConfig:
    """The price source and the tariff, read from the hub options; ``problems``: what could not
    be read (the part is then left out)."""

    source: PriceSourceConfig = PriceSourceConfig()
    tariff: Tariff | None = None
    problems: tuple[str, ...] = ()


def price_config(options: Mapping[str, Any]) -> PriceConfig:
    """The hub options' price source and tariff (never raises)."""
    problems: list[str] = []
    source = PriceSourceConfig()
    raw_source = options.get(CONF_PRICE_SOURCE)
    if isinstance(raw_source, Mapping):
        try:
            source = PriceSourceConfig.from_dict(raw_source)
        except ValueError as err:
            problems.append(f"{CONF_PRICE_SOURCE}: {err}")
    tariff = None
    raw_tariff = options.get(CONF_TARIFF)
    if isinstance(raw_tariff, Mapping):
        try:
            tariff = Tariff.from_dict(raw_tariff)
        except TariffError as err:
            problems.append(f"{CONF_TARIFF}: {err}")
    return PriceConfig(source=source, tariff=tariff, problems=tuple(problems))


def only_price_options_changed(old: Mapping[str, Any], new: Mapping[str, Any]) -> bool:
    """Whether ``old`` and ``new`` differ in the price options only (no hub reload needed)."""

    def rest(options: Mapping[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in options.items() if k not in PRICE_OPTION_KEYS}

    return rest(old) == rest(new) and dict(old) != dict(new)


# --- actions -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ActionCall:
    """One call of the price action; an ``optional`` one may fail (tomorrow before 13:00)."""

    domain: str
    service: str
    data: dict[str, Any]
    optional: bool = False


def action_calls(action: str, data: Mapping[str, Any], today: date, tz: tzinfo) -> list[ActionCall]:
    """The calls that fetch today's and tomorrow's prices.

    A per-day action (``nordpool.get_prices_for_date``, or any action whose data has a ``date``)
    is called for today and for tomorrow with ``date`` set; a range action
    (``tibber.get_prices``, or data with ``start`` and ``end``) once with ``start`` at today's
    and ``end`` at the day after tomorrow's local midnight; any other once with its data as is.
    """
    domain, _, service = action.partition(".")
    if action in PER_DAY_ACTIONS or "date" in data:
        return [
            ActionCall(domain, service, {**data, "date": day.isoformat()}, optional=offset > 0)
            for offset, day in enumerate((today, today + timedelta(days=1)))
        ]
    if action in RANGE_ACTIONS or ("start" in data and "end" in data):
        start = local_day_bounds(today, tz)[0].astimezone(tz)
        end = local_day_bounds(today + timedelta(days=1), tz)[1].astimezone(tz)
        return [
            ActionCall(
                domain, service, {**data, "start": start.isoformat(), "end": end.isoformat()}
            )
        ]
    return [ActionCall(domain, service, dict(data))]


# --- reading once --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SourceRead:
    """What one read of the source gave: its intervals, the records skipped, and why nothing
    could be read at all (``error``: e.g. the entity does not exist, the action failed)."""

    intervals: tuple[PriceInterval, ...] = ()
    problems: tuple[PriceProblem, ...] = ()
    error: str | None = None
    shape: PriceSourceShape | None = None


def _tz(hass: HomeAssistant) -> tzinfo:
    return dt_util.get_time_zone(hass.config.time_zone) or dt_util.get_default_time_zone()


def read_entity(hass: HomeAssistant, source: PriceSourceConfig, now: datetime) -> SourceRead:
    """Read the price sensor's attributes now."""
    assert source.entity_id is not None
    state = hass.states.get(source.entity_id)
    if state is None:
        return SourceRead(error=f"{source.entity_id}: no such entity")
    parsed = parse_price_source(
        dict(state.attributes),
        source=source.name,
        currency=hass.config.currency,
        fetched_at=now,
        options=source.read,
        tz=_tz(hass),
    )
    error = None if parsed.intervals else f"{source.entity_id} ({state.state}): no prices"
    return SourceRead(parsed.intervals, parsed.problems, error, parsed.shape)


async def async_read_action(
    hass: HomeAssistant, source: PriceSourceConfig, now: datetime, call_timeout_s: float
) -> SourceRead:
    """Call the price action for today and tomorrow and read the responses."""
    assert source.action is not None
    tz = _tz(hass)
    today = now.astimezone(tz).date()
    intervals: list[PriceInterval] = []
    problems: list[PriceProblem] = []
    error: str | None = None
    shape: PriceSourceShape | None = None
    for call in action_calls(source.action, source.action_data, today, tz):
        try:
            async with asyncio.timeout(call_timeout_s):
                response = await hass.services.async_call(
                    call.domain, call.service, call.data, blocking=True, return_response=True
                )
        except Exception as err:  # noqa: BLE001  (another integration's action: anything)
            message = str(err) or type(err).__name__
            LOGGER.debug("Price action %s(%s) failed: %s", source.action, call.data, message)
            if not call.optional and error is None:
                error = f"{source.action}: {message}"
            continue
        parsed = parse_price_source(
            response,
            source=source.name,
            currency=hass.config.currency,
            fetched_at=now,
            options=source.read,
            tz=tz,
        )
        intervals += parsed.intervals
        problems += parsed.problems
        shape = shape or parsed.shape
    if not intervals and error is None:
        error = f"{source.action}: no prices"
    return SourceRead(tuple(intervals), tuple(problems), error, shape)


def computed_prices(
    source: PriceSourceConfig,
    fixed_price: Decimal | None,
    today: date,
    tz: tzinfo,
    *,
    currency: str,
    fetched_at: datetime,
) -> tuple[PriceInterval, ...]:
    """A fixed or time-of-use source's prices for today and tomorrow (nothing for others)."""
    start = local_day_bounds(today, tz)[0]
    end = local_day_bounds(today + timedelta(days=1), tz)[1]
    if source.kind is PriceSourceKind.FIXED and fixed_price is not None:
        return fixed_prices(fixed_price, start, end, currency=currency, fetched_at=fetched_at)
    if source.kind is PriceSourceKind.TOU and source.schedule is not None:
        return tou_prices(source.schedule, start, end, tz, currency=currency, fetched_at=fetched_at)
    return ()


async def async_read_once(
    hass: HomeAssistant, config: PriceConfig, call_timeout_s: float = 30.0
) -> SourceRead:
    """Read the configured source once, now (the options flow tests a source with it)."""
    now = dt_util.utcnow()
    source = config.source
    if source.kind is PriceSourceKind.ENTITY:
        return read_entity(hass, source, now)
    if source.kind is PriceSourceKind.ACTION:
        return await async_read_action(hass, source, now, call_timeout_s)
    fixed = None if config.tariff is None else config.tariff.fixed_price
    tz = _tz(hass)
    intervals = computed_prices(
        source,
        fixed,
        now.astimezone(tz).date(),
        tz,
        currency=hass.config.currency,
        fetched_at=now,
    )
    return SourceRead(intervals, error=None if intervals else f"{source.name}: no prices")


@dataclass(frozen=True, slots=True)
class DaySummary:
    """How well a local day is priced: intervals starting that day, time without a price."""

    intervals: int
    missing: timedelta

    @property
    def complete(self) -> bool:
        """Every instant of the day has a price."""
        return not self.missing


def day_summary(series: PriceSeries, day: date, tz: tzinfo) -> DaySummary:
    """The :class:`DaySummary` of ``day`` in ``series``."""
    start, end = local_day_bounds(day, tz)
    count = sum(1 for i in series.between(start, end) if start <= i.start < end)
    return DaySummary(count, series.missing_for(day, tz))


def format_duration(value: timedelta) -> str:
    """``H:MM`` (language-neutral, for placeholders)."""
    minutes = int(value.total_seconds() // 60)
    return f"{minutes // 60}:{minutes % 60:02d}"


# --- the feed ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceFeedSettings:
    """How often the feed reads; small values in tests."""

    refresh_interval: timedelta = timedelta(hours=1)  # an action source, at least this often
    day_ahead_at: time = time(13, 15)  # local: day-ahead prices are out
    retry_after: timedelta = timedelta(minutes=5)  # an action call that failed
    action_timeout: float = 30.0  # seconds one action call may take
    today_grace: time = time(1, 0)  # local: from then on, an incomplete today is reported
    keep: timedelta = timedelta(days=1)  # prices kept before today's local midnight


@dataclass(frozen=True, slots=True)
class PriceQuote:
    """The price of a kWh at one time: the source's interval and the price with the tariff
    applied (the default group, VAT included; the interval's price without a tariff)."""

    interval: PriceInterval
    unit_price: Decimal


class PriceFeed:
    """The site's price series, kept up to date from the configured source.

    ``series`` holds the prices known (real ones, and estimated fallback prices up to the
    current quarter-hour); ``changes`` fires with it whenever it changes, ``quarters`` at every
    quarter-hour (the price *now* may have moved); ``last_problems`` are the records the last
    read skipped, ``last_error`` why it gave nothing.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        config: PriceConfig,
        settings: PriceFeedSettings = PriceFeedSettings(),  # noqa: B008 - frozen
    ) -> None:
        """Nothing is read before :meth:`async_start`."""
        self._hass = hass
        self._settings = settings
        self.config = config
        self.series = PriceSeries()
        self._real = PriceSeries()
        self.last_problems: tuple[PriceProblem, ...] = ()
        self.last_error: str | None = None
        self.last_shape: PriceSourceShape | None = None
        self.changes: Listeners[PriceSeries] = Listeners("price series")
        self.quarters: Listeners[datetime] = Listeners("price quarter-hour")
        self._unsubscribe: list[CALLBACK_TYPE] = []
        self._retry: CALLBACK_TYPE | None = None
        self._fetch: asyncio.Task[None] | None = None
        self._started = False  # Home Assistant has started: repairs are reported
        self._configured_at = dt_util.utcnow()

    # --- lifecycle -------------------------------------------------------------------------------

    async def async_start(self) -> None:
        """Read the source and follow it; compute fixed and time-of-use prices."""
        for problem in self.config.problems:
            LOGGER.warning("Price options cannot be read: %s", problem)
        self._configured_at = dt_util.utcnow()
        kind = self.config.source.kind
        self._unsubscribe.append(
            async_track_utc_time_change(self._hass, self._on_quarter, minute="/15", second=0)
        )
        if kind is PriceSourceKind.ENTITY:
            assert self.config.source.entity_id is not None
            self._unsubscribe.append(
                async_track_state_change_event(
                    self._hass, self.config.source.entity_id, self._on_entity_change
                )
            )
            self._take(read_entity(self._hass, self.config.source, dt_util.utcnow()))
        elif kind is PriceSourceKind.ACTION:
            self._unsubscribe += [
                async_track_time_interval(
                    self._hass, self._on_refresh_time, self._settings.refresh_interval
                ),
                async_track_time_change(
                    self._hass,
                    self._on_refresh_time,
                    hour=self._settings.day_ahead_at.hour,
                    minute=self._settings.day_ahead_at.minute,
                    second=0,
                ),
            ]
        else:
            self._refresh()
        self._unsubscribe.append(async_at_started(self._hass, self._on_started))

    async def async_stop(self) -> None:
        """Stop reading; withdraw the repair issues (a new configuration may fix them)."""
        for unsubscribe in self._unsubscribe:
            unsubscribe()
        self._unsubscribe.clear()
        self._cancel_retry()
        if self._fetch is not None and not self._fetch.done():
            self._fetch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._fetch
        self._fetch = None
        self._started = False
        clear_price_issues(self._hass)

    async def async_reconfigure(self, config: PriceConfig) -> None:
        """Follow a new configuration: prices known so far are dropped (another source)."""
        await self.async_stop()
        self.config = config
        self._real = PriceSeries()
        self.last_problems, self.last_error, self.last_shape = (), None, None
        await self.async_start()
        self._refresh()

    # --- lookups ---------------------------------------------------------------------------------

    @property
    def tz(self) -> tzinfo:
        """The site's local time zone (Home Assistant's)."""
        return _tz(self._hass)

    def quote(self, at: datetime) -> PriceQuote | None:
        """The price of a kWh at ``at``, or ``None`` when no price covers it."""
        interval = self.series.at(at)
        if interval is None:
            return None
        tariff = self.config.tariff
        if tariff is None:
            return PriceQuote(interval, interval.price)
        return PriceQuote(interval, tariff.energy_price(interval.price, at, self.tz).incl_vat)

    # --- reading ---------------------------------------------------------------------------------

    @callback
    def _on_started(self, _hass: HomeAssistant) -> None:
        self._started = True
        if self.config.source.kind is PriceSourceKind.ACTION:
            self._schedule_fetch()
        else:
            self._report()

    @callback
    def _on_entity_change(self, event: Event[EventStateChangedData]) -> None:
        self._take(read_entity(self._hass, self.config.source, dt_util.utcnow()))

    @callback
    def _on_refresh_time(self, _now: datetime) -> None:
        self._schedule_fetch()

    @callback
    def _on_retry(self, _now: datetime) -> None:
        self._retry = None
        self._schedule_fetch()

    @callback
    def _cancel_retry(self) -> None:
        if self._retry is not None:
            self._retry()
            self._retry = None

    @callback
    def _schedule_fetch(self) -> None:
        """Call the action (once at a time)."""
        if self._fetch is not None and not self._fetch.done():
            return
        self._cancel_retry()
        self._fetch = self._hass.async_create_task(
            self._async_fetch(), f"{DOMAIN} price action", eager_start=True
        )

    async def _async_fetch(self) -> None:
        read = await async_read_action(
            self._hass, self.config.source, dt_util.utcnow(), self._settings.action_timeout
        )
        self._take(read)
        if read.error is not None and self._unsubscribe:
            self._retry = async_call_later(self._hass, self._settings.retry_after, self._on_retry)

    @callback
    def _take(self, read: SourceRead) -> None:
        """Keep what a read gave (new prices win over old ones for the same time)."""
        self.last_problems, self.last_error = read.problems, read.error
        self.last_shape = read.shape or self.last_shape
        if read.error is not None:
            LOGGER.info("No prices from %s: %s", self.config.source.name, read.error)
        keep_from = local_day_bounds(self._today(), self.tz)[0] - self._settings.keep
        self._real = PriceSeries([*read.intervals, *(i for i in self._real if i.end > keep_from)])
        self._refresh()

    @callback
    def _on_quarter(self, now: datetime) -> None:
        self._refresh()
        self.quarters.emit(now)

    def _today(self) -> date:
        return dt_util.utcnow().astimezone(self.tz).date()

    # --- the series ------------------------------------------------------------------------------

    @callback
    def _refresh(self) -> None:
        """Rebuild the series (fixed/TOU prices, fallback fills); report its state."""
        series = self._build()
        if series.intervals != self.series.intervals:
            self.series = series
            self.changes.emit(series)
        self._report()

    def _build(self) -> PriceSeries:
        source, tariff, tz = self.config.source, self.config.tariff, self.tz
        today = self._today()
        currency, at = self._hass.config.currency, self._configured_at
        if not source.kind.dynamic:
            fixed = None if tariff is None else tariff.fixed_price
            return PriceSeries(
                computed_prices(source, fixed, today, tz, currency=currency, fetched_at=at)
            )
        fallback = None if tariff is None else tariff.fallback_price
        if fallback is None:
            return self._real
        fill_end = slot_start(dt_util.utcnow()) + SLOT_LENGTH
        fills = [
            replace(interval, estimated=True)
            for gap in self._real.gaps(local_day_bounds(today, tz)[0], fill_end)
            for interval in fixed_prices(
                fallback, *gap, currency=currency, fetched_at=at, source=FALLBACK_PRICE_SOURCE
            )
        ]
        return PriceSeries([*self._real, *fills]) if fills else self._real

    # --- repairs ---------------------------------------------------------------------------------

    def _details(self) -> str:
        lines = [self.last_error] if self.last_error else []
        lines += [str(p) for p in self.last_problems[:_MAX_DETAILS]]
        if len(self.last_problems) > _MAX_DETAILS:
            lines.append(f"... {len(self.last_problems) - _MAX_DETAILS} more")
        return "".join(f"\n- {line}" for line in lines)

    @callback
    def _report(self) -> None:
        """Raise or withdraw the price repairs (a dynamic source, once HA has started)."""
        if not self._started or not self.config.source.kind.dynamic:
            clear_price_issues(self._hass)
            return
        now = dt_util.utcnow()
        local = now.astimezone(self.tz)
        tariff = self.config.tariff
        fallback = tariff.fallback_price if tariff is not None else None
        placeholders = {
            "source": self.config.source.name,
            "now": local.strftime("%H:%M"),
            "fallback": "-" if fallback is None else f"{fallback} {self._hass.config.currency}",
            "details": self._details(),
        }
        if self._real.at(now) is None:
            _raise_issue(self._hass, ISSUE_PRICE_MISSING, placeholders)
            ir.async_delete_issue(self._hass, DOMAIN, ISSUE_PRICE_INCOMPLETE)
            return
        ir.async_delete_issue(self._hass, DOMAIN, ISSUE_PRICE_MISSING)
        # The rest of today (a source that drops past hours is not incomplete).
        gaps = self._real.gaps(now, local_day_bounds(local.date(), self.tz)[1])
        if not gaps or local.time() < self._settings.today_grace:
            ir.async_delete_issue(self._hass, DOMAIN, ISSUE_PRICE_INCOMPLETE)
            return
        placeholders["missing"] = format_duration(sum((b - a for a, b in gaps), timedelta()))
        placeholders["gaps"] = ", ".join(
            f"{a.astimezone(self.tz):%H:%M}-{b.astimezone(self.tz):%H:%M}" for a, b in gaps
        )
        _raise_issue(self._hass, ISSUE_PRICE_INCOMPLETE, placeholders)


@callback
def _raise_issue(hass: HomeAssistant, issue: str, placeholders: dict[str, str]) -> None:
    ir.async_create_issue(
        hass,
        DOMAIN,
        issue,
        is_fixable=False,
        is_persistent=False,
        severity=ir.IssueSeverity.WARNING,
        translation_key=issue,
        translation_placeholders=placeholders,
    )


@callback
def clear_price_issues(hass: HomeAssistant) -> None:
    """Withdraw the price repairs."""
    for issue in (ISSUE_PRICE_MISSING, ISSUE_PRICE_INCOMPLETE):
        ir.async_delete_issue(hass, DOMAIN, issue)
