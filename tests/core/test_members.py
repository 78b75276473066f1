"""Members, tags and the member directory: parsing, matching, local lists and diffs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from custom_components.ev_sessions.chargers.events import (
    AuthorizationListEntry,
    AuthorizationStatus,
)
from custom_components.ev_sessions.core import (
    MAX_ID_TAG_LENGTH,
    IdTag,
    Member,
    MemberConfigError,
    MemberDirectory,
    TagStatus,
    diff_entries,
    normalize_tag,
    shorten_tag,
)

NOW = datetime(2026, 3, 2, 17, 0, tzinfo=UTC)
ACCEPTED = AuthorizationStatus.ACCEPTED
BLOCKED = AuthorizationStatus.BLOCKED
EXPIRED = AuthorizationStatus.EXPIRED


def family() -> list[dict[str, Any]]:
    """Two members; Anna's tags are grouped under a family card."""
    return [
        {
            "id": "anna",
            "name": "Anna",
            "person_entity_id": "person.anna",
            "group_id_tag": "FAMILY-1",
            "tariff_group": "household",
            "notify_targets": ["notify.mobile_app_anna"],
            "tags": [
                {"id_tag": "04A1B2C3", "label": "Keyring"},
                {"id_tag": "04D4E5F6", "status": "blocked", "label": "Lost card"},
                {"id_tag": "0A0B0C0D", "expires_at": "2026-03-01T00:00:00+00:00"},
                {"id_tag": "11223344", "expires_at": "2026-12-31T00:00:00+00:00"},
            ],
        },
        {"id": "ben", "name": "Ben", "tags": ["BEN-CARD"]},
    ]


def test_shorten_tag() -> None:
    """At most 4 characters and never more than half of the tag are shown, plus the length."""
    assert shorten_tag("04A1B2C3") == "04A1…(8)"
    assert shorten_tag("04A1B2C3D4E5F6") == "04A1…(14)"
    assert shorten_tag("ABC") == "A…(3)"
    assert shorten_tag(" AB ") == "A…(2)"
    assert shorten_tag("X") == "…(1)"
    assert shorten_tag("") == "…(0)"
    assert shorten_tag(None) == "<none>"


def test_normalize_tag_only_case_and_whitespace() -> None:
    """Case and surrounding whitespace are ignored; separators stay significant."""
    assert normalize_tag(" 04a1B2c3\t") == normalize_tag("04A1B2C3") == "04a1b2c3"
    assert normalize_tag("04:A1:B2:C3") != normalize_tag("04A1B2C3")


def test_member_from_dict_parses_every_field() -> None:
    """The stored dict becomes a typed member and round-trips."""
    anna = Member.from_dict(family()[0])
    assert anna.id == "anna"
    assert anna.name == "Anna"
    assert anna.person_entity_id == "person.anna"
    assert anna.group_id_tag == "FAMILY-1"
    assert anna.tariff_group == "household"
    assert anna.notify_targets == ("notify.mobile_app_anna",)
    assert [t.id_tag for t in anna.tags] == ["04A1B2C3", "04D4E5F6", "0A0B0C0D", "11223344"]
    assert anna.tags[0] == IdTag(id_tag="04A1B2C3", label="Keyring")
    assert anna.tags[1].status is TagStatus.BLOCKED
    assert anna.tags[3].expires_at == datetime(2026, 12, 31, tzinfo=UTC)
    assert Member.from_dict(anna.to_dict()) == anna
    ben = Member.from_dict(family()[1])
    assert ben.tags == (IdTag(id_tag="BEN-CARD"),)
    assert ben.group_id_tag is None
    assert ben.tariff_group is None


def test_expiry_date_means_start_of_that_day_in_the_given_zone() -> None:
    """A date-only expiry is midnight local time; a naive datetime is local time too."""
    cet = timezone(timedelta(hours=1))
    member = Member.from_dict(
        {
            "id": "m",
            "tags": [
                {"id_tag": "A1", "expires_at": "2026-04-01"},
                {"id_tag": "A2", "expires_at": "2026-04-01T06:30:00"},
            ],
        },
        tz=cet,
    )
    assert member.tags[0].expires_at == datetime(2026, 3, 31, 23, 0, tzinfo=UTC)
    assert member.tags[1].expires_at == datetime(2026, 4, 1, 5, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"id": ""}, "member id is empty"),
        ({"id": "m", "tags": [{"id_tag": "  "}]}, "tag is empty"),
        ({"id": "m", "tags": ["X" * 37]}, "longer than 36"),
        ({"id": "m", "tags": [{"id_tag": "A", "status": "stolen"}]}, "unknown status"),
        ({"id": "m", "tags": [{"id_tag": "A", "expires_at": "soon"}]}, "not a date"),
        ({"id": "m", "tags": ["abc", "ABC "]}, "listed twice"),
        ({"id": "m", "tags": "ABC"}, "tags must be a list"),
        ({"id": "m", "notify_targets": "notify.x"}, "notify_targets must be a list"),
    ],
)
def test_invalid_member_dicts_are_refused(data: dict[str, object], message: str) -> None:
    """Every bad field raises MemberConfigError with a readable message."""
    with pytest.raises(MemberConfigError, match=message):
        Member.from_dict(data)


def test_lookup_is_case_insensitive_and_keeps_the_configured_tag() -> None:
    """A charger sending lower case or padded UIDs finds the member."""
    directory = MemberDirectory.from_dicts(family())
    match = directory.lookup(" 04a1b2c3 ")
    assert match is not None
    assert match.member.id == "anna"
    assert match.tag.id_tag == "04A1B2C3"
    assert match.tag.label == "Keyring"
    assert directory.lookup("04:A1:B2:C3") is None
    assert directory.lookup("nope") is None
    assert directory.member("ben") is not None
    assert directory.member(None) is None
    assert len(directory) == 2
    assert [m.id for m in directory] == ["anna", "ben"]


def test_tag_status_at() -> None:
    """Blocked wins over expired; the expiry instant itself is expired."""
    expiry = NOW + timedelta(days=1)
    tag = IdTag(id_tag="A", expires_at=expiry)
    assert tag.status_at(NOW) is ACCEPTED
    assert tag.status_at(expiry) is EXPIRED
    assert IdTag(id_tag="A", status=TagStatus.BLOCKED, expires_at=NOW).status_at(NOW) is BLOCKED
    assert IdTag(id_tag="A", status=TagStatus.EXPIRED).status_at(NOW) is EXPIRED


def test_duplicate_tags_are_skipped_or_refused() -> None:
    """Lenient build keeps the first holder and reports the problem; strict raises."""
    items = [*family(), {"id": "carl", "tags": ["04a1b2c3", "CARL-1"]}, {"id": "ben"}]
    directory = MemberDirectory.from_dicts([*items, {"id": 5}])
    match = directory.lookup("04A1B2C3")
    assert match is not None
    assert match.member.id == "anna"
    carl = directory.member("carl")
    assert carl is not None
    assert [t.id_tag for t in carl.tags] == ["CARL-1"]
    assert directory.member("ben") is not None
    assert len(directory.problems) == 3
    assert "id must be text" in directory.problems[0]
    assert "already belongs to member anna" in directory.problems[1]
    assert "duplicate member id ben" in directory.problems[2]
    with pytest.raises(MemberConfigError, match="already belongs"):
        MemberDirectory.from_dicts(items, strict=True)


def test_to_local_list() -> None:
    """Accepted with expiry, blocked and expired tags, each with the member's parent tag."""
    directory = MemberDirectory.from_dicts(family())
    assert directory.to_local_list(NOW) == [
        AuthorizationListEntry(
            id_tag="04A1B2C3", status=ACCEPTED, expiry=None, parent_id_tag="FAMILY-1"
        ),
        AuthorizationListEntry(id_tag="04D4E5F6", status=BLOCKED, parent_id_tag="FAMILY-1"),
        AuthorizationListEntry(
            id_tag="0A0B0C0D",
            status=EXPIRED,
            expiry=datetime(2026, 3, 1, tzinfo=UTC),
            parent_id_tag="FAMILY-1",
        ),
        AuthorizationListEntry(
            id_tag="11223344",
            status=ACCEPTED,
            expiry=datetime(2026, 12, 31, tzinfo=UTC),
            parent_id_tag="FAMILY-1",
        ),
        AuthorizationListEntry(id_tag="BEN-CARD", status=ACCEPTED),
    ]


def test_local_list_for_ocpp16_leaves_out_long_tags() -> None:
    """Tags (and parents) over 20 characters cannot go to an OCPP 1.6 charger."""
    long_tag = "E" * 30
    directory = MemberDirectory.from_dicts(
        [
            {"id": "a", "tags": ["SHORT", long_tag]},
            {"id": "b", "group_id_tag": "G" * 25, "tags": ["B1"]},
        ]
    )
    entries = directory.to_local_list(NOW, max_tag_length=MAX_ID_TAG_LENGTH)
    assert [(e.id_tag, e.parent_id_tag) for e in entries] == [("B1", None), ("SHORT", None)]
    assert len(directory.to_local_list(NOW)) == 3


def test_diff_between_directories() -> None:
    """Added and changed tags with status, removed with None; clear cache when acceptance lost."""
    old = MemberDirectory.from_dicts(family())
    items = family()
    items[1]["tags"] = ["BEN-CARD", "BEN-2"]
    diff = old.diff(MemberDirectory.from_dicts(items), NOW)
    assert diff.entries == (AuthorizationListEntry(id_tag="BEN-2", status=ACCEPTED),)
    assert diff.clear_cache is False

    items[1]["tags"] = [{"id_tag": "BEN-CARD", "status": "blocked"}]
    diff = old.diff(MemberDirectory.from_dicts(items), NOW)
    assert diff.entries == (AuthorizationListEntry(id_tag="BEN-CARD", status=BLOCKED),)
    assert diff.clear_cache is True

    del items[1]
    diff = old.diff(MemberDirectory.from_dicts(items), NOW)
    assert diff.entries == (AuthorizationListEntry(id_tag="BEN-CARD", status=None),)
    assert diff.clear_cache is True

    assert old.diff(MemberDirectory.from_dicts(family()), NOW).empty


def test_diff_clear_cache_rules() -> None:
    """Shorter expiry clears the cache; unblocking, longer expiry and removing a blocked tag not."""
    later = NOW + timedelta(days=30)
    accepted = AuthorizationListEntry(id_tag="A", status=ACCEPTED, expiry=later)
    blocked = AuthorizationListEntry(id_tag="A", status=BLOCKED)
    sooner = AuthorizationListEntry(id_tag="A", status=ACCEPTED, expiry=NOW)
    forever = AuthorizationListEntry(id_tag="A", status=ACCEPTED)
    assert diff_entries([accepted], [sooner]).clear_cache is True
    assert diff_entries([forever], [accepted]).clear_cache is True
    assert diff_entries([accepted], [forever]).clear_cache is False
    assert diff_entries([blocked], [accepted]).clear_cache is False
    assert diff_entries([blocked], []).clear_cache is False
    assert diff_entries([accepted], [accepted]).empty


def test_time_passing_expires_a_tag_in_the_list() -> None:
    """The same directory gives an expired entry once the expiry has passed."""
    directory = MemberDirectory.from_dicts(family())
    before = directory.to_local_list(NOW)
    after = directory.to_local_list(datetime(2027, 1, 1, tzinfo=UTC))
    diff = diff_entries(before, after)
    assert [(e.id_tag, e.status) for e in diff.entries] == [("11223344", EXPIRED)]
    assert diff.clear_cache is True


def test_next_expiry() -> None:
    """The glue re-plans local lists when the next tag expires."""
    directory = MemberDirectory.from_dicts(family())
    assert directory.next_expiry(NOW) == datetime(2026, 12, 31, tzinfo=UTC)
    assert directory.next_expiry(datetime(2026, 12, 31, tzinfo=UTC)) is None
    assert MemberDirectory().next_expiry(NOW) is None
