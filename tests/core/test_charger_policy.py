"""Authorization decisions per policy, learn mode and local authorization list versioning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from custom_components.ev_sessions.chargers.events import (
    AuthorizationListEntry,
    AuthorizationRequest,
    AuthorizationResult,
    AuthorizationStatus,
    PushAuthorizationList,
)
from custom_components.ev_sessions.core import (
    GUEST_MEMBER_ID,
    AuthorizationMode,
    AuthorizationPolicy,
    Authorizer,
    Decision,
    DecisionReason,
    LearnedTag,
    LearnMode,
    LocalListPlan,
    LocalListState,
    MemberDirectory,
    SessionStore,
    policy_change_needs_cache_clear,
)

NOW = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
CP = "cp-1"
ACCEPTED = AuthorizationStatus.ACCEPTED
INVALID = AuthorizationStatus.INVALID
BLOCKED = AuthorizationStatus.BLOCKED
EXPIRED = AuthorizationStatus.EXPIRED
MEMBERS_ONLY = AuthorizationPolicy()
GUESTS = AuthorizationPolicy(mode=AuthorizationMode.MEMBERS_AND_GUESTS)
FREE = AuthorizationPolicy(mode=AuthorizationMode.FREE, default_member_id="house")
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


@pytest.fixture
def authorizer() -> Authorizer:
    """An authorizer over the test members."""
    return Authorizer(MemberDirectory.from_dicts(members()))


# --------------------------------------------------------------------------- decisions


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


# --------------------------------------------------------------------------- learn mode


def test_learn_mode_captures_next_tag_at_that_charger_within_window() -> None:
    """Another charger's tag is ignored; the first tag here is taken and learn mode ends."""
    learn = LearnMode()
    until = NOW + timedelta(minutes=2)
    learn.start(CP, "ben", until)
    assert learn.capture(request("OTHER", charger="cp-2"), NOW) is None
    assert learn.active(CP, NOW) is not None
    learned = learn.capture(request(" 04aa11bb ", at=NOW), NOW + timedelta(seconds=30))
    assert learned == LearnedTag(
        charger_id=CP,
        member_id="ben",
        id_tag="04aa11bb",
        connector_id=1,
        at=NOW + timedelta(seconds=30),
    )
    assert learn.active(CP, NOW) is None
    assert learn.capture(request("SECOND"), NOW + timedelta(seconds=40)) is None


def test_learn_mode_expires() -> None:
    """After the window no tag is captured; expire() reports windows that ended."""
    learn = LearnMode()
    until = NOW + timedelta(minutes=2)
    learn.start(CP, "ben", until)
    learn.start("cp-2", "anna", NOW + timedelta(minutes=10))
    assert learn.capture(request("LATE"), until) is None
    assert learn.active(CP, until) is None
    ended = learn.expire(NOW + timedelta(minutes=10))
    assert [(w.charger_id, w.member_id) for w in ended] == [("cp-2", "anna")]
    assert learn.expire(NOW + timedelta(hours=1)) == []


def test_learn_mode_restart_and_cancel() -> None:
    """Starting again replaces the member; cancel ends learn mode."""
    learn = LearnMode()
    learn.start(CP, "ben", NOW + timedelta(minutes=2))
    learn.start(CP, "anna", NOW + timedelta(minutes=2))
    window = learn.cancel(CP)
    assert window is not None
    assert window.member_id == "anna"
    assert learn.capture(request("X"), NOW) is None
    assert learn.cancel(CP) is None


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


# --------------------------------------------------------------------------- local list


def test_local_list_full_then_differential() -> None:
    """First sync is full (and clears the cache); a change is one differential at version + 1."""
    state = LocalListState()
    directory = MemberDirectory.from_dicts(members())
    plan = state.plan_update(CP, directory, NOW)
    assert plan is not None
    assert plan.command == PushAuthorizationList(
        version=1, entries=tuple(directory.to_local_list(NOW)), full=True
    )
    assert plan.clear_cache is True
    assert state.version(CP) == 0  # not confirmed yet
    record = state.confirm(plan)
    assert (record.version, state.version(CP)) == (1, 1)
    assert state.plan_update(CP, directory, NOW) is None
    assert state.plan_update(CP, directory, NOW, charger_version=1) is None

    added = MemberDirectory.from_dicts(members(["BEN-CARD", "BEN-2"]))
    plan = state.plan_update(CP, added, NOW)
    assert plan is not None
    assert plan.command == PushAuthorizationList(
        version=2,
        entries=(AuthorizationListEntry(id_tag="BEN-2", status=ACCEPTED),),
        full=False,
    )
    assert plan.clear_cache is False
    state.confirm(plan)

    blocked = MemberDirectory.from_dicts(
        members(["BEN-CARD", {"id_tag": "BEN-2", "status": "blocked"}])
    )
    plan = state.plan_update(CP, blocked, NOW)
    assert plan is not None
    assert plan.command == PushAuthorizationList(
        version=3,
        entries=(AuthorizationListEntry(id_tag="BEN-2", status=BLOCKED),),
        full=False,
    )
    assert plan.clear_cache is True
    state.confirm(plan)

    removed = MemberDirectory.from_dicts(members(["BEN-CARD"]))
    plan = state.plan_update(CP, removed, NOW)
    assert plan is not None
    assert plan.command.entries == (AuthorizationListEntry(id_tag="BEN-2", status=None),)
    assert (plan.command.version, plan.command.full, plan.clear_cache) == (4, False, False)


def test_local_list_full_again_when_charger_reports_another_version() -> None:
    """A reset charger (version 0) or a foreign push (version 9) gets a full list above both."""
    state = LocalListState()
    directory = MemberDirectory.from_dicts(members())
    state.confirm(_plan(state, directory))
    state.confirm(_plan(state, MemberDirectory.from_dicts(members(["BEN-CARD", "B2"]))))
    assert state.version(CP) == 2

    plan = state.plan_update(CP, directory, NOW, charger_version=0)
    assert plan is not None
    assert (plan.command.full, plan.command.version, plan.clear_cache) == (True, 3, True)
    assert list(plan.command.entries) == directory.to_local_list(NOW)
    state.confirm(plan)

    plan = state.plan_update(CP, directory, NOW, charger_version=9)
    assert plan is not None
    assert (plan.command.full, plan.command.version) == (True, 10)
    state.confirm(plan)
    assert state.plan_update(CP, directory, NOW, charger_version=10) is None
    assert state.plan_update(CP, directory, NOW, charger_version=-1) is None  # not supported


def test_failed_push_is_retried_full() -> None:
    """After a refused push the next plan is a full list at the next version."""
    state = LocalListState()
    directory = MemberDirectory.from_dicts(members())
    state.confirm(_plan(state, directory))
    changed = MemberDirectory.from_dicts(members(["B2"]))
    assert _plan(state, changed).command.full is False
    state.failed(CP)
    retry = _plan(state, changed)
    assert (retry.command.full, retry.command.version) == (True, 2)
    state.confirm(retry)
    assert state.plan_update(CP, changed, NOW) is None


def test_local_lists_are_per_charger() -> None:
    """Each charger has its own version; forget() starts a charger over."""
    state = LocalListState()
    directory = MemberDirectory.from_dicts(members())
    state.confirm(_plan(state, directory))
    other = state.plan_update("cp-2", directory, NOW)
    assert other is not None
    assert (other.command.version, other.command.full) == (1, True)
    state.forget(CP)
    assert state.version(CP) == 0


async def test_local_list_versions_survive_reopen(tmp_path: Path) -> None:
    """Confirmed lists are stored; after a restart the next update is differential."""
    url = f"sqlite:///{tmp_path / 'ev.db'}"
    directory = MemberDirectory.from_dicts(members())
    store = SessionStore(url)
    await store.async_open()
    try:
        state = LocalListState(await store.async_load_local_lists())
        first = state.confirm(_plan(state, directory))
        await store.async_save_local_list(first)
        second = state.confirm(_plan(state, MemberDirectory.from_dicts(members(["B2"]))))
        await store.async_save_local_list(second)
        await store.async_save_local_list(state.confirm(_plan(state, directory, "cp-2")))
    finally:
        await store.async_close()

    store = SessionStore(url)
    await store.async_open()
    try:
        records = {r.charger_id: r for r in await store.async_load_local_lists()}
        assert records[CP] == second
        assert records[CP].entries_hash == second.entries_hash
        assert records["cp-2"].version == 1
        state = LocalListState(records.values())
        assert state.version(CP) == 2
        plan = state.plan_update(CP, MemberDirectory.from_dicts(members(["B2", "B3"])), NOW)
        assert plan is not None
        assert plan.command == PushAuthorizationList(
            version=3,
            entries=(AuthorizationListEntry(id_tag="B3", status=ACCEPTED),),
            full=False,
        )
        await store.async_delete_local_list("cp-2")
        assert [r.charger_id for r in await store.async_load_local_lists()] == [CP]
    finally:
        await store.async_close()


def _plan(state: LocalListState, directory: MemberDirectory, charger: str = CP) -> LocalListPlan:
    plan = state.plan_update(charger, directory, NOW)
    assert plan is not None
    return plan
