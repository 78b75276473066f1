"""Errors raised by the Modbus adapter."""

from __future__ import annotations

from custom_components.ev_sessions.chargers.events import ChargerError


class ProfileError(ValueError):
    """A profile (built-in or custom) is invalid. ``errors`` lists every problem found."""

    def __init__(self, errors: list[str]) -> None:
        """Keep every problem; the message shows them all."""
        self.errors = list(errors)
        super().__init__("invalid Modbus profile: " + "; ".join(self.errors))


class ModbusChargerError(ChargerError):
    """Base of the adapter's runtime errors."""


class ModbusConnectError(ModbusChargerError):
    """The device could not be reached (refused, timed out, connection dropped)."""


class ModbusDeviceError(ModbusChargerError):
    """The device answered with a Modbus exception."""

    def __init__(self, message: str, exception_code: int) -> None:
        """Keep the Modbus exception code (2 = illegal address, ...)."""
        self.exception_code = exception_code
        super().__init__(f"{message} (Modbus exception {exception_code})")


class ModbusIdentityError(ModbusChargerError):
    """The device answered, but not like the chosen profile (wrong model or unit id)."""
