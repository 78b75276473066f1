"""A bill and a household report as PDF (fpdf2), from the same rows as the printable pages.

The figures come from :mod:`.bill_report` (:func:`~.bill_report.bill_rows`,
:func:`~.bill_report.daily_figures`, :func:`~.bill_report.tariff_text`), so the PDF shows
exactly the lines, totals and marks of the HTML page. Rendering is pure and blocking (it builds
the whole document in memory): the views run it in a worker thread. Text uses the PDF core
font Helvetica in Windows-1252 (all Western European letters, the euro sign); a character
outside it is printed as ``?``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import tzinfo
from decimal import Decimal

from fpdf import FPDF, FontFace

from .bill_report import bill_rows, daily_figures, issued_text, kwh, tariff_text
from .core import Bill, HouseholdReport

_FONT = "Helvetica"
_ENCODING = "cp1252"
_ESTIMATED_RGB = (170, 102, 0)
_ESTIMATED = FontFace(color=_ESTIMATED_RGB)
_PREVIEW = (187, 0, 0)
_BAR = (74, 144, 217)
_DOT = (217, 83, 79)
#: Column widths (mm) of a bill's session lines on A4 with 15 mm margins (180 mm).
_LINE_WIDTHS = (17, 23, 20, 20, 20, 15, 17, 17, 14, 17)
_CORRECTION_WIDTHS = (17, 23, 69, 15, 20, 17, 19)
_REPORT_WIDTHS = (42, 18, 22, 26, 18, 34, 20)


def _t(text: object) -> str:
    """``text`` as the core font can print it."""
    return str(text).encode(_ENCODING, "replace").decode(_ENCODING)


def _document(title: str) -> FPDF:
    pdf = FPDF(orientation="portrait", unit="mm", format="A4")
    pdf.core_fonts_encoding = _ENCODING
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=15)
    pdf.set_title(_t(title))
    pdf.set_creator("EV Sessions")
    pdf.add_page()
    pdf.set_font(_FONT, "B", 16)
    pdf.cell(text=_t(title), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)
    return pdf


def _meta(pdf: FPDF, rows: Sequence[tuple[str, str]]) -> None:
    """Label / value pairs under the title."""
    for label, value in rows:
        pdf.set_font(_FONT, "", 10)
        pdf.cell(w=40, h=5.5, text=_t(label))
        pdf.set_font(_FONT, "B", 10)
        pdf.cell(h=5.5, text=_t(value), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(2)


def _heading(pdf: FPDF, text: str) -> None:
    pdf.set_font(_FONT, "B", 11)
    pdf.cell(h=7, text=_t(text), new_x="LMARGIN", new_y="NEXT")


def _table(
    pdf: FPDF,
    widths: Sequence[float],
    head: Sequence[str],
    body: Sequence[tuple[Sequence[str], FontFace | None]],
    numeric_from: int,
) -> None:
    """A table: the columns from ``numeric_from`` on are right-aligned numbers."""
    align = tuple("LEFT" if i < numeric_from else "RIGHT" for i in range(len(widths)))
    pdf.set_font(_FONT, "", 7.5)
    with pdf.table(
        col_widths=tuple(widths),
        width=sum(widths),
        text_align=align,
        borders_layout="HORIZONTAL_LINES",
        line_height=4,
        headings_style=FontFace(emphasis="BOLD"),
    ) as table:
        heading = table.row()
        for text in head:
            heading.cell(_t(text))
        for cells, style in body:
            row = table.row()
            for text in cells:
                row.cell(_t(text), style=style)
    pdf.ln(3)


def _chart(pdf: FPDF, bill: Bill, caption: str) -> None:
    """Energy per day (bars) and the price paid per kWh (dots), as on the page."""
    figures = daily_figures(bill)
    top = max((wh for wh, _ in figures), default=0) or 1
    highest = max((p for _, p in figures if p is not None), default=Decimal(1)) or Decimal(1)
    _heading(pdf, caption)
    left, height, width = pdf.l_margin, 30.0, pdf.epw
    if pdf.will_page_break(height + 8):
        pdf.add_page()
    base = pdf.get_y() + height
    bar = width / len(figures)
    with pdf.local_context():  # the colours stay in the chart
        pdf.set_font(_FONT, "", 6)
        for index, (wh, price) in enumerate(figures):
            x = left + index * bar
            if wh:
                h = wh / top * (height - 3)
                pdf.set_fill_color(*_BAR)
                pdf.rect(x + 0.3, base - h, bar - 0.6, h, style="F")
            if price is not None:
                y = base - float(price / highest) * (height - 3)
                pdf.set_fill_color(*_DOT)
                pdf.rect(x + bar / 2 - 0.8, y - 0.8, 1.6, 1.6, style="F")
            if index % 5 == 0:
                pdf.set_xy(x, base + 0.5)
                pdf.cell(w=bar, h=3, text=str(index + 1), align="C")
        pdf.line(left, base, left + width, base)
    pdf.set_xy(left, base + 5)


def bill_pdf(bill: Bill, labels: Mapping[str, str], tz: tzinfo) -> bytes:
    """The bill as a PDF document: number, period, member, the session lines (estimated ones
    marked), corrections, totals with VAT, a company car's reimbursable amount."""
    pdf = _document(f"{labels['bill']} {bill.number or ''}".strip())
    if not bill.issued:
        pdf.set_text_color(*_PREVIEW)
        pdf.set_font(_FONT, "B", 12)
        pdf.cell(text=_t(labels["not_issued"]), new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0, 0, 0)
    meta = [(labels["member"], bill.member_name), (labels["period"], str(bill.period))]
    if bill.issued:
        meta.append((labels["number"], bill.number or ""))
        meta.append((labels["issued"], issued_text(bill, tz)))
        meta.append((labels["status"], labels["paid"] if bill.paid_at else labels["unpaid"]))
    if tariff := tariff_text(bill):
        meta.append((labels["guest_tariff"], tariff))
    _meta(pdf, meta)
    _chart(pdf, bill, labels["chart"])
    _heading(pdf, labels["sessions"])
    head = [
        labels["date"],
        labels["charger"],
        labels["plugged_in"],
        labels["charging_finished"],
        labels["unplugged"],
        labels["energy_kwh"],
        labels["price_per_kwh"],
        labels["excl_vat"],
        labels["vat"],
        labels["total"],
    ]
    body = [
        (
            (
                row.day,
                row.charger,
                row.plugged_in,
                row.finished,
                row.unplugged,
                row.kwh,
                row.price,
                row.excl,
                row.vat,
                f"{row.total} *" if row.estimated else row.total,
            ),
            _ESTIMATED if row.estimated else None,
        )
        for row in bill_rows(bill, tz)
    ]
    _table(pdf, _LINE_WIDTHS, head, body, numeric_from=5)
    if bill.estimated:
        pdf.set_font(_FONT, "", 8)
        pdf.set_text_color(*_ESTIMATED_RGB)
        pdf.multi_cell(w=0, h=4, text=_t(f"* {labels['estimated']}"), new_x="LMARGIN")
        pdf.set_text_color(0, 0, 0)
        pdf.ln(2)
    if bill.corrections:
        _heading(pdf, labels["corrections"])
        _table(
            pdf,
            _CORRECTION_WIDTHS,
            [
                labels["date"],
                labels["charger"],
                labels["reason"],
                labels["energy_kwh"],
                labels["excl_vat"],
                labels["vat"],
                labels["total"],
            ],
            [
                (
                    (
                        c.day.isoformat(),
                        c.charger_name,
                        f"{c.session_id}: {c.reason}",
                        kwh(c.energy_wh),
                        str(c.amount_excl_vat),
                        str(c.vat),
                        str(c.total),
                    ),
                    None,
                )
                for c in bill.corrections
            ],
            numeric_from=3,
        )
    totals = [
        (labels["energy_kwh"], kwh(bill.energy_wh), False),
        (labels["excl_vat"], f"{bill.amount_excl_vat} {bill.currency}", False),
        (labels["vat"], f"{bill.vat} {bill.currency}", False),
        (labels["total"], f"{bill.total} {bill.currency}", True),
    ]
    if bill.claimable is not None:
        totals.append((labels["reimbursable"], f"{bill.claimable} {bill.currency}", False))
    _totals(pdf, totals)
    return bytes(pdf.output())


def _totals(pdf: FPDF, rows: Sequence[tuple[str, str, bool]]) -> None:
    """Right-aligned totals (label, value, bold)."""
    for label, value, bold in rows:
        pdf.set_font(_FONT, "B" if bold else "", 10)
        pdf.set_x(pdf.l_margin + pdf.epw - 90)
        pdf.cell(w=50, h=6, text=_t(label))
        pdf.cell(w=40, h=6, text=_t(value), align="R", new_x="LMARGIN", new_y="NEXT")


def report_pdf(report: HouseholdReport, labels: Mapping[str, str]) -> bytes:
    """The household report as a PDF document: each member's sessions, energy, cost, share and
    the previous month, with the household totals."""
    pdf = _document(f"{labels['household_report']} {report.period}")
    head = [
        labels["member"],
        labels["sessions"],
        labels["energy_kwh"],
        labels["total"],
        labels["share"],
        labels["previous_month"],
        labels["change"],
    ]
    body: list[tuple[Sequence[str], FontFace | None]] = [
        (
            (
                m.member_name or labels["unattributed"],
                str(m.sessions),
                kwh(m.energy_wh),
                str(m.cost),
                f"{m.energy_share} %",
                f"{kwh(m.previous_energy_wh)} / {m.previous_cost}",
                kwh(m.energy_wh - m.previous_energy_wh),
            ),
            None,
        )
        for m in report.members
    ]
    body.append(
        (
            (
                labels["total"],
                str(report.sessions),
                kwh(report.energy_wh),
                f"{report.cost} {report.currency}",
                "100 %",
                f"{kwh(report.previous_energy_wh)} / {report.previous_cost}",
                kwh(report.energy_wh - report.previous_energy_wh),
            ),
            FontFace(emphasis="BOLD"),
        )
    )
    _table(pdf, _REPORT_WIDTHS, head, body, numeric_from=1)
    return bytes(pdf.output())


__all__ = ["bill_pdf", "report_pdf"]
