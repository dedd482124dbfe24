"""A member reads Pipedrive with their own authorisation; an admin's token only by the company's choice."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from integration.pipedrive.selectors import installation_for
from tenants.models import Company
from tests.invoices.conftest import connected, link_calls, qbo  # noqa: F401
from tests.invoices.test_draft import installed  # noqa: F401
from tests.personas import panel_token


def draft_as(user_id: int):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + panel_token(company_id=1001, user_id=user_id))
    return client.get("/api/v1/deals/1/draft")


@pytest.mark.django_db(transaction=True)
def test_a_member_without_an_installation_does_not_read_with_the_admins_token(installed, personas):  # noqa: F811
    company = personas.company_a
    Company.objects.filter(pk=company.pk).update(invoice_visibility="team")  # Bob may see invoices
    company.refresh_from_db()
    assert company.pipedrive_token_sharing is False  # off unless the company chooses it
    assert installation_for(company=company, membership=personas.alice_membership) == installed
    assert installation_for(company=company, membership=personas.bob_membership) is None
    refused = draft_as(12)  # Bob never installed the app: no deal data through Alice's access
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_installed"
    assert draft_as(11).status_code == 200
    draft = draft_as(11).json()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + panel_token(company_id=1001, user_id=12))
    create = client.post(
        "/api/v1/deals/1/invoices",
        {"draft": draft, "idempotency_key": "8d0f5a52-7d5e-4a36-9d0c-0b8f3c4e2a11"},
        format="json",
    )
    assert create.status_code == 409 and create.json()["error"]["code"] == "not_installed"  # unchecked deal

    Company.objects.filter(pk=company.pk).update(pipedrive_token_sharing=True)
    company.refresh_from_db()
    assert installation_for(company=company, membership=personas.bob_membership) == installed
    assert draft_as(12).status_code == 200


@pytest.mark.django_db(transaction=True)
def test_the_settings_page_turns_token_sharing_on_and_off(installed, personas, web_as):  # noqa: F811
    from tests.settings.test_mapping import VALID

    browser = web_as("alice")
    assert 'name="pipedrive_token_sharing"' in browser.get("/settings/").content.decode()
    assert browser.post("/settings/", {**VALID, "pipedrive_token_sharing": "on"}).status_code == 302
    assert Company.objects.get(pk=personas.company_a.pk).pipedrive_token_sharing is True
    assert browser.post("/settings/", VALID).status_code == 302  # an unticked box is off
    assert Company.objects.get(pk=personas.company_a.pk).pipedrive_token_sharing is False
