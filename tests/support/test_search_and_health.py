"""Search by what support is told, filters, and the sync-health overview."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.utils import timezone

from integration.models import ApiCall, WebhookDelivery, WebhookEvent
from integration.quickbooks.models import QuickBooksConnection
from invoices.models import Invoice
from tests.personas import add_invoices


@pytest.fixture
def data(personas):
    return add_invoices(personas)


def companies_found(client, term: str) -> set[str]:
    page = client.get("/admin/tenants/company/", {"q": term})
    assert page.status_code == 200
    return {str(company) for company in page.context["cl"].result_list}


def invoices_found(client, query: dict) -> set[int]:
    page = client.get("/admin/invoices/invoice/", query)
    assert page.status_code == 200
    return {invoice.pk for invoice in page.context["cl"].result_list}


def test_company_search_by_everything_support_is_told(support_client, data):
    a, b = str(data.company_a), str(data.company_b)
    for term, expected in [
        ("1001", {a}),  # Pipedrive company id
        ("borealis", {b}),  # Pipedrive domain
        (data.connection_a.realm_id, {a}),  # realm id
        (data.invoice_b.qbo_id, {b}),  # QBO invoice id
        (data.invoice_a.doc_number, {a}),  # invoice number
        (str(data.deal_b), {b}),  # deal id
        ("Customer of Borealis", {b}),  # customer name
        ("bob@acme.test", {a}),  # user email
        ("nobody-knows-this", set()),
    ]:
        assert companies_found(support_client, term) == expected, term


def test_invoice_search_and_filters(support_client, data):
    a, b = data.invoice_a.pk, data.invoice_b.pk
    assert invoices_found(support_client, {"q": str(data.deal_a)}) == {a}
    assert invoices_found(support_client, {"q": data.invoice_b.doc_number}) == {b}
    assert invoices_found(support_client, {"q": data.invoice_b.qbo_id}) == {b}
    assert invoices_found(support_client, {"q": data.connection_a.realm_id}) == {a}
    assert invoices_found(support_client, {"q": "2002"}) == {b}  # Pipedrive company id
    assert invoices_found(support_client, {"q": "acme"}) == {a}  # domain
    failed = Invoice.all_companies.create(
        company=data.company_b, connection=data.connection_b, state="failed", currency="USD", last_error="boom"
    )
    assert invoices_found(support_client, {"job": "attention"}) == {failed.pk}
    assert invoices_found(support_client, {"state": "created", "status": "open"}) == {a, b}
    QuickBooksConnection.all_companies.filter(pk=data.connection_a.pk).update(status="needs_reconnect")
    assert invoices_found(support_client, {"connection_status": "needs_reconnect"}) == {a}
    assert invoices_found(support_client, {"company__id__exact": data.company_b.pk}) == {b, failed.pk}
    companies = support_client.get("/admin/tenants/company/", {"qbo": "needs_reconnect"}).context["cl"].result_list
    assert [c.pk for c in companies] == [data.company_a.pk]
    companies = support_client.get("/admin/tenants/company/", {"jobs": "yes"}).context["cl"].result_list
    assert [c.pk for c in companies] == [data.company_b.pk]


def test_sync_health_overview(support_client, data):
    now = timezone.now()
    QuickBooksConnection.all_companies.filter(pk=data.connection_a.pk).update(
        status="needs_reconnect", needs_reconnect_since=now
    )
    QuickBooksConnection.all_companies.filter(pk=data.connection_b.pk).update(
        refresh_expires_at=now + dt.timedelta(days=10), refresh_hard_expires_at=now + dt.timedelta(days=900)
    )
    Invoice.all_companies.create(
        company=data.company_b, connection=data.connection_b, state="failed", currency="USD", last_error="boom"
    )
    delivery = WebhookDelivery.objects.create(service="quickbooks", body=b"{}", last_error="realm: HTTP 500")
    WebhookEvent.objects.create(
        delivery=delivery,
        company=data.company_a,
        event_id="e1",
        realm_id=data.connection_a.realm_id,
        entity="Invoice",
        entity_id="1",
        operation="Update",
    )
    for status in [200, 200, 200, 429]:
        ApiCall.objects.create(
            company=data.company_b, service="quickbooks", method="GET", path="/q", status=status, duration_ms=5
        )
    old = ApiCall.objects.create(
        company=data.company_b, service="quickbooks", method="GET", path="/q", status=429, duration_ms=5
    )
    ApiCall.objects.filter(pk=old.pk).update(created_at=now - dt.timedelta(hours=3))  # in the day, not the hour
    ApiCall.objects.create(
        company=data.company_b, service="pipedrive", method="GET", path="/p", status=429, duration_ms=5
    )

    page = support_client.get("/admin/support/health/")
    assert page.status_code == 200
    context = page.context
    assert [c.pk for c in context["needs_reconnect"]] == [data.connection_a.pk]
    assert [c.pk for c in context["expiring"]] == [data.connection_b.pk]
    assert [row["company_id"] for row in context["failed_jobs"]] == [data.company_b.pk]
    assert [row["company_id"] for row in context["webhook_errors"]] == [data.company_a.pk]
    assert context["rate_hour"] == {"total": 4, "throttled": 1, "percent": 25.0}
    assert context["rate_day"] == {"total": 5, "throttled": 2, "percent": 40.0}
    html = re.sub(r"\s+", " ", page.content.decode())
    assert "Connections needing a reconnect (1)" in html and "Refresh tokens expiring within 14 days (1)" in html
    assert "Borealis Bakery" in html and "Acme Robotics" in html
    index = support_client.get("/admin/").content.decode()
    assert "/admin/support/health/" in index
