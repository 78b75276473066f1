"""Household members and their id tags (RFID cards, any OCPP idToken).

Plain typed Python (no Home Assistant import). The HA glue keeps members in config subentries as
plain dicts (see :meth:`Member.from_dict` for the format) and rebuilds an immutable
:class:`MemberDirectory` whenever they change; everything here works on such a snapshot.

Tag matching
    OCPP 1.6 ``IdToken`` is a ``CiString20Type`` (case-insensitive), and chargers report the same
    card UID in different cases (``04a1b2c3`` vs ``04A1B2C3``). Tags are therefore compared by
    :func:`normalize_tag`: surrounding whitespace removed and case folded, **nothing else**.
    Separators (``04:A1:B2:C3``), leading zeros and byte order are kept significant on purpose:
    an idToken may be any string (eMAID, company card numbers) and stripping characters could make
    two different tokens collide. A charger that formats UIDs differently needs the tag learned
    (or entered) in the form that charger sends; learn mode captures it exactly so.

Tag length
    Tags of at most :data:`MAX_ID_TOKEN_LENGTH` (36, OCPP 2.0.1 ``IdToken``) characters are
    accepted; OCPP 1.6 allows only :data:`MAX_ID_TAG_LENGTH` (20), so the local list for a 1.6
    charger should be built with ``max_tag_length=MAX_ID_TAG_LENGTH`` (longer tags are left out
    of the list; online authorization still works for them on 2.0.1 chargers).

Privacy
    Tags identify people's cards: log them at info level only through :func:`shorten_tag`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, tzinfo
from enum import StrEnum
import logging
from typing import Any

from custom_components.ev_sessions.chargers.events import (
    AuthorizationListEntry,
    AuthorizationStatus,
)

from .model import as_utc

_LOGGER = logging.getLogger(__name__)

#: OCPP 1.6 idTag / parentIdTag maximum length (CiString20Type).
MAX_ID_TAG_LENGTH = 20
#: OCPP 2.0.1 IdToken maximum length (identifierString 36): the longest tag a member may hold.
MAX_ID_TOKEN_LENGTH = 36
#: Characters of a tag shown by :func:`shorten_tag` (at most half the tag).
_SHOWN = 4


class MemberConfigError(ValueError):
    """A member definition is invalid (bad field, duplicate tag, duplicate id)."""


def normalize_tag(tag: str) -> str:
    """The comparison key of a tag: surrounding whitespace stripped, case folded.

    >>> normalize_tag(" 04a1B2c3 ")
    '04a1b2c3'
    """
    return tag.strip().casefold()


def shorten_tag(tag: str | None) -> str:
    """A tag made safe for info-level logs: its first characters, an ellipsis and its length.

    At most 4 characters and never more than half of the tag are shown:
    ``shorten_tag("04A1B2C3") == "04A1…(8)"``, ``shorten_tag("ABC") == "A…(3)"``.
    """
    if tag is None:
        return "<none>"
    tag = tag.strip()
    shown = min(_SHOWN, len(tag) // 2)
    return f"{tag[:shown]}…({len(tag)})"


class TagStatus(StrEnum):
    """Configured status of a tag (expiry by date comes on top, see :meth:`IdTag.status_at`)."""

    ACTIVE = "active"
    BLOCKED = "blocked"
    EXPIRED = "expired"  # expired by hand, whatever the expiry date says


@dataclass(frozen=True, slots=True, kw_only=True)
class IdTag:
    """One id tag of a member, as configured (``id_tag`` stripped, case kept)."""

    id_tag: str
    status: TagStatus = TagStatus.ACTIVE
    expires_at: datetime | None = None  # aware UTC; the tag is expired from this instant
    label: str | None = None

    @property
    def key(self) -> str:
        """Comparison key (:func:`normalize_tag`)."""
        return normalize_tag(self.id_tag)

    def status_at(self, now: datetime) -> AuthorizationStatus:
        """Effective OCPP status at ``now``: blocked wins over expired, expired over accepted."""
        if self.status is TagStatus.BLOCKED:
            return AuthorizationStatus.BLOCKED
        if self.status is TagStatus.EXPIRED or (
            self.expires_at is not None and self.expires_at <= now
        ):
            return AuthorizationStatus.EXPIRED
        return AuthorizationStatus.ACCEPTED

    def to_dict(self) -> dict[str, Any]:
        """The stored form (inverse of :func:`_tag_from`)."""
        return {
            "id_tag": self.id_tag,
            "status": str(self.status),
            "expires_at": None if self.expires_at is None else self.expires_at.isoformat(),
            "label": self.label,
        }


@dataclass(frozen=True, slots=True, kw_only=True)
class Member:
    """A household member (or any user) who may charge.

    ``group_id_tag`` is the OCPP parent id tag reported for every tag of the member (a family or
    company card grouping several cards: a charger lets any tag of the group stop a transaction
    started by another). ``tariff_group`` ``None`` means the default tariff. ``paying``
    marks a member who pays for charging (a tenant, an employee): their bills count as the
    site's revenue, as guests' do (:mod:`.billing`).
    """

    id: str
    name: str
    person_entity_id: str | None = None
    tags: tuple[IdTag, ...] = ()
    group_id_tag: str | None = None
    tariff_group: str | None = None
    notify_targets: tuple[str, ...] = ()
    paying: bool = False

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, tz: tzinfo = UTC) -> Member:
        """Build a member from its stored dict; raise :class:`MemberConfigError` if invalid.

        Format (every key but ``id`` optional)::

            {"id": "m1", "name": "Anna", "person_entity_id": "person.anna",
             "group_id_tag": "FAMILY", "tariff_group": "work", "notify_targets": ["notify.x"],
             "tags": [{"id_tag": "04A1B2C3", "status": "active", "label": "Keyring",
                       "expires_at": "2026-12-31"}]}

        ``expires_at`` is an ISO datetime (naive = ``tz``) or an ISO date, meaning the tag
        expires at the start of that day in ``tz`` (pass Home Assistant's time zone).
        A tag may also be a plain string (an active tag).
        """
        member_id = _text(data.get("id"), "id")
        if not member_id:
            raise MemberConfigError("member id is empty")
        name = _optional_text(data.get("name"), "name") or member_id
        group = _optional_text(data.get("group_id_tag"), "group_id_tag")
        if group is not None:
            _check_tag(group, f"member {member_id}: group_id_tag")
        raw_tags = data.get("tags") or ()
        if isinstance(raw_tags, (str, bytes)) or not isinstance(raw_tags, Iterable):
            raise MemberConfigError(f"member {member_id}: tags must be a list")
        tags = tuple(_tag_from(item, member_id, tz) for item in raw_tags)
        seen: set[str] = set()
        for tag in tags:
            if tag.key in seen:
                raise MemberConfigError(
                    f"member {member_id}: tag {shorten_tag(tag.id_tag)} listed twice"
                )
            seen.add(tag.key)
        targets = data.get("notify_targets") or ()
        if isinstance(targets, str) or not isinstance(targets, Iterable):
            raise MemberConfigError(f"member {member_id}: notify_targets must be a list")
        return cls(
            id=member_id,
            name=name,
            person_entity_id=_optional_text(data.get("person_entity_id"), "person_entity_id"),
            tags=tags,
            group_id_tag=group,
            tariff_group=_optional_text(data.get("tariff_group"), "tariff_group"),
            notify_targets=tuple(_text(t, "notify_targets") for t in targets),
            paying=bool(data.get("paying", False)),
        )

    def to_dict(self) -> dict[str, Any]:
        """The stored form (``Member.from_dict(m.to_dict()) == m``)."""
        return {
            "id": self.id,
            "name": self.name,
            "person_entity_id": self.person_entity_id,
            "group_id_tag": self.group_id_tag,
            "tariff_group": self.tariff_group,
            "notify_targets": list(self.notify_targets),
            "paying": self.paying,
            "tags": [tag.to_dict() for tag in self.tags],
        }


@dataclass(frozen=True, slots=True)
class TagMatch:
    """Result of :meth:`MemberDirectory.lookup`: the member and the tag as configured."""

    member: Member
    tag: IdTag


@dataclass(frozen=True, slots=True, kw_only=True)
class ListDiff:
    """Differential local-list update between two entry sets.

    ``entries`` holds added or changed tags with their status and removed tags with status
    ``None``. ``clear_cache`` says a tag lost (part of) its acceptance - blocked, expired,
    removed, or its expiry moved earlier - so the charger's authorization cache may still accept
    it: send :class:`~custom_components.ev_sessions.chargers.events.ClearAuthorizationCache` too.
    """

    entries: tuple[AuthorizationListEntry, ...]
    clear_cache: bool

    @property
    def empty(self) -> bool:
        """Nothing changed."""
        return not self.entries


@dataclass(frozen=True, slots=True, init=False)
class MemberDirectory:
    """Immutable snapshot of all members, indexed by id and by tag.

    A tag belongs to at most one member. :meth:`from_dicts` skips invalid members and duplicate
    tags (the first holder keeps the tag) and lists them in :attr:`problems`, so a bad entry can
    never stop authorization for everybody; use ``strict=True`` in config flows to refuse them.
    """

    members: tuple[Member, ...]
    problems: tuple[str, ...]
    _by_id: dict[str, Member] = field(repr=False, compare=False)
    _by_tag: dict[str, TagMatch] = field(repr=False, compare=False)

    def __init__(self, members: Iterable[Member] = (), *, strict: bool = True) -> None:
        """Index ``members``; duplicates raise (``strict``) or are skipped into ``problems``."""
        kept: list[Member] = []
        problems: list[str] = []
        by_id: dict[str, Member] = {}
        by_tag: dict[str, TagMatch] = {}
        for member in members:
            if member.id in by_id:
                problems.append(f"duplicate member id {member.id}")
                if strict:
                    raise MemberConfigError(problems[-1])
                continue
            tags: list[IdTag] = []
            for tag in member.tags:
                holder = by_tag.get(tag.key)
                if holder is not None:
                    problems.append(
                        f"tag {shorten_tag(tag.id_tag)} of member {member.id} already belongs"
                        f" to member {holder.member.id}"
                    )
                    if strict:
                        raise MemberConfigError(problems[-1])
                    continue
                tags.append(tag)
            entry = member if len(tags) == len(member.tags) else replace(member, tags=tuple(tags))
            by_id[entry.id] = entry
            for tag in entry.tags:
                by_tag[tag.key] = TagMatch(entry, tag)
            kept.append(entry)
        object.__setattr__(self, "members", tuple(kept))
        object.__setattr__(self, "problems", tuple(problems))
        object.__setattr__(self, "_by_id", by_id)
        object.__setattr__(self, "_by_tag", by_tag)

    @classmethod
    def from_dicts(
        cls, items: Iterable[Mapping[str, Any]], *, tz: tzinfo = UTC, strict: bool = False
    ) -> MemberDirectory:
        """Build from stored member dicts (:meth:`Member.from_dict`)."""
        members: list[Member] = []
        problems: list[str] = []
        for item in items:
            try:
                members.append(Member.from_dict(item, tz=tz))
            except MemberConfigError as err:
                if strict:
                    raise
                problems.append(str(err))
        directory = cls(members, strict=strict)
        if problems:
            object.__setattr__(directory, "problems", (*problems, *directory.problems))
        for problem in directory.problems:
            _LOGGER.warning("Member configuration problem: %s", problem)
        return directory

    def __len__(self) -> int:
        """Number of members."""
        return len(self.members)

    def __iter__(self) -> Iterator[Member]:
        """Members in configuration order."""
        return iter(self.members)

    def member(self, member_id: str | None) -> Member | None:
        """A member by id."""
        return None if member_id is None else self._by_id.get(member_id)

    def lookup(self, id_tag: str) -> TagMatch | None:
        """The member holding ``id_tag`` (compared by :func:`normalize_tag`), if any."""
        return self._by_tag.get(normalize_tag(id_tag))

    def next_expiry(self, now: datetime) -> datetime | None:
        """The next instant after ``now`` at which a tag expires (re-plan local lists then)."""
        future = [
            match.tag.expires_at
            for match in self._by_tag.values()
            if match.tag.expires_at is not None and match.tag.expires_at > now
        ]
        return min(future, default=None)

    def to_dicts(self) -> list[dict[str, Any]]:
        """Every member in stored form."""
        return [member.to_dict() for member in self.members]

    def to_local_list(
        self, now: datetime, *, max_tag_length: int | None = None
    ) -> list[AuthorizationListEntry]:
        """The full local authorization list at ``now``, sorted by tag.

        Active tags are ``accepted`` with their expiry, blocked tags ``blocked``, expired tags
        ``expired``; every tag carries its member's ``group_id_tag`` as parent. Tags longer than
        ``max_tag_length`` are left out (and a longer parent is not sent).
        """
        entries: list[AuthorizationListEntry] = []
        for match in self._by_tag.values():
            tag, member = match.tag, match.member
            if max_tag_length is not None and len(tag.id_tag) > max_tag_length:
                continue
            parent = member.group_id_tag
            if parent is not None and max_tag_length is not None and len(parent) > max_tag_length:
                parent = None
            entries.append(
                AuthorizationListEntry(
                    id_tag=tag.id_tag,
                    status=tag.status_at(now),
                    expiry=tag.expires_at,
                    parent_id_tag=parent,
                )
            )
        entries.sort(key=lambda e: normalize_tag(e.id_tag))
        return entries

    def diff(
        self, newer: MemberDirectory, now: datetime, *, max_tag_length: int | None = None
    ) -> ListDiff:
        """Differential update from this directory's list to ``newer``'s, both at ``now``."""
        return diff_entries(
            self.to_local_list(now, max_tag_length=max_tag_length),
            newer.to_local_list(now, max_tag_length=max_tag_length),
        )


def diff_entries(
    old: Sequence[AuthorizationListEntry], new: Sequence[AuthorizationListEntry]
) -> ListDiff:
    """Differential update turning local list ``old`` into ``new`` (see :class:`ListDiff`).

    Tags are matched by :func:`normalize_tag`; a tag whose spelling changed is sent again in its
    new spelling.
    """
    before = {normalize_tag(e.id_tag): e for e in old}
    after = {normalize_tag(e.id_tag): e for e in new}
    changes: list[AuthorizationListEntry] = []
    clear_cache = False
    for key, entry in after.items():
        previous = before.get(key)
        if previous == entry:
            continue
        changes.append(entry)
        if previous is not None and _lost_acceptance(previous, entry):
            clear_cache = True
    for key, entry in before.items():
        if key not in after:
            changes.append(AuthorizationListEntry(id_tag=entry.id_tag, status=None))
            clear_cache |= entry.status is AuthorizationStatus.ACCEPTED
    changes.sort(key=lambda e: normalize_tag(e.id_tag))
    return ListDiff(entries=tuple(changes), clear_cache=clear_cache)


def _lost_acceptance(old: AuthorizationListEntry, new: AuthorizationListEntry) -> bool:
    if old.status is not AuthorizationStatus.ACCEPTED:
        return False
    if new.status is not AuthorizationStatus.ACCEPTED:
        return True
    if new.expiry is None:
        return False
    return old.expiry is None or new.expiry < old.expiry


# --------------------------------------------------------------------------- parsing


def _text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise MemberConfigError(f"{name} must be text, got {type(value).__name__}")
    return value.strip()


def _optional_text(value: object, name: str) -> str | None:
    if value is None:
        return None
    return _text(value, name) or None


def _check_tag(tag: str, what: str) -> None:
    if not tag:
        raise MemberConfigError(f"{what} is empty")
    if len(tag) > MAX_ID_TOKEN_LENGTH:
        raise MemberConfigError(
            f"{what} {shorten_tag(tag)} is longer than {MAX_ID_TOKEN_LENGTH} characters"
        )


def _tag_from(item: object, member_id: str, tz: tzinfo) -> IdTag:
    if isinstance(item, str):
        item = {"id_tag": item}
    if not isinstance(item, Mapping):
        raise MemberConfigError(f"member {member_id}: a tag must be a dict or text")
    id_tag = _text(item.get("id_tag"), "id_tag")
    _check_tag(id_tag, f"member {member_id}: tag")
    raw_status = item.get("status") or TagStatus.ACTIVE
    try:
        status = TagStatus(raw_status)
    except ValueError as err:
        raise MemberConfigError(
            f"member {member_id}: tag {shorten_tag(id_tag)} has unknown status {raw_status!r}"
        ) from err
    return IdTag(
        id_tag=id_tag,
        status=status,
        expires_at=_expiry(item.get("expires_at"), tz, member_id),
        label=_optional_text(item.get("label"), "label"),
    )


def _expiry(value: object, tz: tzinfo, member_id: str) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return as_utc(value if value.tzinfo else value.replace(tzinfo=tz))
    if isinstance(value, date):
        return datetime.combine(value, time(), tzinfo=tz).astimezone(UTC)
    if isinstance(value, str):
        text = value.strip()
        try:
            if len(text) == 10:  # YYYY-MM-DD
                return _expiry(date.fromisoformat(text), tz, member_id)
            return _expiry(datetime.fromisoformat(text), tz, member_id)
        except ValueError:
            pass
    raise MemberConfigError(f"member {member_id}: expires_at {value!r} is not a date or datetime")
