"""Profiles as data: codec, state decoding, read planning and validation (no sockets)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from custom_components.ev_sessions.chargers.events import ConnectorState
from custom_components.ev_sessions.chargers.modbus import (
    PROFILES,
    ProfileError,
    custom_profile,
    profile_for,
)
from custom_components.ev_sessions.chargers.modbus.codec import (
    RegisterSpec,
    RegisterType,
    WordOrder,
    decode,
    encode,
)
from custom_components.ev_sessions.chargers.modbus.control import ControlState, limit_writes
from custom_components.ev_sessions.chargers.modbus.energy import LifetimeFromSession
from custom_components.ev_sessions.chargers.modbus.read_plan import plan_reads
from custom_components.ev_sessions.chargers.modbus.register_map import Quantity
from custom_components.ev_sessions.chargers.modbus.state import (
    StateReading,
    connector_state,
    read_state,
)

from .helpers import MODELS

S = ConnectorState


def test_all_builtin_profiles_load() -> None:
    assert sorted(PROFILES) == sorted(MODELS)
    for name, profile in PROFILES.items():
        assert profile.name == name
        assert profile.limit is not None
        assert profile.state.status is not None


@pytest.mark.parametrize(
    ("spec", "value", "words"),
    [
        (RegisterSpec(address=0, type=RegisterType.F32), 16.0, [0x4180, 0x0000]),
        (RegisterSpec(address=0, type=RegisterType.F64), 1234.5, [0x4093, 0x4A00, 0, 0]),
        (RegisterSpec(address=0, type=RegisterType.U32), 70000, [0x0001, 0x1170]),
        (
            RegisterSpec(address=0, type=RegisterType.U32, word_order=WordOrder.LITTLE),
            70000,
            [0x1170, 1],
        ),
        (RegisterSpec(address=0, type=RegisterType.I32, scale=0.001), -1.5, [0xFFFF, 0xFA24]),
        (RegisterSpec(address=0, type=RegisterType.I64), 1_000_000, [0, 0, 0x000F, 0x4240]),
        (RegisterSpec(address=0, type=RegisterType.U16, scale=100), 7000, [70]),
        (RegisterSpec(address=0, type=RegisterType.STRING, length=5), "C2", [0x4332, 0, 0, 0, 0]),
        (
            RegisterSpec(address=0, type=RegisterType.STRING, length=3, chars_per_register=1),
            "AB",
            [0x41, 0x42, 0],
        ),
        (RegisterSpec(address=0, type=RegisterType.VERSION, length=2), "1.6.5", [0x0106, 0x0500]),
        (
            RegisterSpec(address=0, type=RegisterType.U32, hex_digits=8),
            "04A1B2C3",
            [0x04A1, 0xB2C3],
        ),
    ],
)
def test_codec_round_trip(spec: RegisterSpec, value: float | str, words: list[int]) -> None:
    assert encode(spec, value) == words
    decoded = decode(spec, words)
    assert decoded == pytest.approx(value) if isinstance(value, float) else decoded == value


def test_codec_unavailable_values() -> None:
    f32 = RegisterSpec(address=0, type=RegisterType.F32)
    assert decode(f32, encode(f32, math.nan)) is None  # Alfen: unavailable reads NaN
    rfid = RegisterSpec(address=0, type=RegisterType.U32, hex_digits=8, empty=("00000000",))
    assert decode(rfid, [0, 0]) is None  # KEBA: no card
    assert decode(RegisterSpec(address=0, type=RegisterType.STRING, length=2), [0, 0]) is None
    with pytest.raises(ValueError, match="expected 2 registers"):
        decode(f32, [1])
    with pytest.raises(ValueError, match="does not fit"):
        encode(RegisterSpec(address=0), 70000)


def _iec(model: str, **values: Any) -> StateReading:
    profile = profile_for(model)
    spec = profile.state
    regs: dict[str, Any] = {}
    for key, raw in values.items():
        register = {"status": spec.status, "plugged": spec.plugged, "charging": spec.charging}[key]
        target = register if isinstance(register, RegisterSpec) else register.register  # type: ignore[union-attr]
        regs[key] = decode(target, raw)
    return read_state(spec, regs)


def test_abb_state_is_the_high_byte_of_the_second_word() -> None:
    # (regs[1] >> 8) & 0x7F; bit 7 ("below commanded current") is ignored
    assert _iec("abb", status=[0, 0x0400]).iec == "C"
    assert _iec("abb", status=[0xFFFF, 0x8400]).iec == "C"
    assert _iec("abb", status=[0, 0x0300]).hint is S.SUSPENDED_EVSE
    # 5 = other: the socket lock decides (>= 0x0101 -> B, otherwise A)
    assert _iec("abb", status=[0, 0x0500], plugged=[0, 0x0111]).iec == "B"
    assert _iec("abb", status=[0, 0x0500], plugged=[0, 0x0011]).iec == "A"
    # a known state is not overridden by the lock (fallback mode)
    assert _iec("abb", status=[0, 0x0400], plugged=[0, 0]).iec == "C"


def test_keba_cable_bit_and_alfen_ascii() -> None:
    assert _iec("keba", status=[0, 3], plugged=[0, 7]).iec == "C"
    assert _iec("keba", status=[0, 3], plugged=[0, 3]).iec == "A"  # bit 2 clear: not in the EV
    assert _iec("keba", status=[0, 1], plugged=[0, 5]).iec == "B"  # waiting for authorization
    alfen_status = profile_for("alfen").state.status
    assert alfen_status is not None
    assert _iec("alfen", status=encode(alfen_status, "C1")).hint is S.SUSPENDED_EVSE
    assert _iec("alfen", status=encode(alfen_status, "F")).iec == "F"
    reading = _iec("vestel", status=[1], plugged=[3], charging=[1])
    assert reading.iec == "C"


def test_connector_state_context() -> None:
    b = StateReading(iec="B", hint=None, raw="B")
    assert connector_state(b, previous=S.AVAILABLE, paused_by_hub=False) is S.PREPARING
    assert connector_state(b, previous=S.CHARGING, paused_by_hub=False) is S.SUSPENDED_EV
    assert connector_state(b, previous=S.CHARGING, paused_by_hub=True) is S.SUSPENDED_EVSE
    unknown = StateReading(iec=None, hint=None, raw="?")
    assert connector_state(unknown, previous=None, paused_by_hub=False) is S.UNKNOWN


def test_read_planning_respects_device_limits() -> None:
    keba = profile_for("keba")
    items = [(q.value, spec) for q, spec in keba.values.items()]
    blocks = plan_reads(items, default_unit=255, max_registers=2, merge_gap=-1)
    assert all(b.count == 2 and len(b.members) == 1 for b in blocks)  # one value per request
    vestel = profile_for("vestel")
    items = [(q.value, spec) for q, spec in vestel.values.items()]
    blocks = plan_reads(items, default_unit=255, max_registers=125, merge_gap=0)
    currents = [b for b in blocks if b.address in (1008, 1010, 1012)]
    assert [b.count for b in currents] == [1, 1, 1]  # not contiguous: read one by one
    alfen = profile_for("alfen")
    items = [(q.value, spec) for q, spec in alfen.values.items()]
    blocks = plan_reads(items, default_unit=1, max_registers=125, merge_gap=10)
    assert (306, 20) in [(b.address, b.count) for b in blocks]  # voltages + currents in one read


def test_limit_writes_format() -> None:
    alfen, keba = profile_for("alfen"), profile_for("keba")
    assert alfen.limit is not None
    ops = limit_writes(alfen, ControlState(limit_a=10.5), 32)
    assert [(o.address, o.values) for o in ops] == [(1210, (0x4128, 0x0000))]  # f32 10.5
    ops = limit_writes(keba, ControlState(limit_a=0), 32)
    assert [(o.address, o.values) for o in ops] == [(5014, (0,))]


def test_lifetime_from_session_is_monotonic() -> None:
    counter = LifetimeFromSession()
    assert [counter.update(v) for v in (0, 500, 7000, 0, 100, 1800)] == [
        0,
        500,
        7000,
        7000,
        7100,
        8800,
    ]


MINIMAL: dict[str, Any] = {
    "values": {"energy_total_wh": {"address": 100, "type": "u32"}},
    "state": {"status": {"address": 0}, "iec": {"0": "A", "1": "B", "2": "C"}},
}


def test_custom_profile_minimal_defaults() -> None:
    profile = custom_profile(MINIMAL)
    assert profile.name == "custom"
    assert profile.unit_id == 1
    assert profile.values[Quantity.ENERGY_TOTAL_WH].type is RegisterType.U32
    assert profile.limit is None


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"values": {"energy_total_wh": {"address": 1, "type": "u8"}}},
            "values.energy_total_wh.type: 'u8' is not one of",
        ),
        ({"values": {"energy": {"address": 1}}}, "values.energy: unknown quantity"),
        ({"values": {"power_w": {"address": 1}}}, "values.energy_total_wh: required"),
        ({"values": {"energy_total_wh": {"address": 70000}}}, "outside 0..65535"),
        (
            {"values": {"energy_total_wh": {"type": "u32"}}},
            "values.energy_total_wh.address: required",
        ),
        ({"state": {"iec": {"0": "A"}}}, "needs a status register or a plugged condition"),
        ({"state": {"status": {"address": 0}, "iec": {"0": "X"}}}, "is not an IEC 61851 state"),
        (
            {"state": {"status": {"address": 0}, "iec": {"0": "A"}, "connector": {"0": "idle"}}},
            "'idle' is not one of",
        ),
        (
            {"limit": {"register": {"address": 5, "type": "f32"}, "write": "fc6"}},
            "fc6 writes one register",
        ),
        ({"limit": {"register": {"address": 5, "function": "input"}}}, "must be holding registers"),
        ({"limit": {"register": {"address": 5}, "unit": "kA"}}, "'kA' is not one of: A, mA"),
        ({"pause": "enable_register"}, "enable: required when pause is enable_register"),
        (
            {"watchdogs": [{"action": "write_value", "period_s": 5}]},
            "watchdogs[0].register: required",
        ),
        ({"watchdogs": [{"action": "read"}]}, "needs period_s or period_from"),
        ({"lifetime": "from_session"}, "session_energy_wh: required when lifetime is from_session"),
        ({"min_current_a": 40}, "0 < min_current_a <= max_current_a"),
        ({"poll_interval_s": 0}, "poll_interval_s: must be > 0"),
        ({"unit_id": "one"}, "unit_id: expected an integer"),
        ({"colour": "red"}, "colour: unknown key"),
        (
            {"max_read_registers": 1, "values": {"energy_total_wh": {"address": 1, "type": "u32"}}},
            "exceed max_read_registers",
        ),
    ],
)
def test_custom_profile_errors_are_clear(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ProfileError) as err:
        custom_profile({**MINIMAL, **change})
    assert any(message in e for e in err.value.errors), err.value.errors


def test_all_problems_reported_at_once() -> None:
    with pytest.raises(ProfileError) as err:
        custom_profile({"unit_id": 300, "values": {"power_w": {"address": -1}}})
    assert len(err.value.errors) >= 3
    assert "unit_id: 300 is outside 0..255" in str(err.value)
