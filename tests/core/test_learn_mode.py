"""Learn mode: the next tag at a charger within the window is taken (core/learn_mode.py)."""

from __future__ import annotations

from datetime import timedelta

from custom_components.ev_sessions.core import LearnedTag, LearnMode

from .helpers import CP
from .tag_fixtures import NOW, request


def test_learn_mode_captures_next_tag_at_that_charger_within_window() -> None:
    """Another charger's tag is ignored; the first tag here is taken and learn mode ends."""
    learn = LearnMode()
    until = NOW + timedelta(minutes=2)
    learn.start(CP, "ben", until)
    assert learn.capture(request("OTHER", charger="cp-2"), NOW) is None
    assert learn.active(CP, NOW) is not None
    learned = learn.capture(request(" 04aa11bb ", at=NOW), NOW + timedelta(seconds=30))
    assert learned == LearnedTag(
        charger_id=CP,
        member_id="ben",
        id_tag="04aa11bb",
        connector_id=1,
        at=NOW + timedelta(seconds=30),
    )
    assert learn.active(CP, NOW) is None
    assert learn.capture(request("SECOND"), NOW + timedelta(seconds=40)) is None


def test_learn_mode_expires() -> None:
    """After the window no tag is captured; expire() reports windows that ended."""
    learn = LearnMode()
    until = NOW + timedelta(minutes=2)
    learn.start(CP, "ben", until)
    learn.start("cp-2", "anna", NOW + timedelta(minutes=10))
    assert learn.capture(request("LATE"), until) is None
    assert learn.active(CP, until) is None
    ended = learn.expire(NOW + timedelta(minutes=10))
    assert [(w.charger_id, w.member_id) for w in ended] == [("cp-2", "anna")]
    assert learn.expire(NOW + timedelta(hours=1)) == []


def test_learn_mode_restart_and_cancel() -> None:
    """Starting again replaces the member; cancel ends learn mode."""
    learn = LearnMode()
    learn.start(CP, "ben", NOW + timedelta(minutes=2))
    learn.start(CP, "anna", NOW + timedelta(minutes=2))
    window = learn.cancel(CP)
    assert window is not None
    assert window.member_id == "anna"
    assert learn.capture(request("X"), NOW) is None
    assert learn.cancel(CP) is None
