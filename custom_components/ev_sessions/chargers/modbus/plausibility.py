"""Catch a register that cannot be what the profile says (wrong word order, wrong scale).

A profile with the wrong word order reads a 32-bit energy register as ``low * 65536 + high``:
every Wh that flows moves the reading by 65,536 Wh, so the session engine refuses every
reading as an implausible jump and meters nothing. The adapter sees it first: consecutive
rises of an energy register that no charger could deliver in the time between two polls,
neither at its maximum power nor at the power it measures (up to what any AC charger can
draw), are reported once as a
``ProtocolDeviation`` of kind ``implausible_register:<quantity>``.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The kind prefix of the deviation (the HA glue raises a repair for it).
IMPLAUSIBLE_REGISTER = "implausible_register"
#: Volts per phase times phases: the charger's maximum power from its maximum current.
_WATTS_PER_AMP = 3 * 250.0
#: Headroom over the fastest plausible rise (meters, clocks and polls are not exact).
_MARGIN = 1.5
#: A measured power counts only up to what any AC charger can draw (80 A on three phases): a
#: power register decoded with the same wrong word order reads hundreds of MW.
_AC_CEILING_W = 80 * _WATTS_PER_AMP


@dataclass(frozen=True, slots=True)
class ImplausibleRises:
    """A register that rose impossibly fast ``count`` readings in a row."""

    previous_wh: float
    value_wh: float
    seconds: float
    count: int
    allowed_w: float


@dataclass(slots=True, kw_only=True)
class RiseWatch:
    """Watches one energy register. ``after`` impossible rises in a row (without a plausible
    rise between them) are a finding; a reading that stays or falls changes nothing.

    ``slack_wh`` is always allowed on top (device meters step, polls are late).
    """

    max_power_w: float
    slack_wh: float = 2000.0
    after: int = 3
    _last: float | None = None
    _last_at: float | None = None
    _last_power: float | None = None
    _streak: int = 0

    def feed(self, value_wh: float, at_s: float, power_w: float | None) -> ImplausibleRises | None:
        """One reading (``at_s`` on a monotonic clock in device seconds); the finding when this
        reading completes a run of ``after`` impossible rises."""
        previous, previous_at, previous_power = self._last, self._last_at, self._last_power
        self._last, self._last_at, self._last_power = value_wh, at_s, power_w
        if previous is None or previous_at is None or value_wh <= previous:
            return None
        seconds = max(at_s - previous_at, 0.0)
        measured = min(max(power_w or 0.0, previous_power or 0.0), _AC_CEILING_W)
        allowed_w = max(self.max_power_w, measured) * _MARGIN
        if value_wh - previous <= allowed_w * seconds / 3600.0 + self.slack_wh:
            self._streak = 0
            return None
        self._streak += 1
        if self._streak != self.after:
            return None
        return ImplausibleRises(previous, value_wh, seconds, self._streak, allowed_w)


def max_power_w(max_current_a: float) -> float:
    """The most a charger with this maximum current can deliver (three phases)."""
    return max_current_a * _WATTS_PER_AMP
