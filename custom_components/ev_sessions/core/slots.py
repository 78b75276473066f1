"""Energy slots: the exact Wh a session drew in each UTC quarter-hour, the unit of pricing.

The engine closes a slot at every quarter-hour boundary (UTC-aligned: it fits 15- and 60-minute
prices and DST days) with the Wh the meter register advanced within it. A slot is priced with
the price interval that contains its start, as the prices were stored when it closed.

The rule that makes slots exact with register readings (a register says how much energy flowed
since the previous reading, not when within that time): **a slot holds the energy of the
readings taken within its quarter-hour.** The energy a reading reports goes to the slot of the
reading's time stamp; the first reading stamped in a later quarter-hour closes the open slot.
So a reading interval that straddles a boundary counts wholly in the slot where the reading
was taken, and energy across a gap without readings counts where the reading after the gap is
taken. A reading stamped before the open slot's start (re-stamped, accepted out of order) counts
in the open slot: closed slots never change. The sum of a session's slots is its ``energy_wh``,
always. A quarter-hour in which the session drew nothing (no energy, no power above 0) has no
slot. Energy that reaches a session after it ended (a final meter value after the unplug) is a
closed slot of its own; its start may then equal the start of the session's last slot.
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
    #: When the hub closed it (its clock); ``None`` while it is the session's open slot.
    closed_at: datetime | None = None

    @property
    def end(self) -> datetime:
        """The slot's end (exclusive)."""
        return self.start + SLOT_LENGTH
