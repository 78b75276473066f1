"""Monthly bills in Home Assistant: the hub's billing, the issuing schedule and the announcements.

The billing itself is :class:`~.core.Billing` (no Home Assistant). Here:

* :class:`BillingCoordinator` owns it for the hub entry and keeps the figures the sensors show
  (each member's last bill and unpaid total, revenue this and last month per charger, bills
  issued this month), refreshed every 10 minutes and after every issue or payment;
* the schedule: the last month's bills are issued on the hub option's day and time (default the
  1st at 06:00 local, :data:`CONF_BILL_DAY` / :data:`CONF_BILL_TIME`); at start, when that moment
  of this month has passed, the run happens at once (issuing is idempotent: a run missed while
  Home Assistant was down issues exactly the missing bills of every month since the last one
  billed, a repeated one nothing); a run the database failed is tried again after
  :data:`RETRY_DELAYS` (5, 15, 60 minutes, then every hour) until it succeeds;
* each issued bill: a persistent notification (member, period, energy, total, link), the
  member's own notify actions (total and link) and the event ``ev_sessions_bill_issued``
  (member, number, total, link). The link is the bill's page (:mod:`.bill_view`), signed for
  :data:`LINK_VALIDITY` with the key kept in storage (:mod:`.bill_links`: it keeps working after
  restarts) so it opens from a notification; the page itself otherwise requires a login.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from homeassistant.components import persistent_notification
from homeassistant.config_entries import ConfigEntry
from homeassistant.core import HomeAssistant, callback
from homeassistant.helpers.event import async_track_point_in_utc_time
from homeassistant.helpers.translation import async_get_translations
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .bill_links import async_load_signer, link_signer
from .const import DOMAIN, LOGGER
from .core import (
    Bill,
    Billing,
    BillingError,
    MemberBilling,
    Month,
    Revenue,
    StorageError,
)
from .hub import Hub
from .member_notify import async_send

#: Hub options: the day of the month (1-28) and the local time the last month's bills are issued.
CONF_BILL_DAY = "bill_day"
CONF_BILL_TIME = "bill_time"
DEFAULT_BILL_DAY = 1
DEFAULT_BILL_TIME = "06:00"
#: Fired for each issued bill.
EVENT_BILL_ISSUED = f"{DOMAIN}_bill_issued"
#: The pages of bills and household reports (:mod:`.bill_view`).
BILL_PATH = f"/api/{DOMAIN}/bills/{{number}}"
REPORT_PATH = f"/api/{DOMAIN}/reports/{{month}}"
#: How long a link sent in a notification opens the page without logging in again.
LINK_VALIDITY = timedelta(days=60)
#: After a run the database failed, the next tries: these delays, then the last one again.
RETRY_DELAYS = (timedelta(minutes=5), timedelta(minutes=15), timedelta(hours=1))
#: What a link's path ends with for each format but the page.
_ENDINGS = {"csv": "?format=csv", "pdf": ".pdf"}


def bill_schedule(options: dict[str, Any] | Any) -> tuple[int, time]:
    """The configured issuing day (1-28) and local time."""
    day = int(options.get(CONF_BILL_DAY, DEFAULT_BILL_DAY) or DEFAULT_BILL_DAY)
    text = str(options.get(CONF_BILL_TIME) or DEFAULT_BILL_TIME)
    try:
        at = time.fromisoformat(text)
    except ValueError:
        at = time.fromisoformat(DEFAULT_BILL_TIME)
    return min(max(day, 1), 28), at.replace(second=0, microsecond=0)


def run_time(month: Month, day: int, at: time) -> datetime:
    """The local moment in ``month`` the previous month's bills are issued, as UTC."""
    local = datetime.combine(
        month.first_day().replace(day=day), at, dt_util.get_default_time_zone()
    )
    return dt_util.as_utc(local)


def bill_link(hass: HomeAssistant, number: str, fmt: str = "html") -> str:
    """A signed link to a bill's page (or its CSV, or its PDF: ``fmt`` ``csv`` / ``pdf``)."""
    path = BILL_PATH.format(number=number) + _ENDINGS.get(fmt, "")
    return link_signer(hass).sign(path, LINK_VALIDITY)


def report_link(hass: HomeAssistant, month: Month, fmt: str = "html") -> str:
    """A signed link to a month's household report page (or its CSV or PDF)."""
    path = REPORT_PATH.format(month=str(month)) + _ENDINGS.get(fmt, "")
    return link_signer(hass).sign(path, LINK_VALIDITY)


@dataclass(slots=True)
class BillingFigures:
    """What the billing sensors show."""

    members: dict[str, MemberBilling] = field(default_factory=dict)
    revenue_this_month: Revenue | None = None
    revenue_last_month: Revenue | None = None
    issued_this_month: int = 0


class BillingCoordinator(DataUpdateCoordinator[BillingFigures]):
    """The hub's billing: figures for the sensors, the issuing schedule, announcements."""

    def __init__(self, hass: HomeAssistant, entry: ConfigEntry, hub: Hub) -> None:
        """Bill from the hub's database for its members."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} billing",
            update_interval=timedelta(minutes=10),
        )
        self.hub = hub
        self.entry = entry
        self.billing = Billing(
            hub.site.store,
            tz=dt_util.get_default_time_zone(),
            members=lambda: hub.site.directory,
            charger_name=hub.charger_name,
            tariff=lambda: hub.site.pricer.tariff,
            clock=dt_util.utcnow,
        )
        self._unschedule: Callable[[], None] | None = None
        #: The next try of a failed run, and how many runs failed in a row.
        self._unretry: Callable[[], None] | None = None
        self.failed_runs = 0
        self._stopped = False
        #: Issuing runs in progress (awaited at shutdown, before the database closes).
        self._runs: set[asyncio.Task[list[Bill]]] = set()

    async def _async_update_data(self) -> BillingFigures:
        await async_load_signer(self.hass)  # before any link is made (the first refresh)
        running = self.billing.running_month()
        try:
            return BillingFigures(
                members=await self.billing.async_member_figures(),
                revenue_this_month=await self.billing.async_revenue(running),
                revenue_last_month=await self.billing.async_revenue(running.previous()),
                issued_this_month=await self.billing.async_issued_count(running),
            )
        except StorageError as err:
            raise UpdateFailed(str(err)) from err

    # ------------------------------------------------------------------ schedule

    def next_run(self, now: datetime) -> datetime:
        """The next scheduled run after ``now``."""
        day, at = bill_schedule(self.entry.options)
        month = Month.of(now, dt_util.get_default_time_zone())
        moment = run_time(month, day, at)
        return moment if moment > now else run_time(month.next(), day, at)

    @callback
    def async_start(self) -> Callable[[], None]:
        """Schedule the runs; catch up at once when this month's run time has passed."""
        now = dt_util.utcnow()
        day, at = bill_schedule(self.entry.options)
        if run_time(Month.of(now, dt_util.get_default_time_zone()), day, at) <= now:
            self._start_run(f"{DOMAIN} bills catch-up")
        self._schedule(now)
        return self.async_stop

    @callback
    def async_stop(self) -> None:
        """Cancel the next run and the next try of a failed one."""
        self._stopped = True
        if self._unschedule is not None:
            self._unschedule()
            self._unschedule = None
        self._cancel_retry()

    @callback
    def _cancel_retry(self) -> None:
        if self._unretry is not None:
            self._unretry()
            self._unretry = None

    @callback
    def _schedule_retry(self, err: Exception) -> None:
        """Try a failed run again after the next delay of :data:`RETRY_DELAYS` (not once the
        hub is stopping)."""
        self._cancel_retry()
        if self._stopped:
            LOGGER.warning("Could not issue the monthly bills: %s", err)
            return
        delay = RETRY_DELAYS[min(self.failed_runs, len(RETRY_DELAYS)) - 1]

        @callback
        def fire(_moment: datetime) -> None:
            self._unretry = None
            self._start_run(f"{DOMAIN} bills retry")

        self._unretry = async_track_point_in_utc_time(self.hass, fire, dt_util.utcnow() + delay)
        LOGGER.warning("Could not issue the monthly bills (trying again in %s): %s", delay, err)

    @callback
    def _schedule(self, now: datetime) -> None:
        @callback
        def fire(moment: datetime) -> None:
            self._unschedule = None
            self._start_run(f"{DOMAIN} bills")
            self._schedule(moment + timedelta(seconds=1))

        self._unschedule = async_track_point_in_utc_time(self.hass, fire, self.next_run(now))

    @callback
    def _start_run(self, name: str) -> None:
        task = self.entry.async_create_background_task(self.hass, self.async_run(), name)
        self._runs.add(task)
        task.add_done_callback(self._runs.discard)

    async def async_wait_runs(self) -> None:
        """Let issuing runs in progress finish (shutdown: bills issued are also announced)."""
        if runs := list(self._runs):
            await asyncio.gather(*runs, return_exceptions=True)

    async def async_run(self) -> list[Bill]:
        """Issue the missing bills (every month since the last billed) and announce them; when
        the database fails, try again later (:data:`RETRY_DELAYS`)."""
        try:
            bills = await self.billing.async_issue_due()
        except StorageError as err:
            self.failed_runs += 1
            self._schedule_retry(err)
            return []
        except BillingError as err:
            LOGGER.warning("Could not issue the monthly bills: %s", err)
            return []
        self.failed_runs = 0
        self._cancel_retry()
        try:
            await self.async_announce(bills)
            for period in sorted({bill.period for bill in bills}):
                await self.async_notify_report(period)
        except StorageError as err:
            LOGGER.warning("Bills %s issued, but not all announced: %s", _numbers(bills), err)
        return bills

    # ------------------------------------------------------------------ announcements

    async def _strings(self) -> dict[str, str]:
        return await async_get_translations(
            self.hass, self.hass.config.language, "exceptions", {DOMAIN}
        )

    async def async_announce(self, bills: list[Bill]) -> None:
        """A notification, the member's notify actions and an event per issued bill."""
        if not bills:
            return
        strings = await self._strings()
        for bill in bills:
            number = bill.number or ""
            link = bill_link(self.hass, number)
            pdf_link = bill_link(self.hass, number, "pdf")
            values = {
                "member": bill.member_name,
                "number": number,
                "period": str(bill.period),
                "energy_kwh": f"{Decimal(bill.energy_wh) / 1000:.2f}",
                "total": f"{bill.total} {bill.currency}",
                "link": link,
                "pdf_link": pdf_link,
            }
            title = text(strings, "bill_issued_title").format(**values)
            persistent_notification.async_create(
                self.hass,
                text(strings, "bill_issued_message").format(**values),
                title=title,
                notification_id=f"{DOMAIN}_bill_{number}",
            )
            member = self.hub.site.directory.member(bill.member_id)
            for target in member.notify_targets if member is not None else ():
                await async_send(
                    self.hass,
                    target,
                    title,
                    text(strings, "bill_issued_notify").format(**values),
                )
            self.hass.bus.async_fire(
                EVENT_BILL_ISSUED,
                {
                    "member_id": bill.member_id,
                    "member_name": bill.member_name,
                    "number": number,
                    "period": str(bill.period),
                    "total": str(bill.total),
                    "currency": bill.currency,
                    "energy_kwh": float(Decimal(bill.energy_wh) / 1000),
                    "link": link,
                    "pdf_link": pdf_link,
                    "notify_targets": list(member.notify_targets) if member else [],
                },
            )
        await self.async_refresh()

    async def async_notify_report(self, month: Month) -> dict[str, Any]:
        """The household report of ``month`` as a notification; its response form."""
        report = await self.billing.async_household_report(month)
        strings = await self._strings()
        link = report_link(self.hass, month)
        pdf_link = report_link(self.hass, month, "pdf")
        lines = [
            f"- {row.member_name or text(strings, 'report_unattributed')}: "
            f"{Decimal(row.energy_wh) / 1000:.2f} kWh, {row.cost} {report.currency}"
            f" ({row.energy_share} %)"
            for row in report.members
        ]
        values = {
            "period": str(month),
            "energy_kwh": f"{Decimal(report.energy_wh) / 1000:.2f}",
            "total": f"{report.cost} {report.currency}",
            "link": link,
            "pdf_link": pdf_link,
        }
        persistent_notification.async_create(
            self.hass,
            "\n".join([text(strings, "household_report_message").format(**values), "", *lines]),
            title=text(strings, "household_report_title").format(**values),
            notification_id=f"{DOMAIN}_household_{month}",
        )
        return {**report.to_dict(), "link": link, "pdf_link": pdf_link}


def _numbers(bills: list[Bill]) -> str:
    return ", ".join(bill.number or "?" for bill in bills)


def text(strings: dict[str, str], key: str) -> str:
    """A translated runtime text (kept in the ``exceptions`` category)."""
    return strings.get(f"component.{DOMAIN}.exceptions.{key}.message", key)


__all__ = [
    "BILL_PATH",
    "CONF_BILL_DAY",
    "CONF_BILL_TIME",
    "EVENT_BILL_ISSUED",
    "REPORT_PATH",
    "RETRY_DELAYS",
    "BillingCoordinator",
    "BillingFigures",
    "bill_link",
    "bill_schedule",
    "report_link",
    "run_time",
    "text",
]
