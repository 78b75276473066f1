"""Sensors: live charger values, the running session, lifetime energy, site occupancy, prices."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from homeassistant.components.sensor import (
    SensorDeviceClass,
    SensorEntity,
    SensorEntityDescription,
    SensorStateClass,
)
from homeassistant.config_entries import ConfigEntry
from homeassistant.const import (
    PERCENTAGE,
    EntityCategory,
    UnitOfElectricCurrent,
    UnitOfElectricPotential,
    UnitOfEnergy,
    UnitOfPower,
    UnitOfTime,
)
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.entity_platform import AddConfigEntryEntitiesCallback
from homeassistant.helpers.typing import StateType
from homeassistant.util import dt as dt_util

from .billing_sensors import async_add_billing_sensors, async_add_charger_revenue_sensors
from .budget_entities import async_add_charger_budget_sensor, async_add_site_budget_sensors
from .charger_options import (
    has_meter_register,
    has_tag_source,
    hub_config_entry,
    phase_count,
    prices_configured,
)
from .chargers.events import ConnectorState
from .const import CONF_ENTRY_TYPE, ENTRY_TYPE_HUB
from .coordinator import ChargerConfigEntry, HubConfigEntry, SiteData
from .core import ChargerLink, MemberTotals, shorten_tag
from .core.engine import SessionEngine
from .core.model import ConnectorView, SpeedClass
from .devices import hub_device_info
from .entity import (
    EvSessionsEntity,
    EvSessionsSiteEntity,
    async_add_connector_entities,
    async_add_member_entities,
)
from .hub import Hub
from .member_entities import MemberEntity, MemberValueDescription, month_start
from .plan_entities import plan_sensors, planned_end
from .price_feed import PriceFeed, PriceQuote

PARALLEL_UPDATES = 0


def _phase(values: tuple[float | None, float | None, float | None] | None, i: int) -> float | None:
    if values is None:
        return None
    value = values[i]
    return round(value, 2) if value is not None else None


def _session_energy(view: ConnectorView) -> float | None:
    session = view.session or view.last_session
    return round(session.energy_wh / 1000, 3) if session is not None else None


def _session_cost(view: ConnectorView) -> Decimal | None:
    session = view.session or view.last_session
    return session.cost if session is not None else None


def _session_duration(view: ConnectorView) -> float | None:
    if view.session is None:
        return None
    duration = view.session.duration(dt_util.utcnow())
    return round(duration.total_seconds() / 60, 1) if duration is not None else None


def _session_reset(view: ConnectorView) -> datetime | None:
    session = view.session or view.last_session
    return session.plugged_in_at if session is not None else None


def _charging_finished(view: ConnectorView) -> datetime | None:
    session = view.session or view.last_session
    return session.charging_finished_at if session is not None else None


def _last_session_end(view: ConnectorView) -> datetime | None:
    return view.last_session.unplugged_at if view.last_session is not None else None


def _speed_class(view: ConnectorView) -> str | None:
    """The running session's class, else the last known one.

    A session is classified once energy flows; until then the sensor keeps the last session's
    class instead of dropping to unknown, so a plug-in is not an "Unknown → Normal" logbook line.
    """
    for session in (view.session, view.last_session):
        if session is not None and session.speed_class is not None:
            return session.speed_class.value
    return None


@dataclass(frozen=True, kw_only=True)
class ConnectorSensorDescription(SensorEntityDescription):
    """A sensor computed from one connector's live view."""

    value_fn: Callable[[ConnectorView], StateType | Decimal | datetime]
    last_reset_fn: Callable[[ConnectorView], datetime | None] | None = None


def _current(i: int) -> ConnectorSensorDescription:
    return ConnectorSensorDescription(
        key=f"current_l{i + 1}",
        translation_key=f"current_l{i + 1}",
        device_class=SensorDeviceClass.CURRENT,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricCurrent.AMPERE,
        suggested_display_precision=1,
        value_fn=lambda v: _phase(v.current_a, i),
    )


def _voltage(i: int) -> ConnectorSensorDescription:
    return ConnectorSensorDescription(
        key=f"voltage_l{i + 1}",
        translation_key=f"voltage_l{i + 1}",
        device_class=SensorDeviceClass.VOLTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfElectricPotential.VOLT,
        suggested_display_precision=0,
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda v: _phase(v.voltage_v, i),
    )


CONNECTOR_SENSORS: tuple[ConnectorSensorDescription, ...] = (
    ConnectorSensorDescription(
        key="status",
        translation_key="status",
        device_class=SensorDeviceClass.ENUM,
        options=[state.value for state in ConnectorState],
        value_fn=lambda v: v.status.value,
    ),
    ConnectorSensorDescription(
        key="power",
        translation_key="power",
        device_class=SensorDeviceClass.POWER,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=UnitOfPower.WATT,
        suggested_unit_of_measurement=UnitOfPower.KILO_WATT,
        suggested_display_precision=2,
        value_fn=lambda v: round(v.power_w, 1) if v.power_w is not None else None,
    ),
    *(_current(i) for i in range(3)),
    *(_voltage(i) for i in range(3)),
    ConnectorSensorDescription(
        key="soc",
        translation_key="soc",
        device_class=SensorDeviceClass.BATTERY,
        state_class=SensorStateClass.MEASUREMENT,
        native_unit_of_measurement=PERCENTAGE,
        entity_registry_enabled_default=False,
        value_fn=lambda v: v.soc_pct,
    ),
    ConnectorSensorDescription(
        # Energy of the running (or else the last) session. TOTAL with last_reset at plug-in:
        # a new session is a reset, never a negative step (unlike total_increasing).
        key="session_energy",
        translation_key="session_energy",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=_session_energy,
        last_reset_fn=_session_reset,
    ),
    ConnectorSensorDescription(
        # The price of the running (or last) session, once it has been priced; the unit is
        # Home Assistant's currency (set in async_setup_entry).
        key="session_cost",
        translation_key="session_cost",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        value_fn=_session_cost,
    ),
    ConnectorSensorDescription(
        key="session_average_price",
        translation_key="session_average_price",
        suggested_display_precision=2,
        value_fn=lambda _view: None,  # SessionAveragePriceSensor: from the live cost
    ),
    ConnectorSensorDescription(
        key="session_duration",
        translation_key="session_duration",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.MINUTES,
        suggested_display_precision=0,
        value_fn=_session_duration,
    ),
    ConnectorSensorDescription(
        key="estimated_end",
        translation_key="estimated_end",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda v: v.estimated_end_at,
    ),
    ConnectorSensorDescription(
        key="charging_finished",
        translation_key="charging_finished",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=_charging_finished,
    ),
    ConnectorSensorDescription(
        key="last_session_end",
        translation_key="last_session_end",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=_last_session_end,
    ),
    ConnectorSensorDescription(
        key="speed_class",
        translation_key="speed_class",
        device_class=SensorDeviceClass.ENUM,
        options=[speed.value for speed in SpeedClass],
        value_fn=_speed_class,
    ),
    ConnectorSensorDescription(
        key="error_code",
        translation_key="error_code",
        entity_category=EntityCategory.DIAGNOSTIC,
        entity_registry_enabled_default=False,
        value_fn=lambda v: v.error_code,
    ),
)

LAST_TAG = SensorEntityDescription(
    key="last_tag",
    translation_key="last_tag",
    entity_category=EntityCategory.DIAGNOSTIC,
    entity_registry_enabled_default=False,
)
LAST_MEMBER = SensorEntityDescription(key="last_member", translation_key="last_member")

#: The charger's own meter (its lifetime register, e.g. OCPP Energy.Active.Import.Register),
#: as read: for comparing with the lifetime energy HA counts from its first sight. No state
#: class: the lifetime energy is the one for statistics and the Energy dashboard.
METER_READING = ConnectorSensorDescription(
    key="meter_reading",
    translation_key="meter_reading",
    device_class=SensorDeviceClass.ENERGY,
    native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
    suggested_display_precision=3,
    entity_category=EntityCategory.DIAGNOSTIC,
    value_fn=lambda v: None if v.energy_register_wh is None else v.energy_register_wh / 1000,
)

LIFETIME_ENERGY = SensorEntityDescription(
    key="lifetime_energy",
    translation_key="lifetime_energy",
    device_class=SensorDeviceClass.ENERGY,
    state_class=SensorStateClass.TOTAL_INCREASING,
    native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
    suggested_display_precision=2,
)


@dataclass(frozen=True, kw_only=True)
class SiteSensorDescription(SensorEntityDescription):
    """A site-wide sensor computed from the engine's statistics."""

    value_fn: Callable[[SiteData], StateType]


def _utilization(window: str) -> SiteSensorDescription:
    return SiteSensorDescription(
        key=f"utilization_{window}",
        translation_key=f"utilization_{window}",
        native_unit_of_measurement=PERCENTAGE,
        state_class=SensorStateClass.MEASUREMENT,
        suggested_display_precision=0,
        value_fn=lambda d: round(getattr(d, window).occupied_share * 100, 1),
    )


SITE_SENSORS: tuple[SiteSensorDescription, ...] = (
    SiteSensorDescription(
        key="occupied_connectors",
        translation_key="occupied_connectors",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda d: d.day.occupied_now,
    ),
    SiteSensorDescription(
        key="charging_connectors",
        translation_key="charging_connectors",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda d: d.day.charging_now,
    ),
    SiteSensorDescription(
        key="sessions_today",
        translation_key="sessions_today",
        value_fn=lambda d: d.day.sessions_today,
    ),
    SiteSensorDescription(
        key="energy_today",
        translation_key="energy_today",
        device_class=SensorDeviceClass.ENERGY,
        # Energy of the sessions plugged in today: grows all day, back to 0 at local midnight.
        state_class=SensorStateClass.TOTAL_INCREASING,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda d: round(d.day.energy_today_wh / 1000, 3),
    ),
    *(_utilization(w) for w in ("day", "week", "month")),
    SiteSensorDescription(
        key="vehicles_waiting",
        translation_key="vehicles_waiting",
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda d: d.day.waiting_now,
    ),
    SiteSensorDescription(
        key="average_idle_time",
        translation_key="average_idle_time",
        device_class=SensorDeviceClass.DURATION,
        native_unit_of_measurement=UnitOfTime.MINUTES,
        suggested_display_precision=0,
        value_fn=lambda d: round(d.week.avg_idle_s / 60, 1)
        if d.week.avg_idle_s is not None
        else None,
    ),
)


@dataclass(frozen=True, kw_only=True)
class MemberSensorDescription(MemberValueDescription, SensorEntityDescription):
    """A member's monthly figure."""

    last_reset_fn: Callable[[MemberTotals], datetime | None] | None = None


MEMBER_SENSORS: tuple[MemberSensorDescription, ...] = (
    MemberSensorDescription(
        key="energy_this_month",
        translation_key="energy_this_month",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda t: round(t.energy_this_month_wh / 1000, 3),
        last_reset_fn=month_start,
    ),
    MemberSensorDescription(
        key="energy_last_month",
        translation_key="energy_last_month",
        device_class=SensorDeviceClass.ENERGY,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda t: round(t.energy_last_month_wh / 1000, 3),
    ),
    MemberSensorDescription(
        key="cost_this_month",
        translation_key="cost_this_month",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        value_fn=lambda t: t.cost_this_month,
    ),
    MemberSensorDescription(
        key="cost_last_month",
        translation_key="cost_last_month",
        device_class=SensorDeviceClass.MONETARY,
        suggested_display_precision=2,
        value_fn=lambda t: t.cost_last_month,
    ),
    MemberSensorDescription(
        key="sessions_this_month",
        translation_key="sessions_this_month",
        value_fn=lambda t: t.sessions_this_month,
    ),
    MemberSensorDescription(
        key="last_session_end",
        translation_key="member_last_session_end",
        device_class=SensorDeviceClass.TIMESTAMP,
        value_fn=lambda t: t.last_session_end,
    ),
)


@dataclass(frozen=True, kw_only=True)
class PriceSensorDescription(SensorEntityDescription):
    """The price of a kWh at ``offset`` from now (the site's tariff applied, VAT included)."""

    offset: timedelta


PRICE_SENSORS: tuple[PriceSensorDescription, ...] = (
    PriceSensorDescription(
        key="price_now",
        translation_key="price_now",
        suggested_display_precision=2,
        offset=timedelta(),
    ),
    PriceSensorDescription(
        key="price_next_hour",
        translation_key="price_next_hour",
        suggested_display_precision=2,
        offset=timedelta(hours=1),
    ),
)


def _last_tag(link: ChargerLink) -> str | None:
    decision = link.last_decision
    return shorten_tag(decision.id_tag) if decision is not None else None


def _last_member(hub: Hub, link: ChargerLink) -> str | None:
    if link.last_member_id is None:
        return None
    member = hub.site.directory.member(link.last_member_id)
    return member.name if member else link.last_member_id


def _in_currency[D: SensorEntityDescription](hass: HomeAssistant, description: D) -> D:
    """Money is shown in Home Assistant's currency."""
    if description.device_class is SensorDeviceClass.MONETARY:
        return replace(description, native_unit_of_measurement=hass.config.currency)
    if description.key == "session_average_price":
        unit = f"{hass.config.currency}/{UnitOfEnergy.KILO_WATT_HOUR}"
        return replace(description, native_unit_of_measurement=unit)
    return description


async def async_setup_entry(
    hass: HomeAssistant,
    entry: ConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """Site and member sensors for the hub; live and session sensors for a charger."""
    if entry.data[CONF_ENTRY_TYPE] == ENTRY_TYPE_HUB:
        hub_entry: HubConfigEntry = entry
        site = hub_entry.runtime_data.site_figures
        members = hub_entry.runtime_data.members
        async_add_entities(SiteSensor(site, description) for description in SITE_SENSORS)
        feed = hub_entry.runtime_data.price_feed
        async_add_entities(
            PriceSensor(feed, description, hass.config.currency) for description in PRICE_SENSORS
        )
        member_descriptions = [_in_currency(hass, d) for d in MEMBER_SENSORS]
        async_add_member_entities(
            hub_entry,
            async_add_entities,
            lambda subentry: [MemberSensor(members, subentry, d) for d in member_descriptions],
        )
        async_add_billing_sensors(hass, hub_entry, async_add_entities)
        async_add_site_budget_sensors(hub_entry, async_add_entities)
        return

    _setup_charger_sensors(hass, entry, async_add_entities)
    async_add_entities(plan_sensors(hass, entry))
    async_add_charger_budget_sensor(entry, async_add_entities)
    async_add_charger_revenue_sensors(hass, entry, async_add_entities)


#: Sensors that need a price: created once the hub has a price source.
_COST_KEYS = frozenset({"session_cost", "session_average_price", "charger_cost"})
#: Sensors of the second and third phase: not on a single-phase charger.
_L2_L3_KEYS = frozenset({"current_l2", "current_l3", "voltage_l2", "voltage_l3"})


def _setup_charger_sensors(
    hass: HomeAssistant,
    charger_entry: ChargerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
) -> None:
    """A charger's sensors, only those it can fill: no L2/L3 on a single-phase charger, no
    last tag without a tag source, cost sensors once a price source is configured."""
    engine = charger_entry.runtime_data.hub.engine
    hub = charger_entry.runtime_data.hub
    link = charger_entry.runtime_data.link
    phases = phase_count(charger_entry)
    three_phase = phases == 3 or (phases is None and _l2_l3_registered(hass, charger_entry))
    skipped = frozenset() if three_phase else _L2_L3_KEYS
    descriptions = [
        _in_currency(hass, d) for d in CONNECTOR_SENSORS if d.key not in skipped | _COST_KEYS
    ]
    if has_meter_register(charger_entry):
        descriptions.append(METER_READING)
    charger_sensors: list[SensorEntity] = [
        LifetimeEnergySensor(charger_entry, LIFETIME_ENERGY, engine),
        ChargerValueSensor(charger_entry, LAST_MEMBER, lambda: _last_member(hub, link)),
    ]
    if has_tag_source(charger_entry):
        charger_sensors.append(ChargerValueSensor(charger_entry, LAST_TAG, lambda: _last_tag(link)))
    async_add_entities(charger_sensors)
    _add_connector_sensors(charger_entry, async_add_entities, descriptions)
    if phases is None and not three_phase:
        l2_l3 = [d for d in CONNECTOR_SENSORS if d.key in _L2_L3_KEYS]
        _add_l2_l3_once_reported(charger_entry, async_add_entities, l2_l3)

    @callback
    def add_cost_sensors() -> None:
        async_add_entities([ChargerCostSensor(charger_entry, _in_currency(hass, CHARGER_COST))])
        cost = [_in_currency(hass, d) for d in CONNECTOR_SENSORS if d.key in _COST_KEYS]
        _add_connector_sensors(charger_entry, async_add_entities, cost)

    hub_entry = hub_config_entry(hass)
    if hub_entry is None or prices_configured(hub_entry.options):
        add_cost_sensors()
        return

    added = False

    async def hub_updated(_hass: HomeAssistant, updated: ConfigEntry) -> None:
        """A price source was configured: the cost sensors appear (once)."""
        nonlocal added
        if not added and prices_configured(updated.options):
            added = True
            add_cost_sensors()

    charger_entry.async_on_unload(hub_entry.add_update_listener(hub_updated))


def _l2_l3_registered(hass: HomeAssistant, charger_entry: ChargerConfigEntry) -> bool:
    """Whether an earlier run created the charger's L2/L3 sensors (it reported those phases)."""
    prefix = f"charger_{charger_entry.runtime_data.coordinator.charger_id}_"
    return any(
        entity.unique_id.removeprefix(prefix).startswith(tuple(_L2_L3_KEYS))
        for entity in er.async_entries_for_config_entry(er.async_get(hass), charger_entry.entry_id)
    )


def _reports_l2_l3(view: ConnectorView) -> bool:
    """Whether the connector has a current or voltage value of the second or third phase."""
    return any(
        value is not None
        for phases in (view.current_a, view.voltage_v)
        if phases
        for value in phases[1:]
    )


def _add_l2_l3_once_reported(
    charger_entry: ChargerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    descriptions: list[ConnectorSensorDescription],
) -> None:
    """Add the L2/L3 sensors when the charger first reports a value of those phases (an OCPP
    charger says how many phases it measures only by measuring them)."""
    coordinator = charger_entry.runtime_data.coordinator
    engine = coordinator.hub.engine
    unsubscribe: Callable[[], None] | None = None

    @callback
    def check() -> None:
        nonlocal unsubscribe
        if unsubscribe is None or not any(
            _reports_l2_l3(engine.connector(coordinator.charger_id, connector_id))
            for connector_id in engine.connectors(coordinator.charger_id)
            if connector_id > 0
        ):
            return
        unsubscribe()
        unsubscribe = None
        _add_connector_sensors(charger_entry, async_add_entities, descriptions)

    unsubscribe = coordinator.async_add_listener(check)

    @callback
    def stop() -> None:
        if unsubscribe is not None:
            unsubscribe()

    charger_entry.async_on_unload(stop)


def _add_connector_sensors(
    charger_entry: ChargerConfigEntry,
    async_add_entities: AddConfigEntryEntitiesCallback,
    descriptions: list[ConnectorSensorDescription],
) -> None:
    async_add_connector_entities(
        charger_entry,
        async_add_entities,
        lambda connector_id, multi: [
            _CONNECTOR_SENSOR_CLASSES.get(d.key, ConnectorSensor)(
                charger_entry, d, connector_id, multi_connector=multi
            )
            for d in descriptions
        ],
    )


class ConnectorSensor(EvSessionsEntity, SensorEntity):
    """A value of one connector."""

    entity_description: ConnectorSensorDescription

    def _view(self) -> ConnectorView:
        assert self.connector_id is not None
        return self.coordinator.hub.engine.connector(self.charger_id, self.connector_id)

    def _current_value(self) -> Any:
        view = self._view()
        reset = self.entity_description.last_reset_fn
        return (self.entity_description.value_fn(view), reset(view) if reset else None)

    @property
    def native_value(self) -> StateType | Decimal | datetime:
        """The value from the live view."""
        return self.entity_description.value_fn(self._view())

    @property
    def last_reset(self) -> datetime | None:
        """Start of the session the energy belongs to."""
        if self.entity_description.last_reset_fn is None:
            return None
        return self.entity_description.last_reset_fn(self._view())


class SessionCostSensor(ConnectorSensor):
    """The running session's live cost (closed slots + the running slot), the last session's
    recorded cost once it ended; unknown without a tariff."""

    def _cost(self) -> Decimal | None:
        view = self._view()
        session = view.session or view.last_session
        if session is None:
            return None
        cost = self.coordinator.hub.site.session_cost(session.id)
        return cost.total if cost is not None else session.cost

    def _current_value(self) -> Any:
        return self._cost()

    @property
    def native_value(self) -> Decimal | None:
        """The cost in Home Assistant's currency."""
        return self._cost()


class SessionAveragePriceSensor(SessionCostSensor):
    """What a kWh of the session cost on average so far (live cost / energy), VAT included."""

    def _average(self) -> Decimal | None:
        view = self._view()
        session = view.session or view.last_session
        cost = self._cost()
        if session is None or cost is None or session.energy_wh <= 0:
            return None
        return (cost * 1000 / session.energy_wh).quantize(Decimal("0.0001"))

    def _current_value(self) -> Any:
        return self._average()

    @property
    def native_value(self) -> Decimal | None:
        """Per kWh, in Home Assistant's currency."""
        return self._average()


class EstimatedEndSensor(ConnectorSensor):
    """When charging ends: the plan's finish while a car is plugged in with a plan
    (:func:`.plan_entities.planned_end`), else estimated from the state of charge (the
    charger's battery capacity option, else the energy per percent learnt in the session);
    unavailable without either."""

    def _end(self) -> datetime | None:
        view = self._view()
        planned = planned_end(self.coordinator.hub.site.planning, self.charger_id, view)
        return planned if planned is not None else view.estimated_end_at

    async def async_added_to_hass(self) -> None:
        """Follow the charger's plan too."""
        await super().async_added_to_hass()
        self.async_on_remove(
            self.coordinator.hub.site.planning.changes.add(
                self.charger_id, lambda _plan: self._handle_coordinator_update()
            )
        )

    def _current_value(self) -> Any:
        return self._end()

    @property
    def native_value(self) -> datetime | None:
        """The plan's finish, else the estimate from the state of charge."""
        return self._end()

    @property
    def available(self) -> bool:
        """A plan or a state of charge is needed for an estimate."""
        return super().available and (self._view().soc_pct is not None or self._end() is not None)


#: Connector sensors whose value comes from the site's live cost, not the engine's view alone.
_CONNECTOR_SENSOR_CLASSES: dict[str, type[ConnectorSensor]] = {
    "session_cost": SessionCostSensor,
    "session_average_price": SessionAveragePriceSensor,
    "estimated_end": EstimatedEndSensor,
}


CHARGER_COST = SensorEntityDescription(
    # The sum of the recorded costs of the charger's sessions: the cost entity of the Energy
    # dashboard beside the lifetime energy (a reprice that lowers a cost lowers it too).
    key="charger_cost",
    translation_key="charger_cost",
    device_class=SensorDeviceClass.MONETARY,
    # HA allows only ``total`` for money; without last_reset it is a growing total that the
    # Energy dashboard takes as a cost entity (total_increasing is refused for monetary).
    state_class=SensorStateClass.TOTAL,
    suggested_display_precision=2,
)


class ChargerCostSensor(EvSessionsEntity, SensorEntity):
    """The sum of the recorded costs of the charger's sessions (restored from the database)."""

    @property
    def available(self) -> bool:
        """The total is known from storage even while the charger is away."""
        return True

    def _current_value(self) -> Any:
        return self.native_value

    @property
    def native_value(self) -> Decimal | None:
        """Unknown until a session of this charger was priced."""
        pricer = self.coordinator.hub.site.pricer
        total = pricer.charger_total(self.charger_id, self.hass.config.currency)
        return total.total if total is not None else None


class LifetimeEnergySensor(EvSessionsEntity, SensorEntity):
    """Energy delivered by the charger over its life: strictly monotonic, for the Energy panel."""

    def __init__(
        self, entry: ChargerConfigEntry, description: SensorEntityDescription, engine: SessionEngine
    ) -> None:
        """Per charger, not per connector."""
        super().__init__(entry, description)
        self._engine = engine

    @property
    def available(self) -> bool:
        """The counter is known from storage even while the charger is away."""
        return True

    def _current_value(self) -> Any:
        return self._engine.lifetime_energy_wh(self.charger_id)

    @property
    def native_value(self) -> float:
        """kWh, from integer Wh."""
        return round(self._engine.lifetime_energy_wh(self.charger_id) / 1000, 3)


class SiteSensor(EvSessionsSiteEntity, SensorEntity):
    """Occupancy and demand over all chargers."""

    entity_description: SiteSensorDescription

    @property
    def native_value(self) -> StateType:
        """Computed from the engine's statistics."""
        return self.entity_description.value_fn(self.coordinator.data)


class PriceSensor(SensorEntity):
    """The price of a kWh now (or in an hour) from the site's price feed.

    Money per kWh in Home Assistant's currency, like HA's own price sensors (``SEK/kWh``; the
    monetary device class would require a plain currency). Unavailable while no price covers
    the time. Attributes: the source's interval (start, end), the source, whether the price
    is a fallback estimate, and the source's own price before the tariff.
    """

    _attr_has_entity_name = True
    _attr_should_poll = False
    entity_description: PriceSensorDescription

    def __init__(self, feed: PriceFeed, description: PriceSensorDescription, currency: str) -> None:
        """On the hub device, in ``currency`` per kWh."""
        self._feed = feed
        self.entity_description = description
        self._attr_unique_id = f"site_{description.key}"
        self._attr_device_info = hub_device_info()
        self._attr_native_unit_of_measurement = f"{currency}/{UnitOfEnergy.KILO_WATT_HOUR}"
        self._written: tuple[bool, PriceQuote | None] | None = None

    async def async_added_to_hass(self) -> None:
        """Follow the feed: its series and every quarter-hour."""
        self.async_on_remove(self._feed.changes.add(lambda _series: self._async_changed()))
        self.async_on_remove(self._feed.quarters.add(lambda _now: self._async_changed()))

    def _quote(self) -> PriceQuote | None:
        return self._feed.quote(dt_util.utcnow() + self.entity_description.offset)

    @callback
    def _async_changed(self) -> None:
        quote = self._quote()
        if (quote is not None, quote) != self._written:
            self._written = (quote is not None, quote)
            self.async_write_ha_state()

    @property
    def available(self) -> bool:
        """A price covers the time."""
        return self._quote() is not None

    @property
    def native_value(self) -> Decimal | None:
        """The price of a kWh with the tariff applied."""
        quote = self._quote()
        return None if quote is None else quote.unit_price

    @property
    def extra_state_attributes(self) -> dict[str, Any] | None:
        """The interval the price comes from."""
        quote = self._quote()
        if quote is None:
            return None
        interval = quote.interval
        return {
            "interval_start": interval.start.isoformat(),
            "interval_end": interval.end.isoformat(),
            "source": interval.source,
            "estimated": interval.estimated,
            "source_price": float(interval.price),
        }


class ChargerValueSensor(EvSessionsEntity, SensorEntity):
    """A charger-level value that is not tied to a connector (last tag, last member)."""

    def __init__(
        self,
        entry: ChargerConfigEntry,
        description: SensorEntityDescription,
        value_fn: Callable[[], StateType],
    ) -> None:
        """Per charger."""
        super().__init__(entry, description)
        self._value_fn = value_fn

    def _current_value(self) -> Any:
        return self._value_fn()

    @property
    def native_value(self) -> StateType:
        """The value now."""
        return self._value_fn()


class MemberSensor(MemberEntity, SensorEntity):
    """A member's monthly figure."""

    entity_description: MemberSensorDescription

    @property
    def native_value(self) -> StateType | datetime:
        """From the member's totals."""
        value: StateType | datetime = self.value()
        return value

    @property
    def last_reset(self) -> datetime | None:
        """Start of the month for this month's energy."""
        fn = self.entity_description.last_reset_fn
        return fn(self.totals()) if fn else None
