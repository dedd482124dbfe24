"""Connect, reconnect and disconnect against the QBO sandbox over real HTTP."""

from __future__ import annotations

import pytest
import requests
from django.conf import settings
from django.urls import reverse

from integration.errors import AuthRevoked
from integration.models import ApiCall
from integration.quickbooks import oauth, services, tokens
from integration.quickbooks.models import OAuthState, QuickBooksConnection
from tests.integration.quickbooks import helpers

Status = QuickBooksConnection.Status


def sandbox_calls(kind: str) -> int:
    from integration.sandbox.quickbooks import controls

    return controls.call_count(kind=kind)


def test_connect_stores_an_encrypted_connection_with_the_company_profile(qbo, personas, web_as, link_calls):
    client = web_as("alice")
    page = helpers.connect(client, realm_id=qbo.us_realm)

    connection = QuickBooksConnection.all_companies.get(company=personas.company_a)
    assert connection.status == Status.ACTIVE
    assert connection.owner == personas.alice_membership
    assert connection.realm_id == qbo.us_realm
    assert connection.country == "US"
    assert connection.home_currency == "USD"
    assert connection.multicurrency_enabled is False
    assert connection.tax_model == QuickBooksConnection.TaxModel.US
    assert connection.company_name
    assert connection.timezone  # CompanyInfo.DefaultTimeZone
    assert connection.access_token and connection.refresh_token
    assert connection.access_expires_at > connection.connected_at
    assert connection.refresh_expires_at > connection.access_expires_at
    assert connection.refresh_hard_expires_at is not None  # we asked for the 5-year hard expiry
    # The stored token works against the API.
    assert services.client_for(connection=connection).company_info()["CompanyName"] == connection.company_name
    # The invoicing link was registered with Pipedrive, with this connection's link id.
    assert link_calls == [{"company": personas.company_a, "link_id": connection.link_id}]
    assert connection.__class__.all_companies.get(pk=connection.pk).link_registered_at is not None
    # The settings page shows the card and a success message.
    body = page.content.decode()
    assert f"QuickBooks company {connection.company_name} is connected." in body
    for expected in (connection.company_name, "Alice Admin", "USD", "US sales tax (TAX/NON)"):
        assert expected in body
    assert 'data-field="multicurrency">Off<' in body


def test_connect_a_uk_company_reads_multicurrency_and_the_global_tax_model(qbo, personas, web_as, link_calls):
    helpers.connect(web_as("bob"), realm_id=qbo.uk_realm)
    connection = QuickBooksConnection.all_companies.get(company=personas.company_a)
    assert (connection.country, connection.home_currency) == ("GB", "GBP")
    assert connection.multicurrency_enabled is True
    assert connection.tax_model == QuickBooksConnection.TaxModel.GLOBAL
    assert connection.timezone == "Europe/London"
    assert connection.owner == personas.bob_membership


def test_the_call_log_has_no_secrets(connected, personas):
    calls = list(ApiCall.objects.filter(company=personas.company_a))
    paths = [call.path for call in calls]
    assert any(path.endswith("/oauth2/tokens/bearer") for path in paths)
    assert any(f"/v3/company/{connected.realm_id}/companyinfo/" in path for path in paths)
    assert any(path.endswith("/preferences") for path in paths)
    for call in calls:
        for secret in (connected.access_token, connected.refresh_token, "code=", "?"):
            assert secret not in call.path
    assert all(call.status == 200 for call in calls)


def test_the_callback_cannot_be_replayed(qbo, personas, web_as, link_calls):
    client = web_as("alice")
    callback = helpers.consent(helpers.start_connect(client), realm_id=qbo.us_realm)
    helpers.finish(client, callback)
    first = QuickBooksConnection.all_companies.get(company=personas.company_a)
    tokens_before = sandbox_calls("token")

    again = helpers.finish(client, callback)
    assert any("expired or was already used" in text for text in helpers.messages_of(again))
    assert sandbox_calls("token") == tokens_before  # the code was not exchanged a second time
    assert QuickBooksConnection.all_companies.get(pk=first.pk).access_token == first.access_token


def test_another_user_cannot_finish_someone_elses_flow(qbo, personas, web_as, link_calls):
    callback = helpers.consent(helpers.start_connect(web_as("alice")), realm_id=qbo.us_realm)
    page = helpers.finish(web_as("bob"), callback)
    assert any("expired or was already used" in text for text in helpers.messages_of(page))
    assert not QuickBooksConnection.all_companies.exists()
    assert OAuthState.all_companies.get().used_at is None


def test_declining_on_intuits_page_connects_nothing(qbo, personas, web_as, link_calls):
    client = web_as("alice")
    callback = helpers.consent(helpers.start_connect(client), realm_id=qbo.us_realm, action="cancel")
    page = helpers.finish(client, callback)
    assert any("access was declined" in text for text in helpers.messages_of(page))
    assert not QuickBooksConnection.all_companies.exists()
    assert link_calls == []


def test_link_registration_failure_keeps_the_connection_and_says_so(qbo, personas, web_as, monkeypatch):
    import integration.pipedrive.services as pipedrive_services

    def broken(*, company, link_id, **_):
        raise RuntimeError("Pipedrive is down")

    monkeypatch.setattr(pipedrive_services, "invoicing_link_register", broken, raising=False)
    page = helpers.connect(web_as("alice"), realm_id=qbo.us_realm)
    connection = QuickBooksConnection.all_companies.get(company=personas.company_a)
    assert connection.status == Status.ACTIVE
    assert connection.link_registered_at is None
    assert any("invoice tab could not be linked" in text for text in helpers.messages_of(page))
    assert "Link Pipedrive&#x27;s invoice tab" in page.content.decode()

    # Bob (not owner, not admin) may not retry; Alice may, and once Pipedrive accepts, the button goes.
    refused = web_as("bob").post(reverse("quickbooks:link"), follow=True)
    assert any("Only Alice Admin" in text for text in helpers.messages_of(refused))
    still_broken = web_as("alice").post(reverse("quickbooks:link"), follow=True)
    assert any("did not accept the link" in text for text in helpers.messages_of(still_broken))
    calls = []
    monkeypatch.setattr(
        pipedrive_services,
        "invoicing_link_register",
        lambda *, company, link_id, **_: calls.append((company.pk, link_id)),
        raising=False,
    )
    fixed = web_as("alice").post(reverse("quickbooks:link"), follow=True)
    assert any("invoice tab is linked" in text for text in helpers.messages_of(fixed))
    assert calls == [(personas.company_a.pk, connection.link_id)]
    assert QuickBooksConnection.all_companies.get(pk=connection.pk).link_registered_at is not None
    assert "Link Pipedrive&#x27;s invoice tab" not in fixed.content.decode()


def test_after_linking_the_user_is_sent_where_pipedrive_says(qbo, personas, web_as, monkeypatch):
    import integration.pipedrive.services as pipedrive_services

    target = "https://acme.pipedrive.com/settings/marketplace/app/invoicing?linked=1"
    monkeypatch.setattr(pipedrive_services, "invoicing_link_register", lambda *, company, link_id, **_: target)
    client = web_as("alice")
    callback = helpers.consent(helpers.start_connect(client), realm_id=qbo.us_realm)
    parts = callback.split("?", 1)
    response = client.get(f"{reverse('quickbooks:callback')}?{parts[1]}")
    assert response.status_code == 302 and response["Location"] == target
    assert QuickBooksConnection.all_companies.get(company=personas.company_a).link_registered_at is not None


def test_a_second_user_racing_to_another_realm_is_refused_and_their_grant_revoked(qbo, personas, web_as, link_calls):
    bob_callback = helpers.consent(helpers.start_connect(web_as("bob")), realm_id=qbo.uk_realm)
    helpers.connect(web_as("alice"), realm_id=qbo.us_realm)  # Alice finishes first
    revokes_before = sandbox_calls("revoke")
    page = helpers.finish(web_as("bob"), bob_callback)
    assert any("already connected by Alice Admin" in text for text in helpers.messages_of(page))
    connection = QuickBooksConnection.all_companies.get(company=personas.company_a)
    assert (connection.realm_id, connection.owner) == (qbo.us_realm, personas.alice_membership)
    assert sandbox_calls("revoke") == revokes_before + 1  # Bob's unused UK grant was given back


def test_expired_access_token_is_refreshed_once_and_the_call_retried(connected, client_of):
    from integration.sandbox.quickbooks import controls

    old_refresh = connected.refresh_token
    controls.expire_access_tokens(realm_id=connected.realm_id)  # QBO now answers 401
    tokens_before = sandbox_calls("token")
    info = client_of(connected).company_info()
    assert info["CompanyName"] == connected.company_name
    assert sandbox_calls("token") == tokens_before + 1
    connected.refresh_from_db()
    assert connected.refresh_token != old_refresh  # rotated and stored
    assert connected.status == Status.ACTIVE


def test_a_due_token_is_refreshed_before_the_call(connected, client_of):
    QuickBooksConnection.all_companies.filter(pk=connected.pk).update(access_expires_at=connected.connected_at)
    before = sandbox_calls("token")
    client_of(connected).preferences()
    assert sandbox_calls("token") == before + 1


def test_revoked_in_quickbooks_means_needs_reconnect_then_reconnect_restores(connected, personas, web_as, client_of):
    from integration.sandbox.quickbooks import controls

    controls.disconnect(realm_id=connected.realm_id)  # the user disconnected our app inside QuickBooks
    with pytest.raises(AuthRevoked):
        client_of(connected).company_info()
    connected.refresh_from_db()
    assert connected.status == Status.NEEDS_RECONNECT
    assert connected.needs_reconnect_since is not None
    assert connected.access_token == "" and connected.refresh_token == ""
    # Later callers fail fast without calling Intuit.
    before = sandbox_calls("token")
    with pytest.raises(AuthRevoked):
        tokens.access_token_get(connection=connected)
    assert sandbox_calls("token") == before

    client = web_as("alice")
    page = client.get(reverse("tenants:settings")).content.decode()
    assert "Needs reconnecting" in page and "Reconnect QuickBooks" in page

    page = helpers.connect(client, realm_id=connected.realm_id)
    assert any("is connected again" in text for text in helpers.messages_of(page))
    restored = QuickBooksConnection.all_companies.get(company=personas.company_a)
    assert restored.pk == connected.pk and restored.link_id == connected.link_id
    assert restored.status == Status.ACTIVE
    assert services.client_for(connection=restored).company_info()["CompanyName"] == restored.company_name


def test_reconnecting_to_a_different_realm_is_refused(connected, personas, web_as, qbo):
    QuickBooksConnection.all_companies.filter(pk=connected.pk).update(status=Status.NEEDS_RECONNECT)
    page = helpers.connect(web_as("alice"), realm_id=qbo.uk_realm)
    assert any("Reconnect to that same QuickBooks company" in text for text in helpers.messages_of(page))
    connected.refresh_from_db()
    assert connected.realm_id == qbo.us_realm and connected.status == Status.NEEDS_RECONNECT


def test_disconnect_revokes_at_intuit_and_deletes_the_tokens(connected, personas, web_as):
    refresh_token = connected.refresh_token
    page = web_as("alice").post(reverse("quickbooks:disconnect"), follow=True)
    assert "QuickBooks is disconnected" in page.content.decode()
    assert "Connect to QuickBooks" in page.content.decode()
    connected.refresh_from_db()
    assert connected.status == Status.DISCONNECTED
    assert connected.disconnected_at is not None
    assert (connected.access_token, connected.refresh_token) == ("", "")
    # Intuit no longer honours the old refresh token.
    with pytest.raises(AuthRevoked):
        oauth.refresh(refresh_token=refresh_token)


def test_an_admin_may_disconnect_a_members_connection(qbo, personas, web_as, link_calls):
    helpers.connect(web_as("bob"), realm_id=qbo.us_realm)
    connection = QuickBooksConnection.all_companies.get(company=personas.company_a)
    services.connection_disconnect(connection=connection, actor=personas.alice_membership)
    connection.refresh_from_db()
    assert connection.status == Status.DISCONNECTED


def test_the_system_may_disconnect_for_an_uninstall_and_the_realm_can_be_connected_again(connected, personas, web_as):
    services.connection_disconnect(connection=connected, actor=None)
    assert QuickBooksConnection.all_companies.get(pk=connected.pk).status == Status.DISCONNECTED
    helpers.connect(web_as("bob"), realm_id=connected.realm_id)
    again = QuickBooksConnection.all_companies.get(company=personas.company_a, status=Status.ACTIVE)
    assert again.pk == connected.pk  # the same row, so invoices keep their connection
    assert again.owner == personas.bob_membership


def test_the_token_endpoint_sees_basic_auth_and_a_form_body(qbo):
    # Wrong client credentials are refused by the sandbox exactly like Intuit would.
    response = requests.post(
        settings.QBO_TOKEN_URL,
        data={"grant_type": "refresh_token", "refresh_token": "x"},
        auth=("wrong", "creds"),
        timeout=10,
    )
    assert response.status_code == 401
    with pytest.raises(AuthRevoked):
        oauth.refresh(refresh_token="RT1-not-a-real-token")


def test_with_pipedrives_real_registration_and_no_installation_the_connect_still_succeeds(qbo, personas, web_as):
    """No monkeypatch: Pipedrive's own service refuses (company A has no Pipedrive installation here)."""
    page = helpers.connect(web_as("alice"), realm_id=qbo.us_realm)
    connection = QuickBooksConnection.all_companies.get(company=personas.company_a)
    assert connection.status == Status.ACTIVE and connection.link_registered_at is None
    assert any("invoice tab could not be linked" in text for text in helpers.messages_of(page))


def test_an_intuit_outage_during_refresh_is_transient_and_keeps_the_connection(connected, client_of):
    from integration.errors import TransientError
    from integration.sandbox.quickbooks import controls

    QuickBooksConnection.all_companies.filter(pk=connected.pk).update(access_expires_at=connected.connected_at)
    controls.inject_failure(kind="503", target="token")
    with pytest.raises(TransientError):
        client_of(connected).company_info()
    connected.refresh_from_db()
    assert connected.status == Status.ACTIVE and connected.refresh_token  # nothing lost; the next call refreshes
    assert client_of(connected).company_info()["CompanyName"] == connected.company_name
