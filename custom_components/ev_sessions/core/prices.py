"""Electricity prices as they were known: intervals of a price series from one source.

Plain data: the HA glue reads a price source (a fixed price, a time-of-use schedule, a sensor's
attributes or an action's response) and hands the core :class:`PriceInterval` values. Prices are
per kWh in the site's currency, before the tariff's components are added.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal


@dataclass(frozen=True, slots=True, kw_only=True)
class PriceInterval:
    """One price of a series: valid for ``[start, start + length)``."""

    source: str  # e.g. "fixed", "tou", "sensor.nordpool_kwh_se3_sek", "tibber.get_prices"
    start: datetime  # UTC
    length: timedelta  # 15 or 60 minutes (a fixed price: as long as the slot it priced)
    price: Decimal  # per kWh, in ``currency``
    currency: str
    fetched_at: datetime  # when the hub learned it (UTC)
    estimated: bool = False  # a fallback used because the source had no price

    @property
    def end(self) -> datetime:
        """The interval's end (exclusive)."""
        return self.start + self.length

    def covers(self, at: datetime) -> bool:
        """``at`` lies within this interval."""
        return self.start <= at < self.end
