"""Helpers shared by actions and entities: commands with errors mapped to HA errors."""

from __future__ import annotations

from collections.abc import Awaitable

from homeassistant.exceptions import HomeAssistantError, ServiceValidationError

from .chargers.events import (
    ChargerCommand,
    ChargerError,
    ChargerNotConnectedError,
    ChargerTimeoutError,
    CommandNotSupportedError,
    CommandResult,
)
from .const import DOMAIN
from .hub import Hub


async def execute_command(hub: Hub, charger_id: str, command: ChargerCommand) -> CommandResult:
    """Send a command; adapter errors become translated HA errors."""
    return await run_command(charger_id, hub.site.async_execute(charger_id, command))


#: Adapter errors and the HA error each becomes, most specific first.
_ERRORS: tuple[tuple[type[Exception], type[HomeAssistantError], str], ...] = (
    (ChargerNotConnectedError, HomeAssistantError, "charger_not_connected"),
    (ChargerTimeoutError, HomeAssistantError, "charger_timeout"),
    (CommandNotSupportedError, HomeAssistantError, "command_not_supported"),
    (ValueError, ServiceValidationError, "invalid_command"),  # e.g. a tag too long for 1.6
    (ChargerError, HomeAssistantError, "charger_error"),
)


async def run_command(charger_id: str, pending: Awaitable[CommandResult]) -> CommandResult:
    """Await a command; map adapter errors to translated HA errors (the one place for both
    actions and entities)."""
    try:
        result = await pending
    except (ChargerError, ValueError) as err:
        error_class, key = next((e, k) for c, e, k in _ERRORS if isinstance(err, c))
        raise error_class(
            translation_domain=DOMAIN,
            translation_key=key,
            translation_placeholders={"charger": charger_id, "error": str(err)},
        ) from err
    if not result.accepted:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="command_rejected",
            translation_placeholders={"charger": charger_id, "status": result.status},
        )
    return result
