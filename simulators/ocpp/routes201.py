"""OCPP 2.0.1 requests from the central system, routed to the simulated charge point."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ocpp.exceptions import NotImplementedError as OcppNotImplementedError
from ocpp.v201 import ChargePoint as ChargePoint201, call_result as result201

from .routing import after, on

if TYPE_CHECKING:
    from .charge_point import SimulatedChargePoint


class Routes201(ChargePoint201):  # type: ignore[misc]
    """OCPP 2.0.1 requests from the central system, delegated to the simulator."""

    sim: SimulatedChargePoint

    async def route_message(self, raw_msg: str) -> None:
        if self.sim.intercept(raw_msg):
            return
        await super().route_message(raw_msg)

    @on("RequestStartTransaction")
    def on_request_start(
        self, id_token: dict[str, Any], remote_start_id: int, evse_id: int | None = None, **_: Any
    ) -> Any:
        connector = self.sim.connector(evse_id or 1)
        status = "Rejected" if connector.charging else "Accepted"
        return result201.RequestStartTransaction(status=status)

    @after("RequestStartTransaction")
    def after_request_start(
        self, id_token: dict[str, Any], remote_start_id: int, evse_id: int | None = None, **_: Any
    ) -> None:
        self.sim.remote_start(evse_id or 1, id_token["id_token"])

    @on("RequestStopTransaction")
    def on_request_stop(self, transaction_id: str, **_: Any) -> Any:
        found = self.sim.connector_of(transaction_id) is not None
        return result201.RequestStopTransaction(status="Accepted" if found else "Rejected")

    @after("RequestStopTransaction")
    def after_request_stop(self, transaction_id: str, **_: Any) -> None:
        self.sim.remote_stop(transaction_id)

    @on("SetChargingProfile")
    def on_set_profile(self, evse_id: int, charging_profile: dict[str, Any], **_: Any) -> Any:
        profile = charging_profile
        status = self.sim.apply_profile(
            evse_id,
            profile["id"],
            profile["charging_profile_purpose"],
            profile["charging_schedule"][0],
        )
        return result201.SetChargingProfile(status=status)

    @after("SetChargingProfile")
    def after_set_profile(self, **_: Any) -> None:
        self.sim.spawn(self.sim.report_limits())

    @on("ClearChargingProfile")
    def on_clear_profile(
        self,
        charging_profile_id: int | None = None,
        charging_profile_criteria: dict[str, Any] | None = None,
        **_: Any,
    ) -> Any:
        criteria = charging_profile_criteria or {}
        status = self.sim.clear_profiles(
            criteria.get("evse_id"), charging_profile_id, criteria.get("charging_profile_purpose")
        )
        return result201.ClearChargingProfile(status=status)

    @after("ClearChargingProfile")
    def after_clear_profile(self, **_: Any) -> None:
        self.sim.spawn(self.sim.report_limits())

    @on("GetCompositeSchedule")
    def on_get_composite(self, duration: int, evse_id: int, **_: Any) -> Any:
        if not self.sim.config.composite_schedule:
            raise OcppNotImplementedError("GetCompositeSchedule")
        limit = self.sim.composite_limit(evse_id)
        if limit is None:
            return result201.GetCompositeSchedule(status="Rejected")
        return result201.GetCompositeSchedule(
            status="Accepted",
            schedule={
                "evse_id": evse_id,
                "duration": duration,
                "schedule_start": self.sim.now_iso(),
                "charging_rate_unit": "A",
                "charging_schedule_period": [{"start_period": 0, "limit": limit}],
            },
        )

    @on("SetVariables")
    def on_set_variables(self, set_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        results = []
        for item in set_variable_data:
            key = f"{item['component']['name']}.{item['variable']['name']}"
            status = self.sim.change_configuration(key, item["attribute_value"])
            results.append(
                {
                    "attributeStatus": {"NotSupported": "UnknownVariable"}.get(status, status),
                    "component": {"name": item["component"]["name"]},
                    "variable": {"name": item["variable"]["name"]},
                }
            )
        return result201.SetVariables(set_variable_result=results)

    @on("GetVariables")
    def on_get_variables(self, get_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        results = []
        for item in get_variable_data:
            key = f"{item['component']['name']}.{item['variable']['name']}"
            value = self.sim.configuration.get(key)
            result: dict[str, Any] = {
                "attributeStatus": "Accepted" if value is not None else "UnknownVariable",
                "component": {"name": item["component"]["name"]},
                "variable": {"name": item["variable"]["name"]},
            }
            if value is not None:
                result["attributeValue"] = value
            results.append(result)
        return result201.GetVariables(get_variable_result=results)

    @on("GetBaseReport")
    def on_get_base_report(self, request_id: int, report_base: str, **_: Any) -> Any:
        return result201.GetBaseReport(status="Accepted")

    @after("GetBaseReport")
    def after_get_base_report(self, request_id: int, report_base: str, **_: Any) -> None:
        self.sim.spawn(self.sim.send_report(request_id))

    @on("SendLocalList")
    def on_send_local_list(self, version_number: int, update_type: str, **_: Any) -> Any:
        self.sim.local_list_version = version_number
        return result201.SendLocalList(status="Accepted")

    @on("GetLocalListVersion")
    def on_get_local_list_version(self, **_: Any) -> Any:
        return result201.GetLocalListVersion(version_number=self.sim.local_list_version)

    @on("ClearCache")
    def on_clear_cache(self, **_: Any) -> Any:
        return result201.ClearCache(status="Accepted")

    @on("UnlockConnector")
    def on_unlock(self, evse_id: int, connector_id: int, **_: Any) -> Any:
        ok = 1 <= evse_id <= len(self.sim.connectors)
        return result201.UnlockConnector(status="Unlocked" if ok else "UnknownConnector")

    @on("Reset")
    def on_reset(self, type: str, **_: Any) -> Any:  # noqa: A002
        return result201.Reset(status="Accepted")

    @on("ChangeAvailability")
    def on_change_availability(self, operational_status: str, **_: Any) -> Any:
        return result201.ChangeAvailability(status="Accepted")

    @on("TriggerMessage")
    def on_trigger(
        self, requested_message: str, evse: dict[str, Any] | None = None, **_: Any
    ) -> Any:
        supported = requested_message in {
            "BootNotification",
            "Heartbeat",
            "MeterValues",
            "StatusNotification",
        }
        return result201.TriggerMessage(status="Accepted" if supported else "NotImplemented")

    @after("TriggerMessage")
    def after_trigger(
        self, requested_message: str, evse: dict[str, Any] | None = None, **_: Any
    ) -> None:
        self.sim.triggered(requested_message, (evse or {}).get("id"))
