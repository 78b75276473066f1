"""The hub: wires the protocol adapters to the session engine and access control in HA.

The hub is the adapters' :class:`ChargerHandler`. It forwards every normalized event to the
session engine, answers tags through :class:`AccessControl` (members, policy, learn mode,
audit log), attributes sessions to members, keeps OCPP chargers' local authorization lists in
sync, decides which chargers may boot (starting HA discovery for unknown OCPP chargers) and
routes commands from HA to the adapter that owns the charger.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
import secrets
from typing import Any

from homeassistant.config_entries import (
    SIGNAL_CONFIG_ENTRY_CHANGED,
    SOURCE_INTEGRATION_DISCOVERY,
    ConfigEntry,
    ConfigEntryChange,
)
from homeassistant.const import CONF_PASSWORD
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import discovery_flow, issue_registry as ir
from homeassistant.helpers.dispatcher import async_dispatcher_connect

from .chargers.events import (
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
    CommandResult,
    GetAuthorizationListVersion,
    SetChargerPassword,
    StartCharging,
    StopCharging,
    TagPresented,
    TransactionStarted,
)
from .const import (
    CONF_CHARGER_ID,
    CONF_ENTRY_TYPE,
    CONF_PROTOCOL,
    DOMAIN,
    ENTRY_TYPE_CHARGER,
    LOGGER,
    PROTOCOL_OCPP,
)
from .core import (
    AccessControl,
    AuditLog,
    AuthorizationPolicy,
    Decision,
    LocalListState,
    MemberDirectory,
    SessionEngine,
    SessionEvent,
    SessionEventKind,
    SessionStore,
    shorten_tag,
)
from .core.model import utcnow
from .members import (
    add_tag_to_member,
    member_for_user,
    report_learned_tag,
    report_refused_tag,
)

LEARN_WINDOW = timedelta(minutes=1)
OCPP16_MAX_TAG = 20
#: Charger entry option: the user accepts that the charger has no password (it gets tags).
CONF_ALLOW_WITHOUT_PASSWORD = "allow_without_password"  # noqa: S105  (a key)
#: Charger entry data: vendor, model and serial seen when it was admitted.
CONF_IDENTITY = "identity"
IDENTITY_FIELDS = ("vendor", "model", "serial")
ISSUE_NO_PASSWORD = "charger_without_password"  # noqa: S105  (an issue id)
ISSUE_IDENTITY = "charger_identity_changed"
#: Generated passwords: 20 URL-safe characters (1.6: 16 to 20 bytes; 2.0.1: 16 to 40).
GENERATED_PASSWORD_BYTES = 15


def identity_of(info: ChargerInfo) -> dict[str, str]:
    """What identifies the hardware: vendor, model and serial, as far as it told them."""
    found = {name: getattr(info, name) for name in IDENTITY_FIELDS}
    return {name: value for name, value in found.items() if value}


def identity_mismatch(pinned: Mapping[str, Any], info: ChargerInfo) -> list[str]:
    """The pinned identity fields the boot contradicts (a missing value contradicts too)."""
    return [
        name
        for name in IDENTITY_FIELDS
        if pinned.get(name) is not None and getattr(info, name) != pinned[name]
    ]


def remote_id_tag(user_id: str | None) -> str:
    """The tag of a remote start by an HA user with no member tag (OCPP 1.6: 20 characters)."""
    return f"HA-{user_id[:17]}" if user_id else "HA-REMOTE"


@dataclass(slots=True)
class ChargerLink:
    """A charger the user has added: how to reach it and what it said about itself."""

    charger_id: str
    entry_id: str
    protocol: str
    execute: Callable[[ChargerCommand], Awaitable[CommandResult]] | None = None
    info: ChargerInfo | None = None
    on_info: list[Callable[[ChargerInfo], None]] = field(default_factory=list)
    #: Called with every authorization decision at this charger (event entity, sensors).
    on_decision: list[Callable[[Decision], None]] = field(default_factory=list)
    #: The member untagged sessions go to ("who is charging"), and the learn-mode target.
    selected_member_id: str | None = None
    last_decision: Decision | None = None
    #: The member of the last accepted tag here.
    last_member_id: str | None = None


class Hub:
    """Owns the engine, access control and the OCPP server; knows every configured charger."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        engine: SessionEngine,
        store: SessionStore,
        directory: MemberDirectory,
    ) -> None:
        """Create the hub for the hub config entry."""
        self.hass = hass
        self.entry = entry
        self.engine = engine
        self.store = store
        self.audit = AuditLog(store)
        self.access = AccessControl(directory, self.audit)
        self.local_lists = LocalListState()
        self.ocpp_execute: Callable[[str, ChargerCommand], Awaitable[CommandResult]] | None = None
        self.ocpp_accept: Callable[[str], None] | None = None
        #: Drop what the OCPP server knows of a removed charger (and close its connection).
        self.ocpp_forget: Callable[[str], None] | None = None
        #: A charger's password was set or changed: its unauthenticated connection goes.
        self.ocpp_credentials_changed: Callable[[str], None] | None = None
        #: The OCPP server runs TLS (passwords then go with security profile 2).
        self.ocpp_tls = False
        self.reject_unknown = False
        #: Called when any connector changes state (the site figures are recomputed).
        self.on_status_change: Callable[[], None] | None = None
        self._chargers: dict[str, ChargerLink] = {}
        self._info: dict[str, ChargerInfo] = {}
        self._discovery_started: set[str] = set()
        self._list_sync_running: set[str] = set()
        self._list_sync_again: set[str] = set()
        self._password_tasks: set[str] = set()
        #: Chargers whose last boot contradicted their pinned identity.
        self._identity_blocked: set[str] = set()
        engine.session_events.add(self._on_session_event)

    async def async_start(self) -> None:
        """Load the local-list versions and start the audit log."""
        self.local_lists = LocalListState(await self.store.async_load_local_lists())
        await self.audit.async_start()
        self.entry.async_on_unload(
            async_dispatcher_connect(
                self.hass, SIGNAL_CONFIG_ENTRY_CHANGED, self._on_config_entry_changed
            )
        )

    async def async_stop(self) -> None:
        """Write the last audit rows (before the engine closes the shared store)."""
        await self.audit.async_stop()

    # ------------------------------------------------------------------ registry

    @callback
    def register_charger(self, link: ChargerLink) -> Callable[[], None]:
        """A charger entry was set up; an OCPP charger waiting in Pending is let in."""
        self._chargers[link.charger_id] = link
        if (info := self._info.get(link.charger_id)) is not None:
            link.info = info
        if link.protocol == PROTOCOL_OCPP and self.ocpp_accept is not None:
            if link.charger_id not in self._identity_blocked:
                self.ocpp_accept(link.charger_id)
            if self.engine.is_connected(link.charger_id):  # it was quicker than its entry
                self._admitted(link.charger_id)

        @callback
        def unregister() -> None:
            if self._chargers.get(link.charger_id) is link:
                del self._chargers[link.charger_id]

        return unregister

    def charger(self, charger_id: str) -> ChargerLink | None:
        """The configured charger with this id, if any."""
        return self._chargers.get(charger_id)

    @property
    def chargers(self) -> dict[str, ChargerLink]:
        """All configured chargers by id."""
        return self._chargers

    def _charger_entries(self) -> list[ConfigEntry]:
        return [
            entry
            for entry in self.hass.config_entries.async_entries(DOMAIN, include_ignore=False)
            if entry.data.get(CONF_ENTRY_TYPE) == ENTRY_TYPE_CHARGER
        ]

    def charger_entry(self, charger_id: str) -> ConfigEntry | None:
        """The config entry of a charger id, if it has one."""
        return next(
            (e for e in self._charger_entries() if e.data.get(CONF_CHARGER_ID) == charger_id),
            None,
        )

    def is_known(self, charger_id: str) -> bool:
        """Whether a charger entry exists for this id (set up or not)."""
        return charger_id in self._chargers or any(
            entry.data.get(CONF_CHARGER_ID) == charger_id for entry in self._charger_entries()
        )

    def is_ignored(self, charger_id: str) -> bool:
        """Whether the user chose to ignore this charger's discovery."""
        return any(
            entry.unique_id == charger_id and entry.source == "ignore"
            for entry in self.hass.config_entries.async_entries(DOMAIN)
        )

    def password_for(self, charger_id: str) -> str | None:
        """Security profile 1/2 password configured for a charger."""
        for entry in self._charger_entries():
            if entry.data.get(CONF_CHARGER_ID) == charger_id:
                password: str | None = entry.data.get("password")
                return password
        return None

    def may_receive_tags(self, charger_id: str) -> bool:
        """Member tags go only to a charger with a password, or one the user let go without."""
        entry = self.charger_entry(charger_id)
        return entry is not None and bool(
            entry.data.get(CONF_PASSWORD) or entry.options.get(CONF_ALLOW_WITHOUT_PASSWORD)
        )

    @callback
    def charger_entry_updated(self, charger_id: str) -> None:
        """A charger's entry changed (e.g. its password): enforce the new password at once."""
        if self.ocpp_credentials_changed is not None:
            self.ocpp_credentials_changed(charger_id)

    @callback
    def forget_waiting(self, charger_id: str) -> None:
        """An unknown charger went away before it was added: drop its discovery."""
        self._discovery_started.discard(charger_id)
        if self.is_known(charger_id):
            return
        self._info.pop(charger_id, None)
        flows = self.hass.config_entries.flow.async_progress_by_handler(
            DOMAIN,
            match_context={"source": SOURCE_INTEGRATION_DISCOVERY, "unique_id": charger_id},
        )
        for flow in flows:
            self.hass.config_entries.flow.async_abort(flow["flow_id"])

    @callback
    def _on_config_entry_changed(self, change: ConfigEntryChange, entry: ConfigEntry) -> None:
        """A removed OCPP charger is forgotten: if it comes back, it is a stranger again."""
        if (
            change is not ConfigEntryChange.REMOVED
            or entry.domain != DOMAIN
            or entry.data.get(CONF_ENTRY_TYPE) != ENTRY_TYPE_CHARGER
            or entry.data.get(CONF_PROTOCOL) != PROTOCOL_OCPP
        ):
            return
        charger_id: str = entry.data[CONF_CHARGER_ID]
        self._info.pop(charger_id, None)
        self._identity_blocked.discard(charger_id)
        for issue in (ISSUE_NO_PASSWORD, ISSUE_IDENTITY):
            ir.async_delete_issue(self.hass, DOMAIN, f"{issue}_{entry.entry_id}")
        if self.ocpp_forget is not None:
            self.ocpp_forget(charger_id)

    # ------------------------------------------------------------------ members

    @callback
    def set_directory(self, directory: MemberDirectory) -> None:
        """Members changed in the UI: decide with them from now on and update the chargers."""
        self.access.set_directory(directory)
        for charger_id, link in self._chargers.items():
            if link.protocol == PROTOCOL_OCPP and self.engine.is_connected(charger_id):
                self.schedule_list_sync(charger_id)

    def start_learning(self, charger_id: str, member_id: str) -> None:
        """The next tag swiped at the charger within a minute goes to the member."""
        self.access.learn.start(charger_id, member_id, utcnow() + LEARN_WINDOW)

    # ------------------------------------------------------------------ ChargerHandler

    def handle_event(self, event: ChargerEvent) -> None:
        """Forward an adapter event to the engine; attribute sessions started with a tag."""
        if isinstance(event, ChargerConnected):
            self._on_connected(event)
        self.engine.handle_event(event)
        if isinstance(event, (TransactionStarted, TagPresented)) and event.id_tag:
            if isinstance(event, TagPresented) and event.status is not AuthorizationStatus.ACCEPTED:
                return
            self._attribute_by_tag(event.charger_id, event.connector_id, event.id_tag)

    def _on_connected(self, event: ChargerConnected) -> None:
        if event.info.vendor is not None or event.charger_id not in self._info:
            self._info[event.charger_id] = event.info
        link = self._chargers.get(event.charger_id)
        if link is None:
            return
        link.info = self._info[event.charger_id]
        for cb in link.on_info:
            cb(link.info)
        if link.protocol == PROTOCOL_OCPP:
            self._pin_identity(event.charger_id, event.info)
            self._admitted(event.charger_id)

    def _pin_identity(self, charger_id: str, info: ChargerInfo) -> None:
        """Remember who the charger said it was when it was admitted (from its boot)."""
        entry = self.charger_entry(charger_id)
        identity = identity_of(info)
        if entry is None or CONF_IDENTITY in entry.data or info.vendor is None or not identity:
            return
        self.hass.config_entries.async_update_entry(
            entry, data={**entry.data, CONF_IDENTITY: identity}
        )

    def _admitted(self, charger_id: str) -> None:
        """An OCPP charger is in: give it a password first if it has none, then its tags."""
        if self.may_receive_tags(charger_id):
            self.schedule_list_sync(charger_id)
            return
        entry = self.charger_entry(charger_id)
        if entry is None or entry.data.get(CONF_PASSWORD) or charger_id in self._password_tasks:
            return
        self._password_tasks.add(charger_id)
        self.entry.async_create_background_task(
            self.hass, self._async_give_password(charger_id), f"{DOMAIN} password {charger_id}"
        )

    async def _async_give_password(self, charger_id: str) -> None:
        """Set a random password on the charger; on success require it from then on."""
        try:
            password = secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
            command = SetChargerPassword(password=password, tls=self.ocpp_tls)
            try:
                result = await self.async_execute(charger_id, command)
            except ChargerNotConnectedError:
                return  # tried again when it is back
            except ChargerError as err:
                result = CommandResult(accepted=False, status=type(err).__name__)
            entry = self.charger_entry(charger_id)
            if entry is None:
                return
            if result.accepted:
                self._password_set(entry, charger_id, password)
            else:
                self._password_refused(entry, result.status)
        finally:
            self._password_tasks.discard(charger_id)

    def _password_set(self, entry: ConfigEntry, charger_id: str, password: str) -> None:
        LOGGER.info("Charger %s took a password; it is required from now on", entry.title)
        self.hass.config_entries.async_update_entry(
            entry, data={**entry.data, CONF_PASSWORD: password}
        )
        ir.async_delete_issue(self.hass, DOMAIN, f"{ISSUE_NO_PASSWORD}_{entry.entry_id}")
        if self.ocpp_credentials_changed is not None:
            self.ocpp_credentials_changed(charger_id)
        self.schedule_list_sync(charger_id)

    def _password_refused(self, entry: ConfigEntry, status: str) -> None:
        LOGGER.warning(
            "Charger %s refused a password (%s): anyone can pose as it; it gets no member tags "
            "until you confirm in Repairs",
            entry.title,
            status,
        )
        ir.async_create_issue(
            self.hass,
            DOMAIN,
            f"{ISSUE_NO_PASSWORD}_{entry.entry_id}",
            is_fixable=True,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_NO_PASSWORD,
            translation_placeholders={"charger": entry.title, "status": status},
            data={"entry_id": entry.entry_id},
        )

    @callback
    def allow_without_password(self, charger_id: str) -> None:
        """The user accepted a charger without a password: it gets its tags now."""
        if self.engine.is_connected(charger_id):
            self.schedule_list_sync(charger_id)

    @callback
    def accept_identity(self, charger_id: str) -> None:
        """The user confirmed the charger's new identity (pinned by the repair flow)."""
        self._identity_blocked.discard(charger_id)
        if self.ocpp_accept is not None:
            self.ocpp_accept(charger_id)

    def _attribute_by_tag(self, charger_id: str, connector_id: int | None, id_tag: str) -> None:
        connectors = [connector_id] if connector_id else self.engine.connectors(charger_id)
        for number in connectors:
            session = self.engine.connector(charger_id, number).session
            if session is None:
                continue
            member_id, _guest = self.access.attribution(charger_id, id_tag)
            if member_id is not None and session.member_id != member_id:
                self.engine.attribute(session.id, member_id, id_tag)
            return

    @callback
    def _on_session_event(self, event: SessionEvent) -> None:
        """An untagged session goes to the member chosen on the charger, or the default."""
        session = event.session
        if event.kind is not SessionEventKind.STARTED or session.member_id is not None:
            return
        link = self._chargers.get(session.charger_id)
        member_id = (link.selected_member_id if link else None) or self.access.policy(
            session.charger_id
        ).default_member_id
        if member_id is not None:
            self.engine.attribute(session.id, member_id, session.id_tag)

    async def authorize(self, request: AuthorizationRequest) -> AuthorizationResult:
        """Decide whether a tag may charge; report refusals and learned tags."""
        link = self._chargers.get(request.charger_id)
        if link is None and not self.is_known(request.charger_id):
            return AuthorizationResult(status=AuthorizationStatus.INVALID)
        # A configured charger whose entry is still starting (HA just started) is decided too.
        outcome = self.access.authorize(request)
        decision = outcome.decision
        if link is not None:
            link.last_decision = decision
            if decision.accepted and decision.member_id is not None:
                link.last_member_id = decision.member_id
            for cb in link.on_decision:
                cb(decision)
        name = self._charger_name(link) if link is not None else request.charger_id
        if outcome.learned is not None:
            member = self.access.directory.member(outcome.learned.member_id)
            added = add_tag_to_member(
                self.hass, self.entry, outcome.learned.member_id, outcome.learned.id_tag
            )
            report_learned_tag(self.hass, name, member, outcome.learned.id_tag, added)
        elif not decision.accepted:
            report_refused_tag(self.hass, request.charger_id, name, decision)
        else:
            LOGGER.debug("Tag %s accepted at %s", shorten_tag(request.id_tag), name)
        return decision.result

    async def persist(self, charger_id: str) -> None:
        """Return once the charger's session changes so far are written (or storage failed)."""
        await self.engine.async_persist()

    async def boot_decision(self, charger_id: str, info: ChargerInfo) -> BootDecision:
        """Accept added chargers (as the hardware they were added as); offer unknown ones to
        the user through discovery."""
        entry = self.charger_entry(charger_id)
        if entry is not None:
            changed = identity_mismatch(entry.data.get(CONF_IDENTITY) or {}, info)
            if changed:
                self._identity_refused(entry, charger_id, info, changed)
                return BootDecision.REJECTED
            self._info[charger_id] = info
            return BootDecision.ACCEPTED
        self._info[charger_id] = info
        if self.is_known(charger_id):
            return BootDecision.ACCEPTED
        if self.reject_unknown or self.is_ignored(charger_id):
            LOGGER.warning("Rejected unknown OCPP charger %s", charger_id)
            return BootDecision.REJECTED
        if charger_id not in self._discovery_started:
            self._discovery_started.add(charger_id)
            LOGGER.info("New OCPP charger %s connected; waiting for the user to add it", charger_id)
            discovery_flow.async_create_flow(
                self.hass,
                DOMAIN,
                context={"source": SOURCE_INTEGRATION_DISCOVERY},
                data={
                    CONF_CHARGER_ID: charger_id,
                    "vendor": info.vendor,
                    "model": info.model,
                    "serial": info.serial,
                },
            )
        return BootDecision.PENDING

    def _identity_refused(
        self, entry: ConfigEntry, charger_id: str, info: ChargerInfo, changed: list[str]
    ) -> None:
        pinned = entry.data.get(CONF_IDENTITY) or {}
        seen = identity_of(info)
        LOGGER.warning(
            "Refused the boot of charger %s: %s %r, not %r as when it was added",
            entry.title,
            "/".join(changed),
            [seen.get(name) for name in changed],
            [pinned.get(name) for name in changed],
        )
        self._identity_blocked.add(charger_id)

        def describe(identity: Mapping[str, Any]) -> str:
            return " / ".join(str(identity.get(name) or "?") for name in IDENTITY_FIELDS)

        ir.async_create_issue(
            self.hass,
            DOMAIN,
            f"{ISSUE_IDENTITY}_{entry.entry_id}",
            is_fixable=True,
            is_persistent=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=ISSUE_IDENTITY,
            translation_placeholders={
                "charger": entry.title,
                "pinned": describe(pinned),
                "seen": describe(seen),
            },
            data={"entry_id": entry.entry_id, **{name: seen.get(name) for name in IDENTITY_FIELDS}},
        )

    def _charger_name(self, link: ChargerLink) -> str:
        entry = self.hass.config_entries.async_get_entry(link.entry_id)
        return entry.title if entry else link.charger_id

    # ------------------------------------------------------------------ local lists

    @callback
    def schedule_list_sync(self, charger_id: str) -> None:
        """Sync the charger's list soon; one sync at a time per charger, repeats coalesced."""
        if charger_id in self._list_sync_running:
            self._list_sync_again.add(charger_id)
            return
        self._list_sync_running.add(charger_id)
        self.entry.async_create_background_task(
            self.hass, self._list_sync_loop(charger_id), f"{DOMAIN} local list {charger_id}"
        )

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
        link = self._chargers.get(charger_id)
        if link is None:
            return False
        if not self.may_receive_tags(charger_id):
            LOGGER.debug("No local list for %s: it has no password", charger_id)
            return False
        protocol = link.info.protocol if link.info else "ocpp1.6"
        try:
            version = await self.async_execute(charger_id, GetAuthorizationListVersion())
            charger_version = version.data.get("version") if version.accepted else None
            plan = self.local_lists.plan_update(
                charger_id,
                self.access.directory,
                utcnow(),
                charger_version=charger_version if isinstance(charger_version, int) else None,
                max_tag_length=OCPP16_MAX_TAG if protocol == "ocpp1.6" else None,
            )
            if plan is None:
                return True
            result = await self.async_execute(charger_id, plan.command)
            if not result.accepted:
                LOGGER.warning(
                    "Charger %s refused its local authorization list (%s)",
                    self._charger_name(link),
                    result.status,
                )
                self.local_lists.failed(charger_id)
                return False
            record = self.local_lists.confirm(plan)
            await self.store.async_save_local_list(record)
            if plan.clear_cache:
                await self.async_execute(charger_id, ClearAuthorizationCache())
        except ChargerError as err:
            LOGGER.debug("Local list sync with %s failed: %s", charger_id, err)
            self.local_lists.failed(charger_id)
            return False
        return True

    # ------------------------------------------------------------------ policy

    @callback
    def set_policy(self, charger_id: str, policy: AuthorizationPolicy) -> None:
        """Set who may charge; a stricter policy empties the charger's authorization cache."""
        stricter = self.access.set_policy(charger_id, policy)
        link = self._chargers.get(charger_id)
        if not stricter or link is None or link.protocol != PROTOCOL_OCPP:
            return
        if self.engine.is_connected(charger_id):
            self.entry.async_create_background_task(
                self.hass, self._async_clear_cache(charger_id), f"{DOMAIN} clear {charger_id}"
            )

    async def _async_clear_cache(self, charger_id: str) -> None:
        """Tags cached under the looser policy must be asked about again; then the list."""
        try:
            result = await self.async_execute(charger_id, ClearAuthorizationCache())
        except ChargerError as err:
            LOGGER.warning("Could not clear the authorization cache of %s: %s", charger_id, err)
        else:
            if not result.accepted:
                LOGGER.warning(
                    "Charger %s refused to clear its authorization cache (%s)",
                    charger_id,
                    result.status,
                )
        self.schedule_list_sync(charger_id)

    # ------------------------------------------------------------------ commands

    async def async_remote_start(
        self,
        charger_id: str,
        connector_id: int,
        *,
        user_id: str | None,
        member_id: str | None = None,
        id_tag: str | None = None,
    ) -> CommandResult:
        """Start charging from HA for a member (named, or the calling user's).

        The charger is given ``id_tag``, else the member's first active tag that it can carry,
        so the session is theirs; without one, an ``HA-`` tag. The hub accepts that tag at
        this charger for a while (the vehicle may be plugged in later).
        """
        directory = self.access.directory
        member = (
            directory.member(member_id)
            if member_id
            else member_for_user(self.hass, directory, user_id)
        )
        tag = next(
            (
                t.id_tag
                for t in (member.tags if member else ())
                if t.status_at(utcnow()) is AuthorizationStatus.ACCEPTED
                and len(t.id_tag) <= OCPP16_MAX_TAG
            ),
            None,
        )
        if id_tag:
            tag = id_tag
        elif tag is None:
            tag = remote_id_tag(user_id)
        self.access.expect_remote_start(charger_id, tag, member.id if member else None)
        return await self.async_execute(
            charger_id, StartCharging(connector_id=connector_id, id_tag=tag)
        )

    async def async_execute(self, charger_id: str, command: ChargerCommand) -> CommandResult:
        """Send a command to the charger, whichever protocol it speaks."""
        link = self._chargers.get(charger_id)
        if link is None:
            raise ChargerNotConnectedError(charger_id)
        if isinstance(command, StopCharging) and command.transaction_id is None:
            # The adapter may not know the transaction (e.g. after a restart); the engine does.
            session = self.engine.connector(charger_id, command.connector_id).session
            if session is not None and session.transaction_id is not None:
                command = replace(command, transaction_id=session.transaction_id)
        if link.execute is not None:
            return await link.execute(command)
        if link.protocol == PROTOCOL_OCPP and self.ocpp_execute is not None:
            return await self.ocpp_execute(charger_id, command)
        raise ChargerNotConnectedError(charger_id)
