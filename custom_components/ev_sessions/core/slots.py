"""Energy slots: the exact Wh a session drew in each UTC quarter-hour, the unit of pricing.

The engine closes a slot at every quarter-hour boundary (UTC-aligned: it fits 15- and 60-minute
prices and DST days) with the Wh the meter register advanced within it. A slot is priced with
the price interval that contains its start, as the prices were stored when it closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

#: The length of every slot.
SLOT_LENGTH = timedelta(minutes=15)


def slot_start(at: datetime) -> datetime:
    """The UTC quarter-hour boundary at or before ``at`` (``at`` must be aware)."""
    at = at.astimezone(UTC)
    return at.replace(minute=at.minute - at.minute % 15, second=0, microsecond=0)


@dataclass(frozen=True, slots=True, kw_only=True)
class EnergySlot:
    """The energy one session drew in one quarter-hour (append-only once closed)."""

    session_id: str
    start: datetime  # a UTC quarter-hour boundary
    energy_wh: int  # exact: the register's advance within the slot (>= 0)
    max_power_w: float | None = None

    @property
    def end(self) -> datetime:
        """The slot's end (exclusive)."""
        return self.start + SLOT_LENGTH
