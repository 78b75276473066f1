"""Learn mode: the next tag presented at a charger within a time window is taken for a member.

Plain typed Python (no Home Assistant import, no I/O, injected time). The decision on the
captured tag is :meth:`.charger_policy.Authorizer.decide_learned`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from custom_components.ev_sessions.chargers.events import AuthorizationRequest


@dataclass(frozen=True, slots=True, kw_only=True)
class LearnWindow:
    """Learn mode running at a charger for a member until ``until``."""

    charger_id: str
    member_id: str
    until: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class LearnedTag:
    """A tag captured by learn mode, exactly as the charger sent it (stripped)."""

    charger_id: str
    member_id: str
    id_tag: str
    connector_id: int | None
    at: datetime


class LearnMode:
    """Per-charger learn mode: the next tag presented at the charger within the window is taken.

    Pure state machine with injected time: nothing happens by itself; a window that has passed
    is simply ignored (and dropped) by :meth:`capture`, :meth:`active` and :meth:`expire`.
    """

    def __init__(self) -> None:
        """No learn mode running."""
        self._windows: dict[str, LearnWindow] = {}

    def start(self, charger_id: str, member_id: str, until: datetime) -> LearnWindow:
        """Start (or restart, replacing another member's) learn mode at a charger."""
        window = LearnWindow(charger_id=charger_id, member_id=member_id, until=until)
        self._windows[charger_id] = window
        return window

    def cancel(self, charger_id: str) -> LearnWindow | None:
        """Stop learn mode at a charger; the window that was running, if any."""
        return self._windows.pop(charger_id, None)

    def active(self, charger_id: str, now: datetime) -> LearnWindow | None:
        """The window running at a charger at ``now``."""
        window = self._windows.get(charger_id)
        if window is not None and now >= window.until:
            del self._windows[charger_id]
            return None
        return window

    def capture(self, request: AuthorizationRequest, now: datetime) -> LearnedTag | None:
        """Take the tag of ``request`` if learn mode runs at its charger; this ends learn mode."""
        window = self.active(request.charger_id, now)
        if window is None or not request.id_tag.strip():
            return None
        del self._windows[request.charger_id]
        return LearnedTag(
            charger_id=window.charger_id,
            member_id=window.member_id,
            id_tag=request.id_tag.strip(),
            connector_id=request.connector_id,
            at=now,
        )

    def expire(self, now: datetime) -> list[LearnWindow]:
        """Drop and return windows that ended without a tag (to tell the user)."""
        ended = [w for w in self._windows.values() if now >= w.until]
        for window in ended:
            del self._windows[window.charger_id]
        return ended


__all__ = ["LearnMode", "LearnWindow", "LearnedTag"]
