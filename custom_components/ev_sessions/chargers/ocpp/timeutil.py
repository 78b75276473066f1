"""Lenient parsing of charger timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

#: Timestamps before this are a charger without a set clock.
EARLIEST = datetime(2015, 1, 1, tzinfo=UTC)
#: How far ahead of the hub's clock a charger timestamp may be before it is replaced by the
#: receive time (``OcppServerSettings.clock_tolerance`` overrides it).
MAX_AHEAD = timedelta(minutes=5)


def utcnow() -> datetime:
    """Timezone-aware now (UTC)."""
    return datetime.now(UTC)


def iso(at: datetime) -> str:
    """ISO 8601 UTC with a ``Z`` suffix and millisecond precision, as chargers expect."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def parse_timestamp(
    value: object, received: datetime, max_ahead: timedelta = MAX_AHEAD
) -> tuple[datetime, str | None]:
    """Return ``(time, deviation_kind)``.

    The charger's time is used when it is sane; naive times are taken as UTC. When the value is
    missing, unparsable, before 2015 or more than ``max_ahead`` ahead of ``received``,
    ``received`` is used instead and a deviation kind is returned for the caller to report. (A
    time in the future would otherwise make every later reading look out of order.)
    """
    if value is None:
        return received, None
    if not isinstance(value, str):
        return received, "timestamp_invalid"
    text = value.strip()
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    kind: str | None = None
    try:
        at = datetime.fromisoformat(text)
        if at.tzinfo is None:
            at = at.replace(tzinfo=UTC)
            kind = "timestamp_without_timezone"
        else:
            at = at.astimezone(UTC)  # OverflowError near year 1 or 9999
    except (ValueError, OverflowError):
        return received, "timestamp_invalid"
    if at < EARLIEST:
        return received, "timestamp_absurd"
    if at > received + max_ahead:
        return received, "timestamp_in_future"
    return at, kind
