"""The charger's overall maximum (the current arbiter's limit): a ChargePointMaxProfile (1.6) /
ChargingStationMaxProfile (2.0.1) on the whole charger, next to the plan's schedule profiles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from custom_components.ev_sessions.chargers.events import (
    ClearLimits,
    GetCurrentLimit,
    SchedulePeriod,
    SetChargingSchedule,
    SetCurrentLimit,
)

from .helpers import charge_point, running_server

pytestmark = pytest.mark.usefixtures("socket_enabled")

PURPOSE = {"1.6": "ChargePointMaxProfile", "2.0.1": "ChargingStationMaxProfile"}


def _profile(request: dict[str, object]) -> dict[str, object]:
    profile = request.get("csChargingProfiles") or request.get("chargingProfile")
    assert isinstance(profile, dict)
    return profile


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_the_maximum_sits_next_to_a_schedule(version: str) -> None:
    """A plan's TxProfile and the arbiter's maximum both stay on the charger; the charger
    applies the smaller; clearing the maximum leaves the schedule; the schedule does not drop
    the maximum."""
    async with (
        running_server() as (server, _handler),
        charge_point(server, "CPM", version=version) as cp,
    ):
        await cp.plug_in(1)
        await cp.start(1, "TAG1")
        now = datetime.now(UTC)
        schedule = SetChargingSchedule(
            connector_id=1,
            periods=[
                SchedulePeriod(start=now - timedelta(minutes=1), limit_a=16),
                SchedulePeriod(start=now + timedelta(hours=1), limit_a=6),
            ],
        )
        assert (await server.execute("CPM", schedule)).accepted
        result = await server.execute(
            "CPM", SetCurrentLimit(connector_id=0, limit_a=10, charger_max=True)
        )
        assert result.accepted
        request = cp.requests_for("SetChargingProfile")[-1]
        assert request.get("connectorId", request.get("evseId")) == 0
        profile = _profile(request)
        assert profile["chargingProfilePurpose"] == PURPOSE[version]
        assert profile.get("chargingProfileId", profile.get("id")) == 3000
        assert "transactionId" not in profile
        assert cp.requests_for("ClearChargingProfile") == []  # the schedule stays
        assert cp.connector(1).profiles == {
            2001: ("TxProfile", 16.0),
            3000: (PURPOSE[version], 10.0),
        }
        assert cp.connector(1).limit_a == 10.0
        read = await server.execute("CPM", GetCurrentLimit(connector_id=1))
        assert read.data["limit_a"] == 10.0
        # A new schedule from the plan leaves the maximum alone.
        assert (await server.execute("CPM", schedule)).accepted
        assert 3000 in cp.connector(1).profiles
        assert cp.requests_for("ClearChargingProfile") == []
        # Released: only the maximum goes, by its id.
        assert (await server.execute("CPM", ClearLimits(charger_max=True))).accepted
        cleared = cp.requests_for("ClearChargingProfile")
        assert [c.get("id", c.get("chargingProfileId")) for c in cleared] == [3000]
        assert cp.connector(1).profiles == {2001: ("TxProfile", 16.0)}
        assert cp.connector(1).limit_a == 16.0
        # Cleared twice: nothing more is sent.
        assert (await server.execute("CPM", ClearLimits(charger_max=True))).accepted
        assert len(cp.requests_for("ClearChargingProfile")) == 1
