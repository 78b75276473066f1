"""The hub: wires the protocol adapters to the session engine inside Home Assistant.

The hub is the adapters' :class:`ChargerHandler`. It forwards every normalized event to the
session engine, decides which chargers may boot (starting HA discovery for unknown OCPP
chargers) and routes commands from HA to the adapter that owns the charger.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace

from homeassistant.config_entries import SOURCE_INTEGRATION_DISCOVERY, ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import discovery_flow

from .chargers.events import (
    AuthorizationRequest,
    AuthorizationResult,
    AuthorizationStatus,
    BootDecision,
    ChargerCommand,
    ChargerConnected,
    ChargerEvent,
    ChargerInfo,
    ChargerNotConnectedError,
    CommandResult,
    StopCharging,
)
from .const import (
    CONF_CHARGER_ID,
    CONF_ENTRY_TYPE,
    CONF_PROTOCOL,
    DOMAIN,
    ENTRY_TYPE_CHARGER,
    LOGGER,
    PROTOCOL_OCPP,
)
from .core.engine import SessionEngine


@dataclass(slots=True)
class ChargerLink:
    """A charger the user has added: how to reach it and what it said about itself."""

    charger_id: str
    entry_id: str
    protocol: str
    execute: Callable[[ChargerCommand], Awaitable[CommandResult]] | None = None
    info: ChargerInfo | None = None
    on_info: list[Callable[[ChargerInfo], None]] = field(default_factory=list)


class Hub:
    """Owns the engine and the OCPP server; knows every configured charger."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, engine: SessionEngine) -> None:
        """Create the hub for the hub config entry."""
        self.hass = hass
        self.entry = entry
        self.engine = engine
        self.ocpp_execute: Callable[[str, ChargerCommand], Awaitable[CommandResult]] | None = None
        self.ocpp_accept: Callable[[str], None] | None = None
        self.reject_unknown = False
        self._chargers: dict[str, ChargerLink] = {}
        self._info: dict[str, ChargerInfo] = {}
        self._discovery_started: set[str] = set()

    # ------------------------------------------------------------------ registry

    @callback
    def register_charger(self, link: ChargerLink) -> Callable[[], None]:
        """A charger entry was set up; an OCPP charger waiting in Pending is let in."""
        self._chargers[link.charger_id] = link
        if (info := self._info.get(link.charger_id)) is not None:
            link.info = info
        if link.protocol == PROTOCOL_OCPP and self.ocpp_accept is not None:
            self.ocpp_accept(link.charger_id)

        @callback
        def unregister() -> None:
            if self._chargers.get(link.charger_id) is link:
                del self._chargers[link.charger_id]

        return unregister

    def charger(self, charger_id: str) -> ChargerLink | None:
        """The configured charger with this id, if any."""
        return self._chargers.get(charger_id)

    @property
    def chargers(self) -> dict[str, ChargerLink]:
        """All configured chargers by id."""
        return self._chargers

    def is_known(self, charger_id: str) -> bool:
        """Whether a charger entry exists for this id (set up or not)."""
        if charger_id in self._chargers:
            return True
        return any(
            entry.data.get(CONF_CHARGER_ID) == charger_id
            for entry in self.hass.config_entries.async_entries(DOMAIN, include_ignore=False)
            if entry.data.get(CONF_ENTRY_TYPE) == ENTRY_TYPE_CHARGER
        )

    def is_ignored(self, charger_id: str) -> bool:
        """Whether the user chose to ignore this charger's discovery."""
        return any(
            entry.unique_id == charger_id and entry.source == "ignore"
            for entry in self.hass.config_entries.async_entries(DOMAIN)
        )

    def password_for(self, charger_id: str) -> str | None:
        """Security profile 1/2 password configured for a charger."""
        for entry in self.hass.config_entries.async_entries(DOMAIN, include_ignore=False):
            if (
                entry.data.get(CONF_ENTRY_TYPE) == ENTRY_TYPE_CHARGER
                and entry.data.get(CONF_CHARGER_ID) == charger_id
            ):
                password: str | None = entry.data.get("password")
                return password
        return None

    # ------------------------------------------------------------------ ChargerHandler

    def handle_event(self, event: ChargerEvent) -> None:
        """Forward an adapter event to the engine; keep what chargers say about themselves."""
        if isinstance(event, ChargerConnected) and (
            event.info.vendor is not None or event.charger_id not in self._info
        ):
            self._info[event.charger_id] = event.info
            if (link := self._chargers.get(event.charger_id)) is not None:
                link.info = event.info
                for cb in link.on_info:
                    cb(event.info)
        self.engine.handle_event(event)

    async def authorize(self, request: AuthorizationRequest) -> AuthorizationResult:
        """Decide whether a tag may charge.

        Member-based authorization is not built yet: tags are accepted on chargers the user
        added, and rejected on any other.
        """
        if request.charger_id in self._chargers:
            return AuthorizationResult(status=AuthorizationStatus.ACCEPTED)
        return AuthorizationResult(status=AuthorizationStatus.INVALID)

    async def boot_decision(self, charger_id: str, info: ChargerInfo) -> BootDecision:
        """Accept added chargers; offer unknown ones to the user through discovery."""
        self._info[charger_id] = info
        if self.is_known(charger_id):
            return BootDecision.ACCEPTED
        if self.reject_unknown or self.is_ignored(charger_id):
            LOGGER.warning("Rejected unknown OCPP charger %s", charger_id)
            return BootDecision.REJECTED
        if charger_id not in self._discovery_started:
            self._discovery_started.add(charger_id)
            LOGGER.info("New OCPP charger %s connected; waiting for the user to add it", charger_id)
            discovery_flow.async_create_flow(
                self.hass,
                DOMAIN,
                context={"source": SOURCE_INTEGRATION_DISCOVERY},
                data={
                    CONF_CHARGER_ID: charger_id,
                    "vendor": info.vendor,
                    "model": info.model,
                    "serial": info.serial,
                },
            )
        return BootDecision.PENDING

    # ------------------------------------------------------------------ commands

    async def async_execute(self, charger_id: str, command: ChargerCommand) -> CommandResult:
        """Send a command to the charger, whichever protocol it speaks."""
        link = self._chargers.get(charger_id)
        if link is None:
            raise ChargerNotConnectedError(charger_id)
        if isinstance(command, StopCharging) and command.transaction_id is None:
            # The adapter may not know the transaction (e.g. after a restart); the engine does.
            session = self.engine.connector(charger_id, command.connector_id).session
            if session is not None and session.transaction_id is not None:
                command = replace(command, transaction_id=session.transaction_id)
        if link.execute is not None:
            return await link.execute(command)
        if link.protocol == PROTOCOL_OCPP and self.ocpp_execute is not None:
            return await self.ocpp_execute(charger_id, command)
        raise ChargerNotConnectedError(charger_id)

    def protocol_of(self, charger_id: str) -> str | None:
        """The protocol a configured charger speaks."""
        link = self._chargers.get(charger_id)
        return link.protocol if link else None

    @staticmethod
    def protocol_from_entry(entry: ConfigEntry) -> str:
        """The protocol of a charger entry."""
        protocol: str = entry.data[CONF_PROTOCOL]
        return protocol
