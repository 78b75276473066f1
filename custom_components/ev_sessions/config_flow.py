"""Config flow for ev_sessions: one hub, then one entry per charger."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import errno
import ipaddress
from typing import Any, override

from homeassistant.config_entries import (
    SOURCE_RECONFIGURE,
    ConfigEntry,
    ConfigFlow,
    ConfigFlowResult,
    ConfigSubentryFlow,
    OptionsFlow,
)
from homeassistant.const import CONF_HOST, CONF_PASSWORD, CONF_PORT
from homeassistant.core import callback
from homeassistant.helpers.dispatcher import async_dispatcher_connect, async_dispatcher_send
from homeassistant.helpers.selector import (
    BooleanSelector,
    EntitySelector,
    EntitySelectorConfig,
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
    TimeSelector,
)
import probatio as vol

from .billing_glue import CONF_BILL_DAY, CONF_BILL_TIME, DEFAULT_BILL_DAY, DEFAULT_BILL_TIME
from .budget_flow import (
    BudgetOptionsSteps,
    ChargerBudgetSteps,
    charger_budget_errors,
    charger_budget_fields,
    with_charger_budget,
)
from .charger_options import (
    CONF_BATTERY_CAPACITY,
    CONF_MAX_CURRENT,
    CONF_SOC_ENTITY,
    DEFAULT_MAX_CURRENT_A,
    DEFAULT_MIN_CURRENT_A,
    CurrentRange,
)
from .chargers.events import ChargerInfo
from .chargers.modbus import (
    PROFILES,
    ModbusChargerError,
    ModbusIdentityError,
    custom_profile,
    probe_modbus_charger,
)
from .const import (
    CONF_CHARGER_ID,
    CONF_DB_URL,
    CONF_ENTRY_TYPE,
    CONF_FAST_MIN_KW,
    CONF_METER_INTERVAL,
    CONF_MODEL,
    CONF_OCPP_HOST,
    CONF_OCPP_PORT,
    CONF_PROTOCOL,
    CONF_REJECT_UNKNOWN,
    CONF_SLOW_MAX_KW,
    CONF_SSL_CERTFILE,
    CONF_SSL_KEYFILE,
    CONF_UNIT_ID,
    DEFAULT_FAST_MIN_KW,
    DEFAULT_METER_INTERVAL,
    DEFAULT_MODBUS_PORT,
    DEFAULT_OCPP_HOST,
    DEFAULT_OCPP_PORT,
    DEFAULT_SLOW_MAX_KW,
    DOMAIN,
    ENTRY_TYPE_CHARGER,
    ENTRY_TYPE_HUB,
    HUB_UNIQUE_ID,
    LOGGER,
    PROTOCOL_MODBUS,
    PROTOCOL_OCPP,
)
from .database_flow import async_check_database, shown_url, typed_url
from .devices import NAMESPACED_MINOR_VERSION
from .member_flow import SUBENTRY_MEMBER, MemberSubentryFlow
from .modbus_flow import (
    CONF_PROFILE,
    MODEL_CUSTOM,
    ModbusOptionsSteps,
    ModbusProfileSteps,
    model_options,
)
from .price_flow import PriceOptionsSteps
from .setup_hub import CONF_AUDIT_RETENTION_DAYS, DEFAULT_AUDIT_RETENTION_DAYS
from .tls import TlsConfigError, build_ssl_context

_PORT_SELECTOR = NumberSelector(
    NumberSelectorConfig(min=1, max=65535, step=1, mode=NumberSelectorMode.BOX)
)
_PATH_SELECTOR = TextSelector(TextSelectorConfig(type=TextSelectorType.TEXT))
_PASSWORD_SELECTOR = TextSelector(
    TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="new-password")
)
#: OCPP charge point ids become URL segments; keep them printable and short.
MAX_CHARGER_ID_LENGTH = 48


def _discovery_update_signal(charger_id: str) -> str:
    """What a charger's waiting discovery flow listens to for the charger's new identity."""
    return f"{DOMAIN}_discovery_update_{charger_id}"


async def _port_is_free(host: str, port: int) -> bool:
    """Return whether we can listen on ``port`` (test before configure)."""
    try:
        server = await asyncio.start_server(lambda _r, _w: None, host, port)
    except OSError as err:
        if err.errno in (errno.EADDRINUSE, errno.EACCES):
            return False
        raise
    server.close()
    await server.wait_closed()
    return True


def _hub_schema(defaults: dict[str, Any]) -> vol.Schema:
    return vol.Schema(
        {
            vol.Required(
                CONF_OCPP_PORT, default=defaults.get(CONF_OCPP_PORT, DEFAULT_OCPP_PORT)
            ): _PORT_SELECTOR,
            vol.Optional(
                CONF_SSL_CERTFILE, default=defaults.get(CONF_SSL_CERTFILE, "")
            ): _PATH_SELECTOR,
            vol.Optional(
                CONF_SSL_KEYFILE, default=defaults.get(CONF_SSL_KEYFILE, "")
            ): _PATH_SELECTOR,
        }
    )


class EvSessionsConfigFlow(ModbusProfileSteps, ConfigFlow, domain=DOMAIN):
    """Set up the hub, then add chargers (discovered OCPP chargers or Modbus chargers)."""

    VERSION = 1
    #: 1.2: namespaced device identifiers and unique ids (``devices.async_namespace_entries``).
    MINOR_VERSION = NAMESPACED_MINOR_VERSION

    _discovered: dict[str, Any]
    _modbus_pending: dict[str, Any]
    _unsub_discovery_update: Callable[[], None] | None = None

    @staticmethod
    @callback
    @override
    def async_get_options_flow(config_entry: ConfigEntry) -> EvSessionsOptionsFlow:
        """Options for the hub or for a charger."""
        return EvSessionsOptionsFlow()

    @classmethod
    @callback
    @override
    def async_get_supported_subentry_types(
        cls, config_entry: ConfigEntry
    ) -> dict[str, type[ConfigSubentryFlow]]:
        """The hub holds the household members."""
        if config_entry.data.get(CONF_ENTRY_TYPE) == ENTRY_TYPE_HUB:
            return {SUBENTRY_MEMBER: MemberSubentryFlow}
        return {}

    def _hub_entry(self) -> ConfigEntry | None:
        return next(
            (
                entry
                for entry in self._async_current_entries(include_ignore=False)
                if entry.data.get(CONF_ENTRY_TYPE) == ENTRY_TYPE_HUB
            ),
            None,
        )

    async def _validate_hub(self, user_input: dict[str, Any]) -> dict[str, str]:
        errors: dict[str, str] = {}
        certfile = user_input.get(CONF_SSL_CERTFILE) or ""
        keyfile = user_input.get(CONF_SSL_KEYFILE) or ""
        if certfile or keyfile:
            try:
                await self.hass.async_add_executor_job(build_ssl_context, certfile, keyfile)
            except TlsConfigError as err:
                errors[err.field] = err.reason
        if not errors and not await _port_is_free("0.0.0.0", int(user_input[CONF_OCPP_PORT])):  # noqa: S104
            errors[CONF_OCPP_PORT] = "port_in_use"
        return errors

    @override
    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """First the hub; once it exists, add a charger."""
        if self._hub_entry() is not None:
            return self.async_show_menu(step_id="user", menu_options=["modbus", "ocpp"])
        return await self.async_step_hub(user_input)

    async def async_step_hub(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Create the hub: where OCPP chargers connect."""
        await self.async_set_unique_id(HUB_UNIQUE_ID)
        self._abort_if_unique_id_configured()
        errors: dict[str, str] = {}
        if user_input is not None:
            user_input[CONF_OCPP_PORT] = int(user_input[CONF_OCPP_PORT])
            errors = await self._validate_hub(user_input)
            if not errors:
                return self.async_create_entry(
                    title="EV Sessions",
                    data={CONF_ENTRY_TYPE: ENTRY_TYPE_HUB, **user_input},
                )
        return self.async_show_form(
            step_id="hub", data_schema=_hub_schema(user_input or {}), errors=errors
        )

    async def async_step_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the hub's port/TLS, or a Modbus charger's address."""
        entry = self._get_reconfigure_entry()
        if entry.data[CONF_ENTRY_TYPE] == ENTRY_TYPE_HUB:
            errors: dict[str, str] = {}
            if user_input is not None:
                user_input[CONF_OCPP_PORT] = int(user_input[CONF_OCPP_PORT])
                same_port = user_input[CONF_OCPP_PORT] == entry.data[CONF_OCPP_PORT]
                if same_port:
                    # Our own server holds the port: only check the TLS files.
                    probe = {**user_input, CONF_OCPP_PORT: 0}
                    errors = await self._validate_hub(probe)
                else:
                    errors = await self._validate_hub(user_input)
                if not errors:
                    return self.async_update_reload_and_abort(entry, data_updates=user_input)
            return self.async_show_form(
                step_id="reconfigure",
                data_schema=_hub_schema(user_input or dict(entry.data)),
                errors=errors,
            )
        if entry.data[CONF_PROTOCOL] == PROTOCOL_MODBUS:
            return await self._modbus_form("reconfigure", user_input, entry)
        return self.async_abort(reason="reconfigure_not_supported")

    # ------------------------------------------------------------------ OCPP

    async def async_step_integration_discovery(
        self, discovery_info: dict[str, Any]
    ) -> ConfigFlowResult:
        """An unknown OCPP charger connected to the hub (or booted again as other hardware
        while its flow waits: that flow shows it as it is now, this one aborts)."""
        charger_id = discovery_info[CONF_CHARGER_ID]
        async_dispatcher_send(self.hass, _discovery_update_signal(charger_id), discovery_info)
        await self.async_set_unique_id(charger_id)
        self._abort_if_unique_id_configured()
        self._discovered = discovery_info
        self.context["title_placeholders"] = {"charger_id": charger_id}
        self._unsub_discovery_update = async_dispatcher_connect(
            self.hass, _discovery_update_signal(charger_id), self._async_discovery_updated
        )
        return await self.async_step_discovery_confirm()

    @callback
    def _async_discovery_updated(self, discovery_info: dict[str, Any]) -> None:
        """The waiting charger's new identity: the form (and a later equal discovery's
        match) use it from now on."""
        self._discovered = discovery_info
        self.init_data = discovery_info
        self.async_notify_flow_changed()

    @override
    def async_remove(self) -> None:
        """The flow ended: stop listening for the charger's identity."""
        if self._unsub_discovery_update is not None:
            self._unsub_discovery_update()
            self._unsub_discovery_update = None

    async def async_step_discovery_confirm(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Ask the user to accept the charger."""
        info = self._discovered
        if user_input is not None:
            return self._create_ocpp_entry(info[CONF_CHARGER_ID], user_input.get(CONF_PASSWORD))
        return self.async_show_form(
            step_id="discovery_confirm",
            data_schema=vol.Schema({vol.Optional(CONF_PASSWORD): _PASSWORD_SELECTOR}),
            description_placeholders={
                "charger_id": info[CONF_CHARGER_ID],
                "vendor": info.get("vendor") or "?",
                "model": info.get("model") or "?",
            },
        )

    async def async_step_ocpp(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Add an OCPP charger by hand before it first connects."""
        errors: dict[str, str] = {}
        if user_input is not None:
            charger_id = user_input[CONF_CHARGER_ID].strip()
            if (
                not charger_id
                or len(charger_id) > MAX_CHARGER_ID_LENGTH
                or "/" in charger_id
                or not charger_id.isprintable()
            ):
                errors[CONF_CHARGER_ID] = "invalid_charger_id"
            else:
                await self.async_set_unique_id(charger_id)
                self._abort_if_unique_id_configured()
                return self._create_ocpp_entry(charger_id, user_input.get(CONF_PASSWORD))
        return self.async_show_form(
            step_id="ocpp",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_CHARGER_ID): TextSelector(),
                    vol.Optional(CONF_PASSWORD): _PASSWORD_SELECTOR,
                }
            ),
            errors=errors,
        )

    def _create_ocpp_entry(self, charger_id: str, password: str | None) -> ConfigFlowResult:
        data: dict[str, Any] = {
            CONF_ENTRY_TYPE: ENTRY_TYPE_CHARGER,
            CONF_PROTOCOL: PROTOCOL_OCPP,
            CONF_CHARGER_ID: charger_id,
        }
        if password:
            data[CONF_PASSWORD] = password
        return self.async_create_entry(title=charger_id, data=data)

    # ------------------------------------------------------------------ Modbus

    async def async_step_modbus(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Add a Modbus TCP charger: test the connection, then create."""
        return await self._modbus_form("modbus", user_input, None)

    async def _modbus_form(
        self, step_id: str, user_input: dict[str, Any] | None, entry: ConfigEntry | None
    ) -> ConfigFlowResult:
        errors: dict[str, str] = {}
        if user_input is not None:
            model: str = user_input[CONF_MODEL]
            typed_unit = user_input.get(CONF_UNIT_ID)
            unit_id = None if typed_unit is None or typed_unit == "" else int(typed_unit)
            data: dict[str, Any] = {
                CONF_HOST: user_input[CONF_HOST].strip(),
                CONF_PORT: int(user_input[CONF_PORT]),
                CONF_MODEL: model,
                CONF_UNIT_ID: unit_id,
            }
            custom_saved = entry is not None and CONF_PROFILE in entry.options
            if model == MODEL_CUSTOM and not custom_saved:
                # Write the register map first; it is checked against the device there.
                self._modbus_pending = data
                self._modbus_target = (data[CONF_HOST], data[CONF_PORT], unit_id)
                self._modbus_current = None
                return await self.async_step_modbus_template()
            info: ChargerInfo | None = None
            try:
                if model == MODEL_CUSTOM:
                    assert entry is not None
                    profile = custom_profile(entry.options[CONF_PROFILE])
                else:
                    profile = PROFILES[model]
                if unit_id is None:
                    data[CONF_UNIT_ID] = profile.unit_id
                info = await probe_modbus_charger(
                    data[CONF_HOST], data[CONF_PORT], data[CONF_UNIT_ID], profile
                )
            except ModbusIdentityError as err:
                LOGGER.debug("Modbus probe of %s: %s", data[CONF_HOST], err)
                errors["base"] = "wrong_model"
            except ModbusChargerError as err:
                LOGGER.debug("Modbus probe of %s failed: %s", data[CONF_HOST], err)
                errors["base"] = "cannot_connect"
            except Exception:  # noqa: BLE001  (the flow shows "unknown", the log has it)
                LOGGER.exception("Unexpected error probing a Modbus charger")
                errors["base"] = "unknown"
            if info is not None:
                return await self._modbus_finish(data, info, entry, None)
        defaults = user_input or (dict(entry.data) if entry else {})
        schema = vol.Schema(
            {
                vol.Required(CONF_HOST, default=defaults.get(CONF_HOST, "")): TextSelector(),
                vol.Required(
                    CONF_PORT, default=defaults.get(CONF_PORT, DEFAULT_MODBUS_PORT)
                ): _PORT_SELECTOR,
                vol.Required(CONF_MODEL, default=defaults.get(CONF_MODEL, "alfen")): SelectSelector(
                    SelectSelectorConfig(
                        options=model_options(),
                        mode=SelectSelectorMode.DROPDOWN,
                        translation_key="model",
                    )
                ),
                vol.Optional(
                    CONF_UNIT_ID,
                    description={"suggested_value": defaults.get(CONF_UNIT_ID)},
                ): NumberSelector(
                    NumberSelectorConfig(min=0, max=255, step=1, mode=NumberSelectorMode.BOX)
                ),
            }
        )
        return self.async_show_form(step_id=step_id, data_schema=schema, errors=errors)

    async def _modbus_finish(
        self,
        data: dict[str, Any],
        info: ChargerInfo,
        entry: ConfigEntry | None,
        profile: dict[str, Any] | None,
    ) -> ConfigFlowResult:
        """Create (or update) the entry of a probed charger; ``profile``: a custom profile."""
        serial = info.serial or f"{data[CONF_HOST]}:{data[CONF_PORT]}/{data[CONF_UNIT_ID]}"
        unique_id = f"modbus_{serial}"
        await self.async_set_unique_id(unique_id)
        if entry is not None:
            self._abort_if_unique_id_mismatch(reason="different_device")
            options = dict(entry.options)
            if profile is not None:
                options[CONF_PROFILE] = profile
            elif data[CONF_MODEL] != MODEL_CUSTOM:
                options.pop(CONF_PROFILE, None)  # back to a built-in model
            return self.async_update_reload_and_abort(entry, data_updates=data, options=options)
        self._abort_if_unique_id_configured()
        title = " ".join(p for p in (info.vendor, info.model) if p) or data[CONF_HOST]
        return self.async_create_entry(
            title=title,
            data={
                CONF_ENTRY_TYPE: ENTRY_TYPE_CHARGER,
                CONF_PROTOCOL: PROTOCOL_MODBUS,
                CONF_CHARGER_ID: unique_id,
                **data,
            },
            options={CONF_PROFILE: profile} if profile is not None else None,
        )

    @override
    async def _modbus_profile_done(
        self, profile: dict[str, Any], info: ChargerInfo
    ) -> ConfigFlowResult:
        """A custom profile passed its checks: add (or reconfigure) the charger with it."""
        data = {**self._modbus_pending, CONF_UNIT_ID: profile["unit_id"]}
        entry = self._get_reconfigure_entry() if self.source == SOURCE_RECONFIGURE else None
        return await self._modbus_finish(data, info, entry, profile)


#: The hub options the "hub" step edits (the rest of the options are kept as they are).
_HUB_STEP_OPTIONS = frozenset(
    {
        CONF_REJECT_UNKNOWN,
        CONF_METER_INTERVAL,
        CONF_SLOW_MAX_KW,
        CONF_FAST_MIN_KW,
        CONF_AUDIT_RETENTION_DAYS,
        CONF_OCPP_HOST,
        CONF_BILL_DAY,
        CONF_BILL_TIME,
        CONF_DB_URL,
    }
)


def _bind_address(value: str) -> str | None:
    """The hub's bind address, normalized; ``None`` if it is not an IP address."""
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        return None


def _soc_entity_field(options: dict[str, Any]) -> dict[Any, Any]:
    """The charger option naming a battery sensor with the car's SoC (for chargers without)."""
    return {
        vol.Optional(
            CONF_SOC_ENTITY, description={"suggested_value": options.get(CONF_SOC_ENTITY)}
        ): EntitySelector(EntitySelectorConfig(domain="sensor", device_class="battery"))
    }


def _with_soc_entity(options: dict[str, Any], user_input: dict[str, Any]) -> dict[str, Any]:
    """``options`` with the SoC entity of the form (none when the field was emptied)."""
    kept = {key: value for key, value in options.items() if key != CONF_SOC_ENTITY}
    if entity_id := user_input.get(CONF_SOC_ENTITY):
        kept[CONF_SOC_ENTITY] = entity_id
    return kept


class EvSessionsOptionsFlow(
    PriceOptionsSteps, BudgetOptionsSteps, ChargerBudgetSteps, ModbusOptionsSteps, OptionsFlow
):
    """Options: hub behaviour and prices, or a charger's password.

    Entries reload through their update listeners when their options change (the hub needs a
    listener for its member subentries, and HA forbids mixing one with OptionsFlowWithReload).
    """

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show the options that fit the entry."""
        entry = self.config_entry
        if entry.data[CONF_ENTRY_TYPE] == ENTRY_TYPE_HUB:
            return self.async_show_menu(
                step_id="init", menu_options=["hub", "prices", "power_budget"]
            )
        if entry.data[CONF_PROTOCOL] == PROTOCOL_OCPP:
            return await self.async_step_charger(user_input)
        return self.async_show_menu(
            step_id="init", menu_options=["car", "modbus", "charger_budget"]
        )

    async def async_step_car(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """A Modbus charger's car: its battery capacity and a sensor with its state of charge
        (no Modbus profile reads one), for the estimated end of charging."""
        options = dict(self.config_entry.options)
        if user_input is not None:
            if user_input.get(CONF_BATTERY_CAPACITY):
                options[CONF_BATTERY_CAPACITY] = float(user_input[CONF_BATTERY_CAPACITY])
            else:
                options.pop(CONF_BATTERY_CAPACITY, None)
            return self.async_create_entry(data=_with_soc_entity(options, user_input))
        battery = NumberSelectorConfig(
            min=1, max=300, step=0.1, unit_of_measurement="kWh", mode=NumberSelectorMode.BOX
        )
        return self.async_show_form(
            step_id="car",
            data_schema=vol.Schema(
                {
                    vol.Optional(
                        CONF_BATTERY_CAPACITY,
                        description={"suggested_value": options.get(CONF_BATTERY_CAPACITY)},
                    ): NumberSelector(battery),
                    **_soc_entity_field(options),
                }
            ),
        )

    async def async_step_hub(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Hub options."""
        errors: dict[str, str] = {}
        if user_input is not None:
            if float(user_input[CONF_SLOW_MAX_KW]) >= float(user_input[CONF_FAST_MIN_KW]):
                errors[CONF_FAST_MIN_KW] = "fast_below_slow"
            if str(user_input.get(CONF_OCPP_HOST) or "").strip():
                host = _bind_address(str(user_input[CONF_OCPP_HOST]))
                if host is None:
                    errors[CONF_OCPP_HOST] = "invalid_host"
                else:
                    user_input[CONF_OCPP_HOST] = host
            else:  # empty: the default, every interface
                user_input.pop(CONF_OCPP_HOST, None)
            if not errors:
                errors.update(await self._async_check_db_url(user_input))
            if not errors:
                user_input[CONF_METER_INTERVAL] = int(user_input[CONF_METER_INTERVAL])
                if CONF_AUDIT_RETENTION_DAYS in user_input:
                    days = int(user_input[CONF_AUDIT_RETENTION_DAYS])
                    user_input[CONF_AUDIT_RETENTION_DAYS] = days
                if CONF_BILL_DAY in user_input:
                    user_input[CONF_BILL_DAY] = int(user_input[CONF_BILL_DAY])
                kept = {
                    key: value
                    for key, value in self.config_entry.options.items()
                    if key not in _HUB_STEP_OPTIONS
                }
                return self.async_create_entry(data={**kept, **user_input})
        options = user_input or dict(self.config_entry.options)
        kw = NumberSelectorConfig(min=1, max=400, step=0.1, unit_of_measurement="kW")
        return self.async_show_form(
            step_id="hub",
            data_schema=vol.Schema(
                {
                    vol.Required(
                        CONF_REJECT_UNKNOWN, default=options.get(CONF_REJECT_UNKNOWN, False)
                    ): BooleanSelector(),
                    vol.Required(
                        CONF_METER_INTERVAL,
                        default=options.get(CONF_METER_INTERVAL, DEFAULT_METER_INTERVAL),
                    ): NumberSelector(
                        NumberSelectorConfig(
                            min=1,
                            max=900,
                            step=1,
                            unit_of_measurement="s",
                            mode=NumberSelectorMode.BOX,
                        )
                    ),
                    vol.Required(
                        CONF_SLOW_MAX_KW, default=options.get(CONF_SLOW_MAX_KW, DEFAULT_SLOW_MAX_KW)
                    ): NumberSelector(kw),
                    vol.Required(
                        CONF_FAST_MIN_KW, default=options.get(CONF_FAST_MIN_KW, DEFAULT_FAST_MIN_KW)
                    ): NumberSelector(kw),
                    vol.Optional(
                        CONF_AUDIT_RETENTION_DAYS,
                        description={
                            "suggested_value": options.get(
                                CONF_AUDIT_RETENTION_DAYS, DEFAULT_AUDIT_RETENTION_DAYS
                            )
                        },
                    ): NumberSelector(
                        NumberSelectorConfig(
                            min=0,
                            max=3650,
                            step=1,
                            unit_of_measurement="d",
                            mode=NumberSelectorMode.BOX,
                        )
                    ),
                    vol.Optional(
                        CONF_OCPP_HOST,
                        description={
                            "suggested_value": options.get(
                                CONF_OCPP_HOST,
                                self.config_entry.data.get(CONF_OCPP_HOST, DEFAULT_OCPP_HOST),
                            )
                        },
                    ): TextSelector(),
                    vol.Optional(
                        CONF_DB_URL,
                        description={
                            "suggested_value": user_input.get(CONF_DB_URL)
                            if user_input is not None
                            else shown_url(self._stored_db_url())
                        },
                    ): TextSelector(),
                    vol.Required(
                        CONF_BILL_DAY, default=options.get(CONF_BILL_DAY, DEFAULT_BILL_DAY)
                    ): NumberSelector(
                        NumberSelectorConfig(min=1, max=28, step=1, mode=NumberSelectorMode.BOX)
                    ),
                    vol.Required(
                        CONF_BILL_TIME, default=options.get(CONF_BILL_TIME, DEFAULT_BILL_TIME)
                    ): TimeSelector(),
                }
            ),
            errors=errors,
        )

    def _stored_db_url(self) -> str | None:
        """The hub's database URL as stored (``None``: the SQLite file)."""
        entry = self.config_entry
        return entry.options.get(CONF_DB_URL) or entry.data.get(CONF_DB_URL) or None

    async def _async_check_db_url(self, user_input: dict[str, Any]) -> dict[str, str]:
        """Check a new database URL (connect, create or upgrade, write) before it is saved."""
        stored = self._stored_db_url()
        url = typed_url(user_input.get(CONF_DB_URL), stored)
        if not url:
            user_input.pop(CONF_DB_URL, None)  # the SQLite file in the config folder
            return {}
        if url != stored and (error := await async_check_database(url)) is not None:
            return {CONF_DB_URL: error}
        user_input[CONF_DB_URL] = url
        return {}

    async def async_step_charger(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """OCPP charger options: the security profile 1/2 password, the charger's maximum
        current (its rating or fuse: the limit's upper end), the car's battery capacity (an
        estimated end from the state of charge) and its part in the site power budget."""
        options = dict(self.config_entry.options)
        errors: dict[str, str] = {}
        if user_input is not None:
            max_a = float(user_input.get(CONF_MAX_CURRENT) or DEFAULT_MAX_CURRENT_A)
            errors = charger_budget_errors(
                user_input, CurrentRange(min(DEFAULT_MIN_CURRENT_A, max_a), max_a)
            )
        if user_input is not None and not errors:
            data = dict(self.config_entry.data)
            if user_input.get(CONF_PASSWORD):
                data[CONF_PASSWORD] = user_input[CONF_PASSWORD]
            else:
                data.pop(CONF_PASSWORD, None)
            self.hass.config_entries.async_update_entry(self.config_entry, data=data)
            for key in (CONF_MAX_CURRENT, CONF_BATTERY_CAPACITY):
                if user_input.get(key):
                    options[key] = float(user_input[key])
                else:
                    options.pop(key, None)
            options = with_charger_budget(options, user_input)
            return self.async_create_entry(data=_with_soc_entity(options, user_input))
        max_current = options.get(CONF_MAX_CURRENT, DEFAULT_MAX_CURRENT_A)
        return self.async_show_form(
            step_id="charger",
            data_schema=vol.Schema(
                {
                    # Shown filled in (masked): saving the form for another field keeps it;
                    # emptying the field removes it.
                    vol.Optional(
                        CONF_PASSWORD,
                        description={"suggested_value": self.config_entry.data.get(CONF_PASSWORD)},
                    ): _PASSWORD_SELECTOR,
                    vol.Optional(
                        CONF_MAX_CURRENT, description={"suggested_value": max_current}
                    ): NumberSelector(
                        NumberSelectorConfig(
                            min=DEFAULT_MIN_CURRENT_A,
                            max=80,
                            step=1,
                            unit_of_measurement="A",
                            mode=NumberSelectorMode.BOX,
                        )
                    ),
                    vol.Optional(
                        CONF_BATTERY_CAPACITY,
                        description={"suggested_value": options.get(CONF_BATTERY_CAPACITY)},
                    ): NumberSelector(
                        NumberSelectorConfig(
                            min=1,
                            max=300,
                            step=0.1,
                            unit_of_measurement="kWh",
                            mode=NumberSelectorMode.BOX,
                        )
                    ),
                    **_soc_entity_field(options),
                    **charger_budget_fields(self.config_entry),
                }
            ),
            errors=errors,
        )
