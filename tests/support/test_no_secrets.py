"""No token or secret in any admin page: every registered model's list, change, history and
delete pages, the company page, the sync-health page and every action's confirmation page are
scanned for canary token values (plaintext and ciphertext)."""

from __future__ import annotations

import datetime as dt

import pytest
from allauth.mfa.models import Authenticator
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken
from django.contrib import admin
from django.db import connection as db
from django.utils import timezone

from integration.models import ApiCall, WebhookDelivery, WebhookEvent
from integration.pipedrive.models import PipedriveInstallation
from integration.quickbooks.models import OAuthState, QuickBooksConnection
from invoices.models import CustomerLink, InvoiceLine, ProductLink
from tenants.models import AuditLog, User
from tenants.support import ACTIONS
from tests.personas import add_invoices

CANARIES = {
    "qbo_access": "CANARY-QBO-ACCESS-7f3a9",
    "qbo_refresh": "CANARY-QBO-REFRESH-1c2d8",
    "pd_access": "CANARY-PD-ACCESS-55aa1",
    "pd_refresh": "CANARY-PD-REFRESH-99bb2",
    "social_token": "CANARY-SOCIAL-TOKEN-4e4e",
    "social_secret": "CANARY-SOCIAL-SECRET-8c8c",
    "app_secret": "CANARY-APP-SECRET-3d3d",
}


@pytest.fixture
def world(personas, support, superuser):
    data = add_invoices(personas)
    now = timezone.now()
    QuickBooksConnection.all_companies.filter(pk=data.connection_a.pk).update()
    connection = QuickBooksConnection.all_companies.get(pk=data.connection_a.pk)
    connection.access_token = CANARIES["qbo_access"]
    connection.refresh_token = CANARIES["qbo_refresh"]
    connection.access_expires_at = now + dt.timedelta(hours=1)
    connection.refresh_expires_at = now + dt.timedelta(days=3)  # also listed on the health page
    connection.save()
    PipedriveInstallation.all_companies.create(
        company=data.company_a,
        membership=data.alice_membership,
        pipedrive_user_id=11,
        access_token=CANARIES["pd_access"],
        refresh_token=CANARIES["pd_refresh"],
        access_expires_at=now + dt.timedelta(hours=1),
        api_domain="https://acme.pipedrive.com",
        scopes="deals:read",
    )
    app = SocialApp.objects.create(
        provider="pipedrive", name="Pipedrive", client_id="cid", secret=CANARIES["app_secret"]
    )
    account = SocialAccount.objects.create(user=data.alice, provider="pipedrive", uid="11")
    SocialToken.objects.create(
        app=app, account=account, token=CANARIES["social_token"], token_secret=CANARIES["social_secret"]
    )
    OAuthState.all_companies.create(
        company=data.company_a, user=data.alice, state_hash="f" * 64, expires_at=now + dt.timedelta(minutes=5)
    )
    ApiCall.objects.create(
        company=data.company_a,
        service="quickbooks",
        method="POST",
        path="/v3/company/1/invoice",
        status=429,
        duration_ms=12.5,
        intuit_tid="tid-1",
        error_code="ThrottleExceeded",
        error_message="Too many requests",
    )
    delivery = WebhookDelivery.objects.create(
        service="quickbooks", body=b'{"eventNotifications": []}', last_error="boom"
    )
    WebhookEvent.objects.create(
        delivery=delivery,
        company=data.company_a,
        event_id="e-1",
        realm_id=data.connection_a.realm_id,
        entity="Invoice",
        entity_id="5010",
        operation="Update",
    )
    InvoiceLine.all_companies.create(
        company=data.company_a,
        invoice=data.invoice_a,
        position=1,
        qbo_item_id="2",
        quantity=1,
        unit_price=100,
        amount=100,
    )
    CustomerLink.all_companies.create(
        company=data.company_a, connection=data.connection_a, entity="organization", pipedrive_id=1, qbo_customer_id="3"
    )
    ProductLink.all_companies.create(
        company=data.company_a, connection=data.connection_a, pipedrive_product_id=9, qbo_item_id="2"
    )
    AuditLog.objects.create(action="token_refresh", company=data.company_a, actor=support.user, status="done")
    return data


def secrets_to_find(staff) -> list[str]:
    """The canaries, their ciphertexts as stored, and every TOTP secret."""
    values = list(CANARIES.values())
    with db.cursor() as cursor:
        for table in ("quickbooks_quickbooksconnection", "pipedrive_pipedriveinstallation"):
            cursor.execute(f"SELECT access_token, refresh_token FROM {table}")  # noqa: S608 (fixed table names)
            values += [value for row in cursor.fetchall() for value in row if value and len(value) > 8]
    values += [staff_member.secret for staff_member in staff]
    values += [
        password.split("$")[-1] for password in User.objects.values_list("password", flat=True) if "$" in password
    ]
    values += [str(a.data.get("secret")) for a in Authenticator.objects.all() if a.data.get("secret")]
    return values


def admin_pages(client) -> list[str]:
    paths = ["/admin/", "/admin/support/health/"]
    for model in admin.site._registry:
        opts = model._meta
        base = f"/admin/{opts.app_label}/{opts.model_name}/"
        paths += [base, f"{base}add/"]
        manager = getattr(model, "all_companies", None) or model._default_manager
        for pk in manager.values_list("pk", flat=True)[:5]:
            paths += [f"{base}{pk}/change/", f"{base}{pk}/history/", f"{base}{pk}/delete/"]
    return paths


def assert_clean(client, staff, who: str) -> int:
    secrets = secrets_to_find(staff)
    rendered = 0
    for path in admin_pages(client):
        response = client.get(path)
        if response.status_code != 200:
            assert response.status_code in {302, 403}, (who, path, response.status_code)
            continue
        rendered += 1
        html = response.content.decode()
        for secret in secrets:
            assert secret not in html, f"{who}: a secret appears on {path}"
    return rendered


def test_no_secret_on_any_admin_page(world, support, superuser, support_client, superuser_client):
    staff = [support, superuser]
    root_pages = assert_clean(superuser_client, staff, "superuser")
    support_pages = assert_clean(support_client, staff, "support")
    assert root_pages > 60 and support_pages > 40  # the crawl really rendered the pages
    company_page = superuser_client.get(f"/admin/tenants/company/{world.company_a.pk}/change/").content.decode()
    assert world.connection_a.realm_id in company_page and "Too many requests" in company_page  # the sections render


def test_no_secret_on_any_action_confirmation_page(world, support, superuser, superuser_client):
    secrets = secrets_to_find([support, superuser])
    targets = {
        "tenants/company": world.company_a.pk,
        "quickbooks/quickbooksconnection": world.connection_a.pk,
        "invoices/invoice": world.invoice_a.pk,
        "integration/webhookdelivery": WebhookDelivery.objects.get().pk,
    }
    seen = 0
    for path, pk in targets.items():
        for name in ACTIONS:
            page = superuser_client.post(
                f"/admin/{path}/", {"action": f"support_{name}", "_selected_action": [pk], "index": 0}
            )
            if page.status_code == 200 and "admin/support/confirm_action.html" in [t.name for t in page.templates]:
                seen += 1
                html = page.content.decode()
                assert not any(secret in html for secret in secrets), (path, name)
    assert seen >= 11  # company: 5, connection: 4, invoice: 1, delivery: 1
