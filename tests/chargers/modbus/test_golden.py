"""Golden register maps: every built-in profile against the documented tables.

The tables below are written out by hand from ``shared/reference/modbus-chargers.md`` (and,
where a profile uses a register the reference does not list, named in ``OTHER_SOURCES`` with
its source). They are deliberately not derived from the profile JSON: a typo in a profile
(an address, a word order, a scale) must not be able to pass its own test.

Scales are the documented unit per raw step in SI units (Wh, W, A, V); for the limit the
profile's ``unit: mA`` counts as 0.001.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest

from custom_components.ev_sessions.chargers.modbus import PROFILES
from custom_components.ev_sessions.chargers.modbus.codec import RegisterSpec, WordOrder, decode
from custom_components.ev_sessions.chargers.modbus.register_map import (
    Quantity,
    RegisterMap,
    WriteFunction,
)


@dataclass(frozen=True)
class Doc:
    """One documented register."""

    address: int
    type: str | None  # None: the reference gives no type (only its width, below)
    function: str = "holding"
    unit: int | None = None  # None: the profile's unit id
    scale: float = 1.0
    length: int = 1  # strings: registers
    chars_per_register: int = 2
    lsw_first: bool = False
    registers: int | None = None  # width when ``type`` is None


@dataclass(frozen=True)
class Golden:
    """A documented controller: unit id, registers by role, how the limit is written."""

    unit_id: int
    registers: dict[str, Doc]
    limit_write: str | None = None  # None: the reference does not say
    #: (raw registers of the status register, the text or number it means)
    status_samples: tuple[tuple[list[int], object], ...] = ()
    #: roles of the profile that come from other sources than the reference
    other_sources: dict[str, str] = field(default_factory=dict)


def _three(first: int, quantity: str, **kw: object) -> dict[str, Doc]:
    """L1-L3 registers 2 apart."""
    return {
        f"values.{quantity}_l{i + 1}_{'a' if quantity == 'current' else 'v'}": Doc(
            first + 2 * i,
            **kw,  # type: ignore[arg-type]
        )
        for i in range(3)
    }


GOLDEN: dict[str, Golden] = {
    # 1. Alfen Eve: unit 1 (socket 1), 200 = station; FC3; everything big-endian.
    "alfen": Golden(
        unit_id=1,
        registers={
            "identity.firmware": Doc(123, "string", unit=200, length=17),
            "identity.serial": Doc(157, "string", unit=200, length=11),
            **_three(306, "voltage", type="f32"),
            **_three(320, "current", type="f32"),
            "values.power_w": Doc(344, "f32"),
            "values.energy_total_wh": Doc(374, "f64"),
            "state.status": Doc(1201, "string", length=5),
            "values.applied_limit_a": Doc(1206, "f32"),
            "limit": Doc(1210, "f32"),
        },
        limit_write="fc16",
        status_samples=(([0x4332, 0, 0, 0, 0], "C2"), ([0x4200, 0, 0, 0, 0], "B")),
    ),
    # 2. ABB Terra AC: unit 1; u32 big-endian; state in the high byte of 0x400D, bits 0-6.
    "abb": Golden(
        unit_id=1,
        registers={
            "identity.firmware": Doc(0x4004, "version", length=2),
            "state.plugged": Doc(0x400A, "u32"),
            "state.status": Doc(0x400C, "u32"),
            "values.applied_limit_a": Doc(0x400E, "u32", scale=0.001),
            **_three(0x4010, "current", type="u32", scale=0.001),
            **_three(0x4016, "voltage", type="u32", scale=0.1),
            "values.power_w": Doc(0x401C, "u32"),
            "values.session_energy_wh": Doc(0x401E, "u32"),
            "limit": Doc(0x4100, "u32", scale=0.001),
        },
        limit_write="fc16",
        status_samples=(([0, 0x0400], 4), ([0xFFFF, 0x8400], 4), ([0, 0x0300], 3)),
    ),
    # 3. Vestel EVC04: unit 255; measurements input registers, setpoints holding registers.
    "vestel": Golden(
        unit_id=255,
        registers={
            "identity.serial": Doc(100, "string", "input", length=25, chars_per_register=1),
            "identity.firmware": Doc(230, "string", "input", length=50, chars_per_register=1),
            "state.status": Doc(1000, "u16", "input"),
            "state.charging": Doc(1001, "u16", "input"),
            "state.plugged": Doc(1004, "u16", "input"),
            **_three(1008, "current", type="u16", function="input", scale=0.001),
            **_three(1014, "voltage", type="u16", function="input"),
            "values.power_w": Doc(1020, "u32", "input"),
            "values.energy_total_wh": Doc(1036, "u32", "input", scale=100),  # 0.1 kWh
            "values.session_energy_wh": Doc(1502, "u32", "input"),
            "values.rfid": Doc(1516, "string", "input", length=15, chars_per_register=1),
            "watchdogs[0].period_from": Doc(2002, "u16"),  # failsafe timeout s
            "limit": Doc(5004, "u16"),
            "watchdogs[0].register": Doc(6000, "u16"),  # alive register
        },
        limit_write="fc6",
    ),
    # 4. Webasto / Ampure NEXT: unit 255; all holding registers.
    "webasto_next": Golden(
        unit_id=255,
        registers={
            "state.status": Doc(1000, "u16"),
            **_three(1008, "current", type="u16", scale=0.001),
            "values.power_w": Doc(1020, "u32"),
            "values.energy_total_wh": Doc(1036, "u32"),
            "values.session_energy_wh": Doc(1502, "u16"),
            "values.rfid": Doc(1600, "string", length=10),
            "watchdogs[0].period_from": Doc(2002, "u16"),  # comTimeout s
            "limit": Doc(5004, "u16"),
            "watchdogs[0].register": Doc(6000, "u16"),  # life bit
        },
        limit_write="fc16",
    ),
    # 5. KEBA P30: unit 255; every value u32 big-endian holding; writes u16 with FC6.
    "keba": Golden(
        unit_id=255,
        registers={
            "state.status": Doc(1000, "u32"),
            "state.plugged": Doc(1004, "u32"),
            **_three(1008, "current", type="u32", scale=0.001),
            "identity.model": Doc(1016, "u32"),
            "identity.firmware": Doc(1018, "u32"),
            "values.power_w": Doc(1020, "u32", scale=0.001),  # mW
            "values.energy_total_wh": Doc(1036, "u32", scale=0.1),  # 0.1 Wh
            **_three(1040, "voltage", type="u32"),
            "values.applied_limit_a": Doc(1100, "u32", scale=0.001),
            "values.rfid": Doc(1500, "u32"),
            "values.session_energy_wh": Doc(1502, "u32", scale=0.1),
            "watchdogs[0].period_from": Doc(1602, "u32"),  # failsafe timeout s
            "limit": Doc(5004, "u16", scale=0.001),  # mA
            "enable": Doc(5014, "u16"),
            "watchdogs[0].register": Doc(5018, "u16"),
        },
        limit_write="fc6",
        status_samples=(([0, 3], 3),),
        other_sources={"identity.serial": "evcc keba-modbus.go: 1014"},
    ),
    # 6. CHARX SEC connector 1: unit 255; per-connector registers at 1000 + offset.
    "charx": Golden(
        unit_id=255,
        registers={
            **_three(1232, "voltage", type="i32", scale=0.001),  # mV
            **_three(1238, "current", type="i32", scale=0.001),  # mA
            "values.power_w": Doc(1244, "i32", scale=0.001),  # mW
            "values.energy_total_wh": Doc(1250, "i64"),
            "values.rfid": Doc(1275, "string", length=10),
            "state.status": Doc(1299, "string", length=1),  # letter in the high byte
            "limit": Doc(1301, "u16"),
        },
        status_samples=(([0x4300], "C"), ([0x4100], "A")),
        other_sources={
            "identity.model": "evcc phoenix-charx.go: name 100",
            "identity.firmware": "evcc phoenix-charx.go: software version 110",
            "values.session_energy_wh": "evcc phoenix-charx.go: charged energy 289",
            "enable": "evcc phoenix-charx.go: enable 300",
        },
    ),
    # 7a. Phoenix EV-CC-AC1-M3-...-ETH: unit 255; 32-bit values LSW first.
    "phoenix_ev_eth": Golden(
        unit_id=255,
        registers={
            "state.status": Doc(100, "string", "input", chars_per_register=1),  # low byte
            **_three(108, "voltage", type="i32", function="input", lsw_first=True),
            **_three(114, "current", type="i32", function="input", lsw_first=True),
            "values.power_w": Doc(120, "i32", "input", lsw_first=True),
            "enable": Doc(400, "bool", "coil"),
            "limit": Doc(528, "u16"),
            "variants.wallbe.when": Doc(528, "u16"),  # 0.1 A steps read >= 60
            "values.rfid": Doc(606, "string", length=16),
            "values.energy_total_wh": Doc(904, "u32", lsw_first=True),
        },
        status_samples=(([0x0043], "C"), ([0x0041], "A")),
    ),
    # 7b. Phoenix EM-CP-PP-ETH: unit 180; LSW first.
    "phoenix_em_eth": Golden(
        unit_id=180,
        registers={
            "state.status": Doc(100, "string", "input", chars_per_register=1),  # low byte
            "values.voltage_l1_v": Doc(108, None, "input", scale=0.01, lsw_first=True, registers=2),
            "values.current_l1_a": Doc(
                114, None, "input", scale=0.001, lsw_first=True, registers=2
            ),
            "values.power_w": Doc(120, None, "input", scale=10, lsw_first=True, registers=2),
            "values.energy_total_wh": Doc(
                128, None, "input", scale=10, lsw_first=True, registers=2
            ),
            "limit": Doc(300, "u16"),
            "enable": Doc(400, "bool", "coil"),
        },
        status_samples=(([0x0042], "B"),),
        other_sources={
            "values.current_l2_a": "evcc phoenix-em-eth.go: currents 114, 116, 118",
            "values.current_l3_a": "evcc phoenix-em-eth.go: currents 114, 116, 118",
        },
    ),
}

#: The Wallbe firmware of the EV-ETH (section 7a): what differs from the base table.
WALLBE: dict[str, Doc] = {
    "values.energy_total_wh": Doc(2980, "u64", lsw_first=True),
    "limit": Doc(528, "u16", scale=0.1),  # 0.1 A steps
}


def registers_of(profile: RegisterMap) -> dict[str, RegisterSpec]:
    """Every register a profile uses, by role."""
    out: dict[str, RegisterSpec] = {}
    out.update({f"values.{q}": s for q, s in profile.values.items()})
    out.update({f"identity.{f}": s for f, s in profile.identity.items()})
    state = profile.state
    if state.status is not None:
        out["state.status"] = state.status
    if state.plugged is not None:
        out["state.plugged"] = state.plugged.register
    if state.charging is not None:
        out["state.charging"] = state.charging.register
    if profile.limit is not None:
        out["limit"] = profile.limit.register
    if profile.enable is not None:
        out["enable"] = profile.enable.register
    for i, wd in enumerate(profile.watchdogs):
        if wd.register is not None:
            out[f"watchdogs[{i}].register"] = wd.register
        if wd.period_from is not None:
            out[f"watchdogs[{i}].period_from"] = wd.period_from.register
    for variant in profile.variants:
        out[f"variants.{variant.name}.when"] = variant.when.register
    return out


def _check(profile: RegisterMap, role: str, spec: RegisterSpec, doc: Doc) -> list[str]:
    """Differences between a profile register and its documented row."""
    problems: list[str] = []

    def differs(what: str, have: object, want: object) -> None:
        problems.append(f"{role}: {what} is {have!r}, documented {want!r}")

    unit = profile.unit_for(spec)
    if unit != (doc.unit if doc.unit is not None else profile.unit_id):
        differs("unit", unit, doc.unit)
    if spec.address != doc.address:
        differs("address", spec.address, doc.address)
    if spec.function.value != doc.function:
        differs("function", spec.function.value, doc.function)
    if doc.type is not None and spec.type.value != doc.type:
        differs("type", spec.type.value, doc.type)
    if doc.type is None and spec.count != doc.registers:
        differs("width", spec.count, doc.registers)
    if doc.type in ("string", "version") and spec.length != doc.length:
        differs("length", spec.length, doc.length)
    if doc.type == "string" and spec.chars_per_register != doc.chars_per_register:
        differs("chars_per_register", spec.chars_per_register, doc.chars_per_register)
    scale = spec.scale
    if role == "limit" and profile.limit is not None and profile.limit.milliamps:
        scale *= 0.001
    if scale != pytest.approx(doc.scale):
        differs("scale", scale, doc.scale)
    if spec.count > 1 and not spec.is_text:
        order = "little" if doc.lsw_first else "big"
        if spec.word_order.value != order:
            differs("word_order", spec.word_order.value, order)
    return problems


def _compare(profile: RegisterMap, table: dict[str, Doc], other: dict[str, str]) -> list[str]:
    have = registers_of(profile)
    problems = [f"{role}: documented but not in the profile" for role in table if role not in have]
    problems += [
        f"{role}: in the profile but neither documented nor sourced elsewhere"
        for role in have
        if role not in table and role not in other
    ]
    for role, doc in table.items():
        if role in have:
            problems += _check(profile, role, have[role], doc)
    return problems


def test_every_builtin_profile_has_a_golden_table() -> None:
    assert sorted(GOLDEN) == sorted(PROFILES)


@pytest.mark.parametrize("model", sorted(GOLDEN))
def test_register_map_matches_the_documented_table(model: str) -> None:
    golden = GOLDEN[model]
    profile = PROFILES[model]
    assert profile.unit_id == golden.unit_id
    assert _compare(profile, golden.registers, golden.other_sources) == []
    if golden.limit_write is not None:
        assert profile.limit is not None
        assert profile.limit.write is WriteFunction(golden.limit_write)
    assert profile.state.status is not None
    for words, meaning in golden.status_samples:
        assert decode(profile.state.status, words) == meaning, words


def test_wallbe_variant_matches_its_documented_differences() -> None:
    profile = PROFILES["phoenix_ev_eth"]
    (variant,) = profile.variants
    assert variant.name == "wallbe"
    assert variant.when.min == 60  # evcc: register 528 reading >= 60
    table = {**GOLDEN["phoenix_ev_eth"].registers, **WALLBE}
    del table["variants.wallbe.when"]  # the variant's own profile has no variants
    assert _compare(variant.profile, table, {}) == []


def test_a_typo_in_a_profile_is_caught() -> None:
    """The comparison itself: one wrong word order or address is reported."""
    profile = PROFILES["phoenix_ev_eth"]
    energy = profile.values[Quantity.ENERGY_TOTAL_WH]
    broken = replace(
        profile,
        values={
            **profile.values,
            Quantity.ENERGY_TOTAL_WH: replace(energy, word_order=WordOrder.BIG),
            Quantity.POWER_W: replace(profile.values[Quantity.POWER_W], address=122),
        },
    )
    problems = _compare(broken, GOLDEN["phoenix_ev_eth"].registers, {})
    assert "values.energy_total_wh: word_order is 'big', documented 'little'" in problems
    assert "values.power_w: address is 122, documented 120" in problems
