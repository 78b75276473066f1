"""Shared fixtures. Importing our package first lets HA find it instead of phcc's own."""

from __future__ import annotations

import pytest

import custom_components.ev_sessions  # noqa: F401  (must come before HA looks up integrations)


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(enable_custom_integrations: None) -> None:
    """Let HA load custom integrations in every test."""
