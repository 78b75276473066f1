"""A full metered session per profile, over real TCP against the profile's simulator."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from custom_components.ev_sessions.chargers.events import (
    AuthorizationStatus,
    ChargerConnected,
    ConnectorState,
    MeterSample,
    StatusChanged,
    TagPresented,
)

from .helpers import DEVICES, rig, wait_energy, wait_state, wait_until

S = ConnectorState
#: Lifetime register at the start: the simulators' meters start at 1 MWh; ABB has no
#: lifetime register, so the adapter's counter starts at 0.
START_WH = {"abb": 0}
#: Models whose session register is trusted (live); the others must report None.
LIVE_SESSION = {"abb", "vestel", "charx"}
#: Models with an RFID register.
RFID = {"vestel", "webasto_next", "keba", "charx", "phoenix_ev_eth", "phoenix_ev_eth:wallbe"}
#: Currents in whole amperes (EV-ETH: int32 A).
WHOLE_AMPS = {"phoenix_ev_eth", "phoenix_ev_eth:wallbe"}


def _sample_before(events: Sequence[object], state: ConnectorState) -> MeterSample:
    """The meter sample emitted right before the first StatusChanged to ``state``."""
    last: MeterSample | None = None
    for event in events:
        if isinstance(event, MeterSample):
            last = event
        if isinstance(event, StatusChanged) and event.state is state:
            assert last is not None
            return last
    raise AssertionError(f"no {state}")


@pytest.mark.parametrize("model", DEVICES)
async def test_two_sessions_metered_exactly(socket_enabled: None, model: str) -> None:
    """Plug, charge 7 kWh, car pauses, unplug; then a 1.8 kWh session cut by unplugging."""
    async with rig(model) as r:
        sim, h = r.sim, r.handler
        start = START_WH.get(model, 1_000_000)
        assert h.of(ChargerConnected)[0].info.protocol == "modbus"
        await wait_energy(h, start)

        sim.plug_in()
        if model in RFID:
            sim.set_rfid("04A1B2C3")
        await wait_state(h, S.PREPARING)
        sim.start_charging(7000)
        await wait_state(h, S.CHARGING)
        sim.advance(3600)
        await wait_energy(h, start + 7000)
        sample = h.last_sample()
        assert sample.power_w == pytest.approx(7000)
        assert sample.current_a is not None
        amps_tolerance = 0.5 if model in WHOLE_AMPS else 0.01
        assert sample.current_a[0] == pytest.approx(7000 / 690, abs=amps_tolerance)
        if model in LIVE_SESSION:
            assert sample.session_energy_wh == 7000
        else:
            assert sample.session_energy_wh is None
        sim.stop_charging()
        await wait_state(h, S.SUSPENDED_EV)
        sim.unplug()
        await wait_state(h, S.AVAILABLE)

        sim.plug_in()
        await wait_state(h, S.PREPARING)
        sim.start_charging(3600)
        await wait_state(h, S.CHARGING)
        sim.advance(1800)
        await wait_energy(h, start + 8800)
        sim.unplug()
        await wait_state(h, S.AVAILABLE)

    assert h.states == [
        S.AVAILABLE,
        S.PREPARING,
        S.CHARGING,
        S.SUSPENDED_EV,
        S.AVAILABLE,
        S.PREPARING,
        S.CHARGING,
        S.AVAILABLE,
    ]
    energies = h.energies
    assert energies == sorted(energies), "the lifetime register never goes back"
    assert energies[0] == start
    assert energies[-1] == start + 8800
    assert _sample_before(h.events, S.SUSPENDED_EV).energy_register_wh == start + 7000
    tags = h.of(TagPresented)
    if model in RFID:
        assert [t.id_tag for t in tags] == ["04A1B2C3"]
        assert tags[0].status is AuthorizationStatus.ACCEPTED
        assert h.requests[0].id_tag == "04A1B2C3"
    else:
        assert tags == []


@pytest.mark.parametrize("model", ["alfen", "vestel"])
async def test_samples_only_on_change_or_periodically(socket_enabled: None, model: str) -> None:
    """Idle polls with unchanged values emit no sample until the periodic interval."""
    async with rig(model) as r:
        await wait_until(lambda: len(r.handler.of(MeterSample)) >= 1)
        polls_before = r.sim.reads
        await wait_until(lambda: r.sim.reads >= polls_before + 20, what="20 more reads")
        # 60 s periodic interval x 0.01 = 0.6 s: at most one periodic sample meanwhile
        assert len(r.handler.of(MeterSample)) <= 2


async def test_fault_reported(socket_enabled: None) -> None:
    """An IEC F state is reported as FAULTED with an error code."""
    async with rig("alfen") as r:
        r.sim.set_fault()
        await wait_state(r.handler, S.FAULTED)
        status = r.handler.of(StatusChanged)[-1]
        assert status.error_code == "IEC F"


async def test_rejected_tag_is_reported_as_such(socket_enabled: None) -> None:
    """The hub's decision is carried in TagPresented; a tag is presented once per swipe."""
    async with rig("charx") as r:
        r.handler.status = AuthorizationStatus.INVALID
        r.sim.set_rfid("DEADBEEF")
        await wait_until(lambda: bool(r.handler.of(TagPresented)))
        r.sim.set_rfid("")
        await wait_until(lambda: r.charger._tag is None)
        r.sim.set_rfid("DEADBEEF")
        await wait_until(lambda: len(r.handler.of(TagPresented)) == 2)
        assert {t.status for t in r.handler.of(TagPresented)} == {AuthorizationStatus.INVALID}
