"""Each support action, run through the admin as staff do (confirmation page, then the background
job), against the QuickBooks sandbox over HTTP: its effect, and its audit record."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone
from django.utils.html import escape

from integration.models import WebhookDelivery
from integration.quickbooks.models import QuickBooksConnection
from integration.sandbox.quickbooks import controls
from invoices.models import Invoice
from tenants.models import AuditLog
from tests.invoices.test_create import a_draft

LINE = [
    {
        "Amount": 100.0,
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"ItemRef": {"value": "2"}, "Qty": 2, "UnitPrice": 50},
    }
]


def run_action(client, changelist: str, action: str, ids: list[int], **form) -> AuditLog:
    """Choose the action on the change list, check the confirmation page, confirm."""
    before = AuditLog.objects.count()
    selection = {"action": f"support_{action}", "_selected_action": ids}
    page = client.post(changelist, {**selection, "index": 0})
    assert page.status_code == 200
    assert "admin/support/confirm_action.html" in [t.name for t in page.templates]
    assert AuditLog.objects.count() == before  # nothing runs before the confirmation
    response = client.post(changelist, {**selection, "confirm": "yes", **form})
    assert response.status_code == 302, response.content[:2000]
    entry = AuditLog.objects.latest("id")
    assert response["Location"] == f"/admin/tenants/auditlog/{entry.pk}/change/"
    assert client.get(response["Location"]).status_code == 200
    return entry


def connection_row(connection) -> QuickBooksConnection:
    return QuickBooksConnection.all_companies.get(pk=connection.pk)


def failed_invoice(connection, *, error="QuickBooks was unavailable (503).") -> Invoice:
    draft = a_draft()
    draft.customer.qbo_customer_id = "3"
    draft.customer.name = ""
    return Invoice.all_companies.create(
        company=connection.company,
        connection=connection,
        state=Invoice.State.FAILED,
        currency="USD",
        total="222.00",
        attempts=12,
        last_error=error,
        payload={"draft": draft.as_dict()},
    )


def test_refresh_the_token_now(qbo, connected, support, support_client):
    before = connection_row(connected)
    token_calls = controls.call_count(kind="token")
    entry = run_action(support_client, "/admin/quickbooks/quickbooksconnection/", "token_refresh", [connected.pk])
    after = connection_row(connected)
    assert after.access_token != before.access_token and after.refresh_token
    assert after.token_refreshed_at > before.token_refreshed_at
    assert controls.call_count(kind="token") == token_calls + 1
    assert (entry.action, entry.status, entry.total, entry.succeeded, entry.failed) == (
        "token_refresh",
        "done",
        1,
        1,
        0,
    )
    assert entry.actor == support.user and entry.actor_email == "support@ops.test"
    assert entry.company_id == connected.company_id and entry.finished_at is not None
    assert entry.results[0]["ok"] and "expires" in entry.results[0]["message"]


def test_a_refresh_that_intuit_refuses_marks_the_connection_and_the_audit_failed(qbo, connected, support_client):
    controls.disconnect(realm_id=qbo.us_realm)  # the user disconnected our app inside QuickBooks
    entry = run_action(support_client, "/admin/quickbooks/quickbooksconnection/", "token_refresh", [connected.pk])
    assert connection_row(connected).status == "needs_reconnect"
    assert (entry.status, entry.succeeded, entry.failed) == ("failed", 0, 1)
    assert "reconnect" in entry.results[0]["message"].lower()


def test_resync_from_a_date_finds_invoices_the_webhooks_missed(qbo, connected, support_client):
    with override_settings(QBO_SANDBOX_WEBHOOK_URL="http://127.0.0.1:1/webhooks/quickbooks"):  # receiver down
        created = controls.create_invoice(realm_id=qbo.us_realm, customer_id="3", lines=LINE, DueDate="2099-01-31")
    assert not Invoice.all_companies.filter(connection=connected, qbo_id=created["Id"]).exists()
    since = (timezone.now() - dt.timedelta(days=2)).date().isoformat()
    entry = run_action(support_client, "/admin/quickbooks/quickbooksconnection/", "resync", [connected.pk], since=since)
    invoice = Invoice.all_companies.get(connection=connected, qbo_id=created["Id"])
    assert (invoice.status, str(invoice.total)) == ("open", "100.00")
    assert entry.status == "done" and entry.params == {"since": since}
    assert "1 invoices updated" in entry.results[0]["message"]
    assert connection_row(connected).last_sync_at is not None


def test_resync_needs_a_date(qbo, connected, support_client):
    selection = {"action": "support_resync", "_selected_action": [connected.pk], "confirm": "yes"}
    page = support_client.post("/admin/quickbooks/quickbooksconnection/", selection)
    assert page.status_code == 200 and page.context["form"].errors
    assert not AuditLog.objects.exists()


def test_retry_failed_jobs_of_a_company_from_its_page(qbo, connected, support_client):
    jobs = [failed_invoice(connected), failed_invoice(connected)]
    company_page = support_client.get(f"/admin/tenants/company/{connected.company_id}/change/").content.decode()
    assert "Retry failed jobs (2)" in company_page and "QuickBooks was unavailable (503)." in company_page
    entry = run_action(support_client, "/admin/tenants/company/", "retry_invoice", [connected.company_id])
    assert (entry.target_model, sorted(entry.target_ids)) == ("invoices.Invoice", sorted(j.pk for j in jobs))
    assert (entry.status, entry.total, entry.succeeded, entry.failed) == ("done", 2, 2, 0)
    for job in jobs:
        job.refresh_from_db()
        assert job.state == "created" and job.qbo_id and job.last_error == ""
    assert len({job.qbo_id for job in jobs}) == 2  # two intents, two QuickBooks invoices


def test_retrying_an_invoice_that_is_already_in_quickbooks_is_recorded_as_refused(qbo, connected, support_client):
    job = failed_invoice(connected)
    done = Invoice.all_companies.create(
        company=connected.company, connection=connected, state="created", qbo_id="1", currency="USD"
    )
    entry = run_action(support_client, "/admin/invoices/invoice/", "retry_invoice", [job.pk, done.pk])
    assert (entry.status, entry.succeeded, entry.failed) == ("failed", 1, 1)
    outcome = {result["id"]: result for result in entry.results}
    assert outcome[job.pk]["ok"] and not outcome[done.pk]["ok"]
    assert "nothing to retry" in outcome[done.pk]["message"]


def test_redeliver_a_stored_webhook(qbo, connected, support_client):
    created = controls.create_invoice(realm_id=qbo.us_realm, customer_id="3", lines=LINE, DueDate="2099-01-31")
    invoice = Invoice.all_companies.get(connection=connected, qbo_id=created["Id"])
    delivery = WebhookDelivery.objects.filter(events__entity_id=created["Id"]).get()
    assert delivery.processed_at is not None and delivery.attempts == 1
    # Our copy went wrong (say, a bad deploy): re-delivering the stored webhook heals it.
    Invoice.all_companies.filter(pk=invoice.pk).update(status="paid", balance=0)
    entry = run_action(support_client, "/admin/integration/webhookdelivery/", "webhook_redeliver", [delivery.pk])
    invoice.refresh_from_db()
    assert (invoice.status, str(invoice.balance)) == ("open", "100.00")
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.processed_at is not None and delivery.last_error == ""
    assert entry.status == "done" and entry.company is None  # a delivery may span companies
    assert entry.results[0] == {
        "id": delivery.pk,
        "company_id": None,
        "ok": True,
        "message": entry.results[0]["message"],
    }


def test_mark_needs_reconnect_from_the_company_page(qbo, connected, support_client):
    entry = run_action(support_client, "/admin/tenants/company/", "mark_needs_reconnect", [connected.company_id])
    row = connection_row(connected)
    assert row.status == "needs_reconnect" and row.access_token == "" and row.refresh_token == ""
    assert (entry.target_model, entry.target_ids, entry.status) == (
        "quickbooks.QuickBooksConnection",
        [connected.pk],
        "done",
    )


def test_superuser_disconnects(qbo, connected, superuser, superuser_client):
    revokes = controls.call_count(kind="revoke")
    entry = run_action(superuser_client, "/admin/quickbooks/quickbooksconnection/", "disconnect", [connected.pk])
    row = connection_row(connected)
    assert row.status == "disconnected" and row.access_token == "" and row.disconnected_at is not None
    assert controls.call_count(kind="revoke") == revokes + 1
    assert entry.status == "done" and entry.actor == superuser.user and entry.company_id == connected.company_id


@pytest.mark.django_db
def test_bulk_actions_are_queued_then_run_by_the_worker_task_and_resume(
    personas, support, support_client, django_capture_on_commit_callbacks
):
    from tenants import tasks
    from tenants.support import support_action_start
    from tests.personas import add_invoices

    data = add_invoices(personas)
    ids = [data.connection_a.pk, data.connection_b.pk]
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        entry = support_action_start(action="mark_needs_reconnect", actor=support.user, target_ids=ids)
    assert len(callbacks) == 1  # enqueued after the commit, not before
    entry.refresh_from_db()
    assert (entry.status, entry.total, entry.company) == ("queued", 2, None)  # two companies
    page = support_client.get(f"/admin/tenants/auditlog/{entry.pk}/change/").content.decode()
    assert "0/2 (0 ok, 0 failed)" in page and 'http-equiv="refresh"' in page  # the page follows the job
    # A worker that died after the first target: the job resumes with the rest.
    entry.results = [{"id": data.connection_a.pk, "company_id": data.company_a.pk, "ok": True, "message": "done"}]
    entry.succeeded = 1
    entry.status = "running"
    entry.save()
    assert tasks.run_support_action.apply(kwargs={"audit_id": entry.pk}).get() == "done"
    entry.refresh_from_db()
    assert (entry.succeeded, entry.failed, len(entry.results)) == (2, 0, 2)
    assert QuickBooksConnection.all_companies.get(pk=data.connection_a.pk).status == "active"  # skipped
    assert QuickBooksConnection.all_companies.get(pk=data.connection_b.pk).status == "needs_reconnect"
    page = support_client.get(f"/admin/tenants/auditlog/{entry.pk}/change/").content.decode()
    assert "2/2 (2 ok, 0 failed)" in page and 'http-equiv="refresh"' not in page
    # Delivered twice: a finished job does nothing again.
    assert tasks.run_support_action.apply(kwargs={"audit_id": entry.pk}).get() == "done"


def test_a_redelivery_that_fails_is_recorded_and_can_be_run_again(qbo, connected, support_client):
    created = controls.create_invoice(realm_id=qbo.us_realm, customer_id="3", lines=LINE, DueDate="2099-01-31")
    delivery = WebhookDelivery.objects.filter(events__entity_id=created["Id"]).get()
    Invoice.all_companies.filter(connection=connected, qbo_id=created["Id"]).update(status="voided")
    controls.inject_failure(kind="503", count=1, realm_id=qbo.us_realm)  # QuickBooks is down for the re-fetch
    failed = run_action(support_client, "/admin/integration/webhookdelivery/", "webhook_redeliver", [delivery.pk])
    assert (failed.status, failed.failed) == ("failed", 1)
    delivery.refresh_from_db()
    assert delivery.last_error and delivery.processed_at is None
    assert failed.results[0]["message"] and qbo.us_realm in failed.results[0]["message"]
    company_page = support_client.get(f"/admin/tenants/company/{connected.company_id}/change/").content.decode()
    assert escape(delivery.last_error[:40]) in company_page  # the failing delivery shows on the company page

    again = run_action(support_client, "/admin/integration/webhookdelivery/", "webhook_redeliver", [delivery.pk])
    assert again.status == "done"
    assert Invoice.all_companies.get(connection=connected, qbo_id=created["Id"]).status == "open"
    delivery.refresh_from_db()
    assert delivery.last_error == "" and delivery.processed_at is not None


def test_a_selection_above_the_cap_is_refused_not_truncated(qbo, connected, personas, support_client, monkeypatch):
    import tenants.admin_base

    monkeypatch.setattr(tenants.admin_base, "MAX_ACTION_TARGETS", 0)  # the one connection selected is over it
    before = AuditLog.objects.count()
    ids = [personas.company_a.pk, personas.company_b.pk]
    response = support_client.post(
        "/admin/tenants/company/",
        {"action": "support_mark_needs_reconnect", "_selected_action": ids, "index": 0},
        follow=True,
    )
    assert "select fewer at a time" in response.content.decode()
    assert AuditLog.objects.count() == before
    assert connection_row(connected).status == "active"
