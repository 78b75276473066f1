"""The current arbiter: the smallest wish wins, lower at once, rises held back, releases once."""

from __future__ import annotations

import asyncio
from datetime import timedelta
import gc
import warnings

import pytest

from custom_components.ev_sessions.chargers.events import ChargerNotConnectedError, CommandResult
from custom_components.ev_sessions.core import (
    ArbiterSettings,
    CurrentArbiter,
    LimitSource,
)


class Charger:
    """A charger's side of the arbiter: records what it was sent; can refuse or be away."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, float | None]] = []
        self.refuse = False
        self.away = False
        self.applies: float | None = None  # what it says it applied (None: says nothing)

    async def send(self, charger_id: str, amps: float | None) -> CommandResult:
        if self.away:
            raise ChargerNotConnectedError(charger_id)
        if self.refuse:
            return CommandResult(accepted=False, status="Rejected")
        self.sent.append((charger_id, amps))
        data = {} if self.applies is None else {"limit_a": self.applies}
        return CommandResult(accepted=True, status="Accepted", data=data)


def arbiter(charger: Charger, *, step: float = 1.0, interval_s: float = 0.0) -> CurrentArbiter:
    settings = ArbiterSettings(step_a=step, min_interval=timedelta(seconds=interval_s))
    return CurrentArbiter(charger.send, settings=settings)


async def test_the_smallest_wish_wins_and_says_whose_it_is() -> None:
    charger = Charger()
    current = arbiter(charger)
    current.request("cp", LimitSource.USER, 16)
    current.request("cp", LimitSource.BUDGET, 10)
    current.request("cp", LimitSource.PLAN, 13)
    await current.async_wait_idle()
    decision = current.decision("cp")
    assert decision.target_a == 10
    assert decision.decided_by is LimitSource.BUDGET
    assert decision.applied_a == 10
    assert decision.as_dict()["wishes"] == {"user": 16.0, "budget": 10.0, "plan": 13.0}
    assert charger.sent[-1] == ("cp", 10.0)
    # Withdrawing the budget's wish lets the plan's through.
    current.request("cp", LimitSource.BUDGET, None)
    await current.async_wait_idle()
    assert charger.sent[-1] == ("cp", 13.0)
    assert current.decision("cp").decided_by is LimitSource.PLAN


async def test_a_lower_current_goes_at_once_a_rise_waits_for_the_interval() -> None:
    charger = Charger()
    current = arbiter(charger, interval_s=0.2)
    current.request("cp", LimitSource.BUDGET, 16)
    await current.async_wait_idle()
    current.request("cp", LimitSource.BUDGET, 6)  # lower: at once, interval or not
    await current.async_wait_idle()
    assert charger.sent == [("cp", 16.0), ("cp", 6.0)]
    current.request("cp", LimitSource.BUDGET, 12)  # a rise within the interval: held back
    await current.async_wait_idle()
    assert charger.sent[-1] == ("cp", 6.0)
    await asyncio.sleep(0.3)
    await current.async_wait_idle()
    assert charger.sent[-1] == ("cp", 12.0)
    assert len(charger.sent) == 3


async def test_a_charger_with_its_own_settings_gets_rises_at_its_own_pace() -> None:
    """A charger configured with a longer rise interval (a Modbus profile's write spacing)
    waits for it; another keeps the arbiter's; forgetting the charger drops its settings."""
    charger = Charger()
    current = arbiter(charger, interval_s=0.0)
    slow = ArbiterSettings(step_a=2.0, min_interval=timedelta(seconds=0.3))
    current.configure("slow", slow)
    assert current.settings_of("slow") == slow
    for charger_id in ("slow", "fast"):
        current.request(charger_id, LimitSource.BUDGET, 6)
    await current.async_wait_idle()
    for charger_id in ("slow", "fast"):
        current.request(charger_id, LimitSource.BUDGET, 7)  # below the slow one's step
    await current.async_wait_idle()
    for charger_id in ("slow", "fast"):
        current.request(charger_id, LimitSource.BUDGET, 10)
    await current.async_wait_idle()
    assert charger.sent == [("slow", 6.0), ("fast", 6.0), ("fast", 7.0), ("fast", 10.0)]
    await asyncio.sleep(0.4)
    await current.async_wait_idle()
    assert charger.sent[-1] == ("slow", 10.0)
    current.forget("slow")
    assert current.settings_of("slow") == current.settings


async def test_a_rise_smaller_than_the_step_is_not_sent() -> None:
    charger = Charger()
    current = arbiter(charger, step=2.0)
    current.request("cp", LimitSource.BUDGET, 10)
    await current.async_wait_idle()
    current.request("cp", LimitSource.BUDGET, 11)
    await current.async_wait_idle()
    current.request("cp", LimitSource.BUDGET, 11.5)
    await current.async_wait_idle()
    assert charger.sent == [("cp", 10.0)]
    current.request("cp", LimitSource.BUDGET, 12)
    await current.async_wait_idle()
    assert charger.sent[-1] == ("cp", 12.0)


async def test_withdrawing_every_wish_releases_the_limit_once() -> None:
    charger = Charger()
    current = arbiter(charger)
    current.request("cp", LimitSource.PLAN, 0)  # pause
    await current.async_wait_idle()
    current.request("cp", LimitSource.PLAN, None)
    await current.async_wait_idle()
    current.request("cp", LimitSource.BUDGET, None)
    await current.async_wait_idle()
    assert charger.sent == [("cp", 0.0), ("cp", None)]
    assert current.decision("cp").applied_a is None
    # Nothing was ever sent to another charger: nothing to release.
    current.request("other", LimitSource.USER, None)
    await current.async_wait_idle()
    assert charger.sent == [("cp", 0.0), ("cp", None)]


async def test_a_failed_send_is_retried_when_the_charger_is_back() -> None:
    charger = Charger()
    current = arbiter(charger)
    charger.away = True
    current.request("cp", LimitSource.BUDGET, 8)
    await current.async_wait_idle()
    assert current.decision("cp").failed
    assert charger.sent == []
    charger.away = False
    current.reapply("cp")
    await current.async_wait_idle()
    assert charger.sent == [("cp", 8.0)]
    assert not current.decision("cp").failed
    # A reconnect sends the target again (the charger may have forgotten it).
    current.reapply("cp")
    await current.async_wait_idle()
    assert charger.sent == [("cp", 8.0), ("cp", 8.0)]
    # A charger that never had a wish is left alone.
    current.reapply("untouched")
    await current.async_wait_idle()
    assert len(charger.sent) == 2


async def test_a_release_that_failed_is_sent_when_the_charger_is_back() -> None:
    """A limit withdrawn while the charger was away is released once it reconnects."""
    charger = Charger()
    current = arbiter(charger)
    current.request("cp", LimitSource.PLAN, 0)
    await current.async_wait_idle()
    charger.away = True
    current.request("cp", LimitSource.PLAN, None)
    await current.async_wait_idle()
    assert current.decision("cp").failed
    charger.away = False
    current.reapply("cp")
    await current.async_wait_idle()
    assert charger.sent == [("cp", 0.0), ("cp", None)]
    assert not current.decision("cp").failed
    current.reapply("cp")  # released: nothing more to send
    await current.async_wait_idle()
    assert charger.sent == [("cp", 0.0), ("cp", None)]


async def test_the_users_request_is_answered_and_errors_raised() -> None:
    charger = Charger()
    current = arbiter(charger, interval_s=3600)
    result = await current.async_request("cp", LimitSource.USER, 10)
    assert result.accepted
    assert charger.sent == [("cp", 10.0)]
    # A user's rise is sent at once, interval or not.
    result = await current.async_request("cp", LimitSource.USER, 16)
    assert charger.sent[-1] == ("cp", 16.0)
    # Below the budget's wish the user's rise changes nothing: the answer says what holds.
    current.request("cp", LimitSource.BUDGET, 6)
    await current.async_wait_idle()
    result = await current.async_request("cp", LimitSource.USER, 20)
    assert result.status == "Unchanged"
    assert result.data["limit_a"] == 6.0
    charger.refuse = True
    result = await current.async_request("cp", LimitSource.USER, 2)
    assert not result.accepted
    assert result.status == "Rejected"
    assert current.decision("cp").failed
    charger.refuse, charger.away = False, True
    with pytest.raises(ChargerNotConnectedError):
        await current.async_request("cp", LimitSource.USER, 3)


async def test_the_limit_the_charger_applied_is_what_counts() -> None:
    charger = Charger()
    charger.applies = 13.0  # e.g. a charger in 0.1 A steps or capped by its own fuse
    current = arbiter(charger)
    current.request("cp", LimitSource.BUDGET, 14)
    await current.async_wait_idle()
    assert current.decision("cp").applied_a == 13.0


async def test_negative_wishes_are_refused_and_listeners_hear_each_change() -> None:
    charger = Charger()
    current = arbiter(charger)
    heard: list[float | None] = []
    current.decisions.add("cp", lambda decision: heard.append(decision.target_a))
    with pytest.raises(ValueError, match="negative"):
        current.request("cp", LimitSource.BUDGET, -1)
    current.request("cp", LimitSource.BUDGET, 7)
    await current.async_wait_idle()
    assert heard[-1] == 7.0
    current.forget("cp")
    assert current.decision("cp").target_a is None
    await current.async_stop()


async def test_stopping_with_sends_queued_leaves_no_coroutine_unawaited() -> None:
    """Wishes stated just before shutdown: their sends are cancelled cleanly (no 'coroutine
    was never awaited' warnings, nothing sent after the stop)."""
    charger = Charger()
    current = arbiter(charger)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        current.request("cp", LimitSource.BUDGET, 6)
        current.request("cp2", LimitSource.BUDGET, 6)
        await current.async_stop()
        gc.collect()
    assert [w for w in caught if "never awaited" in str(w.message)] == []
    assert charger.sent == []
