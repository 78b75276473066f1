"""Done when (issue 13): Anna sets "15 kWh by 07:00" on a simulated OCPP 1.6J charger with
time-of-use prices that are cheap at night; the charger gets a charging schedule whose charging
periods are exactly the cheapest windows; the night is then simulated (Home Assistant's clock
moved through it, the charger reporting its meter in each window), and the session, once
unplugged, cost what the plan showed, to the cent, for 15 kWh.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_fire_time_changed,
)

from custom_components.ev_sessions.const import DOMAIN, EVENT_SESSION_ENDED
from custom_components.ev_sessions.core.tariff import Tariff
from custom_components.ev_sessions.setup_charger import loaded_hub
from simulators.ocpp import SimulatedChargePoint

from .helpers import ocpp_charger_entry, wait_until

Make = Callable[..., SimulatedChargePoint]
TZ = ZoneInfo("Europe/Stockholm")
#: Tuesday 1 December 2026, 21:00 in Stockholm: Anna plugs in.
EVENING = datetime(2026, 12, 1, 21, 0, tzinfo=TZ)
#: Prices per kWh (local time): 0.30 from midnight to 01:00, 0.40 from 03:00 to 04:00, 1.50 the
#: rest of the night, 2.00 by day; +25 % VAT.
NIGHT = {
    "default": "2.00",
    "windows": [
        {"days": "all", "start": "22:00", "end": "00:00", "price": "1.50"},
        {"days": "all", "start": "00:00", "end": "01:00", "price": "0.30"},
        {"days": "all", "start": "01:00", "end": "03:00", "price": "1.50"},
        {"days": "all", "start": "03:00", "end": "04:00", "price": "0.40"},
        {"days": "all", "start": "04:00", "end": "07:00", "price": "1.50"},
    ],
}
#: 3 x 16 A at 230 V: 11,040 W, 2,760 Wh a quarter-hour.
QUARTER_WH = 2760
POWER_W = 11040.0


def energy(wh: int, power_w: float) -> list[dict[str, Any]]:
    """A meter frame of the three-phase charger: the register, the power and the current on
    each phase (the plan uses the phases it measures)."""
    amps = str(round(power_w / 3 / 230, 1))
    return [
        {"value": str(wh), "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
        {"value": str(power_w), "measurand": "Power.Active.Import", "unit": "W"},
        *(
            {"value": amps, "measurand": "Current.Import", "phase": phase, "unit": "A"}
            for phase in ("L1", "L2", "L3")
        ),
    ]


def night(hour: int, minute: int = 0, second: int = 0) -> datetime:
    """A local time in the night after EVENING."""
    return datetime(2026, 12, 2, hour, minute, second, tzinfo=TZ)


#: How far the clock moves at a time: the charger sends a heartbeat after each step, as a real
#: one does, so the hub never finds it silent.
STEP = timedelta(minutes=10)


#: The simulated charger's tasks that run for good (the others finish by themselves).
_LOOPS = frozenset({"_heartbeat_loop", "_meter_loop", "_reconnect"})


async def _settle(cp: SimulatedChargePoint) -> None:
    """Let the simulated charger finish what it started (a status after a new profile) before
    the clock jumps: a call of its still waiting for its answer would time out."""
    started = [
        task
        for task in cp._tasks
        if not task.done() and getattr(task.get_coro(), "__name__", "") not in _LOOPS
    ]
    if started:
        await asyncio.wait(started, timeout=5)


async def _run_until(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, cp: SimulatedChargePoint, when: datetime
) -> None:
    """Let Home Assistant's clock run to ``when`` in steps, firing what is due."""
    now = datetime.now(UTC)
    while now < when:
        await _settle(cp)
        now = min(now + STEP, when)
        freezer.move_to(now)
        async_fire_time_changed(hass, now)
        await hass.async_block_till_done()
        await cp.heartbeat()


def _charging_periods(request: dict[str, Any]) -> list[tuple[datetime, datetime, float]]:
    """The periods of a SetChargingProfile (1.6) with a limit above 0: (start, end, limit)."""
    schedule = request["csChargingProfiles"]["chargingSchedule"]
    start = datetime.fromisoformat(schedule["startSchedule"])
    periods = schedule["chargingSchedulePeriod"]
    found = []
    for index, period in enumerate(periods):
        if period["limit"] <= 0:
            continue
        begin = start + timedelta(seconds=period["startPeriod"])
        if index + 1 < len(periods):
            end = start + timedelta(seconds=periods[index + 1]["startPeriod"])
        else:
            end = start + timedelta(seconds=schedule["duration"])
        found.append((begin, end, float(period["limit"])))
    return found


@pytest.mark.freeze_time(EVENING.astimezone(UTC).isoformat(), tick=True)
async def test_15_kwh_by_07_00_charges_in_the_cheapest_windows_at_the_cost_shown(
    hass: HomeAssistant,
    hub_entry: MockConfigEntry,
    make_cp: Make,
    freezer: FrozenDateTimeFactory,
) -> None:
    """15 kWh by 07:00 at 11 kW: the hour at 0.30 (11.04 kWh) and 3.96 kWh from 03:00 at 0.40
    (one full quarter-hour, then 1,200 Wh until 03:21:32). Cost: 4 x 0.83 + 1.10 + 0.48 =
    4.90, + 1.23 VAT = 6.13. The charger is sent exactly these two charging periods; the night
    delivers the energy in them and the session costs 6.13 for 15 kWh."""
    await hass.config.async_set_time_zone("Europe/Stockholm")
    hass.config.currency = "SEK"
    tariff = Tariff(currency="SEK", fallback_price=Decimal("2.00"), vat_rate=Decimal("0.25"))
    hass.config_entries.async_update_entry(
        hub_entry,
        options={
            **hub_entry.options,
            "price_source": {"kind": "tou", "schedule": NIGHT},
            "tariff": tariff.to_dict(),
        },
    )
    assert await hass.config_entries.async_setup(hub_entry.entry_id)
    await hass.async_block_till_done()
    entry = ocpp_charger_entry(hass, "CP1")
    hass.config_entries.async_update_entry(entry, options={"max_current_a": 16})
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    hub = loaded_hub(hass)
    assert hub is not None
    ended = async_capture_events(hass, EVENT_SESSION_ENDED)

    # 21:00: Anna plugs in and starts with her tag; the charger waits for the plan.
    cp = make_cp("CP1", power_w=0.0, meter_start_wh=50_000)
    cp.time_offset = timedelta(0)
    await cp.connect()
    await cp.plug_in(1)
    assert await cp.swipe("TAG-ANNA") == "Accepted"
    await cp.start(1, "TAG-ANNA")
    await cp.send_meter_values(1, sampled_values=energy(50_000, 0.0))
    await wait_until(hass, lambda: hub.engine.connector("CP1", 1).session is not None)
    device = dr.async_entries_for_config_entry(dr.async_get(hass), entry.entry_id)[0]

    plan: Any = await hass.services.async_call(
        DOMAIN,
        "set_plan",
        {"device_id": device.id, "member": "anna", "energy_kwh": 15, "ready_by": "07:00:00"},
        blocking=True,
        return_response=True,
    )
    await hub.site.planning.async_wait_idle()

    windows = [
        (datetime.fromisoformat(w["start"]), datetime.fromisoformat(w["end"]), w["current_a"])
        for w in plan["windows"]
    ]
    second_end = night(3, 21, 32)
    assert windows == [(night(0), night(1), 16.0), (night(3), second_end, 16.0)]
    assert (plan["state"], plan["execution"], plan["energy_wh"]) == (
        "planned",
        "charging_profile",
        15_000,
    )
    assert (plan["cost"], plan["currency"]) == ("6.13", "SEK")
    [profile] = cp.requests_for("SetChargingProfile")
    assert profile["csChargingProfiles"]["chargingProfilePurpose"] == "TxProfile"
    assert _charging_periods(profile) == windows
    assert cp.connector(1).limit_a == 0.0  # paused until midnight

    # The night: the charger follows its schedule and reports its meter in each quarter-hour.
    register = 50_000

    async def report(at: datetime, added_wh: int, power_w: float) -> None:
        nonlocal register
        await _run_until(hass, freezer, cp, at)
        register += added_wh
        cp.connector(1).energy_wh = register
        await cp.send_meter_values(1, sampled_values=energy(register, power_w), timestamp=at)

    await report(night(0), 0, POWER_W)
    for quarter in range(4):
        await report(night(0, 15 * quarter + 14, 59), QUARTER_WH, POWER_W)
    await report(night(1, 0, 30), 0, 0.0)
    # Between the windows the charger keeps reporting 0 W (the plan pauses the car): after ten
    # minutes the engine sees charging finished, but the car is not full - the plan stays and
    # keeps the car paused until 03:00.
    for minutes in range(10, 120, 10):
        await report(night(1) + timedelta(minutes=minutes), 0, 0.0)
    state = hass.states.get("sensor.cp1_plan_state")
    assert state is not None
    assert state.state == "planned"
    assert cp.requests_for("ClearChargingProfile") == []  # the schedule stays on the charger
    current = hub.site.planning.plan_of("CP1")
    assert current is not None
    assert current.plan.current_at(night(2, 50)) == 0.0
    assert current.plan.window_at(night(3)) is not None
    await report(night(3), 0, POWER_W)
    await report(night(3, 14, 59), QUARTER_WH, POWER_W)
    await report(second_end, 1200, 0.0)

    # 06:40: Anna stops and unplugs.
    await _run_until(hass, freezer, cp, night(6, 40))
    await cp.stop(1, "Local", timestamp=night(6, 40))
    await cp.unplug(1)
    await wait_until(hass, lambda: len(ended) == 1, what="session ended")
    session_id = ended[0].data["id"]
    await hub.site.async_wait_idle()
    await hub.site.pricer.async_wait_idle()  # the cost is recorded right after the end
    await hass.async_block_till_done()
    answer: Any = await hass.services.async_call(
        DOMAIN, "get_session", {"session_id": session_id}, blocking=True, return_response=True
    )
    session = answer["session"]
    assert session["energy_wh"] == 15_000
    assert (session["cost_total"], session["currency"]) == (plan["cost"], "SEK")
    assert session["cost_reason"] is not None  # the recorded cost, not a live estimate
    assert [(s["start"], s["energy_wh"]) for s in session["slots"]] == [
        (night(q // 4, 15 * (q % 4)).astimezone(UTC).isoformat(), QUARTER_WH) for q in range(4)
    ] + [
        (night(3).astimezone(UTC).isoformat(), QUARTER_WH),
        (night(3, 15).astimezone(UTC).isoformat(), 1200),
    ]
