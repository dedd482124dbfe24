"""The panel API over the sandboxes: Pipedrive JWT in, QuickBooks behind, our envelope out."""

from __future__ import annotations

import uuid

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from invoices.models import Invoice
from tenants.scoping import company_scope
from tests.personas import panel_token


def panel(membership) -> APIClient:
    client = APIClient()
    token = panel_token(company_id=membership.company.pipedrive_company_id, user_id=membership.pipedrive_user_id)
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")
    return client


DRAFT = {
    "deal_title": "Garden makeover",
    "currency": "USD",
    "customer": {"qbo_customer_id": "3", "name": "", "email": "qbwebsamplecompany@yahoo.com"},
    "lines": [
        {"name": "Hours", "quantity": "2", "item_price": "50", "qbo_item_id": "2", "pipedrive_product_id": 31},
        {
            "name": "Design",
            "quantity": "1",
            "item_price": "75",
            "discount": "5",
            "discount_type": "amount",
            "qbo_item_id": "3",
        },
    ],
    "issue_date": "2026-11-27",
    "due_date": "2020-01-01",
    "tax_mode": "none",
}


def test_cookies_are_not_enough(web_as, personas):
    response = web_as("alice").get("/api/v1/deals/501/invoices")
    assert response.status_code in (401, 403)
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION="Bearer not.a.jwt")
    assert forged.get("/api/v1/deals/501/invoices").status_code == 401
    in_the_url = APIClient().get(f"/api/v1/deals/501/invoices?token={panel_token(company_id=1001, user_id=11)}")
    assert in_the_url.status_code in (401, 403)  # the API reads the Authorization header only


def test_not_connected_yet(personas):
    response = panel(personas.alice_membership).get("/api/v1/deals/501/invoices")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "not_connected"


def test_create_list_act_over_the_panel_api(qbo, connected, personas):
    alice = panel(personas.alice_membership)
    key = str(uuid.uuid4())
    # pre-flight first: due date before issue date is reported, nothing created
    check = alice.post("/api/v1/deals/501/preflight", {"draft": DRAFT}, format="json").json()
    assert check["ok"] is False
    assert [p["code"] for p in check["problems"]] == ["due_before_issue"]
    refused = alice.post("/api/v1/deals/501/invoices", {"draft": DRAFT, "idempotency_key": key}, format="json")
    assert refused.status_code == 400
    assert refused.json()["error"]["fields"] == {"due_date": ["The due date is before the issue date."]}
    assert not Invoice.all_companies.exists()

    draft = {**DRAFT, "due_date": "2026-12-27"}
    created = alice.post("/api/v1/deals/501/invoices", {"draft": draft, "idempotency_key": key}, format="json")
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["status"], body["total"], body["pipedrive_status"]) == (
        "open",
        "170.00",
        {"code": "created", "label": ""},
    )
    assert body["actions"] == ["send", "pdf", "open_in_quickbooks", "void", "delete"]
    assert body["quickbooks_url"].endswith(f"/invoice?txnId={body['qbo_id']}")
    again = alice.post("/api/v1/deals/501/invoices", {"draft": draft, "idempotency_key": key}, format="json")
    assert again.json()["id"] == body["id"]

    listing = alice.get("/api/v1/deals/501/invoices").json()
    assert [i["id"] for i in listing["invoices"]] == [body["id"]]
    assert listing["summary"] == [
        {"currency": "USD", "outstanding": "170.00", "overdue": "0.00", "paid": "0.00", "total": "170.00"}
    ]
    assert listing["invoices"][0]["history"][0]["actor"] == "Alice Admin"

    sent = alice.post(f"/api/v1/invoices/{body['id']}/send", {"to": "owner@redrock.example"}, format="json").json()
    assert sent["sent"] is True and sent["pipedrive_status"]["code"] == "issued"
    pdf = alice.get(f"/api/v1/invoices/{body['id']}/pdf")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")
    voided = alice.post(f"/api/v1/invoices/{body['id']}/void", format="json").json()
    assert voided["status"] == "voided" and voided["actions"] == ["pdf", "open_in_quickbooks", "delete"]
    again = alice.post(f"/api/v1/invoices/{body['id']}/void", format="json")
    assert again.status_code == 403 and again.json()["error"]["code"] == "action_not_allowed"
    # A link names a deal Pipedrive knows: without an installation to ask, none is made
    # (tests/security/test_hostile_input.py links through the Pipedrive sandbox).
    refused = alice.put(f"/api/v1/invoices/{body['id']}/deals/777")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_installed"


def test_owner_only_members_get_an_explanation(qbo, connected, personas):
    response = panel(personas.bob_membership).get("/api/v1/deals/501/invoices")
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "not_allowed_to_view"
    assert "Alice Admin" in error["message"]


def test_missing_idempotency_key_is_refused(qbo, connected, personas):
    response = panel(personas.alice_membership).post("/api/v1/deals/501/invoices", {"draft": DRAFT}, format="json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "idempotency_key_required"


def test_deal_list_query_count_does_not_grow_with_invoices(personas):
    from tests.personas import add_invoices

    add_invoices(personas)
    alice = panel(personas.alice_membership)

    def queries_for_list(expected: int) -> int:
        alice.get(f"/api/v1/deals/{personas.deal_a}/invoices")  # the seat is remembered (invoices.panel_reads)
        with CaptureQueriesContext(db_connection) as queries:
            response = alice.get(f"/api/v1/deals/{personas.deal_a}/invoices")
        assert len(response.json()["invoices"]) == expected
        return len(queries)

    one = queries_for_list(1)
    for n in range(29):
        copy = Invoice.all_companies.get(pk=personas.invoice_a.pk)
        copy.pk, copy.request_id, copy.qbo_id = None, uuid.uuid4(), f"9{n}"
        copy.save()
        copy.deal_links.model.all_companies.create(company=copy.company, invoice=copy, deal_id=personas.deal_a)
    assert queries_for_list(30) == one


def test_contact_invoices_include_ones_made_in_quickbooks(qbo, connected, personas):
    from integration.sandbox.quickbooks import controls

    alice = panel(personas.alice_membership)
    created = alice.post(
        "/api/v1/deals/501/invoices",
        {"draft": {**DRAFT, "due_date": "2026-12-27"}, "idempotency_key": str(uuid.uuid4())},
        format="json",
    ).json()
    controls.set_webhook_format(realm_id=qbo.us_realm, fmt="off")  # only the pull can find this one
    typed = controls.create_invoice(
        realm_id=qbo.us_realm,
        customer_id="3",
        TxnDate="2026-11-20",
        DueDate="2026-12-20",
        lines=[
            {
                "Amount": 50.0,
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {"ItemRef": {"value": "2"}, "Qty": 1, "UnitPrice": 50},
            }
        ],
    )
    query = "/api/v1/contact-invoices?deal_id=501&date_from=2026-11-01&date_to=2026-11-30"
    before = alice.get(query).json()
    assert [i["qbo_id"] for i in before["invoices"]] == [created["qbo_id"]]
    after = alice.get(query + "&refresh=true").json()
    assert {i["qbo_id"] for i in after["invoices"]} == {created["qbo_id"], typed["Id"]}
    assert after["summary"] == [
        {"currency": "USD", "outstanding": "220.00", "overdue": "0.00", "paid": "0.00", "total": "220.00"}
    ]
    bad = alice.get("/api/v1/contact-invoices?deal_id=501&date_from=2026-12-01&date_to=2026-11-01")
    assert bad.status_code == 400 and "date_to" in bad.json()["error"]["fields"]


def test_fast_invoice_rendering_matches_drf_field_rendering(personas):
    from rest_framework import serializers as drf

    from invoices.selectors import invoices_of_deal
    from invoices.serializers import InvoiceSerializer
    from tests.personas import add_invoices

    add_invoices(personas)
    Invoice.all_companies.filter(pk=personas.invoice_a.pk).update(total="1234.5", balance="0", tax_total="0.1")
    with company_scope(personas.company_a):
        [invoice] = invoices_of_deal(
            company=personas.company_a, connection=personas.connection_a, deal_id=personas.deal_a
        )
        serializer = InvoiceSerializer(invoice, context={"membership": personas.alice_membership})
        generic = drf.ModelSerializer.to_representation(serializer, invoice)
        fast = serializer.data
    assert fast == dict(generic)
    assert (fast["total"], fast["balance"], fast["tax_total"]) == ("1234.50", "0.00", "0.10")


def test_overdue_is_computed_when_read(personas):
    from tests.personas import add_invoices

    add_invoices(personas)
    Invoice.all_companies.filter(pk=personas.invoice_a.pk).update(due_date="2020-01-01")  # still stored "open"
    [row] = panel(personas.alice_membership).get(f"/api/v1/deals/{personas.deal_a}/invoices").json()["invoices"]
    assert (row["status"], row["status_label"], row["pipedrive_status"]) == (
        "overdue",
        "Overdue",
        {"code": "issued", "label": "Overdue"},
    )
    assert "void" in row["actions"]


@pytest.mark.parametrize(
    ("draft", "field"),
    [
        ({**DRAFT, "customer": "x"}, "customer"),
        ({**DRAFT, "customer": {"email": None, "name": 5, "address": "x"}}, "customer.address"),
        ({**DRAFT, "lines": [{"quantity": {"x": 1}}]}, "lines[0].quantity"),
        ({**DRAFT, "lines": "none"}, "lines"),
    ],
)
def test_malformed_drafts_get_a_clear_error_and_create_nothing(qbo, connected, personas, draft, field):
    alice = panel(personas.alice_membership)
    for path in ("/api/v1/deals/501/invoices", "/api/v1/deals/501/preflight"):
        response = alice.post(path, {"draft": draft, "idempotency_key": str(uuid.uuid4())}, format="json")
        assert response.status_code == 400, response.content[:300]
        assert field in response.json()["error"]["fields"]
    assert not Invoice.all_companies.exists()


def test_missing_line_values_are_reported_as_problems(qbo, connected, personas):
    draft = {**DRAFT, "due_date": "2026-12-27", "lines": [{"qbo_item_id": "2"}]}
    response = panel(personas.alice_membership).post("/api/v1/deals/501/preflight", {"draft": draft}, format="json")
    assert response.status_code == 200
    assert [p["field"] for p in response.json()["problems"]] == ["lines[0].item_price"]
