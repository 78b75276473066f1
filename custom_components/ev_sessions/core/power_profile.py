"""Power profile of a session: compaction while recording and a compact stored form.

Every point carries the exact session energy, so dropping points never loses energy accuracy.
While recording, a run of points whose power (and currents, SoC) stay within tolerance of the
run's first point is represented by its first and last point only; a point is still kept at
least every ``profile_max_interval``.

Stored form: JSON of column arrays with delta-encoded integers (times in ms, energy in Wh,
power in W, currents in 0.1 A, SoC in 0.1 %), typically 10-30 bytes per kept point. The store
appends it in chunks (one per flush, see :mod:`.storage.profile_rows`): compaction only ever
replaces the last point, which is kept out of the chunks until a later point follows it, so a
stored chunk never changes and the profile read back is the one compacted while recording.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
import json
from typing import Any

from .model import EngineSettings, Phases, ProfilePoint

_FORMAT = 1


def _close(a: float | None, b: float | None, tolerance: float) -> bool:
    if a is None or b is None:
        return a is b
    return abs(a - b) <= tolerance


def _similar(a: ProfilePoint, b: ProfilePoint, settings: EngineSettings) -> bool:
    if not _close(a.power_w, b.power_w, settings.profile_power_tolerance_w):
        return False
    if not _close(a.soc_pct, b.soc_pct, 0.5):
        return False
    if a.current_a is None or b.current_a is None:
        return a.current_a is b.current_a
    tol = settings.profile_current_tolerance_a
    return all(_close(x, y, tol) for x, y in zip(a.current_a, b.current_a, strict=True))


def append_point(points: list[ProfilePoint], point: ProfilePoint, settings: EngineSettings) -> None:
    """Append ``point``, replacing the last one when it only extended a flat run."""
    if len(points) >= 2:
        anchor, tail = points[-2], points[-1]
        if (
            point.at - anchor.at <= settings.profile_max_interval
            and _similar(tail, anchor, settings)
            and _similar(point, anchor, settings)
        ):
            points[-1] = point
            return
    points.append(point)


# --------------------------------------------------------------------------- packing


def _scaled(value: float | None, scale: int) -> int | None:
    return None if value is None else round(value * scale)


def _deltas(values: list[int]) -> list[int]:
    out: list[int] = []
    prev = 0
    for value in values:
        out.append(value - prev)
        prev = value
    return out


def _undeltas(values: list[int]) -> list[int]:
    out: list[int] = []
    total = 0
    for value in values:
        total += value
        out.append(total)
    return out


def pack_profile(points: Sequence[ProfilePoint]) -> str:
    """Encode points into the compact stored JSON text."""
    if not points:
        return ""
    base = points[0].at
    data: dict[str, Any] = {
        "v": _FORMAT,
        "t0": base.astimezone(UTC).isoformat(),
        "t": _deltas([round((p.at - base).total_seconds() * 1000) for p in points]),
        "e": _deltas([p.energy_wh for p in points]),
    }
    powers = [_scaled(p.power_w, 1) for p in points]
    if any(v is not None for v in powers):
        data["p"] = powers
    socs = [_scaled(p.soc_pct, 10) for p in points]
    if any(v is not None for v in socs):
        data["s"] = socs
    if any(p.current_a is not None for p in points):
        data["c"] = [
            None if p.current_a is None else [_scaled(x, 10) for x in p.current_a] for p in points
        ]
    return json.dumps(data, separators=(",", ":"))


def unpack_profile(text: str | None) -> list[ProfilePoint]:
    """Decode :func:`pack_profile` output."""
    if not text:
        return []
    data = json.loads(text)
    base = datetime.fromisoformat(data["t0"])
    times = _undeltas(data["t"])
    energies = _undeltas(data["e"])
    count = len(times)
    powers: list[int | None] = data.get("p") or [None] * count
    socs: list[int | None] = data.get("s") or [None] * count
    currents: list[list[int | None] | None] = data.get("c") or [None] * count
    return [
        ProfilePoint(
            at=base + timedelta(milliseconds=times[i]),
            energy_wh=energies[i],
            power_w=None if powers[i] is None else float(powers[i] or 0),
            soc_pct=None if socs[i] is None else (socs[i] or 0) / 10,
            current_a=_phases(currents[i]),
        )
        for i in range(count)
    ]


def _phases(values: list[int | None] | None) -> Phases | None:
    if values is None:
        return None
    l1, l2, l3 = (None if v is None else v / 10 for v in values)
    return (l1, l2, l3)
