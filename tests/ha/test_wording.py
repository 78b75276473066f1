"""Names a household reads on the integration page and on a charger (issue 11)."""

from __future__ import annotations

import json
from pathlib import Path

import hass_frontend
from homeassistant import config_entries
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers.translation import async_get_translations
from pytest_homeassistant_custom_component.common import MockConfigEntry

from custom_components.ev_sessions.const import CONF_CHARGER_ID, DOMAIN

from .helpers import entity_id, ocpp_charger_entry

COMPONENT = Path(__file__).parents[2] / "custom_components" / DOMAIN


def _frontend_strings() -> dict[str, str]:
    """The integration page's English strings of the installed Home Assistant frontend."""
    folder = Path(hass_frontend.__file__).parent / "static" / "translations" / "config"
    path = next(p for p in folder.glob("en-*.json") if not p.name.startswith("en-GB"))
    prefix = "ui.panel.config.integrations.integration_page."
    flat: dict[str, str] = json.loads(path.read_text())  # keys are dotted paths
    return {key.removeprefix(prefix): text for key, text in flat.items() if key.startswith(prefix)}


def test_add_button_and_entry_list_say_device_not_hub() -> None:
    """The integration page labels its add button and entry list by the manifest's type: with
    one hub and many chargers, *Add device* and *Devices*, not *Add hub* and *Hubs*."""
    kind = json.loads((COMPONENT / "manifest.json").read_text())["integration_type"]
    strings = _frontend_strings()
    assert (strings[f"add_{kind}"], strings[f"entries_{kind}"]) == ("Add device", "Devices")


async def test_add_menu_and_discovered_charger_say_charger(
    hass: HomeAssistant, hub: MockConfigEntry
) -> None:
    """Once the hub exists, the add button opens *Add a charger*; a discovered OCPP charger is
    shown as *Charger <id>*; Swedish alike."""
    result = await hass.config_entries.flow.async_init(
        DOMAIN, context={"source": config_entries.SOURCE_USER}
    )
    assert result["type"] is FlowResultType.MENU
    discovered = await hass.config_entries.flow.async_init(
        DOMAIN,
        context={"source": config_entries.SOURCE_INTEGRATION_DISCOVERY},
        data={CONF_CHARGER_ID: "CP-NEW", "vendor": "V", "model": "M"},
    )
    flow = hass.config_entries.flow.async_get(discovered["flow_id"])
    placeholders = flow["context"]["title_placeholders"]
    for language, menu, title in (
        ("en", "Add a charger", "Charger CP-NEW"),
        ("sv", "Lägg till en laddare", "Laddare CP-NEW"),
    ):
        strings = await async_get_translations(hass, language, "config", [DOMAIN])
        prefix = f"component.{DOMAIN}.config"
        assert strings[f"{prefix}.step.{result['step_id']}.title"] == menu
        assert strings[f"{prefix}.flow_title"].format(**placeholders) == title


async def test_member_select_says_it_is_for_untagged_sessions(
    hass: HomeAssistant, hub: MockConfigEntry
) -> None:
    """The per-charger member select names what it is: the member of sessions without a tag."""
    entry = ocpp_charger_entry(hass, "CP-W")
    hass.config_entries.async_update_entry(entry, title="Garage")
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    state = hass.states.get(entity_id(hass, "select", "charger_CP-W_member"))
    assert state is not None
    assert state.attributes["friendly_name"] == "Garage Member for untagged sessions"
    sv = await async_get_translations(hass, "sv", "entity", [DOMAIN])
    assert sv[f"component.{DOMAIN}.entity.select.member.name"] == "Medlem för sessioner utan tagg"
