"""A household, its tariffs and stored sessions with recorded costs, for the billing tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from custom_components.ev_sessions.core import (
    AuditEntry,
    AuditSource,
    Billing,
    CostReason,
    CostRecord,
    EnergyPricing,
    MemberDirectory,
    Session,
    SessionCost,
    SessionFacts,
    SessionStore,
    Tariff,
    TariffGroup,
    TariffGroupMode,
    price_session,
)
from custom_components.ev_sessions.core.slots import SLOT_LENGTH, EnergySlot

TZ = ZoneInfo("Europe/Stockholm")

MEMBERS = MemberDirectory.from_dicts(
    [
        {"id": "anna", "name": "Anna", "tariff_group": "household"},
        {"id": "ben", "name": "Ben"},
        {"id": "carl", "name": "Carl", "tariff_group": "company_car"},
        {"id": "gus", "name": "Gus", "tariff_group": "guest"},
        {"id": "tina", "name": "Tina", "paying": True},
    ],
    strict=True,
)

GROUPS = {
    "household": TariffGroup(),
    "guest": TariffGroup(
        mode=TariffGroupMode.MARKUP, markup_per_kwh=Decimal("0.50"), operator_fees=True
    ),
    "company_car": TariffGroup(reimbursement_per_kwh=Decimal("2.50")),
}
#: The tariff until 16 November 2026; from then TARIFF_B (the energy price went up).
TARIFF_A = Tariff(
    currency="SEK",
    energy=EnergyPricing.FIXED,
    fixed_price=Decimal("1.00"),
    energy_tax=Decimal("0.428"),
    vat_rate=Decimal("0.25"),
    session_fee=Decimal("5"),
    groups=GROUPS,
)
TARIFF_B = Tariff(
    currency="SEK",
    energy=EnergyPricing.FIXED,
    fixed_price=Decimal("1.2345"),
    energy_tax=Decimal("0.428"),
    vat_rate=Decimal("0.25"),
    session_fee=Decimal("5"),
    groups=GROUPS,
)
#: A spot tariff whose source had no prices: the fallback is used and the lines are estimated.
TARIFF_SPOT = Tariff(currency="SEK", fallback_price=Decimal("1.50"), vat_rate=Decimal("0.25"))
TARIFF_CHANGE = datetime(2026, 11, 16, tzinfo=TZ)


def local(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A local (Stockholm) time as aware UTC."""
    return datetime(year, month, day, hour, minute, tzinfo=TZ).astimezone(UTC)


@dataclass
class Clock:
    """A settable clock."""

    now: datetime = field(default_factory=lambda: local(2026, 12, 1, 6))

    def __call__(self) -> datetime:
        """Now."""
        return self.now


def slots_of(session_id: str, start: datetime, energy_wh: int) -> list[EnergySlot]:
    """The energy in quarter-hours of at most 2,500 Wh from the quarter-hour of ``start``."""
    first = start.replace(minute=start.minute - start.minute % 15, second=0, microsecond=0)
    slots: list[EnergySlot] = []
    left, index = energy_wh, 0
    while left > 0:
        wh = min(left, 2500)
        begin = first + index * SLOT_LENGTH
        slots.append(
            EnergySlot(
                session_id=session_id,
                start=begin,
                energy_wh=wh,
                max_power_w=10000.0,
                closed_at=begin + SLOT_LENGTH,
            )
        )
        left -= wh
        index += 1
    return slots


@dataclass
class Household:
    """Stores sessions with their costs (as the pricer records them) and bills them."""

    store: SessionStore
    clock: Clock
    sessions: dict[str, Session] = field(default_factory=dict)
    costs: dict[str, SessionCost] = field(default_factory=dict)

    def billing(self, **kw: Any) -> Billing:
        """A billing service on the household's store."""
        return Billing(
            self.store,
            tz=TZ,
            members=lambda: MEMBERS,
            charger_name=lambda charger_id: {"cp-1": "Garage", "cp-2": "Driveway"}.get(
                charger_id, charger_id
            ),
            tariff=lambda: TARIFF_B,
            clock=self.clock,
            **kw,
        )

    async def add(
        self,
        session_id: str,
        member_id: str | None,
        plugged_in: datetime,
        unplugged: datetime,
        energy_wh: int,
        *,
        charger: str = "cp-1",
        tariff: Tariff | None = None,
        priced: bool = True,
    ) -> Session:
        """A stored ended session (charging finished 30 minutes before unplugging) with its
        cost recorded at unplugging, priced with the tariff in force then."""
        slots = slots_of(session_id, plugged_in, energy_wh)
        session = Session(
            id=session_id,
            charger_id=charger,
            connector_id=1,
            plugged_in_at=plugged_in,
            member_id=member_id,
            unplugged_at=unplugged,
            charging_started_at=plugged_in,
            charging_finished_at=unplugged - timedelta(minutes=30),
            transaction_ended_at=unplugged,
            energy_wh=energy_wh,
            charging_duration_s=len(slots) * 900.0,
            slots=slots,
        )
        await self.store.async_save([session])
        self.sessions[session_id] = session
        if priced:
            if tariff is None:
                tariff = TARIFF_A if plugged_in < TARIFF_CHANGE else TARIFF_B
            member = MEMBERS.member(member_id)
            cost = price_session(
                slots,
                [],
                tariff,
                member.tariff_group if member else None,
                SessionFacts(session_id=session_id, energy_wh=energy_wh, tz=TZ),
            )
            await self.store.async_save_cost(
                CostRecord(
                    session_id=session_id,
                    computed_at=unplugged,
                    reason=CostReason.FINAL,
                    cost=cost,
                    tariff=tariff.to_dict(),
                )
            )
            self.costs[session_id] = cost
        return session

    async def reprice(self, session_id: str, tariff: Tariff, at: datetime, why: str) -> SessionCost:
        """Record a new cost of a session as an explicit reprice does (cost and audit row)."""
        session = self.sessions[session_id]
        member = MEMBERS.member(session.member_id)
        cost = price_session(
            session.slots,
            [],
            tariff,
            member.tariff_group if member else None,
            SessionFacts(session_id=session_id, energy_wh=session.energy_wh, tz=TZ),
        )
        before = self.costs[session_id]
        await self.store.async_save_cost(
            CostRecord(
                session_id=session_id,
                computed_at=at,
                reason=CostReason.REPRICE,
                cost=cost,
                tariff=tariff.to_dict(),
                note=why,
                user_id="admin",
            )
        )
        await self.store.async_save_audit(
            [
                AuditEntry(
                    at=at,
                    source=AuditSource.REPRICE,
                    charger_id=session.charger_id,
                    connector_id=1,
                    member_id=session.member_id,
                    reason=str(CostReason.REPRICE),
                    session_id=session_id,
                    user_id="admin",
                    detail=f"{why}: {before.total} -> {cost.total} SEK",
                )
            ]
        )
        self.costs[session_id] = cost
        return cost


async def november(house: Household) -> None:
    """A month with several members, a tariff change on the 16th, a guest, a company car,
    an estimated price, an unattributed session and sessions crossing both month boundaries."""
    await house.add("s-oct", "ben", local(2026, 10, 12, 18), local(2026, 10, 12, 22), 6_000)
    await house.add("s-in", "anna", local(2026, 10, 31, 23), local(2026, 11, 1, 0, 30), 2_222)
    await house.add("s-a1", "anna", local(2026, 11, 3, 18), local(2026, 11, 3, 22), 7_400)
    await house.add(
        "s-b1", "ben", local(2026, 11, 10, 17), local(2026, 11, 10, 23), 11_000, charger="cp-2"
    )
    await house.add("s-g1", "gus", local(2026, 11, 12, 9), local(2026, 11, 12, 11), 5_555)
    await house.add(
        "s-b2",
        "ben",
        local(2026, 11, 14, 20),
        local(2026, 11, 14, 23),
        4_321,
        charger="cp-2",
        tariff=TARIFF_SPOT,
    )
    await house.add(
        "s-c1", "carl", local(2026, 11, 20, 8), local(2026, 11, 20, 17), 20_001, charger="cp-2"
    )
    await house.add("s-a2", "anna", local(2026, 11, 25, 19), local(2026, 11, 25, 21), 3_333)
    await house.add(
        "s-t1", "tina", local(2026, 11, 26, 7), local(2026, 11, 26, 9), 4_000, charger="cp-2"
    )
    await house.add("s-x1", None, local(2026, 11, 27, 7), local(2026, 11, 27, 8), 1_000)
    await house.add("s-mid", "ben", local(2026, 11, 30, 22, 30), local(2026, 12, 1, 6, 30), 9_876)
