"""OCPP 1.6 requests from the central system, routed to the simulated charge point."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ocpp.exceptions import NotImplementedError as OcppNotImplementedError
from ocpp.v16 import ChargePoint as ChargePoint16, call_result as result16

from .routing import after, on

if TYPE_CHECKING:
    from .charge_point import SimulatedChargePoint


class Routes16(ChargePoint16):  # type: ignore[misc]
    """OCPP 1.6 requests from the central system, delegated to the simulator."""

    sim: SimulatedChargePoint

    async def route_message(self, raw_msg: str) -> None:
        if self.sim.intercept(raw_msg):
            return
        await super().route_message(raw_msg)

    @on("RemoteStartTransaction")
    def on_remote_start(self, id_tag: str, connector_id: int | None = None, **_: Any) -> Any:
        connector = self.sim.connector(connector_id or 1)
        status = "Rejected" if connector.charging else "Accepted"
        return result16.RemoteStartTransaction(status=status)

    @after("RemoteStartTransaction")
    def after_remote_start(self, id_tag: str, connector_id: int | None = None, **_: Any) -> None:
        self.sim.remote_start(connector_id or 1, id_tag)

    @on("RemoteStopTransaction")
    def on_remote_stop(self, transaction_id: int, **_: Any) -> Any:
        found = self.sim.connector_of(transaction_id) is not None
        return result16.RemoteStopTransaction(status="Accepted" if found else "Rejected")

    @after("RemoteStopTransaction")
    def after_remote_stop(self, transaction_id: int, **_: Any) -> None:
        self.sim.remote_stop(transaction_id)

    @on("SetChargingProfile")
    def on_set_profile(self, connector_id: int, cs_charging_profiles: dict[str, Any]) -> Any:
        profile = cs_charging_profiles
        status = self.sim.apply_profile(
            connector_id,
            profile["charging_profile_id"],
            profile["charging_profile_purpose"],
            profile["charging_schedule"],
        )
        return result16.SetChargingProfile(status=status)

    @after("SetChargingProfile")
    def after_set_profile(self, **_: Any) -> None:
        self.sim.spawn(self.sim.report_limits())

    @on("ClearChargingProfile")
    def on_clear_profile(
        self,
        id: int | None = None,  # noqa: A002  (the OCPP field name)
        connector_id: int | None = None,
        charging_profile_purpose: str | None = None,
        **_: Any,
    ) -> Any:
        status = self.sim.clear_profiles(connector_id, id, charging_profile_purpose)
        return result16.ClearChargingProfile(status=status)

    @after("ClearChargingProfile")
    def after_clear_profile(self, **_: Any) -> None:
        self.sim.spawn(self.sim.report_limits())

    @on("GetCompositeSchedule")
    def on_get_composite(
        self, connector_id: int, duration: int, charging_rate_unit: str | None = None
    ) -> Any:
        if not self.sim.config.composite_schedule:
            raise OcppNotImplementedError("GetCompositeSchedule")
        limit = self.sim.composite_limit(connector_id)
        if limit is None:
            return result16.GetCompositeSchedule(status="Rejected")
        return result16.GetCompositeSchedule(
            status="Accepted",
            connector_id=connector_id,
            schedule_start=self.sim.now_iso(),
            charging_schedule={
                "duration": duration,
                "charging_rate_unit": "A",
                "charging_schedule_period": [{"start_period": 0, "limit": limit}],
            },
        )

    @on("ChangeConfiguration")
    def on_change_configuration(self, key: str, value: str) -> Any:
        return result16.ChangeConfiguration(status=self.sim.change_configuration(key, value))

    @on("GetConfiguration")
    def on_get_configuration(self, key: list[str] | None = None) -> Any:
        known, unknown = self.sim.get_configuration(key)
        return result16.GetConfiguration(
            configuration_key=[
                {"key": k, "readonly": k in self.sim.readonly, "value": v} for k, v in known.items()
            ],
            unknown_key=unknown or None,
        )

    @on("SendLocalList")
    def on_send_local_list(self, list_version: int, update_type: str, **_: Any) -> Any:
        self.sim.local_list_version = list_version
        return result16.SendLocalList(status="Accepted")

    @on("GetLocalListVersion")
    def on_get_local_list_version(self) -> Any:
        return result16.GetLocalListVersion(list_version=self.sim.local_list_version)

    @on("ClearCache")
    def on_clear_cache(self) -> Any:
        return result16.ClearCache(status="Accepted")

    @on("UnlockConnector")
    def on_unlock(self, connector_id: int) -> Any:
        ok = 1 <= connector_id <= len(self.sim.connectors)
        return result16.UnlockConnector(status="Unlocked" if ok else "NotSupported")

    @on("Reset")
    def on_reset(self, type: str) -> Any:  # noqa: A002  (the OCPP field name)
        return result16.Reset(status="Accepted")

    @on("ChangeAvailability")
    def on_change_availability(self, connector_id: int, type: str) -> Any:  # noqa: A002
        return result16.ChangeAvailability(status="Accepted")

    @on("TriggerMessage")
    def on_trigger(self, requested_message: str, connector_id: int | None = None) -> Any:
        supported = requested_message in {
            "BootNotification",
            "Heartbeat",
            "MeterValues",
            "StatusNotification",
        }
        return result16.TriggerMessage(status="Accepted" if supported else "NotImplemented")

    @after("TriggerMessage")
    def after_trigger(self, requested_message: str, connector_id: int | None = None) -> None:
        self.sim.triggered(requested_message, connector_id)
