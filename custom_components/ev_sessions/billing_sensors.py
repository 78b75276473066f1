"""Bill sensors: per member the last bill (total, number) and the unpaid amount; for the site
the revenue of paying members this and last month (per charger as attributes) and the number
of bills issued this month; on each shared charger (one where paying members or guests
charged) its own revenue this and last month."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.config_entries import ConfigSubentry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.device_registry import DeviceEntryType, DeviceInfo
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType
from homeassistant.helpers.update_coordinator import CoordinatorEntity

from .billing_glue import BillingCoordinator, BillingFigures
from .coordinator import ChargerConfigEntry, HubConfigEntry
from .core import MemberBilling, Revenue
from .devices import charger_unique_id, hub_device_info, member_identifier
from .entity import async_add_member_entities, charger_device_info
from .setup_charger import loaded_hub_runtime


@dataclass(frozen=True, kw_only=True)
class MemberBillDescription(SensorEntityDescription):
    """A value of a member's bill figures."""

    value_fn: Callable[[MemberBilling], StateType | Decimal]


@dataclass(frozen=True, kw_only=True)
class SiteBillDescription(SensorEntityDescription):
    """A value of the site's bill figures."""

    value_fn: Callable[[BillingFigures], StateType | Decimal]
    revenue_fn: Callable[[BillingFigures], Revenue | None] | None = None


MEMBER_BILL_SENSORS = (
    MemberBillDescription(
        key="last_bill_total",
        translation_key="last_bill_total",
        device_class=SensorDeviceClass.MONETARY,
        value_fn=lambda m: m.last_total,
    ),
    MemberBillDescription(
        key="last_bill_number",
        translation_key="last_bill_number",
        value_fn=lambda m: m.last_number,
    ),
    MemberBillDescription(
        key="outstanding_amount",
        translation_key="outstanding_amount",
        device_class=SensorDeviceClass.MONETARY,
        value_fn=lambda m: m.outstanding,
    ),
)


def _revenue(revenue: Revenue | None) -> Decimal | None:
    return None if revenue is None else revenue.total


SITE_BILL_SENSORS = (
    SiteBillDescription(
        key="revenue_this_month",
        translation_key="revenue_this_month",
        device_class=SensorDeviceClass.MONETARY,
        value_fn=lambda f: _revenue(f.revenue_this_month),
        revenue_fn=lambda f: f.revenue_this_month,
    ),
    SiteBillDescription(
        key="revenue_last_month",
        translation_key="revenue_last_month",
        device_class=SensorDeviceClass.MONETARY,
        value_fn=lambda f: _revenue(f.revenue_last_month),
        revenue_fn=lambda f: f.revenue_last_month,
    ),
    SiteBillDescription(
        key="bills_issued_this_month",
        translation_key="bills_issued_this_month",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda f: f.issued_this_month,
    ),
)


class MemberBillSensor(CoordinatorEntity[BillingCoordinator], SensorEntity):
    """A member's last bill or unpaid amount."""

    _attr_has_entity_name = True
    entity_description: MemberBillDescription

    def __init__(
        self,
        coordinator: BillingCoordinator,
        subentry: ConfigSubentry,
        description: MemberBillDescription,
    ) -> None:
        """On the member's device, identified by the member id."""
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

    @property
    def native_value(self) -> StateType | Decimal:
        """From the member's bill figures (none before the first bill)."""
        figures = self.coordinator.data.members.get(self.member_id)
        if figures is None:
            return None
        return self.entity_description.value_fn(figures)

    @property
    def native_unit_of_measurement(self) -> str | None:
        """The bills' currency for money."""
        if self.entity_description.device_class is not SensorDeviceClass.MONETARY:
            return None
        figures = self.coordinator.data.members.get(self.member_id)
        return figures.currency if figures else self.hass.config.currency


class SiteBillSensor(CoordinatorEntity[BillingCoordinator], SensorEntity):
    """Revenue or the number of bills issued, on the hub device."""

    _attr_has_entity_name = True
    entity_description: SiteBillDescription

    def __init__(self, coordinator: BillingCoordinator, description: SiteBillDescription) -> None:
        """On the hub device."""
        super().__init__(coordinator)
        self.entity_description = description
        self._attr_unique_id = f"site_{description.key}"
        self._attr_device_info = hub_device_info()

    @property
    def native_value(self) -> StateType | Decimal:
        """From the site's bill figures."""
        return self.entity_description.value_fn(self.coordinator.data)

    @property
    def native_unit_of_measurement(self) -> str | None:
        """The tariff's currency for revenue."""
        if self.entity_description.revenue_fn is None:
            return None
        revenue = self.entity_description.revenue_fn(self.coordinator.data)
        return revenue.currency if revenue is not None else self.hass.config.currency

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """Revenue per charger (by charger name)."""
        if self.entity_description.revenue_fn is None:
            return None
        revenue = self.entity_description.revenue_fn(self.coordinator.data)
        if revenue is None:
            return None
        name = self.coordinator.hub.charger_name
        return {
            "period": str(revenue.period),
            "per_charger": {name(cid): float(total) for cid, total in revenue.per_charger.items()},
        }


class ChargerRevenueSensor(CoordinatorEntity[BillingCoordinator], SensorEntity):
    """A shared charger's revenue (paying members' sessions) this or last month."""

    _attr_has_entity_name = True
    _attr_device_class = SensorDeviceClass.MONETARY

    def __init__(
        self,
        coordinator: BillingCoordinator,
        entry: ChargerConfigEntry,
        key: str,
        revenue_fn: Callable[[BillingFigures], Revenue | None],
    ) -> None:
        """On the charger's device."""
        super().__init__(coordinator)
        self.charger_id = entry.runtime_data.link.charger_id
        self._revenue_fn = revenue_fn
        self._attr_translation_key = key
        self._attr_unique_id = charger_unique_id(self.charger_id, key)
        self._attr_device_info = charger_device_info(entry)

    @property
    def _revenue(self) -> Revenue | None:
        return self._revenue_fn(self.coordinator.data)

    @property
    def native_value(self) -> Decimal | None:
        """The charger's part of the month's revenue (0 without paying sessions)."""
        revenue = self._revenue
        return None if revenue is None else revenue.per_charger.get(self.charger_id, Decimal(0))

    @property
    def native_unit_of_measurement(self) -> str | None:
        """The tariff's currency."""
        revenue = self._revenue
        return revenue.currency if revenue is not None else self.hass.config.currency

    @property
    def extra_state_attributes(self) -> Mapping[str, Any] | None:
        """The month."""
        revenue = self._revenue
        return None if revenue is None else {"period": str(revenue.period)}


#: A charger's revenue sensors: key (translation key too) and the month's figures.
CHARGER_REVENUE: tuple[tuple[str, Callable[[BillingFigures], Revenue | None]], ...] = (
    ("revenue_this_month", lambda f: f.revenue_this_month),
    ("revenue_last_month", lambda f: f.revenue_last_month),
)


def is_shared(figures: BillingFigures | None, charger_id: str) -> bool:
    """Whether paying members' sessions ended on the charger this or last month."""
    if figures is None:
        return False
    return any(
        revenue is not None and charger_id in revenue.per_charger
        for revenue in (figures.revenue_this_month, figures.revenue_last_month)
    )


@callback
def async_add_charger_revenue_sensors(
    hass: HomeAssistant,
    entry: ChargerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """A charger's revenue sensors once it is shared: at once when paying members charged on
    it this or last month (or an earlier run made them), else as soon as the billing figures
    show such a session."""
    runtime = loaded_hub_runtime(hass)
    coordinator = None if runtime is None else runtime.billing
    if coordinator is None:
        return
    charger_id = entry.runtime_data.link.charger_id
    keys = {charger_unique_id(charger_id, key) for key, _ in CHARGER_REVENUE}
    registered = any(
        e.unique_id in keys
        for e in er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    )

    @callback
    def add() -> None:
        async_add_entities(
            ChargerRevenueSensor(coordinator, entry, key, revenue_fn)
            for key, revenue_fn in CHARGER_REVENUE
        )

    if registered or is_shared(coordinator.data, charger_id):
        add()
        return
    unsubscribe: Callable[[], None] | None = None

    @callback
    def updated() -> None:
        nonlocal unsubscribe
        if unsubscribe is not None and is_shared(coordinator.data, charger_id):
            unsubscribe()
            unsubscribe = None
            add()

    unsubscribe = coordinator.async_add_listener(updated)

    @callback
    def stop() -> None:
        if unsubscribe is not None:
            unsubscribe()

    entry.async_on_unload(stop)


def async_add_billing_sensors(
    hass: HomeAssistant, entry: HubConfigEntry, async_add_entities: AddConfigEntryEntitiesCallback
) -> None:
    """The site's bill sensors now, each member's as members are added."""
    coordinator = entry.runtime_data.billing
    if coordinator is None:
        return
    async_add_entities(SiteBillSensor(coordinator, d) for d in SITE_BILL_SENSORS)
    async_add_member_entities(
        entry,
        async_add_entities,
        lambda subentry: [MemberBillSensor(coordinator, subentry, d) for d in MEMBER_BILL_SENSORS],
    )
