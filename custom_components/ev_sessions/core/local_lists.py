"""Local authorization lists: what each charger holds, and the next update to push to it.

Plain typed Python (no Home Assistant import, no I/O): the HA glue sends the plans and persists
the confirmed records (``local_auth_lists`` table, :mod:`.storage.local_list_rows`, in the
compact JSON of :func:`entries_to_json`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
import hashlib
import json

from custom_components.ev_sessions.chargers.events import (
    AuthorizationListEntry,
    AuthorizationStatus,
    PushAuthorizationList,
)

from .members import MemberDirectory, diff_entries


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalListRecord:
    """What a charger's local list holds as far as we know (persisted per charger)."""

    charger_id: str
    version: int
    entries: tuple[AuthorizationListEntry, ...]

    @property
    def entries_hash(self) -> str:
        """Stable hash of the entry set (diagnostics; compares lists without the entries)."""
        return entries_hash(self.entries)


@dataclass(frozen=True, slots=True, kw_only=True)
class LocalListPlan:
    """An update to send: ``command``, then ClearAuthorizationCache if ``clear_cache``.

    Call :meth:`LocalListState.confirm` once the charger accepted it (and persist the record it
    returns), :meth:`LocalListState.failed` otherwise.
    """

    charger_id: str
    command: PushAuthorizationList
    clear_cache: bool
    record: LocalListRecord  # the state after the charger accepted the update


class LocalListState:
    """Local authorization list versions of every charger (in memory; persisted by the glue).

    Versions start at 1 and grow by one per push; they never go down, also when the charger
    reports a higher version (another system pushed): the next version is then above both.
    """

    def __init__(self, records: Iterable[LocalListRecord] = ()) -> None:
        """Start from persisted records (``SessionStore.async_load_local_lists``)."""
        self._records: dict[str, LocalListRecord] = {r.charger_id: r for r in records}
        self._needs_full: set[str] = set()

    def record(self, charger_id: str) -> LocalListRecord | None:
        """What we last pushed to the charger (confirmed)."""
        return self._records.get(charger_id)

    def version(self, charger_id: str) -> int:
        """Our last confirmed version for the charger (0 before the first push)."""
        record = self._records.get(charger_id)
        return 0 if record is None else record.version

    def plan_update(
        self,
        charger_id: str,
        directory: MemberDirectory,
        now: datetime,
        *,
        charger_version: int | None = None,
        max_tag_length: int | None = None,
    ) -> LocalListPlan | None:
        """The update that brings the charger's list to ``directory`` at ``now``, or None.

        Full list on the first sync, after a failed push, or when ``charger_version`` (the
        charger's answer to GetAuthorizationListVersion, if asked) differs from ours;
        differential otherwise, and nothing when the list is unchanged. A negative
        ``charger_version`` (OCPP 1.6: local list not supported) gives None.
        """
        if charger_version is not None and charger_version < 0:
            return None
        entries = tuple(directory.to_local_list(now, max_tag_length=max_tag_length))
        record = self._records.get(charger_id)
        if (
            record is None
            or charger_id in self._needs_full
            or (charger_version is not None and charger_version != record.version)
        ):
            version = max(0 if record is None else record.version, charger_version or 0) + 1
            return LocalListPlan(
                charger_id=charger_id,
                command=PushAuthorizationList(version=version, entries=entries, full=True),
                clear_cache=True,  # we cannot know what the charger cached before
                record=LocalListRecord(charger_id=charger_id, version=version, entries=entries),
            )
        diff = diff_entries(record.entries, entries)
        if diff.empty:
            return None
        version = record.version + 1
        return LocalListPlan(
            charger_id=charger_id,
            command=PushAuthorizationList(version=version, entries=diff.entries, full=False),
            clear_cache=diff.clear_cache,
            record=LocalListRecord(charger_id=charger_id, version=version, entries=entries),
        )

    def confirm(self, plan: LocalListPlan) -> LocalListRecord:
        """The charger accepted ``plan``: remember (and return, to persist) its record."""
        self._records[plan.charger_id] = plan.record
        self._needs_full.discard(plan.charger_id)
        return plan.record

    def failed(self, charger_id: str) -> None:
        """A push failed or was refused (VersionMismatch, Failed): the next one is full."""
        self._needs_full.add(charger_id)

    def forget(self, charger_id: str) -> None:
        """The charger was removed."""
        self._records.pop(charger_id, None)
        self._needs_full.discard(charger_id)


def entries_hash(entries: Sequence[AuthorizationListEntry]) -> str:
    """SHA-256 (hex, 16 chars) of an entry set, independent of order."""
    text = entries_to_json(sorted(entries, key=lambda e: (e.id_tag, str(e.status))))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def entries_to_json(entries: Sequence[AuthorizationListEntry]) -> str:
    """Compact JSON of local-list entries (the stored form)."""
    return json.dumps(
        [
            {
                "t": e.id_tag,
                "s": None if e.status is None else str(e.status),
                "e": None if e.expiry is None else e.expiry.isoformat(),
                "p": e.parent_id_tag,
            }
            for e in entries
        ],
        separators=(",", ":"),
    )


def entries_from_json(text: str | None) -> tuple[AuthorizationListEntry, ...]:
    """Inverse of :func:`entries_to_json`."""
    if not text:
        return ()
    return tuple(
        AuthorizationListEntry(
            id_tag=item["t"],
            status=None if item.get("s") is None else AuthorizationStatus(item["s"]),
            expiry=None if item.get("e") is None else datetime.fromisoformat(item["e"]),
            parent_id_tag=item.get("p"),
        )
        for item in json.loads(text)
    )


__all__ = [
    "LocalListPlan",
    "LocalListRecord",
    "LocalListState",
    "entries_from_json",
    "entries_hash",
    "entries_to_json",
]
