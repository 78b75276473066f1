"""Watchdog duties: fed on time while running, device falls back once the adapter stops."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from custom_components.ev_sessions.chargers.events import ConnectorState

from .helpers import rig, wait_state, wait_until

#: model -> (address written as keep-alive, expected period in device seconds, safe current)
#: ABB has no write: its keep-alive is the polling itself.
DUTIES: dict[str, tuple[int | None, float, float]] = {
    "alfen": (1210, 25, 6),  # setpoint rewritten well within the 60 s validity
    "vestel": (6000, 5, 6),  # failsafe timeout 20 s / 4
    "webasto_next": (6000, 10, 6),  # comTimeout 20 s / 2
    "keba": (5018, 15, 6),  # failsafe timeout 30 s mirrored every 30 / 2
    "abb": (None, 10, 0),  # polls every 10 s < 60 s comm timeout; no fallback limit: stops
}


@pytest.mark.parametrize("model", sorted(DUTIES))
async def test_watchdog_fed_then_fallback(socket_enabled: None, model: str) -> None:
    """~50 device seconds with the adapter running: no fallback; then stop it: fallback."""
    address, period, safe = DUTIES[model]
    async with rig(model, rate=100, watchdog=True) as r:
        sim = r.sim
        sim.plug_in()
        sim.start_charging(7000)
        await wait_state(r.handler, ConnectorState.CHARGING)
        await asyncio.sleep(0.5)
        assert sim.physics.fallbacks == 0
        assert not sim.physics.watchdog_expired
        assert sim.effective_limit == 32
        if address is not None:
            feeds = sim.writes_to(address)
            assert len(feeds) >= 0.5 * 100 / period - 2, feeds
            gaps = [b.at - a.at for a, b in itertools.pairwise(feeds)]
            assert max(gaps) <= period * 1.5 + 2, gaps
            assert min(gaps) >= period * 0.5, gaps  # no spamming either
        if model == "keba":
            assert {w.values for w in sim.writes_to(5018)} == {(30,)}
            assert sim.rate_violations == 0
        await r.charger.stop()
        await wait_until(lambda: sim.physics.watchdog_expired, timeout=3, what="fallback")
        assert sim.effective_limit == safe
