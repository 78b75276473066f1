"""Simulated Modbus TCP chargers built from the adapter's own profiles."""

from __future__ import annotations

from .clock import SimClock
from .devices import BEHAVIORS, DeviceBehavior, generic_behavior
from .physics import EvPhysics, Phase
from .server import ChargerSimulator, SimWrite, start_simulator

__all__ = [
    "BEHAVIORS",
    "ChargerSimulator",
    "DeviceBehavior",
    "EvPhysics",
    "Phase",
    "SimClock",
    "SimWrite",
    "generic_behavior",
    "start_simulator",
]
