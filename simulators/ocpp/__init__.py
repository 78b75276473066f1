"""A simulated OCPP charge point (1.6J or 2.0.1), a real websocket client built on ``ocpp``.

Use it from tests, benchmarks (many instances in one process) or as a dev tool::

    python -m simulators.ocpp --url ws://127.0.0.1:9000/SIM1 --version 1.6

It boots (retrying while Pending, honouring TriggerMessage), reports status, authorizes tags,
starts and stops transactions, sends meter values whose energy register counts up with the power,
honours charging profiles (limit 0 suspends), keeps an offline queue while disconnected (replayed
with the original timestamps on reconnect) and answers the central system's requests, recording
each one (``cp.requests``) for assertions. ``send_raw`` sends any frame, valid or not.
"""

from __future__ import annotations

from .charge_point import SimConnector, SimulatedChargePoint, now_iso
from .config import ALL_MEASURANDS, SimConfig
from .demo import demo, main
from .transport import ConnectionClosedError, WsConnection

__all__ = [
    "ALL_MEASURANDS",
    "ConnectionClosedError",
    "SimConfig",
    "SimConnector",
    "SimulatedChargePoint",
    "WsConnection",
    "demo",
    "main",
    "now_iso",
]
