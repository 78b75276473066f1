"""The printable pages of a bill and of a household report (HTML, Jinja2) and their CSV.

Pure rendering: a :class:`~.core.Bill` or :class:`~.core.HouseholdReport`, the translated
labels and the local time zone in, a string out. The HTML is one self-contained page with
print-ready CSS (A4, no navigation) and a small inline SVG chart of the month's energy per day
(bars) and the price paid per kWh that day (dots). Templates are kept in this module (not files)
so nothing is read from disk on the event loop.
"""

from __future__ import annotations

from collections.abc import Mapping
import csv
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal
import io

from jinja2 import Environment

from .core import Bill, HouseholdReport

#: Label keys (translations ``exceptions.report_<key>.message``) the pages use.
LABELS = (
    "bill",
    "not_issued",
    "number",
    "period",
    "member",
    "issued",
    "status",
    "paid",
    "unpaid",
    "date",
    "charger",
    "plugged_in",
    "charging_finished",
    "unplugged",
    "energy_kwh",
    "price_per_kwh",
    "excl_vat",
    "vat",
    "total",
    "estimated",
    "corrections",
    "reason",
    "reimbursable",
    "guest_tariff",
    "chart",
    "household_report",
    "share",
    "previous_month",
    "change",
    "sessions",
    "unattributed",
    "pdf",
)

_STYLE = """
@page { size: A4; margin: 15mm; }
body { font-family: system-ui, sans-serif; font-size: 11pt; color: #111; margin: 2em; }
h1 { font-size: 18pt; margin: 0 0 .3em; }
.preview { color: #b00; font-weight: bold; border: 2px solid #b00; padding: .2em .5em;
  display: inline-block; }
table { border-collapse: collapse; width: 100%; margin: 1em 0; }
th, td { border-bottom: 1px solid #ccc; padding: .25em .4em; text-align: left; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
tfoot td { font-weight: bold; border-top: 2px solid #111; }
.meta td { border: none; padding: .1em .4em; }
.est { color: #a60; }
svg { max-width: 100%; }
@media print { body { margin: 0; } a { color: inherit; text-decoration: none; }
  .no-print { display: none; } }
"""

_BILL = """<!DOCTYPE html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<title>{{ l.bill }} {{ bill.number or l.not_issued }}</title><style>{{ style }}</style></head>
<body>
<h1>{{ l.bill }} {{ bill.number or "" }}</h1>
{% if not bill.issued %}<p class="preview" id="not-issued">{{ l.not_issued }}</p>{% endif %}
{% if pdf_href %}<p class="no-print"><a id="pdf" href="{{ pdf_href }}">{{ l.pdf }}</a></p>
{% endif %}
<table class="meta">
<tr><td>{{ l.member }}</td><td id="member">{{ bill.member_name }}</td></tr>
<tr><td>{{ l.period }}</td><td id="period">{{ bill.period }}</td></tr>
{% if bill.issued %}<tr><td>{{ l.issued }}</td><td>{{ issued }}</td></tr>
<tr><td>{{ l.status }}</td><td id="status">{{ l.paid if bill.paid_at else l.unpaid }}</td></tr>
{% endif %}
{% if tariff %}<tr><td>{{ l.guest_tariff }}</td><td id="tariff">{{ tariff }}</td></tr>{% endif %}
</table>
<figure><figcaption>{{ l.chart }}</figcaption>{{ chart | safe }}</figure>
<table id="lines">
<thead><tr><th>{{ l.date }}</th><th>{{ l.charger }}</th><th>{{ l.plugged_in }}</th>
<th>{{ l.charging_finished }}</th><th>{{ l.unplugged }}</th><th class="num">{{ l.energy_kwh }}</th>
<th class="num">{{ l.price_per_kwh }}</th><th class="num">{{ l.excl_vat }}</th>
<th class="num">{{ l.vat }}</th><th class="num">{{ l.total }}</th></tr></thead>
<tbody>
{% for line in lines %}<tr{% if line.estimated %} class="est"{% endif %}>
<td>{{ line.day }}</td><td>{{ line.charger }}</td><td>{{ line.plugged_in }}</td>
<td>{{ line.finished }}</td><td>{{ line.unplugged }}</td><td class="num">{{ line.kwh }}</td>
<td class="num">{{ line.price }}</td><td class="num">{{ line.excl }}</td>
<td class="num">{{ line.vat }}</td><td class="num">{{ line.total }}{%
 if line.estimated %} *{% endif %}</td></tr>
{% endfor %}</tbody></table>
{% if bill.estimated %}<p class="est">* {{ l.estimated }}</p>{% endif %}
{% if bill.corrections %}<h2>{{ l.corrections }}</h2>
<table id="corrections"><thead><tr><th>{{ l.date }}</th><th>{{ l.charger }}</th>
<th>{{ l.reason }}</th><th class="num">{{ l.energy_kwh }}</th><th class="num">{{ l.excl_vat }}</th>
<th class="num">{{ l.vat }}</th><th class="num">{{ l.total }}</th></tr></thead><tbody>
{% for c in bill.corrections %}<tr><td>{{ c.day }}</td><td>{{ c.charger_name }}</td>
<td>{{ c.session_id }}: {{ c.reason }}</td><td class="num">{{ kwh(c.energy_wh) }}</td>
<td class="num">{{ c.amount_excl_vat }}</td><td class="num">{{ c.vat }}</td>
<td class="num">{{ c.total }}</td></tr>
{% endfor %}</tbody></table>{% endif %}
<table id="totals"><tfoot>
<tr><td>{{ l.energy_kwh }}</td><td class="num" id="total-energy">{{ kwh(bill.energy_wh) }}</td></tr>
<tr><td>{{ l.excl_vat }}</td><td class="num" id="total-excl">{{ bill.amount_excl_vat }}</td></tr>
<tr><td>{{ l.vat }}</td><td class="num" id="total-vat">{{ bill.vat }}</td></tr>
<tr><td>{{ l.total }}</td><td class="num" id="total">{{ bill.total }} {{ bill.currency }}</td></tr>
{% if bill.claimable is not none %}<tr><td>{{ l.reimbursable }}</td>
<td class="num" id="reimbursable">{{ bill.claimable }} {{ bill.currency }}</td></tr>{% endif %}
</tfoot></table>
</body></html>
"""

_REPORT = """<!DOCTYPE html>
<html lang="{{ lang }}"><head><meta charset="utf-8">
<title>{{ l.household_report }} {{ report.period }}</title><style>{{ style }}</style></head>
<body>
<h1>{{ l.household_report }} {{ report.period }}</h1>
{% if pdf_href %}<p class="no-print"><a id="pdf" href="{{ pdf_href }}">{{ l.pdf }}</a></p>
{% endif %}
<table id="members"><thead><tr><th>{{ l.member }}</th><th class="num">{{ l.sessions }}</th>
<th class="num">{{ l.energy_kwh }}</th><th class="num">{{ l.total }}</th>
<th class="num">{{ l.share }}</th><th class="num">{{ l.previous_month }}</th>
<th class="num">{{ l.change }}</th></tr></thead><tbody>
{% for m in report.members %}<tr><td>{{ m.member_name or l.unattributed }}</td>
<td class="num">{{ m.sessions }}</td><td class="num">{{ kwh(m.energy_wh) }}</td>
<td class="num">{{ m.cost }}</td><td class="num">{{ m.energy_share }} %</td>
<td class="num">{{ kwh(m.previous_energy_wh) }} / {{ m.previous_cost }}</td>
<td class="num">{{ kwh(m.energy_wh - m.previous_energy_wh) }}</td></tr>
{% endfor %}</tbody><tfoot><tr><td>{{ l.total }}</td><td class="num">{{ report.sessions }}</td>
<td class="num" id="total-energy">{{ kwh(report.energy_wh) }}</td>
<td class="num" id="total">{{ report.cost }} {{ report.currency }}</td><td class="num">100 %</td>
<td class="num">{{ kwh(report.previous_energy_wh) }} / {{ report.previous_cost }}</td>
<td class="num">{{ kwh(report.energy_wh - report.previous_energy_wh) }}</td></tr></tfoot>
</table></body></html>
"""

_ENV = Environment(autoescape=True, trim_blocks=True, lstrip_blocks=True)
_BILL_TEMPLATE = _ENV.from_string(_BILL)
_REPORT_TEMPLATE = _ENV.from_string(_REPORT)


def kwh(wh: int) -> str:
    """Wh as kWh with 3 decimals."""
    return f"{Decimal(wh) / 1000:.3f}"


def _local(at: datetime | None, tz: tzinfo) -> str:
    return "" if at is None else at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


@dataclass(frozen=True, slots=True)
class BillRow:
    """A session line as the pages show it (HTML and PDF): local times, formatted amounts."""

    day: str
    charger: str
    plugged_in: str
    finished: str
    unplugged: str
    kwh: str
    price: str
    excl: str
    vat: str
    total: str
    estimated: bool


def bill_rows(bill: Bill, tz: tzinfo) -> list[BillRow]:
    """The bill's session lines as the pages show them."""
    return [
        BillRow(
            day=line.day.isoformat(),
            charger=line.charger_name,
            plugged_in=_local(line.plugged_in_at, tz),
            finished=_local(line.charging_finished_at, tz),
            unplugged=_local(line.unplugged_at, tz),
            kwh=kwh(line.energy_wh),
            price="" if line.price_per_kwh is None else f"{line.price_per_kwh:.4f}",
            excl=str(line.amount_excl_vat),
            vat=str(line.vat),
            total=str(line.total),
            estimated=line.estimated,
        )
        for line in bill.lines
    ]


def issued_text(bill: Bill, tz: tzinfo) -> str:
    """When the bill was issued (local time; empty for a preview)."""
    return _local(bill.issued_at, tz)


def tariff_text(bill: Bill) -> str:
    """The bill's (guest or other non-household) tariff group in a few words; empty if none."""
    group = bill.tariff_group
    if not group:
        return ""
    details = [str(group.get("mode", ""))]
    markup = group.get("markup_per_kwh")
    if markup and markup != "0":
        details.append(f"+{markup} {bill.currency}/kWh")
    if fixed := group.get("fixed_per_kwh"):
        details.append(f"{fixed} {bill.currency}/kWh")
    return f"{group.get('name', '')} ({', '.join(d for d in details if d)})"


def daily_figures(bill: Bill) -> list[tuple[int, Decimal | None]]:
    """Per local day of the bill's month: the energy (Wh) and the price paid per kWh (None on
    days without energy) — what the charts show."""
    days = (bill.period.next().first_day() - bill.period.first_day()).days
    energy = [0] * days
    paid = [Decimal(0)] * days
    for line in bill.lines:
        energy[line.day.day - 1] += line.energy_wh
        paid[line.day.day - 1] += line.total
    return [(wh, paid[index] * 1000 / wh if wh else None) for index, wh in enumerate(energy)]


def chart_svg(bill: Bill) -> str:
    """An inline SVG: energy per local day (bars, left scale) and price paid per kWh (dots)."""
    figures = daily_figures(bill)
    days = len(figures)
    energy = [wh for wh, _ in figures]
    prices = [price for _, price in figures]
    width, height, bar = 620, 160, 620 / days
    top = max(energy) or 1
    highest = max((p for p in prices if p is not None), default=Decimal(1)) or Decimal(1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height + 20}"'
        f' viewBox="0 0 {width} {height + 20}" role="img">'
    ]
    for index, wh in enumerate(energy):
        x = index * bar
        if wh:
            h = wh / top * (height - 10)
            parts.append(
                f'<rect x="{x + 1:.1f}" y="{height - h:.1f}" width="{bar - 2:.1f}"'
                f' height="{h:.1f}" fill="#4a90d9"><title>{index + 1}: {kwh(wh)} kWh</title></rect>'
            )
        price = prices[index]
        if price is not None:
            y = height - float(price / highest) * (height - 10)
            parts.append(
                f'<circle cx="{x + bar / 2:.1f}" cy="{y:.1f}" r="3" fill="#d9534f">'
                f"<title>{index + 1}: {price:.2f} {bill.currency}/kWh</title></circle>"
            )
        if index % 5 == 0:
            parts.append(
                f'<text x="{x + bar / 2:.1f}" y="{height + 14}" font-size="9"'
                f' text-anchor="middle">{index + 1}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def render_bill(
    bill: Bill,
    labels: Mapping[str, str],
    tz: tzinfo,
    lang: str = "en",
    pdf_href: str | None = None,
) -> str:
    """The bill as a printable HTML page (with a link to its PDF when ``pdf_href`` is given)."""
    return _BILL_TEMPLATE.render(
        bill=bill,
        lines=bill_rows(bill, tz),
        l=labels,
        lang=lang,
        style=_STYLE,
        chart=chart_svg(bill),
        issued=issued_text(bill, tz),
        tariff=tariff_text(bill),
        pdf_href=pdf_href,
        kwh=kwh,
    )


def render_report(
    report: HouseholdReport,
    labels: Mapping[str, str],
    lang: str = "en",
    pdf_href: str | None = None,
) -> str:
    """The household report as a printable HTML page (with a link to its PDF if given)."""
    return _REPORT_TEMPLATE.render(
        report=report, l=labels, lang=lang, style=_STYLE, kwh=kwh, pdf_href=pdf_href
    )


BILL_CSV_FIELDS = (
    "number",
    "kind",
    "date",
    "session_id",
    "charger",
    "plugged_in",
    "charging_finished",
    "unplugged",
    "energy_kwh",
    "components",
    "charges",
    "amount_excl_vat",
    "vat",
    "total",
    "estimated",
    "reason",
)


def bill_csv(bill: Bill, tz: tzinfo) -> str:
    """The bill's lines and corrections as CSV (local times, amounts as on the bill)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=BILL_CSV_FIELDS)
    writer.writeheader()
    for line in bill.lines:
        writer.writerow(
            {
                "number": bill.number or "",
                "kind": "line",
                "date": line.day.isoformat(),
                "session_id": line.session_id,
                "charger": line.charger_name,
                "plugged_in": _local(line.plugged_in_at, tz),
                "charging_finished": _local(line.charging_finished_at, tz),
                "unplugged": _local(line.unplugged_at, tz),
                "energy_kwh": kwh(line.energy_wh),
                "components": " ".join(f"{n}={v}" for n, v in line.components),
                "charges": " ".join(f"{n}={v}" for n, v in line.charges),
                "amount_excl_vat": str(line.amount_excl_vat),
                "vat": str(line.vat),
                "total": str(line.total),
                "estimated": line.estimated,
                "reason": "",
            }
        )
    for c in bill.corrections:
        writer.writerow(
            {
                "number": bill.number or "",
                "kind": c.kind.value,
                "date": c.day.isoformat(),
                "session_id": c.session_id,
                "charger": c.charger_name,
                "energy_kwh": kwh(c.energy_wh),
                "amount_excl_vat": str(c.amount_excl_vat),
                "vat": str(c.vat),
                "total": str(c.total),
                "estimated": False,
                "reason": c.reason,
            }
        )
    return buffer.getvalue()


def report_csv(report: HouseholdReport) -> str:
    """The household report's rows as CSV."""
    buffer = io.StringIO()
    fields = ("period", "member", "sessions", "energy_kwh", "cost", "energy_share", "cost_share")
    writer = csv.DictWriter(buffer, fieldnames=fields)
    writer.writeheader()
    for m in report.members:
        writer.writerow(
            {
                "period": str(report.period),
                "member": m.member_name,
                "sessions": m.sessions,
                "energy_kwh": kwh(m.energy_wh),
                "cost": str(m.cost),
                "energy_share": str(m.energy_share),
                "cost_share": str(m.cost_share),
            }
        )
    return buffer.getvalue()


__all__ = [
    "BILL_CSV_FIELDS",
    "LABELS",
    "BillRow",
    "bill_csv",
    "bill_rows",
    "chart_svg",
    "daily_figures",
    "issued_text",
    "kwh",
    "render_bill",
    "render_report",
    "report_csv",
    "tariff_text",
]
