"""How fast the Modbus pollers run: a hub entry option no form offers.

Every Modbus period comes from the charger's profile (poll, watchdog, write spacing) or the
adapter (reconnect backoff); :class:`ModbusTiming` multiplies them all and sets the request
timeout. In use it is always the default (the profile's periods as they are); an installation
(or a test) that wants other timing stores ``modbus_timing`` in the hub entry's options, which
every Modbus charger set up later uses (kept through the hub's options flow, which keeps options
it does not show).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

#: Hub entry option: ``{"period_scale": float, "request_timeout_s": float}`` (both optional).
CONF_MODBUS_TIMING = "modbus_timing"


@dataclass(frozen=True, slots=True, kw_only=True)
class ModbusTiming:
    """The timing of every Modbus poller of the hub."""

    #: Multiplies every period: poll, watchdog, write spacing and backoff (1: as profiled).
    period_scale: float = 1.0
    #: How long one Modbus request may take.
    request_timeout_s: float = 3.0

    @classmethod
    def from_options(cls, options: Mapping[str, Any]) -> ModbusTiming:
        """The timing stored in the hub entry's options (the default without)."""
        stored = options.get(CONF_MODBUS_TIMING) or {}
        default = cls()
        return cls(
            period_scale=float(stored.get("period_scale", default.period_scale)),
            request_timeout_s=float(stored.get("request_timeout_s", default.request_timeout_s)),
        )

    def as_option(self) -> dict[str, float]:
        """The value of :data:`CONF_MODBUS_TIMING`."""
        return asdict(self)
