"""The charging site without Home Assistant: a real engine on SQLite, the ports as plain fakes.

Covers the event flow (adapter → site → engine → the charger's listeners), a tag decided once
(the member ``authorize`` chose is the session's member, learn mode included), remote starts,
unknown chargers offered through discovery, local-list sync, policy tightening and password
admission with its refusal.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import timedelta
import functools
from typing import Any

import pytest

from custom_components.ev_sessions.chargers.events import (
    AuthorizationRequest,
    AuthorizationStatus,
    BootDecision,
    ChargerCommand,
    ChargerConnected,
    ChargerInfo,
    ChargerNotConnectedError,
    ClearAuthorizationCache,
    CommandResult,
    ConnectorState,
    GetAuthorizationListVersion,
    PushAuthorizationList,
    SetChargerPassword,
    StartCharging,
    StopCharging,
    TagPresented,
)
from custom_components.ev_sessions.chargers.ocpp import OcppServer
from custom_components.ev_sessions.core import (
    AuthorizationMode,
    ChargerAccess,
    ChargerLink,
    ChargerSettings,
    ChargingSite,
    Decision,
    DecisionReason,
    EngineSettings,
    Member,
    MemberDirectory,
    SessionEngine,
    SessionEvent,
    SessionStore,
    SiteSettings,
    normalize_tag,
)
from simulators.ocpp import SimConfig, SimulatedChargePoint
from tests.chargers.ocpp.helpers import FAST

from .helpers import CP, T0, Clock, at, sample, started, status

MEMBERS: list[dict[str, Any]] = [
    {"id": "anna", "name": "Anna", "tags": ["TAG-ANNA"], "group_id_tag": "FAMILY"},
    {"id": "bo", "name": "Bo", "tags": ["TAG-BO", "A-VERY-LONG-TAG-OF-BO-OVER-20"]},
]
INFO = ChargerInfo(vendor="Acme", model="Box", serial="S-1", protocol="ocpp1.6")


# --------------------------------------------------------------------------- fake ports


@dataclass
class FakeChargers:
    """Charger settings by id (what the HA glue keeps in config entry data and options)."""

    settings: dict[str, ChargerSettings] = field(default_factory=dict)
    saved_access: list[tuple[str, ChargerAccess]] = field(default_factory=list)

    def add(self, charger_id: str, **kw: Any) -> None:
        self.settings[charger_id] = ChargerSettings(charger_id=charger_id, name=charger_id, **kw)

    def charger(self, charger_id: str) -> ChargerSettings | None:
        return self.settings.get(charger_id)

    def save_access(self, charger_id: str, access: ChargerAccess) -> None:
        self.saved_access.append((charger_id, access))
        self.settings[charger_id] = replace(self.settings[charger_id], access=access)

    def save_password(self, charger_id: str, password: str) -> None:
        self.settings[charger_id] = replace(self.settings[charger_id], password=password)

    def pin_identity(self, charger_id: str, identity: Mapping[str, str]) -> None:
        self.settings[charger_id] = replace(self.settings[charger_id], identity=dict(identity))


@dataclass
class FakeMembers:
    """Members; a tag given to a member arrives only when :meth:`take_in` runs (a store
    that takes its time, as HA's subentry update does)."""

    items: list[dict[str, Any]] = field(default_factory=lambda: [dict(m) for m in MEMBERS])
    pending: list[tuple[str, str]] = field(default_factory=list)

    def directory(self) -> MemberDirectory:
        return MemberDirectory.from_dicts(self.items)

    def add_tag(self, member_id: str, id_tag: str) -> bool:
        self.pending.append((member_id, id_tag))
        return True

    def take_in(self) -> None:
        for member_id, id_tag in self.pending:
            item = next(m for m in self.items if m["id"] == member_id)
            item["tags"] = [*item["tags"], id_tag]
        self.pending.clear()


@dataclass
class FakeDiscovery:
    ignored: set[str] = field(default_factory=set)
    offered: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    #: The identity each offer showed, in order.
    infos: list[ChargerInfo] = field(default_factory=list)

    def is_ignored(self, charger_id: str) -> bool:
        return charger_id in self.ignored

    def offer(self, charger_id: str, info: ChargerInfo) -> None:
        self.offered.append(charger_id)
        self.infos.append(info)

    def withdraw(self, charger_id: str) -> None:
        self.withdrawn.append(charger_id)


@dataclass
class FakeNotices:
    said: list[tuple[str, ...]] = field(default_factory=list)

    def tag_refused(self, charger_id: str, decision: Decision) -> None:
        self.said.append(("refused", charger_id, decision.id_tag, decision.reason.value))

    def tag_learned(self, charger_id: str, member: Member | None, id_tag: str, added: bool) -> None:
        self.said.append(("learned", charger_id, member.id if member else "?", id_tag))

    def password_refused(self, charger_id: str, status: str) -> None:
        self.said.append(("password_refused", charger_id, status))

    def password_taken(self, charger_id: str) -> None:
        self.said.append(("password_taken", charger_id))

    def identity_changed(
        self, charger_id: str, pinned: Mapping[str, object], seen: Mapping[str, str]
    ) -> None:
        self.said.append(("identity_changed", charger_id, str(seen.get("serial"))))


@dataclass
class FakeGate:
    accepted: list[str] = field(default_factory=list)
    credentials: list[str] = field(default_factory=list)

    def accept(self, charger_id: str) -> None:
        self.accepted.append(charger_id)

    def credentials_changed(self, charger_id: str) -> None:
        self.credentials.append(charger_id)


@dataclass
class FakeCharger:
    """A command transport: records commands, answers Accepted unless told otherwise."""

    answers: dict[type[ChargerCommand], CommandResult | Exception] = field(default_factory=dict)
    commands: list[ChargerCommand] = field(default_factory=list)

    async def send(self, command: ChargerCommand) -> CommandResult:
        self.commands.append(command)
        answer = self.answers.get(type(command), CommandResult(accepted=True, status="Accepted"))
        if isinstance(answer, Exception):
            raise answer
        return answer

    def of[C: ChargerCommand](self, kind: type[C]) -> list[C]:
        return [c for c in self.commands if isinstance(c, kind)]


@dataclass
class Rig:
    """A site over a real engine, with its fake ports."""

    site: ChargingSite
    engine: SessionEngine
    clock: Clock
    chargers: FakeChargers
    members: FakeMembers
    discovery: FakeDiscovery
    notices: FakeNotices
    events: list[SessionEvent]

    def link(self, charger_id: str = CP, *, gate: FakeGate | None = None) -> FakeCharger:
        """Register a charger with a fake transport (and gate: an OCPP-like charger)."""
        charger = FakeCharger()
        self.site.register_charger(ChargerLink(charger_id=charger_id, send=charger.send, gate=gate))
        return charger

    async def authorize(self, tag: str, charger_id: str = CP, connector: int | None = None) -> str:
        result = await self.site.authorize(
            AuthorizationRequest(
                charger_id=charger_id, id_tag=tag, connector_id=connector, at=self.clock()
            )
        )
        return result.status.value

    def member_of_open_session(self, charger_id: str = CP, connector: int = 1) -> str | None:
        session = self.engine.connector(charger_id, connector).session
        assert session is not None
        return session.member_id


type MakeRig = Callable[..., Awaitable[Rig]]


@pytest.fixture
async def make_rig(new_db: Callable[..., str]) -> AsyncIterator[MakeRig]:
    """Build sites (stopped at the end): ``clock`` None runs on the wall clock."""
    made: list[Rig] = []

    async def make(clock: Clock | None = None, **settings: Any) -> Rig:
        store = SessionStore(new_db(f"site{len(made)}"))
        engine_settings = EngineSettings(
            flush_interval=timedelta(seconds=0.2),
            state_flush_delay=timedelta(seconds=0.01),
            future_tolerance=timedelta(days=3650),
        )
        now = clock or Clock()
        engine = (
            SessionEngine(store, clock=now, settings=engine_settings)
            if clock is not None
            else SessionEngine(store, settings=engine_settings)
        )
        await engine.async_start()
        chargers, members = FakeChargers(), FakeMembers()
        discovery, notices = FakeDiscovery(), FakeNotices()
        kwargs: dict[str, Any] = {"clock": now} if clock is not None else {}
        site = ChargingSite(
            engine,
            store,
            chargers=chargers,
            members=members,
            discovery=discovery,
            notices=notices,
            settings=SiteSettings(**settings),
            **kwargs,
        )
        events: list[SessionEvent] = []
        engine.session_events.add(events.append)
        await site.async_start()
        rig = Rig(site, engine, now, chargers, members, discovery, notices, events)
        made.append(rig)
        return rig

    yield make
    for rig in made:
        await rig.site.async_stop()
        await rig.engine.async_stop()


# --------------------------------------------------------------------------- event flow


async def test_events_reach_the_engine_and_only_their_chargers_listeners(
    make_rig: MakeRig,
) -> None:
    """A meter frame goes site → engine → that charger's listeners; a connector changing
    state also moves the site figures (once per change, not per frame)."""
    rig = await make_rig(Clock())
    calls: dict[str, int] = {"cp-1": 0, "cp-2": 0}
    site_status: list[str] = []

    def count(charger_id: str) -> None:
        calls[charger_id] += 1

    rig.engine.charger_changes.add("cp-1", count)
    rig.engine.charger_changes.add("cp-2", count)
    rig.site.status_changes.add(site_status.append)
    rig.site.handle_event(status(at(0), ConnectorState.CHARGING))
    for minute in range(1, 6):
        rig.site.handle_event(sample(at(minute), energy_register_wh=minute * 100, power_w=6000.0))
    rig.site.handle_event(status(at(6), ConnectorState.CHARGING))  # no change
    assert calls == {"cp-1": 7, "cp-2": 0}
    assert site_status == ["cp-1"]
    assert rig.engine.connector(CP, 1).power_w == 6000.0
    session = rig.engine.connector(CP, 1).session
    assert session is not None
    assert session.energy_wh == 400


async def test_ocpp_charger_end_to_end_through_a_real_adapter(
    make_rig: MakeRig, socket_enabled: None
) -> None:
    """A real OCPP server hands a simulated charger to the site: unknown → offered; added →
    let in, given a password and the members' tags; a swipe, a transaction and a meter frame
    reach the engine and its listener, and the session is the tag's member's."""
    rig = await make_rig()
    server = OcppServer(
        rig.site,
        FAST,
        password_for=rig.site.password_for,
        known=rig.site.is_known,
        forgotten=rig.site.forget_waiting,
    )
    await server.start()
    cp = SimulatedChargePoint(
        f"ws://127.0.0.1:{server.port}/ocpp/CP-E2E", SimConfig(charger_id="CP-E2E", power_w=0.0)
    )
    try:
        booting = asyncio.create_task(cp.connect())
        async with asyncio.timeout(5):
            while cp.boot_status != "Pending":
                await asyncio.sleep(0.01)
        assert rig.discovery.offered == ["CP-E2E"]
        # the user adds it: settings exist, the adapter registers it
        rig.chargers.add("CP-E2E")
        rig.site.register_charger(
            ChargerLink(
                charger_id="CP-E2E",
                send=functools.partial(server.execute, "CP-E2E"),
                gate=server,
            )
        )
        async with asyncio.timeout(5):
            await booting
            while not cp.requests_for("SendLocalList"):
                await asyncio.sleep(0.01)
        settings = rig.chargers.settings["CP-E2E"]
        assert settings.password is not None
        assert cp.config.password == settings.password
        assert settings.identity == {
            "vendor": "ev_sessions",
            "model": "Simulator",
            "serial": "SIM-0001",
        }
        pushed = cp.requests_for("SendLocalList")[0]["localAuthorizationList"]
        assert "TAG-ANNA" in {entry["idTag"] for entry in pushed}

        frames: list[str] = []
        others: list[str] = []
        rig.engine.charger_changes.add("CP-E2E", frames.append)
        rig.engine.charger_changes.add("CP-OTHER", others.append)
        await cp.plug_in(1)
        assert await cp.swipe("TAG-ANNA") == "Accepted"
        await cp.start(1, "TAG-ANNA")
        before = len(frames)
        await cp.send_meter_values(
            1,
            sampled_values=[
                {"value": "1500", "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
                {"value": "7200", "measurand": "Power.Active.Import", "unit": "W"},
            ],
        )
        async with asyncio.timeout(5):
            while rig.engine.connector("CP-E2E", 1).power_w != 7200.0:
                await asyncio.sleep(0.01)
        assert len(frames) > before
        assert others == []
        assert rig.member_of_open_session("CP-E2E") == "anna"
    finally:
        await cp.close()
        await server.stop()


# --------------------------------------------------------------------------- decided once


async def test_learned_tag_session_goes_to_the_learning_member(make_rig: MakeRig) -> None:
    """Learn mode: the swipe is accepted for Bo; the transaction that starts with the tag is
    Bo's even though the member store has not taken the tag in yet (before, attribution
    looked the tag up again and found nobody)."""
    rig = await make_rig(Clock())
    charger = rig.link()
    rig.chargers.add(CP, password="secret-password-1")
    rig.site.start_learning(CP, "bo")
    assert await rig.authorize("FOB-42") == "accepted"
    assert rig.notices.said[-1] == ("learned", CP, "bo", "FOB-42")
    assert rig.members.pending == [("bo", "FOB-42")]  # not in the directory yet
    # the charger asks again at the transaction start, and starts it
    assert await rig.authorize("FOB-42", connector=1) == "accepted"
    rig.site.handle_event(status(at(0), ConnectorState.PREPARING))
    rig.site.handle_event(started(at(0.1), "tx-1", 0, id_tag="FOB-42"))
    assert rig.member_of_open_session() == "bo"
    assert charger.commands == []  # nothing sent for a learned tag


async def test_the_decision_not_a_second_lookup_attributes_the_session(
    make_rig: MakeRig,
) -> None:
    """A tag accepted as a guest stays the guest's session although the policy went back to
    members only before the transaction started (the charger was told "accepted")."""
    rig = await make_rig(Clock())
    rig.chargers.add(CP, access=ChargerAccess(mode=AuthorizationMode.MEMBERS_AND_GUESTS))
    rig.link()
    assert await rig.authorize("VISITOR") == "accepted"
    rig.chargers.settings[CP] = replace(rig.chargers.settings[CP], access=ChargerAccess())
    rig.site.handle_event(status(at(0), ConnectorState.PREPARING))
    rig.site.handle_event(started(at(0.1), "tx-1", 0, id_tag="visitor"))
    assert rig.member_of_open_session() == "guest"
    # without a recent decision (the charger decided from its local list) access decides
    rig.clock.now = T0 + timedelta(hours=1)
    rig.site.handle_event(status(at(61), ConnectorState.AVAILABLE))
    rig.site.handle_event(status(at(62), ConnectorState.PREPARING))
    rig.site.handle_event(started(at(62.1), "tx-2", 0, id_tag="TAG-BO"))
    assert rig.member_of_open_session() == "bo"


async def test_presented_tag_takes_only_its_own_or_an_untagged_session(
    make_rig: MakeRig,
) -> None:
    """Anna charges on connector 1; Bo's swipe (no connector) goes to the untagged session
    on connector 2, not to Anna's."""
    rig = await make_rig(Clock())
    rig.chargers.add(CP)
    rig.link()
    assert await rig.authorize("TAG-ANNA", connector=1) == "accepted"
    rig.site.handle_event(status(at(0), ConnectorState.PREPARING))
    rig.site.handle_event(started(at(0.1), "tx-1", 0, id_tag="TAG-ANNA"))
    rig.site.handle_event(status(at(1), ConnectorState.PREPARING, connector=2))
    assert await rig.authorize("TAG-BO") == "accepted"
    rig.site.handle_event(
        TagPresented(
            charger_id=CP,
            at=at(1.1),
            connector_id=None,
            id_tag="TAG-BO",
            status=AuthorizationStatus.ACCEPTED,
        )
    )
    assert rig.member_of_open_session(connector=1) == "anna"
    assert rig.member_of_open_session(connector=2) == "bo"


async def test_untagged_session_goes_to_the_chargers_member(make_rig: MakeRig) -> None:
    """Stored by id: a session without a tag is the charger's member's."""
    rig = await make_rig(Clock())
    rig.chargers.add(CP, access=ChargerAccess(member_id="bo"))
    rig.link()
    rig.site.handle_event(status(at(0), ConnectorState.CHARGING))
    assert rig.member_of_open_session() == "bo"
    assert [e.kind.value for e in rig.events] == ["started"]


# --------------------------------------------------------------------------- remote start


async def test_remote_start_sends_the_members_tag_and_accepts_it(make_rig: MakeRig) -> None:
    """The member's first active tag a 1.6 charger can carry; without a member an HA- tag,
    which the site accepts at that charger only; the transaction end then finds its id."""
    rig = await make_rig(Clock())
    rig.chargers.add(CP)
    charger = rig.link()
    result = await rig.site.async_remote_start(CP, 1, member_id="bo", requested_by="user-1")
    assert result.accepted
    assert charger.of(StartCharging) == [StartCharging(connector_id=1, id_tag="TAG-BO")]
    await rig.site.async_remote_start(CP, 2, requested_by="0123456789abcdefXYZ")
    tag = charger.of(StartCharging)[1].id_tag
    assert tag == "HA-0123456789abcdefX"
    assert len(tag) == 20
    assert await rig.authorize(tag) == "accepted"
    assert await rig.authorize(tag, charger_id="cp-2") == "invalid"
    assert rig.site.remote_start_tag(None, None, "GIVEN") == "GIVEN"
    # a stop without a transaction id gets the engine's
    rig.site.handle_event(status(at(0), ConnectorState.PREPARING))
    rig.site.handle_event(started(at(0.1), "tx-9", 0, id_tag="TAG-BO"))
    await rig.site.async_execute(CP, StopCharging(connector_id=1))
    assert charger.of(StopCharging)[-1].transaction_id == "tx-9"
    with pytest.raises(ChargerNotConnectedError):
        await rig.site.async_execute("nobody", StopCharging(connector_id=1))


# --------------------------------------------------------------------------- discovery


async def test_unknown_charger_is_offered_once_and_withdrawn(make_rig: MakeRig) -> None:
    """An unknown charger waits (Pending) while the user is asked; it is not decided for;
    ignored ones and all with "reject unknown" are refused."""
    rig = await make_rig(Clock())
    assert await rig.site.boot_decision("NEW", INFO) is BootDecision.PENDING
    assert await rig.site.boot_decision("NEW", INFO) is BootDecision.PENDING
    assert rig.discovery.offered == ["NEW"]
    assert await rig.authorize("TAG-ANNA", charger_id="NEW") == "invalid"
    assert rig.notices.said == []  # strangers do not raise notices
    rig.site.forget_waiting("NEW")
    assert rig.discovery.withdrawn == ["NEW"]
    rig.discovery.ignored.add("IGNORED")
    assert await rig.site.boot_decision("IGNORED", INFO) is BootDecision.REJECTED
    strict = await make_rig(Clock(), reject_unknown=True)
    assert await strict.site.boot_decision("NEW", INFO) is BootDecision.REJECTED
    assert strict.discovery.offered == []
    # an added charger is accepted, its entry set up or not
    rig.chargers.add("ADDED")
    assert await rig.site.boot_decision("ADDED", INFO) is BootDecision.ACCEPTED
    assert await rig.authorize("TAG-ANNA", charger_id="ADDED") == "accepted"


async def test_waiting_charger_booting_as_other_hardware_updates_its_offer(
    make_rig: MakeRig,
) -> None:
    """A waiting charger that boots again as it was is not offered twice; booting with
    another model and serial (a board swapped, a reconnect from another unit) offers it
    again with what it says now; after it went away, it is offered afresh."""
    rig = await make_rig(Clock())
    swapped = replace(INFO, model="Box Pro", serial="S-2")
    assert await rig.site.boot_decision("NEW", INFO) is BootDecision.PENDING
    assert await rig.site.boot_decision("NEW", INFO) is BootDecision.PENDING
    assert await rig.site.boot_decision("NEW", swapped) is BootDecision.PENDING
    assert await rig.site.boot_decision("NEW", swapped) is BootDecision.PENDING
    assert rig.discovery.infos == [INFO, swapped]
    rig.site.forget_waiting("NEW")
    assert await rig.site.boot_decision("NEW", swapped) is BootDecision.PENDING
    assert rig.discovery.infos == [INFO, swapped, swapped]


# --------------------------------------------------------------------------- local lists


async def test_local_list_sync_plans_full_then_differential(make_rig: MakeRig) -> None:
    """First a full list and a cache clear; a new member then a differential update; a
    charger reporting another version gets a full list again; 1.6 gets no tag over 20
    characters; a refused push makes the next one full."""
    rig = await make_rig(Clock())
    rig.chargers.add(CP, password="secret-password-1")
    charger = rig.link(gate=FakeGate())
    rig.site.handle_event(ChargerConnected(charger_id=CP, at=at(0), info=INFO))
    await rig.site.async_wait_idle()
    [full] = charger.of(PushAuthorizationList)
    assert (full.version, full.full) == (1, True)
    assert {e.id_tag for e in full.entries} == {"TAG-ANNA", "TAG-BO"}
    assert len(charger.of(ClearAuthorizationCache)) == 1

    rig.members.items.append({"id": "cleo", "name": "Cleo", "tags": ["TAG-CLEO"]})
    charger.answers[GetAuthorizationListVersion] = CommandResult(
        accepted=True, status="Accepted", data={"version": 1}
    )
    rig.site.members_changed()
    await rig.site.async_wait_idle()
    diff = charger.of(PushAuthorizationList)[-1]
    assert (diff.version, diff.full, [e.id_tag for e in diff.entries]) == (2, False, ["TAG-CLEO"])

    charger.answers[GetAuthorizationListVersion] = CommandResult(
        accepted=True, status="Accepted", data={"version": 7}
    )
    assert await rig.site.async_sync_local_list(CP)
    assert (
        charger.of(PushAuthorizationList)[-1].version,
        charger.of(PushAuthorizationList)[-1].full,
    ) == (8, True)

    charger.answers[PushAuthorizationList] = CommandResult(accepted=False, status="Failed")
    rig.members.items.append({"id": "dan", "name": "Dan", "tags": ["TAG-DAN"]})
    rig.site.members_changed()
    await rig.site.async_wait_idle()
    charger.answers.pop(PushAuthorizationList)
    charger.answers[GetAuthorizationListVersion] = CommandResult(
        accepted=True, status="Accepted", data={"version": 8}
    )
    assert await rig.site.async_sync_local_list(CP)
    assert charger.of(PushAuthorizationList)[-1].full is True


async def test_no_member_tags_for_a_charger_without_a_password(make_rig: MakeRig) -> None:
    rig = await make_rig(Clock())
    rig.chargers.add(CP, allow_without_password=False)
    charger = rig.link()
    assert not await rig.site.async_sync_local_list(CP)
    assert charger.commands == []
    rig.chargers.add(CP, allow_without_password=True)
    assert await rig.site.async_sync_local_list(CP)
    assert charger.of(PushAuthorizationList)


# --------------------------------------------------------------------------- policy


async def test_stricter_policy_clears_the_cache_looser_does_not(make_rig: MakeRig) -> None:
    """Stored by id in the charger settings; a stricter policy empties the charger's cache and
    forgets the decisions taken under the looser one."""
    rig = await make_rig(Clock())
    rig.chargers.add(CP, password="secret-password-1")
    charger = rig.link(gate=FakeGate())
    rig.site.handle_event(ChargerConnected(charger_id=CP, at=at(0), info=INFO))
    await rig.site.async_wait_idle()
    clears = len(charger.of(ClearAuthorizationCache))
    rig.site.set_access(CP, ChargerAccess(mode=AuthorizationMode.FREE, member_id="anna"))
    await rig.site.async_wait_idle()
    assert len(charger.of(ClearAuthorizationCache)) == clears
    assert await rig.authorize("VISITOR") == "accepted"
    rig.site.set_access(CP, ChargerAccess(mode=AuthorizationMode.MEMBERS_ONLY, member_id="anna"))
    await rig.site.async_wait_idle()
    assert len(charger.of(ClearAuthorizationCache)) == clears + 1
    assert rig.site.member_for_tag(CP, "VISITOR") is None  # decided again, under members only
    assert rig.chargers.saved_access == [
        (CP, ChargerAccess(mode=AuthorizationMode.FREE, member_id="anna")),
        (CP, ChargerAccess(mode=AuthorizationMode.MEMBERS_ONLY, member_id="anna")),
    ]
    # the same settings again store nothing
    rig.site.set_access(CP, ChargerAccess(mode=AuthorizationMode.MEMBERS_ONLY, member_id="anna"))
    assert len(rig.chargers.saved_access) == 2
    # a member since removed is nobody (and who shows member names hears of it)
    heard: list[list[str]] = []
    rig.site.member_changes.add(lambda members: heard.append([m.id for m in members]))
    rig.members.items = [m for m in rig.members.items if m["id"] != "anna"]
    rig.site.members_changed()
    assert rig.site.access_of(CP).member_id is None
    assert heard == [["bo"]]


# --------------------------------------------------------------------------- admission


async def test_password_on_admission_and_a_refusal_raises_a_repair(make_rig: MakeRig) -> None:
    """An admitted charger without a password is given one; taken: stored, enforced, then
    its tags; refused: a repair, and no tags until the user allows it."""
    rig = await make_rig(Clock(), passwords_over_tls=True)
    rig.chargers.add("CP-OK")
    gate = FakeGate()
    good = rig.link("CP-OK", gate=gate)
    assert gate.accepted == ["CP-OK"]
    rig.site.handle_event(ChargerConnected(charger_id="CP-OK", at=at(0), info=INFO))
    await rig.site.async_wait_idle()
    [given] = good.of(SetChargerPassword)
    assert given.tls is True
    assert len(given.password) == 20
    assert rig.chargers.settings["CP-OK"].password == given.password
    assert rig.chargers.settings["CP-OK"].identity == {
        "vendor": "Acme",
        "model": "Box",
        "serial": "S-1",
    }
    assert ("password_taken", "CP-OK") in rig.notices.said
    assert gate.credentials == ["CP-OK"]
    assert good.of(PushAuthorizationList)

    rig.chargers.add("CP-OLD")
    old = rig.link("CP-OLD", gate=FakeGate())
    old.answers[SetChargerPassword] = CommandResult(accepted=False, status="NotSupported")
    rig.site.handle_event(ChargerConnected(charger_id="CP-OLD", at=at(0), info=INFO))
    await rig.site.async_wait_idle()
    assert ("password_refused", "CP-OLD", "NotSupported") in rig.notices.said
    assert rig.chargers.settings["CP-OLD"].password is None
    assert old.of(PushAuthorizationList) == []
    rig.chargers.add("CP-OLD", allow_without_password=True)
    rig.site.allow_without_password("CP-OLD")
    await rig.site.async_wait_idle()
    assert old.of(PushAuthorizationList)


async def test_boot_as_other_hardware_is_refused_with_a_repair(make_rig: MakeRig) -> None:
    rig = await make_rig(Clock())
    rig.chargers.add(CP, identity={"vendor": "Acme", "model": "Box", "serial": "S-1"})
    gate = FakeGate()
    rig.link(gate=gate)
    assert gate.accepted == [CP]
    other = replace(INFO, serial="S-2")
    assert await rig.site.boot_decision(CP, other) is BootDecision.REJECTED
    assert rig.notices.said == [("identity_changed", CP, "S-2")]
    rig.site.register_charger(ChargerLink(charger_id=CP, send=FakeCharger().send, gate=gate))
    assert gate.accepted == [CP]  # blocked: not let in by a new registration
    rig.chargers.pin_identity(CP, {"vendor": "Acme", "model": "Box", "serial": "S-2"})
    rig.site.accept_identity(CP)
    assert gate.accepted == [CP, CP]
    assert await rig.site.boot_decision(CP, other) is BootDecision.ACCEPTED


async def test_refused_tags_are_noticed_and_decisions_reach_their_listeners(
    make_rig: MakeRig,
) -> None:
    rig = await make_rig(Clock())
    rig.chargers.add(CP)
    rig.link()
    seen: list[tuple[str, DecisionReason]] = []
    rig.site.decisions.add(CP, lambda d: seen.append((d.id_tag, d.reason)))
    assert await rig.authorize("STRANGER") == "invalid"
    assert await rig.authorize("TAG-ANNA") == "accepted"
    assert seen == [("STRANGER", DecisionReason.UNKNOWN_TAG), ("TAG-ANNA", DecisionReason.ACCEPTED)]
    assert rig.notices.said == [("refused", CP, "STRANGER", "unknown_tag")]
    link = rig.site.charger(CP)
    assert link is not None
    assert link.last_decision is not None
    assert (link.last_member_id, normalize_tag(link.last_decision.id_tag)) == ("anna", "tag-anna")


async def test_a_transaction_started_with_a_refused_tag_is_metered_flagged_and_stopped(
    make_rig: MakeRig,
) -> None:
    """The hub answered Invalid, the charger started charging anyway: the energy is metered
    (it was drawn), the session carries an "unauthorized" anomaly, and a remote stop goes out
    for exactly that transaction. An accepted tag's session is left alone."""
    from custom_components.ev_sessions.core import AnomalyKind

    rig = await make_rig(Clock())
    rig.chargers.add(CP)
    charger = rig.link()
    assert await rig.authorize("STRANGER", connector=1) == "invalid"
    rig.site.handle_event(status(at(0), ConnectorState.PREPARING))
    rig.site.handle_event(started(at(0.1), "tx-9", 1000, id_tag="STRANGER"))
    rig.site.handle_event(sample(at(5), energy_register_wh=1600, transaction_id="tx-9"))
    await rig.site.async_wait_idle()
    assert charger.of(StopCharging) == [StopCharging(connector_id=1, transaction_id="tx-9")]
    session = rig.engine.connector(CP, 1).session
    assert session is not None
    assert session.energy_wh == 600
    assert [(a.kind, a.detail) for a in session.anomalies] == [
        (AnomalyKind.UNAUTHORIZED, "unknown_tag")
    ]
    # a member's accepted tag: no flag, no stop
    rig.site.handle_event(status(at(10), ConnectorState.AVAILABLE))
    assert await rig.authorize("TAG-BO", connector=1) == "accepted"
    rig.site.handle_event(status(at(11), ConnectorState.PREPARING))
    rig.site.handle_event(started(at(11.1), "tx-10", 1600, id_tag="TAG-BO"))
    await rig.site.async_wait_idle()
    assert len(charger.of(StopCharging)) == 1
    session = rig.engine.connector(CP, 1).session
    assert session is not None
    assert session.anomalies == []
