"""A real PDF of an invoice, drawn with fpdf2 (QBO answers `application/pdf`, reference §4.7)."""

from __future__ import annotations

from fpdf import FPDF

from integration.sandbox.quickbooks.models import SandboxRealm
from integration.sandbox.quickbooks.render import money


def _text(value) -> str:
    # The core fonts are Latin-1; anything else is replaced rather than failing the download.
    return str(value if value is not None else "").encode("latin-1", "replace").decode("latin-1")


def render_invoice(*, realm: SandboxRealm, invoice: dict) -> bytes:
    """The invoice as a one-or-more page PDF: header, bill-to, lines, tax, total, balance."""
    currency = (invoice.get("CurrencyRef") or {}).get("value", realm.home_currency)
    doc = FPDF(format="A4")
    doc.set_compression(False)  # plain text streams: readable in tests and by simple tools
    doc.set_title(_text(f"Invoice {invoice.get('DocNumber', '')}"))
    doc.set_author(_text(realm.name))
    doc.add_page()
    doc.set_font("Helvetica", "B", 18)
    doc.cell(0, 10, _text(realm.name), new_x="LMARGIN", new_y="NEXT")
    doc.set_font("Helvetica", "B", 14)
    doc.cell(0, 8, _text(f"INVOICE {invoice.get('DocNumber', '')}"), new_x="LMARGIN", new_y="NEXT")
    doc.set_font("Helvetica", "", 10)
    if (invoice.get("PrivateNote") or "").startswith("Voided"):
        doc.set_text_color(200, 0, 0)
        doc.cell(0, 6, "VOIDED", new_x="LMARGIN", new_y="NEXT")
        doc.set_text_color(0, 0, 0)
    doc.cell(
        0,
        6,
        _text(f"Date: {invoice.get('TxnDate', '')}    Due: {invoice.get('DueDate', '')}"),
        new_x="LMARGIN",
        new_y="NEXT",
    )
    doc.cell(
        0, 6, _text(f"Bill to: {(invoice.get('CustomerRef') or {}).get('name', '')}"), new_x="LMARGIN", new_y="NEXT"
    )
    bill = invoice.get("BillAddr") or {}
    for key in ("Line1", "Line2", "Line3", "City", "PostalCode", "Country"):
        if bill.get(key):
            doc.cell(0, 5, _text(bill[key]), new_x="LMARGIN", new_y="NEXT")
    doc.ln(4)
    doc.set_font("Helvetica", "B", 10)
    for title, width in (("Description", 90), ("Qty", 20), ("Rate", 30), ("Amount", 40)):
        doc.cell(width, 7, title, border=1)
    doc.ln()
    doc.set_font("Helvetica", "", 10)
    for line in invoice.get("Line", []):
        detail = line.get("SalesItemLineDetail")
        if detail is None:
            continue
        description = line.get("Description") or (detail.get("ItemRef") or {}).get("name", "")
        doc.cell(90, 7, _text(description)[:50], border=1)
        doc.cell(20, 7, _text(detail.get("Qty", "")), border=1)
        doc.cell(30, 7, _text(detail.get("UnitPrice", "")), border=1)
        doc.cell(40, 7, _text(f"{money(line.get('Amount'))}"), border=1, align="R")
        doc.ln()
    doc.ln(2)
    tax = (invoice.get("TxnTaxDetail") or {}).get("TotalTax", 0)
    for label, value in (
        ("Tax", tax),
        ("Total", invoice.get("TotalAmt")),
        ("Balance due", invoice.get("Balance")),
    ):
        doc.cell(140, 7, _text(label), align="R")
        doc.cell(40, 7, _text(f"{currency} {money(value)}"), align="R")
        doc.ln()
    if (invoice.get("CustomerMemo") or {}).get("value"):
        doc.ln(4)
        doc.multi_cell(0, 5, _text(invoice["CustomerMemo"]["value"]))
    return bytes(doc.output())
