"""Members are config subentries of the hub, managed in the HA UI (never YAML)."""

from __future__ import annotations

from typing import Any
import uuid

from homeassistant.config_entries import ConfigSubentryFlow, SubentryFlowResult
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    ObjectSelector,
    ObjectSelectorConfig,
    TextSelector,
    TextSelectorConfig,
)
from homeassistant.util import dt as dt_util
import probatio as vol

from .core import Member, MemberConfigError, MemberDirectory
from .plan_form import planning_errors, planning_section, store_preferences

CONF_NAME = "name"
CONF_PERSON = "person_entity_id"
CONF_TAGS = "tags"
CONF_GROUP_TAG = "group_id_tag"
CONF_TARIFF_GROUP = "tariff_group"
CONF_NOTIFY = "notify_targets"
CONF_PAYING = "paying"
#: A battery sensor with the SoC of the member's car (see ``member_soc.py``).
CONF_MEMBER_SOC_ENTITY = "soc_entity_id"
SUBENTRY_MEMBER = "member"

_TAG_FIELDS = {
    "id_tag": {"required": True, "selector": {"text": {}}},
    "label": {"required": False, "selector": {"text": {}}},
    "status": {
        "required": False,
        "selector": {"select": {"options": ["active", "blocked"], "translation_key": "tag_status"}},
        "default": "active",  # the dialog preselects it for a new tag
    },
    "expires_at": {"required": False, "selector": {"date": {}}},
}


def _schema(defaults: dict[str, Any]) -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(CONF_NAME, default=defaults.get(CONF_NAME, "")): TextSelector(),
            vol.Optional(
                CONF_PERSON, description={"suggested_value": defaults.get(CONF_PERSON)}
            ): EntitySelector(EntitySelectorConfig(domain="person")),
            vol.Optional(
                CONF_MEMBER_SOC_ENTITY,
                description={"suggested_value": defaults.get(CONF_MEMBER_SOC_ENTITY)},
            ): EntitySelector(EntitySelectorConfig(domain="sensor", device_class="battery")),
            vol.Optional(CONF_TAGS, default=defaults.get(CONF_TAGS, [])): ObjectSelector(
                ObjectSelectorConfig(
                    fields=_TAG_FIELDS,  # type: ignore[typeddict-item]
                    multiple=True,
                    label_field="id_tag",
                    description_field="label",
                    translation_key="tags",
                )
            ),
            vol.Optional(
                CONF_GROUP_TAG, description={"suggested_value": defaults.get(CONF_GROUP_TAG)}
            ): TextSelector(),
            vol.Optional(
                CONF_TARIFF_GROUP, description={"suggested_value": defaults.get(CONF_TARIFF_GROUP)}
            ): TextSelector(),
            vol.Optional(CONF_NOTIFY, default=defaults.get(CONF_NOTIFY, [])): TextSelector(
                TextSelectorConfig(multiple=True)
            ),
            vol.Optional(CONF_PAYING, default=bool(defaults.get(CONF_PAYING, False))): (
                BooleanSelector()
            ),
            **planning_section(defaults),
        }
    )


def clean_member_input(user_input: dict[str, Any], member_id: str) -> dict[str, Any]:
    """Form input as a stored member dict (empty optional fields dropped)."""
    data: dict[str, Any] = {"id": member_id, CONF_NAME: user_input[CONF_NAME].strip()}
    for key in (CONF_PERSON, CONF_MEMBER_SOC_ENTITY, CONF_GROUP_TAG, CONF_TARIFF_GROUP):
        if value := (user_input.get(key) or "").strip():
            data[key] = value
    tags = []
    for item in user_input.get(CONF_TAGS) or []:
        tag = {"id_tag": str(item.get("id_tag", "")).strip()}
        for key in ("label", "status", "expires_at"):
            if item.get(key):
                tag[key] = str(item[key]).strip()
        tags.append(tag)
    data[CONF_TAGS] = tags
    data[CONF_NOTIFY] = [t.strip() for t in user_input.get(CONF_NOTIFY) or [] if t.strip()]
    if user_input.get(CONF_PAYING):
        data[CONF_PAYING] = True
    store_preferences(data, user_input)
    return data


class MemberSubentryFlow(ConfigSubentryFlow):
    """Add or edit a household member: name, person, RFID tags and their status."""

    def _validate(self, data: dict[str, Any], own_id: str) -> dict[str, str]:
        try:
            member = Member.from_dict(data, tz=dt_util.get_default_time_zone())
        except MemberConfigError:
            return {CONF_TAGS: "invalid_tag"}
        others = [
            Member.from_dict(sub.data, tz=dt_util.get_default_time_zone())
            for sub in self._get_entry().subentries.values()
            if sub.subentry_type == SUBENTRY_MEMBER and sub.data.get("id") != own_id
        ]
        try:
            MemberDirectory([*others, member], strict=True)
        except MemberConfigError:
            return {CONF_TAGS: "tag_in_use"}
        return {}

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> SubentryFlowResult:
        """A new member."""
        errors: dict[str, str] = {}
        if user_input is not None:
            member_id = uuid.uuid4().hex[:12]
            data = clean_member_input(user_input, member_id)
            errors = planning_errors(user_input) or self._validate(data, member_id)
            if not errors:
                return self.async_create_entry(
                    title=data[CONF_NAME], data=data, unique_id=member_id
                )
        return self.async_show_form(
            step_id="user", data_schema=_schema(user_input or {}), errors=errors
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> SubentryFlowResult:
        """Edit a member (tags, statuses, expiry)."""
        subentry = self._get_reconfigure_subentry()
        member_id: str = subentry.data["id"]
        errors: dict[str, str] = {}
        if user_input is not None:
            data = clean_member_input(user_input, member_id)
            errors = planning_errors(user_input) or self._validate(data, member_id)
            if not errors:
                return self.async_update_and_abort(
                    self._get_entry(), subentry, title=data[CONF_NAME], data=data
                )
        return self.async_show_form(
            step_id="reconfigure",
            data_schema=_schema(user_input or dict(subentry.data)),
            errors=errors,
        )
