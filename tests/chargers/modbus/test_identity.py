"""Connection test (config flow) and identity reads."""

from __future__ import annotations

from dataclasses import replace

import pytest

from custom_components.ev_sessions.chargers.events import ChargerInfo
from custom_components.ev_sessions.chargers.modbus import (
    ModbusChargerError,
    ModbusConnectError,
    ModbusIdentityError,
    ProfileError,
    probe_modbus_charger,
    profile_for,
)
from simulators.modbus_devices import start_simulator

from .helpers import HOST, MODELS, rig

EXPECTED: dict[str, tuple[str | None, str | None, str | None]] = {
    # model -> (vendor, serial, firmware)
    "alfen": ("Alfen", "ACE0123456", "6.3.0-4100"),  # strings on unit 200
    "abb": ("ABB", None, "1.6.5"),  # firmware bytes maj/min/patch
    "vestel": ("Vestel", "VES2211004455", "v3.187.0"),  # 1 char per input register
    "webasto_next": ("Webasto", None, None),  # no identity registers: state register probed
    "keba": ("KEBA", "22334455", "31042"),  # u32 values
    "charx": ("Phoenix Contact", None, "1.6.1"),
    "phoenix_ev_eth": ("Phoenix Contact", None, None),  # status register probed
    "phoenix_em_eth": ("Phoenix Contact", None, None),
}


async def test_probe_tells_the_wallbe_firmware_apart(socket_enabled: None) -> None:
    """The same EV-ETH profile: a Wallbe firmware (0.1 A steps in 528) is recognised."""
    sim = await start_simulator("phoenix_ev_eth", 0, host=HOST, variant="wallbe")
    try:
        info = await probe_modbus_charger(HOST, sim.port, None, "phoenix_ev_eth", timeout_s=1)
    finally:
        await sim.stop()
    assert (info.vendor, info.model) == ("Wallbe", "EV-CC-AC1-M3-ETH (Wallbe firmware)")


@pytest.mark.parametrize("model", MODELS)
async def test_probe_reads_identity(socket_enabled: None, model: str) -> None:
    """The config flow's test-before-create returns the device identity."""
    sim = await start_simulator(model, 0, host=HOST)
    try:
        info = await probe_modbus_charger(HOST, sim.port, None, model, timeout_s=1)
    finally:
        await sim.stop()
    vendor, serial, firmware = EXPECTED[model]
    assert info == ChargerInfo(
        vendor=vendor,
        model=profile_for(model).model,
        serial=serial,
        firmware=firmware,
        protocol="modbus",
        connectors=1,
    )


async def test_probe_unreachable(socket_enabled: None) -> None:
    """Nothing listening: ModbusConnectError (a ModbusChargerError)."""
    sim = await start_simulator("alfen", 0, host=HOST)
    port = sim.port
    await sim.stop()
    with pytest.raises(ModbusConnectError):
        await probe_modbus_charger(HOST, port, None, "alfen", timeout_s=1)


async def test_probe_wrong_model(socket_enabled: None) -> None:
    """A Vestel profile against a Webasto NEXT answers with exceptions: wrong model."""
    sim = await start_simulator("webasto_next", 0, host=HOST)
    try:
        with pytest.raises(ModbusIdentityError, match="wrong model"):
            await probe_modbus_charger(HOST, sim.port, None, "vestel", timeout_s=1)
    finally:
        await sim.stop()


async def test_probe_wrong_unit_id(socket_enabled: None) -> None:
    """An Alfen asked on unit 7 (no such device) fails with a ModbusChargerError."""
    sim = await start_simulator("charx", 0, host=HOST)
    try:
        with pytest.raises(ModbusChargerError):
            await probe_modbus_charger(HOST, sim.port, 7, "charx", timeout_s=0.5)
    finally:
        await sim.stop()


async def test_probe_unknown_model() -> None:
    """An unknown model name is a ProfileError listing the known ones."""
    with pytest.raises(ProfileError, match="known: abb, alfen"):
        await probe_modbus_charger(HOST, 502, None, "tesla", timeout_s=0.5)


async def test_read_identity_uses_live_connection(socket_enabled: None) -> None:
    """While running, read_identity shares the adapter's connection (Alfen: 2 masters max)."""
    async with rig("alfen") as r:
        info = await r.charger.read_identity()
        assert info.serial == "ACE0123456"
        assert r.charger.info == info


async def test_read_identity_without_start(socket_enabled: None) -> None:
    """Before start(), read_identity opens and closes its own connection."""
    async with rig("keba", start=False) as r:
        info = await r.charger.read_identity()
        assert info.serial == "22334455"
        assert not r.charger.connected


async def test_unit_id_override(socket_enabled: None) -> None:
    """The unit id from the config entry overrides the profile's default."""
    profile = replace(profile_for("charx"), unit_id=5)
    sim = await start_simulator(profile, 0, host=HOST)
    try:
        info = await probe_modbus_charger(HOST, sim.port, 5, "charx", timeout_s=1)
        assert info.firmware == "1.6.1"
    finally:
        await sim.stop()
