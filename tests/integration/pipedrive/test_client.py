"""The Pipedrive client over real HTTP against the sandbox: endpoints, paging, refresh, 429, errors."""

from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connections
from django.utils import timezone

from integration.errors import AuthRevoked, PermanentError, RateLimited
from integration.models import ApiCall
from integration.pipedrive import client, tokens
from integration.pipedrive.errors import NotFound
from integration.pipedrive.fields import Address, Money, Option, decode_custom_fields, field_value
from integration.pipedrive.models import PipedriveInstallation
from integration.pipedrive.services import invoicing_link_register
from integration.quickbooks.models import QuickBooksConnection
from integration.sandbox.pipedrive.models import (
    SandboxAccessToken,
    SandboxCompany,
    SandboxGrant,
    SandboxInvoiceProviderLink,
    SandboxRecord,
)
from tenants.models import Company
from tests.integration.pipedrive.flows import ACME, BOREALIS, install


def installation_of(user_id: int) -> PipedriveInstallation:
    return PipedriveInstallation.all_companies.select_related("company").get(pipedrive_user_id=user_id)


@pytest.fixture
def alice(pd_live, browser):
    """Alice (admin of the sandbox's Acme) installed the app; her installation."""
    assert install(browser, pd_live, user_id=11, via="marketplace").status_code == 302
    return installation_of(11)


@pytest.fixture
def charlie(pd_live, browser):
    browser.cookies.clear()
    assert install(browser, pd_live, user_id=21, via="marketplace").status_code == 302
    return installation_of(21)


def token_calls() -> int:
    return ApiCall.objects.filter(method="POST", path="/sandbox/pipedrive/oauth/token").count()


def test_users_me_and_currencies(alice):
    me = client.users_me_with_token(access_token=alice.access_token, api_domain=alice.api_domain)
    assert (me.id, me.company_id, me.email, me.is_admin) == (11, ACME, "alice@acme.test", True)
    codes = {currency["code"] for currency in client.currencies_list(installation=alice)}
    assert {"USD", "EUR"} <= codes


def test_deal_and_its_parties(alice):
    deal = client.deal_get(installation=alice, deal_id=1)
    assert deal["id"] == 1 and deal["currency"]
    products = client.deal_products_list(installation=alice, deal_id=1)
    assert products and all(line["deal_id"] == 1 for line in products)
    assert [line["order_nr"] for line in products] == sorted(line["order_nr"] for line in products)
    person = client.person_get(installation=alice, person_id=deal["person_id"])
    assert person["id"] == deal["person_id"] and person["emails"]
    organization = client.organization_get(installation=alice, organization_id=deal["org_id"])
    assert organization["id"] == deal["org_id"] and organization["name"]


def test_missing_object_is_not_found(alice):
    with pytest.raises(NotFound) as info:
        client.deal_get(installation=alice, deal_id=987654)
    assert info.value.status == 404


def test_cursor_paging_walks_every_page(alice):
    everything = list(client.deals_list(installation=alice))
    assert len(everything) >= 3
    calls_before = ApiCall.objects.filter(path__endswith="/api/v2/deals").count()
    paged = list(client.deals_list(installation=alice, page_size=2))
    pages = ApiCall.objects.filter(path__endswith="/api/v2/deals").count() - calls_before
    assert [deal["id"] for deal in paged] == [deal["id"] for deal in everything]
    assert pages == -(-len(everything) // 2)  # ceil: one request per page, none after next_cursor is null
    assert {deal["id"] for deal in client.deals_list(installation=alice, ids=[1, 2])} == {1, 2}


def test_products_and_search(alice):
    products = list(client.products_list(installation=alice, page_size=3))
    names = {product["name"] for product in products}
    assert {"Robot arm R2", "Gripper kit"} <= names
    assert [product["code"] for product in client.products_list(installation=alice, ids=[1])] == ["RA-2"]
    hits = client.products_search(installation=alice, term="Gripper")
    assert [hit["id"] for hit in hits] == [4]


def test_fields_decode_the_seeded_custom_values(alice):
    for entity in ("deal", "person", "organization", "product"):
        definitions = client.fields_list(installation=alice, entity=entity)
        assert any(definition.get("is_custom_field") for definition in definitions), entity
    definitions = client.fields_list(installation=alice, entity="deal")
    decoded_types: dict[str, object] = {}
    for record in SandboxRecord.objects.filter(company_id=ACME, kind="deal"):
        if record.data.get("is_deleted"):
            continue
        deal = client.deal_get(installation=alice, deal_id=record.object_id)
        for field in decode_custom_fields(deal.get("custom_fields"), definitions).values():
            if field.value is not None:
                decoded_types.setdefault(field.field_type, field.value)
    assert isinstance(decoded_types.get("monetary"), Money)
    assert isinstance(decoded_types["monetary"].amount, Decimal)
    set_value = decoded_types.get("set")
    assert set_value and all(isinstance(option, Option) and not option.label.isdigit() for option in set_value)
    org_definitions = client.fields_list(installation=alice, entity="organization")
    org = client.organization_get(installation=alice, organization_id=1)
    # the standard address, geocoded: formatted one-liner and parts
    address = field_value(org, "address", org_definitions).value
    assert address.formatted == "4120 Freidrich Ln #300, Austin, TX 78744, USA"
    assert (address.street, address.locality, address.admin_area_level_1, address.postal_code) == (
        "4120 Freidrich Lane, Suite 300",
        "Austin",
        "Texas",
        "78744",
    )
    # a custom address field with only some parts: formatted falls back to what was typed
    custom = decode_custom_fields(org.get("custom_fields"), org_definitions)
    billing = next(field.value for field in custom.values() if field.name == "Billing address")
    assert isinstance(billing, Address)
    assert billing.formatted == "PO Box 1200, Austin, TX 78767"
    assert (billing.street, billing.postal_code) == ("", "78767")
    tier = next(field for field in custom.values() if field.name == "Customer tier")
    assert isinstance(tier.value, Option) and tier.text and not tier.text.isdigit()


def test_invoicing_link_register_returns_the_redirect_url(alice):
    company = Company.objects.get(pipedrive_company_id=ACME)
    url = invoicing_link_register(
        company=company, link_id="3f1c3c1e-1111-4a4a-9b9b-123456789abc", org_id="9130", membership=alice.membership
    )
    assert url.startswith("http") and "3f1c3c1e-1111-4a4a-9b9b-123456789abc" in url
    link = SandboxInvoiceProviderLink.objects.get()
    assert (link.link_id, link.org_id, link.marketplace_client_id, link.user_id) == (
        "3f1c3c1e-1111-4a4a-9b9b-123456789abc",
        "9130",
        "sandbox-pipedrive-client-id",
        11,
    )


def test_the_quickbooks_side_registers_its_realm_with_its_owners_authorisation(alice):
    from integration.quickbooks.services import invoicing_link_retry

    company = Company.objects.get(pipedrive_company_id=ACME)
    connection = QuickBooksConnection.all_companies.create(
        company=company, realm_id="9130350000000042", owner=alice.membership
    )
    assert invoicing_link_retry(connection=connection, actor=alice.membership) is True
    link = SandboxInvoiceProviderLink.objects.get()
    assert (link.link_id, link.org_id) == (str(connection.link_id), "9130350000000042")


def test_invoicing_link_registers_with_the_connecting_users_own_authorisation(alice, browser, pd_live):
    """Bob (no admin) connected QuickBooks; Alice (admin) installed too. Pipedrive must get Bob's token:
    the link is "the unique identifier of the user in the Invoice app"."""
    company = Company.objects.get(pipedrive_company_id=ACME)
    from tenants.services import membership_upsert

    # Bob is a member (he signed in once) but holds no installation of his own yet.
    bob_membership = membership_upsert(
        company=company, email="bob@example.com", name="Bob", pipedrive_user_id=12, is_admin=False
    )
    connection = QuickBooksConnection.all_companies.create(company=company, realm_id="9130", owner=bob_membership)
    with pytest.raises(PermanentError) as info:  # Bob has not installed the app: never Alice's token instead
        invoicing_link_register(company=company, link_id=connection.link_id, org_id="9130", membership=bob_membership)
    assert info.value.code == "not_installed" and not SandboxInvoiceProviderLink.objects.exists()
    browser.cookies.clear()
    assert install(browser, pd_live, user_id=12, via="marketplace").status_code == 302
    invoicing_link_register(company=company, link_id=connection.link_id, org_id="9130", membership=bob_membership)
    assert SandboxInvoiceProviderLink.objects.get().user_id == 12


def test_uninstalled_meanwhile_is_auth_revoked(alice):
    stale = installation_of(11)
    stale.access_expires_at = timezone.now() - timedelta(minutes=1)
    PipedriveInstallation.all_companies.filter(pk=stale.pk).delete()
    with pytest.raises(AuthRevoked):
        tokens.access_token(installation=stale)


def test_invoicing_link_register_needs_an_installation(pd_live, personas):
    with pytest.raises(PermanentError) as info:
        invoicing_link_register(company=personas.company_b, link_id="x", org_id="1", membership=None)
    assert info.value.code == "not_installed"


def test_expired_access_token_is_refreshed_once_and_stored(alice):
    old = alice.access_token
    PipedriveInstallation.all_companies.filter(pk=alice.pk).update(access_expires_at=timezone.now())
    alice.refresh_from_db()
    before = token_calls()
    assert {"USD", "EUR"} <= {currency["code"] for currency in client.currencies_list(installation=alice)}
    assert token_calls() - before == 1
    stored = installation_of(11)
    assert stored.access_token != old and stored.access_token == alice.access_token
    assert stored.refreshed_at is not None
    assert stored.access_expires_at > timezone.now() + timedelta(minutes=55)
    client.currencies_list(installation=alice)
    assert token_calls() - before == 1


def test_refresh_re_reads_the_row_after_locking(alice):
    """Another worker refreshed between our read and our lock: use its token, call nobody."""
    stale = installation_of(11)
    stale.access_expires_at = timezone.now() - timedelta(minutes=1)
    before = token_calls()
    assert tokens.access_token(installation=stale) == alice.access_token
    assert token_calls() == before


def test_concurrent_callers_cause_one_refresh(alice):
    PipedriveInstallation.all_companies.filter(pk=alice.pk).update(access_expires_at=timezone.now())
    before = token_calls()
    results: list[str] = []
    errors: list[BaseException] = []

    def worker():
        try:
            mine = installation_of(11)
            results.append(tokens.access_token(installation=mine))
        except BaseException as exc:  # reported below
            errors.append(exc)
        finally:
            connections.close_all()  # this thread's connections, or the test database cannot be dropped

    threads = [threading.Thread(target=worker) for _ in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors, errors
    assert token_calls() - before == 1
    assert len(set(results)) == 1 and results[0] == installation_of(11).access_token


def test_rejected_token_is_refreshed_once_then_the_call_succeeds(alice):
    SandboxAccessToken.objects.filter(token=alice.access_token).update(revoked_at=timezone.now())
    before = token_calls()
    assert client.deal_get(installation=alice, deal_id=1)["id"] == 1
    assert token_calls() - before == 1


def test_dead_grant_raises_auth_revoked(alice):
    SandboxGrant.objects.update(revoked_at=timezone.now())
    SandboxAccessToken.objects.update(revoked_at=timezone.now())
    with pytest.raises(AuthRevoked):
        client.deal_get(installation=alice, deal_id=1)


def test_scope_mismatch_is_a_permanent_error(pd_live, browser, settings):
    settings.PIPEDRIVE_SANDBOX_APP_SCOPES = ["base"]
    install(browser, pd_live, user_id=11, via="marketplace")
    with pytest.raises(PermanentError) as info:
        client.deal_get(installation=installation_of(11), deal_id=1)
    assert (info.value.status, info.value.code) == (403, "forbidden")
    assert "Scope and URL mismatch" in info.value.message


def fresh_burst_window(*, limit: int) -> None:
    SandboxCompany.objects.filter(pk=ACME).update(burst_limit=limit)
    SandboxAccessToken.objects.update(window_started_at=None, window_count=0)


def test_429_waits_what_the_headers_say_then_succeeds(alice, monkeypatch):
    fresh_burst_window(limit=1)
    waits: list[float] = []

    def fake_sleep(seconds):
        waits.append(seconds)
        # The burst window has passed.
        SandboxAccessToken.objects.update(window_started_at=timezone.now() - timedelta(seconds=3))

    monkeypatch.setattr(client, "sleep", fake_sleep)
    client.deal_get(installation=alice, deal_id=1)
    assert client.deal_get(installation=alice, deal_id=2)["id"] == 2
    assert len(waits) == 1 and 1.0 <= waits[0] <= 2.0  # x-ratelimit-reset of a 2-second window


def test_persistent_429_gives_up_with_rate_limited(alice, monkeypatch):
    fresh_burst_window(limit=1)
    waits: list[float] = []
    monkeypatch.setattr(client, "sleep", waits.append)
    client.deal_get(installation=alice, deal_id=1)
    with pytest.raises(RateLimited) as info:
        client.deal_get(installation=alice, deal_id=2)
    assert info.value.retry_after and info.value.retry_after >= 1
    assert len(waits) <= client.MAX_RATE_LIMIT_RETRIES
    assert sum(waits) <= client.MAX_RATE_LIMIT_WAIT_SECONDS


def test_exhausted_daily_budget_does_not_wait(alice, monkeypatch):
    SandboxCompany.objects.filter(pk=ACME).update(daily_budget=1, budget_used=1, budget_day=timezone.now().date())
    waits: list[float] = []
    monkeypatch.setattr(client, "sleep", waits.append)
    with pytest.raises(RateLimited):
        client.deal_get(installation=alice, deal_id=1)
    assert waits == []


def test_company_b_token_cannot_read_company_a(alice, charlie):
    """Charlie's installation pointed at Acme's API host is refused there, and the refresh puts it
    back on Borealis' own api_domain: it only ever reads Borealis data."""
    acme_deal = SandboxRecord.objects.get(company_id=ACME, kind="deal", object_id=1).data
    borealis_deal = SandboxRecord.objects.get(company_id=BOREALIS, kind="deal", object_id=1).data
    assert acme_deal["title"] != borealis_deal["title"]
    charlie.api_domain = alice.api_domain
    deal = client.deal_get(installation=charlie, deal_id=1)
    assert deal["title"] == borealis_deal["title"]
    assert installation_of(21).api_domain.endswith("/borealis-demo")
    assert ApiCall.objects.filter(path="/sandbox/pipedrive/api/acme-demo/api/v2/deals/1", status=401).exists()


def test_invoicing_link_registration_needs_the_invoice_integration_scope(pd_live, browser, settings):
    """An app registered without Developer Hub's "Invoice integration" scope: Pipedrive refuses the
    registration (403 scope mismatch) and nothing is linked."""
    from integration.errors import IntegrationError
    from integration.sandbox.pipedrive.services import DEFAULT_APP_SCOPES, INVOICING_SCOPE

    settings.PIPEDRIVE_SANDBOX_APP_SCOPES = [s for s in DEFAULT_APP_SCOPES if s != INVOICING_SCOPE]
    assert install(browser, pd_live, user_id=11, via="marketplace").status_code == 302
    alice = installation_of(11)
    assert INVOICING_SCOPE not in alice.scopes
    with pytest.raises(IntegrationError):
        invoicing_link_register(
            company=alice.company,
            link_id="3f1c3c1e-1111-4a4a-9b9b-123456789abc",
            org_id="1",
            membership=alice.membership,
        )
    assert not SandboxInvoiceProviderLink.objects.exists()
