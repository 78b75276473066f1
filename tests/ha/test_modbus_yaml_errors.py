"""A custom Modbus profile's YAML error points at the real line and problem (issue 11)."""

from __future__ import annotations

import pytest

from custom_components.ev_sessions.chargers.modbus.errors import ProfileError
from custom_components.ev_sessions.modbus_flow import parse_profile_text


def _problems(text: str) -> list[str]:
    with pytest.raises(ProfileError) as caught:
        parse_profile_text(text)
    return caught.value.errors


def test_misindented_key_is_reported_at_its_own_line() -> None:
    """Line 7 is indented wrongly: the error names line 7, not line 2 where the block starts."""
    text = (
        "values:\n"
        "  power_w:\n"
        "    address: 100\n"
        "    type: uint16\n"
        "  energy_wh:\n"
        "    address: 200\n"
        "   type: uint32\n"
    )
    assert _problems(text) == [
        "line 7, column 4: expected <block end>, but found '<block mapping start>' "
        "(in the block mapping that starts at line 2, column 3)"
    ]


def test_unclosed_brace_is_reported_where_the_parser_gave_up() -> None:
    """An unclosed ``{``: the line where parsing failed, and where the mapping was opened."""
    assert _problems("values:\n  power_w: {address: 100\nstate: x\n") == [
        "line 3, column 6: expected ',' or '}', but got ':' "
        "(in the flow mapping that starts at line 2, column 12)"
    ]


def test_a_problem_without_context_keeps_its_line() -> None:
    """A tab where indentation is expected: one mark, reported as such."""
    assert _problems("values:\n\tpower_w: 1\n") == [
        "line 2, column 1: found character '\\t' that cannot start any token"
    ]
