"""Local authorization list versioning and its storage (core/local_lists.py)."""

from __future__ import annotations

from custom_components.ev_sessions.chargers.events import (
    AuthorizationListEntry,
    AuthorizationStatus,
    PushAuthorizationList,
)
from custom_components.ev_sessions.core import (
    LocalListPlan,
    LocalListState,
    MemberDirectory,
    SessionStore,
)

from .helpers import CP
from .tag_fixtures import NOW, members

ACCEPTED = AuthorizationStatus.ACCEPTED
BLOCKED = AuthorizationStatus.BLOCKED


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


async def test_local_list_versions_survive_reopen(db_url: str) -> None:
    """Confirmed lists are stored; after a restart the next update is differential."""
    url = db_url
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
