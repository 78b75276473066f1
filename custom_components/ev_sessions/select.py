"""Selects on a charger: who is charging (and learns tags), and who may charge."""

from __future__ import annotations

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import RestoreEntity

from .coordinator import ChargerConfigEntry
from .core import AuthorizationMode, AuthorizationPolicy
from .entity import EvSessionsEntity

PARALLEL_UPDATES = 0

NOBODY = "nobody"

MEMBER_SELECT = SelectEntityDescription(key="member", translation_key="member")
POLICY_SELECT = SelectEntityDescription(
    key="authorization",
    translation_key="authorization",
    entity_category=EntityCategory.CONFIG,
    options=[mode.value for mode in AuthorizationMode],
)


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ChargerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """One member select and one policy select per charger."""
    async_add_entities([MemberSelect(entry, MEMBER_SELECT), PolicySelect(entry, POLICY_SELECT)])


class _ChargerSelect(EvSessionsEntity, SelectEntity, RestoreEntity):
    """A setting of the charger that survives restarts and works while it is offline."""

    @property
    def available(self) -> bool:
        """Settings can be changed while the charger is away."""
        return True

    def _current_value(self) -> object:
        return (self.current_option, tuple(self.options))

    def _apply(self) -> None:
        """Push the settings of this charger into the hub."""
        runtime = self.coordinator.config_entry.runtime_data
        link = runtime.link
        mode = runtime.policy_mode
        runtime.hub.set_policy(  # a stricter policy also clears the charger's cache
            link.charger_id,
            AuthorizationPolicy(mode=mode, default_member_id=link.selected_member_id),
        )


class MemberSelect(_ChargerSelect):
    """The member this charger's untagged sessions belong to; learned tags go to them too."""

    def _members(self) -> dict[str, str]:
        directory = self.coordinator.hub.access.directory
        return {m.name: m.id for m in directory}

    @property
    def options(self) -> list[str]:
        """Nobody, then the members by name."""
        return [NOBODY, *self._members()]

    @property
    def current_option(self) -> str | None:
        """The chosen member's name."""
        member_id = self.coordinator.config_entry.runtime_data.link.selected_member_id
        member = self.coordinator.hub.access.directory.member(member_id)
        return member.name if member else NOBODY

    async def async_added_to_hass(self) -> None:
        """Restore the choice."""
        await super().async_added_to_hass()
        if (last := await self.async_get_last_state()) is not None:
            member_id = self._members().get(last.state)
            self.coordinator.config_entry.runtime_data.link.selected_member_id = member_id
            self._apply()

    async def async_select_option(self, option: str) -> None:
        """Choose a member (or nobody)."""
        link = self.coordinator.config_entry.runtime_data.link
        link.selected_member_id = self._members().get(option)
        self._apply()
        self.async_write_ha_state()


class PolicySelect(_ChargerSelect):
    """Who may charge here: members only, members and guests, or everyone (free)."""

    @property
    def current_option(self) -> str:
        """The policy in force."""
        return self.coordinator.config_entry.runtime_data.policy_mode.value

    async def async_added_to_hass(self) -> None:
        """Restore the policy (members only by default)."""
        await super().async_added_to_hass()
        if (last := await self.async_get_last_state()) is not None and last.state in (
            mode.value for mode in AuthorizationMode
        ):
            self.coordinator.config_entry.runtime_data.policy_mode = AuthorizationMode(last.state)
        self._apply()

    async def async_select_option(self, option: str) -> None:
        """Set the policy; a stricter one also empties the charger's authorization cache."""
        runtime = self.coordinator.config_entry.runtime_data
        runtime.policy_mode = AuthorizationMode(option)
        self._apply()
        self.async_write_ha_state()
        if runtime.link.protocol == "ocpp":
            runtime.hub.schedule_list_sync(runtime.link.charger_id)
