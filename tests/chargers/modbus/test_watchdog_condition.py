"""A watchdog duty with a condition: the lifebit is written only while the charger reports
remote control enabled (issue 11)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from custom_components.ev_sessions.chargers.modbus import ProfileError, custom_profile

from .helpers import rig, wait_until
from .test_custom import ACME

LIFEBIT, REMOTE_CONTROL = 300, 301
#: A lifebit written every 5 s, only while register 301 says remote control is on (1).
WITH_CONDITION: dict[str, Any] = {
    **ACME,
    "watchdogs": [
        {
            "action": "write_value",
            "register": {"address": LIFEBIT},
            "value": 1,
            "period_s": 5,
            "when": {"register": {"address": REMOTE_CONTROL}, "equals": 1},
        }
    ],
}


async def test_lifebit_written_only_while_remote_control_is_enabled(socket_enabled: None) -> None:
    """Remote control off: no lifebit; on: the lifebit every period; off again: none."""
    async with rig(custom_profile(WITH_CONDITION)) as r:
        sim = r.sim
        await asyncio.sleep(0.3)  # six periods (5 s x time scale 0.01)
        assert sim.writes_to(LIFEBIT) == []
        sim.set_register(REMOTE_CONTROL, 1)
        await wait_until(lambda: len(sim.writes_to(LIFEBIT)) >= 3, what="lifebit writes")
        assert {w.values for w in sim.writes_to(LIFEBIT)} == {(1,)}
        sim.set_register(REMOTE_CONTROL, 0)
        await asyncio.sleep(0.1)  # a duty already past its check may still write once
        written = len(sim.writes_to(LIFEBIT))
        await asyncio.sleep(0.3)
        assert len(sim.writes_to(LIFEBIT)) == written


async def test_unconditional_lifebit_is_always_written(socket_enabled: None) -> None:
    """Without ``when`` the duty runs as before, whatever the register says."""
    profile: dict[str, Any] = {
        **WITH_CONDITION,
        "watchdogs": [dict(WITH_CONDITION["watchdogs"][0])],
    }
    del profile["watchdogs"][0]["when"]
    async with rig(custom_profile(profile)) as r:
        await wait_until(lambda: len(r.sim.writes_to(LIFEBIT)) >= 3, what="lifebit writes")


def test_a_condition_without_a_test_is_refused_with_its_path() -> None:
    """The condition needs min, equals or any_bits, like the state's conditions."""
    bad = {
        **WITH_CONDITION,
        "watchdogs": [{**WITH_CONDITION["watchdogs"][0], "when": {"register": {"address": 301}}}],
    }
    with pytest.raises(ProfileError, match=r"watchdogs\[0\]\.when"):
        custom_profile(bad)
