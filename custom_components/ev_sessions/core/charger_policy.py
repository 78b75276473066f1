"""Who may charge at a charger: its policy and the decision on a presented tag.

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

Suggested glue flow in ``ChargerHandler.authorize`` (learn mode: :mod:`.learn_mode`)::

    learned = learn.capture(request, now)
    decision = (authorizer.decide_learned(learned, policy) if learned
                else authorizer.decide(request, policy, now))
    audit.record(AuditEntry.from_decision(request, decision, source))
    return decision.result
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from custom_components.ev_sessions.chargers.events import (
    AuthorizationRequest,
    AuthorizationResult,
    AuthorizationStatus,
)

from .learn_mode import LearnedTag
from .members import MemberDirectory, TagMatch

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


__all__ = [
    "GUEST_MEMBER_ID",
    "AuthorizationMode",
    "AuthorizationPolicy",
    "Authorizer",
    "Decision",
    "DecisionReason",
    "policy_change_needs_cache_clear",
]
