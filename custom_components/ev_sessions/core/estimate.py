"""Live estimate of when charging will reach its target.

Remaining energy comes from an energy target, or from a SoC target with the battery capacity
(given, or learnt from the session: energy charged per SoC percent). The rate is the mean power
of the recent window; above ``taper_soc_pct``, when that window shows power falling, the fall
is extrapolated linearly (down to a floor of 10 % of the current power), which is how batteries
taper near full.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
import math

from .model import EngineSettings, Session, Target

type PowerSample = tuple[datetime, float]


def remaining_energy_wh(session: Session, target: Target, soc_pct: float | None) -> float | None:
    """Energy still to charge for ``target``, or ``None`` when it cannot be known."""
    if target.energy_wh is not None:
        return float(target.energy_wh - session.energy_wh)
    if target.soc_pct is None or soc_pct is None:
        return None
    wh_per_pct: float | None = None
    if target.battery_wh:
        wh_per_pct = target.battery_wh / 100.0
    else:
        tracking = session.tracking
        if tracking.soc_start_pct is not None and tracking.soc_start_energy_wh is not None:
            gained = soc_pct - tracking.soc_start_pct
            if gained >= 2.0:
                wh_per_pct = (session.energy_wh - tracking.soc_start_energy_wh) / gained
    if wh_per_pct is None:
        return None
    return (target.soc_pct - soc_pct) * wh_per_pct


def _trend(samples: Sequence[PowerSample]) -> float:
    """Least-squares slope of power over time, W per second."""
    t0 = samples[0][0]
    xs = [(at - t0).total_seconds() for at, _ in samples]
    ys = [p for _, p in samples]
    mean_x = sum(xs) / len(xs)
    mean_y = sum(ys) / len(ys)
    var = sum((x - mean_x) ** 2 for x in xs)
    if var <= 0:
        return 0.0
    return sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / var


def seconds_to_deliver(energy_wh: float, power_w: float, slope_w_per_s: float) -> float:
    """Seconds to deliver ``energy_wh`` from ``power_w`` falling linearly at the given slope.

    The power does not fall below 10 % of ``power_w``; a slope >= 0 means constant power.
    """
    joules = energy_wh * 3600.0
    if slope_w_per_s >= 0:
        return joules / power_w
    floor = power_w * 0.1
    t_floor = (floor - power_w) / slope_w_per_s
    joules_to_floor = (power_w + floor) / 2.0 * t_floor
    if joules <= joules_to_floor:
        disc = power_w * power_w + 2.0 * slope_w_per_s * joules
        return (-power_w + math.sqrt(max(disc, 0.0))) / slope_w_per_s
    return t_floor + (joules - joules_to_floor) / floor


def estimate_end(
    session: Session,
    target: Target | None,
    *,
    soc_pct: float | None,
    recent: Sequence[PowerSample],
    now: datetime,
    settings: EngineSettings,
) -> datetime | None:
    """When charging will reach ``target``; ``None`` when unknown or not charging."""
    if target is None or not session.tracking.charging or not recent:
        return None
    remaining = remaining_energy_wh(session, target, soc_pct)
    if remaining is None:
        return None
    if remaining <= 0:
        return now
    power = sum(p for _, p in recent) / len(recent)
    if power < settings.charging_threshold_w:
        return None
    slope = 0.0
    if soc_pct is not None and soc_pct >= settings.taper_soc_pct and len(recent) >= 3:
        slope = _trend(recent)
        power = recent[-1][1]  # follow the trend from where it is now
        if power < settings.charging_threshold_w:
            return None
    return now + timedelta(seconds=seconds_to_deliver(remaining, power, slope))
