"""The draft: a Pipedrive sandbox deal through the field mapping, with QuickBooks suggestions."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import requests

from integration.pipedrive import client as pipedrive
from integration.pipedrive.models import PipedriveInstallation
from integration.sandbox.pipedrive.seed import seed
from invoices.deal_drafts import draft_from_deal
from tenants.models import FieldMapping
from tenants.scoping import company_scope
from tests.integration.pipedrive import flows
from tests.personas import panel_token


@pytest.fixture
def installed(connected, personas, sandbox_base_url):
    """Company A has QuickBooks connected and Alice installed the app in the Pipedrive sandbox."""
    seed()
    with requests.Session() as browser:
        response = flows.install(browser, sandbox_base_url, user_id=11)
    assert response.status_code == 302, response.text[:300]
    return PipedriveInstallation.all_companies.get(company=personas.company_a, pipedrive_user_id=11)


def test_draft_from_a_deal_with_the_default_mapping(installed, connected, personas):
    with company_scope(personas.company_a):
        mapping = FieldMapping.objects.get()
        deal = pipedrive.deal_get(installation=installed, deal_id=1)
        organization = pipedrive.organization_get(installation=installed, organization_id=deal["org_id"])
        person = pipedrive.person_get(installation=installed, person_id=deal["person_id"])
        draft = draft_from_deal(installation=installed, connection=connected, mapping=mapping, deal_id=1)
    assert draft.deal_title == "Initech robot line" and draft.currency == "USD"
    assert draft.customer.name == organization["name"]
    primary = next(e["value"] for e in person["emails"] if e.get("primary"))
    assert draft.customer.email == primary
    assert (draft.customer.pipedrive_entity, draft.customer.pipedrive_id) == ("organization", deal["org_id"])
    assert draft.customer.address.line1  # the organization's address, decoded
    # the disabled line is left out; every line agrees with Pipedrive's own sum
    assert [line.pipedrive_product_id for line in draft.lines] == [1, 2]
    assert all(line.error == "" for line in draft.lines)
    assert Decimal(draft.total) == Decimal(str(deal["value"]))
    assert draft.tax_mode == "exclusive"
    assert (date.fromisoformat(draft.due_date) - date.fromisoformat(draft.issue_date)).days == mapping.due_days


def test_custom_field_mapping_and_remembered_links(installed, connected, personas):
    with company_scope(personas.company_a):
        fields = pipedrive.fields_list(installation=installed, entity="deal")
        billing = next(f["field_code"] for f in fields if f["field_name"] == "Billing address")
        po_number = next(f["field_code"] for f in fields if f["field_name"] == "Purchase order number")
        mapping = FieldMapping.objects.get()
        mapping.address_entity, mapping.address_key = "deal", billing
        mapping.tax_id_entity, mapping.tax_id_key = "deal", po_number
        mapping.save()
        from invoices.models import CustomerLink, ProductLink

        CustomerLink.objects.create(connection=connected, entity="organization", pipedrive_id=1, qbo_customer_id="3")
        ProductLink.objects.create(connection=connected, pipedrive_product_id=1, qbo_item_id="4", item_name="Rock")
        draft = draft_from_deal(installation=installed, connection=connected, mapping=mapping, deal_id=1)
    address = draft.customer.address
    assert (address.line1, address.city, address.region, address.postal_code) == (
        "4120 Freidrich Lane",
        "Austin",
        "Texas",
        "78744",
    )
    assert draft.customer.tax_id == "PO-2026-0042"
    assert (draft.customer.qbo_customer_id, draft.customer.suggestion_reason) == ("3", "linked")
    assert [(line.qbo_item_id, line.qbo_item_name) for line in draft.lines] == [("4", "Rock"), ("", "")]


def test_draft_over_the_panel_api(installed, connected, personas):
    from rest_framework.test import APIClient

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + panel_token(company_id=1001, user_id=11))
    response = client.get("/api/v1/deals/1/draft")
    assert response.status_code == 200, response.content[:300]
    assert response.json()["deal_title"] == "Initech robot line"
    missing = client.get("/api/v1/deals/999999/draft")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found_in_pipedrive"


def test_a_qbo_customer_is_suggested_by_email_then_by_name(installed, connected, personas):
    from integration.sandbox.quickbooks import controls
    from invoices.deal_drafts import suggest_customer
    from invoices.drafts import DraftCustomer

    by_email = DraftCustomer(name="Someone Else", email="Birds@Intuit.com")
    by_name = DraftCustomer(name="Dormant Holdings LLC", email="nobody@example.com")
    nothing = DraftCustomer(name="Brand new", email="new@example.com")
    with company_scope(connected.company):
        for customer in (by_email, by_name, nothing):
            suggest_customer(connection=connected, customer=customer)
    assert (by_email.qbo_customer_id, by_email.suggestion_reason) == ("1", "email")
    assert (by_name.qbo_customer_id, by_name.suggestion_reason, by_name.suggestion_active) == ("4", "name", False)
    assert (nothing.qbo_customer_id, nothing.suggestion_reason) == ("", "")
    assert controls.call_count(realm_id=connected.realm_id) > 0


def test_a_draft_whose_lines_do_not_total_what_was_shown_is_refused(installed, connected, personas):
    import uuid

    from rest_framework.test import APIClient

    from invoices.models import Invoice

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + panel_token(company_id=1001, user_id=11))
    draft = client.get("/api/v1/deals/1/draft").json()
    for line, item in zip(draft["lines"], ("2", "3"), strict=True):
        line["qbo_item_id"] = item
    draft["customer"]["qbo_customer_id"], draft["customer"]["name"] = "3", ""
    # a lower price, while the total shown (and confirmed) is still the deal's: lines may differ from
    # the deal's products, but the invoice never bills a total the user did not see
    tampered = {
        **draft,
        "lines": [{**draft["lines"][0], "item_price": "1", "pipedrive_sum": None}, *draft["lines"][1:]],
    }
    refused = client.post(
        "/api/v1/deals/1/invoices", {"draft": tampered, "idempotency_key": str(uuid.uuid4())}, format="json"
    )
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "total_changed" and draft["total"] in error["message"]
    assert not Invoice.all_companies.exists()
    created = client.post(
        "/api/v1/deals/1/invoices", {"draft": draft, "idempotency_key": str(uuid.uuid4())}, format="json"
    )
    assert created.status_code == 201, created.content[:500]
    assert created.json()["total"] == draft["total"]
