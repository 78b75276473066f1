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


#: Names of the Modbus exception codes (Modbus application protocol v1.1b3, section 7).
EXCEPTION_NAMES: dict[int, str] = {
    1: "illegal function",
    2: "illegal data address",
    3: "illegal data value",
    4: "server device failure",
    5: "acknowledge",
    6: "server device busy",
    8: "memory parity error",
    10: "gateway path unavailable",
    11: "gateway target device failed to respond",
}


def exception_text(code: int) -> str:
    """``"Modbus exception 2 (illegal data address)"``."""
    name = EXCEPTION_NAMES.get(code)
    return f"Modbus exception {code}" + (f" ({name})" if name else "")


class ModbusDeviceError(ModbusChargerError):
    """The device answered with a Modbus exception.

    ``function_code``, ``address`` and ``unit_id`` say which request it refused (``None`` when
    unknown); ``what`` names it for people (``"write coil 400 (FC5, unit 255)"``).
    """

    def __init__(
        self,
        message: str,
        exception_code: int,
        *,
        function_code: int | None = None,
        address: int | None = None,
        unit_id: int | None = None,
    ) -> None:
        """Keep the Modbus exception code (2 = illegal address, ...) and the request."""
        self.what = message
        self.exception_code = exception_code
        self.function_code = function_code
        self.address = address
        self.unit_id = unit_id
        super().__init__(f"{message}: {exception_text(exception_code)}")

    def as_data(self) -> dict[str, object]:
        """The refusal as plain data (command results, diagnostics)."""
        return {
            "exception_code": self.exception_code,
            "exception": EXCEPTION_NAMES.get(self.exception_code),
            "function_code": self.function_code,
            "register": self.address,
            "unit_id": self.unit_id,
        }


class ModbusIdentityError(ModbusChargerError):
    """The device answered, but not like the chosen profile (wrong model or unit id)."""
