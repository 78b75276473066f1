"""Shared test helpers: a recording handler, condition waits, and a charger+simulator pair."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
import contextlib
from dataclasses import dataclass

from custom_components.ev_sessions.chargers.events import (
    AuthorizationRequest,
    AuthorizationResult,
    AuthorizationStatus,
    BootDecision,
    ChargerEvent,
    ChargerInfo,
    ConnectorState,
    MeterSample,
    StatusChanged,
)
from custom_components.ev_sessions.chargers.modbus import ModbusCharger, RegisterMap, profile_for
from simulators.modbus_devices import ChargerSimulator, start_simulator

HOST = "127.0.0.1"
#: Adapter periods x0.01: a 5 s poll becomes 50 ms, KEBA's 5 s write spacing 50 ms.
TIME_SCALE = 0.01
MODELS = [
    "alfen",
    "abb",
    "vestel",
    "webasto_next",
    "keba",
    "charx",
    "phoenix_ev_eth",
    "phoenix_em_eth",
]
#: Every simulated device: the models, and firmware variants as "model:variant" (the adapter
#: runs the model's profile and must find out the variant itself).
DEVICES = [*MODELS, "phoenix_ev_eth:wallbe"]


class RecordingHandler:
    """A ChargerHandler that keeps every event and accepts every tag."""

    def __init__(self, status: AuthorizationStatus = AuthorizationStatus.ACCEPTED) -> None:
        self.events: list[ChargerEvent] = []
        self.requests: list[AuthorizationRequest] = []
        self.status = status

    def handle_event(self, event: ChargerEvent) -> None:
        self.events.append(event)

    async def authorize(self, request: AuthorizationRequest) -> AuthorizationResult:
        self.requests.append(request)
        return AuthorizationResult(status=self.status)

    async def boot_decision(self, charger_id: str, info: ChargerInfo) -> BootDecision:
        return BootDecision.ACCEPTED

    async def persist(self, charger_id: str) -> None:
        return None

    def of[E: ChargerEvent](self, kind: type[E]) -> list[E]:
        return [e for e in self.events if isinstance(e, kind)]

    @property
    def states(self) -> list[ConnectorState]:
        return [e.state for e in self.of(StatusChanged)]

    @property
    def energies(self) -> list[int]:
        return [
            e.energy_register_wh for e in self.of(MeterSample) if e.energy_register_wh is not None
        ]

    def last_sample(self) -> MeterSample:
        return self.of(MeterSample)[-1]


async def wait_until(condition: Callable[[], bool], timeout: float = 5.0, what: str = "") -> None:
    """Poll ``condition`` until true (fails the test after ``timeout`` real seconds)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not condition():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what or condition}")
        await asyncio.sleep(0.01)


async def wait_state(
    handler: RecordingHandler, state: ConnectorState, timeout: float = 5.0
) -> None:
    """Wait until the last reported state is ``state``."""
    await wait_until(
        lambda: bool(handler.states) and handler.states[-1] is state, timeout, f"state {state}"
    )


async def wait_energy(handler: RecordingHandler, wh: int, timeout: float = 5.0) -> None:
    """Wait until a sample reports the lifetime register at ``wh``."""
    await wait_until(
        lambda: wh in handler.energies, timeout, f"energy {wh} (have {handler.energies[-3:]})"
    )


@dataclass
class Rig:
    """A simulator with an adapter polling it."""

    sim: ChargerSimulator
    charger: ModbusCharger
    handler: RecordingHandler


@contextlib.asynccontextmanager
async def rig(
    model: str | RegisterMap,
    *,
    rate: float = 0.0,
    watchdog: bool = False,
    start: bool = True,
    **charger_kw: object,
) -> AsyncIterator[Rig]:
    """Start a simulator and an adapter on it; tear both down (and check nothing is left).

    ``model`` may name a firmware variant, ``"phoenix_ev_eth:wallbe"``: the simulator runs the
    variant, the adapter the model's profile.
    """
    variant: str | None = None
    if isinstance(model, str) and ":" in model:
        model, variant = model.split(":", 1)
    sim = await start_simulator(model, 0, host=HOST, rate=rate, watchdog=watchdog, variant=variant)
    profile = profile_for(model) if isinstance(model, str) else model
    handler = RecordingHandler()
    kwargs: dict[str, object] = {"time_scale": TIME_SCALE, "request_timeout_s": 1.0}
    kwargs.update(charger_kw)
    charger = ModbusCharger("cp1", HOST, sim.port, profile, handler, **kwargs)  # type: ignore[arg-type]
    try:
        if start:
            await charger.start()
            await wait_state(handler, ConnectorState.AVAILABLE)
        yield Rig(sim, charger, handler)
    finally:
        await charger.stop()
        await sim.stop()
        assert charger._task is None
