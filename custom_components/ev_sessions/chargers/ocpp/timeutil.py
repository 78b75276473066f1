"""Lenient parsing of charger timestamps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

#: Timestamps before this are a charger without a set clock.
EARLIEST = datetime(2015, 1, 1, tzinfo=UTC)
#: How far in the future a charger clock may run before we distrust it.
MAX_AHEAD = timedelta(days=1)


def utcnow() -> datetime:
    """Timezone-aware now (UTC)."""
    return datetime.now(UTC)


def iso(at: datetime) -> str:
    """ISO 8601 UTC with a ``Z`` suffix and millisecond precision, as chargers expect."""
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def parse_timestamp(value: object, received: datetime) -> tuple[datetime, str | None]:
    """Return ``(time, deviation_kind)``.

    The charger's time is used when it is sane; naive times are taken as UTC. When the value is
    missing, unparsable, before 2015 or more than a day ahead of ``received``, ``received`` is
    used instead and a deviation kind is returned for the caller to report.
    """
    if value is None:
        return received, None
    if not isinstance(value, str):
        return received, "timestamp_invalid"
    text = value.strip()
    if text.endswith(("z", "Z")):
        text = text[:-1] + "+00:00"
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return received, "timestamp_invalid"
    kind: str | None = None
    if at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
        kind = "timestamp_without_timezone"
    else:
        at = at.astimezone(UTC)
    if at < EARLIEST or at > received + MAX_AHEAD:
        return received, "timestamp_absurd"
    return at, kind
