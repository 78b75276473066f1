"""The ports of the charging site: what :class:`~.site.ChargingSite` needs from its surroundings.

The site talks to Home Assistant only through these small protocols. The HA glue (``hub.py``)
implements them with config entries, discovery flows, repairs and notifications; the core
tests implement them with plain fakes. Everything is keyed by charger id and member id, never
by a name a user can change.

* :class:`ChargerSettingsStore` - the chargers the user added and their settings;
* :class:`MemberStore` - the member directory, and adding a learned tag to a member;
* :class:`ChargerDiscovery` - offering an unknown charger to the user (and withdrawing it);
* :class:`SiteNotices` - what the user must hear of: refused and learned tags, a charger
  without a password, a charger booting as other hardware;
* :data:`SendCommand` and :class:`AdmissionGate` - how commands reach a charger, and the
  adapter that admits chargers (the OCPP server);
* :data:`Clock` - the time.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from custom_components.ev_sessions.chargers.events import (
    ChargerCommand,
    ChargerInfo,
    CommandResult,
)

from .charger_policy import AuthorizationMode, AuthorizationPolicy, Decision
from .members import Member, MemberDirectory

type Clock = Callable[[], datetime]
#: Sends one command to one charger (an adapter's ``execute`` bound to the charger).
type SendCommand = Callable[[ChargerCommand], Awaitable[CommandResult]]

#: What identifies a charger's hardware (pinned when it is admitted).
IDENTITY_FIELDS = ("vendor", "model", "serial")


def identity_of(info: ChargerInfo) -> dict[str, str]:
    """What identifies the hardware: vendor, model and serial, as far as it told them."""
    found = {name: getattr(info, name) for name in IDENTITY_FIELDS}
    return {name: value for name, value in found.items() if value}


def identity_mismatch(pinned: Mapping[str, object], info: ChargerInfo) -> list[str]:
    """The pinned identity fields the boot contradicts (a missing value contradicts too)."""
    return [
        name
        for name in IDENTITY_FIELDS
        if pinned.get(name) is not None and getattr(info, name) != pinned[name]
    ]


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargerAccess:
    """Who may charge at a charger, and the member its untagged sessions go to.

    ``member_id`` is the charger's member ("who is charging"): untagged sessions, free
    charging and learn mode go to them. Stored by id: renaming a member keeps it.
    """

    mode: AuthorizationMode = AuthorizationMode.MEMBERS_ONLY
    member_id: str | None = None

    @property
    def policy(self) -> AuthorizationPolicy:
        """The authorization policy these settings make."""
        return AuthorizationPolicy(mode=self.mode, default_member_id=self.member_id)


@dataclass(frozen=True, slots=True, kw_only=True)
class ChargerSettings:
    """A charger the user added, as far as the site needs to know it."""

    charger_id: str
    #: How the user named it (for logs; notices look the name up themselves).
    name: str
    #: Security profile 1/2 password (OCPP), None without one.
    password: str | None = None
    #: The user accepted that the charger has no password: it gets member tags anyway.
    allow_without_password: bool = False
    #: Vendor, model and serial seen when it was admitted (None: not pinned yet).
    identity: Mapping[str, str] | None = None
    access: ChargerAccess = field(default_factory=ChargerAccess)


class ChargerSettingsStore(Protocol):
    """The chargers the user added and their settings, by charger id."""

    def charger(self, charger_id: str) -> ChargerSettings | None:
        """The settings of an added charger; None for a charger nobody added."""

    def save_access(self, charger_id: str, access: ChargerAccess) -> None:
        """Store who may charge and the charger's member."""

    def save_password(self, charger_id: str, password: str) -> None:
        """Store the password the charger took (required from then on)."""

    def pin_identity(self, charger_id: str, identity: Mapping[str, str]) -> None:
        """Store the hardware identity the charger was admitted as."""


class MemberStore(Protocol):
    """Where the members live."""

    def directory(self) -> MemberDirectory:
        """The members as they are stored now."""

    def add_tag(self, member_id: str, id_tag: str) -> bool:
        """Give a member an active tag; False when it was not added (held already, no such
        member). The store tells the site through ``members_changed`` once it took it in."""


class ChargerDiscovery(Protocol):
    """Unknown chargers are offered to the user, who adds or ignores them."""

    def is_ignored(self, charger_id: str) -> bool:
        """The user chose to ignore this charger."""

    def offer(self, charger_id: str, info: ChargerInfo) -> None:
        """Offer an unknown charger that asked to be let in; called again with the new
        identity when it boots as other hardware while its offer waits (update the offer)."""

    def withdraw(self, charger_id: str) -> None:
        """The unknown charger went away: take its offer back."""


class SiteNotices(Protocol):
    """What the user must hear of (notifications, repairs, events)."""

    def tag_refused(self, charger_id: str, decision: Decision) -> None:
        """A tag was refused at a charger."""

    def tag_learned(self, charger_id: str, member: Member | None, id_tag: str, added: bool) -> None:
        """Learn mode caught a tag for a member (``added``: it was given to them)."""

    def password_refused(self, charger_id: str, status: str) -> None:
        """The charger refused the password it was given: anyone can pose as it."""

    def password_taken(self, charger_id: str) -> None:
        """The charger took a password (a refusal reported before is void)."""

    def identity_changed(
        self, charger_id: str, pinned: Mapping[str, object], seen: Mapping[str, str]
    ) -> None:
        """A charger booted as other hardware than it was admitted as, and was refused."""


class AdmissionGate(Protocol):
    """The adapter that lets chargers in (the OCPP server)."""

    def accept(self, charger_id: str) -> None:
        """Let a charger that waits (Pending, or Rejected for its identity) in."""

    def credentials_changed(self, charger_id: str) -> None:
        """The charger's password was set or changed: enforce it now."""
