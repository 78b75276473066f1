"""Profiles that express real controllers: coils and discrete inputs, an enable coil that
pauses, profile-wide defaults, byte order, firmware variants, refusals that say why."""

from __future__ import annotations

from typing import Any

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.constants import ExcCodes
import pytest

from custom_components.ev_sessions.chargers.events import (
    ConnectorState,
    SetCurrentLimit,
    StartCharging,
    StopCharging,
)
from custom_components.ev_sessions.chargers.modbus import ProfileError, custom_profile
from custom_components.ev_sessions.chargers.modbus.codec import (
    ByteOrder,
    Function,
    RegisterSpec,
    RegisterType,
    WordOrder,
    decode,
    encode,
)
from custom_components.ev_sessions.chargers.modbus.control import ControlState, limit_writes
from custom_components.ev_sessions.chargers.modbus.register_map import Quantity, WriteFunction
from simulators.modbus_devices import start_simulator

from .helpers import HOST, rig, wait_state

MINIMAL: dict[str, Any] = {
    "values": {"energy_total_wh": {"address": 100, "type": "u32"}},
    "state": {"status": {"address": 0}, "iec": {"0": "A", "1": "B", "2": "C"}},
}


def test_byte_order_swaps_the_bytes_of_every_register() -> None:
    """CDAB-style devices: bytes swapped inside each register, for numbers and text."""
    spec = RegisterSpec(address=0, type=RegisterType.U32, byte_order=ByteOrder.LITTLE)
    assert encode(spec, 0x01020304) == [0x0201, 0x0403]
    assert decode(spec, [0x0201, 0x0403]) == 0x01020304
    both = RegisterSpec(
        address=0, type=RegisterType.U32, byte_order=ByteOrder.LITTLE, word_order=WordOrder.LITTLE
    )
    assert decode(both, [0x0403, 0x0201]) == 0x01020304
    text = RegisterSpec(address=0, type=RegisterType.STRING, length=2, byte_order=ByteOrder.LITTLE)
    assert decode(text, [0x4241, 0x0043]) == "ABC"


def test_coils_and_discrete_inputs_are_bool_registers() -> None:
    """A coil is one bit: type bool by default, written with fc5 (one) or fc15."""
    profile = custom_profile(
        {
            **MINIMAL,
            "state": {
                "status": {"address": 0},
                "iec": {"0": "A", "1": "B", "2": "C"},
                "plugged": {"register": {"address": 7, "function": "discrete_input"}, "equals": 1},
            },
            "limit": {"register": {"address": 300}, "write": "fc6"},
            "enable": {"register": {"address": 400, "function": "coil"}},
            "pause": "enable_register",
        }
    )
    assert profile.enable is not None
    assert profile.enable.register.type is RegisterType.BOOL
    assert profile.enable.register.function is Function.COIL
    assert profile.enable.write is WriteFunction.FC5  # the default for a coil
    assert profile.state.plugged is not None
    assert profile.state.plugged.register.function is Function.DISCRETE_INPUT
    ops = limit_writes(profile, ControlState(enabled=False), 32)
    assert [(o.write, o.address, o.values) for o in ops] == [(WriteFunction.FC5, 400, (0,))]
    ops = limit_writes(profile, ControlState(limit_a=10), 32)
    assert [(o.write, o.address, o.values) for o in ops] == [
        (WriteFunction.FC5, 400, (1,)),
        (WriteFunction.FC6, 300, (10,)),
    ]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"enable": {"register": {"address": 400, "function": "coil"}, "write": "fc6"}},
            "a coil is written with fc5 or fc15, not fc6",
        ),
        (
            {"enable": {"register": {"address": 400}, "write": "fc5"}},
            "fc5 writes coils; a holding register is written with fc6 or fc16",
        ),
        (
            {"enable": {"register": {"address": 400, "function": "discrete_input"}}},
            "written registers must be holding registers or coils",
        ),
        (
            {"values": {"energy_total_wh": {"address": 1, "function": "coil", "type": "u32"}}},
            "a coil holds one bit: its type is bool",
        ),
        (
            {"limit": {"register": {"address": 400, "function": "coil"}, "write": "fc5"}},
            "a current limit is a number, not bool",
        ),
        (
            {"enable": {"register": {"address": 400, "function": "coil"}, "on": 65280}},
            "enable.on: 65280 is outside 0..1",
        ),
        ({"defaults": {"word_order": "middle"}}, "defaults.word_order: 'middle' is not one of"),
        ({"defaults": {"colour": 1}}, "defaults.colour: unknown key"),
        ({"unit_id": 1, "defaults": {"unit_id": 2}}, "defaults.unit_id: differs from unit_id"),
        ({"variants": [{"name": "x"}]}, "variants[0].when: required"),
        (
            {
                "variants": [
                    {
                        "name": "x",
                        "when": {"register": {"address": 5}, "min": 1},
                        "changes": {"values": {"energy_total_wh": {"type": "u8"}}},
                    }
                ]
            },
            "variants[0].changes: values.energy_total_wh.type: 'u8' is not one of",
        ),
    ],
)
def test_new_profile_fields_are_validated(change: dict[str, Any], message: str) -> None:
    with pytest.raises(ProfileError) as err:
        custom_profile({**MINIMAL, **change})
    assert any(message in e for e in err.value.errors), err.value.errors


def test_profile_defaults_apply_to_every_register() -> None:
    """An LSW-first controller says so once; a register may still say otherwise."""
    profile = custom_profile(
        {
            **MINIMAL,
            "defaults": {"word_order": "little", "byte_order": "little", "unit_id": 180},
            "values": {
                "energy_total_wh": {"address": 100, "type": "u32"},
                "power_w": {"address": 102, "type": "u32", "word_order": "big"},
            },
            "limit": {"register": {"address": 300}, "write": "fc6"},
        }
    )
    assert profile.unit_id == 180
    energy = profile.values[Quantity.ENERGY_TOTAL_WH]
    assert (energy.word_order, energy.byte_order) == (WordOrder.LITTLE, ByteOrder.LITTLE)
    assert profile.values[Quantity.POWER_W].word_order is WordOrder.BIG
    assert profile.state.status is not None
    assert profile.state.status.word_order is WordOrder.LITTLE
    assert profile.limit is not None
    assert profile.limit.register.byte_order is ByteOrder.LITTLE


def test_variant_is_the_base_with_its_changes() -> None:
    """Changes merge into the base profile; ``null`` removes a key."""
    profile = custom_profile(
        {
            **MINIMAL,
            "values": {
                "energy_total_wh": {"address": 100, "type": "u32", "scale": 10},
                "power_w": {"address": 102},
            },
            "variants": [
                {
                    "name": "new_firmware",
                    "when": {"register": {"address": 50}, "min": 2},
                    "changes": {
                        "values": {"energy_total_wh": {"scale": None}, "power_w": None},
                        "max_current_a": 16,
                    },
                }
            ],
        }
    )
    (variant,) = profile.variants
    assert variant.name == "new_firmware"
    assert variant.profile.variant == "new_firmware"
    assert variant.profile.values[Quantity.ENERGY_TOTAL_WH].scale == 1.0
    assert Quantity.POWER_W not in variant.profile.values
    assert variant.profile.max_current_a == 16
    assert profile.values[Quantity.ENERGY_TOTAL_WH].scale == 10  # the base is unchanged
    assert variant.profile.with_unit(9).unit_id == 9
    assert profile.with_unit(9).variants[0].profile.unit_id == 9


async def test_enable_coil_reads_and_writes_over_tcp(socket_enabled: None) -> None:
    """The EV-ETH simulator keeps coil 400 as a real coil (FC1 read, FC5 write)."""
    sim = await start_simulator("phoenix_ev_eth", 0, host=HOST)
    client = AsyncModbusTcpClient(HOST, port=sim.port, timeout=1, retries=0, reconnect_delay=0)
    await client.connect()
    try:
        read = await client.read_coils(400, count=1, device_id=255)
        assert read.bits[0] is True
        assert not (await client.write_coil(400, False, device_id=255)).isError()
        assert sim.enabled is False
        assert (await client.read_coils(400, count=1, device_id=255)).bits[0] is False
        as_register = await client.read_holding_registers(400, count=1, device_id=255)
        assert as_register.isError()  # a coil, not a holding register
        zero = await client.write_register(528, 0, device_id=255)
        assert zero.isError()  # 0 A is refused: pausing is the coil's job
        assert zero.exception_code == 3
    finally:
        client.close()
        await sim.stop()


async def test_phoenix_pauses_by_its_enable_coil_and_resumes(socket_enabled: None) -> None:
    """StopCharging clears coil 400 (the setpoint stays); StartCharging sets it again."""
    async with rig("phoenix_ev_eth") as r:
        r.sim.plug_in()
        r.sim.start_charging(11000)
        await wait_state(r.handler, ConnectorState.CHARGING)
        await r.charger.execute(SetCurrentLimit(limit_a=16))
        result = await r.charger.execute(StopCharging())
        assert result.accepted
        assert r.sim.enabled is False
        assert r.sim.current_limit == 16  # never 0 A
        await wait_state(r.handler, ConnectorState.SUSPENDED_EVSE)
        assert r.sim.physics.power_w == 0
        await r.charger.execute(StartCharging(id_tag="hub"))
        assert r.sim.enabled is True
        await wait_state(r.handler, ConnectorState.CHARGING)
        assert all(w.exception is None for w in r.sim.writes)
        assert {w.function_code for w in r.sim.writes} == {5, 6}


async def test_a_refused_pause_says_why(socket_enabled: None) -> None:
    """The charger refuses to clear its enable coil: the result names the coil, the function
    and the Modbus exception, not a bare "Rejected"."""
    async with rig("phoenix_ev_eth") as r:
        r.sim.refuse_writes[400] = ExcCodes.DEVICE_FAILURE
        result = await r.charger.execute(StopCharging())
        assert not result.accepted
        assert result.status == (
            "Rejected: write coil 400=[0] (FC5, unit 255): "
            "Modbus exception 4 (server device failure)"
        )
        assert result.data == {
            "exception_code": 4,
            "exception": "server device failure",
            "function_code": 5,
            "register": 400,
            "unit_id": 255,
        }
        assert r.sim.enabled is True


async def test_a_refused_limit_names_register_function_and_code(socket_enabled: None) -> None:
    async with rig("phoenix_em_eth") as r:
        r.sim.refuse_writes[300] = ExcCodes.ILLEGAL_VALUE
        result = await r.charger.execute(SetCurrentLimit(limit_a=10))
        assert not result.accepted
        assert "write register 300=[10] (FC6, unit 180)" in result.status
        assert "Modbus exception 3 (illegal data value)" in result.status
        assert result.data["function_code"] == 6
        assert result.data["register"] == 300
