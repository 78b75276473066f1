"""The simulators behave like the devices, seen through a plain pymodbus client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import contextlib

from pymodbus.client import AsyncModbusTcpClient
import pytest

from simulators.modbus_devices import ChargerSimulator, run_demo, start_simulator

from .helpers import HOST


@contextlib.asynccontextmanager
async def device(
    model: str, **kw: object
) -> AsyncIterator[tuple[ChargerSimulator, AsyncModbusTcpClient]]:
    sim = await start_simulator(model, 0, host=HOST, **kw)  # type: ignore[arg-type]
    client = AsyncModbusTcpClient(HOST, port=sim.port, timeout=1, retries=0, reconnect_delay=0)
    await client.connect()
    try:
        yield sim, client
    finally:
        client.close()
        await sim.stop()


async def test_keba_rejects_multi_value_reads_and_fc16(socket_enabled: None) -> None:
    async with device("keba") as (sim, client):
        ok = await client.read_holding_registers(1036, count=2, device_id=255)
        assert not ok.isError()
        big = await client.read_holding_registers(1036, count=4, device_id=255)
        assert big.isError()
        assert big.exception_code == 3
        fc16 = await client.write_registers(5004, [16000], device_id=255)
        assert fc16.isError()
        assert fc16.exception_code == 1
        zero = await client.write_register(5004, 0, device_id=255)
        assert zero.isError()
        assert zero.exception_code == 3  # 6000..63000 mA only
        assert sim.rejected_reads == [(3, 1036, 4, 3)]


async def test_vestel_input_vs_holding_and_gaps(socket_enabled: None) -> None:
    async with device("vestel") as (_sim, client):
        assert not (await client.read_input_registers(1000, count=2, device_id=255)).isError()
        wrong_table = await client.read_holding_registers(1000, count=1, device_id=255)
        assert wrong_table.isError()
        assert wrong_table.exception_code == 2
        across_gap = await client.read_input_registers(1008, count=5, device_id=255)
        assert across_gap.isError()


async def test_alfen_setpoint_format(socket_enabled: None) -> None:
    async with device("alfen") as (sim, client):
        half = await client.write_register(1210, 0x4180, device_id=1)
        assert half.isError()
        assert half.exception_code == 1  # FC16, both registers at once
        ok = await client.write_registers(1210, [0x4180, 0], device_id=1)
        assert not ok.isError()
        assert sim.current_limit == 16
        serial = await client.read_holding_registers(157, count=11, device_id=200)
        text = client.convert_from_registers(serial.registers, client.DATATYPE.STRING)
        assert isinstance(text, str)
        assert text.strip("\x00") == "ACE0123456"


async def test_session_register_quirks(socket_enabled: None) -> None:
    """NEXT: 0 during a session, last session after; KEBA: never reset."""
    async with device("webasto_next", watchdog=False) as (sim, client):
        for power, seconds in ((7000, 3600), (3600, 1800)):
            sim.plug_in()
            sim.start_charging(power)
            sim.advance(seconds)
            during = await client.read_holding_registers(1502, count=1, device_id=255)
            assert during.registers == [0]
            sim.unplug()
        after = await client.read_holding_registers(1502, count=1, device_id=255)
        assert after.registers == [1800]
    async with device("keba", watchdog=False) as (sim, client):
        for _ in range(2):
            sim.plug_in()
            sim.start_charging(7000)
            sim.advance(3600)
            sim.unplug()
        total = await client.read_holding_registers(1502, count=2, device_id=255)
        assert (
            total.registers[0] << 16 | total.registers[1] == 140_000
        )  # 14 kWh in 0.1 Wh: not reset


async def test_watchdog_fallback_in_device_time(socket_enabled: None) -> None:
    """Vestel: alive register fed -> setpoint; not fed for 20 s -> failsafe current."""
    async with device("vestel") as (sim, client):
        await client.write_register(5004, 16, device_id=255)
        for _ in range(3):
            await client.write_register(6000, 1, device_id=255)
            sim.advance(10)
            await client.read_input_registers(1000, count=1, device_id=255)
            assert sim.effective_limit == 16
        sim.advance(15)
        assert sim.effective_limit == 6
        assert sim.physics.fallbacks == 1
        await client.write_register(6000, 1, device_id=255)
        assert sim.effective_limit == 16


async def test_demo_loop_runs(socket_enabled: None, caplog: pytest.LogCaptureFixture) -> None:
    """The CLI's demo cycles through a session."""
    caplog.set_level("INFO", logger="simulators.modbus_devices")
    task = asyncio.create_task(run_demo("keba", 0, host=HOST, speed=20000))
    await asyncio.sleep(0.3)
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    steps = [r.getMessage() for r in caplog.records]
    assert any("start_charging" in s for s in steps)
    assert any("unplug" in s for s in steps)
