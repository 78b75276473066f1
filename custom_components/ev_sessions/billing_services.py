"""Actions of the monthly bills, all with response data.

``generate_bill`` (a member's month: a preview, or issue it), ``list_bills``, ``get_bill``,
``household_report`` (optionally as a notification too), ``mark_bill_paid`` and
``check_bills`` (a month's invariants: billed energy = metered energy, bill totals = session
costs plus corrections). A bill in a response carries links to its page, CSV and PDF.

``generate_bill``, ``mark_bill_paid``, ``household_report`` and ``check_bills`` are for
administrators; ``list_bills`` and ``get_bill`` answer other users with their own members'
bills only (:mod:`.bill_access`).
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
import functools
from typing import Any

from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv, device_registry as dr
from homeassistant.helpers.service import async_register_admin_service
import probatio as vol

from .bill_access import async_bill_viewer, check_bill_member
from .bill_view import async_register_views
from .billing_glue import BillingCoordinator, bill_link, report_link
from .const import DOMAIN
from .core import Bill, BillingError, Month, MonthNotOverError, StorageError, UnknownBillError
from .devices import member_id_of
from .members import member_by_id_or_name
from .setup_charger import loaded_hub_runtime

ATTR_MEMBER = "member"
ATTR_MONTH = "month"
ATTR_ISSUE = "issue"
ATTR_NUMBER = "number"
ATTR_YEAR = "year"
ATTR_UNPAID = "unpaid"
ATTR_PAID = "paid"
ATTR_NOTIFY = "notify"
ATTR_LIMIT = "limit"

_MONTH = vol.All(cv.string, vol.Match(r"^\s*\d{4}-\d{1,2}(-\d{1,2})?\s*$"))
_GENERATE_SCHEMA = vol.Schema(
    {
        vol.Required(ATTR_MEMBER): cv.string,
        vol.Optional(ATTR_MONTH): _MONTH,
        vol.Optional(ATTR_ISSUE, default=False): cv.boolean,
    }
)
_LIST_SCHEMA = vol.Schema(
    {
        vol.Optional(ATTR_MEMBER): cv.string,
        vol.Optional(ATTR_MONTH): _MONTH,
        vol.Optional(ATTR_YEAR): vol.All(vol.Coerce(int), vol.Range(min=2000, max=9999)),
        vol.Optional(ATTR_UNPAID, default=False): cv.boolean,
        vol.Optional(ATTR_LIMIT, default=100): vol.All(
            vol.Coerce(int), vol.Range(min=1, max=10000)
        ),
    }
)
_NUMBER_SCHEMA = vol.Schema({vol.Required(ATTR_NUMBER): cv.string})
_PAID_SCHEMA = vol.Schema(
    {vol.Required(ATTR_NUMBER): cv.string, vol.Optional(ATTR_PAID, default=True): cv.boolean}
)
_REPORT_SCHEMA = vol.Schema(
    {vol.Optional(ATTR_MONTH): _MONTH, vol.Optional(ATTR_NOTIFY, default=False): cv.boolean}
)
_CHECK_SCHEMA = vol.Schema({vol.Optional(ATTR_MONTH): _MONTH})


def _coordinator(hass: HomeAssistant) -> BillingCoordinator:
    runtime = loaded_hub_runtime(hass)
    if runtime is None or runtime.billing is None:
        raise ServiceValidationError(translation_domain=DOMAIN, translation_key="hub_not_loaded")
    return runtime.billing


def _member_id(hass: HomeAssistant, coordinator: BillingCoordinator, value: str) -> str:
    """A member's device id (the action's selector), id or name, as the member id."""
    device = dr.async_get(hass).async_get(value)
    if device is not None:
        value = next((m for i in device.identifiers if (m := member_id_of(i))), value)
    member = member_by_id_or_name(coordinator.hub.site.directory, value)
    if member is None:
        raise ServiceValidationError(
            translation_domain=DOMAIN,
            translation_key="unknown_member",
            translation_placeholders={"member": value},
        )
    return member.id


def _month(coordinator: BillingCoordinator, call: ServiceCall, default_previous: bool) -> Month:
    text = call.data.get(ATTR_MONTH)
    if text:
        return Month.parse(text)
    running = coordinator.billing.running_month()
    return running.previous() if default_previous else running


def bill_response(hass: HomeAssistant, bill: Bill) -> dict[str, Any]:
    """A bill as response data, with links to its page, CSV and PDF when issued."""
    data = bill.to_dict()
    if bill.number is not None:
        data["link"] = bill_link(hass, bill.number)
        data["csv_link"] = bill_link(hass, bill.number, "csv")
        data["pdf_link"] = bill_link(hass, bill.number, "pdf")
    return data


def _summary(hass: HomeAssistant, bill: Bill) -> dict[str, Any]:
    return {
        "number": bill.number,
        "member_id": bill.member_id,
        "member_name": bill.member_name,
        "period": str(bill.period),
        "issued_at": None if bill.issued_at is None else bill.issued_at.isoformat(),
        "status": bill.status,
        "energy_kwh": bill.energy_wh / 1000,
        "total": str(bill.total),
        "currency": bill.currency,
        "link": bill_link(hass, bill.number or ""),
    }


def _errors(
    handler: Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]],
) -> Callable[[ServiceCall], Coroutine[Any, Any, ServiceResponse]]:
    """Billing and storage faults as translated errors."""

    @functools.wraps(handler)
    async def wrapper(call: ServiceCall) -> ServiceResponse:
        try:
            return await handler(call)
        except UnknownBillError as err:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="unknown_bill",
                translation_placeholders={"number": str(err)},
            ) from err
        except MonthNotOverError as err:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="month_not_over",
                translation_placeholders={"month": call.data.get(ATTR_MONTH) or ""},
            ) from err
        except BillingError as err:
            raise ServiceValidationError(
                translation_domain=DOMAIN,
                translation_key="billing_error",
                translation_placeholders={"error": str(err)},
            ) from err
        except StorageError as err:
            raise HomeAssistantError(
                translation_domain=DOMAIN,
                translation_key="storage_error",
                translation_placeholders={"error": str(err)},
            ) from err

    return wrapper


async def _generate_bill(call: ServiceCall) -> ServiceResponse:
    coordinator = _coordinator(call.hass)
    member_id = _member_id(call.hass, coordinator, call.data[ATTR_MEMBER])
    issue = call.data[ATTR_ISSUE]
    month = _month(coordinator, call, default_previous=issue)
    if issue:
        issued = await coordinator.billing.async_issue(month, member_id=member_id)
        await coordinator.async_announce(issued)
    bill = await coordinator.billing.async_preview(member_id, month)
    return bill_response(call.hass, bill)


async def _list_bills(call: ServiceCall) -> ServiceResponse:
    coordinator = _coordinator(call.hass)
    viewer = await async_bill_viewer(call.hass, coordinator.hub.site.directory, call.context)
    member = call.data.get(ATTR_MEMBER)
    month = call.data.get(ATTR_MONTH)
    member_id = _member_id(call.hass, coordinator, member) if member else None
    if member_id is not None:
        check_bill_member(viewer, member_id, call.context)
    limit = call.data[ATTR_LIMIT]
    bills: list[Bill] = []
    for wanted in [member_id] if viewer is None or member_id else sorted(viewer):
        bills += await coordinator.billing.async_bills(
            member_id=wanted,
            period=Month.parse(month) if month else None,
            year=call.data.get(ATTR_YEAR),
            unpaid=call.data[ATTR_UNPAID],
            limit=limit,
        )
    bills = sorted(bills, key=lambda bill: -(bill.id or 0))[:limit]  # newest first
    return {"bills": [_summary(call.hass, bill) for bill in bills], "count": len(bills)}


async def _get_bill(call: ServiceCall) -> ServiceResponse:
    coordinator = _coordinator(call.hass)
    viewer = await async_bill_viewer(call.hass, coordinator.hub.site.directory, call.context)
    bill = await coordinator.billing.async_bill(call.data[ATTR_NUMBER])
    check_bill_member(viewer, bill.member_id, call.context)
    return bill_response(call.hass, bill)


async def _mark_bill_paid(call: ServiceCall) -> ServiceResponse:
    coordinator = _coordinator(call.hass)
    bill = await coordinator.billing.async_mark_paid(
        call.data[ATTR_NUMBER], paid=call.data[ATTR_PAID]
    )
    await coordinator.async_refresh()
    return _summary(call.hass, bill)


async def _household_report(call: ServiceCall) -> ServiceResponse:
    coordinator = _coordinator(call.hass)
    month = _month(coordinator, call, default_previous=True)
    if call.data[ATTR_NOTIFY]:
        return await coordinator.async_notify_report(month)
    report = await coordinator.billing.async_household_report(month)
    return {
        **report.to_dict(),
        "link": report_link(call.hass, month),
        "pdf_link": report_link(call.hass, month, "pdf"),
    }


async def _check_bills(call: ServiceCall) -> ServiceResponse:
    coordinator = _coordinator(call.hass)
    month = _month(coordinator, call, default_previous=True)
    return (await coordinator.billing.async_reconcile(month)).to_dict()


def async_setup_billing_services(hass: HomeAssistant) -> None:
    """Register the billing actions and the bill and report pages."""
    register = functools.partial(hass.services.async_register, DOMAIN)
    admin = functools.partial(async_register_admin_service, hass, DOMAIN)
    only = SupportsResponse.ONLY
    admin("generate_bill", _errors(_generate_bill), _GENERATE_SCHEMA, only)
    register("list_bills", _errors(_list_bills), _LIST_SCHEMA, only)
    register("get_bill", _errors(_get_bill), _NUMBER_SCHEMA, only)
    admin("mark_bill_paid", _errors(_mark_bill_paid), _PAID_SCHEMA, SupportsResponse.OPTIONAL)
    admin("household_report", _errors(_household_report), _REPORT_SCHEMA, only)
    admin("check_bills", _errors(_check_bills), _CHECK_SCHEMA, only)
    if hasattr(hass, "http") and hass.http is not None:
        async_register_views(hass)
