"""Access control: policy, remote starts, learn mode and the audit trail in one answer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from custom_components.ev_sessions.chargers.events import (
    AuthorizationRequest,
    AuthorizationStatus,
)
from custom_components.ev_sessions.core import (
    GUEST_MEMBER_ID,
    LEARNED_TAG_GRACE,
    REMOTE_START_WINDOW,
    AccessControl,
    AuditLog,
    AuditSource,
    AuthorizationMode,
    AuthorizationPolicy,
    DecisionReason,
    MemberDirectory,
    SessionStore,
)

NOW = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
MEMBERS = MemberDirectory.from_dicts(
    [
        {"id": "anna", "name": "Anna", "tags": ["04A1B2C3"], "group_id_tag": "FAMILY"},
        {"id": "bo", "name": "Bo", "tags": [{"id_tag": "BLOCKED1", "status": "blocked"}]},
    ]
)


class Clock:
    """A settable clock."""

    def __init__(self) -> None:
        self.now = NOW

    def __call__(self) -> datetime:
        return self.now


def request(tag: str, charger: str = "cp-1") -> AuthorizationRequest:
    """An authorization request at NOW."""
    return AuthorizationRequest(charger_id=charger, id_tag=tag, connector_id=1, at=NOW)


@pytest.fixture
async def audit(db_url: str) -> AsyncIterator[AuditLog]:
    """An audit log over a real store (each backend)."""
    store = SessionStore(db_url)
    await store.async_open()
    try:
        yield AuditLog(store)
    finally:
        await store.async_close()


async def test_members_only_accepts_members_rejects_others_and_records_all(
    audit: AuditLog,
) -> None:
    """Every answer is written to the audit log with member and reason."""
    access = AccessControl(MEMBERS, audit, clock=Clock())
    ok = access.authorize(request("04a1b2c3"))
    assert ok.decision.status is AuthorizationStatus.ACCEPTED
    assert ok.decision.member_id == "anna"
    assert ok.decision.result.parent_id_tag == "FAMILY"
    assert access.authorize(request("UNKNOWN9")).decision.status is AuthorizationStatus.INVALID
    assert access.authorize(request("BLOCKED1")).decision.status is AuthorizationStatus.BLOCKED
    await audit.async_flush()
    rows = await audit.async_query(limit=10)
    assert [(r.id_tag, r.member_id, r.status, r.reason) for r in reversed(rows)] == [
        ("04a1b2c3", "anna", "accepted", "accepted"),
        ("UNKNOWN9", None, "invalid", "unknown_tag"),
        ("BLOCKED1", "bo", "blocked", "blocked"),
    ]


def test_guest_and_free_policies_attribute_sessions() -> None:
    """Unknown tags go to the guest member or the default member, per charger."""
    policies = {
        "guests": AuthorizationPolicy(mode=AuthorizationMode.MEMBERS_AND_GUESTS),
        "free": AuthorizationPolicy(mode=AuthorizationMode.FREE, default_member_id="anna"),
    }
    access = AccessControl(
        MEMBERS,
        None,
        clock=Clock(),
        policies=lambda charger_id: policies.get(charger_id, AuthorizationPolicy()),
    )
    guest = access.authorize(request("VISITOR", "guests")).decision
    assert (guest.status, guest.guest, guest.member_id) == (
        AuthorizationStatus.ACCEPTED,
        True,
        GUEST_MEMBER_ID,
    )
    assert access.attribution("guests", "VISITOR") == (GUEST_MEMBER_ID, True)
    assert access.attribution("free", "VISITOR") == ("anna", False)
    assert access.attribution("cp-1", "VISITOR") == (None, False)
    assert access.attribution("free", "04A1B2C3") == ("anna", False)
    # blocked stays blocked under the guest policy
    blocked = access.authorize(request("BLOCKED1", "guests")).decision
    assert blocked.status is AuthorizationStatus.BLOCKED


def test_remote_start_tag_is_accepted_only_there_and_only_for_a_while() -> None:
    """HA's remote-start tag is honoured at that charger within the window."""
    clock = Clock()
    access = AccessControl(MEMBERS, None, clock=clock)
    access.expect_remote_start("cp-1", "HA-abc", "anna")
    decision = access.authorize(request("HA-abc")).decision
    assert decision.status is AuthorizationStatus.ACCEPTED
    assert decision.reason is DecisionReason.REMOTE_START
    assert access.attribution("cp-1", "HA-abc") == ("anna", False)
    assert access.authorize(request("HA-abc", "cp-2")).decision.status is (
        AuthorizationStatus.INVALID
    )
    clock.now = NOW + REMOTE_START_WINDOW + timedelta(seconds=1)
    assert access.authorize(request("HA-abc")).decision.status is AuthorizationStatus.INVALID


async def test_learn_mode_captures_the_next_tag_for_the_member(audit: AuditLog) -> None:
    """The next unknown tag at the charger is accepted and reported as learned."""
    clock = Clock()
    access = AccessControl(MEMBERS, audit, clock=clock)
    access.learn.start("cp-1", "bo", NOW + timedelta(minutes=1))
    other = access.authorize(request("NEWTAG1", "cp-2"))
    assert other.learned is None
    outcome = access.authorize(request("NEWTAG1"))
    assert outcome.learned is not None
    assert (outcome.learned.member_id, outcome.learned.id_tag) == ("bo", "NEWTAG1")
    assert outcome.decision.status is AuthorizationStatus.ACCEPTED
    # learn mode ended: no second capture (the tag stays the member's here until stored)
    assert access.authorize(request("NEWTAG1")).learned is None
    await audit.async_flush()
    rows = await audit.async_query(source=AuditSource.LEARN)
    assert [(r.id_tag, r.member_id) for r in rows] == [("NEWTAG1", "bo")]


def test_learned_tag_stays_the_members_at_that_charger_until_the_directory_has_it() -> None:
    """The charger asks again at the transaction start: the answer (and member) is the same,
    also before the member store took the tag in; elsewhere it is unknown; then the
    directory decides."""
    clock = Clock()
    access = AccessControl(MEMBERS, None, clock=clock)
    access.learn.start("cp-1", "anna", NOW + timedelta(minutes=1))
    assert access.authorize(request("NEWTAG1")).learned is not None
    again = access.authorize(request("newtag1")).decision
    assert (again.status, again.member_id, again.reason) == (
        AuthorizationStatus.ACCEPTED,
        "anna",
        DecisionReason.LEARNED,
    )
    assert again.result.parent_id_tag == "FAMILY"
    elsewhere = access.authorize(request("NEWTAG1", "cp-2")).decision
    assert elsewhere.status is AuthorizationStatus.INVALID
    # stored for the member, then blocked: the directory decides from now on
    access.set_directory(
        MemberDirectory.from_dicts(
            [{"id": "anna", "name": "Anna", "tags": [{"id_tag": "NEWTAG1", "status": "blocked"}]}]
        )
    )
    assert access.authorize(request("NEWTAG1")).decision.status is AuthorizationStatus.BLOCKED
    # and the grace does not come back when the tag leaves the directory
    access.set_directory(MEMBERS)
    assert access.authorize(request("NEWTAG1")).decision.status is AuthorizationStatus.INVALID


def test_learned_tag_grace_ends() -> None:
    """Past the grace, a learned tag the directory never took in is unknown again."""
    clock = Clock()
    access = AccessControl(MEMBERS, None, clock=clock)
    access.learn.start("cp-1", "anna", NOW + timedelta(minutes=1))
    assert access.authorize(request("NEWTAG1")).learned is not None
    clock.now = NOW + LEARNED_TAG_GRACE + timedelta(seconds=1)
    assert access.authorize(request("NEWTAG1")).decision.status is AuthorizationStatus.INVALID


def test_directory_swap_takes_effect() -> None:
    """A member added in the UI can charge at once."""
    access = AccessControl(MemberDirectory(), None, clock=Clock())
    assert access.authorize(request("04A1B2C3")).decision.status is AuthorizationStatus.INVALID
    access.set_directory(MEMBERS)
    assert access.authorize(request("04A1B2C3")).decision.member_id == "anna"


def test_member_totals_count_energy_and_priced_cost_by_plug_in_month() -> None:
    """A session belongs to the month it was plugged in; cost sums only priced sessions."""
    from decimal import Decimal

    from custom_components.ev_sessions.core import Session, member_totals

    month = datetime(2026, 3, 1, tzinfo=UTC)
    last = datetime(2026, 2, 1, tzinfo=UTC)

    def session(sid: str, at: datetime, wh: int, cost: str | None, member: str = "anna") -> Session:
        return Session(
            id=sid,
            charger_id="cp",
            connector_id=1,
            plugged_in_at=at,
            unplugged_at=at + timedelta(hours=2),
            member_id=member,
            energy_wh=wh,
            cost=Decimal(cost) if cost is not None else None,
        )

    totals = member_totals(
        [
            session("a", month + timedelta(days=2), 5_000, "10.50"),
            session("b", month - timedelta(hours=1), 3_000, None),  # plugged in last month
            session("c", month + timedelta(days=3), 2_000, None),
            session("d", last - timedelta(days=1), 9_000, "99"),  # before last month: ignored
            session("e", month + timedelta(days=1), 1_000, "1", member="bo"),
        ],
        month_start=month,
        last_month_start=last,
    )
    anna = totals["anna"]
    assert (anna.energy_this_month_wh, anna.energy_last_month_wh) == (7_000, 3_000)
    assert anna.sessions_this_month == 2
    assert anna.cost_this_month == Decimal("10.50")
    assert anna.cost_last_month is None
    assert totals["bo"].cost_this_month == Decimal(1)
