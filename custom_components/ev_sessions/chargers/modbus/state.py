"""Derive the IEC 61851 state and the normalized connector state from decoded registers."""

from __future__ import annotations

from dataclasses import dataclass

from custom_components.ev_sessions.chargers.events import ConnectorState

from .codec import Decoded
from .register_map import Condition, ConditionMode, StateSpec

#: Keys under which the charger passes the decoded state registers.
STATUS = "status"
PLUGGED = "plugged"
CHARGING = "charging"

_AFTER_CHARGING = frozenset(
    {ConnectorState.CHARGING, ConnectorState.SUSPENDED_EV, ConnectorState.SUSPENDED_EVSE}
)


@dataclass(frozen=True, slots=True)
class StateReading:
    """The decoded state: IEC letter (``None`` if unknown), an optional refinement, raw text."""

    iec: str | None
    hint: ConnectorState | None
    raw: str


def _status_text(value: Decoded) -> str | None:
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _apply(cond: Condition | None, value: Decoded, *, status_known: bool) -> bool | None:
    """The condition's verdict, or ``None`` when it does not apply."""
    if cond is None:
        return None
    if cond.mode is ConditionMode.FALLBACK and status_known:
        return None
    return cond.test(value)


def read_state(spec: StateSpec, values: dict[str, Decoded]) -> StateReading:
    """Combine the status map with the plugged/charging conditions (see :class:`StateSpec`)."""
    text = _status_text(values.get(STATUS)) if spec.status is not None else None
    iec = spec.iec.get(text) if text is not None else None
    hint = spec.connector.get(text) if text is not None else None
    status_known = iec is not None
    raw_parts = [] if text is None else [text]

    plugged = _apply(spec.plugged, values.get(PLUGGED), status_known=status_known)
    if plugged is not None:
        raw_parts.append(f"plugged={int(plugged)}")
        if not plugged and iec not in ("E", "F"):
            iec, hint = "A", None
        elif plugged and iec in (None, "A"):
            iec, hint = "B", None
    charging = _apply(spec.charging, values.get(CHARGING), status_known=False)
    if charging is not None and iec in ("B", "C", "D"):
        raw_parts.append(f"charging={int(charging)}")
        if charging and iec == "B":
            iec, hint = "C", None
        elif not charging and iec in ("C", "D") and hint is None:
            iec = "B"
    return StateReading(iec=iec, hint=hint, raw=" ".join(raw_parts) or "?")


def connector_state(
    reading: StateReading, *, previous: ConnectorState | None, paused_by_hub: bool
) -> ConnectorState:
    """Map an IEC reading to a :class:`ConnectorState`.

    B is ``SUSPENDED_EVSE`` while the hub pauses charging, ``SUSPENDED_EV`` after charging
    (the vehicle stopped drawing), otherwise ``PREPARING``.
    """
    if reading.hint is not None:
        return reading.hint
    match reading.iec:
        case "A":
            return ConnectorState.AVAILABLE
        case "C" | "D":
            return ConnectorState.CHARGING
        case "E" | "F":
            return ConnectorState.FAULTED
        case "B":
            if paused_by_hub:
                return ConnectorState.SUSPENDED_EVSE
            if previous in _AFTER_CHARGING:
                return ConnectorState.SUSPENDED_EV
            return ConnectorState.PREPARING
        case _:
            return ConnectorState.UNKNOWN
