"""The charging site: the one place where charger events and tag decisions meet the domain.

:class:`ChargingSite` is the adapters' :class:`ChargerHandler` and the router of commands to
them. It owns the session engine, access control (members, policies, learn mode, remote
starts, audit log), the chargers' local authorization lists and the attribution of sessions
to members, and decides which chargers may boot: passwords on admission, pinned hardware
identity, discovery of unknown chargers. It talks to Home Assistant only through the ports of
:mod:`.ports`, given to its constructor.

Flows:

* events: adapter → :meth:`ChargingSite.handle_event` → :class:`SessionEngine` → the
  charger's listeners (``engine.charger_changes``): a meter frame reaches only its charger;
* tags: adapter → :meth:`ChargingSite.authorize` → :class:`AccessControl` → audit log. The
  decision is kept per (charger, tag) for :attr:`SiteSettings.decision_memory`; the session
  that starts with the tag goes to the member that decision chose (a tag is decided once);
* commands: :meth:`ChargingSite.async_execute` → the ``send`` of the charger's
  :class:`ChargerLink` (each adapter registers its chargers).
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
import logging
import secrets
from typing import Any

from custom_components.ev_sessions.chargers.events import (
    AuthorizationRequest,
    AuthorizationResult,
    AuthorizationStatus,
    BootDecision,
    ChargerCommand,
    ChargerConnected,
    ChargerError,
    ChargerEvent,
    ChargerInfo,
    ChargerNotConnectedError,
    ClearAuthorizationCache,
    ClearLimits,
    CommandResult,
    GetAuthorizationListVersion,
    SetChargerPassword,
    SetCurrentLimit,
    StartCharging,
    StatusChanged,
    StopCharging,
    TagPresented,
    TransactionStarted,
)

from .access import AccessControl
from .audit import AuditLog
from .charge_planning import ChargePlanning
from .charger_policy import AuthorizationPolicy, Decision, policy_change_needs_cache_clear
from .cost import SessionCost
from .cost_records import CostRecord
from .current_arbiter import CurrentArbiter
from .engine import SessionEngine
from .listeners import KeyedListeners, Listeners, Remove
from .local_lists import LocalListState
from .members import MemberDirectory, normalize_tag, shorten_tag
from .model import AnomalyKind, SessionEvent, SessionEventKind, utcnow
from .ports import (
    AdmissionGate,
    ChargerAccess,
    ChargerDiscovery,
    ChargerSettings,
    ChargerSettingsStore,
    Clock,
    MemberStore,
    SendCommand,
    SiteNotices,
    identity_mismatch,
    identity_of,
)
from .prices import PriceInterval
from .pricing import SessionPricer
from .site_budget import SiteBudget
from .storage import SessionStore
from .tariff import Tariff

_LOGGER = logging.getLogger(__name__)

#: OCPP 1.6 id tags are at most 20 characters (CiString20).
OCPP16_MAX_TAG = 20
#: Generated passwords: 20 URL-safe characters (1.6: 16 to 20 bytes; 2.0.1: 16 to 40).
GENERATED_PASSWORD_BYTES = 15


def remote_id_tag(requested_by: str | None) -> str:
    """The tag of a remote start for someone without a member tag (1.6: 20 characters)."""
    return f"HA-{requested_by[:17]}" if requested_by else "HA-REMOTE"


@dataclass(frozen=True, slots=True, kw_only=True)
class SiteSettings:
    """How the site treats chargers."""

    #: Unknown chargers are refused instead of offered to the user.
    reject_unknown: bool = False
    #: The OCPP server runs TLS (generated passwords then go with security profile 2).
    passwords_over_tls: bool = False
    #: Learn mode takes the next tag swiped within this time.
    learn_window: timedelta = timedelta(minutes=1)
    #: A tag decision is used for the session that starts with the tag within this time.
    decision_memory: timedelta = timedelta(minutes=15)


@dataclass(slots=True)
class ChargerLink:
    """A charger the site can talk to: registered by the adapter that owns it.

    ``gate`` is the adapter that admits it (the OCPP server): such chargers get a password on
    admission, their identity pinned and the members' tags in their local list.
    """

    charger_id: str
    send: SendCommand
    gate: AdmissionGate | None = None
    #: What it said about itself when it last connected.
    info: ChargerInfo | None = None
    #: The last tag decision here, and the member of the last accepted tag.
    last_decision: Decision | None = None
    last_member_id: str | None = None


class ChargingSite:
    """Sessions, access and local lists of every charger; see the module docstring."""

    def __init__(
        self,
        engine: SessionEngine,
        store: SessionStore,
        *,
        chargers: ChargerSettingsStore,
        members: MemberStore,
        discovery: ChargerDiscovery,
        notices: SiteNotices,
        settings: SiteSettings | None = None,
        clock: Clock = utcnow,
    ) -> None:
        """Build the site over a started engine; nothing runs before :meth:`async_start`."""
        self.engine = engine
        self.store = store
        self.settings = settings or SiteSettings()
        self._chargers = chargers
        self._members = members
        self._discovery = discovery
        self._notices = notices
        self._clock = clock
        self.audit = AuditLog(store)
        self.access = AccessControl(
            members.directory(), self.audit, clock=clock, policies=self._policy
        )
        self.local_lists = LocalListState()
        #: Called with a charger's info when it connects (device registry, diagnostics).
        self.charger_info: KeyedListeners[str, ChargerInfo] = KeyedListeners("charger info")
        #: Called with every tag decision at a charger (event entity, sensors).
        self.decisions: KeyedListeners[str, Decision] = KeyedListeners("decision")
        #: Called with the charger id when a connector's status changed (site figures).
        self.status_changes: Listeners[str] = Listeners("site status")
        #: Called with the new directory when the members changed (names shown by chargers).
        self.member_changes: Listeners[MemberDirectory] = Listeners("members")
        self._links: dict[str, ChargerLink] = {}
        self._info: dict[str, ChargerInfo] = {}
        self._decided: dict[tuple[str, str], tuple[Decision, datetime]] = {}
        #: Unknown chargers offered to the user, with the identity the offer shows.
        self._offered: dict[str, ChargerInfo] = {}
        self._list_sync_running: set[str] = set()
        self._list_sync_again: set[str] = set()
        self._password_tasks: set[str] = set()
        #: Chargers whose last boot contradicted their pinned identity.
        self._identity_blocked: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        #: Prices sessions (live and recorded); see :mod:`.pricing`.
        self.pricer = SessionPricer(
            engine, store, self.audit, group_of=self._tariff_group, clock=clock
        )
        # First listener: untagged sessions are attributed before anyone else hears of them.
        engine.session_events.add(self._on_session_event)
        engine.closed_slots.add(self.pricer.slot_closed)
        #: The current each charger gets: the smallest wish of the user, the plan and the site
        #: budget (see :mod:`.current_arbiter`).
        self.current = CurrentArbiter(self._send_limit, clock=clock)
        #: The site power budget, when the hub has a main fuse set (the glue starts it; see
        #: :mod:`.site_budget`); its allocations are the arbiter's budget wishes.
        self.budget: SiteBudget | None = None
        #: Planned charging: a plan per charger, re-planned and executed (see
        #: :mod:`.charge_planning`); the glue starts it with its store.
        self.planning = ChargePlanning(self, clock=clock)

    async def async_start(self) -> None:
        """Load the local-list versions and start the audit log."""
        self.local_lists = LocalListState(await self.store.async_load_local_lists())
        await self.audit.async_start()
        await self.pricer.async_start()

    async def async_stop(self) -> None:
        """Stop background work; write the last audit rows (before the engine closes the
        shared store)."""
        tasks = [task for task in self._tasks if not task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        await self.planning.async_stop()
        if self.budget is not None:
            self.budget.stop()
        await self.current.async_stop()
        await self.pricer.async_stop()
        await self.audit.async_stop()

    # ------------------------------------------------------------------ chargers

    def register_charger(self, link: ChargerLink) -> Remove:
        """An added charger is set up; one waiting to be let in (Pending) is let in."""
        charger_id = link.charger_id
        self._links[charger_id] = link
        if (info := self._info.get(charger_id)) is not None:
            link.info = info
        if link.gate is not None:
            if charger_id not in self._identity_blocked:
                link.gate.accept(charger_id)
            if self.engine.is_connected(charger_id):  # it was quicker than its setup
                self._admitted(charger_id)

        def unregister() -> None:
            if self._links.get(charger_id) is link:
                del self._links[charger_id]

        return unregister

    def charger(self, charger_id: str) -> ChargerLink | None:
        """The registered charger with this id, if any."""
        return self._links.get(charger_id)

    @property
    def chargers(self) -> Mapping[str, ChargerLink]:
        """All registered chargers by id."""
        return self._links

    def is_known(self, charger_id: str) -> bool:
        """Whether the charger was added (set up or not)."""
        return charger_id in self._links or self._chargers.charger(charger_id) is not None

    def password_for(self, charger_id: str) -> str | None:
        """The security profile 1/2 password of a charger."""
        settings = self._chargers.charger(charger_id)
        return settings.password if settings is not None else None

    def may_receive_tags(self, charger_id: str) -> bool:
        """Member tags go only to a charger with a password, or one the user let go without."""
        settings = self._chargers.charger(charger_id)
        return settings is not None and bool(settings.password or settings.allow_without_password)

    def credentials_changed(self, charger_id: str) -> None:
        """A charger's settings changed (e.g. its password): enforce the password at once."""
        link = self._links.get(charger_id)
        if link is not None and link.gate is not None:
            link.gate.credentials_changed(charger_id)

    def forget_waiting(self, charger_id: str) -> None:
        """An unknown charger went away before it was added: withdraw its offer."""
        self._offered.pop(charger_id, None)
        if self.is_known(charger_id):
            return
        self._info.pop(charger_id, None)
        self._discovery.withdraw(charger_id)

    def forget_charger(self, charger_id: str) -> None:
        """The charger was removed: if it comes back, it is a stranger again."""
        self._info.pop(charger_id, None)
        self._identity_blocked.discard(charger_id)
        self._forget_decisions(charger_id)

    def accept_identity(self, charger_id: str) -> None:
        """The user confirmed the charger's new identity (pinned by them): let it in."""
        self._identity_blocked.discard(charger_id)
        link = self._links.get(charger_id)
        if link is not None and link.gate is not None:
            link.gate.accept(charger_id)

    def allow_without_password(self, charger_id: str) -> None:
        """The user accepted a charger without a password: it gets its tags now."""
        if self.engine.is_connected(charger_id):
            self.schedule_list_sync(charger_id)

    # ------------------------------------------------------------------ access settings

    @property
    def directory(self) -> MemberDirectory:
        """The members in force."""
        return self.access.directory

    def members_changed(self) -> None:
        """The member store changed: decide with it from now on and update the chargers."""
        self.access.set_directory(self._members.directory())
        for charger_id, link in self._links.items():
            if link.gate is not None and self.engine.is_connected(charger_id):
                self.schedule_list_sync(charger_id)
        self.member_changes.emit(self.directory)

    def access_of(self, charger_id: str) -> ChargerAccess:
        """Who may charge at a charger and its member (a member since removed is nobody)."""
        settings = self._chargers.charger(charger_id)
        if settings is None:
            return ChargerAccess()
        access = settings.access
        if access.member_id is not None and self.directory.member(access.member_id) is None:
            return replace(access, member_id=None)
        return access

    def set_access(self, charger_id: str, access: ChargerAccess) -> None:
        """Store who may charge and the charger's member; a stricter policy empties the
        charger's authorization cache (tags cached under the looser one are asked again)."""
        old = self.access_of(charger_id)
        if access == old:
            return
        self._chargers.save_access(charger_id, access)
        if access.mode is old.mode:
            return
        self._forget_decisions(charger_id)
        link = self._links.get(charger_id)
        if link is None or link.gate is None or not self.engine.is_connected(charger_id):
            return
        if policy_change_needs_cache_clear(old.policy, access.policy):
            self._spawn(self._async_clear_cache(charger_id), f"clear cache {charger_id}")
        else:
            self.schedule_list_sync(charger_id)

    def start_learning(self, charger_id: str, member_id: str) -> None:
        """The next tag swiped at the charger within the learn window goes to the member."""
        self.access.learn.start(charger_id, member_id, self._clock() + self.settings.learn_window)

    def _policy(self, charger_id: str) -> AuthorizationPolicy:
        return self.access_of(charger_id).policy

    # ------------------------------------------------------------------ ChargerHandler

    def handle_event(self, event: ChargerEvent) -> None:
        """Apply an adapter event: to the engine (and the charger's listeners), then attribute
        a session that started with a tag to the member its decision chose."""
        if isinstance(event, StatusChanged):
            self._on_status(event)
            return
        if isinstance(event, ChargerConnected):
            self._on_connected(event)
        self.engine.handle_event(event)
        if isinstance(event, (TransactionStarted, TagPresented)) and event.id_tag:
            if isinstance(event, TransactionStarted):
                self._attribute_by_tag(event.charger_id, event.connector_id, event.id_tag)
                self._check_started_tag(event)
            elif event.status is AuthorizationStatus.ACCEPTED:
                self._attribute_by_tag(
                    event.charger_id, event.connector_id, event.id_tag, same_tag_only=True
                )

    async def authorize(self, request: AuthorizationRequest) -> AuthorizationResult:
        """Decide whether a tag may charge (once: the decision is remembered for the session
        it starts); report refusals and learned tags."""
        charger_id = request.charger_id
        link = self._links.get(charger_id)
        if link is None and not self.is_known(charger_id):
            return AuthorizationResult(status=AuthorizationStatus.INVALID)
        # An added charger whose setup is still running (HA just started) is decided too.
        outcome = self.access.authorize(request)
        decision = outcome.decision
        self._remember(charger_id, decision)
        if link is not None:
            link.last_decision = decision
            if decision.accepted and decision.member_id is not None:
                link.last_member_id = decision.member_id
        self.decisions.emit(charger_id, decision)
        if outcome.learned is not None:
            learned = outcome.learned
            added = self._members.add_tag(learned.member_id, learned.id_tag)
            member = self.directory.member(learned.member_id)
            self._notices.tag_learned(charger_id, member, learned.id_tag, added)
        elif not decision.accepted:
            self._notices.tag_refused(charger_id, decision)
        else:
            _LOGGER.debug("Tag %s accepted at %s", shorten_tag(request.id_tag), charger_id)
        if request.connector_id:  # OCPP 2.0.1 asks after its transaction started
            self._attribute_by_tag(
                charger_id, request.connector_id, request.id_tag, same_tag_only=True
            )
        return decision.result

    async def persist(self, charger_id: str) -> None:
        """Return once the charger's session changes so far are written (or storage failed)."""
        await self.engine.async_persist()

    async def boot_decision(self, charger_id: str, info: ChargerInfo) -> BootDecision:
        """Accept added chargers (as the hardware they were added as); offer unknown ones to
        the user."""
        settings = self._chargers.charger(charger_id)
        if settings is not None:
            changed = identity_mismatch(settings.identity or {}, info)
            if changed:
                self._identity_refused(settings, info, changed)
                return BootDecision.REJECTED
            self._info[charger_id] = info
            return BootDecision.ACCEPTED
        self._info[charger_id] = info
        if charger_id in self._links:
            return BootDecision.ACCEPTED
        if self.settings.reject_unknown or self._discovery.is_ignored(charger_id):
            _LOGGER.warning("Rejected unknown OCPP charger %s", charger_id)
            return BootDecision.REJECTED
        offered = self._offered.get(charger_id)
        if offered != info:
            # First boot: offer it; booting again as other hardware (or from a board that
            # replaced the one that first asked) while it waits: the offer shows it as it is.
            self._offered[charger_id] = info
            if offered is None:
                _LOGGER.info(
                    "New OCPP charger %s connected; waiting for the user to add it", charger_id
                )
            self._discovery.offer(charger_id, info)
        return BootDecision.PENDING

    # ------------------------------------------------------------------ events

    def _on_status(self, event: StatusChanged) -> None:
        """A status goes to the engine; a connector that changed state moves the site figures."""
        before = self.engine.connector(event.charger_id, event.connector_id).status
        self.engine.handle_event(event)
        after = self.engine.connector(event.charger_id, event.connector_id).status
        if event.connector_id > 0 and after is not before:
            self.status_changes.emit(event.charger_id)

    def _on_connected(self, event: ChargerConnected) -> None:
        charger_id = event.charger_id
        if event.info.vendor is not None or charger_id not in self._info:
            self._info[charger_id] = event.info
        link = self._links.get(charger_id)
        if link is None:
            return
        link.info = self._info[charger_id]
        self.charger_info.emit(charger_id, link.info)
        if link.gate is not None:
            self._pin_identity(charger_id, event.info)
            self._admitted(charger_id)
        self.current.reapply(charger_id)

    def _on_session_event(self, event: SessionEvent) -> None:
        """A session that starts without a member goes to the charger's member (a tag that
        starts its transaction or is presented later attributes it again); an ended session's
        cost is recorded."""
        session = event.session
        if event.kind is SessionEventKind.ENDED:
            self.pricer.session_ended(session.id)
            return
        if event.kind is not SessionEventKind.STARTED or session.member_id is not None:
            return
        member_id = self.access_of(session.charger_id).member_id
        if member_id is not None:
            self.engine.attribute(session.id, member_id, session.id_tag)

    # ------------------------------------------------------------------ pricing

    async def async_prices_known(self, intervals: Sequence[PriceInterval]) -> None:
        """Prices as they became known (the price feed): stored; a real price replacing an
        estimate a recorded cost used re-prices that session once."""
        await self.pricer.async_prices_known(intervals)
        self.planning.prices_changed()

    def set_tariff(self, tariff: Tariff | None) -> None:
        """The tariff sessions are priced with from now on (``None``: costs stay unknown)."""
        self.pricer.set_tariff(tariff)
        self.planning.prices_changed()

    def session_cost(self, session_id: str) -> SessionCost | None:
        """A session's cost now: live while it charges, recorded once it ended (``None``
        without a tariff, or for a session not held in memory and not recently recorded)."""
        session = self.engine.session(session_id)
        if session is None:
            return self.pricer.recorded_cost(session_id)
        return self.pricer.live_cost(session)

    async def async_reprice(
        self, session_id: str, reason: str, user: str | None = None
    ) -> CostRecord:
        """Price a session again (the tariff in force, the prices known now), recorded with
        ``reason`` and ``user`` and in the audit log."""
        record = await self.pricer.async_reprice(session_id, reason, user)
        await self.audit.async_flush()
        return record

    def _tariff_group(self, member_id: str | None) -> str | None:
        member = self.directory.member(member_id)
        return member.tariff_group if member is not None else None

    # ------------------------------------------------------------------ attribution

    def _remember(self, charger_id: str, decision: Decision) -> None:
        """Keep the decision for the session its tag starts (the oldest ones expire first)."""
        now = self._clock()
        key = (charger_id, normalize_tag(decision.id_tag))
        self._decided.pop(key, None)
        self._decided[key] = (decision, now + self.settings.decision_memory)
        while self._decided:
            oldest = next(iter(self._decided))
            if self._decided[oldest][1] > now:
                break
            del self._decided[oldest]

    def _decision(self, charger_id: str, id_tag: str) -> Decision | None:
        """The decision on this tag at this charger, if it is recent."""
        found = self._decided.get((charger_id, normalize_tag(id_tag)))
        if found is None or found[1] <= self._clock():
            return None
        return found[0]

    def _check_started_tag(self, event: TransactionStarted) -> None:
        """A transaction started with a tag the hub refused (the charger charges anyway): the
        session is metered as usual, flagged, and stopped remotely, as the refusal said."""
        decision = self._decision(event.charger_id, event.id_tag or "")
        if decision is None or decision.accepted:
            return
        session = self.engine.connector(event.charger_id, event.connector_id).session
        if session is None or session.transaction_id != event.transaction_id:
            return
        reason = decision.reason.value
        _LOGGER.warning(
            "Charger %s started a transaction with a refused tag %s (%s): stopping it",
            event.charger_id,
            shorten_tag(event.id_tag or ""),
            reason,
        )
        self.engine.flag(session.id, AnomalyKind.UNAUTHORIZED, reason)
        stop = StopCharging(connector_id=event.connector_id, transaction_id=event.transaction_id)
        self._spawn(self._async_stop_unauthorized(event.charger_id, stop), "stop unauthorized")

    async def _async_stop_unauthorized(self, charger_id: str, stop: StopCharging) -> None:
        try:
            result = await self.async_execute(charger_id, stop)
        except ChargerError as err:
            _LOGGER.warning(
                "Could not stop the unauthorized transaction at %s: %s", charger_id, err
            )
            return
        if not result.accepted:  # a compliant charger may have stopped it already
            _LOGGER.info(
                "Charger %s refused to stop the unauthorized transaction (%s)",
                charger_id,
                result.status,
            )

    def _forget_decisions(self, charger_id: str) -> None:
        for key in [k for k in self._decided if k[0] == charger_id]:
            del self._decided[key]

    def member_for_tag(self, charger_id: str, id_tag: str) -> str | None:
        """The member a session started with ``id_tag`` goes to: the one its decision chose;
        without a recent decision (the charger decided alone, e.g. from its local list) the
        one access control would choose."""
        decision = self._decision(charger_id, id_tag)
        if decision is not None:
            return decision.member_id
        member_id, _guest = self.access.attribution(charger_id, id_tag)
        return member_id

    def _attribute_by_tag(
        self,
        charger_id: str,
        connector_id: int | None,
        id_tag: str,
        *,
        same_tag_only: bool = False,
    ) -> None:
        """The open session on the connector (any connector if None) goes to the tag's member.

        A transaction start names its session's tag; a tag merely presented (or asked about)
        takes only a session without a tag or with this one.
        """
        connectors = [connector_id] if connector_id else self.engine.connectors(charger_id)
        for number in connectors:
            session = self.engine.connector(charger_id, number).session
            if session is None:
                continue
            if (
                same_tag_only
                and session.id_tag is not None
                and normalize_tag(session.id_tag) != normalize_tag(id_tag)
            ):
                continue  # another tag's session
            member_id = self.member_for_tag(charger_id, id_tag)
            if member_id is not None and session.member_id != member_id:
                self.engine.attribute(session.id, member_id, id_tag)
            return

    # ------------------------------------------------------------------ admission

    def _pin_identity(self, charger_id: str, info: ChargerInfo) -> None:
        """Remember who the charger said it was when it was admitted (from its boot)."""
        settings = self._chargers.charger(charger_id)
        identity = identity_of(info)
        if settings is None or settings.identity is not None or info.vendor is None:
            return
        if identity:
            self._chargers.pin_identity(charger_id, identity)

    def _identity_refused(
        self, settings: ChargerSettings, info: ChargerInfo, changed: list[str]
    ) -> None:
        pinned = settings.identity or {}
        seen = identity_of(info)
        _LOGGER.warning(
            "Refused the boot of charger %s: %s %r, not %r as when it was added",
            settings.name,
            "/".join(changed),
            [seen.get(name) for name in changed],
            [pinned.get(name) for name in changed],
        )
        self._identity_blocked.add(settings.charger_id)
        self._notices.identity_changed(settings.charger_id, pinned, seen)

    def _admitted(self, charger_id: str) -> None:
        """A charger is in: give it a password first if it has none, then its tags."""
        if self.may_receive_tags(charger_id):
            self.schedule_list_sync(charger_id)
            return
        settings = self._chargers.charger(charger_id)
        if settings is None or settings.password or charger_id in self._password_tasks:
            return
        self._password_tasks.add(charger_id)
        self._spawn(self._async_give_password(charger_id), f"password {charger_id}")

    async def _async_give_password(self, charger_id: str) -> None:
        """Set a random password on the charger; on success require it from then on."""
        try:
            password = secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
            command = SetChargerPassword(password=password, tls=self.settings.passwords_over_tls)
            try:
                result = await self.async_execute(charger_id, command)
            except ChargerNotConnectedError:
                return  # tried again when it is back
            except ChargerError as err:
                result = CommandResult(accepted=False, status=type(err).__name__)
            settings = self._chargers.charger(charger_id)
            if settings is None:
                return
            if result.accepted:
                self._password_set(settings, password)
            else:
                _LOGGER.warning(
                    "Charger %s refused a password (%s): anyone can pose as it; it gets no "
                    "member tags until the user accepts that",
                    settings.name,
                    result.status,
                )
                self._notices.password_refused(charger_id, result.status)
        finally:
            self._password_tasks.discard(charger_id)

    def _password_set(self, settings: ChargerSettings, password: str) -> None:
        charger_id = settings.charger_id
        _LOGGER.info("Charger %s took a password; it is required from now on", settings.name)
        self._chargers.save_password(charger_id, password)
        self._notices.password_taken(charger_id)
        self.credentials_changed(charger_id)
        self.schedule_list_sync(charger_id)

    # ------------------------------------------------------------------ local lists

    def schedule_list_sync(self, charger_id: str) -> None:
        """Sync the charger's list soon; one sync at a time per charger, repeats coalesced."""
        if charger_id in self._list_sync_running:
            self._list_sync_again.add(charger_id)
            return
        self._list_sync_running.add(charger_id)
        self._spawn(self._list_sync_loop(charger_id), f"local list {charger_id}")

    async def _list_sync_loop(self, charger_id: str) -> None:
        try:
            while True:
                self._list_sync_again.discard(charger_id)
                await self.async_sync_local_list(charger_id)
                if charger_id not in self._list_sync_again:
                    return
        finally:
            self._list_sync_running.discard(charger_id)

    async def async_sync_local_list(self, charger_id: str) -> bool:
        """Bring the charger's local authorization list up to date (full or differential)."""
        link = self._links.get(charger_id)
        if link is None:
            return False
        if not self.may_receive_tags(charger_id):
            _LOGGER.debug("No local list for %s: it has no password", charger_id)
            return False
        protocol = link.info.protocol if link.info else "ocpp1.6"
        try:
            version = await self.async_execute(charger_id, GetAuthorizationListVersion())
            charger_version = version.data.get("version") if version.accepted else None
            plan = self.local_lists.plan_update(
                charger_id,
                self.directory,
                self._clock(),
                charger_version=charger_version if isinstance(charger_version, int) else None,
                max_tag_length=OCPP16_MAX_TAG if protocol == "ocpp1.6" else None,
            )
            if plan is None:
                return True
            result = await self.async_execute(charger_id, plan.command)
            if not result.accepted:
                _LOGGER.warning(
                    "Charger %s refused its local authorization list (%s)",
                    charger_id,
                    result.status,
                )
                self.local_lists.failed(charger_id)
                return False
            record = self.local_lists.confirm(plan)
            await self.store.async_save_local_list(record)
            if plan.clear_cache:
                await self.async_execute(charger_id, ClearAuthorizationCache())
        except ChargerError as err:
            _LOGGER.debug("Local list sync with %s failed: %s", charger_id, err)
            self.local_lists.failed(charger_id)
            return False
        return True

    async def _async_clear_cache(self, charger_id: str) -> None:
        """Tags cached under the looser policy must be asked about again; then the list."""
        try:
            result = await self.async_execute(charger_id, ClearAuthorizationCache())
        except ChargerError as err:
            _LOGGER.warning("Could not clear the authorization cache of %s: %s", charger_id, err)
        else:
            if not result.accepted:
                _LOGGER.warning(
                    "Charger %s refused to clear its authorization cache (%s)",
                    charger_id,
                    result.status,
                )
        self.schedule_list_sync(charger_id)

    # ------------------------------------------------------------------ commands

    def remote_start_tag(
        self, member_id: str | None, requested_by: str | None, id_tag: str | None = None
    ) -> str:
        """The tag a remote start gives the charger: ``id_tag``, else the member's first active
        tag a 1.6 charger can carry (so the session is theirs), else an ``HA-`` tag."""
        if id_tag:
            return id_tag
        member = self.directory.member(member_id)
        now = self._clock()
        for tag in member.tags if member is not None else ():
            if tag.status_at(now) is AuthorizationStatus.ACCEPTED and (
                len(tag.id_tag) <= OCPP16_MAX_TAG
            ):
                return tag.id_tag
        return remote_id_tag(requested_by)

    async def async_remote_start(
        self,
        charger_id: str,
        connector_id: int,
        *,
        member_id: str | None = None,
        requested_by: str | None = None,
        id_tag: str | None = None,
    ) -> CommandResult:
        """Start charging for a member (see :meth:`remote_start_tag`); the site accepts that
        tag at this charger for a while (the vehicle may be plugged in later)."""
        if self.directory.member(member_id) is None:
            member_id = None
        tag = self.remote_start_tag(member_id, requested_by, id_tag)
        self.access.expect_remote_start(charger_id, tag, member_id)
        return await self.async_execute(
            charger_id, StartCharging(connector_id=connector_id, id_tag=tag)
        )

    async def async_execute(self, charger_id: str, command: ChargerCommand) -> CommandResult:
        """Send a command to the charger, whichever adapter owns it."""
        link = self._links.get(charger_id)
        if link is None:
            raise ChargerNotConnectedError(charger_id)
        if isinstance(command, StopCharging) and command.transaction_id is None:
            # The adapter may not know the transaction (e.g. after a restart); the engine does.
            session = self.engine.connector(charger_id, command.connector_id).session
            if session is not None and session.transaction_id is not None:
                command = replace(command, transaction_id=session.transaction_id)
        return await link.send(command)

    # ------------------------------------------------------------------ tasks

    async def _send_limit(self, charger_id: str, amps: float | None) -> CommandResult:
        """The arbiter's way to a charger: its overall maximum (OCPP: a charger-wide max
        profile next to the plan's schedules; Modbus: the setpoint), or clearing it."""
        if amps is None:
            return await self.async_execute(charger_id, ClearLimits(charger_max=True))
        command = SetCurrentLimit(connector_id=0, limit_a=amps, charger_max=True)
        return await self.async_execute(charger_id, command)

    async def async_wait_idle(self) -> None:
        """Return once no background work (list sync, password, cache clear, limits) runs."""
        while pending := [task for task in self._tasks if not task.done()]:
            await asyncio.gather(*pending, return_exceptions=True)
        await self.current.async_wait_idle()

    def _spawn(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run ``work`` in the background until done or :meth:`async_stop` (started at once,
        up to its first wait, so a command goes out before the caller's next step)."""
        task = asyncio.Task(
            work, loop=asyncio.get_running_loop(), name=f"ev_sessions {name}", eager_start=True
        )
        if task.done():
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


__all__ = [
    "GENERATED_PASSWORD_BYTES",
    "OCPP16_MAX_TAG",
    "ChargerLink",
    "ChargingSite",
    "SiteSettings",
    "remote_id_tag",
]
