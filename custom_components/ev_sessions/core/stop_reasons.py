"""Why a session or transaction stopped, in one vocabulary.

Sessions keep the reason as the charger (or the engine) said it: OCPP 1.6 ``reason``
(``EVDisconnected``, ``Local``, ``Remote``, ``DeAuthorized``, ...), OCPP 2.0.1 ``stoppedReason``
(also ``StoppedByEV``, ``SOCLimitReached``, ``Timeout``, ...) and the engine's own words
(``ev_disconnected``, ``superseded``, ``new_transaction``, ``transaction_ended``). Everything a
household reads (events, ``list_sessions``, the CSV export, the calendar, the logbook) shows
:func:`normalize_stop_reason` of it: lower-case words joined by ``_`` from :data:`STOP_REASONS`,
``other`` for anything else.
"""

from __future__ import annotations

import re

#: The vocabulary: every reason a household can see.
STOP_REASONS = frozenset(
    {
        "ev_disconnected",  # the vehicle was unplugged
        "stopped_by_ev",  # the vehicle stopped (full, or its own limit)
        "local",  # stopped at the charger (tag, button)
        "remote",  # stopped from HA or another backend
        "deauthorized",  # the tag was no longer valid
        "emergency_stop",
        "power_loss",
        "reboot",  # the charger restarted (also hard, soft and immediate resets)
        "unlock_command",
        "energy_limit_reached",
        "soc_limit_reached",
        "time_limit_reached",
        "timeout",
        "fault",  # ground, overcurrent or power-quality fault
        "out_of_credit",
        "superseded",  # a newer session started on the connector (after a restart)
        "new_transaction",  # the charger started another transaction on the connector
        "transaction_ended",  # the transaction ended without a reason
        "other",
    }
)

_SYNONYMS = {
    "hard_reset": "reboot",
    "soft_reset": "reboot",
    "immediate_reset": "reboot",
    "ground_fault": "fault",
    "overcurrent_fault": "fault",
    "power_quality": "fault",
    "local_out_of_credit": "out_of_credit",
    "de_authorized": "deauthorized",
    "master_pass": "local",
}
_WORD = re.compile(r"EV|SOC|[A-Z][a-z]+|[a-z]+|[A-Z]+(?![a-z])")


def normalize_stop_reason(raw: str | None) -> str | None:
    """The vocabulary word for a stored reason (``None`` stays ``None``)."""
    if raw is None:
        return None
    words = _WORD.findall(raw.replace("_", " "))
    word = "_".join(part.lower() for part in words)
    word = _SYNONYMS.get(word, word)
    return word if word in STOP_REASONS else "other"
