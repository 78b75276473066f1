"""Exact energy accounting from meter readings.

A :class:`ConnectorMeter` turns the readings of one connector into non-negative integer Wh
deltas. Sources in order of preference: a lifetime register (``energy_register_wh``), a
per-session register (``session_energy_wh``), and only when the connector never reported a
register, power integrated over time (trapezoids, the fraction carried over so nothing is lost
to rounding).

Register handling:

* a drop is a **meter reset**: counting continues from the new value (never negative); if the
  register comes back to its old value within ``glitch_window`` the drop was a glitch and only
  the increase above the old value counts;
* a drop from near the top of ``register_modulus`` to a small value is a **rollover**;
* a jump larger than ``max_plausible_power_w`` allows is not counted (rebased);
* a reading older than the last applied one is **out of order** and one identical to a recent
  one is **replayed**: both are ignored, except a register reading at most
  ``future_tolerance`` older whose register moved forward: the previous reading was stamped
  ahead (a charger clock corrected by NTP), and the register says the energy is new, so it
  counts (as taken at the last reading's time). Counting never freezes after a clock jump.

A :class:`LifetimeCounter` sums the deltas of a charger's connectors into a strictly
non-decreasing total.

:func:`meter_slot` and :func:`close_slot` split a session's energy into UTC quarter-hour slots
by the rule of :mod:`.slots` (a slot holds the energy of the readings taken within it), and
:func:`slots_from_profile` derives the slots of a session stored before slots existed.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from .model import AnomalyKind, EngineSettings, ProfilePoint, Session, from_iso, to_iso
from .slots import EnergySlot, slot_start

type _Key = tuple[datetime, int | None, int | None, float | None]

#: Number of recent readings remembered to recognise replays.
_RECENT = 32


@dataclass(frozen=True, slots=True, kw_only=True)
class Reading:
    """Result of one reading: the energy to account and what was noticed."""

    delta_wh: int = 0
    applied: bool = True  # False: ignored (out of order, replayed)
    source: str | None = None  # "register", "session_register", "power"
    anomaly: AnomalyKind | None = None
    detail: str = ""
    since_last_s: float | None = None  # seconds since the previous applied reading
    rebased: bool = False  # the register dropped and counting restarted from it


@dataclass(slots=True, kw_only=True)
class ConnectorMeter:
    """Continuity of one connector's meter readings (persisted with the lifetime counter)."""

    last_at: datetime | None = None
    register_wh: int | None = None
    register_at: datetime | None = None
    pre_drop_wh: int | None = None  # register before an unconfirmed drop
    pre_drop_at: datetime | None = None
    session_register_wh: int | None = None
    power_w: float | None = None
    power_at: datetime | None = None
    carry_wh: float = 0.0
    has_register: bool = False
    _recent: deque[_Key] = field(default_factory=lambda: deque(maxlen=_RECENT))

    # ------------------------------------------------------------------ readings

    def read(
        self,
        at: datetime,
        settings: EngineSettings,
        *,
        register_wh: int | None = None,
        session_register_wh: int | None = None,
        power_w: float | None = None,
        boundary: bool = False,
        slack: timedelta = timedelta(0),
    ) -> Reading:
        """Apply one reading taken at ``at``.

        ``boundary`` marks a reading at a transaction start, where a register drop is expected
        (chargers with per-session registers start at 0) and is not an anomaly. ``slack`` is
        time that may have passed beyond what the stamps say (a reading re-stamped because the
        charger's clock was ahead): the plausibility of a register jump allows for it.
        """
        key: _Key = (at, register_wh, session_register_wh, power_w)
        if self.last_at is not None and at <= self.last_at:
            if key in self._recent:
                return Reading(applied=False, anomaly=AnomalyKind.REPLAYED)
            if at < self.last_at and not self._moved_forward(at, register_wh, settings):
                return Reading(
                    applied=False,
                    anomaly=AnomalyKind.OUT_OF_ORDER,
                    detail=f"{at.isoformat()} before {self.last_at.isoformat()}",
                )
        skewed = self.last_at is not None and at < self.last_at
        if self.last_at is not None and skewed:
            at = self.last_at  # time does not run backwards for this meter
        since = None if self.last_at is None else (at - self.last_at).total_seconds()
        self._recent.append(key)
        if register_wh is not None:
            if skewed:
                slack += settings.future_tolerance
            result = self._read_register(at, register_wh, settings, boundary=boundary, slack=slack)
            if session_register_wh is not None:
                self.session_register_wh = session_register_wh
        elif session_register_wh is not None:
            result = self._read_session_register(session_register_wh, boundary=boundary)
        elif power_w is not None and not self.has_register:
            result = self._integrate(at, power_w, settings)
        else:
            result = Reading()
        if power_w is not None:
            self.power_w = power_w
            self.power_at = at
        self.last_at = at
        return Reading(
            delta_wh=result.delta_wh,
            source=result.source,
            anomaly=result.anomaly,
            detail=result.detail,
            since_last_s=since,
            rebased=result.rebased,
        )

    def _moved_forward(
        self, at: datetime, register_wh: int | None, settings: EngineSettings
    ) -> bool:
        """An older-stamped register reading that must count: its register moved forward.

        Only within ``future_tolerance`` of the last reading and with no unconfirmed register
        drop pending (a replayed reading from before a meter reset must not count twice).
        """
        return (
            self.last_at is not None
            and register_wh is not None
            and self.register_wh is not None
            and register_wh > self.register_wh
            and self.pre_drop_wh is None
            and self.last_at - at <= settings.future_tolerance
        )

    def heal_clock(self, now: datetime, tolerance: timedelta) -> bool:
        """Pull times stamped more than ``tolerance`` ahead of ``now`` back to ``now``.

        State saved while a future-stamped reading was accepted (before such stamps were
        refused) would otherwise make every later reading out of order. Returns whether any
        time was pulled back.
        """
        limit = now + tolerance
        healed = False
        if self.last_at is not None and self.last_at > limit:
            self.last_at, healed = now, True
        if self.register_at is not None and self.register_at > limit:
            self.register_at, healed = now, True
        if self.pre_drop_at is not None and self.pre_drop_at > limit:
            self.pre_drop_at, healed = now, True
        if self.power_at is not None and self.power_at > limit:
            self.power_at, healed = now, True
        return healed

    def start_session(self) -> None:
        """A new session starts: a per-session register counts from 0 again."""
        self.session_register_wh = 0

    def _read_register(
        self,
        at: datetime,
        value: int,
        settings: EngineSettings,
        *,
        boundary: bool,
        slack: timedelta = timedelta(0),
    ) -> Reading:
        self.has_register = True
        prev, prev_at = self.register_wh, self.register_at
        self.register_wh, self.register_at = value, at
        if prev is None or prev_at is None:
            return Reading(source="register")
        # ``slack``: the real time since the previous reading is unknown (it was stamped ahead)
        dt = max((at - prev_at).total_seconds(), 0.0) + slack.total_seconds()
        plausible = settings.max_plausible_power_w * dt / 3600.0 + settings.jump_slack_wh
        pre_drop = self._pre_drop(at, settings)
        if pre_drop is not None and value >= pre_drop:
            # The register came back: the drop was a glitch; count only what is new.
            self.pre_drop_wh = self.pre_drop_at = None
            return Reading(delta_wh=value - pre_drop, source="register")
        if value >= prev:
            delta = value - prev
            if delta > plausible:
                return Reading(
                    source="register",
                    anomaly=AnomalyKind.IMPLAUSIBLE_JUMP,
                    detail=f"register {prev} -> {value} Wh in {dt:.0f} s",
                    rebased=True,
                )
            if delta > 0:
                self.pre_drop_wh = self.pre_drop_at = None  # a reset is confirmed
            return Reading(delta_wh=delta, source="register")
        wrapped = value + settings.register_modulus - prev
        if prev >= settings.register_modulus - settings.rollover_window_wh and wrapped <= plausible:
            return Reading(
                delta_wh=wrapped,
                source="register",
                anomaly=AnomalyKind.ROLLOVER,
                detail=f"register {prev} -> {value} Wh",
            )
        if boundary:
            return Reading(source="register", rebased=True)
        if self.pre_drop_wh is None:
            self.pre_drop_wh, self.pre_drop_at = prev, at
        return Reading(
            source="register",
            anomaly=AnomalyKind.METER_RESET,
            detail=f"register {prev} -> {value} Wh",
            rebased=True,
        )

    def _pre_drop(self, at: datetime, settings: EngineSettings) -> int | None:
        if self.pre_drop_wh is None or self.pre_drop_at is None:
            return None
        if at - self.pre_drop_at > settings.glitch_window:
            self.pre_drop_wh = self.pre_drop_at = None
            return None
        return self.pre_drop_wh

    def _read_session_register(self, value: int, *, boundary: bool) -> Reading:
        self.has_register = True
        prev = self.session_register_wh
        self.session_register_wh = value
        if prev is None:
            return Reading(source="session_register")
        if value >= prev:
            return Reading(delta_wh=value - prev, source="session_register")
        if boundary:
            return Reading(source="session_register", rebased=True)
        return Reading(
            source="session_register",
            anomaly=AnomalyKind.METER_RESET,
            detail=f"session register {prev} -> {value} Wh",
            rebased=True,
        )

    def _integrate(self, at: datetime, power_w: float, settings: EngineSettings) -> Reading:
        prev_w, prev_at = self.power_w, self.power_at
        if prev_w is None or prev_at is None:
            return Reading(source="power")
        dt = (at - prev_at).total_seconds()
        if dt <= 0:
            return Reading(source="power")
        if dt > settings.gap_after.total_seconds():
            return Reading(source="power", anomaly=AnomalyKind.GAP, detail=f"{dt:.0f} s")
        energy = (max(prev_w, 0.0) + max(power_w, 0.0)) / 2.0 * dt / 3600.0 + self.carry_wh
        whole = int(energy + 1e-9)  # 2.999999... from float sums is 3
        self.carry_wh = energy - whole
        return Reading(delta_wh=whole, source="power")

    # ------------------------------------------------------------------ persistence

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly state (datetimes as ISO strings)."""
        return {
            "last_at": to_iso(self.last_at),
            "register_wh": self.register_wh,
            "register_at": to_iso(self.register_at),
            "pre_drop_wh": self.pre_drop_wh,
            "pre_drop_at": to_iso(self.pre_drop_at),
            "session_register_wh": self.session_register_wh,
            "power_w": self.power_w,
            "power_at": to_iso(self.power_at),
            "carry_wh": self.carry_wh,
            "has_register": self.has_register,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ConnectorMeter:
        """Rebuild from :meth:`to_dict` output."""
        return cls(
            last_at=from_iso(data.get("last_at")),
            register_wh=data.get("register_wh"),
            register_at=from_iso(data.get("register_at")),
            pre_drop_wh=data.get("pre_drop_wh"),
            pre_drop_at=from_iso(data.get("pre_drop_at")),
            session_register_wh=data.get("session_register_wh"),
            power_w=data.get("power_w"),
            power_at=from_iso(data.get("power_at")),
            carry_wh=float(data.get("carry_wh") or 0.0),
            has_register=bool(data.get("has_register")),
        )


@dataclass(slots=True, kw_only=True)
class LifetimeCounter:
    """A charger's lifetime energy: never decreases (restarts, resets, replaced hardware).

    Deltas of connectors 1..n are summed. Connector 0 (a station meter) counts only while no
    connector has reported energy of its own, so the two are never added together.
    """

    charger_id: str
    total_wh: int = 0
    meters: dict[int, ConnectorMeter] = field(default_factory=dict)
    connector_energy: bool = False

    def meter(self, connector_id: int) -> ConnectorMeter:
        """The meter state of a connector (created on first use)."""
        meter = self.meters.get(connector_id)
        if meter is None:
            meter = self.meters[connector_id] = ConnectorMeter()
        return meter

    def add(self, connector_id: int, reading: Reading) -> bool:
        """Account a reading's delta; returns whether the total changed."""
        if connector_id > 0 and reading.source is not None:
            self.connector_energy = True
        if reading.delta_wh <= 0 or (connector_id == 0 and self.connector_energy):
            return False
        self.total_wh += reading.delta_wh
        return True

    def to_dict(self) -> dict[str, Any]:
        """JSON-friendly state of the meters (the total is stored in its own column)."""
        return {
            "connector_energy": self.connector_energy,
            "meters": {str(cid): m.to_dict() for cid, m in self.meters.items()},
        }

    @classmethod
    def from_dict(cls, charger_id: str, total_wh: int, data: dict[str, Any]) -> LifetimeCounter:
        """Rebuild from the stored total and :meth:`to_dict` output."""
        meters = {
            int(cid): ConnectorMeter.from_dict(m) for cid, m in data.get("meters", {}).items()
        }
        return cls(
            charger_id=charger_id,
            total_wh=total_wh,
            meters=meters,
            connector_energy=bool(data.get("connector_energy")),
        )

    def heal_clock(self, now: datetime, tolerance: timedelta) -> bool:
        """:meth:`ConnectorMeter.heal_clock` for every connector; whether any time moved."""
        healed = [meter.heal_clock(now, tolerance) for meter in self.meters.values()]  # all
        return any(healed)


# --------------------------------------------------------------------------- energy slots


def _higher(current: float | None, power_w: float | None) -> float | None:
    if power_w is None or (current is not None and current >= power_w):
        return current
    return power_w


def _kept(slot: EnergySlot) -> bool:
    """A slot worth a row: the session drew energy, or power, within it."""
    return slot.energy_wh > 0 or (slot.max_power_w is not None and slot.max_power_w > 0)


def meter_slot(
    session: Session,
    at: datetime,
    *,
    energy_wh: int = 0,
    power_w: float | None = None,
    now: datetime,
) -> EnergySlot | None:
    """Count a reading taken at ``at`` (its energy, its power) in the session's slots.

    The reading goes to the slot of ``at``, but never to one before the open slot (or, with
    none open, before the last closed one). A reading in a later quarter-hour first closes the
    open slot (at ``now``, the hub's clock); that slot is returned. The caller adds
    ``energy_wh`` to ``session.energy_wh`` too.
    """
    start = slot_start(at)
    current = session.open_slot
    if current is not None:
        floor: datetime | None = current.start
    else:
        floor = session.slots[-1].start if session.slots else None
    if floor is not None and start < floor:
        start = floor
    closed = None
    if current is not None and start > current.start:
        closed = close_slot(session, now)
        current = None
    if current is None:
        current = EnergySlot(session_id=session.id, start=start, energy_wh=0)
    power = _higher(current.max_power_w, power_w)
    if energy_wh or power != current.max_power_w or session.open_slot is None:
        session.open_slot = EnergySlot(  # (not dataclasses.replace: this runs per reading)
            session_id=current.session_id,
            start=current.start,
            energy_wh=current.energy_wh + energy_wh,
            max_power_w=power,
        )
    return closed


def close_slot(session: Session, now: datetime) -> EnergySlot | None:
    """Close the session's open slot at ``now``; the slot, or ``None`` when none was kept.

    A slot without energy or power is dropped (nothing was drawn in that quarter-hour).
    """
    current = session.open_slot
    if current is None:
        return None
    session.open_slot = None
    if not _kept(current):
        return None
    closed = replace(current, closed_at=now)
    session.slots.append(closed)
    return closed


def slots_from_profile(
    session_id: str,
    points: Sequence[ProfilePoint],
    energy_wh: int,
    *,
    fallback_at: datetime,
    ended_at: datetime | None,
) -> tuple[list[EnergySlot], EnergySlot | None]:
    """The closed slots and the open slot of a session stored before slots were metered.

    The stored power profile is all that is left of its readings, so the rule of
    :mod:`.slots` is applied to its points: the energy between two points counts in the slot
    of the later one, a point's power in its own slot. A slot closes at the first point of the
    next slot, the last one at ``ended_at`` (still open when ``ended_at`` is ``None``). Energy
    the profile does not account for (no profile, or one that was cut) is put in the last slot
    (one at ``fallback_at`` if there is none), energy it has too much of is taken from the last
    slots: the slots always sum to ``energy_wh``.
    """
    starts: list[datetime] = []
    energy: dict[datetime, int] = {}
    power: dict[datetime, float | None] = {}
    closes: dict[datetime, datetime] = {}
    previous: ProfilePoint | None = None
    for point in points:
        start = slot_start(point.at)
        if starts and start < starts[-1]:
            start = starts[-1]
        if not starts or start != starts[-1]:
            if starts:
                closes[starts[-1]] = point.at
            starts.append(start)
            energy[start], power[start] = 0, None
        if previous is not None:
            energy[start] += max(point.energy_wh - previous.energy_wh, 0)
        power[start] = _higher(power[start], point.power_w)
        previous = point
    if not starts:
        start = slot_start(fallback_at)
        starts.append(start)
        energy[start], power[start] = 0, None
    _reconcile(starts, energy, energy_wh)
    slots = [
        EnergySlot(
            session_id=session_id,
            start=start,
            energy_wh=energy[start],
            max_power_w=power[start],
            closed_at=closes.get(start, ended_at),
        )
        for start in starts
    ]
    open_slot = slots.pop() if ended_at is None else None
    return [slot for slot in slots if _kept(slot)], open_slot


def _reconcile(starts: list[datetime], energy: dict[datetime, int], total_wh: int) -> None:
    """Make the slots' energy sum to ``total_wh`` (see :func:`slots_from_profile`)."""
    missing = max(total_wh, 0) - sum(energy.values())
    if missing > 0:
        energy[starts[-1]] += missing
    for start in reversed(starts):
        if missing >= 0:
            break
        taken = min(energy[start], -missing)
        energy[start] -= taken
        missing += taken
