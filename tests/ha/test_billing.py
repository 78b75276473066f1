"""Monthly bills in Home Assistant (issue 15): the missed run after a restart issues the bills,
each is announced (notification, the member's notify action, event), the actions answer, the
sensors show them, the pages need a login, and the blueprint sends the bill to the member."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path
import re
import shutil
from typing import Any
import zlib

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components import persistent_notification
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import entity_registry as er
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_capture_events,
    async_mock_service,
)
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.ev_sessions.bill_pdf import bill_pdf, report_pdf
from custom_components.ev_sessions.bill_report import LABELS
from custom_components.ev_sessions.billing_glue import EVENT_BILL_ISSUED
from custom_components.ev_sessions.const import (
    DOMAIN,
)
from custom_components.ev_sessions.core import (
    AuditLog,
    EngineSettings,
    Month,
    SessionEngine,
    SessionStore,
    async_reattribute,
)
from tests.core.billing_fixtures import TARIFF_SPOT, TZ, Clock, Household, local, november

from .conftest import add_hub_entry
from .helpers import entity_id, ocpp_charger_entry, state_of

BLUEPRINT = (
    Path(__file__).parents[2]
    / "blueprints"
    / "automation"
    / "ev_sessions"
    / "notify_bill_issued.yaml"
)
MEMBERS = [
    {"id": "anna", "name": "Anna", "notify_targets": ["notify.anna_phone"]},
    {"id": "gus", "name": "Gus", "tariff_group": "guest"},
]


@pytest.fixture
async def hub_entry(
    hass: HomeAssistant, hub_port: int, tmp_path: Any, freezer: FrozenDateTimeFactory
) -> MockConfigEntry:
    """A Stockholm hub on 1 December 2026 at 07:00, after the bills' time (06:00)."""
    await hass.config.async_set_time_zone("Europe/Stockholm")
    freezer.move_to(local(2026, 12, 1, 7))
    return add_hub_entry(hass, hub_port, tmp_path, MEMBERS)


class _Cells(HTMLParser):
    """The text of every element with an id."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, str] = {}
        self._open: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._open.append(dict(attrs).get("id"))

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for key in self._open:
            if key:
                self.by_id[key] = (self.by_id.get(key, "") + data).strip()


def parse(html: str) -> dict[str, str]:
    """Texts by element id."""
    cells = _Cells()
    cells.feed(html)
    return cells.by_id


class _Links(HTMLParser):
    """The href of every link by its id."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag == "a" and found.get("id") and found.get("href"):
            self.by_id[str(found["id"])] = str(found["href"])


def links(html: str) -> dict[str, str]:
    """Link targets by element id."""
    found = _Links()
    found.feed(html)
    return found.by_id


def pdf_text(data: bytes) -> str:
    """The text a PDF shows: every string of its (Flate-compressed or plain) content streams'
    text operators, one per line (enough for documents of PDF core fonts)."""
    assert data.startswith(b"%PDF-")
    texts: list[str] = []
    for stream in re.findall(rb"stream\r?\n(.*?)\r?\nendstream", data, re.S):
        try:
            content = zlib.decompress(stream)
        except zlib.error:
            content = stream
        for literal in re.findall(rb"\(((?:[^\\()]|\\.)*)\)\s*Tj", content):
            text = re.sub(rb"\\(.)", rb"\1", literal)
            texts.append(text.decode("cp1252"))
    return "\n".join(texts)


async def test_bills_issued_after_a_restart_announced_served_and_paid(
    hass: HomeAssistant,
    hub: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """November's sessions are stored; the hub restarts after the issuing time, so the missed
    run issues the bills at once: notification, the member's notify action, the event, the
    sensors; the pages answer logged-in users only; the actions reconcile and mark paid."""
    phone = async_mock_service(hass, "notify", "anna_phone")
    issued = async_capture_events(hass, EVENT_BILL_ISSUED)
    house = Household(hub.runtime_data.hub.site.store, Clock())
    await house.add("s-a1", "anna", local(2026, 11, 3, 18), local(2026, 11, 3, 22), 7_400)
    await house.add("s-a2", "anna", local(2026, 11, 30, 23), local(2026, 12, 1, 1), 2_000)
    await house.add("s-g1", "gus", local(2026, 11, 12, 9), local(2026, 11, 12, 11), 5_555)

    await hass.config_entries.async_reload(hub.entry_id)
    await hass.async_block_till_done()
    assert hub.state is ConfigEntryState.LOADED
    await hass.async_block_till_done(wait_background_tasks=True)
    billing = hub.runtime_data.billing
    assert billing is not None
    assert len(issued) == 2
    await hass.async_block_till_done()

    by_member = {event.data["member_id"]: event.data for event in issued}
    anna = by_member["anna"]
    assert anna["number"] == "2026-0001"
    assert anna["period"] == "2026-11"
    assert anna["total"] == str(house.costs["s-a1"].total)  # s-a2 ended in December
    assert anna["link"].startswith("/api/ev_sessions/bills/2026-0001?expires=")
    assert by_member["gus"]["number"] == "2026-0002"
    assert len(phone) == 1
    assert "2026-0001" in phone[0].data["message"]
    assert state_of(hass, "sensor", "member_anna_last_bill_number") == "2026-0001"
    assert state_of(hass, "sensor", "member_gus_outstanding_amount") == str(
        house.costs["s-g1"].total
    )
    assert state_of(hass, "sensor", "site_revenue_last_month") == str(house.costs["s-g1"].total)
    assert state_of(hass, "sensor", "site_bills_issued_this_month") == "2"

    # The page: refused without a login, served with one, parsed with the totals.
    anonymous = await hass_client_no_auth()
    assert (await anonymous.get("/api/ev_sessions/bills/2026-0001")).status == 401
    assert (await anonymous.get("/api/ev_sessions/reports/2026-11")).status == 401
    signed = await anonymous.get(anna["link"])  # the signed link of the notification
    assert signed.status == 200
    client = await hass_client()
    page = await client.get("/api/ev_sessions/bills/2026-0001")
    assert page.status == 200
    cells = parse(await page.text())
    assert cells["member"] == "Anna"
    assert cells["total"] == f"{house.costs['s-a1'].total} SEK"
    assert cells["total-energy"] == "7.400"
    assert "not-issued" not in cells
    csv_page = await client.get("/api/ev_sessions/bills/2026-0001?format=csv")
    rows = (await csv_page.text()).splitlines()
    assert rows[0].startswith("number,kind,date,session_id")
    assert "s-a1" in rows[1]
    assert (await client.get("/api/ev_sessions/bills/2099-0001")).status == 404
    report = parse(await (await client.get("/api/ev_sessions/reports/2026-11")).text())
    total = house.costs["s-a1"].total + house.costs["s-g1"].total
    assert report["total"] == f"{total} SEK"
    assert report["total-energy"] == "12.955"

    # Actions.
    listed = await hass.services.async_call(
        DOMAIN, "list_bills", {"unpaid": True}, blocking=True, return_response=True
    )
    assert [b["number"] for b in listed["bills"]] == ["2026-0002", "2026-0001"]
    bill = await hass.services.async_call(
        DOMAIN, "get_bill", {"number": "2026-0002"}, blocking=True, return_response=True
    )
    assert bill["member_name"] == "Gus"
    assert bill["lines"][0]["session_id"] == "s-g1"
    assert bill["group"] == "guest"
    assert bill["paying"] is True
    check = await hass.services.async_call(
        DOMAIN, "check_bills", {"month": "2026-11"}, blocking=True, return_response=True
    )
    assert check["ok"] is True
    assert check["billed_wh"] == 7_400 + 5_555
    household = await hass.services.async_call(
        DOMAIN,
        "household_report",
        {"month": "2026-11", "notify": True},
        blocking=True,
        return_response=True,
    )
    assert household["energy_wh"] == 12_955
    assert household["cost"] == str(total)
    preview = await hass.services.async_call(
        DOMAIN, "generate_bill", {"member": "Anna"}, blocking=True, return_response=True
    )
    assert preview["status"] == "preview"
    assert preview["number"] is None
    assert [line["session_id"] for line in preview["lines"]] == ["s-a2"]
    paid = await hass.services.async_call(
        DOMAIN, "mark_bill_paid", {"number": "2026-0002"}, blocking=True, return_response=True
    )
    assert paid["status"] == "paid"
    await hass.async_block_till_done()
    assert state_of(hass, "sensor", "member_gus_outstanding_amount") == "0"
    # Issuing again (a second restart) issues nothing.
    await hass.config_entries.async_reload(hub.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(issued) == 2


async def test_blueprint_sends_the_bill_to_the_members_notify_actions(
    hass: HomeAssistant, tmp_path: Path
) -> None:
    """The blueprint sends the issued bill to the member's own notify actions and the copy."""
    hass.config.config_dir = str(tmp_path)
    target = tmp_path / "blueprints" / "automation" / "ev_sessions"
    target.mkdir(parents=True)
    shutil.copy(BLUEPRINT, target / BLUEPRINT.name)
    anna = async_mock_service(hass, "notify", "anna_phone")
    treasurer = async_mock_service(hass, "notify", "treasurer")
    assert await async_setup_component(
        hass,
        "automation",
        {
            "automation": {
                "use_blueprint": {
                    "path": f"ev_sessions/{BLUEPRINT.name}",
                    "input": {"copy_to": "notify.treasurer"},
                }
            }
        },
    )
    hass.bus.async_fire(
        EVENT_BILL_ISSUED,
        {
            "member_id": "anna",
            "member_name": "Anna",
            "number": "2027-0001",
            "period": "2026-12",
            "total": "123.45",
            "currency": "SEK",
            "energy_kwh": 45.6,
            "link": "/api/ev_sessions/bills/2027-0001?authSig=x",
            "pdf_link": "/api/ev_sessions/bills/2027-0001.pdf?authSig=y",
            "notify_targets": ["notify.anna_phone"],
        },
    )
    await hass.async_block_till_done()
    assert len(anna) == 1
    assert len(treasurer) == 1
    assert anna[0].data["title"] == "Charging bill 2027-0001"
    assert "total 123.45 SEK" in anna[0].data["message"]
    assert "/api/ev_sessions/bills/2027-0001?authSig=x" in anna[0].data["message"]
    assert "PDF: /api/ev_sessions/bills/2027-0001.pdf?authSig=y" in anna[0].data["message"]


async def test_bill_and_report_pdfs_need_a_login_and_show_the_bill(
    hass: HomeAssistant,
    hub: MockConfigEntry,
    hass_client: ClientSessionGenerator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    """Each issued bill and the household report come as PDF from the same authenticated
    views (``.pdf`` or ``?format=pdf``), linked from the page, the notification and the event;
    the PDF shows the number, member, period, session lines, totals, VAT and the estimated
    mark."""
    issued = async_capture_events(hass, EVENT_BILL_ISSUED)
    house = Household(hub.runtime_data.hub.site.store, Clock())
    await house.add("s-a1", "anna", local(2026, 11, 3, 18), local(2026, 11, 3, 22), 7_400)
    await house.add(
        "s-a2", "anna", local(2026, 11, 14, 20), local(2026, 11, 14, 23), 4_321, tariff=TARIFF_SPOT
    )
    await house.add("s-g1", "gus", local(2026, 11, 12, 9), local(2026, 11, 12, 11), 5_555)
    await hass.config_entries.async_reload(hub.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert len(issued) == 2
    anna = {event.data["member_id"]: event.data for event in issued}["anna"]
    assert anna["pdf_link"].startswith("/api/ev_sessions/bills/2026-0001.pdf?expires=")
    notifications = hass.data[persistent_notification.DOMAIN]
    message = notifications["ev_sessions_bill_2026-0001"]["message"]
    assert "/api/ev_sessions/bills/2026-0001.pdf?expires=" in message

    anonymous = await hass_client_no_auth()
    for path in (
        "/api/ev_sessions/bills/2026-0001.pdf",
        "/api/ev_sessions/bills/2026-0001?format=pdf",
        "/api/ev_sessions/reports/2026-11.pdf",
    ):
        assert (await anonymous.get(path)).status == 401, path
    signed = await anonymous.get(anna["pdf_link"])  # the notification's signed link
    assert signed.status == 200
    assert (await signed.read()).startswith(b"%PDF")

    client = await hass_client()
    total = house.costs["s-a1"].total + house.costs["s-a2"].total
    vat = house.costs["s-a1"].vat + house.costs["s-a2"].vat
    for path in (
        "/api/ev_sessions/bills/2026-0001.pdf",
        "/api/ev_sessions/bills/2026-0001?format=pdf",
    ):
        answer = await client.get(path)
        assert answer.status == 200
        assert answer.content_type == "application/pdf"
        body = await answer.read()
        assert body.startswith(b"%PDF")
    text = pdf_text(body)
    assert "Charging bill 2026-0001" in text
    assert "Anna" in text
    assert "2026-11" in text
    lines = text.splitlines()
    # The session lines, in local time (a time wraps under its date in the narrow column).
    assert lines[lines.index("2026-11-03") + 1 : lines.index("2026-11-03") + 3] == [
        "cp-1",  # no charger of that id in this hub: its id
        "2026-11-03",
    ]
    assert "18:00" in lines
    assert f"{house.costs['s-a1'].total}" in text.splitlines()
    assert f"{house.costs['s-a2'].total} *" in text.splitlines()  # estimated, marked
    assert f"{total} SEK" in text.splitlines()
    assert f"{vat} SEK" in text.splitlines()
    assert "7.400" in lines
    assert "11.721" in lines
    assert (await client.get("/api/ev_sessions/bills/2099-0001.pdf")).status == 404

    # The page links to its PDF with a link that opens without the page's login.
    page = await (await client.get("/api/ev_sessions/bills/2026-0001")).text()
    pdf_href = links(page)["pdf"]
    assert pdf_href.startswith("/api/ev_sessions/bills/2026-0001.pdf?expires=")
    assert (await (await anonymous.get(pdf_href)).read()).startswith(b"%PDF")

    report = await client.get("/api/ev_sessions/reports/2026-11.pdf")
    assert report.content_type == "application/pdf"
    report_text = pdf_text(await report.read())
    assert report_text.startswith("Household charging report 2026-11")
    assert f"{total + house.costs['s-g1'].total} SEK" in report_text.splitlines()
    report_page = await (await client.get("/api/ev_sessions/reports/2026-11")).text()
    assert links(report_page)["pdf"].startswith("/api/ev_sessions/reports/2026-11.pdf?expires=")
    response = await hass.services.async_call(
        DOMAIN, "get_bill", {"number": "2026-0001"}, blocking=True, return_response=True
    )
    assert response["pdf_link"].startswith("/api/ev_sessions/bills/2026-0001.pdf?expires=")


async def test_pdf_shows_corrections_reimbursement_guest_tariff_and_preview(
    tmp_path: Path,
) -> None:
    """Every kind of line of a bill is in its PDF: the company car's reimbursable amount, the
    guest tariff, corrections with their reason, and a preview is marked not issued."""
    store = SessionStore(f"sqlite:///{tmp_path / 'ev.db'}")
    await store.async_open()
    house = Household(store, Clock())
    await november(house)
    labels = {key: key.replace("_", " ") for key in LABELS}
    try:
        billing = house.billing()
        bills = {bill.member_id: bill for bill in await billing.async_issue(Month(2026, 11))}
        for bill in bills.values():
            text = pdf_text(bill_pdf(bill, labels, TZ))
            assert f"bill {bill.number}" in text
            assert f"{bill.total} {bill.currency}" in text.splitlines()
        carl = pdf_text(bill_pdf(bills["carl"], labels, TZ))
        assert f"{bills['carl'].claimable} SEK" in carl.splitlines()
        assert "reimbursable" in carl
        gus = pdf_text(bill_pdf(bills["gus"], labels, TZ))
        assert "guest (markup, +0.50 SEK/kWh)" in gus

        engine = SessionEngine(store, clock=house.clock, settings=EngineSettings())
        await engine.async_start()
        audit = AuditLog(store)
        try:
            await async_reattribute(
                engine, audit, "s-b1", "anna", by_user="admin", at=local(2026, 12, 5, 12)
            )
            await audit.async_flush()
            await engine.async_flush()
        finally:
            await engine.async_stop()
        await store.async_open()
        preview = await billing.async_preview("ben", Month(2026, 12))
        text = pdf_text(bill_pdf(preview, labels, TZ))
        assert "not issued" in text
        assert "s-b1: re-attributed from Ben to Anna on 2026-12-05" in text
        assert f"{preview.total} SEK" in text.splitlines()
        report = await billing.async_household_report(Month(2026, 11))
        assert f"{report.cost} SEK" in pdf_text(report_pdf(report, labels)).splitlines()
    finally:
        await store.async_close()


async def test_shared_chargers_show_their_revenue_this_and_last_month(
    hass: HomeAssistant, hub: MockConfigEntry
) -> None:
    """A charger where a guest charged gets revenue sensors (this and last month, its part of
    the site's revenue); one only the household used gets none until a guest charges there;
    once made they stay after a restart."""
    garage, driveway = ocpp_charger_entry(hass, "cp-1"), ocpp_charger_entry(hass, "cp-2")
    house = Household(hub.runtime_data.hub.site.store, Clock())
    await house.add("s-g1", "gus", local(2026, 11, 12, 9), local(2026, 11, 12, 11), 5_555)
    await house.add("s-g2", "gus", local(2026, 11, 20, 9), local(2026, 11, 20, 10), 2_000)
    await house.add(
        "s-a1", "anna", local(2026, 11, 3, 18), local(2026, 11, 3, 22), 7_400, charger="cp-2"
    )
    await hass.config_entries.async_reload(hub.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    for entry in (garage, driveway):
        if entry.state is not ConfigEntryState.LOADED:
            assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()

    gus_november = house.costs["s-g1"].total + house.costs["s-g2"].total
    assert state_of(hass, "sensor", "charger_cp-1_revenue_last_month") == str(gus_november)
    assert state_of(hass, "sensor", "charger_cp-1_revenue_this_month") == "0"
    assert state_of(hass, "sensor", "site_revenue_last_month") == str(gus_november)
    last_month = hass.states.get(entity_id(hass, "sensor", "charger_cp-1_revenue_last_month"))
    assert last_month is not None
    assert last_month.attributes["unit_of_measurement"] == "SEK"
    assert last_month.attributes["period"] == "2026-11"
    assert last_month.name == "cp-1 Revenue last month"
    registry = er.async_get(hass)
    assert registry.async_get_entity_id("sensor", DOMAIN, "charger_cp-2_revenue_this_month") is None

    # A guest charges on the driveway this month: its sensors appear with the next figures.
    house.store = hub.runtime_data.hub.site.store  # the reloaded hub's
    await house.add(
        "s-g3", "gus", local(2026, 12, 1, 6), local(2026, 12, 1, 6, 50), 1_500, charger="cp-2"
    )
    billing = hub.runtime_data.billing
    assert billing is not None
    await billing.async_refresh()
    await hass.async_block_till_done()
    assert state_of(hass, "sensor", "charger_cp-2_revenue_this_month") == str(
        house.costs["s-g3"].total
    )
    assert state_of(hass, "sensor", "charger_cp-2_revenue_last_month") == "0"
    assert state_of(hass, "sensor", "charger_cp-1_revenue_this_month") == "0"
    device = registry.async_get(
        registry.async_get_entity_id("sensor", DOMAIN, "charger_cp-2_revenue_this_month") or ""
    )
    assert device is not None
    assert device.config_entry_id == driveway.entry_id

    # After a restart both chargers keep them.
    await hass.config_entries.async_reload(hub.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    for entry in (garage, driveway):
        if entry.state is not ConfigEntryState.LOADED:
            assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert state_of(hass, "sensor", "charger_cp-2_revenue_this_month") == str(
        house.costs["s-g3"].total
    )
    assert state_of(hass, "sensor", "charger_cp-1_revenue_last_month") == str(gus_november)


async def test_a_bill_run_in_progress_finishes_before_the_database_closes(
    hass: HomeAssistant, hub: MockConfigEntry, caplog: pytest.LogCaptureFixture
) -> None:
    """Unloading the hub while the catch-up run issues bills: the run completes (bills
    issued and announced) before the database is closed, without a storage error."""
    issued = async_capture_events(hass, EVENT_BILL_ISSUED)
    house = Household(hub.runtime_data.hub.site.store, Clock())
    await house.add("s-a1", "anna", local(2026, 11, 3, 18), local(2026, 11, 3, 22), 7_400)
    await house.add("s-g1", "gus", local(2026, 11, 12, 9), local(2026, 11, 12, 11), 5_555)
    await hass.config_entries.async_reload(hub.entry_id)  # the catch-up run starts
    assert await hass.config_entries.async_unload(hub.entry_id)  # at once
    await hass.async_block_till_done()
    assert len(issued) == 2
    problems = [r.getMessage() for r in caplog.records if r.levelname in ("WARNING", "ERROR")]
    assert [m for m in problems if "bill" in m.lower() or "closed" in m.lower()] == []
