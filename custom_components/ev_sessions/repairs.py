"""Repairs: a refused unknown tag can be added to a member in two clicks."""

from __future__ import annotations

from typing import Any

from homeassistant.components.repairs import RepairsFlow, RepairsFlowResult
from homeassistant.core import HomeAssistant
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
)
import probatio as vol

from .const import CONF_ENTRY_TYPE, DOMAIN, ENTRY_TYPE_HUB
from .members import add_tag_to_member, build_directory

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


async def async_create_fix_flow(
    hass: HomeAssistant, issue_id: str, data: dict[str, Any] | None
) -> RepairsFlow:
    """The flow behind an unknown-tag issue."""
    return UnknownTagRepairFlow(str((data or {}).get("id_tag", "")))
