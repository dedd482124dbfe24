"""Payments in the panel (money loop, item 2): QuickBooks Payments reach each invoice by webhook and
CDC, and the panel API shows them (date, amount, method, reference, credit applied)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.db import connection as db_connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from integration.quickbooks.services import client_for
from integration.sandbox.quickbooks import controls
from invoices import payments, sync_feeds
from invoices.models import Invoice, InvoiceDeal, InvoicePayment
from tenants.scoping import company_scope
from tests.invoices.test_panel_api import panel
from tests.invoices.test_sync import LINE

DEAL = 4242


def invoice_on_deal(qbo, connected) -> Invoice:
    created = controls.create_invoice(realm_id=qbo.us_realm, customer_id="3", lines=LINE, DueDate="2099-01-31")
    invoice = Invoice.all_companies.get(connection=connected, qbo_id=created["Id"])  # arrived by webhook
    InvoiceDeal.all_companies.create(company=connected.company, invoice=invoice, deal_id=DEAL)
    return invoice


def panel_payments(personas) -> list[dict]:
    response = panel(personas.alice_membership).get(f"/api/v1/deals/{DEAL}/invoices")
    assert response.status_code == 200, response.content
    (invoice,) = response.json()["invoices"]
    return invoice["payments"]


def test_payments_arrive_by_webhook_and_show_under_the_invoice(qbo, connected, personas):
    invoice = invoice_on_deal(qbo, connected)
    controls.record_payment(
        realm_id=qbo.us_realm,
        invoice_id=invoice.qbo_id,
        amount="40",
        txn_date="2026-11-20",
        method={"value": "2", "name": "Check"},
        reference="CHK-1001",
    )
    controls.record_payment(realm_id=qbo.us_realm, invoice_id=invoice.qbo_id, amount="10", txn_date="2026-11-25")
    assert panel_payments(personas) == [
        {
            "date": "2026-11-20",
            "amount": "40.00",
            "credit_applied": "0.00",
            "currency": "USD",
            "method": "Check",
            "reference": "CHK-1001",
            "credit_memos": "",
        },
        {
            "date": "2026-11-25",
            "amount": "10.00",
            "credit_applied": "0.00",
            "currency": "USD",
            "method": "",
            "reference": "",
            "credit_memos": "",
        },
    ]
    # Deleted in QuickBooks: the webhook takes it off the invoice.
    first = InvoicePayment.all_companies.get(invoice=invoice, reference="CHK-1001")
    with company_scope(connected.company):
        client = client_for(connection=connected)
        payment = client.read("Payment", first.payment_qbo_id)
        client.delete("Payment", first.payment_qbo_id, payment["SyncToken"])
    assert [p["amount"] for p in panel_payments(personas)] == ["10.00"]


def test_cdc_heals_a_missed_payment_webhook(qbo, connected, personas):
    invoice = invoice_on_deal(qbo, connected)
    with override_settings(QBO_SANDBOX_WEBHOOK_URL="http://127.0.0.1:1/webhooks/quickbooks"):  # receiver down
        controls.record_payment(realm_id=qbo.us_realm, invoice_id=invoice.qbo_id, amount="25", reference="W-7")
    assert panel_payments(personas) == []
    with company_scope(connected.company):
        sync_feeds.connection_cdc_sync(connection=connected)
    assert [(p["amount"], p["reference"]) for p in panel_payments(personas)] == [("25.00", "W-7")]


def test_credit_applied_and_replays_out_of_order(qbo, connected, personas):
    invoice = invoice_on_deal(qbo, connected)
    # A credit memo applied through a Payment (QuickBooks' documented shape): 30 cash + 20 credit.
    newer = {
        "Id": "9001",
        "TxnDate": "2026-11-28",
        "TotalAmt": 30,
        "CurrencyRef": {"value": "USD"},
        "PaymentMethodRef": {"value": "1"},
        "MetaData": {"LastUpdatedTime": "2026-11-28T10:00:00-08:00"},
        "Line": [
            {"Amount": 50, "LinkedTxn": [{"TxnId": invoice.qbo_id, "TxnType": "Invoice"}]},
            {"Amount": 20, "LinkedTxn": [{"TxnId": "77", "TxnType": "CreditMemo"}]},
        ],
    }
    older = {**newer, "TotalAmt": 5, "MetaData": {"LastUpdatedTime": "2026-11-27T10:00:00-08:00"}}
    older["Line"] = [{"Amount": 5, "LinkedTxn": [{"TxnId": invoice.qbo_id, "TxnType": "Invoice"}]}]
    with company_scope(connected.company):
        for data in (newer, newer, older):  # duplicate, then a late older copy
            payments.payment_store(connection=connected, data=data)
    row = InvoicePayment.all_companies.get(invoice=invoice)
    assert (row.amount, row.credit_applied, row.method) == (Decimal("30.00"), Decimal("20.00"), "1")


def test_payments_keep_the_deal_list_query_count_constant(personas):
    from tests.personas import add_invoices

    add_invoices(personas)
    alice = panel(personas.alice_membership)

    def queries_for_list() -> int:
        from invoices.panel_reads import forget_seats

        forget_seats()  # both counts start from the same (unremembered) seat
        with CaptureQueriesContext(db_connection) as queries:
            response = alice.get(f"/api/v1/deals/{personas.deal_a}/invoices")
        assert response.status_code == 200
        return len(queries)

    before = queries_for_list()
    invoice = personas.invoice_a
    for n in range(5):
        copy = Invoice.all_companies.get(pk=invoice.pk)
        copy.pk, copy.request_id, copy.qbo_id = None, uuid.uuid4(), f"8{n}"
        copy.save()
        InvoiceDeal.all_companies.create(company=copy.company, invoice=copy, deal_id=personas.deal_a)
        for k in range(3):
            InvoicePayment.all_companies.create(
                company=copy.company,
                connection=copy.connection,
                invoice=copy,
                payment_qbo_id=f"{n}{k}",
                amount=Decimal("1.00"),
            )
    assert queries_for_list() == before
