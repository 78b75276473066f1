"""Stop reasons of OCPP 1.6, 2.0.1 and the engine map to one vocabulary."""

from __future__ import annotations

import pytest

from custom_components.ev_sessions.core import STOP_REASONS, normalize_stop_reason


@pytest.mark.parametrize(
    ("raw", "word"),
    [
        # OCPP 1.6 StopTransaction.reason
        ("EVDisconnected", "ev_disconnected"),
        ("Local", "local"),
        ("Remote", "remote"),
        ("DeAuthorized", "deauthorized"),
        ("EmergencyStop", "emergency_stop"),
        ("HardReset", "reboot"),
        ("SoftReset", "reboot"),
        ("Reboot", "reboot"),
        ("PowerLoss", "power_loss"),
        ("UnlockCommand", "unlock_command"),
        ("Other", "other"),
        # OCPP 2.0.1 stoppedReason
        ("StoppedByEV", "stopped_by_ev"),
        ("SOCLimitReached", "soc_limit_reached"),
        ("EnergyLimitReached", "energy_limit_reached"),
        ("TimeLimitReached", "time_limit_reached"),
        ("Timeout", "timeout"),
        ("ImmediateReset", "reboot"),
        ("GroundFault", "fault"),
        ("OvercurrentFault", "fault"),
        ("PowerQuality", "fault"),
        ("LocalOutOfCredit", "out_of_credit"),
        ("MasterPass", "local"),
        # the engine's own
        ("ev_disconnected", "ev_disconnected"),
        ("superseded", "superseded"),
        ("new_transaction", "new_transaction"),
        ("transaction_ended", "transaction_ended"),
        # anything else
        ("SomethingNew", "other"),
        ("", "other"),
        (None, None),
    ],
)
def test_reasons_map_to_the_vocabulary(raw: str | None, word: str | None) -> None:
    assert normalize_stop_reason(raw) == word
    assert word is None or word in STOP_REASONS
