"""Session cost in Home Assistant (issue 12): an OCPP session priced with a fixed tariff."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

from homeassistant.core import HomeAssistant
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_capture_events

from custom_components.ev_sessions.const import DOMAIN, EVENT_SESSION_ENDED
from custom_components.ev_sessions.core.tariff import EnergyPricing, Tariff
from simulators.ocpp import SimulatedChargePoint

from .helpers import (
    charger_clock,
    ocpp_charger_entry,
    set_fixed_price,
    state_of,
    wait_state,
    wait_until,
)
from .test_ocpp_hub import energy

Make = Callable[..., SimulatedChargePoint]


def _state(hass: HomeAssistant, key: str) -> str:
    return state_of(hass, "sensor", f"charger_CP1_{key}")


async def test_session_cost_live_recorded_and_in_actions(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """A fixed price of 2.00 per kWh + 25 % VAT: 2345 Wh so far cost 4.69 + 1.17 = 5.86 live;
    4000 Wh at the end cost 8.00 + 2.00 = 10.00, whichever quarter-hours they fell in (every
    slot's Wh is a multiple of 5, so no line rounds). The charger's cost total, get_session's
    lines, the CSV and the ended event agree."""
    site = hub.runtime_data.hub.site
    currency = hass.config.currency
    tariff = Tariff(
        currency=currency,
        energy=EnergyPricing.FIXED,
        fixed_price=Decimal("2.00"),
        vat_rate=Decimal("0.25"),
    )
    await set_fixed_price(hass, hub, tariff)
    entry = ocpp_charger_entry(hass, "CP1")
    assert await hass.config_entries.async_setup(entry.entry_id)
    ended = async_capture_events(hass, EVENT_SESSION_ENDED)
    assert _state(hass, "charger_cost") == "unknown"

    cp = make_cp("CP1", power_w=0.0, meter_start_wh=10_000)
    await cp.connect()
    await cp.plug_in(1)
    assert await cp.swipe("TAG-ANNA") == "Accepted"
    await cp.start(1, "TAG-ANNA")
    await cp.send_meter_values(1, sampled_values=energy(10_000))
    cp.time_offset = charger_clock(20)
    await cp.send_meter_values(1, sampled_values=energy(12_345))
    await wait_state(hass, "sensor", "charger_CP1_session_cost", "5.86")
    # 5.86 for 2.345 kWh: 2.4989 per kWh on average so far
    await wait_state(hass, "sensor", "charger_CP1_session_average_price", "2.4989")
    average = hass.states.get("sensor.cp1_session_average_price")
    assert average is not None
    assert average.attributes["unit_of_measurement"] == f"{currency}/kWh"

    cp.connector(1).energy_wh = 14_000
    cp.time_offset = charger_clock(35)
    await cp.stop(1, "EVDisconnected")
    cp.time_offset = charger_clock(50)
    await cp.unplug(1)
    await wait_until(hass, lambda: len(ended) == 1, what="session ended event")
    assert (ended[0].data["cost"], ended[0].data["currency"]) == ("10.00", currency)
    session_id = ended[0].data["id"]
    await site.pricer.async_wait_idle()
    await wait_state(hass, "sensor", "charger_CP1_charger_cost", "10.00")
    await wait_state(hass, "sensor", "charger_CP1_session_cost", "10.00")
    assert hass.states.get("sensor.cp1_session_average_price").state == "2.5000"
    total = hass.states.get(
        next(
            s.entity_id
            for s in hass.states.async_all("sensor")
            if s.entity_id.endswith("cost") and s.attributes.get("state_class")
        )
    )
    assert total is not None
    assert total.attributes["state_class"] == "total"
    assert total.attributes["device_class"] == "monetary"
    assert total.attributes["unit_of_measurement"] == currency

    response: Any = await hass.services.async_call(
        DOMAIN, "get_session", {"session_id": session_id}, blocking=True, return_response=True
    )
    session = response["session"]
    assert (session["cost_total"], session["currency"], session["cost_reason"]) == (
        "10.00",
        currency,
        "final",
    )
    lines = session["cost"]["lines"]
    energy_lines = [line for line in lines if line["kind"] == "energy"]
    assert sum(line["energy_wh"] for line in energy_lines) == 4_000
    assert sum(Decimal(line["amount"]) for line in energy_lines) == Decimal("8.00")
    assert [line["amount"] for line in lines if line["kind"] == "vat"] == ["2.00"]
    assert sum(slot["energy_wh"] for slot in session["slots"]) == 4_000

    export: Any = await hass.services.async_call(
        DOMAIN, "export_sessions", {}, blocking=True, return_response=True
    )
    header, row = str(export["csv"]).strip().splitlines()
    assert header.endswith(
        ",cost,tariff,anomalies,charger_name,member_name,cost_total,currency,cost_estimated"
    )
    assert row.endswith(f",10.00,{currency},False")
