"""Session pricing in the site (issue 12): a real engine on SQLite, prices stored, a tariff.

The expected costs are worked out by hand in each test from the slots' Wh and the prices.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal

import pytest

from custom_components.ev_sessions.chargers.events import ConnectorState
from custom_components.ev_sessions.core import (
    ChargerCost,
    ChargingSite,
    EngineSettings,
    SessionEngine,
    SessionStore,
)
from custom_components.ev_sessions.core.audit import AuditSource
from custom_components.ev_sessions.core.cost import CostLineKind
from custom_components.ev_sessions.core.cost_records import CostReason
from custom_components.ev_sessions.core.model import Session
from custom_components.ev_sessions.core.prices import PriceInterval
from custom_components.ev_sessions.core.pricing import busy_connectors
from custom_components.ev_sessions.core.slots import SLOT_LENGTH, EnergySlot
from custom_components.ev_sessions.core.tariff import GROUP_GUEST, DemandPricing, Tariff

from .helpers import CP, T0, Clock, at, sample, status
from .test_site import FakeChargers, FakeDiscovery, FakeMembers, FakeNotices

FETCHED = T0 - timedelta(hours=1)


def price(
    minute: int, value: str, *, source: str = "nordpool", fetched: float = -60
) -> PriceInterval:
    """A 15-minute price starting ``minute`` minutes after T0, known ``fetched`` min after T0."""
    return PriceInterval(
        source=source,
        start=at(minute),
        length=SLOT_LENGTH,
        price=Decimal(value),
        currency="SEK",
        fetched_at=at(fetched),
    )


TARIFF = Tariff(
    currency="SEK",
    fallback_price=Decimal("1.50"),
    supplier_markup=Decimal("0.10"),
    vat_rate=Decimal("0.25"),
)


@dataclass
class Rig:
    site: ChargingSite
    engine: SessionEngine
    store: SessionStore
    clock: Clock

    def feed(self, minute: float, register: int | None = None, state: ConnectorState | None = None):
        """Move the clock to T0 + ``minute`` and send a reading or a status."""
        self.clock.now = at(minute)
        if state is not None:
            self.site.handle_event(status(at(minute), state))
        if register is not None:
            self.site.handle_event(sample(at(minute), energy_register_wh=register, power_w=7000.0))

    def charge(self) -> str:
        """A session over three quarter-hours: 1000 Wh at 17:00, 1500 at 17:15, 500 at 17:30."""
        self.feed(0, state=ConnectorState.CHARGING)
        self.feed(1, 0)
        self.feed(10, 1000)
        self.feed(20, 2500)
        session = self.engine.connector(CP, 1).session
        assert session is not None
        self.feed(35, 3000)
        return session.id

    def unplug(self, minute: float = 40) -> None:
        self.feed(minute, state=ConnectorState.AVAILABLE)

    async def settle(self) -> None:
        await self.site.pricer.async_wait_idle()
        await self.engine.async_flush()


type MakeRig = Callable[[], Awaitable[Rig]]


@pytest.fixture
async def make_rig(new_db: Callable[..., str]) -> AsyncIterator[MakeRig]:
    made: list[Rig] = []

    async def make() -> Rig:
        clock = Clock()
        store = SessionStore(new_db(f"p{len(made)}"))
        engine = SessionEngine(
            store,
            clock=clock,
            settings=EngineSettings(
                flush_interval=timedelta(seconds=0.2),
                state_flush_delay=timedelta(seconds=0.01),
                future_tolerance=timedelta(days=3650),
            ),
        )
        await engine.async_start()
        site = ChargingSite(
            engine,
            store,
            chargers=FakeChargers(),
            members=FakeMembers(),
            discovery=FakeDiscovery(),
            notices=FakeNotices(),
            clock=clock,
        )
        await site.async_start()
        rig = Rig(site, engine, store, clock)
        made.append(rig)
        return rig

    yield make
    for rig in made:
        await rig.site.async_stop()
        await rig.engine.async_stop()


# 1000 Wh x (1.00 + 0.10) = 1.10; 1500 Wh x (2.00 + 0.10) = 3.15; 500 Wh x (0.50 + 0.10) = 0.30
# excl. VAT 4.55; VAT 25 % = 1.1375 -> 1.14; total 5.69
BY_HAND = Decimal("5.69")


async def test_a_multi_slot_session_is_priced_per_slot_and_recorded(make_rig: MakeRig) -> None:
    """Live while charging (closed slots + the running slot), recorded at the end: energy lines
    per quarter-hour at that quarter-hour's price, VAT, stored with the reason ``final``."""
    rig = await make_rig()
    await rig.site.async_prices_known([price(0, "1.00"), price(15, "2.00"), price(30, "0.50")])
    rig.site.set_tariff(TARIFF)
    session_id = rig.charge()
    live = rig.site.session_cost(session_id)
    assert live is not None  # 1.10 + 3.15 + 0.30 = 4.55 (the running slot counts too) + VAT
    assert (live.amount_excl_vat, live.total) == (Decimal("4.55"), BY_HAND)
    rig.unplug()
    await rig.settle()

    cost = rig.site.session_cost(session_id)
    assert cost is not None
    assert [(line.energy_wh, line.unit_price, line.amount) for line in cost.energy_lines] == [
        (1000, Decimal("1.10"), Decimal("1.10")),
        (1500, Decimal("2.10"), Decimal("3.15")),
        (500, Decimal("0.60"), Decimal("0.30")),
    ]
    assert (cost.vat, cost.total, cost.currency, cost.estimated) == (
        Decimal("1.14"),
        BY_HAND,
        "SEK",
        False,
    )
    assert cost.problems() == []
    stored = await rig.store.async_get(session_id)
    assert stored is not None
    assert (stored.cost, stored.tariff) == (BY_HAND, "SEK household")
    history = await rig.store.async_cost_history(session_id)
    assert [(r.reason, r.cost) for r in history] == [(CostReason.FINAL, cost)]
    assert rig.site.pricer.charger_total(CP, "SEK") is not None
    assert rig.site.pricer.charger_total(CP, "SEK").total == BY_HAND  # type: ignore[union-attr]


async def test_prices_known_only_after_a_slot_closed_do_not_price_it(make_rig: MakeRig) -> None:
    """A slot is priced with the prices stored when it closed: a price learned later (another
    source, fetched after the session) does not change the recorded cost."""
    rig = await make_rig()
    await rig.site.async_prices_known([price(0, "1.00"), price(15, "2.00"), price(30, "0.50")])
    # a "better" price for 17:00, fetched at 17:50 (after every slot closed)
    await rig.site.async_prices_known([price(0, "9.00", source="tibber", fetched=50)])
    rig.site.set_tariff(TARIFF)
    session_id = rig.charge()
    rig.unplug()
    await rig.settle()
    cost = rig.site.session_cost(session_id)
    assert cost is not None
    assert cost.total == BY_HAND


async def test_a_past_session_keeps_its_price_after_prices_and_tariff_change(
    make_rig: MakeRig,
) -> None:
    """New prices and another tariff price later sessions; a recorded cost stays as it was."""
    rig = await make_rig()
    await rig.site.async_prices_known([price(0, "1.00"), price(15, "2.00"), price(30, "0.50")])
    rig.site.set_tariff(TARIFF)
    session_id = rig.charge()
    rig.unplug()
    await rig.settle()

    await rig.site.async_prices_known(
        [price(m, "7.00", source="tibber", fetched=45) for m in (0, 15, 30)]
    )
    rig.site.set_tariff(Tariff(currency="SEK", fallback_price=Decimal(3), vat_rate=Decimal(0)))
    await rig.settle()
    assert rig.site.session_cost(session_id) is not None
    assert rig.site.session_cost(session_id).total == BY_HAND  # type: ignore[union-attr]
    stored = await rig.store.async_get(session_id)
    assert stored is not None
    assert stored.cost == BY_HAND
    assert [r.reason for r in await rig.store.async_cost_history(session_id)] == [CostReason.FINAL]


async def test_reprice_with_a_reason_is_recorded_and_audited(make_rig: MakeRig) -> None:
    """An explicit reprice uses the tariff in force and the prices known now, keeps the old
    cost in the history and writes who and why to the audit log."""
    rig = await make_rig()
    await rig.site.async_prices_known([price(0, "1.00"), price(15, "2.00"), price(30, "0.50")])
    rig.site.set_tariff(TARIFF)
    session_id = rig.charge()
    rig.unplug()
    await rig.settle()

    rig.site.set_tariff(
        Tariff(currency="SEK", fallback_price=Decimal("1.50"), vat_rate=Decimal("0.25"))
    )
    rig.clock.now = at(90)
    record = await rig.site.async_reprice(session_id, "markup was configured twice", "user-1")
    # without the markup: 1.00 + 3.00 + 0.25 = 4.25; VAT 1.0625 -> 1.06; total 5.31
    assert record.cost.total == Decimal("5.31")
    assert record.reason is CostReason.REPRICE
    await rig.settle()
    stored = await rig.store.async_get(session_id)
    assert stored is not None
    assert stored.cost == Decimal("5.31")
    history = await rig.store.async_cost_history(session_id)
    assert [(r.reason, r.cost.total, r.note, r.user_id) for r in history] == [
        (CostReason.FINAL, BY_HAND, None, None),
        (CostReason.REPRICE, Decimal("5.31"), "markup was configured twice", "user-1"),
    ]
    audit = await rig.site.audit.async_query(session_id=session_id, source=AuditSource.REPRICE)
    assert len(audit) == 1
    assert (audit[0].reason, audit[0].user_id, audit[0].detail) == (
        "reprice",
        "user-1",
        "markup was configured twice: 5.69 -> 5.31 SEK",
    )
    assert rig.site.pricer.charger_total(CP, "SEK").total == Decimal("5.31")  # type: ignore[union-attr]


async def test_a_reprice_in_another_currency_moves_the_cost_between_totals(
    make_rig: MakeRig,
) -> None:
    """A charger's totals are per currency: a session re-priced in EUR leaves the SEK total
    and joins the EUR one; SEK and EUR amounts are never added together."""
    rig = await make_rig()
    await rig.site.async_prices_known([price(0, "1.00"), price(15, "2.00"), price(30, "0.50")])
    rig.site.set_tariff(TARIFF)
    session_id = rig.charge()
    rig.unplug()
    await rig.settle()
    assert rig.site.pricer.charger_total(CP, "SEK") == ChargerCost(BY_HAND, "SEK")
    assert rig.site.pricer.charger_total(CP, "EUR") is None
    rig.site.set_tariff(Tariff(currency="EUR", fallback_price=Decimal("0.20"), vat_rate=Decimal(0)))
    record = await rig.site.async_reprice(session_id, "the household pays in euro")
    await rig.settle()
    assert record.cost.currency == "EUR"
    assert rig.site.pricer.charger_total(CP, "SEK") == ChargerCost(Decimal(0), "SEK")
    assert rig.site.pricer.charger_total(CP, "EUR") == ChargerCost(record.cost.total, "EUR")


async def test_repricings_of_one_session_take_turns(make_rig: MakeRig) -> None:
    """Two reprices asked at once and the final pricing of the same session are recorded one
    after the other, each after the one before it was saved: the charger's total is the last
    cost once, not the old cost taken away twice."""
    rig = await make_rig()
    await rig.site.async_prices_known([price(0, "1.00"), price(15, "2.00"), price(30, "0.50")])
    rig.site.set_tariff(TARIFF)
    session_id = rig.charge()
    rig.unplug()
    await rig.settle()
    rig.site.set_tariff(
        Tariff(currency="SEK", fallback_price=Decimal("1.50"), vat_rate=Decimal("0.25"))
    )
    first, second = await asyncio.gather(
        rig.site.async_reprice(session_id, "first"), rig.site.async_reprice(session_id, "second")
    )
    await rig.settle()
    assert (first.cost.total, second.cost.total) == (Decimal("5.31"), Decimal("5.31"))
    history = await rig.store.async_cost_history(session_id)
    assert [r.note for r in history] == [None, "first", "second"]
    assert rig.site.pricer.charger_total(CP, "SEK").total == Decimal("5.31")  # type: ignore[union-attr]


async def test_an_estimated_price_is_replaced_by_the_real_one_once(make_rig: MakeRig) -> None:
    """17:15 has no price: the fallback (1.50) is used and the cost is estimated. When the
    real price arrives the session is re-priced once (audited); a later price changes nothing."""
    rig = await make_rig()
    await rig.site.async_prices_known([price(0, "1.00"), price(30, "0.50")])
    rig.site.set_tariff(TARIFF)
    session_id = rig.charge()
    rig.unplug()
    await rig.settle()
    first = rig.site.session_cost(session_id)
    assert first is not None
    # 1.10 + 1500 x 1.60 = 2.40 + 0.30 = 3.80; VAT 0.95; total 4.75
    assert (first.total, first.estimated) == (Decimal("4.75"), True)

    rig.clock.now = at(120)
    await rig.site.async_prices_known([price(15, "2.00", fetched=110)])
    await rig.settle()
    replaced = rig.site.session_cost(session_id)
    assert replaced is not None
    assert (replaced.total, replaced.estimated) == (BY_HAND, False)

    await rig.site.async_prices_known([price(15, "3.00", source="tibber", fetched=115)])
    await rig.settle()
    history = await rig.store.async_cost_history(session_id)
    assert [(r.reason, r.cost.total) for r in history] == [
        (CostReason.FINAL, Decimal("4.75")),
        (CostReason.ESTIMATE_REPLACED, BY_HAND),
    ]
    audit = await rig.site.audit.async_query(session_id=session_id, source=AuditSource.REPRICE)
    assert [(a.reason, a.detail) for a in audit] == [("estimate_replaced", "4.75 -> 5.69 SEK")]


async def test_without_a_tariff_the_cost_stays_unknown(make_rig: MakeRig) -> None:
    """No tariff: no live cost, nothing recorded, the session row's cost stays empty."""
    rig = await make_rig()
    await rig.site.async_prices_known([price(0, "1.00"), price(15, "2.00"), price(30, "0.50")])
    session_id = rig.charge()
    assert rig.site.session_cost(session_id) is None
    rig.unplug()
    await rig.settle()
    stored = await rig.store.async_get(session_id)
    assert stored is not None
    assert stored.cost is None
    assert await rig.store.async_cost_history(session_id) == []


async def test_a_session_ended_before_any_tariff_is_not_priced_later(make_rig: MakeRig) -> None:
    """Prices and a tariff that arrive after a session ended do not price it (it was not
    priced as it happened): no live cost, nothing recorded, until reprice_session."""
    rig = await make_rig()
    await rig.site.async_prices_known([price(0, "1.00"), price(15, "2.00"), price(30, "0.50")])
    session_id = rig.charge()
    rig.unplug()
    await rig.settle()
    rig.site.set_tariff(TARIFF)
    await rig.settle()
    assert rig.site.session_cost(session_id) is None
    assert await rig.store.async_cost_history(session_id) == []


#: A shared charger: sessions without a member are guests (the operator's surcharges apply).
DEMAND_TARIFF = replace(
    TARIFF,
    demand=DemandPricing(connectors=3, busy_above=2, surcharge_per_kwh=Decimal("0.40")),
    default_group=GROUP_GUEST,
)


async def test_demand_surcharge_on_slots_with_more_than_two_busy_connectors(
    make_rig: MakeRig,
) -> None:
    """Three sessions on three connectors: connector 1 charges 17:00-17:40 (1000/1500/500 Wh),
    connector 2 is plugged in 17:16-17:50, connector 3 17:18-17:30. Only 17:15 has three busy
    connectors (17:00: one; 17:30: two, connector 3 left at 17:30 sharp), so only its 1500 Wh
    carry the demand surcharge, live, recorded and when re-priced later (from what is stored)."""
    rig = await make_rig()
    await rig.site.async_prices_known([price(0, "1.00"), price(15, "2.00"), price(30, "0.50")])
    rig.site.set_tariff(DEMAND_TARIFF)
    rig.feed(0, state=ConnectorState.CHARGING)
    rig.feed(1, 0)
    rig.feed(10, 1000)
    rig.clock.now = at(16)
    rig.site.handle_event(status(at(16), ConnectorState.PREPARING, connector=2))
    rig.clock.now = at(18)
    rig.site.handle_event(status(at(18), ConnectorState.PREPARING, connector=3))
    rig.feed(20, 2500)
    rig.clock.now = at(30)
    rig.site.handle_event(status(at(30), ConnectorState.AVAILABLE, connector=3))
    rig.feed(35, 3000)
    session = rig.engine.connector(CP, 1).session
    assert session is not None
    assert rig.engine.connector(CP, 2).session is not None
    assert rig.engine.connector(CP, 3).last_session is not None

    # energy 1.10 + 3.15 + 0.30 = 4.55; demand 1500 Wh x 0.40 = 0.60; excl. VAT 5.15;
    # VAT 25 % = 1.2875 -> 1.29; total 6.44
    demand_line = (CostLineKind.DEMAND, 1500, Decimal("0.40"), Decimal("0.60"))
    live = rig.site.session_cost(session.id)
    assert live is not None
    assert [
        (line.kind, line.energy_wh, line.unit_price, line.amount)
        for line in live.lines
        if line.kind is CostLineKind.DEMAND
    ] == [demand_line]
    assert (live.amount_excl_vat, live.total) == (Decimal("5.15"), Decimal("6.44"))

    rig.unplug(40)
    rig.clock.now = at(50)
    rig.site.handle_event(status(at(50), ConnectorState.AVAILABLE, connector=2))
    await rig.settle()
    history = await rig.store.async_cost_history(session.id)
    assert [r.reason for r in history] == [CostReason.FINAL]
    recorded = history[0].cost
    assert [
        (line.kind, line.energy_wh, line.unit_price, line.amount)
        for line in recorded.lines
        if line.kind is CostLineKind.DEMAND
    ] == [demand_line]
    assert (recorded.vat, recorded.total) == (Decimal("1.29"), Decimal("6.44"))

    rig.clock.now = at(24 * 60)
    again = await rig.site.async_reprice(session.id, "check the demand surcharge")
    assert again.cost.lines == recorded.lines


def test_busy_connectors_counts_connectors_occupied_at_once() -> None:
    """Per quarter-hour the most connectors busy at one moment: sessions that follow each other
    on two connectors count as one at a time; an open session reaches to now."""

    def session(sid: str, connector: int, plugged: float, unplugged: float | None) -> Session:
        return Session(
            id=sid,
            charger_id=CP,
            connector_id=connector,
            plugged_in_at=at(plugged),
            unplugged_at=None if unplugged is None else at(unplugged),
        )

    slots = [EnergySlot(session_id="a", start=at(m), energy_wh=0) for m in (0, 15, 30)]
    sessions = [
        session("a", 1, 0, 40),
        session("b", 2, 2, 5),  # b, then c on connector 2 after a gap: never two at once there
        session("c", 2, 6, 20),
        session("d", 3, 5, 6),  # ends when c starts, not at the same time as b
        session("e", 3, 25, None),  # open: busy up to now (17:35)
    ]
    assert busy_connectors(slots, sessions, at(35)) == {at(0): 2, at(15): 2, at(30): 2}
    assert busy_connectors(slots, sessions[:3], at(35)) == {at(0): 2, at(15): 2, at(30): 1}
