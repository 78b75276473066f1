"""Test members and tag requests shared by the charger policy, learn mode and local list tests."""

from __future__ import annotations

from datetime import UTC, datetime

from custom_components.ev_sessions.chargers.events import AuthorizationRequest

from .helpers import CP

NOW = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
EXPIRY = datetime(2026, 12, 31, tzinfo=UTC)


def members(ben_tags: list[object] | None = None) -> list[dict[str, object]]:
    """Anna (family card, one active tag with expiry, one blocked, one expired) and Ben."""
    return [
        {
            "id": "anna",
            "name": "Anna",
            "group_id_tag": "FAMILY-1",
            "tags": [
                {"id_tag": "04A1B2C3", "expires_at": EXPIRY.isoformat()},
                {"id_tag": "04D4E5F6", "status": "blocked"},
                {"id_tag": "0A0B0C0D", "expires_at": "2026-03-01T00:00:00+00:00"},
            ],
        },
        {"id": "ben", "name": "Ben", "tags": ["BEN-CARD"] if ben_tags is None else ben_tags},
    ]


def request(tag: str, charger: str = CP, at: datetime = NOW) -> AuthorizationRequest:
    """A request at connector 1."""
    return AuthorizationRequest(charger_id=charger, id_tag=tag, connector_id=1, at=at)
