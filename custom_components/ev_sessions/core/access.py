"""Access control: one place that answers a charger's "may this tag charge?".

It combines the member directory, each charger's policy, remote starts from Home Assistant,
learn mode and the audit log. Synchronous and free of I/O (the audit log only queues), so
the hub can answer a charger without waiting on anything.
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
    policy_change_needs_cache_clear,
)
from .learn_mode import LearnedTag, LearnMode
from .members import MemberDirectory, normalize_tag
from .model import utcnow

#: A remote start's tag is honoured this long (the vehicle may be plugged in later).
REMOTE_START_WINDOW = timedelta(minutes=15)


@dataclass(frozen=True, slots=True, kw_only=True)
class Outcome:
    """A decision plus what else happened: a tag learned for a member."""

    decision: Decision
    learned: LearnedTag | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class _RemoteStart:
    member_id: str | None
    until: datetime


class AccessControl:
    """Decides on tags per charger and records every decision."""

    def __init__(
        self,
        directory: MemberDirectory,
        audit: AuditLog | None,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        """Start with a member directory; ``audit`` records decisions (None: not recorded)."""
        self.authorizer = Authorizer(directory)
        self.learn = LearnMode()
        self._audit = audit
        self._clock = clock
        self._policies: dict[str, AuthorizationPolicy] = {}
        self._remote: dict[tuple[str, str], _RemoteStart] = {}

    @property
    def directory(self) -> MemberDirectory:
        """The members in force."""
        return self.authorizer.directory

    def set_directory(self, directory: MemberDirectory) -> None:
        """Members changed (added, removed, a tag blocked...)."""
        self.authorizer.directory = directory

    def policy(self, charger_id: str) -> AuthorizationPolicy:
        """A charger's policy (members only unless set)."""
        return self._policies.get(charger_id, AuthorizationPolicy())

    def set_policy(self, charger_id: str, policy: AuthorizationPolicy) -> bool:
        """Set a charger's policy; ``True`` when it is stricter (the charger's cache must go)."""
        old = self.policy(charger_id)
        self._policies[charger_id] = policy
        return policy_change_needs_cache_clear(old, policy)

    def expect_remote_start(self, charger_id: str, id_tag: str, member_id: str | None) -> None:
        """HA asked the charger to start with ``id_tag``: accept that tag there for a while."""
        until = self._clock() + REMOTE_START_WINDOW
        self._remote[(charger_id, normalize_tag(id_tag))] = _RemoteStart(
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
            return Outcome(decision=decision, learned=learned)
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

    def _remote_start(self, charger_id: str, id_tag: str, now: datetime) -> _RemoteStart | None:
        for key in [k for k, v in self._remote.items() if v.until < now]:
            del self._remote[key]
        return self._remote.get((charger_id, normalize_tag(id_tag)))

    def _record(
        self, request: AuthorizationRequest, decision: Decision, source: AuditSource
    ) -> None:
        if self._audit is not None:
            self._audit.record_decision(request, decision, source)
