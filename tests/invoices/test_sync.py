"""Status flows back from QuickBooks: signed webhooks (both shapes), replays, CDC healing, refresh.

Everything runs over real HTTP: the QBO sandbox posts signed webhooks to our receiver, which
stores them and re-fetches the invoices from the sandbox through our client.
"""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.test import override_settings

from integration.models import WebhookDelivery, WebhookEvent
from integration.sandbox.quickbooks import controls
from integration.sandbox.quickbooks.webhooks import sign
from invoices import sync, sync_feeds
from invoices.models import Invoice, InvoiceEvent
from tenants.scoping import company_scope

LINE = [
    {
        "Amount": 100.0,
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"ItemRef": {"value": "2"}, "Qty": 2, "UnitPrice": 50},
    }
]


def invoice_of(connection, qbo_id: str) -> Invoice:
    return Invoice.all_companies.get(connection=connection, qbo_id=qbo_id)


def events_of(invoice: Invoice) -> list[str]:
    return list(InvoiceEvent.all_companies.filter(invoice=invoice).order_by("id").values_list("kind", flat=True))


def post_webhook(client, body: bytes, signature: str | None = None):
    return client.post(
        "/webhooks/quickbooks",
        data=body,
        content_type="application/json",
        headers={"intuit-signature": signature if signature is not None else sign(body)},
    )


@pytest.mark.parametrize("fmt", ["legacy", "cloudevents"])
def test_changes_made_in_quickbooks_reach_our_invoice_through_webhooks(qbo, connected, fmt):
    controls.set_webhook_format(realm_id=qbo.us_realm, fmt=fmt)
    created = controls.create_invoice(realm_id=qbo.us_realm, customer_id="3", lines=LINE, DueDate="2099-01-31")
    invoice = invoice_of(connected, created["Id"])
    assert (invoice.status, invoice.total, invoice.balance) == ("open", Decimal("100.00"), Decimal("100.00"))
    assert invoice.customer_name == "Red Rock Diner"
    assert invoice.company_id == connected.company_id

    controls.record_payment(realm_id=qbo.us_realm, invoice_id=created["Id"], amount="40")
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance) == ("partially_paid", Decimal("60.00"))

    controls.record_payment(realm_id=qbo.us_realm, invoice_id=created["Id"])
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance) == ("paid", Decimal("0.00"))
    assert events_of(invoice) == ["synced", "status_changed", "status_changed"]
    assert all(d.processed_at for d in WebhookDelivery.objects.all())


def test_void_amount_change_and_delete_in_quickbooks(qbo, connected):
    created = controls.create_invoice(realm_id=qbo.us_realm, customer_id="3", lines=LINE, DueDate="2099-01-31")
    controls.edit_invoice(
        realm_id=qbo.us_realm,
        invoice_id=created["Id"],
        changes={
            "Line": [
                {
                    **LINE[0],
                    "Amount": 150.0,
                    "SalesItemLineDetail": {"ItemRef": {"value": "2"}, "Qty": 3, "UnitPrice": 50},
                }
            ]
        },
    )
    invoice = invoice_of(connected, created["Id"])
    assert invoice.total == Decimal("150.00")
    controls.void_invoice(realm_id=qbo.us_realm, invoice_id=created["Id"])
    invoice.refresh_from_db()
    assert (invoice.status, invoice.total) == ("voided", Decimal("0.00"))
    controls.delete_invoice(realm_id=qbo.us_realm, invoice_id=created["Id"])
    invoice.refresh_from_db()
    assert invoice.status == "deleted"
    assert events_of(invoice) == ["synced", "synced", "voided", "deleted"]


def test_bad_signature_is_refused_and_nothing_is_stored(qbo, connected, client):
    body = json.dumps(
        {
            "eventNotifications": [
                {
                    "realmId": qbo.us_realm,
                    "dataChangeEvent": {
                        "entities": [
                            {"name": "Invoice", "id": "1", "operation": "Update", "lastUpdated": "2026-11-27T00:00:00Z"}
                        ]
                    },
                }
            ]
        }
    ).encode()
    for signature in ["", "bm9wZQ==", sign(body, token="someone-elses-token"), sign(body + b" ")]:
        assert post_webhook(client, body, signature).status_code == 401
    assert WebhookDelivery.objects.count() == 0 and WebhookEvent.objects.count() == 0


def test_a_replayed_webhook_is_processed_once(qbo, connected, client):
    created = controls.create_invoice(realm_id=qbo.us_realm, customer_id="3", lines=LINE, DueDate="2099-01-31")
    body = json.dumps(
        [
            {
                "specversion": "1.0",
                "id": "evt-123",
                "source": "intuit.x",
                "type": "qbo.invoice.updated.v1",
                "time": "2026-11-27T00:00:00.123456789Z",
                "intuitentityid": created["Id"],
                "intuitaccountid": qbo.us_realm,
                "data": {},
            }
        ]
    ).encode()
    before = controls.call_count(realm_id=qbo.us_realm)
    first = post_webhook(client, body)
    assert first.status_code == 200
    after_first = controls.call_count(realm_id=qbo.us_realm)
    assert after_first > before  # the invoice was re-fetched
    assert post_webhook(client, body).status_code == 200
    assert controls.call_count(realm_id=qbo.us_realm) == after_first  # nothing fetched again
    assert WebhookEvent.objects.filter(event_id="evt-123").count() == 1


def test_unreadable_payload_is_acknowledged_not_retried_forever(client, db):
    body = b'{"hello": "world"}'
    response = post_webhook(client, body)
    assert response.status_code == 200
    assert response.json()["status"] == "ignored"


def test_missed_webhooks_are_healed_by_the_cdc_sweep(qbo, connected):
    created = controls.create_invoice(realm_id=qbo.us_realm, customer_id="3", lines=LINE, DueDate="2099-01-31")
    with override_settings(QBO_SANDBOX_WEBHOOK_URL="http://127.0.0.1:1/webhooks/quickbooks"):  # receiver down
        controls.record_payment(realm_id=qbo.us_realm, invoice_id=created["Id"])
    invoice = invoice_of(connected, created["Id"])
    assert invoice.status == "open"  # the webhook never arrived

    before = controls.call_count(realm_id=qbo.us_realm)
    with company_scope(connected.company):
        sync_feeds.connection_cdc_sync(connection=connected)
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance) == ("paid", Decimal("0.00"))
    # one CDC call plus one query for the invoices of changed payments, not one call per invoice;
    # plus the balance of the one customer concerned (money loop: one read and two queries)
    assert controls.call_count(realm_id=qbo.us_realm) - before <= 2 + 3
    connected.refresh_from_db()
    assert connected.cdc_cursor is not None and connected.last_sync_at is not None


def test_a_realms_changes_only_reach_the_company_connected_to_it(qbo, connected, personas):
    from integration.quickbooks.models import QuickBooksConnection

    other = QuickBooksConnection.all_companies.create(
        company=personas.company_b, realm_id=qbo.uk_realm, status="active", access_token="x", refresh_token="y"
    )
    created = controls.create_invoice(realm_id=qbo.us_realm, customer_id="3", lines=LINE, DueDate="2099-01-31")
    assert Invoice.all_companies.filter(qbo_id=created["Id"]).values_list("company", flat=True).get() == (
        personas.company_a.pk
    )
    assert not Invoice.all_companies.filter(connection=other).exists()


def test_overdue_is_recorded_by_the_daily_job(qbo, connected):
    created = controls.create_invoice(realm_id=qbo.us_realm, customer_id="3", lines=LINE, DueDate="2099-01-31")
    invoice = invoice_of(connected, created["Id"])
    Invoice.all_companies.filter(pk=invoice.pk).update(due_date="2020-01-01")
    with company_scope(connected.company):
        assert sync.overdue_refresh(connection=connected) == 1
        assert sync.overdue_refresh(connection=connected) == 0
    invoice.refresh_from_db()
    assert invoice.status == "overdue"
    assert events_of(invoice)[-1] == "status_changed"


def test_beat_schedules_every_sweep():
    from django.conf import settings

    tasks = {entry["task"]: entry["schedule"] for entry in settings.CELERY_BEAT_SCHEDULE.values()}
    assert set(tasks) == {
        "invoices.cdc_sweep",
        "invoices.overdue_sweep",
        "invoices.heal",
        "invoices.prune_logs",
        "invoices.deal_figures_sweep",
        "invoices.deal_notes_sweep",
    }
    # Healing (stale intents, stored webhooks, catch-up sync) runs often enough to finish within 60 s.
    assert tasks["invoices.heal"] <= 20


def test_stuck_pending_invoices_are_sent_again(personas, monkeypatch):
    import datetime as dt

    from django.utils import timezone

    from invoices import tasks
    from tests.personas import add_invoices

    add_invoices(personas)
    Invoice.all_companies.filter(pk=personas.invoice_a.pk).update(
        state="pending", next_attempt_at=timezone.now() - dt.timedelta(minutes=30)
    )
    Invoice.all_companies.filter(pk=personas.invoice_b.pk).update(
        state="pending", next_attempt_at=timezone.now() + dt.timedelta(minutes=30)
    )
    sent = []
    monkeypatch.setattr(tasks.submit_invoice, "delay", lambda **kwargs: sent.append(kwargs))
    assert tasks.resubmit_stuck() == 1
    assert sent == [{"company_id": personas.company_a.pk, "invoice_id": personas.invoice_a.pk}]
    # An intent whose worker died before any retry was scheduled (no next attempt, claim expired).
    Invoice.all_companies.filter(pk=personas.invoice_b.pk).update(
        next_attempt_at=None,
        claimed_until=timezone.now() - dt.timedelta(minutes=1),
        updated_at=timezone.now() - dt.timedelta(minutes=30),
    )
    sent.clear()
    assert tasks.resubmit_stuck() == 2
    assert {s["invoice_id"] for s in sent} == {personas.invoice_a.pk, personas.invoice_b.pk}


def test_the_overdue_job_never_overwrites_a_payment(personas, monkeypatch):
    """A payment lands while the daily job runs: the invoice stays paid, no false event."""
    from tests.personas import add_invoices

    add_invoices(personas)
    Invoice.all_companies.filter(pk=personas.invoice_a.pk).update(due_date="2020-01-01")
    original_filter = Invoice.objects.filter
    calls = []

    def filter_then_pay(*args, **kwargs):
        calls.append(kwargs)
        if len(calls) > 1:
            return original_filter(*args, **kwargs)
        rows = list(original_filter(*args, **kwargs))  # the job's list of open invoices...
        Invoice.all_companies.filter(pk=personas.invoice_a.pk).update(status="paid", balance=0)  # ...then a payment
        return rows

    monkeypatch.setattr(Invoice.objects, "filter", filter_then_pay, raising=False)
    with company_scope(personas.company_a):
        moved = sync.overdue_refresh(connection=personas.connection_a)
    monkeypatch.undo()
    assert moved == 0
    assert Invoice.all_companies.get(pk=personas.invoice_a.pk).status == "paid"
    assert not InvoiceEvent.all_companies.filter(invoice=personas.invoice_a, kind="status_changed").exists()


@pytest.mark.parametrize(
    "body", [b'{"eventNotifications": ["x"]}', b"[1, 2]", b'{"eventNotifications": [{"dataChangeEvent": 5}]}']
)
def test_odd_but_signed_payloads_are_acknowledged_not_crashed(client, db, body):
    response = post_webhook(client, body)
    assert response.status_code == 200
    assert response.json()["status"] == "ignored"
    assert WebhookDelivery.objects.count() == 0
