"""Selects on a charger: who is charging (and learns tags), and who may charge.

Both are stored in the charger entry's options by id (``hub.LIVE_OPTIONS``), through the site:
renaming a member keeps the choice, and a stricter policy clears the charger's cache. Before
these options existed the selects restored their state: an entry without the option takes the
restored value once (so nobody loses a setting on the update); the option rules from then on.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from homeassistant.components.select import SelectEntity, SelectEntityDescription
from homeassistant.const import EntityCategory
from homeassistant.core import HomeAssistant, State
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.restore_state import RestoreEntity

from .charger_options import has_tag_source
from .coordinator import ChargerConfigEntry
from .core import AuthorizationMode, ChargerAccess
from .entity import EvSessionsEntity
from .hub import CONF_AUTHORIZATION_MODE, CONF_CHARGER_MEMBER
from .plan_entities import plan_selects

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
    """One member select per charger; a policy select (who may charge) if it reports tags."""
    entities: list[SelectEntity] = [MemberSelect(entry, MEMBER_SELECT)]
    if has_tag_source(entry):
        entities.append(PolicySelect(entry, POLICY_SELECT))
    async_add_entities(entities)
    async_add_entities(plan_selects(entry))


class _ChargerSelect(EvSessionsEntity, SelectEntity, RestoreEntity):
    """A setting of the charger, kept in its entry options; works while it is offline."""

    #: The entry option this select stores.
    option_key: str

    @property
    def available(self) -> bool:
        """Settings can be changed while the charger is away."""
        return True

    def _current_value(self) -> object:
        return (self.current_option, tuple(self.options))

    @property
    def _access(self) -> ChargerAccess:
        return self.coordinator.hub.site.access_of(self.charger_id)

    def _set(self, access: ChargerAccess) -> None:
        """Store the settings through the site (a stricter policy clears the cache)."""
        self.coordinator.hub.site.set_access(self.charger_id, access)
        self.async_write_ha_state()

    async def async_added_to_hass(self) -> None:
        """An entry from before the option takes the restored state once."""
        await super().async_added_to_hass()
        entry = self.coordinator.config_entry
        if self.option_key in entry.options:
            return
        last = await self.async_get_last_state()
        self.hass.config_entries.async_update_entry(
            entry, options={**entry.options, self.option_key: self._restored(last)}
        )
        self.async_write_ha_state()

    def _restored(self, last: State | None) -> Any:
        """The option value of the restored state."""
        raise NotImplementedError


class MemberSelect(_ChargerSelect):
    """The member this charger's untagged sessions belong to; learned tags go to them too."""

    option_key = CONF_CHARGER_MEMBER

    def _members(self) -> dict[str, str]:
        return {m.name: m.id for m in self.coordinator.hub.site.directory}

    @property
    def options(self) -> list[str]:
        """Nobody, then the members by name."""
        return [NOBODY, *self._members()]

    @property
    def current_option(self) -> str | None:
        """The chosen member's name (as it is now)."""
        member = self.coordinator.hub.site.directory.member(self._access.member_id)
        return member.name if member else NOBODY

    def _restored(self, last: State | None) -> Any:
        return self._members().get(last.state) if last is not None else None

    async def async_select_option(self, option: str) -> None:
        """Choose a member (or nobody)."""
        self._set(replace(self._access, member_id=self._members().get(option)))


class PolicySelect(_ChargerSelect):
    """Who may charge here: members only, members and guests, or everyone (free)."""

    option_key = CONF_AUTHORIZATION_MODE

    @property
    def current_option(self) -> str:
        """The policy in force."""
        return self._access.mode.value

    def _restored(self, last: State | None) -> Any:
        modes = {mode.value for mode in AuthorizationMode}
        if last is not None and last.state in modes:
            return last.state
        return AuthorizationMode.MEMBERS_ONLY.value

    async def async_select_option(self, option: str) -> None:
        """Set the policy; a stricter one also empties the charger's authorization cache."""
        self._set(replace(self._access, mode=AuthorizationMode(option)))
