"""Custom Modbus profiles in the config and options flows.

A user whose charger is not in the list writes its register map as JSON (or YAML) in a text
field, starting from a template (a built-in profile, the charger's current profile or a
minimal skeleton). The text is parsed, validated by the adapter's own profile parser and then
checked against the live device: the identity/state registers (the connection test) and one
read of every mapped value register. Only a profile that passes all three is saved: in the
entry's options under ``profile``, where it overrides the entry's model.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import json
import logging
import re
from typing import TYPE_CHECKING, Any

from homeassistant.config_entries import ConfigEntry, ConfigFlowResult
from homeassistant.const import CONF_HOST, CONF_PORT
from homeassistant.exceptions import HomeAssistantError
from homeassistant.helpers.selector import (
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.util.yaml import parse_yaml
import probatio as vol

from .chargers.events import ChargerInfo
from .chargers.modbus import (
    PROFILES,
    ModbusChargerError,
    ModbusConnectError,
    ModbusDeviceError,
    ModbusIdentityError,
    ProfileError,
    RegisterMap,
    builtin_profile_data,
    custom_profile,
    probe_modbus_charger,
    profile_for,
)
from .chargers.modbus.charger import select_variant
from .chargers.modbus.codec import RegisterSpec, decode
from .chargers.modbus.transport import ModbusTransport
from .const import CONF_MODEL, CONF_UNIT_ID

if TYPE_CHECKING:
    from homeassistant.data_entry_flow import FlowHandler

    _Base = FlowHandler[Any, ConfigFlowResult, Any]
else:
    _Base = object

_LOGGER = logging.getLogger(__name__)

#: Entry option holding a custom profile dict; it overrides the entry's model.
CONF_PROFILE = "profile"
#: Form field choosing what the profile text starts from.
CONF_TEMPLATE = "template"
#: The model value of entries added with a custom profile.
MODEL_CUSTOM = "custom"
#: Template choices besides the built-in models.
TEMPLATE_CURRENT = "current"
TEMPLATE_BLANK = "blank"
#: Problems shown on the form (the rest are in the log).
_MAX_PROBLEMS = 8
_PROBE_TIMEOUT_S = 5.0
_YAML_MARK = re.compile(r"line (\d+), column (\d+)")

#: A small, valid skeleton: the commonest keys with placeholder addresses.
BLANK_TEMPLATE: dict[str, Any] = {
    "title": "My charger",
    "vendor": "",
    "model": "",
    "unit_id": 1,
    "identity": {"serial": {"address": 100, "type": "string", "length": 10}},
    "values": {
        "energy_total_wh": {"address": 200, "type": "u32", "scale": 1},
        "power_w": {"address": 202, "type": "u32", "scale": 1},
        "current_l1_a": {"address": 204, "type": "u16", "scale": 0.1},
    },
    "state": {
        "status": {"address": 210, "type": "u16"},
        "iec": {"0": "A", "1": "B", "2": "C", "3": "F"},
    },
    "limit": {"register": {"address": 300, "type": "u16"}, "write": "fc6", "unit": "A"},
    "min_current_a": 6,
    "max_current_a": 16,
    "poll_interval_s": 5,
}

#: Keys of a built-in profile file that mean nothing in a custom profile.
_TEMPLATE_DROP = ("name", "sources")


def model_options() -> list[str]:
    """Model choices of the add-charger form: the built-in models, then ``custom``."""
    return [*sorted(PROFILES), MODEL_CUSTOM]


def profile_of_entry(entry: ConfigEntry) -> RegisterMap:
    """The profile a Modbus charger entry runs with: its model's, or the custom one.

    Raises :class:`ProfileError` when the entry's profile is invalid or missing.
    """
    model = entry.data[CONF_MODEL]
    if model != MODEL_CUSTOM:
        return profile_for(model)
    data = entry.options.get(CONF_PROFILE)
    if data is None:
        raise ProfileError(["the custom profile is missing; set it in the charger's options"])
    return custom_profile(data)


def template_text(template: str, current: dict[str, Any] | None) -> str:
    """The profile text a template starts from (JSON, indented)."""
    if template == TEMPLATE_CURRENT and current is not None:
        data = current
    elif template in PROFILES:
        data = builtin_profile_data(template)
        for key in _TEMPLATE_DROP:
            data.pop(key, None)
    else:
        data = BLANK_TEMPLATE
    return json.dumps(data, indent=2, ensure_ascii=False)


def template_schema(default: str, *, with_current: bool) -> vol.Schema:
    """Form: what the profile text starts from."""
    options = [TEMPLATE_CURRENT] if with_current else []
    options += [*sorted(PROFILES), TEMPLATE_BLANK]
    return vol.Schema(
        {
            vol.Required(CONF_TEMPLATE, default=default): SelectSelector(
                SelectSelectorConfig(
                    options=options,
                    mode=SelectSelectorMode.DROPDOWN,
                    translation_key="profile_template",
                )
            )
        }
    )


def profile_schema(text: str) -> vol.Schema:
    """Form: the profile text (JSON or YAML)."""
    return vol.Schema(
        {
            vol.Required(CONF_PROFILE, default=text): TextSelector(
                TextSelectorConfig(type=TextSelectorType.TEXT, multiline=True)
            )
        }
    )


def _yaml_problem(message: str) -> str:
    """A YAML error as ``line L, column C: problem (in the ... that starts at line l, column c)``.

    The parser's message names the enclosing block first (its context) and the real problem
    last: the line and column reported are the problem's, the block's start is only a hint.
    """
    marks = _YAML_MARK.findall(message)
    # Messages start at column 0; the marks and the text snippets under them are indented.
    texts = [line.strip() for line in message.splitlines() if line[:1].strip()]
    if not texts:
        return message.strip()
    if not marks:
        return texts[-1]
    line, column = marks[-1]
    found = f"line {line}, column {column}: {texts[-1]}"
    if len(marks) > 1 and len(texts) > 1:
        context = texts[0].removeprefix("while parsing ").removeprefix("while scanning ")
        context = context.removeprefix("a ").removeprefix("an ")
        found += f" (in the {context} that starts at line {marks[0][0]}, column {marks[0][1]})"
    return found


#: What a profile text that is no object is, by the type the YAML loader gave.
_KINDS: tuple[tuple[type, str], ...] = ((list, "a list"), (str, "a text"), (type(None), "nothing"))


def parse_profile_text(text: str) -> dict[str, Any]:
    """Parse the form's text (JSON is YAML too). Raises :class:`ProfileError` on bad syntax."""
    try:
        data = parse_yaml(text)
    except HomeAssistantError as err:
        raise ProfileError([_yaml_problem(str(err))]) from None
    if not isinstance(data, dict):
        # HA's YAML loader gives its own classes (NodeListClass, NodeStrClass): name the kind.
        kind = next((k for t, k in _KINDS if isinstance(data, t)), type(data).__name__)
        raise ProfileError([f"expected an object, got {kind}"])
    plain: dict[str, Any] = json.loads(json.dumps(data))  # plain types for the entry
    return plain


@dataclass(slots=True)
class RegisterReadings:
    """What one check read: decoded values by name, one line per register for people, and
    the value registers the device refused (problems)."""

    values: dict[str, Any] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _unit_of(name: str) -> str:
    """The unit a value of this name is in (``energy_total_wh`` -> ``Wh``)."""
    for suffix, unit in (("_wh", " Wh"), ("_w", " W"), ("_a", " A"), ("_v", " V")):
        if name.endswith(suffix):
            return unit
    return ""


def _shown(value: Any, unit: str = "") -> str:
    """A decoded value for the form: thousands separated, at most 3 decimals."""
    if value is None:
        return "no value"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.3f}".rstrip("0").rstrip(".") + unit
    if isinstance(value, int | float):
        return f"{int(value):,}{unit}"
    return f"{value!r}"


#: The marker of an implausible value in the check form (the form's text says what it means).
IMPLAUSIBLE_MARK = "⚠"
#: Values no charger shows, by name (inclusive bounds of what is plausible): a value outside
#: means a wrong ``type``, ``word_order``, ``byte_order`` or ``scale``. A lifetime register at
#: 0 Wh is flagged too (a charger has delivered something; a wrong register reads 0).
_PLAUSIBLE: dict[str, tuple[float, float]] = {
    "energy_total_wh": (1, 10_000_000_000),  # 10 GWh: 50 years at 22 kW
    "session_energy_wh": (0, 1_000_000),
    "power_w": (-1_000, 400_000),
    "current_l1_a": (0, 100),
    "current_l2_a": (0, 100),
    "current_l3_a": (0, 100),
    "voltage_l1_v": (0, 500),
    "voltage_l2_v": (0, 500),
    "voltage_l3_v": (0, 500),
    "applied_limit_a": (0, 100),
    "limit": (0, 100),
}


def implausible(name: str, value: Any) -> bool:
    """Whether a value read is outside what any charger shows (e.g. 327,680,000,000 Wh)."""
    bounds = _PLAUSIBLE.get(name)
    if bounds is None or not isinstance(value, int | float) or isinstance(value, bool):
        return False
    return not bounds[0] <= value <= bounds[1]


def _marked(name: str, value: Any, shown: str) -> str:
    return f"{shown} {IMPLAUSIBLE_MARK}" if implausible(name, value) else shown


def _where(profile: RegisterMap, spec: RegisterSpec) -> str:
    return f"{spec.function} {spec.address}, unit {profile.unit_for(spec)}"


async def _read_one(
    transport: ModbusTransport, profile: RegisterMap, spec: RegisterSpec
) -> tuple[Any, ModbusDeviceError | None]:
    try:
        words = await transport.read(
            profile.unit_for(spec), spec.function, spec.address, spec.count
        )
    except ModbusDeviceError as err:
        return None, err
    return decode(spec, words), None


async def read_value_registers(
    host: str, port: int, profile: RegisterMap, *, timeout_s: float = _PROBE_TIMEOUT_S
) -> RegisterReadings:
    """Read every mapped value register once, the status register, and the write registers
    that can be read back (limit, enable), as the device's firmware variant maps them.

    A value register the device refuses is a problem; a write register it refuses is only
    shown (many are write-only). Raises :class:`ModbusConnectError` when unreachable.
    """
    transport = ModbusTransport(host, port, timeout_s=timeout_s, name="ev_sessions profile check")
    await transport.connect()
    out = RegisterReadings()
    try:
        profile = await select_variant(profile, transport.read)
        if profile.variant is not None:
            out.lines.append(f"variant: {profile.variant}")
        for quantity, spec in profile.values.items():
            value, err = await _read_one(transport, profile, spec)
            if err is not None:
                out.problems.append(
                    f"values.{quantity}: {spec.function} register {spec.address} "
                    f"(unit {profile.unit_for(spec)}) is not readable ({err})"
                )
                continue
            out.values[str(quantity)] = value
            shown = _marked(quantity, value, _shown(value, _unit_of(quantity)))
            out.lines.append(f"{quantity} ({_where(profile, spec)}): {shown}")
        if (status := profile.state.status) is not None:
            value, err = await _read_one(transport, profile, status)
            iec = profile.state.iec.get(str(value)) if err is None else None
            shown = f"{_shown(value)} → IEC {iec or '?'}" if err is None else f"{err}"
            out.lines.append(f"state.status ({_where(profile, status)}): {shown}")
        if (limit := profile.limit) is not None:
            value, err = await _read_one(transport, profile, limit.register)
            if err is None and isinstance(value, int | float):
                amps = value / 1000 if limit.milliamps else value
                out.values["limit"] = amps
                shown = _marked("limit", amps, _shown(amps, " A"))
            else:
                shown = f"not readable ({err})"
            out.lines.append(f"limit ({_where(profile, limit.register)}): {shown}")
        if (enable := profile.enable) is not None:
            value, err = await _read_one(transport, profile, enable.register)
            if err is None:
                out.values["enable"] = value
                state = {enable.on: "on", enable.off: "off"}.get(int(value or 0), "?")
                shown = f"{state} ({_shown(value)})"
            else:
                shown = f"not readable ({err})"
            out.lines.append(f"enable ({_where(profile, enable.register)}): {shown}")
    finally:
        transport.close()
    return out


@dataclass(slots=True)
class ProfileCheck:
    """The outcome of checking a profile text against the device.

    ``error`` is ``None`` when the profile can be saved (``data`` and ``info`` are set).
    """

    data: dict[str, Any] | None = None
    info: ChargerInfo | None = None
    error: str | None = None
    problems: list[str] = field(default_factory=list)
    readings: RegisterReadings | None = None


async def validate_profile_text(
    host: str, port: int, unit_id: int | None, text: str
) -> ProfileCheck:
    """Parse, validate and check a profile against the device.

    ``unit_id`` (the add form's, if given) replaces the profile's ``unit_id``. The error key
    is one of ``invalid_syntax``, ``invalid_profile``, ``profile_mismatch``,
    ``register_unreadable`` (all tied to the profile field), ``cannot_connect`` or
    ``unknown``; ``None`` when valid (then ``readings`` has what was read).
    """
    try:
        data = parse_profile_text(text)
    except ProfileError as err:
        return ProfileCheck(error="invalid_syntax", problems=err.errors)
    if unit_id is not None:
        data["unit_id"] = unit_id
        if isinstance(defaults := data.get("defaults"), dict):
            defaults.pop("unit_id", None)  # the form's unit id wins
    try:
        profile = custom_profile(data)
    except ProfileError as err:
        return ProfileCheck(error="invalid_profile", problems=err.errors)
    data.setdefault("unit_id", profile.unit_id)
    try:
        info = await probe_modbus_charger(
            host, port, profile.unit_id, profile, timeout_s=_PROBE_TIMEOUT_S
        )
        readings = await read_value_registers(host, port, profile)
    except ModbusIdentityError as err:
        return ProfileCheck(error="profile_mismatch", problems=[str(err)])
    except ModbusConnectError as err:
        _LOGGER.debug("Modbus profile check of %s failed: %s", host, err)
        return ProfileCheck(error="cannot_connect")
    except ModbusChargerError as err:
        return ProfileCheck(error="profile_mismatch", problems=[str(err)])
    except Exception:
        _LOGGER.exception("Unexpected error checking a Modbus profile")
        return ProfileCheck(error="unknown")
    if readings.problems:
        return ProfileCheck(
            error="register_unreadable", problems=readings.problems, readings=readings
        )
    _LOGGER.debug("Custom profile for %s:%s reads %s", host, port, readings.values)
    return ProfileCheck(data=data, info=info, readings=readings)


def readings_text(readings: RegisterReadings | None) -> str:
    """The registers read as a Markdown list for the form's description ("" when none)."""
    if readings is None or not readings.lines:
        return ""
    return "\n\n" + "\n".join(f"- `{line}`" for line in readings.lines)


def problems_text(problems: list[str]) -> str:
    """The problems as a Markdown list for the form's description ("" when none)."""
    if not problems:
        return ""
    shown = [f"- `{p}`" for p in problems[:_MAX_PROBLEMS]]
    if len(problems) > _MAX_PROBLEMS:
        shown.append(f"- … (+{len(problems) - _MAX_PROBLEMS})")
    return "\n\n" + "\n".join(shown)


class ModbusProfileSteps(_Base):
    """The profile steps (template, the text, then the values read), shared by both flows.

    The flow sets :attr:`_modbus_target` (host, port, unit id or None) and
    :attr:`_modbus_current` (the profile in effect, or None) before calling
    :meth:`async_step_modbus_template`, and implements :meth:`_modbus_profile_done`.
    """

    _modbus_target: tuple[str, int, int | None]
    _modbus_current: dict[str, Any] | None = None
    _modbus_text: str = ""
    _modbus_checked: ProfileCheck | None = None

    async def async_step_modbus_template(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Choose what the profile starts from."""
        if user_input is not None:
            self._modbus_text = template_text(user_input[CONF_TEMPLATE], self._modbus_current)
            return await self.async_step_modbus_profile()
        with_current = self._modbus_current is not None
        return self.async_show_form(
            step_id="modbus_template",
            data_schema=template_schema(
                TEMPLATE_CURRENT if with_current else TEMPLATE_BLANK, with_current=with_current
            ),
        )

    async def async_step_modbus_profile(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Edit the register map; saved only once the device answers like it."""
        errors: dict[str, str] = {}
        problems: list[str] = []
        if user_input is not None:
            self._modbus_text = user_input[CONF_PROFILE]
            host, port, unit_id = self._modbus_target
            check = await validate_profile_text(host, port, unit_id, self._modbus_text)
            if check.error is None:
                self._modbus_checked = check
                return await self.async_step_modbus_check()
            problems = check.problems
            errors["base" if check.error in ("cannot_connect", "unknown") else CONF_PROFILE] = (
                check.error
            )
        host, port, _ = self._modbus_target
        return self.async_show_form(
            step_id="modbus_profile",
            data_schema=profile_schema(self._modbus_text),
            errors=errors,
            description_placeholders={
                "host": f"{host}:{port}",
                "problems": problems_text(problems),
            },
        )

    async def async_step_modbus_check(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """The profile passed: show what it read (values, status, limit and enable read
        back), so a wrong word order or scale shows before saving; save or edit again."""
        check = self._modbus_checked
        assert check is not None
        host, port, _ = self._modbus_target
        return self.async_show_menu(
            step_id="modbus_check",
            menu_options=["modbus_save", "modbus_profile"],
            description_placeholders={
                "host": f"{host}:{port}",
                "readings": readings_text(check.readings),
            },
        )

    async def async_step_modbus_save(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Save the checked profile."""
        check = self._modbus_checked
        assert check is not None
        assert check.data is not None
        assert check.info is not None
        return await self._modbus_profile_done(check.data, check.info)

    async def _modbus_profile_done(
        self, profile: dict[str, Any], info: ChargerInfo
    ) -> ConfigFlowResult:
        """Save a checked profile (the flow decides where)."""
        raise NotImplementedError


class ModbusOptionsSteps(ModbusProfileSteps):
    """Options of a Modbus charger: its (custom) profile."""

    config_entry: ConfigEntry

    async def async_step_modbus(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Start from the profile in effect (its unit id is the charger's)."""
        entry = self.config_entry
        model = entry.data[CONF_MODEL]
        self._modbus_target = (entry.data[CONF_HOST], int(entry.data[CONF_PORT]), None)
        current = entry.options.get(CONF_PROFILE) if model == MODEL_CUSTOM else None
        if current is None and model in PROFILES:
            current = json.loads(template_text(model, None))
        if current is not None and entry.data.get(CONF_UNIT_ID) is not None:
            current = {**current, "unit_id": int(entry.data[CONF_UNIT_ID])}
        self._modbus_current = current
        return await self.async_step_modbus_template()

    async def _modbus_profile_done(
        self, profile: dict[str, Any], info: ChargerInfo
    ) -> ConfigFlowResult:
        """The entry becomes a custom-profile entry; the options change reloads it."""
        entry = self.config_entry
        self.hass.config_entries.async_update_entry(
            entry,
            data={**entry.data, CONF_MODEL: MODEL_CUSTOM, CONF_UNIT_ID: profile["unit_id"]},
        )
        return self.async_create_entry(data={**entry.options, CONF_PROFILE: profile})


__all__ = [
    "CONF_PROFILE",
    "MODEL_CUSTOM",
    "ModbusOptionsSteps",
    "ModbusProfileSteps",
    "ProfileCheck",
    "RegisterReadings",
    "model_options",
    "parse_profile_text",
    "profile_of_entry",
    "read_value_registers",
    "template_text",
    "validate_profile_text",
]
