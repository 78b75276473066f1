"""Per-member energy and cost as long-term statistics (issue 16): hourly sums in the recorder,
backfilled at start, rebuilt after a re-attribution and a re-price."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from homeassistant.components.recorder import Recorder, get_instance
from homeassistant.components.recorder.db_schema import Statistics, StatisticsMeta
from homeassistant.components.recorder.models import StatisticData, StatisticMetaData
from homeassistant.components.recorder.models.statistics import StatisticMeanType
from homeassistant.components.recorder.statistics import (
    async_add_external_statistics,
    get_metadata,
    list_statistic_ids,
    statistics_during_period,
)
from homeassistant.components.recorder.util import session_scope
from homeassistant.core import HomeAssistant
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.components.recorder.common import (
    async_wait_recording_done,
)

from custom_components.ev_sessions.const import DOMAIN
from custom_components.ev_sessions.core import hour_start, spread_cost
from custom_components.ev_sessions.core.tariff import EnergyPricing, Tariff
from custom_components.ev_sessions.statistics import statistic_ids
from simulators.ocpp import SimulatedChargePoint

from .helpers import charger_clock, ocpp_charger_entry, set_fixed_price, wait_state
from .test_ocpp_hub import energy

Make = Callable[..., SimulatedChargePoint]
ANNA_ENERGY, ANNA_COST = statistic_ids("anna")
BO_ENERGY, BO_COST = statistic_ids("bo")
ALL_IDS = {ANNA_ENERGY, ANNA_COST, BO_ENERGY, BO_COST}


@pytest.fixture(autouse=True)
def auto_enable_custom_integrations(
    recorder_mock: Recorder, enable_custom_integrations: None
) -> None:
    """The recorder is set up before hass (the shared autouse fixture would start hass first)."""


def _tariff(hass: HomeAssistant, price: str) -> Tariff:
    return Tariff(
        currency=hass.config.currency,
        energy=EnergyPricing.FIXED,
        fixed_price=Decimal(price),
        vat_rate=Decimal("0.25"),
    )


async def _anna_charges_4_kwh(hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make) -> str:
    """Anna charges 4 kWh on CP1 at 2.00 + 25 % VAT (10.00); the session id."""
    await set_fixed_price(hass, hub, _tariff(hass, "2.00"))
    entry = ocpp_charger_entry(hass, "CP1")
    assert await hass.config_entries.async_setup(entry.entry_id)
    cp = make_cp("CP1", power_w=0.0, meter_start_wh=10_000)
    await cp.connect()
    await cp.plug_in(1)
    assert await cp.swipe("TAG-ANNA") == "Accepted"
    await cp.start(1, "TAG-ANNA")
    await cp.send_meter_values(1, sampled_values=energy(10_000))
    cp.connector(1).energy_wh = 14_000
    cp.time_offset = charger_clock(35)
    await cp.stop(1, "EVDisconnected")
    cp.time_offset = charger_clock(50)
    await cp.unplug(1)
    await hub.runtime_data.hub.site.pricer.async_wait_idle()
    await wait_state(hass, "sensor", "charger_CP1_charger_cost", "10.00")
    (session,) = await hub.runtime_data.hub.engine.async_sessions()
    return session.id


async def _rebuild(hass: HomeAssistant, hub: MockConfigEntry) -> None:
    """Let the batching delay (10 s) pass on HA's clock: the requested rebuild runs."""
    await hass.async_block_till_done()
    async_fire_time_changed(hass, dt_util.utcnow() + timedelta(seconds=11))
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)


async def _hourly(hass: HomeAssistant) -> dict[str, list[tuple[datetime, float]]]:
    """Every member statistic as (hour, sum) rows."""
    start = dt_util.utcnow() - timedelta(days=1)
    rows: dict[str, list[Any]] = await get_instance(hass).async_add_executor_job(
        statistics_during_period, hass, start, None, ALL_IDS, "hour", None, {"sum"}
    )
    return {
        statistic_id: [(dt_util.utc_from_timestamp(r["start"]), r["sum"]) for r in found]
        for statistic_id, found in rows.items()
    }


async def _slot_hours(hass: HomeAssistant, session_id: str) -> dict[datetime, int]:
    """The session's Wh per UTC hour, from its stored slots (as get_session returns them)."""
    response: Any = await hass.services.async_call(
        DOMAIN, "get_session", {"session_id": session_id}, blocking=True, return_response=True
    )
    hours: dict[datetime, int] = {}
    for slot in response["session"]["slots"]:
        if not slot["energy_wh"]:
            continue  # a quarter-hour without energy is no hour of charging
        hour = hour_start(datetime.fromisoformat(slot["start"]))
        hours[hour] = hours.get(hour, 0) + slot["energy_wh"]
    return hours


def _expected(
    hass: HomeAssistant, hours: dict[datetime, int], energy_id: str, cost_id: str, cost: str
) -> dict[str, list[tuple[datetime, float]]]:
    """Running sums per hour: the energy in kWh, the cost spread over the hours by energy."""
    parts = spread_cost(Decimal(cost), hours, hass.config.currency)
    energy_rows, cost_rows = [], []
    wh, money = 0, Decimal(0)
    for hour in sorted(hours):
        wh, money = wh + hours[hour], money + parts[hour]
        energy_rows.append((hour, wh / 1000))
        cost_rows.append((hour, float(money)))
    assert (wh, money) == (4000, Decimal(cost))
    return {energy_id: energy_rows, cost_id: cost_rows}


async def test_member_energy_and_cost_as_hourly_statistics(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """Anna's 4 kWh / 10.00 are hourly rows of each statistic (kWh and the currency);
    re-attributed to Bo, they are Bo's and Anna's series is gone; re-priced at 3.00, Bo's cost
    sum is 15.00."""
    session_id = await _anna_charges_4_kwh(hass, hub, make_cp)
    hours = await _slot_hours(hass, session_id)
    await _rebuild(hass, hub)
    assert await _hourly(hass) == _expected(hass, hours, ANNA_ENERGY, ANNA_COST, "10.00")
    listed = await get_instance(hass).async_add_executor_job(
        list_statistic_ids, hass, {ANNA_ENERGY, ANNA_COST}
    )
    assert sorted((s["statistic_id"], s["statistics_unit_of_measurement"]) for s in listed) == [
        (ANNA_COST, hass.config.currency),
        (ANNA_ENERGY, "kWh"),
    ]
    assert {s["name"] for s in listed} == {"Anna Lifetime energy", "Anna Cost"}

    await hass.services.async_call(
        DOMAIN,
        "reattribute_session",
        {"session_id": session_id, "member": "Bo"},
        blocking=True,
        return_response=True,
    )
    await _rebuild(hass, hub)
    assert await _hourly(hass) == _expected(hass, hours, BO_ENERGY, BO_COST, "10.00")

    await set_fixed_price(hass, hub, _tariff(hass, "3.00"))
    await hass.services.async_call(
        DOMAIN,
        "reprice_session",
        {"session_id": session_id, "reason": "new contract"},
        blocking=True,
        return_response=True,
    )
    await _rebuild(hass, hub)
    assert await _hourly(hass) == _expected(hass, hours, BO_ENERGY, BO_COST, "15.00")


async def test_backfill_at_start_from_stored_sessions(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """Statistics the recorder lost (or never had) are rebuilt from the sessions at start."""
    session_id = await _anna_charges_4_kwh(hass, hub, make_cp)
    hours = await _slot_hours(hass, session_id)
    await _rebuild(hass, hub)
    get_instance(hass).async_clear_statistics(sorted(ALL_IDS))
    await async_wait_recording_done(hass)
    assert await _hourly(hass) == {}

    assert await hass.config_entries.async_reload(hub.entry_id)
    await hass.async_block_till_done()
    await _rebuild(hass, hub)
    assert await _hourly(hass) == _expected(hass, hours, ANNA_ENERGY, ANNA_COST, "10.00")


def _rows_written(hass: HomeAssistant) -> set[tuple[str, float, float]]:
    """(In the recorder's executor.) Each member statistics row: id, hour and when it was
    written (clearing and importing again writes new rows)."""
    with session_scope(hass=hass, read_only=True) as session:
        query = session.query(
            StatisticsMeta.statistic_id, Statistics.start_ts, Statistics.created_ts
        ).join(StatisticsMeta, Statistics.metadata_id == StatisticsMeta.id)
        return {(row[0], row[1], row[2]) for row in query}


async def _written(hass: HomeAssistant) -> set[tuple[str, float, float]]:
    return await get_instance(hass).async_add_executor_job(_rows_written, hass)


async def _statistic_ids_kept(hass: HomeAssistant) -> set[str]:
    found = await get_instance(hass).async_add_executor_job(
        partial(get_metadata, hass, statistic_source=DOMAIN)
    )
    return set(found)


async def test_second_start_writes_nothing_when_nothing_changed(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """A restart checks the series against the sessions: all current, none is rewritten (the
    rows stay the ones written first, which clearing and importing again would replace)."""
    session_id = await _anna_charges_4_kwh(hass, hub, make_cp)
    hours = await _slot_hours(hass, session_id)
    await _rebuild(hass, hub)
    before = await _written(hass)
    assert {row[0] for row in before} == {ANNA_ENERGY, ANNA_COST}

    assert await hass.config_entries.async_reload(hub.entry_id)
    await hass.async_block_till_done()
    await _rebuild(hass, hub)
    assert await _written(hass) == before
    assert await _hourly(hass) == _expected(hass, hours, ANNA_ENERGY, ANNA_COST, "10.00")


async def test_start_rebuilds_a_series_that_is_not_current(
    hass: HomeAssistant, hub: MockConfigEntry, make_cp: Make
) -> None:
    """A series whose sums differ from the sessions (changed while it was not kept) is rebuilt
    at start; the series of a member without sessions is cleared."""
    session_id = await _anna_charges_4_kwh(hass, hub, make_cp)
    hours = await _slot_hours(hass, session_id)
    await _rebuild(hass, hub)
    last_hour = max(hours)
    ghost_energy, _ = statistic_ids("ghost")
    for statistic_id, name, unit in (
        (ANNA_COST, "Anna Cost", hass.config.currency),
        (ghost_energy, "Ghost Lifetime energy", "kWh"),
    ):
        meta = StatisticMetaData(
            mean_type=StatisticMeanType.NONE,
            has_sum=True,
            name=name,
            source=DOMAIN,
            statistic_id=statistic_id,
            unit_class=None,
            unit_of_measurement=unit,
        )
        async_add_external_statistics(hass, meta, [StatisticData(start=last_hour, sum=99.0)])
    await async_wait_recording_done(hass)
    assert (await _hourly(hass))[ANNA_COST][-1] == (last_hour, 99.0)

    assert await hass.config_entries.async_reload(hub.entry_id)
    await hass.async_block_till_done()
    await _rebuild(hass, hub)
    assert await _hourly(hass) == _expected(hass, hours, ANNA_ENERGY, ANNA_COST, "10.00")
    assert await _statistic_ids_kept(hass) == {ANNA_ENERGY, ANNA_COST}
