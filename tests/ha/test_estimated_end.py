"""The estimated end of charging: from the state of charge the charger reports and the battery
capacity in the charger's options; unavailable for a charger that reports no state of charge."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry

from simulators.ocpp import SimulatedChargePoint

from .helpers import ocpp_charger_entry, state_of, wait_state, wait_until
from .test_ocpp_hub import energy

Make = Callable[..., SimulatedChargePoint]


def _with_soc(wh: int, soc: float) -> list[dict[str, Any]]:
    """10 kW, the register and the state of charge."""
    return [
        *energy(wh, power_w=10_000.0),
        {"value": f"{soc:g}", "measurand": "SoC", "unit": "Percent"},
    ]


async def _charging(hass: HomeAssistant, make_cp: Make, charger_id: str) -> SimulatedChargePoint:
    cp = make_cp(charger_id, power_w=0.0)
    await cp.connect()
    await cp.plug_in(1)
    await cp.start(1, "TAG-1")
    await wait_state(hass, "sensor", f"charger_{charger_id}_status", "charging")
    return cp


async def test_end_estimated_from_soc_and_battery_capacity(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """60 % of a 50 kWh battery at 10 kW: 20 kWh to go, full in 2 hours."""
    entry = ocpp_charger_entry(hass, "CP-SOC")
    hass.config_entries.async_update_entry(entry, options={"battery_capacity_kwh": 50.0})
    assert await hass.config_entries.async_setup(entry.entry_id)
    cp = await _charging(hass, make_cp, "CP-SOC")
    at = dt_util.utcnow().replace(microsecond=0) - timedelta(minutes=30)
    await cp.send_meter_values(1, sampled_values=_with_soc(1_000, 60), timestamp=at)
    await wait_state(
        hass,
        "sensor",
        "charger_CP-SOC_estimated_end",
        (at + timedelta(hours=2)).isoformat(),
    )
    await cp.send_meter_values(
        1, sampled_values=_with_soc(6_000, 70), timestamp=at + timedelta(minutes=30)
    )
    # 30 % of 50 kWh at 10 kW: 1.5 hours from then
    await wait_until(
        hass,
        lambda: state_of(hass, "sensor", "charger_CP-SOC_estimated_end")
        == (at + timedelta(hours=2)).isoformat(),
    )
    end = datetime.fromisoformat(state_of(hass, "sensor", "charger_CP-SOC_estimated_end"))
    assert end == at + timedelta(minutes=30) + timedelta(hours=1.5)


async def test_no_soc_no_estimate(hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make) -> None:
    """A charger that reports no state of charge: the estimate is unavailable, not unknown."""
    entry = ocpp_charger_entry(hass, "CP-NOSOC")
    assert await hass.config_entries.async_setup(entry.entry_id)
    cp = await _charging(hass, make_cp, "CP-NOSOC")
    await cp.send_meter_values(1, sampled_values=energy(1_000, power_w=10_000.0))
    await wait_state(hass, "sensor", "charger_CP-NOSOC_power", "10.0")
    assert state_of(hass, "sensor", "charger_CP-NOSOC_estimated_end") == "unavailable"
