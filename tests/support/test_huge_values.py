"""Issue 17: a stored amount beyond its column (SQLite keeps whatever it is given) must not turn
the admin's change pages into 500s: staff see the value, read-only, as stored."""

from __future__ import annotations

from django.db import connection as db

from integration.quickbooks.models import QuickBooksConnection
from invoices.models import Invoice, InvoiceLine


def _huge_line(personas) -> InvoiceLine:
    company = personas.company_a
    connection = QuickBooksConnection.all_companies.create(
        company=company, owner=personas.alice_membership, realm_id="9000000001", access_token="a", refresh_token="r"
    )
    invoice = Invoice.all_companies.create(
        company=company, connection=connection, state="created", qbo_id="77", currency="USD", total="10.00"
    )
    line = InvoiceLine.all_companies.create(
        company=company,
        invoice=invoice,
        position=1,
        description="Hours",
        qbo_item_id="2",
        quantity="1",
        unit_price="10",
        amount="10.00",
        tax_code="NON",
    )
    # What a write that skipped validation leaves behind: SQLite stores 1e30 (the columns say 18
    # digits); PostgreSQL refuses it, so there the largest values the columns hold.
    sqlite = db.vendor == "sqlite"
    price, total = ("1e30", "1e30") if sqlite else ("99999999999.9999999", "9999999999999999.99")
    with db.cursor() as cursor:
        cursor.execute(
            "UPDATE invoices_invoiceline SET quantity = %s, unit_price = %s, amount = %s WHERE id = %s",
            [price, price, total, line.pk],
        )
        cursor.execute("UPDATE invoices_invoice SET total = %s, balance = %s WHERE id = %s", [total, total, invoice.pk])
    return line


def test_admin_pages_of_an_invoice_and_a_line_with_a_huge_price_render(personas, support_client):
    line = _huge_line(personas)
    pages = [
        f"/admin/invoices/invoiceline/{line.pk}/change/",
        "/admin/invoices/invoiceline/",
        f"/admin/invoices/invoice/{line.invoice_id}/change/",
        "/admin/invoices/invoice/",
    ]
    for path in pages:
        response = support_client.get(path)
        assert response.status_code == 200, path
        body = response.content.decode()
        if db.vendor == "sqlite":
            assert "e+30 (beyond the column" in body.lower(), path  # shown as stored, marked
        else:
            assert "9999999999999999.99" in body, path
