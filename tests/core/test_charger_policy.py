"""Authorization decisions per charger policy (core/charger_policy.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custom_components.ev_sessions.chargers.events import (
    AuthorizationResult,
    AuthorizationStatus,
)
from custom_components.ev_sessions.core import (
    GUEST_MEMBER_ID,
    AuthorizationMode,
    AuthorizationPolicy,
    Authorizer,
    Decision,
    DecisionReason,
    LearnedTag,
    MemberDirectory,
    policy_change_needs_cache_clear,
)

from .helpers import CP
from .tag_fixtures import EXPIRY, NOW, members, request

ACCEPTED = AuthorizationStatus.ACCEPTED
INVALID = AuthorizationStatus.INVALID
BLOCKED = AuthorizationStatus.BLOCKED
EXPIRED = AuthorizationStatus.EXPIRED
MEMBERS_ONLY = AuthorizationPolicy()
GUESTS = AuthorizationPolicy(mode=AuthorizationMode.MEMBERS_AND_GUESTS)
FREE = AuthorizationPolicy(mode=AuthorizationMode.FREE, default_member_id="house")


@pytest.fixture
def authorizer() -> Authorizer:
    """An authorizer over the test members."""
    return Authorizer(MemberDirectory.from_dicts(members()))


def test_members_only(authorizer: Authorizer) -> None:
    """Accepted, invalid, blocked and expired tags, with parent tag and expiry."""
    assert authorizer.decide(request("04A1B2C3"), MEMBERS_ONLY, NOW) == Decision(
        result=AuthorizationResult(status=ACCEPTED, expiry=EXPIRY, parent_id_tag="FAMILY-1"),
        reason=DecisionReason.ACCEPTED,
        member_id="anna",
        id_tag="04A1B2C3",
    )
    unknown = authorizer.decide(request("DEADBEEF"), MEMBERS_ONLY, NOW)
    assert unknown == Decision(
        result=AuthorizationResult(status=INVALID),
        reason=DecisionReason.UNKNOWN_TAG,
        id_tag="DEADBEEF",
    )
    assert not unknown.accepted
    blocked = authorizer.decide(request("04D4E5F6"), MEMBERS_ONLY, NOW)
    assert (blocked.status, blocked.reason, blocked.member_id) == (
        BLOCKED,
        DecisionReason.BLOCKED,
        "anna",
    )
    assert blocked.result.parent_id_tag == "FAMILY-1"
    expired = authorizer.decide(request("0A0B0C0D"), MEMBERS_ONLY, NOW)
    assert (expired.status, expired.reason, expired.member_id) == (
        EXPIRED,
        DecisionReason.EXPIRED,
        "anna",
    )
    assert expired.result.expiry == datetime(2026, 3, 1, tzinfo=UTC)


def test_expiry_is_checked_at_decision_time(authorizer: Authorizer) -> None:
    """The same tag is accepted before its expiry and expired from then on."""
    early = authorizer.decide(request("04A1B2C3"), MEMBERS_ONLY, EXPIRY - timedelta(seconds=1))
    assert early.status is ACCEPTED
    late = authorizer.decide(request("04A1B2C3"), MEMBERS_ONLY, EXPIRY)
    assert late.status is EXPIRED
    assert late.reason is DecisionReason.EXPIRED


def test_case_insensitive_match(authorizer: Authorizer) -> None:
    """A charger sending the UID in lower case (and padded) finds the member."""
    decision = authorizer.decide(request(" 04a1b2c3"), MEMBERS_ONLY, NOW)
    assert decision.status is ACCEPTED
    assert decision.member_id == "anna"
    assert decision.id_tag == " 04a1b2c3"  # as presented, for the audit log


def test_member_without_group_has_no_parent(authorizer: Authorizer) -> None:
    """Ben has no family card."""
    decision = authorizer.decide(request("ben-card"), MEMBERS_ONLY, NOW)
    assert decision.result == AuthorizationResult(status=ACCEPTED)
    assert decision.member_id == "ben"


def test_guest_policy(authorizer: Authorizer) -> None:
    """Unknown tags charge as guests; blocked and expired tags are still rejected."""
    guest = authorizer.decide(request("DEADBEEF"), GUESTS, NOW)
    assert guest == Decision(
        result=AuthorizationResult(status=ACCEPTED),
        reason=DecisionReason.GUEST,
        member_id=GUEST_MEMBER_ID,
        guest=True,
        id_tag="DEADBEEF",
    )
    assert authorizer.decide(request("04D4E5F6"), GUESTS, NOW).status is BLOCKED
    assert authorizer.decide(request("0A0B0C0D"), GUESTS, NOW).status is EXPIRED
    member = authorizer.decide(request("04A1B2C3"), GUESTS, NOW)
    assert (member.member_id, member.guest, member.reason) == (
        "anna",
        False,
        DecisionReason.ACCEPTED,
    )
    custom = AuthorizationPolicy(
        mode=AuthorizationMode.MEMBERS_AND_GUESTS, guest_member_id="visitor"
    )
    assert authorizer.decide(request("X"), custom, NOW).member_id == "visitor"


def test_free_policy(authorizer: Authorizer) -> None:
    """Everything but blocked tags charges; unknown and expired tags go to the default member."""
    unknown = authorizer.decide(request("DEADBEEF"), FREE, NOW)
    assert unknown == Decision(
        result=AuthorizationResult(status=ACCEPTED),
        reason=DecisionReason.FREE_CHARGING,
        member_id="house",
        id_tag="DEADBEEF",
    )
    known = authorizer.decide(request("BEN-CARD"), FREE, NOW)
    assert (known.status, known.member_id, known.reason) == (
        ACCEPTED,
        "ben",
        DecisionReason.ACCEPTED,
    )
    expired = authorizer.decide(request("0A0B0C0D"), FREE, NOW)
    assert (expired.status, expired.member_id, expired.reason) == (
        ACCEPTED,
        "house",
        DecisionReason.FREE_CHARGING,
    )
    assert expired.result.parent_id_tag is None
    blocked = authorizer.decide(request("04D4E5F6"), FREE, NOW)
    assert (blocked.status, blocked.reason) == (BLOCKED, DecisionReason.BLOCKED)
    no_default = AuthorizationPolicy(mode=AuthorizationMode.FREE)
    assert authorizer.decide(request("X"), no_default, NOW).member_id is None


def test_directory_swap(authorizer: Authorizer) -> None:
    """A rebuilt directory takes effect at once."""
    assert authorizer.decide(request("NEW"), MEMBERS_ONLY, NOW).status is INVALID
    authorizer.directory = MemberDirectory.from_dicts(members(["BEN-CARD", "NEW"]))
    assert authorizer.decide(request("new"), MEMBERS_ONLY, NOW).member_id == "ben"


def test_policy_change_cache_rule() -> None:
    """Only a stricter policy needs the chargers' caches cleared."""
    assert policy_change_needs_cache_clear(FREE, MEMBERS_ONLY)
    assert policy_change_needs_cache_clear(GUESTS, MEMBERS_ONLY)
    assert policy_change_needs_cache_clear(FREE, GUESTS)
    assert not policy_change_needs_cache_clear(MEMBERS_ONLY, GUESTS)
    assert not policy_change_needs_cache_clear(MEMBERS_ONLY, MEMBERS_ONLY)


def test_learned_tag_decision(authorizer: Authorizer) -> None:
    """A new tag is accepted for the learning member; a known tag is decided normally."""
    learned = LearnedTag(charger_id=CP, member_id="anna", id_tag="NEWCARD", connector_id=1, at=NOW)
    decision = authorizer.decide_learned(learned, MEMBERS_ONLY)
    assert decision == Decision(
        result=AuthorizationResult(status=ACCEPTED, parent_id_tag="FAMILY-1"),
        reason=DecisionReason.LEARNED,
        member_id="anna",
        id_tag="NEWCARD",
    )
    blocked = LearnedTag(charger_id=CP, member_id="ben", id_tag="04D4E5F6", connector_id=1, at=NOW)
    again = authorizer.decide_learned(blocked, MEMBERS_ONLY)
    assert (again.status, again.member_id) == (BLOCKED, "anna")
