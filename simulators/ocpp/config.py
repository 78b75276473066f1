"""How a simulated charge point looks and behaves (:class:`SimConfig`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
import ssl

ALL_MEASURANDS = frozenset(
    {
        "Energy.Active.Import.Register",
        "Power.Active.Import",
        "Current.Import",
        "Voltage",
        "SoC",
        "Current.Offered",
        "Power.Offered",
    }
)


@dataclass(slots=True, kw_only=True)
class SimConfig:
    """How the simulated charge point looks and behaves."""

    charger_id: str = "SIM1"
    version: str = "1.6"  # "1.6" or "2.0.1"
    connectors: int = 1
    vendor: str = "ev_sessions"
    model: str = "Simulator"
    serial: str | None = "SIM-0001"
    firmware: str = "1.0.0"
    #: HTTP Basic password (security profile 1/2); set by the central system when it sends
    #: AuthorizationKey (1.6, hex digits) or SecurityCtrlr.BasicAuthPassword (2.0.1).
    password: str | None = None
    #: The answer to a new password: "Accepted" (stored and used from the next connection),
    #: "Rejected" or "NotSupported" (a charger that cannot take one).
    password_answer: str = "Accepted"  # noqa: S105  (a status, not a secret)
    #: Offer the OCPP subprotocol in the handshake (False: offer none).
    offer_protocol: bool = True
    meter_start_wh: float = 0.0
    power_w: float = 7400.0
    voltage_v: float = 230.0
    phases: int = 1
    #: The car's state of charge when its transaction starts (None: the car reports none).
    soc_pct: float | None = None
    #: The car's battery (Wh): the SoC rises with the energy charged (None: it stays put).
    battery_wh: float | None = None
    #: Seconds between periodic meter values during a transaction; 0: only when asked;
    #: None: follow MeterValueSampleInterval / TxUpdatedInterval as set by the central system.
    sample_interval: float | None = 0
    #: Send Heartbeat at the interval from the boot answer.
    heartbeats: bool = False
    #: Send BootNotification again on every reconnect (real chargers usually do not).
    boot_on_reconnect: bool = False
    #: Measurands MeterValuesSampledData may contain; others make ChangeConfiguration Rejected.
    supported_measurands: frozenset[str] = ALL_MEASURANDS
    #: Answer GetCompositeSchedule with the limit in force (False: NotImplemented).
    composite_schedule: bool = True
    #: Reject charging profiles of more than one period (schedules); single limits still work.
    refuse_schedules: bool = False
    #: Validate our requests and the central system's answers with the ``ocpp`` schemas.
    strict: bool = True
    response_timeout: float = 10.0
    #: TLS for wss:// URLs (security profile 2); None uses the system's default trust.
    ssl_context: ssl.SSLContext | None = None
    #: Seconds before connecting again when the central system closed the connection (as a
    #: real charger does, e.g. after it was given a password); None: stay disconnected.
    reconnect_after: float | None = None
    #: Where the charger keeps the password it was given (its flash memory): read when the
    #: simulator starts, written when the central system sets a new one. None: memory only.
    password_file: Path | None = None
