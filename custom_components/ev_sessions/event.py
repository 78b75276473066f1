"""Event entity: every authorization decision at a charger (accepted, rejected, learned)."""

from __future__ import annotations

from homeassistant.components.event import EventEntity, EventEntityDescription
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback

from .charger_options import has_tag_source
from .coordinator import ChargerConfigEntry
from .core import Decision, DecisionReason, shorten_tag
from .entity import EvSessionsEntity

PARALLEL_UPDATES = 0

AUTHORIZATION_EVENT = EventEntityDescription(
    key="authorization",
    translation_key="authorization",
    event_types=["accepted", "rejected", "learned"],
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ChargerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One authorization event entity per charger that can report tags."""
    if has_tag_source(entry):
        async_add_entities([AuthorizationEvent(entry, AUTHORIZATION_EVENT)])


class AuthorizationEvent(EvSessionsEntity, EventEntity):
    """Fires for each tag decision at the charger; tags are shown shortened."""

    @property
    def available(self) -> bool:
        """The history of decisions stays visible while the charger is away."""
        return True

    def _current_value(self) -> None:
        return None

    async def async_added_to_hass(self) -> None:
        """Listen to the site's decisions at this charger."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self.coordinator.hub.site.decisions.add(self.charger_id, self._on_decision)
        )

    @callback
    def _on_decision(self, decision: Decision) -> None:
        if decision.reason is DecisionReason.LEARNED:
            kind = "learned"
        else:
            kind = "accepted" if decision.accepted else "rejected"
        directory = self.coordinator.hub.site.directory
        member = directory.member(decision.member_id)
        self._trigger_event(
            kind,
            {
                "tag": shorten_tag(decision.id_tag),
                "member": member.name if member else None,
                "status": decision.status.value,
                "reason": decision.reason.value,
                "guest": decision.guest,
            },
        )
        self.async_write_ha_state()
