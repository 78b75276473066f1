"""Thin typed wrapper around pymodbus' ``AsyncModbusTcpClient``.

Maps pymodbus' outcomes onto two errors: :class:`ModbusConnectError` (no answer, socket
gone) and :class:`ModbusDeviceError` (the device answered with an exception code).
"""

from __future__ import annotations

import asyncio
import logging

from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException
from pymodbus.pdu import ModbusPDU

from .codec import Function
from .errors import ModbusConnectError, ModbusDeviceError
from .register_map import WriteFunction

_LOGGER = logging.getLogger(__name__)


def _reraise_cancel(err: BaseException) -> None:
    """pymodbus turns a cancellation into ModbusIOException: give it back to the task."""
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError from err


class ModbusTransport:
    """One TCP connection to one device (any unit id). Not safe for concurrent use: lock outside."""

    def __init__(
        self, host: str, port: int, *, timeout_s: float = 3.0, name: str = "ev_sessions"
    ) -> None:
        """Remember where to connect; nothing happens until :meth:`connect`."""
        self._host = host
        self._port = port
        self._timeout = timeout_s
        self._name = name
        self._client: AsyncModbusTcpClient | None = None

    @property
    def connected(self) -> bool:
        """True while the socket is open."""
        return self._client is not None and self._client.connected

    async def connect(self) -> None:
        """Open a fresh connection (closing any previous one)."""
        self.close()
        client = AsyncModbusTcpClient(
            self._host,
            port=self._port,
            timeout=self._timeout,
            retries=0,
            reconnect_delay=0,  # we reconnect ourselves, with our own backoff
            name=self._name,
        )
        self._client = client
        try:
            ok = await asyncio.wait_for(client.connect(), self._timeout + 1)
        except (TimeoutError, OSError, ModbusException) as err:
            self.close()
            _reraise_cancel(err)
            raise ModbusConnectError(f"cannot connect to {self._host}:{self._port}: {err}") from err
        if not ok:
            self.close()
            raise ModbusConnectError(f"cannot connect to {self._host}:{self._port}")

    def close(self) -> None:
        """Close the connection (idempotent)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    def _require(self) -> AsyncModbusTcpClient:
        if self._client is None or not self._client.connected:
            raise ModbusConnectError(f"not connected to {self._host}:{self._port}")
        return self._client

    async def _call(
        self,
        what: str,
        request: asyncio.Future[ModbusPDU] | object,
        *,
        code: int,
        address: int,
        unit_id: int,
    ) -> ModbusPDU:
        try:
            assert asyncio.isfuture(request) or asyncio.iscoroutine(request)
            response: ModbusPDU = await request
        except (TimeoutError, OSError, ModbusException) as err:
            _reraise_cancel(err)
            raise ModbusConnectError(f"{what}: {err}") from err
        if response.isError():
            raise ModbusDeviceError(
                what,
                int(getattr(response, "exception_code", 0)),
                function_code=code,
                address=address,
                unit_id=unit_id,
            )
        return response

    async def read(self, unit_id: int, function: Function, address: int, count: int) -> list[int]:
        """Read ``count`` registers (FC3 holding / FC4 input) or bits (FC1 coils / FC2
        discrete inputs, one 0/1 value each)."""
        client = self._require()
        code = function.read_code
        what = f"read {function} {address}+{count} (FC{code}, unit {unit_id})"
        match function:
            case Function.INPUT:
                req = client.read_input_registers(address, count=count, device_id=unit_id)
            case Function.COIL:
                req = client.read_coils(address, count=count, device_id=unit_id)
            case Function.DISCRETE_INPUT:
                req = client.read_discrete_inputs(address, count=count, device_id=unit_id)
            case _:
                req = client.read_holding_registers(address, count=count, device_id=unit_id)
        response = await self._call(what, req, code=code, address=address, unit_id=unit_id)
        if function.is_bit:
            bits = list(getattr(response, "bits", []))
            if len(bits) < count:
                raise ModbusConnectError(f"{what}: short answer ({len(bits)} bits)")
            return [1 if b else 0 for b in bits[:count]]
        registers = list(getattr(response, "registers", []))
        if len(registers) < count:
            raise ModbusConnectError(f"{what}: short answer ({len(registers)} registers)")
        return [int(r) for r in registers[:count]]

    async def write(
        self, unit_id: int, write: WriteFunction, address: int, values: list[int]
    ) -> None:
        """Write registers with FC6 (one register) or FC16, coils with FC5 (one) or FC15."""
        client = self._require()
        kind = "coil" if write.writes_bits else "register"
        what = f"write {kind} {address}={values} (FC{write.code}, unit {unit_id})"
        _LOGGER.debug("%s", what)
        if write in (WriteFunction.FC6, WriteFunction.FC5) and len(values) != 1:
            msg = f"{what}: {write} writes exactly one {kind}"
            raise ValueError(msg)
        match write:
            case WriteFunction.FC6:
                req = client.write_register(address, values[0], device_id=unit_id)
            case WriteFunction.FC5:
                req = client.write_coil(address, bool(values[0]), device_id=unit_id)
            case WriteFunction.FC15:
                req = client.write_coils(address, [bool(v) for v in values], device_id=unit_id)
            case _:
                req = client.write_registers(address, values, device_id=unit_id)
        await self._call(what, req, code=write.code, address=address, unit_id=unit_id)
