"""Recorded session costs: why a cost was recorded, and the record kept (append-only).

A session's cost in force is the last :class:`CostRecord` stored for it (table
``session_costs``); earlier records stay, so every change of a stored cost can be read back
with its reason. A cost is recorded when the session ends (``final``), once more when energy
reaches it after it ended (``late_slot``), when an estimated price it used is replaced by the
real one (``estimate_replaced``, automatic, at most once per session) and by an explicit
reprice (``reprice``, with the user's reason and the audit log).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from .cost import SessionCost


class CostReason(StrEnum):
    """Why a session's cost was recorded."""

    FINAL = "final"  # the session ended
    LATE_SLOT = "late_slot"  # energy reached the session after it ended
    ESTIMATE_REPLACED = "estimate_replaced"  # the real price replaced an estimated one (once)
    REPRICE = "reprice"  # an explicit reprice (reason and user in the audit log)


@dataclass(frozen=True, slots=True, kw_only=True)
class CostRecord:
    """One recorded cost of a session.

    ``tariff`` is the tariff it was priced with (:meth:`Tariff.to_dict`), so an automatic
    re-pricing uses the same tariff; ``note`` is the user's reason of a reprice.
    """

    session_id: str
    computed_at: datetime
    reason: CostReason
    cost: SessionCost
    tariff: dict[str, Any] | None = None
    note: str | None = None
    user_id: str | None = None
    id: int | None = None


__all__ = ["CostReason", "CostRecord"]
