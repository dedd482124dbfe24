"""Roles: support views everything and runs the safe actions; only superusers disconnect or delete;
everyone else stays out."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from integration.quickbooks.models import QuickBooksConnection
from tenants.models import AuditLog, Company
from tenants.support import support_action_start
from tests.personas import add_invoices
from tests.support.conftest import make_staff


@pytest.fixture
def data(personas):
    return add_invoices(personas)


def action_names(client, path) -> set[str]:
    page = client.get(path)
    assert page.status_code == 200
    return {value for value, _label in page.context["action_form"].fields["action"].choices if value}


def test_non_staff_and_anonymous_are_kept_out_of_every_support_page(client, web_as, data):
    pages = [
        "/admin/",
        "/admin/support/health/",
        f"/admin/tenants/company/{data.company_a.pk}/change/",
        "/admin/invoices/invoice/",
        "/admin/tenants/auditlog/",
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 302 and "/login/" in response["Location"], path
    alice = web_as("alice")
    for path in pages:
        response = alice.get(path)
        assert response.status_code == 302, path
        assert "Acme Robotics" not in response.content.decode()
    # A POST of an action by a non-staff user changes nothing.
    alice.post(
        "/admin/tenants/company/",
        {"action": "support_mark_needs_reconnect", "_selected_action": [data.company_a.pk], "confirm": "yes"},
    )
    assert QuickBooksConnection.all_companies.get(pk=data.connection_a.pk).status == "active"
    assert not AuditLog.objects.exists()


def test_staff_without_the_support_group_sees_no_models_and_runs_nothing(data):
    bare = make_staff("bare@ops.test")
    client = bare.login()
    assert client.get("/admin/tenants/company/").status_code == 403
    assert client.get("/admin/support/health/").status_code == 403
    with pytest.raises(PermissionDenied):
        support_action_start(action="token_refresh", actor=bare.user, target_ids=[data.connection_a.pk])
    refused = AuditLog.objects.get()
    assert (refused.status, refused.action, refused.actor_email) == ("refused", "token_refresh", "bare@ops.test")
    assert refused.company_id == data.company_a.pk


def test_support_views_everything_runs_safe_actions_but_cannot_disconnect_edit_or_delete(support, support_client, data):
    client = support_client
    for path in [
        "/admin/tenants/company/",
        f"/admin/tenants/company/{data.company_a.pk}/change/",
        "/admin/invoices/invoice/",
        f"/admin/invoices/invoice/{data.invoice_a.pk}/change/",
        "/admin/quickbooks/quickbooksconnection/",
        f"/admin/quickbooks/quickbooksconnection/{data.connection_a.pk}/change/",
        "/admin/integration/apicall/",
        "/admin/integration/webhookdelivery/",
        "/admin/support/health/",
        "/admin/tenants/auditlog/",
    ]:
        assert client.get(path).status_code == 200, path

    actions = action_names(client, "/admin/quickbooks/quickbooksconnection/")
    assert {"support_token_refresh", "support_resync", "support_mark_needs_reconnect"} <= actions
    assert "support_disconnect" not in actions and "delete_selected" not in actions
    company_page = client.get(f"/admin/tenants/company/{data.company_a.pk}/change/").content.decode()
    assert "Refresh QuickBooks token now" in company_page and "Disconnect QuickBooks" not in company_page

    connection_page = client.get(f"/admin/quickbooks/quickbooksconnection/{data.connection_a.pk}/change/")
    assert "Refresh the QuickBooks token now" in connection_page.content.decode()
    assert "Disconnect QuickBooks" not in connection_page.content.decode()

    # Posting the disconnect action anyway does nothing.
    client.post(
        "/admin/quickbooks/quickbooksconnection/",
        {"action": "support_disconnect", "_selected_action": [data.connection_a.pk], "confirm": "yes"},
    )
    assert QuickBooksConnection.all_companies.get(pk=data.connection_a.pk).status == "active"
    with pytest.raises(PermissionDenied):
        support_action_start(action="disconnect", actor=support.user, target_ids=[data.connection_a.pk])
    assert AuditLog.objects.get().status == "refused"

    # No deleting and no editing.
    assert client.get(f"/admin/tenants/company/{data.company_a.pk}/delete/").status_code == 403
    assert client.post(f"/admin/tenants/company/{data.company_a.pk}/delete/", {"post": "yes"}).status_code == 403
    assert client.get(f"/admin/invoices/invoice/{data.invoice_a.pk}/delete/").status_code == 403
    client.post(f"/admin/tenants/company/{data.company_a.pk}/change/", {"name": "Hijacked", "status": "active"})
    assert Company.objects.get(pk=data.company_a.pk).name == "Acme Robotics"
    assert client.get(f"/admin/tenants/auditlog/{AuditLog.objects.get().pk}/delete/").status_code == 403


def test_superusers_may_disconnect_and_delete(superuser_client, data):
    client = superuser_client
    actions = action_names(client, "/admin/quickbooks/quickbooksconnection/")
    assert {"support_disconnect", "delete_selected", "support_token_refresh"} <= actions
    assert "Disconnect QuickBooks" in client.get(f"/admin/tenants/company/{data.company_b.pk}/change/").content.decode()
    connection_page = client.get(f"/admin/quickbooks/quickbooksconnection/{data.connection_b.pk}/change/")
    assert "Disconnect QuickBooks" in connection_page.content.decode()
    response = client.post(f"/admin/invoices/invoice/{data.invoice_b.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    from invoices.models import Invoice

    assert not Invoice.all_companies.filter(pk=data.invoice_b.pk).exists()
    # The audit trail is append-only, even for superusers.
    entry = AuditLog.objects.create(action="token_refresh")
    assert client.get(f"/admin/tenants/auditlog/{entry.pk}/delete/").status_code == 403
