"""Test doubles and helpers for the OCPP adapter tests: a recording handler, a running server."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import replace
from typing import Any

from custom_components.ev_sessions.chargers.events import (
    AuthorizationRequest,
    AuthorizationResult,
    AuthorizationStatus,
    BootDecision,
    ChargerEvent,
    ChargerInfo,
)
from custom_components.ev_sessions.chargers.ocpp import OcppServer, OcppServerSettings
from simulators.ocpp import SimConfig, SimulatedChargePoint

#: Fast settings for tests: no post-boot configuration unless a test asks for it.
FAST = OcppServerSettings(
    host="127.0.0.1",
    port=0,
    heartbeat_interval=60,
    pending_interval=1,
    configure_on_boot=False,
    command_timeout=2.0,
    boot_grace=30.0,
    resume_grace=0.5,
    ws_ping_interval=None,
)


class RecordingHandler:
    """A ChargerHandler that records events and answers from simple tables."""

    def __init__(self) -> None:
        self.events: list[ChargerEvent] = []
        self.boot: dict[str, BootDecision] = {}
        self.tags: dict[str, AuthorizationStatus] = {}
        self.auth_requests: list[AuthorizationRequest] = []
        self.boot_requests: list[tuple[str, ChargerInfo]] = []
        self._changed = asyncio.Event()
        #: Number of events recorded at each persist() call.
        self.persisted: list[int] = []

    def handle_event(self, event: ChargerEvent) -> None:
        self.events.append(event)
        self._changed.set()

    async def authorize(self, request: AuthorizationRequest) -> AuthorizationResult:
        self.auth_requests.append(request)
        return AuthorizationResult(
            status=self.tags.get(request.id_tag, AuthorizationStatus.ACCEPTED)
        )

    async def boot_decision(self, charger_id: str, info: ChargerInfo) -> BootDecision:
        self.boot_requests.append((charger_id, info))
        return self.boot.get(charger_id, BootDecision.ACCEPTED)

    async def persist(self, charger_id: str) -> None:
        self.persisted.append(len(self.events))

    def of[E: ChargerEvent](self, kind: type[E], charger_id: str | None = None) -> list[E]:
        """Recorded events of a type (and charger)."""
        return [
            e
            for e in self.events
            if isinstance(e, kind) and (charger_id is None or e.charger_id == charger_id)
        ]

    async def wait_for[E: ChargerEvent](
        self,
        kind: type[E],
        count: int = 1,
        where: Callable[[E], bool] | None = None,
        wait: float = 5.0,
    ) -> E:
        """Wait until ``count`` events of a type (matching ``where``) were recorded."""
        async with asyncio.timeout(wait):
            while True:
                found = [e for e in self.of(kind) if where is None or where(e)]
                if len(found) >= count:
                    return found[count - 1]
                self._changed.clear()
                await self._changed.wait()


@asynccontextmanager
async def running_server(
    handler: RecordingHandler | None = None, **kwargs: Any
) -> AsyncIterator[tuple[OcppServer, RecordingHandler]]:
    """A started OcppServer on a free port; settings fields may be overridden by keyword."""
    handler = handler or RecordingHandler()
    server_kwargs = {
        key: kwargs.pop(key)
        for key in ("password_for", "known", "forgotten", "transaction_id_factory")
        if key in kwargs
    }
    server = OcppServer(handler, replace(FAST, **kwargs), **server_kwargs)
    await server.start()
    try:
        yield server, handler
    finally:
        await server.stop()


def url(server: OcppServer, charger_id: str, prefix: str = "") -> str:
    """The websocket URL of a charger on a running server."""
    return f"ws://127.0.0.1:{server.port}{prefix}/{charger_id}"


@asynccontextmanager
async def charge_point(
    server: OcppServer, charger_id: str = "CP1", *, connect: bool = True, **config: Any
) -> AsyncIterator[SimulatedChargePoint]:
    """A simulator connected (and booted) to ``server``; closed afterwards."""
    cp = SimulatedChargePoint(url(server, charger_id), SimConfig(charger_id=charger_id, **config))
    try:
        if connect:
            await cp.connect()
        yield cp
    finally:
        await cp.close()


async def settle(handler: RecordingHandler, seconds: float = 0.05) -> None:
    """Let in-flight frames arrive."""
    await asyncio.sleep(seconds)


async def wait_until(predicate: Callable[[], bool], wait: float = 5.0) -> None:
    """Poll until ``predicate()`` holds."""
    async with asyncio.timeout(wait):
        while not predicate():
            await asyncio.sleep(0.01)
