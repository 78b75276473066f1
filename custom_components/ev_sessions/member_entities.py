"""Entities of a household member (one device per member subentry)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from homeassistant.config_entries import ConfigSubentry
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity import EntityDescription
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .coordinator import MemberCoordinator
from .core import MemberTotals
from .devices import member_identifier

EMPTY = MemberTotals(member_id="")


@dataclass(frozen=True, kw_only=True)
class MemberValueDescription(EntityDescription):
    """A value from a member's monthly totals."""

    value_fn: Callable[[MemberTotals], Any]


class MemberEntity(CoordinatorEntity[MemberCoordinator]):
    """An entity on a member's device."""

    _attr_has_entity_name = True
    entity_description: MemberValueDescription

    def __init__(
        self,
        coordinator: MemberCoordinator,
        subentry: ConfigSubentry,
        description: MemberValueDescription,
    ) -> None:
        """Identify the entity by the member id (stable across renames)."""
        super().__init__(coordinator)
        self.entity_description = description
        self.member_id: str = subentry.data["id"]
        self._attr_unique_id = f"member_{self.member_id}_{description.key}"
        self._attr_device_info = DeviceInfo(
            identifiers={member_identifier(self.member_id)},
            name=subentry.title,
            entry_type=DeviceEntryType.SERVICE,
            manufacturer="EV Sessions",
            model="Member",
        )

    def totals(self) -> MemberTotals:
        """This member's totals (zeros before the first session)."""
        return self.coordinator.data.get(self.member_id, EMPTY)

    def value(self) -> Any:
        """The entity's value."""
        return self.entity_description.value_fn(self.totals())


def month_start(_totals: MemberTotals) -> datetime:
    """Start of the current month (the reset of this month's energy)."""
    return MemberCoordinator.month_starts()[0]
