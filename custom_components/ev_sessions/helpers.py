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
    return await run_command(charger_id, hub.async_execute(charger_id, command))


async def run_command(charger_id: str, pending: Awaitable[CommandResult]) -> CommandResult:
    """Await a command; map adapter errors to translated HA errors (the one place for both
    actions and entities)."""
    try:
        result = await pending
    except ChargerNotConnectedError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="charger_not_connected",
            translation_placeholders={"charger": charger_id},
        ) from err
    except ChargerTimeoutError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="charger_timeout",
            translation_placeholders={"charger": charger_id},
        ) from err
    except CommandNotSupportedError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="command_not_supported",
            translation_placeholders={"charger": charger_id},
        ) from err
    except ValueError as err:  # e.g. an id tag the protocol cannot carry
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="invalid_command",
            translation_placeholders={"charger": charger_id, "error": str(err)},
        ) from err
    except ChargerError as err:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="charger_error",
            translation_placeholders={"charger": charger_id, "error": str(err)},
        ) from err
    if not result.accepted:
        raise HomeAssistantError(
            translation_domain=DOMAIN,
            translation_key="command_rejected",
            translation_placeholders={"charger": charger_id, "status": result.status},
        )
    return result
