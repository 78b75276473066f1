"""Set up and tear down one charger entry (OCPP or Modbus).

The adapter that owns the charger registers it with the site (a :class:`ChargerLink`: how
commands reach it; the OCPP server also admits it); the charger's coordinator and device
listen to the site.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
import functools

from homeassistant.config_entries import ConfigEntry, ConfigEntryState
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.core import HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryError, ConfigEntryNotReady
from homeassistant.helpers import device_registry as dr

from .charger_options import battery_capacity_wh, soc_entity_id
from .chargers.events import ChargerInfo
from .chargers.modbus import ModbusCharger, ModbusChargerError, ModbusIdentityError, ProfileError
from .chargers.modbus.charger import CONNECTOR_ID as MODBUS_CONNECTOR_ID
from .const import (
    CONF_CHARGER_ID,
    CONF_ENTRY_TYPE,
    CONF_PROTOCOL,
    CONF_UNIT_ID,
    DOMAIN,
    ENTRY_TYPE_HUB,
    PROTOCOL_MODBUS,
)
from .coordinator import ChargerCoordinator, ChargerRuntimeData, HubRuntimeData
from .core import ArbiterSettings, ChargerLink, SessionEvent, SessionEventKind
from .devices import charger_identifier
from .hub import LIVE_OPTIONS, Hub
from .member_soc import async_track_member_soc
from .modbus_flow import profile_of_entry
from .modbus_issues import ModbusEventRelay
from .modbus_timing import ModbusTiming
from .soc_entity import async_track_soc_entity


def _rise_pace(default: ArbiterSettings, spacing_s: float) -> ArbiterSettings | None:
    """A Modbus charger's current rises no faster than its profile lets it take writes (None:
    the arbiter's own interval is long enough)."""
    if spacing_s <= default.min_interval.total_seconds():
        return None
    return replace(default, min_interval=timedelta(seconds=spacing_s))


def loaded_hub_runtime(hass: HomeAssistant) -> HubRuntimeData | None:
    """The running hub's runtime data (loaded, or far enough in its setup to take chargers)."""
    entry = _loaded_hub_entry(hass)
    return None if entry is None else entry.runtime_data


def _loaded_hub_entry(hass: HomeAssistant) -> ConfigEntry[HubRuntimeData] | None:
    """The running hub's entry (loaded, or far enough in its setup to take chargers)."""
    for entry in hass.config_entries.async_entries(DOMAIN, include_ignore=False):
        if entry.data.get(CONF_ENTRY_TYPE) != ENTRY_TYPE_HUB or entry.state not in (
            ConfigEntryState.LOADED,
            ConfigEntryState.SETUP_IN_PROGRESS,
        ):
            continue
        runtime: HubRuntimeData | None = getattr(entry, "runtime_data", None)
        if runtime is not None and not runtime.closed:
            return entry
    return None


def loaded_hub(hass: HomeAssistant) -> Hub | None:
    """The running hub, if any."""
    runtime = loaded_hub_runtime(hass)
    return runtime.hub if runtime is not None else None


async def async_setup_charger(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Register the charger with the site; Modbus chargers also get their poller."""
    hub_entry = _loaded_hub_entry(hass)
    if hub_entry is None:
        raise ConfigEntryNotReady(translation_domain=DOMAIN, translation_key="hub_not_ready")
    hub_runtime = hub_entry.runtime_data
    hub = hub_runtime.hub
    charger_id: str = entry.data[CONF_CHARGER_ID]
    protocol: str = entry.data[CONF_PROTOCOL]
    adapter: ModbusCharger | None = None
    if protocol == PROTOCOL_MODBUS:
        try:
            profile = profile_of_entry(entry)
        except ProfileError as err:
            raise ConfigEntryError(
                translation_domain=DOMAIN,
                translation_key="invalid_modbus_profile",
                translation_placeholders={"error": str(err)},
            ) from err
        # Without a lifetime register (ABB) the adapter builds the counter: continue it from
        # the last value the engine applied, so a restart is no meter reset.
        register_wh, session_wh = hub.engine.last_registers(charger_id, MODBUS_CONNECTOR_ID)
        relay = ModbusEventRelay(hass, entry, hub.site)  # raises the implausible-register repair
        timing = ModbusTiming.from_options(hub_entry.options)
        adapter = ModbusCharger(
            charger_id,
            entry.data[CONF_HOST],
            int(entry.data[CONF_PORT]),
            profile,
            relay,
            unit_id=int(entry.data[CONF_UNIT_ID]),
            time_scale=timing.period_scale,
            request_timeout_s=timing.request_timeout_s,
            lifetime_start_wh=float(register_wh or 0),
            lifetime_session_wh=None if register_wh is None else session_wh,
        )
        await _async_check_answers(adapter, entry)
        relay.adapter = adapter
        spacing_s = adapter.profile.min_write_interval_s * timing.period_scale
        hub.site.current.configure(charger_id, _rise_pace(hub.site.current.settings, spacing_s))
        entry.async_on_unload(relay.clear)
        link = ChargerLink(charger_id=charger_id, send=adapter.execute)
    else:  # OCPP: the hub's server carries the commands and admits the charger
        server = hub_runtime.server
        link = ChargerLink(
            charger_id=charger_id, send=functools.partial(server.execute, charger_id), gate=server
        )
    coordinator = ChargerCoordinator(hass, entry, hub, charger_id)
    entry.runtime_data = ChargerRuntimeData(
        hub=hub, link=link, coordinator=coordinator, adapter=adapter
    )
    site = hub.site
    entry.async_on_unload(
        site.decisions.add(charger_id, lambda _decision: coordinator.async_update_listeners())
    )
    # Member names shown by the charger's entities (its member, the last member) follow.
    entry.async_on_unload(
        site.member_changes.add(lambda _members: coordinator.async_update_listeners())
    )

    @callback
    def update_device(info: ChargerInfo) -> None:
        """The charger (re)booted: keep its device's identity and firmware current."""
        registry = dr.async_get(hass)
        device = registry.async_get_device_by_identifier(
            charger_identifier(charger_id), entry.entry_id
        )
        if device is not None and info.vendor is not None:
            registry.async_update_device(
                device.id,
                manufacturer=info.vendor,
                model=info.model,
                serial_number=info.serial,
                sw_version=info.firmware,
            )

    entry.async_on_unload(site.charger_info.add(charger_id, update_device))
    entry.async_on_unload(_estimate_to_full(hass, hub, charger_id, battery_capacity_wh(entry)))
    if (soc_entity := soc_entity_id(entry)) is not None:
        entry.async_on_unload(async_track_soc_entity(hass, hub, charger_id, soc_entity))
    else:  # the car's SoC from the sensor of the session's member, if they chose one
        entry.async_on_unload(async_track_member_soc(hass, hub, charger_id))
    options_in_use = _reloading_options(entry)
    modbus_data = dict(entry.data) if protocol == PROTOCOL_MODBUS else None

    async def _on_update(hass: HomeAssistant, entry: ConfigEntry) -> None:
        """The charger's entry changed: reload for new options (or a new Modbus setup); who
        may charge and the member are read live; an OCPP password (set by the user or the
        hub) is enforced at once."""
        if _reloading_options(entry) != options_in_use or (
            modbus_data is not None and dict(entry.data) != modbus_data
        ):
            hass.config_entries.async_schedule_reload(entry.entry_id)
            return
        site.credentials_changed(charger_id)

    entry.async_on_unload(entry.add_update_listener(_on_update))
    entry.async_on_unload(site.register_charger(link))
    entry.async_on_unload(coordinator.async_start())
    if adapter is not None:
        await adapter.start()


async def _async_check_answers(adapter: ModbusCharger, entry: ConfigEntry) -> None:
    """Test before setup: the charger answers like its profile (the add flow's probe), or the
    setup is retried later (:class:`ConfigEntryNotReady` saying why)."""
    where = {"host": entry.data[CONF_HOST], "port": str(entry.data[CONF_PORT])}
    try:
        await adapter.read_identity()
    except ModbusIdentityError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="modbus_wrong_device",
            translation_placeholders={**where, "error": str(err)},
        ) from err
    except ModbusChargerError as err:
        raise ConfigEntryNotReady(
            translation_domain=DOMAIN,
            translation_key="modbus_not_answering",
            translation_placeholders={**where, "error": str(err)},
        ) from err


def _estimate_to_full(
    hass: HomeAssistant, hub: Hub, charger_id: str, battery_wh: int | None
) -> Callable[[], None]:
    """Give each session of the charger a full battery as its target, so that its end is
    estimated from the state of charge (until a planner sets real targets). Returns the
    unsubscribe."""

    @callback
    def set_target(connector_id: int) -> None:
        view = hub.engine.connector(charger_id, connector_id)
        if view.session is not None and view.target is None:
            hub.engine.set_target(charger_id, connector_id, soc_pct=100.0, battery_wh=battery_wh)

    def on_session(event: SessionEvent) -> None:
        session = event.session
        if event.kind is SessionEventKind.STARTED and session.charger_id == charger_id:
            # after the engine finished handling the event that started the session
            hass.loop.call_soon(set_target, session.connector_id)

    for connector_id in hub.engine.connectors(charger_id):  # sessions running already
        set_target(connector_id)
    return hub.engine.session_events.add(on_session)


def _reloading_options(entry: ConfigEntry) -> dict[str, object]:
    """The options whose change reloads the charger (all but those the site reads live)."""
    return {key: value for key, value in entry.options.items() if key not in LIVE_OPTIONS}


async def async_unload_charger(hass: HomeAssistant, entry: ConfigEntry) -> None:
    """Stop the Modbus poller (OCPP chargers stay connected to the hub's server)."""
    runtime: ChargerRuntimeData = entry.runtime_data
    if runtime.adapter is not None:
        await runtime.adapter.stop()
