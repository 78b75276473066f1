"""The websocket under the simulated charge point: ``ocpp``'s ``recv``/``send`` over aiohttp."""

from __future__ import annotations

import aiohttp


class ConnectionClosedError(ConnectionError):
    """The websocket is closed."""


class WsConnection:
    """Adapts an aiohttp client websocket to the ``recv``/``send`` interface ``ocpp`` expects."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws

    async def recv(self) -> str:
        """The next text frame; raises :class:`ConnectionClosedError` when closed."""
        while True:
            msg = await self.ws.receive()
            if msg.type is aiohttp.WSMsgType.TEXT:
                return str(msg.data)
            if msg.type is aiohttp.WSMsgType.BINARY:
                return bytes(msg.data).decode()
            if msg.type in {
                aiohttp.WSMsgType.CLOSE,
                aiohttp.WSMsgType.CLOSING,
                aiohttp.WSMsgType.CLOSED,
                aiohttp.WSMsgType.ERROR,
            }:
                raise ConnectionClosedError(str(msg.data))

    async def send(self, text: str) -> None:
        """Send a text frame."""
        if self.ws.closed:
            raise ConnectionClosedError("websocket closed")
        await self.ws.send_str(text)
