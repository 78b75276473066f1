"""Repairs for Modbus chargers: a register the profile cannot be decoding right.

The Modbus adapter reports an energy register that rises impossibly fast poll after poll (a
wrong word order or scale) as a ``ProtocolDeviation`` of kind
``implausible_register:<quantity>``. The engine has no use for it, so the adapter's events go
through :class:`ModbusEventRelay`, which raises a repair naming the register and the likely
causes, and passes every event on to the hub unchanged.
"""

from __future__ import annotations

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir

from .chargers.events import (
    AuthorizationRequest,
    AuthorizationResult,
    BootDecision,
    ChargerEvent,
    ChargerHandler,
    ChargerInfo,
    ProtocolDeviation,
)
from .chargers.modbus import ModbusCharger
from .chargers.modbus.plausibility import IMPLAUSIBLE_REGISTER
from .chargers.modbus.register_map import Quantity
from .const import DOMAIN

#: Translation key (and issue id prefix) of the repair.
ISSUE_IMPLAUSIBLE_REGISTER = "modbus_implausible_register"


def issue_id(entry_id: str, quantity: str) -> str:
    """The repair's id: one per charger entry and register."""
    return f"{ISSUE_IMPLAUSIBLE_REGISTER}_{entry_id}_{quantity}"


class ModbusEventRelay:
    """A Modbus adapter's handler: everything goes to ``hub``; an implausible register also
    raises a repair. Set :attr:`adapter` once it exists (the repair names its register as the
    profile it runs, its firmware variant, defines it)."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, hub: ChargerHandler) -> None:
        """Relay to ``hub``."""
        self._hass = hass
        self._entry = entry
        self._hub = hub
        self.adapter: ModbusCharger | None = None

    def handle_event(self, event: ChargerEvent) -> None:
        """Pass the event on; raise the repair for an implausible register."""
        if isinstance(event, ProtocolDeviation):
            prefix, _, quantity = event.kind.partition(":")
            if prefix == IMPLAUSIBLE_REGISTER and quantity:
                self._raise(quantity, event.detail)
        self._hub.handle_event(event)

    async def authorize(self, request: AuthorizationRequest) -> AuthorizationResult:
        """The hub decides."""
        return await self._hub.authorize(request)

    async def boot_decision(self, charger_id: str, info: ChargerInfo) -> BootDecision:
        """The hub decides."""
        return await self._hub.boot_decision(charger_id, info)

    async def persist(self, charger_id: str) -> None:
        """The hub stores."""
        await self._hub.persist(charger_id)

    @callback
    def _raise(self, quantity: str, detail: str) -> None:
        """Raise (or refresh) the repair for one register."""
        spec = None
        if self.adapter is not None and quantity in {q.value for q in Quantity}:
            spec = self.adapter.profile.values.get(Quantity(quantity))
        ir.async_create_issue(
            self._hass,
            DOMAIN,
            issue_id(self._entry.entry_id, quantity),
            is_fixable=False,
            is_persistent=False,
            severity=ir.IssueSeverity.ERROR,
            translation_key=ISSUE_IMPLAUSIBLE_REGISTER,
            translation_placeholders={
                "charger": self._entry.title,
                "register": quantity,
                "address": "?" if spec is None else str(spec.address),
                "function": "?" if spec is None else str(spec.function),
                "type": "?" if spec is None else str(spec.type),
                "word_order": "?" if spec is None else str(spec.word_order),
                "scale": "?" if spec is None else f"{spec.scale:g}",
                "detail": detail,
            },
        )

    @callback
    def clear(self) -> None:
        """Withdraw this charger's repairs (the entry unloads: a new profile may fix them; the
        adapter raises them again if not)."""
        registry = ir.async_get(self._hass)
        prefix = f"{ISSUE_IMPLAUSIBLE_REGISTER}_{self._entry.entry_id}_"
        for domain, key in list(registry.issues):
            if domain == DOMAIN and key.startswith(prefix):
                ir.async_delete_issue(self._hass, DOMAIN, key)
