"""Authorization decisions, learn mode and local authorization list versioning.

Plain typed Python (no Home Assistant import, no I/O): the HA glue owns the charger
handler and persistence, and calls into these pieces.

Policies (per charger, :class:`AuthorizationPolicy`):

==================  ===========================  =============================================
mode                known tag                    unknown tag
==================  ===========================  =============================================
members_only        active: accepted (member)    invalid (``unknown_tag``)
members_and_guests  active: accepted (member)    accepted as guest (``guest=True``, guest id)
free                active: accepted (member)    accepted for the default member (``free``)
==================  ===========================  =============================================

Blocked tags are rejected under **every** policy (a blocked card is a deliberate act, e.g. a
lost card, and free charging must not undo it). Expired tags are rejected under
``members_only`` and ``members_and_guests`` (an expired member is not silently turned into a
guest); under ``free`` they are accepted like an unknown tag, attributed to the default member
and not to the former owner (reason ``free_charging``).

Suggested glue flow in ``ChargerHandler.authorize``::

    learned = learn.capture(request, now)
    decision = (authorizer.decide_learned(learned, policy) if learned
                else authorizer.decide(request, policy, now))
    audit.record(AuditEntry.from_decision(request, decision, source))
    return decision.result
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
import hashlib
import json

from custom_components.ev_sessions.chargers.events import (
    AuthorizationListEntry,
    AuthorizationRequest,
    AuthorizationResult,
    AuthorizationStatus,
    PushAuthorizationList,
)

from .members import MemberDirectory, TagMatch, diff_entries

#: Member id given to sessions of accepted unknown tags under ``members_and_guests``.
GUEST_MEMBER_ID = "guest"


class AuthorizationMode(StrEnum):
    """Who may charge at a charger."""

    MEMBERS_ONLY = "members_only"
    MEMBERS_AND_GUESTS = "members_and_guests"
    FREE = "free"


class DecisionReason(StrEnum):
    """Why a decision was taken (stored in the audit log)."""

    ACCEPTED = "accepted"  # an active tag of a member
    UNKNOWN_TAG = "unknown_tag"
    BLOCKED = "blocked"
    EXPIRED = "expired"
    GUEST = "guest"  # unknown tag accepted as a guest
    FREE_CHARGING = "free_charging"  # unknown or expired tag accepted under the free policy
    LEARNED = "learned"  # captured by learn mode for a member
    REMOTE_START = "remote_start"  # the tag of a remote start from Home Assistant


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthorizationPolicy:
    """A charger's policy. ``default_member_id`` gets free-charging sessions (may be None)."""

    mode: AuthorizationMode = AuthorizationMode.MEMBERS_ONLY
    default_member_id: str | None = None
    guest_member_id: str = GUEST_MEMBER_ID


@dataclass(frozen=True, slots=True, kw_only=True)
class Decision:
    """An authorization decision: the answer for the charger plus attribution."""

    result: AuthorizationResult
    reason: DecisionReason
    member_id: str | None = None
    guest: bool = False
    id_tag: str  # as presented by the charger

    @property
    def status(self) -> AuthorizationStatus:
        """The status sent to the charger."""
        return self.result.status

    @property
    def accepted(self) -> bool:
        """Whether the tag may charge."""
        return self.result.status is AuthorizationStatus.ACCEPTED


class Authorizer:
    """Decides on tags against a :class:`MemberDirectory` (swap :attr:`directory` on change)."""

    def __init__(self, directory: MemberDirectory | None = None) -> None:
        """Start with ``directory`` (empty by default)."""
        self.directory = directory if directory is not None else MemberDirectory()

    def decide(
        self, request: AuthorizationRequest, policy: AuthorizationPolicy, now: datetime
    ) -> Decision:
        """Decide on ``request`` at ``now`` (pure: no I/O, no state change)."""
        tag = request.id_tag
        match = self.directory.lookup(tag)
        if match is None:
            return self._unknown(tag, policy)
        status = match.tag.status_at(now)
        if status is AuthorizationStatus.ACCEPTED:
            return _member_decision(tag, match, DecisionReason.ACCEPTED)
        if status is AuthorizationStatus.EXPIRED and policy.mode is AuthorizationMode.FREE:
            return self._unknown(tag, policy)
        reason = (
            DecisionReason.BLOCKED
            if status is AuthorizationStatus.BLOCKED
            else (DecisionReason.EXPIRED)
        )
        return Decision(
            result=AuthorizationResult(
                status=status,
                expiry=match.tag.expires_at,
                parent_id_tag=match.member.group_id_tag,
            ),
            reason=reason,
            member_id=match.member.id,
            id_tag=tag,
        )

    def decide_learned(self, learned: LearnedTag, policy: AuthorizationPolicy) -> Decision:
        """The answer to the swipe captured by learn mode.

        A tag nobody holds yet is accepted for the learning member (the glue adds it to that
        member). A tag that is already known is decided normally (learning never moves a tag
        from one member to another, nor unblocks it); the glue should tell the user.
        """
        if self.directory.lookup(learned.id_tag) is not None:
            request = AuthorizationRequest(
                charger_id=learned.charger_id,
                id_tag=learned.id_tag,
                connector_id=learned.connector_id,
                at=learned.at,
            )
            return self.decide(request, policy, learned.at)
        member = self.directory.member(learned.member_id)
        return Decision(
            result=AuthorizationResult(
                status=AuthorizationStatus.ACCEPTED,
                parent_id_tag=None if member is None else member.group_id_tag,
            ),
            reason=DecisionReason.LEARNED,
            member_id=learned.member_id,
            id_tag=learned.id_tag,
        )

    @staticmethod
    def _unknown(tag: str, policy: AuthorizationPolicy) -> Decision:
        accepted = AuthorizationResult(status=AuthorizationStatus.ACCEPTED)
        if policy.mode is AuthorizationMode.FREE:
            return Decision(
                result=accepted,
                reason=DecisionReason.FREE_CHARGING,
                member_id=policy.default_member_id,
                id_tag=tag,
            )
        if policy.mode is AuthorizationMode.MEMBERS_AND_GUESTS:
            return Decision(
                result=accepted,
                reason=DecisionReason.GUEST,
                member_id=policy.guest_member_id,
                guest=True,
                id_tag=tag,
            )
        return Decision(
            result=AuthorizationResult(status=AuthorizationStatus.INVALID),
            reason=DecisionReason.UNKNOWN_TAG,
            id_tag=tag,
        )


def _member_decision(tag: str, match: TagMatch, reason: DecisionReason) -> Decision:
    return Decision(
        result=AuthorizationResult(
            status=AuthorizationStatus.ACCEPTED,
            expiry=match.tag.expires_at,
            parent_id_tag=match.member.group_id_tag,
        ),
        reason=reason,
        member_id=match.member.id,
        id_tag=tag,
    )


def policy_change_needs_cache_clear(old: AuthorizationPolicy, new: AuthorizationPolicy) -> bool:
    """Whether chargers must forget cached tags after a policy change (it got stricter)."""
    rank = {
        AuthorizationMode.MEMBERS_ONLY: 0,
        AuthorizationMode.MEMBERS_AND_GUESTS: 1,
        AuthorizationMode.FREE: 2,
    }
    return rank[new.mode] < rank[old.mode]


# --------------------------------------------------------------------------- learn mode


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


# --------------------------------------------------------------------------- local list


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
    "GUEST_MEMBER_ID",
    "AuthorizationMode",
    "AuthorizationPolicy",
    "Authorizer",
    "Decision",
    "DecisionReason",
    "LearnMode",
    "LearnWindow",
    "LearnedTag",
    "LocalListPlan",
    "LocalListRecord",
    "LocalListState",
    "entries_from_json",
    "entries_hash",
    "entries_to_json",
    "policy_change_needs_cache_clear",
]
