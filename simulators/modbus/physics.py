"""The electrical side of a simulated charger: vehicle, setpoint, meter, watchdog."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from .clock import SimClock

VOLTAGE_V = 230.0
MIN_CURRENT_A = 6.0


class Phase(StrEnum):
    """What the simulated socket is doing."""

    AVAILABLE = "available"  # nothing plugged (IEC A)
    CONNECTED = "connected"  # plugged, not charged yet (IEC B)
    CHARGING = "charging"  # IEC C
    SUSPENDED_EV = "suspended_ev"  # the vehicle stopped drawing (IEC B after C)
    SUSPENDED_EVSE = "suspended_evse"  # the vehicle wants energy, the charger offers none
    FAULTED = "faulted"


@dataclass(slots=True, kw_only=True)
class WatchdogConfig:
    """A device's communication watchdog: without a feed for ``timeout_s`` -> ``safe_current_a``."""

    timeout_s: float
    safe_current_a: float


class EvPhysics:
    """Integrates energy over simulated time; every register value derives from here."""

    def __init__(
        self,
        clock: SimClock,
        *,
        phases: int = 3,
        max_current_a: float = 32.0,
        lifetime_wh: float = 0.0,
        watchdog: WatchdogConfig | None = None,
    ) -> None:
        """Start unplugged with the setpoint at the maximum."""
        self.clock = clock
        self.phases = phases
        self.max_current_a = max_current_a
        self.setpoint_a = max_current_a
        self.enabled = True
        self.plugged = False
        self.fault = False
        self.demand_w = 0.0
        self.has_charged = False
        self.energy_wh = lifetime_wh
        self.session_wh = 0.0
        self.last_session_wh = 0.0
        self.total_sessions_wh = 0.0  # never reset (KEBA's 1502)
        self.tag: str = ""
        self.watchdog = watchdog
        self.last_feed = clock.now()
        self.fallbacks = 0  # times the watchdog expired
        self._was_expired = False
        self._t = clock.now()

    # -- watchdog
    def feed(self) -> None:
        """The master proved it is alive."""
        self.update()
        self.last_feed = self.clock.now()
        self._was_expired = False

    def _expired_at(self, t: float) -> bool:
        if self.watchdog is None:
            return False
        return t - self.last_feed > self.watchdog.timeout_s

    @property
    def watchdog_expired(self) -> bool:
        """True while the device runs on its safe current."""
        return self._expired_at(self.clock.now())

    def _limit_at(self, t: float) -> float:
        if self.watchdog is not None and self._expired_at(t):
            return min(self.watchdog.safe_current_a, self.max_current_a)
        return min(self.setpoint_a, self.max_current_a)

    def _power_at(self, t: float) -> float:
        limit = self._limit_at(t)
        offering = self.enabled and not self.fault and limit >= MIN_CURRENT_A
        if not self.plugged or not offering or self.demand_w <= 0:
            return 0.0
        return min(self.demand_w, limit * VOLTAGE_V * self.phases)

    @property
    def effective_limit_a(self) -> float:
        """The current actually offered."""
        return self._limit_at(self.clock.now())

    # -- derived values
    @property
    def offering(self) -> bool:
        """The EVSE offers at least the IEC minimum."""
        return self.enabled and not self.fault and self.effective_limit_a >= MIN_CURRENT_A

    @property
    def power_w(self) -> float:
        """Power flowing now."""
        return self._power_at(self.clock.now())

    @property
    def current_a(self) -> float:
        """Per-phase current."""
        return self.power_w / (VOLTAGE_V * self.phases)

    @property
    def phase(self) -> Phase:
        """What the socket is doing."""
        if self.fault:
            return Phase.FAULTED
        if not self.plugged:
            return Phase.AVAILABLE
        if self.demand_w > 0:
            return Phase.CHARGING if self.offering else Phase.SUSPENDED_EVSE
        return Phase.SUSPENDED_EV if self.has_charged else Phase.CONNECTED

    # -- time
    def update(self) -> None:
        """Integrate energy up to now (piecewise constant power between calls)."""
        now = self.clock.now()
        dt = now - self._t
        if dt > 0:
            power = self._power_at(self._t)  # constant over the step, as it was at its start
            wh = power * dt / 3600.0
            self.energy_wh += wh
            self.session_wh += wh
            self.total_sessions_wh += wh
            if power > 0:
                self.has_charged = True
        if self.watchdog_expired and not self._was_expired:
            self.fallbacks += 1
            self._was_expired = True
        self._t = now

    def advance(self, seconds: float) -> None:
        """Let ``seconds`` of device time pass."""
        self.update()
        self.clock.advance(seconds)
        self.update()

    # -- vehicle actions
    def plug_in(self) -> None:
        """A vehicle is connected; a new session begins."""
        self.update()
        self.plugged = True
        self.has_charged = False
        self.session_wh = 0.0

    def start_charging(self, power_w: float) -> None:
        """The vehicle asks for ``power_w``."""
        self.update()
        self.demand_w = power_w
        if self.power_w > 0:
            self.has_charged = True

    def stop_charging(self) -> None:
        """The vehicle stops drawing (full, or paused by the car)."""
        self.update()
        self.demand_w = 0.0

    def unplug(self) -> None:
        """The vehicle leaves."""
        self.update()
        self.plugged = False
        self.demand_w = 0.0
        self.last_session_wh = self.session_wh
        self.tag = ""
