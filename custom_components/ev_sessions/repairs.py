"""Repairs: a refused unknown tag can be added to a member in two clicks; a charger that
refused a password is let go without one, or a charger's new identity accepted, on the
user's word."""

from __future__ import annotations

from typing import Any

from homeassistant.components.repairs import RepairsFlow, RepairsFlowResult
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
)
import probatio as vol

from .const import CONF_CHARGER_ID, CONF_ENTRY_TYPE, DOMAIN, ENTRY_TYPE_HUB
from .core import IDENTITY_FIELDS
from .hub import CONF_ALLOW_WITHOUT_PASSWORD, CONF_IDENTITY, ISSUE_IDENTITY, ISSUE_NO_PASSWORD
from .members import add_tag_to_member, build_directory
from .plan_preferences import ISSUE_RECOMMENDATION, RecommendationRepairFlow
from .setup_charger import loaded_hub

CONF_MEMBER = "member"


class UnknownTagRepairFlow(RepairsFlow):
    """Add the refused tag to a member (or dismiss the issue)."""

    def __init__(self, id_tag: str) -> None:
        """Remember the tag."""
        self.id_tag = id_tag

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> RepairsFlowResult:
        """Choose the member the tag belongs to."""
        hub_entry = next(
            (
                e
                for e in self.hass.config_entries.async_entries(DOMAIN)
                if e.data.get(CONF_ENTRY_TYPE) == ENTRY_TYPE_HUB
            ),
            None,
        )
        if hub_entry is None:
            return self.async_abort(reason="hub_not_loaded")
        directory = build_directory(hub_entry)
        if not len(directory):
            return self.async_abort(reason="no_members")
        if user_input is not None and CONF_MEMBER in user_input:  # (init gets the issue data)
            add_tag_to_member(self.hass, hub_entry, user_input[CONF_MEMBER], self.id_tag)
            return self.async_create_entry(data={})
        return self.async_show_form(
            step_id="init",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_MEMBER): SelectSelector(
                        SelectSelectorConfig(
                            options=[SelectOptionDict(value=m.id, label=m.name) for m in directory]
                        )
                    )
                }
            ),
            description_placeholders={"tag": self.id_tag},
        )


class _ChargerConfirmFlow(RepairsFlow):
    """Confirm something about a charger entry (the issue data names the entry)."""

    def __init__(self, data: dict[str, Any]) -> None:
        """Remember the issue data."""
        self.issue_data = data

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> RepairsFlowResult:
        """Go to the confirmation."""
        return await self.async_step_confirm()

    async def async_step_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> RepairsFlowResult:
        """Ask, then apply."""
        entry = self.hass.config_entries.async_get_entry(str(self.issue_data.get("entry_id")))
        if entry is None:
            return self.async_abort(reason="charger_removed")
        if user_input is not None:
            self._apply(entry)
            return self.async_create_entry(data={})
        return self.async_show_form(
            step_id="confirm", description_placeholders={"charger": entry.title}
        )

    def _apply(self, entry: ConfigEntry) -> None:
        raise NotImplementedError


class NoPasswordRepairFlow(_ChargerConfirmFlow):
    """The user accepts that the charger has no password: it gets member tags again."""

    def _apply(self, entry: ConfigEntry) -> None:
        self.hass.config_entries.async_update_entry(
            entry, options={**entry.options, CONF_ALLOW_WITHOUT_PASSWORD: True}
        )
        if (hub := loaded_hub(self.hass)) is not None:
            hub.site.allow_without_password(entry.data[CONF_CHARGER_ID])


class IdentityRepairFlow(_ChargerConfirmFlow):
    """The user replaced the charger's hardware: its new identity is pinned and let in."""

    def _apply(self, entry: ConfigEntry) -> None:
        identity = {n: self.issue_data[n] for n in IDENTITY_FIELDS if self.issue_data.get(n)}
        self.hass.config_entries.async_update_entry(
            entry, data={**entry.data, CONF_IDENTITY: identity}
        )
        if (hub := loaded_hub(self.hass)) is not None:
            hub.site.accept_identity(entry.data[CONF_CHARGER_ID])


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, Any] | None
) -> RepairsFlow:
    """The flow behind an issue of ours."""
    if issue_id.startswith(f"{ISSUE_NO_PASSWORD}_"):
        return NoPasswordRepairFlow(dict(data or {}))
    if issue_id.startswith(f"{ISSUE_IDENTITY}_"):
        return IdentityRepairFlow(dict(data or {}))
    if issue_id.startswith(f"{ISSUE_RECOMMENDATION}_"):
        return RecommendationRepairFlow(dict(data or {}))
    return UnknownTagRepairFlow(str((data or {}).get("id_tag", "")))
