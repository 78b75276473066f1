"""Access control: one place that answers a charger's "may this tag charge?".

It combines the member directory, each charger's policy (read through ``policies``, the
charger settings), remote starts from Home Assistant, learn mode and the audit log.
Synchronous and free of I/O (the audit log only queues), so the site can answer a charger
without waiting on anything.

A tag learn mode caught stays accepted for its member at that charger for a while
(:data:`LEARNED_TAG_GRACE`) while the directory does not know it yet: storing it for the member
may take a moment, and the charger asks again when the transaction starts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from custom_components.ev_sessions.chargers.events import (
    AuthorizationRequest,
    AuthorizationResult,
    AuthorizationStatus,
)

from .audit import AuditLog, AuditSource
from .charger_policy import (
    AuthorizationMode,
    AuthorizationPolicy,
    Authorizer,
    Decision,
    DecisionReason,
)
from .learn_mode import LearnedTag, LearnMode
from .members import MemberDirectory, normalize_tag
from .model import utcnow

#: A remote start's tag is honoured this long (the vehicle may be plugged in later).
REMOTE_START_WINDOW = timedelta(minutes=15)
#: A learned tag is honoured for its member this long until the directory holds it.
LEARNED_TAG_GRACE = timedelta(minutes=15)


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """A decision plus what else happened: a tag learned for a member."""

    decision: Decision
    learned: LearnedTag | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class _Expected:
    """A tag accepted at one charger for a while (remote start, learned tag)."""

    member_id: str | None
    until: datetime


def _members_only(_charger_id: str) -> AuthorizationPolicy:
    return AuthorizationPolicy()


class AccessControl:
    """Decides on tags per charger and records every decision."""

    def __init__(
        self,
        directory: MemberDirectory,
        audit: AuditLog | None,
        *,
        clock: Callable[[], datetime] = utcnow,
        policies: Callable[[str], AuthorizationPolicy] = _members_only,
    ) -> None:
        """Start with a member directory; ``audit`` records decisions (None: not recorded);
        ``policies`` gives a charger's policy (members only everywhere by default)."""
        self.authorizer = Authorizer(directory)
        self.learn = LearnMode()
        self._audit = audit
        self._clock = clock
        self._policies = policies
        self._remote: dict[tuple[str, str], _Expected] = {}
        self._learned: dict[tuple[str, str], _Expected] = {}

    @property
    def directory(self) -> MemberDirectory:
        """The members in force."""
        return self.authorizer.directory

    def set_directory(self, directory: MemberDirectory) -> None:
        """Members changed (added, removed, a tag blocked...)."""
        self.authorizer.directory = directory

    def policy(self, charger_id: str) -> AuthorizationPolicy:
        """A charger's policy, as its settings say now."""
        return self._policies(charger_id)

    def expect_remote_start(self, charger_id: str, id_tag: str, member_id: str | None) -> None:
        """HA asked the charger to start with ``id_tag``: accept that tag there for a while."""
        until = self._clock() + REMOTE_START_WINDOW
        self._remote[(charger_id, normalize_tag(id_tag))] = _Expected(
            member_id=member_id, until=until
        )

    def authorize(
        self, request: AuthorizationRequest, source: AuditSource = AuditSource.AUTHORIZE
    ) -> Outcome:
        """Decide, record the decision, and report a learned tag."""
        now = self._clock()
        learned = self.learn.capture(request, now)
        if learned is not None:
            decision = self.authorizer.decide_learned(learned, self.policy(request.charger_id))
            self._record(request, decision, AuditSource.LEARN)
            if decision.reason is DecisionReason.LEARNED:
                self._learned[(request.charger_id, normalize_tag(learned.id_tag))] = _Expected(
                    member_id=learned.member_id, until=now + LEARNED_TAG_GRACE
                )
            return Outcome(decision=decision, learned=learned)
        if (again := self._still_learned(request, now)) is not None:
            self._record(request, again, source)
            return Outcome(decision=again)
        remote = self._remote_start(request.charger_id, request.id_tag, now)
        if remote is not None and self.directory.lookup(request.id_tag) is None:
            decision = Decision(
                result=AuthorizationResult(status=AuthorizationStatus.ACCEPTED),
                reason=DecisionReason.REMOTE_START,
                member_id=remote.member_id,
                id_tag=request.id_tag,
            )
            self._record(request, decision, AuditSource.REMOTE_START)
            return Outcome(decision=decision)
        decision = self.authorizer.decide(request, self.policy(request.charger_id), now)
        self._record(request, decision, source)
        return Outcome(decision=decision)

    def attribution(self, charger_id: str, id_tag: str) -> tuple[str | None, bool]:
        """Whom a session started with ``id_tag`` belongs to: (member id, guest)."""
        now = self._clock()
        remote = self._remote_start(charger_id, id_tag, now)
        if (match := self.directory.lookup(id_tag)) is not None:
            return match.member.id, False
        if remote is not None:
            return remote.member_id, False
        policy = self.policy(charger_id)
        if policy.mode is AuthorizationMode.MEMBERS_AND_GUESTS:
            return policy.guest_member_id, True
        if policy.mode is AuthorizationMode.FREE:
            return policy.default_member_id, False
        return None, False

    def _still_learned(self, request: AuthorizationRequest, now: datetime) -> Decision | None:
        """The learned decision again, for a tag learned here that the directory lacks yet."""
        learned = _current(self._learned, request.charger_id, request.id_tag, now)
        if learned is None or learned.member_id is None:
            return None
        if self.directory.lookup(request.id_tag) is not None:  # stored: decided normally
            del self._learned[(request.charger_id, normalize_tag(request.id_tag))]
            return None
        member = self.directory.member(learned.member_id)
        return Decision(
            result=AuthorizationResult(
                status=AuthorizationStatus.ACCEPTED,
                parent_id_tag=None if member is None else member.group_id_tag,
            ),
            reason=DecisionReason.LEARNED,
            member_id=learned.member_id,
            id_tag=request.id_tag,
        )

    def _remote_start(self, charger_id: str, id_tag: str, now: datetime) -> _Expected | None:
        return _current(self._remote, charger_id, id_tag, now)

    def _record(
        self, request: AuthorizationRequest, decision: Decision, source: AuditSource
    ) -> None:
        if self._audit is not None:
            self._audit.record_decision(request, decision, source)


def _current(
    expected: dict[tuple[str, str], _Expected], charger_id: str, id_tag: str, now: datetime
) -> _Expected | None:
    """The tag's expectation at the charger, if it still holds (expired ones are dropped)."""
    for key in [k for k, v in expected.items() if v.until < now]:
        del expected[key]
    return expected.get((charger_id, normalize_tag(id_tag)))
