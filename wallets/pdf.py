"""Small PDF documents (receipts, statements) laid out with fpdf2: pure Python, no system
libraries, and its core fonts keep a one-page receipt a few kilobytes. One layout for every
document, so a receipt and a statement look like they come from the same company."""

from collections.abc import Sequence
from dataclasses import dataclass, field

from django.http import HttpResponse
from fpdf import FPDF

ISSUER = "Messaging wallets"
PAGE_WIDTH = 180  # mm of text width on A4 with 15 mm margins


@dataclass
class Table:
    headings: Sequence[str]
    rows: Sequence[Sequence[str]]
    widths: Sequence[int]  # mm, summing to PAGE_WIDTH
    # Columns right-aligned (amounts).
    numeric: Sequence[int] = field(default_factory=tuple)
    # Rows drawn bold (totals).
    bold_rows: Sequence[int] = field(default_factory=tuple)


@dataclass
class Document:
    title: str
    subtitle: str
    facts: Sequence[tuple[str, str]]  # label, value pairs under the title
    tables: Sequence[Table] = ()
    footer: str = ""


def _latin1(text: str) -> str:
    # The core fonts cover Latin-1 only; a workspace name in another script still prints.
    return text.encode("latin-1", "replace").decode("latin-1")


def document_pdf(document: Document) -> bytes:
    pdf = FPDF(format="A4")
    pdf.set_margins(15, 15, 15)
    pdf.set_auto_page_break(True, margin=18)
    pdf.set_title(_latin1(document.title))
    pdf.set_author(ISSUER)
    pdf.add_page()
    pdf.set_font("Helvetica", "B", 9)
    pdf.set_text_color(15, 118, 110)
    pdf.cell(PAGE_WIDTH, 5, ISSUER.upper(), new_x="LMARGIN", new_y="NEXT")
    pdf.set_text_color(31, 41, 51)
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(PAGE_WIDTH, 11, _latin1(document.title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    pdf.set_text_color(97, 110, 124)
    pdf.cell(PAGE_WIDTH, 6, _latin1(document.subtitle), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(4)
    pdf.set_text_color(31, 41, 51)
    for label, value in document.facts:
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(50, 7, _latin1(label))
        pdf.set_font("Helvetica", "", 10)
        pdf.cell(PAGE_WIDTH - 50, 7, _latin1(value), new_x="LMARGIN", new_y="NEXT")
    for table in document.tables:
        pdf.ln(5)
        _table(pdf, table)
    if document.footer:
        pdf.ln(6)
        pdf.set_font("Helvetica", "", 8)
        pdf.set_text_color(97, 110, 124)
        pdf.multi_cell(PAGE_WIDTH, 4.5, _latin1(document.footer))
    return bytes(pdf.output())


def _table(pdf: FPDF, table: Table) -> None:
    pdf.set_font("Helvetica", "B", 9)
    pdf.set_fill_color(246, 247, 249)
    for index, (heading, width) in enumerate(zip(table.headings, table.widths, strict=True)):
        pdf.cell(width, 7, _latin1(heading), border="B", fill=True, align="R" if index in table.numeric else "L")
    pdf.ln()
    for row_index, row in enumerate(table.rows):
        pdf.set_font("Helvetica", "B" if row_index in table.bold_rows else "", 9)
        for index, (value, width) in enumerate(zip(row, table.widths, strict=True)):
            pdf.cell(width, 6.5, _latin1(value), border="B", align="R" if index in table.numeric else "L")
        pdf.ln()


def pdf_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
