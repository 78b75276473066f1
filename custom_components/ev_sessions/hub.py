"""The hub: Home Assistant's side of the charging site.

The domain lives in :class:`~.core.ChargingSite` (events, tag decisions, attribution, local
lists, admission). This module builds it and implements its ports with Home Assistant:

* :class:`ChargerEntries` - charger settings in the charger config entries: password and
  pinned identity in the entry data; who may charge and the charger's member in the entry
  options, by member id (the entry options are the source of truth; changing them does not
  reload the charger);
* :class:`HubMembers` - members are subentries of the hub entry;
* :class:`HaDiscovery` - unknown OCPP chargers become discovery flows;
* :class:`HaNotices` - refused and learned tags (events, notifications, a repair), a charger
  without a password and a charger booting as other hardware (repairs).

It holds no domain rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from homeassistant.config_entries import (
    SOURCE_IGNORE,
    SOURCE_INTEGRATION_DISCOVERY,
    ConfigEntry,
)
from homeassistant.const import CONF_PASSWORD
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import discovery_flow, issue_registry as ir

from .chargers.events import ChargerInfo, CommandResult
from .const import CONF_CHARGER_ID, CONF_ENTRY_TYPE, DOMAIN, ENTRY_TYPE_CHARGER
from .core import (
    IDENTITY_FIELDS,
    AuthorizationMode,
    ChargerAccess,
    ChargerSettings,
    ChargingSite,
    Decision,
    Member,
    MemberDirectory,
    SessionEngine,
    SessionStore,
    SiteSettings,
)
from .members import (
    add_tag_to_member,
    build_directory,
    member_for_user,
    report_learned_tag,
    report_refused_tag,
)

#: Charger entry option: the user accepts that the charger has no password (it gets tags).
CONF_ALLOW_WITHOUT_PASSWORD = "allow_without_password"  # noqa: S105  (a key)
#: Charger entry options: who may charge (an AuthorizationMode), the charger's member (id).
CONF_AUTHORIZATION_MODE = "authorization_mode"
CONF_CHARGER_MEMBER = "member_id"
#: Options the charger takes in while it runs (no reload when they change).
LIVE_OPTIONS = frozenset({CONF_AUTHORIZATION_MODE, CONF_CHARGER_MEMBER})
#: Charger entry data: vendor, model and serial seen when it was admitted.
CONF_IDENTITY = "identity"
ISSUE_NO_PASSWORD = "charger_without_password"  # noqa: S105  (an issue id)
ISSUE_IDENTITY = "charger_identity_changed"


def access_from_options(options: Mapping[str, Any]) -> ChargerAccess:
    """Who may charge and the charger's member, from a charger entry's options."""
    try:
        mode = AuthorizationMode(str(options.get(CONF_AUTHORIZATION_MODE, "")))
    except ValueError:
        mode = AuthorizationMode.MEMBERS_ONLY
    member_id = options.get(CONF_CHARGER_MEMBER)
    return ChargerAccess(mode=mode, member_id=member_id if isinstance(member_id, str) else None)


def access_options(access: ChargerAccess) -> dict[str, Any]:
    """The entry options that store ``access``."""
    return {CONF_AUTHORIZATION_MODE: access.mode.value, CONF_CHARGER_MEMBER: access.member_id}


class ChargerEntries:
    """The site's charger settings: the charger config entries, found by charger id."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Read and write this HA's entries."""
        self._hass = hass

    def entry(self, charger_id: str) -> ConfigEntry | None:
        """The config entry of a charger id (its unique id, as every flow sets it)."""
        found = self._hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, charger_id)
        if found is not None and _is_charger_entry(found, charger_id):
            return found
        return next(  # an entry whose unique id is not its charger id (none known)
            (
                e
                for e in self._hass.config_entries.async_entries(DOMAIN, include_ignore=False)
                if _is_charger_entry(e, charger_id)
            ),
            None,
        )

    def name(self, charger_id: str) -> str:
        """How the user named the charger (its id without an entry)."""
        entry = self.entry(charger_id)
        return entry.title if entry is not None else charger_id

    def charger(self, charger_id: str) -> ChargerSettings | None:
        """The settings of an added charger."""
        entry = self.entry(charger_id)
        if entry is None:
            return None
        identity = entry.data.get(CONF_IDENTITY)
        return ChargerSettings(
            charger_id=charger_id,
            name=entry.title,
            password=entry.data.get(CONF_PASSWORD) or None,
            allow_without_password=bool(entry.options.get(CONF_ALLOW_WITHOUT_PASSWORD)),
            identity=dict(identity or {}) if CONF_IDENTITY in entry.data else None,
            access=access_from_options(entry.options),
        )

    def save_access(self, charger_id: str, access: ChargerAccess) -> None:
        """Store who may charge and the member in the entry options (by id)."""
        if (entry := self.entry(charger_id)) is not None:
            self._hass.config_entries.async_update_entry(
                entry, options={**entry.options, **access_options(access)}
            )

    def save_password(self, charger_id: str, password: str) -> None:
        """Store the password the charger took."""
        if (entry := self.entry(charger_id)) is not None:
            self._hass.config_entries.async_update_entry(
                entry, data={**entry.data, CONF_PASSWORD: password}
            )

    def pin_identity(self, charger_id: str, identity: Mapping[str, str]) -> None:
        """Store the identity the charger was admitted as."""
        if (entry := self.entry(charger_id)) is not None:
            self._hass.config_entries.async_update_entry(
                entry, data={**entry.data, CONF_IDENTITY: dict(identity)}
            )


def _is_charger_entry(entry: ConfigEntry, charger_id: str) -> bool:
    return (
        entry.source != SOURCE_IGNORE
        and entry.data.get(CONF_ENTRY_TYPE) == ENTRY_TYPE_CHARGER
        and entry.data.get(CONF_CHARGER_ID) == charger_id
    )


class HubMembers:
    """The site's member store: the hub entry's member subentries."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry) -> None:
        """Members of this hub entry."""
        self._hass = hass
        self._entry = entry

    def directory(self) -> MemberDirectory:
        """The members as stored now."""
        return build_directory(self._entry)

    def add_tag(self, member_id: str, id_tag: str) -> bool:
        """Append the tag to the member's subentry (the update reaches the site)."""
        return add_tag_to_member(self._hass, self._entry, member_id, id_tag)


class HaDiscovery:
    """Unknown OCPP chargers are offered as discovery flows."""

    def __init__(self, hass: HomeAssistant) -> None:
        """Flows of this HA."""
        self._hass = hass

    def is_ignored(self, charger_id: str) -> bool:
        """The user chose to ignore this charger's discovery."""
        entry = self._hass.config_entries.async_entry_for_domain_unique_id(DOMAIN, charger_id)
        return entry is not None and entry.source == SOURCE_IGNORE

    def offer(self, charger_id: str, info: ChargerInfo) -> None:
        """Start the discovery flow (the user adds or ignores the charger)."""
        discovery_flow.async_create_flow(
            self._hass,
            DOMAIN,
            context={"source": SOURCE_INTEGRATION_DISCOVERY},
            data={
                CONF_CHARGER_ID: charger_id,
                "vendor": info.vendor,
                "model": info.model,
                "serial": info.serial,
            },
        )

    def withdraw(self, charger_id: str) -> None:
        """Abort the charger's discovery flows."""
        flows = self._hass.config_entries.flow.async_progress_by_handler(
            DOMAIN,
            match_context={"source": SOURCE_INTEGRATION_DISCOVERY, "unique_id": charger_id},
        )
        for flow in flows:
            self._hass.config_entries.flow.async_abort(flow["flow_id"])


class HaNotices:
    """What the user hears of: HA events, persistent notifications and repairs."""

    def __init__(self, hass: HomeAssistant, chargers: ChargerEntries) -> None:
        """Repairs are per charger entry."""
        self._hass = hass
        self._chargers = chargers

    def tag_refused(self, charger_id: str, decision: Decision) -> None:
        """Event, notification and (unknown tags) a repair to add it to a member."""
        report_refused_tag(self._hass, charger_id, self._chargers.name(charger_id), decision)

    def tag_learned(self, charger_id: str, member: Member | None, id_tag: str, added: bool) -> None:
        """Confirm a learned tag to the user."""
        report_learned_tag(self._hass, self._chargers.name(charger_id), member, id_tag, added)

    def password_refused(self, charger_id: str, status: str) -> None:
        """A repair: accept the charger without a password (it gets no tags until then)."""
        if (entry := self._chargers.entry(charger_id)) is None:
            return
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            f"{ISSUE_NO_PASSWORD}_{entry.entry_id}",
            is_fixable=True,
            is_persistent=False,
            severity=ir.IssueSeverity.WARNING,
            translation_key=ISSUE_NO_PASSWORD,
            translation_placeholders={"charger": entry.title, "status": status},
            data={"entry_id": entry.entry_id},
        )

    def password_taken(self, charger_id: str) -> None:
        """The repair about a missing password goes."""
        if (entry := self._chargers.entry(charger_id)) is not None:
            ir.async_delete_issue(self._hass, DOMAIN, f"{ISSUE_NO_PASSWORD}_{entry.entry_id}")

    def identity_changed(
        self, charger_id: str, pinned: Mapping[str, object], seen: Mapping[str, str]
    ) -> None:
        """A repair: the user confirms new hardware (its identity is pinned then)."""
        if (entry := self._chargers.entry(charger_id)) is None:
            return

        def describe(identity: Mapping[str, object]) -> str:
            return " / ".join(str(identity.get(name) or "?") for name in IDENTITY_FIELDS)

        ir.async_create_issue(
            self._hass,
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


class Hub:
    """The site with its ports implemented by Home Assistant, for the hub config entry."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: ConfigEntry,
        engine: SessionEngine,
        store: SessionStore,
        settings: SiteSettings,
    ) -> None:
        """Build the site for the hub entry."""
        self.hass = hass
        self.entry = entry
        self.charger_entries = ChargerEntries(hass)
        self.site = ChargingSite(
            engine,
            store,
            chargers=self.charger_entries,
            members=HubMembers(hass, entry),
            discovery=HaDiscovery(hass),
            notices=HaNotices(hass, self.charger_entries),
            settings=settings,
        )

    @property
    def engine(self) -> SessionEngine:
        """The session engine (live views, stored sessions)."""
        return self.site.engine

    def charger_name(self, charger_id: str) -> str:
        """How the user named a charger."""
        return self.charger_entries.name(charger_id)

    @callback
    def charger_removed(self, entry: ConfigEntry) -> None:
        """A charger entry was removed: its repairs go, and the site forgets it."""
        for issue in (ISSUE_NO_PASSWORD, ISSUE_IDENTITY):
            ir.async_delete_issue(self.hass, DOMAIN, f"{issue}_{entry.entry_id}")
        self.site.forget_charger(entry.data[CONF_CHARGER_ID])

    async def async_remote_start(
        self,
        charger_id: str,
        connector_id: int,
        *,
        user_id: str | None,
        member_id: str | None = None,
        id_tag: str | None = None,
    ) -> CommandResult:
        """Start charging for a member: the one named, else the calling HA user's person."""
        if member_id is None:
            member = member_for_user(self.hass, self.site.directory, user_id)
            member_id = member.id if member is not None else None
        return await self.site.async_remote_start(
            charger_id, connector_id, member_id=member_id, requested_by=user_id, id_tag=id_tag
        )
