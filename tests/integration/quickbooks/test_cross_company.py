"""Company B's people cannot reach company A's QuickBooks connection or connect flow."""

from __future__ import annotations

from django.urls import reverse

from integration.quickbooks import services
from integration.quickbooks.models import OAuthState, QuickBooksConnection
from tests.integration.quickbooks import helpers
from tests.integration.quickbooks.factories import QuickBooksConnectionFactory

Status = QuickBooksConnection.Status


def test_charlie_cannot_disconnect_or_see_company_as_connection(personas, web_as):
    QuickBooksConnectionFactory(
        company=personas.company_a, owner=personas.alice_membership, company_name="Acme Books", realm_id="555"
    )
    client = web_as("charlie")
    response = client.post(reverse("quickbooks:disconnect"), follow=True)
    body = response.content.decode()
    assert "QuickBooks is not connected." in body
    assert "Acme Books" not in body and "555" not in body
    assert QuickBooksConnection.all_companies.get(company=personas.company_a).status == Status.ACTIVE
    # Charlie's own settings page offers a connect for company B only.
    page = client.get(reverse("tenants:settings")).content.decode()
    assert "Connect to QuickBooks" in page and "Acme Books" not in page


def test_charlie_connecting_starts_a_flow_for_his_own_company(personas, web_as):
    QuickBooksConnectionFactory(company=personas.company_a, owner=personas.alice_membership)
    url = helpers.start_connect(web_as("charlie"))  # not refused: A's connection is not his business
    assert "state=" in url
    assert OAuthState.all_companies.get().company == personas.company_b


def test_charlie_cannot_use_alices_state(personas):
    url = services.connect_start(company=personas.company_a, membership=personas.alice_membership)
    state = dict(pair.split("=", 1) for pair in url.split("?", 1)[1].split("&"))["state"]
    try:
        services.connect_callback(user=personas.charlie, code="stolen", realm_id="123", state=state)
    except services.ConnectRefused as exc:
        assert "expired or was already used" in exc.message
    else:
        raise AssertionError("Charlie finished Alice's connect flow")
    assert OAuthState.all_companies.get().used_at is None
    assert not QuickBooksConnection.all_companies.exists()
