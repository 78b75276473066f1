"""Authenticated HTTP views: a bill's printable page (or CSV) and a month's household report.

``/api/ev_sessions/bills/<number>`` and ``/api/ev_sessions/reports/<YYYY-MM>`` answer requests
with a link signed by :mod:`.bill_links` as sent in the notifications (that page only, valid for
60 days, across restarts) and logged-in users (a bearer token or HA's own signed path):
administrators see every bill and report, other users only the bills of their own members
(:mod:`.bill_access`: 403 for the rest); anything else gets 401. Nothing is put under the
public ``www/`` folder. ``?format=csv`` gives the CSV, ``?format=pdf`` (or the path ending in
``.pdf``) the PDF, made in a worker thread. The HTML page links to its PDF with a signed link.
"""

from __future__ import annotations

from http import HTTPStatus

from aiohttp import web
from homeassistant.components.http.const import KEY_HASS_USER
from homeassistant.core import HomeAssistant
from homeassistant.helpers.http import KEY_AUTHENTICATED, KEY_HASS, HomeAssistantView
from homeassistant.helpers.translation import async_get_translations
from homeassistant.util import dt as dt_util

from .bill_access import members_of_user
from .bill_links import async_load_signer
from .bill_pdf import bill_pdf, report_pdf
from .bill_report import LABELS, bill_csv, render_bill, render_report, report_csv
from .billing_glue import BillingCoordinator, bill_link, report_link
from .const import DOMAIN
from .core import BillingError, Month, StorageError, UnknownBillError
from .setup_charger import loaded_hub_runtime


async def async_labels(hass: HomeAssistant) -> dict[str, str]:
    """The pages' labels in the configured language."""
    strings = await async_get_translations(hass, hass.config.language, "exceptions", {DOMAIN})
    prefix = f"component.{DOMAIN}.exceptions.report_"
    return {key: strings.get(f"{prefix}{key}.message", key) for key in LABELS}


def _billing(hass: HomeAssistant) -> BillingCoordinator | None:
    runtime = loaded_hub_runtime(hass)
    return None if runtime is None else runtime.billing


def _requested(request: web.Request, name: str) -> tuple[str, str]:
    """The name without a ``.pdf`` / ``.csv`` ending and the format asked for (``html``,
    ``csv`` or ``pdf``: the ending or ``?format=``)."""
    for fmt in ("pdf", "csv"):
        if name.endswith(f".{fmt}"):
            return name.removesuffix(f".{fmt}"), fmt
    fmt = request.query.get("format", "html")
    return name, fmt if fmt in ("csv", "pdf") else "html"


async def _check_access(request: web.Request, billing: BillingCoordinator) -> set[str] | None:
    """``None`` for a valid signed link or an administrator (the page may be shown), else the
    ids of the logged-in user's own members; 401 for a request that is neither."""
    hass = request.app[KEY_HASS]
    signer = await async_load_signer(hass)
    if signer.valid(request.path, request.query.items()):
        return None
    user = request.get(KEY_HASS_USER)
    if not request.get(KEY_AUTHENTICATED, False) or user is None:
        raise web.HTTPUnauthorized
    if user.is_admin:
        return None
    return members_of_user(hass, billing.hub.site.directory, user)


async def _check_access_without_hub(request: web.Request) -> None:
    """While the hub is not loaded: 401 unless logged in or signed (then 503 follows)."""
    signer = await async_load_signer(request.app[KEY_HASS])
    if not request.get(KEY_AUTHENTICATED, False) and not signer.valid(
        request.path, request.query.items()
    ):
        raise web.HTTPUnauthorized


def _pdf(body: bytes, name: str) -> web.Response:
    return web.Response(
        body=body,
        content_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{name}.pdf"'},
    )


def _page(body: str, fmt: str, name: str) -> web.Response:
    if fmt == "csv":
        return web.Response(
            text=body,
            content_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
        )
    return web.Response(text=body, content_type="text/html")


class BillView(HomeAssistantView):
    """One issued bill: HTML (default), CSV or PDF."""

    url = "/api/ev_sessions/bills/{number}"
    name = "api:ev_sessions:bill"
    requires_auth = False  # checked here: a login, or a signed link (see _check_access)

    async def get(self, request: web.Request, number: str) -> web.Response:
        """The bill page."""
        number, fmt = _requested(request, number)
        hass = request.app[KEY_HASS]
        billing = _billing(hass)
        if billing is None:
            await _check_access_without_hub(request)
            return web.Response(status=HTTPStatus.SERVICE_UNAVAILABLE)
        viewer = await _check_access(request, billing)
        try:
            bill = await billing.billing.async_bill(number)
        except UnknownBillError:
            return web.Response(status=HTTPStatus.NOT_FOUND)
        except StorageError:
            return web.Response(status=HTTPStatus.SERVICE_UNAVAILABLE)
        if viewer is not None and bill.member_id not in viewer:
            raise web.HTTPForbidden
        tz = dt_util.get_default_time_zone()
        if fmt == "csv":
            return _page(bill_csv(bill, tz), "csv", f"bill-{number}")
        labels = await async_labels(hass)
        if fmt == "pdf":
            return _pdf(await hass.async_add_executor_job(bill_pdf, bill, labels, tz), number)
        page = render_bill(
            bill, labels, tz, hass.config.language, pdf_href=bill_link(hass, number, "pdf")
        )
        return _page(page, "html", number)


class ReportView(HomeAssistantView):
    """A month's household report: HTML (default), CSV or PDF."""

    url = "/api/ev_sessions/reports/{month}"
    name = "api:ev_sessions:report"
    requires_auth = False  # checked here: a login, or a signed link (see _check_access)

    async def get(self, request: web.Request, month: str) -> web.Response:
        """The report page (every member's figures: administrators and signed links only)."""
        month, fmt = _requested(request, month)
        hass = request.app[KEY_HASS]
        billing = _billing(hass)
        if billing is None:
            await _check_access_without_hub(request)
            return web.Response(status=HTTPStatus.SERVICE_UNAVAILABLE)
        if await _check_access(request, billing) is not None:
            raise web.HTTPForbidden
        try:
            period = Month.parse(month)
            report = await billing.billing.async_household_report(period)
        except BillingError:
            return web.Response(status=HTTPStatus.NOT_FOUND)
        except StorageError:
            return web.Response(status=HTTPStatus.SERVICE_UNAVAILABLE)
        if fmt == "csv":
            return _page(report_csv(report), "csv", f"household-{month}")
        labels = await async_labels(hass)
        if fmt == "pdf":
            body = await hass.async_add_executor_job(report_pdf, report, labels)
            return _pdf(body, f"household-{month}")
        page = render_report(
            report, labels, hass.config.language, pdf_href=report_link(hass, period, "pdf")
        )
        return _page(page, "html", month)


def async_register_views(hass: HomeAssistant) -> None:
    """Register the bill and report pages (once, at integration setup)."""
    hass.http.register_view(BillView())
    hass.http.register_view(ReportView())
