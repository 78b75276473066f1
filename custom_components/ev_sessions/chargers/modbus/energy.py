"""Energy bookkeeping that profiles need beyond plain register reads."""

from __future__ import annotations


class LifetimeFromSession:
    """A monotonic lifetime counter built from a session-only register (ABB Terra AC).

    The counter is ``base + session``; when the session register drops (a new session
    started), the last value seen is added to ``base``. Energy of a session that ended
    and was replaced while the device was unreachable is lost (nothing can recover it).
    """

    def __init__(self, start_wh: float = 0.0, last_session_wh: float | None = None) -> None:
        """Start at ``start_wh`` (the glue restores the last value after a restart).

        ``last_session_wh`` is the session register that ``start_wh`` included: the session
        still running then continues without being counted twice, and a session register that
        dropped meanwhile (a new session) adds nothing old either.
        """
        self._base = start_wh - (last_session_wh or 0.0)
        self._last_session: float | None = last_session_wh

    def update(self, session_wh: float) -> float:
        """Feed the session register; return the lifetime counter in Wh."""
        if self._last_session is not None and session_wh < self._last_session:
            self._base += self._last_session
        self._last_session = session_wh
        return self._base + session_wh
