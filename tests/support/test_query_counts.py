"""List pages cost the same number of queries for 10 rows as for 100 (no per-row queries), so
they stay fast with 100,000 invoices."""

from __future__ import annotations

import pytest
from django.db import connection as db
from django.test.utils import CaptureQueriesContext

from integration.models import ApiCall, WebhookDelivery, WebhookEvent
from integration.pipedrive.models import PipedriveInstallation
from integration.quickbooks.models import QuickBooksConnection
from invoices.models import Invoice, InvoiceDeal, InvoiceEvent
from tenants.models import AuditLog, Membership
from tests.factories import CompanyFactory, UserFactory

PAGES = [
    "/admin/tenants/company/",
    "/admin/tenants/membership/",
    "/admin/tenants/auditlog/",
    "/admin/invoices/invoice/",
    "/admin/invoices/invoice/?job=attention",
    "/admin/invoices/invoiceevent/",
    "/admin/invoices/invoicedeal/",
    "/admin/quickbooks/quickbooksconnection/",
    "/admin/pipedrive/pipedriveinstallation/",
    "/admin/integration/apicall/",
    "/admin/integration/webhookdelivery/",
    "/admin/integration/webhookevent/",
]


def add_rows(count: int, offset: int, support_user) -> None:
    """`count` companies, each with a member, a connection, an installation, a failed invoice on a
    deal with an event, an API call, a webhook delivery with an event, and an audit entry."""
    from django.utils import timezone

    for n in range(offset, offset + count):
        company = CompanyFactory(name=f"Company {n}", pipedrive_company_id=50000 + n)
        user = UserFactory(email=f"user{n}@c{n}.test")
        membership = Membership.all_companies.create(company=company, user=user, pipedrive_user_id=n)
        connection = QuickBooksConnection.all_companies.create(
            company=company, owner=membership, realm_id=str(9000000 + n), access_token="a", refresh_token="r"
        )
        PipedriveInstallation.all_companies.create(
            company=company,
            membership=membership,
            pipedrive_user_id=n,
            access_token="a",
            refresh_token="r",
            access_expires_at=timezone.now(),
            api_domain="https://x.pipedrive.com",
        )
        invoice = Invoice.all_companies.create(
            company=company, connection=connection, state="failed", currency="USD", last_error="boom", doc_number=str(n)
        )
        InvoiceDeal.all_companies.create(company=company, invoice=invoice, deal_id=n, linked_by=membership)
        InvoiceEvent.all_companies.create(company=company, invoice=invoice, kind="create_failed", actor=membership)
        ApiCall.objects.create(
            company=company, service="quickbooks", method="GET", path="/x", status=200, duration_ms=3
        )
        delivery = WebhookDelivery.objects.create(service="quickbooks", body=b"{}")
        WebhookEvent.objects.create(
            delivery=delivery,
            company=company,
            event_id=f"e{n}",
            realm_id=connection.realm_id,
            entity="Invoice",
            entity_id=str(n),
            operation="Update",
        )
        AuditLog.objects.create(
            action="token_refresh", company=company, actor=support_user, actor_email=support_user.email
        )


def queries(client, path: str) -> int:
    with CaptureQueriesContext(db) as ctx:
        response = client.get(path)
    assert response.status_code == 200, path
    return len(ctx.captured_queries)


@pytest.mark.parametrize("path", PAGES)
def test_list_page_queries_do_not_grow_with_the_rows_shown(path, support, support_client):
    add_rows(10, 0, support.user)
    queries(support_client, path)  # warm the per-process caches (content types, permissions)
    small = queries(support_client, path)
    add_rows(90, 10, support.user)
    large = queries(support_client, path)
    assert large == small, f"{path}: {small} queries for 10 rows, {large} for 100"
    assert small <= 15, f"{path}: {small} queries"


def test_the_company_page_queries_do_not_grow_with_its_history(support, support_client):
    add_rows(1, 0, support.user)
    from tenants.models import Company

    company = Company.objects.get(pipedrive_company_id=50000)
    path = f"/admin/tenants/company/{company.pk}/change/"
    queries(support_client, path)  # warm the per-process caches (content types, permissions)
    small = queries(support_client, path)
    connection = QuickBooksConnection.all_companies.get(company=company)
    for n in range(40):
        Invoice.all_companies.create(
            company=company, connection=connection, state="pending", currency="USD", doc_number=f"x{n}"
        )
        ApiCall.objects.create(
            company=company, service="quickbooks", method="GET", path="/y", status=429, duration_ms=1
        )
    assert queries(support_client, path) == small
    page = support_client.get(path).content.decode()
    assert page.count("/admin/invoices/invoice/") >= 20  # the recent invoices and failed jobs are listed
