"""Helpers shared by actions and entities: commands with errors mapped to HA errors."""

from __future__ import annotations

from homeassistant.core import Context
from homeassistant.exceptions import HomeAssistantError

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


def remote_id_tag(context: Context | None) -> str:
    """The id tag of a remote start from HA: the user's id, within OCPP's 20 characters."""
    user_id = context.user_id if context else None
    return f"HA-{user_id[:17]}" if user_id else "HA-REMOTE"


async def execute_command(hub: Hub, charger_id: str, command: ChargerCommand) -> CommandResult:
    """Run a command; map adapter errors to translated HA errors (the one place for actions)."""
    try:
        result = await hub.async_execute(charger_id, command)
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
