"""Connection rules that need no HTTP: the DB constraint, who may connect/disconnect, state, the card."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
import time_machine
from django.db import IntegrityError, transaction
from django.db import connection as db
from django.urls import reverse
from django.utils import timezone

from integration.quickbooks import services
from integration.quickbooks.models import OAuthState, QuickBooksConnection
from tenants.scoping import company_scope
from tests.integration.quickbooks.factories import QuickBooksConnectionFactory

FIXTURES = Path(__file__).parent / "fixtures"
Status = QuickBooksConnection.Status


def test_at_most_one_live_connection_per_company_is_enforced_by_the_database(personas):
    QuickBooksConnectionFactory(company=personas.company_a, realm_id="111")
    with pytest.raises(IntegrityError), transaction.atomic():
        QuickBooksConnectionFactory(company=personas.company_a, realm_id="222")
    with pytest.raises(IntegrityError), transaction.atomic():
        QuickBooksConnectionFactory(company=personas.company_a, realm_id="333", status=Status.NEEDS_RECONNECT)
    # Disconnected history rows do not count; other companies are independent.
    QuickBooksConnectionFactory(company=personas.company_a, realm_id="444", status=Status.DISCONNECTED)
    QuickBooksConnectionFactory(company=personas.company_b, realm_id="111")
    assert QuickBooksConnection.all_companies.filter(company=personas.company_a).count() == 2


def test_tokens_are_encrypted_at_rest(personas):
    connection = QuickBooksConnectionFactory(
        company=personas.company_a, access_token="access-secret-xyz", refresh_token="refresh-secret-xyz"
    )
    raw = QuickBooksConnection.all_companies.filter(pk=connection.pk).values_list("access_token", "refresh_token")
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT access_token, refresh_token FROM quickbooks_quickbooksconnection WHERE id = %s", [connection.pk]
        )
        stored_access, stored_refresh = cursor.fetchone()
    assert "access-secret-xyz" not in stored_access and stored_access.startswith("gAAAA")
    assert "refresh-secret-xyz" not in stored_refresh
    assert list(raw) == [("access-secret-xyz", "refresh-secret-xyz")]


def test_the_model_is_tenant_scoped(personas):
    QuickBooksConnectionFactory(company=personas.company_a)
    with company_scope(personas.company_b):
        assert not QuickBooksConnection.objects.exists()
    with company_scope(personas.company_a):
        assert QuickBooksConnection.objects.count() == 1


def test_a_second_user_is_refused_with_the_holders_name_and_date(personas):
    with time_machine.travel("2026-03-04 10:00:00Z", tick=False):
        QuickBooksConnectionFactory(
            company=personas.company_a, owner=personas.alice_membership, company_name="Acme Books"
        )
    with pytest.raises(services.ConnectRefused) as excinfo:
        services.connect_start(company=personas.company_a, membership=personas.bob_membership)
    message = excinfo.value.message
    assert "Alice Admin" in message
    assert "March 4, 2026" in message or "Mar. 4, 2026" in message
    assert "Acme Books" in message
    assert not OAuthState.all_companies.exists()


def test_connect_view_shows_the_refusal_on_settings(personas, web_as):
    QuickBooksConnectionFactory(company=personas.company_a, owner=personas.alice_membership)
    response = web_as("bob").post(reverse("quickbooks:connect"), follow=True)
    assert response.redirect_chain[-1][0] == reverse("tenants:settings")
    assert "already connected by Alice Admin" in response.content.decode()


def test_connect_start_stores_only_a_hash_of_a_single_state(personas):
    url = services.connect_start(company=personas.company_a, membership=personas.alice_membership)
    state = dict(pair.split("=", 1) for pair in url.split("?", 1)[1].split("&"))["state"]
    row = OAuthState.all_companies.get()
    assert len(state) >= 40  # ≥ 128 bits, URL-safe
    assert row.state_hash != state and len(row.state_hash) == 64
    assert row.user == personas.alice and row.company == personas.company_a
    assert timedelta(minutes=9) < row.expires_at - timezone.now() <= timedelta(minutes=10)
    assert "scope=com.intuit.quickbooks.accounting" in url and "response_type=code" in url


def _state_for(personas, membership) -> str:
    url = services.connect_start(company=membership.company, membership=membership)
    return dict(pair.split("=", 1) for pair in url.split("?", 1)[1].split("&"))["state"]


def test_state_is_single_use(personas):
    state = _state_for(personas, personas.alice_membership)
    assert services._state_consume(state=state, user=personas.alice).company == personas.company_a
    with pytest.raises(services.ConnectRefused, match="expired or was already used"):
        services._state_consume(state=state, user=personas.alice)


def test_state_is_bound_to_the_user_who_started(personas):
    state = _state_for(personas, personas.alice_membership)
    with pytest.raises(services.ConnectRefused):
        services._state_consume(state=state, user=personas.bob)
    # Bob's attempt did not burn it for Alice.
    assert services._state_consume(state=state, user=personas.alice).user == personas.alice


def test_state_expires_after_ten_minutes(personas):
    state = _state_for(personas, personas.alice_membership)
    with (
        time_machine.travel(timezone.now() + timedelta(minutes=10, seconds=1)),
        pytest.raises(services.ConnectRefused),
    ):
        services._state_consume(state=state, user=personas.alice)


def test_unknown_or_missing_state_is_refused(personas):
    with pytest.raises(services.ConnectRefused):
        services._state_consume(state="made-up", user=personas.alice)
    with pytest.raises(services.ConnectRefused, match="without its security code"):
        services._state_consume(state="", user=personas.alice)


def test_needs_reconnect_may_be_restarted_by_owner_or_admin_only(personas):
    connection = QuickBooksConnectionFactory(
        company=personas.company_a, owner=personas.bob_membership, status=Status.NEEDS_RECONNECT
    )
    assert services.connect_start(company=personas.company_a, membership=personas.bob_membership)
    assert services.connect_start(company=personas.company_a, membership=personas.alice_membership)
    connection.owner = personas.alice_membership
    connection.save()
    with pytest.raises(services.ConnectRefused, match="needs reconnecting"):
        services.connect_start(company=personas.company_a, membership=personas.bob_membership)


def test_only_owner_or_admin_may_disconnect(personas):
    connection = QuickBooksConnectionFactory(
        company=personas.company_a, owner=personas.alice_membership, access_token="", refresh_token=""
    )
    with pytest.raises(services.DisconnectForbidden, match="Alice Admin"):
        services.connection_disconnect(connection=connection, actor=personas.bob_membership)
    connection.refresh_from_db()
    assert connection.status == Status.ACTIVE
    # Charlie is an admin, but of another company.
    with pytest.raises(services.DisconnectForbidden):
        services.connection_disconnect(connection=connection, actor=personas.charlie_membership)


def test_bob_sees_no_disconnect_button_and_his_post_is_refused(personas, web_as):
    QuickBooksConnectionFactory(company=personas.company_a, owner=personas.alice_membership)
    client = web_as("bob")
    page = client.get(reverse("tenants:settings")).content.decode()
    assert reverse("quickbooks:disconnect") not in page
    response = client.post(reverse("quickbooks:disconnect"), follow=True)
    assert "Only Alice Admin or a company admin can disconnect" in response.content.decode()
    assert QuickBooksConnection.all_companies.get().status == Status.ACTIVE


def test_settings_card_shows_the_connection(personas, web_as):
    QuickBooksConnectionFactory(
        company=personas.company_a,
        owner=personas.bob_membership,
        company_name="Acme Books Ltd",
        realm_id="9341453",
        country="GB",
        home_currency="GBP",
        multicurrency_enabled=True,
        tax_model=QuickBooksConnection.TaxModel.GLOBAL,
        last_sync_at=timezone.now(),
    )
    page = web_as("bob").get(reverse("tenants:settings")).content.decode()
    for expected in ("Acme Books Ltd", "9341453", "Bob Member", "GBP", "Tax codes per line (non-US)"):
        assert expected in page
    assert 'data-field="multicurrency">On<' in page
    assert 'data-field="last_sync">Not yet' not in page
    assert reverse("quickbooks:disconnect") in page  # Bob owns it
    assert "Reconnect QuickBooks" not in page


def test_settings_card_offers_reconnect_when_needed(personas, web_as):
    QuickBooksConnectionFactory(
        company=personas.company_a,
        owner=personas.alice_membership,
        status=Status.NEEDS_RECONNECT,
        needs_reconnect_since=timezone.now(),
    )
    alice_page = web_as("alice").get(reverse("tenants:settings")).content.decode()
    assert "Needs reconnecting" in alice_page and "Reconnect QuickBooks" in alice_page
    bob_page = web_as("bob").get(reverse("tenants:settings")).content.decode()
    assert "Needs reconnecting" in bob_page and "Reconnect QuickBooks" not in bob_page


def test_settings_card_offers_connect_when_nothing_is_connected(personas, web_as):
    page = web_as("bob").get(reverse("tenants:settings")).content.decode()
    assert "Connect to QuickBooks" in page
    assert f'action="{reverse("quickbooks:connect")}"' in page
    assert "csrfmiddlewaretoken" in page


def test_connect_and_disconnect_accept_only_post(personas, web_as):
    client = web_as("alice")
    assert client.get(reverse("quickbooks:connect")).status_code == 405
    assert client.get(reverse("quickbooks:disconnect")).status_code == 405


def test_company_profile_from_the_fixture_bodies():
    info = json.loads((FIXTURES / "companyinfo_sample.json").read_text())["CompanyInfo"]
    prefs = json.loads((FIXTURES / "preferences_read_response.json").read_text())["Preferences"]
    profile = services.company_profile(info=info, preferences=prefs)
    assert profile == {
        "company_name": "Larry's Bakery",
        "country": "US",
        "home_currency": "USD",
        "multicurrency_enabled": False,
        "tax_model": QuickBooksConnection.TaxModel.US,
        "using_sales_tax": True,
        "timezone": "",
    }
    uk = services.company_profile(
        info={"CompanyName": "Brit Ltd", "Country": "GB", "DefaultTimeZone": "Europe/London"},
        preferences={"CurrencyPrefs": {"MultiCurrencyEnabled": True, "HomeCurrency": {"value": "GBP"}}},
    )
    assert uk["tax_model"] == QuickBooksConnection.TaxModel.GLOBAL
    assert (uk["home_currency"], uk["multicurrency_enabled"], uk["timezone"]) == ("GBP", True, "Europe/London")
    assert services.company_profile(info={"DefaultTimeZone": "Mars/Base"}, preferences={})["timezone"] == ""


def test_the_admin_never_shows_tokens():
    from django.contrib import admin

    model_admin = admin.site._registry[QuickBooksConnection]
    assert {"access_token", "refresh_token"} <= set(model_admin.exclude)
    fields = model_admin.readonly_fields
    assert "realm_id" in fields and "status" in fields
    assert "access_token" not in fields and "refresh_token" not in fields


def test_settings_warns_a_month_before_intuits_hard_expiry(personas, web_as):
    connection = QuickBooksConnectionFactory(
        company=personas.company_a,
        owner=personas.alice_membership,
        refresh_hard_expires_at=timezone.now() + timedelta(days=400),
    )
    assert "Intuit ends this authorization" not in web_as("alice").get(reverse("tenants:settings")).content.decode()
    connection.refresh_hard_expires_at = timezone.now() + timedelta(days=10)
    connection.save()
    assert "Intuit ends this authorization" in web_as("alice").get(reverse("tenants:settings")).content.decode()


def test_mark_synced_records_time_and_cursor_and_the_card_shows_it(personas, web_as):
    connection = QuickBooksConnectionFactory(company=personas.company_a, owner=personas.alice_membership)
    page = web_as("alice").get(reverse("tenants:settings")).content.decode()
    assert 'data-field="last_sync">Not yet' in page
    cursor = timezone.now() - timedelta(minutes=3)
    services.connection_mark_synced(connection=connection, cursor=cursor)
    connection.refresh_from_db()
    assert connection.cdc_cursor == cursor
    assert timezone.now() - connection.last_sync_at < timedelta(seconds=5)
    page = web_as("alice").get(reverse("tenants:settings")).content.decode()
    assert 'data-field="last_sync">Not yet' not in page
    services.connection_mark_synced(connection=connection)  # no cursor: the cursor stays
    connection.refresh_from_db()
    assert connection.cdc_cursor == cursor
