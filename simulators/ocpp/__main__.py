"""``python -m simulators.ocpp --url ws://127.0.0.1:9000/SIM1 --version 1.6``."""

from __future__ import annotations

from .demo import main

main()
