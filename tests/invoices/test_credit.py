"""Credit in the panel (money loop, item 4): QuickBooks credit memos and the Payments that apply them
reach our copies by webhook and change data capture; each invoice shows the credit applied with the
credit memo's number, and the contact view the customer's open balance and unapplied credit, read
with no call to QuickBooks."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import connection as db_connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext

from integration.quickbooks import credit as qbo_credit
from integration.quickbooks.services import client_for
from integration.quickbooks.webhooks import Change
from integration.sandbox.quickbooks import controls
from invoices import credit, sync, sync_feeds
from invoices.models import CreditMemo, CustomerBalance, InvoicePayment
from tenants.scoping import company_scope
from tests.invoices.test_panel_api import panel
from tests.invoices.test_payments import DEAL, invoice_on_deal, panel_payments

CUSTOMER = "3"
DOWN = "http://127.0.0.1:1/webhooks/quickbooks"  # our webhook receiver unreachable


def memo_create(connected, amount) -> dict:
    body = {
        "CustomerRef": {"value": CUSTOMER},
        "Line": [
            {"Amount": amount, "DetailType": "SalesItemLineDetail", "SalesItemLineDetail": {"ItemRef": {"value": "2"}}}
        ],
    }
    with company_scope(connected.company):
        return client_for(connection=connected).create("CreditMemo", body)


def apply_credit(connected, *, invoice_qbo_id: str, cash, memo_id: str, credit_amount) -> dict:
    """A Payment of `cash` that also applies `credit_amount` of a credit memo to the invoice."""
    body = {
        "CustomerRef": {"value": CUSTOMER},
        "TotalAmt": cash,
        "PaymentRefNum": "CM-USE",
        "Line": [
            {"Amount": cash + credit_amount, "LinkedTxn": [{"TxnId": invoice_qbo_id, "TxnType": "Invoice"}]},
            {"Amount": credit_amount, "LinkedTxn": [{"TxnId": memo_id, "TxnType": "CreditMemo"}]},
        ],
    }
    with company_scope(connected.company):
        return client_for(connection=connected).create("Payment", body)


def contact_view(personas) -> dict:
    response = panel(personas.alice_membership).get(f"/api/v1/contact-invoices?deal_id={DEAL}")
    assert response.status_code == 200, response.content
    return response.json()


def qbo_balance(connected) -> qbo_credit.CustomerBalance:
    with company_scope(connected.company):
        return qbo_credit.customer_balance(client=client_for(connection=connected), customer_id=CUSTOMER)


def test_credit_applied_shows_under_the_invoice_and_the_contact_view_shows_balance_and_credit(qbo, connected, personas):
    invoice = invoice_on_deal(qbo, connected)  # 100.00 USD, by webhook
    memo = memo_create(connected, 20)  # its Create webhook stores our copy
    copy = CreditMemo.all_companies.get(connection=connected, qbo_id=memo["Id"])
    assert (copy.doc_number, copy.total, copy.remaining_credit) == (
        memo["DocNumber"],
        Decimal("20.00"),
        Decimal("20.00"),
    )
    apply_credit(connected, invoice_qbo_id=invoice.qbo_id, cash=30, memo_id=memo["Id"], credit_amount=20)
    assert panel_payments(personas) == [
        {
            "date": panel_payments(personas)[0]["date"],
            "amount": "30.00",
            "credit_applied": "20.00",
            "currency": "USD",
            "method": "",
            "reference": "CM-USE",
            "credit_memos": memo["DocNumber"],
        }
    ]
    copy.refresh_from_db()
    assert copy.remaining_credit == Decimal("0.00")  # the credit memo's Update webhook
    before = contact_view(personas)["balance"]
    assert before["unapplied_credit"] == "0.00"
    # A second credit memo, not applied: unapplied credit, and QuickBooks' open balance net of it.
    memo_create(connected, 15)
    body = contact_view(personas)
    truth = qbo_balance(connected)
    assert body["balance"] == {
        "open_balance": str(truth.open_balance),
        "unapplied_credit": "15.00",
        "currency": truth.currency,
    }
    assert Decimal(body["balance"]["open_balance"]) == Decimal(before["open_balance"]) - 15


def test_the_contact_view_reads_the_balance_with_no_call_to_quickbooks_and_constant_queries(qbo, connected, personas):
    invoice_on_deal(qbo, connected)
    before_calls = controls.call_count(realm_id=qbo.us_realm)
    with CaptureQueriesContext(db_connection) as without:
        body = contact_view(personas)
    assert body["balance"] is not None  # stored when the invoice's webhook arrived
    CustomerBalance.all_companies.filter(connection=connected).delete()
    assert contact_view(personas)["balance"] is None  # not synced yet: nothing invented
    with company_scope(connected.company):
        credit.balances_refresh(connection=connected, customer_ids=[CUSTOMER])
    after_calls = controls.call_count(realm_id=qbo.us_realm)
    with CaptureQueriesContext(db_connection) as with_balance:
        assert contact_view(personas)["balance"] is not None
    assert controls.call_count(realm_id=qbo.us_realm) == after_calls  # reads call QuickBooks 0 times
    assert after_calls - before_calls == 3  # only the refresh: one read and two queries
    assert len(with_balance) == len(without)


def test_a_changed_balance_changes_the_etag(qbo, connected, personas):
    invoice_on_deal(qbo, connected)
    alice = panel(personas.alice_membership)
    url = f"/api/v1/contact-invoices?deal_id={DEAL}"
    first = alice.get(url)
    assert alice.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    memo_create(connected, 12)  # only the customer's credit changed, no invoice of ours
    again = alice.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 200 and again.json()["balance"]["unapplied_credit"] == "12.00"


def _change(kind: str, memo_id: str, operation: str, n: int) -> Change:
    return Change(
        event_id=f"evt-{memo_id}-{operation}-{n}",
        realm_id="",
        entity=kind,
        entity_id=memo_id,
        operation=operation,
        occurred_at=dt.datetime(2026, 11, 30, tzinfo=dt.UTC),
    )


def test_duplicate_and_out_of_order_credit_memo_webhooks(qbo, connected, personas):
    invoice_on_deal(qbo, connected)
    memo = memo_create(connected, 40)
    with company_scope(connected.company):
        # The same Update delivered twice: one copy, the same values.
        changes = [_change("CreditMemo", memo["Id"], "Update", 1)] * 2
        sync.changes_apply(connection=connected, changes=changes)
        assert CreditMemo.all_companies.filter(connection=connected, qbo_id=memo["Id"]).count() == 1
        # An older copy read late (CDC answered before the webhook's re-read) does not win.
        stale = qbo_credit.parse_credit_memo(
            {**memo, "RemainingCredit": 1, "MetaData": {"LastUpdatedTime": "2020-01-01T00:00:00-08:00"}}
        )
        assert credit.credit_memo_store(connection=connected, memo=stale) is False
        assert CreditMemo.all_companies.get(qbo_id=memo["Id"]).remaining_credit == Decimal("40.00")
        # Deleted in QuickBooks while our receiver was down; then its Update arrives after its Delete.
        with override_settings(QBO_SANDBOX_WEBHOOK_URL=DOWN):
            fresh = client_for(connection=connected).read("CreditMemo", memo["Id"])
            client_for(connection=connected).delete("CreditMemo", memo["Id"], fresh["SyncToken"])
        late = [_change("CreditMemo", memo["Id"], "Delete", 2), _change("CreditMemo", memo["Id"], "Update", 3)]
        sync.changes_apply(connection=connected, changes=late)
    assert not CreditMemo.all_companies.filter(connection=connected, qbo_id=memo["Id"]).exists()
    balance = CustomerBalance.all_companies.get(connection=connected, customer_qbo_id=CUSTOMER)
    assert balance.unapplied_credit == qbo_balance(connected).unapplied_credit  # read again after the delete


def test_cdc_heals_missed_credit_memo_and_payment_webhooks(qbo, connected, personas):
    invoice = invoice_on_deal(qbo, connected)
    with override_settings(QBO_SANDBOX_WEBHOOK_URL=DOWN):
        memo = memo_create(connected, 25)
        apply_credit(connected, invoice_qbo_id=invoice.qbo_id, cash=10, memo_id=memo["Id"], credit_amount=25)
    assert not CreditMemo.all_companies.filter(connection=connected).exists()
    assert panel_payments(personas) == []
    with company_scope(connected.company):
        sync_feeds.connection_cdc_sync(connection=connected)
    (payment,) = panel_payments(personas)
    assert (payment["amount"], payment["credit_applied"], payment["credit_memos"]) == (
        "10.00",
        "25.00",
        memo["DocNumber"],
    )
    assert CreditMemo.all_companies.get(qbo_id=memo["Id"]).remaining_credit == Decimal("0.00")
    body = contact_view(personas)
    assert body["balance"]["open_balance"] == str(qbo_balance(connected).open_balance)
    # The sweep again: nothing doubles.
    with company_scope(connected.company):
        sync_feeds.connection_cdc_sync(connection=connected)
    assert InvoicePayment.all_companies.filter(invoice=invoice).count() == 1
    assert CreditMemo.all_companies.filter(connection=connected).count() == 1
