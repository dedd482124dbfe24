"""Hostile input found by the review (issue 17): every one is a 4xx in that surface's envelope,
nothing written. Each case failed with a 500 (or created an invoice) before the fix."""

from __future__ import annotations

import copy
import json
import uuid

import pytest

from integration.models import WebhookEvent
from integration.sandbox.quickbooks.webhooks import sign
from invoices.models import Invoice, ProductLink
from tenants.scoping import company_scope
from tests.extension.test_contract import CREATE
from tests.invoices.test_panel_api import DRAFT, panel

HUGE = "99999999999999999999"


def panel_error(response, status=400):
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert set(body) == {"error"} and {"code", "message", "fields"} <= set(body["error"])
    return body["error"]


def ext_error(response, status=400):
    assert response.status_code == status, (response.status_code, response.content[:500])
    body = response.json()
    assert body["success"] is False
    return body


def create(client, draft, key=None):
    return client.post(
        "/api/v1/deals/501/invoices",
        {"draft": draft, "idempotency_key": key or str(uuid.uuid4())},
        format="json",
    )


GOOD = {**DRAFT, "due_date": "2026-12-27"}


@pytest.mark.parametrize(
    "change, field",
    [
        ({"tax_mode": "bogus"}, "tax_mode"),
        ({"currency": "usd"}, "currency"),
        ({"currency": "DOLLARS"}, "currency"),
        ({"issue_date": "9999-01-01", "due_date": "9999-02-01"}, "issue_date"),
        ({"send_email": "yes"}, "send_email"),
        ({"lines": [{**DRAFT["lines"][0], "item_price": "1e300"}]}, "lines[0].item_price"),
        ({"lines": [{**DRAFT["lines"][0], "item_price": "1e999999999"}]}, "lines[0].item_price"),
        ({"lines": [{**DRAFT["lines"][0], "item_price": "NaN"}]}, "lines[0].item_price"),
        ({"lines": [{**DRAFT["lines"][0], "item_price": "Infinity"}]}, "lines[0].item_price"),
        ({"lines": [{**DRAFT["lines"][0], "item_price": "1e15"}]}, "lines[0].item_price"),
        ({"lines": [{**DRAFT["lines"][0], "quantity": "1e12"}]}, "lines[0].quantity"),
        ({"lines": [{**DRAFT["lines"][0], "quantity": "0.00000001"}]}, "lines[0].quantity"),
        ({"lines": [{**DRAFT["lines"][0], "pipedrive_product_id": HUGE}]}, "lines[0].pipedrive_product_id"),
        ({"lines": [{**DRAFT["lines"][0], "qbo_item_id": HUGE * 2}]}, "lines[0].qbo_item_id"),
        ({"customer": {**DRAFT["customer"], "qbo_customer_id": HUGE * 2}}, "customer.qbo_customer_id"),
        ({"customer": {**DRAFT["customer"], "pipedrive_id": HUGE}}, "customer.pipedrive_id"),
    ],
)
def test_panel_create_refuses_what_could_overflow_or_is_not_a_choice(qbo, connected, personas, change, field):
    error = panel_error(create(panel(personas.alice_membership), {**GOOD, **change}))
    assert field in error["fields"], error
    assert not Invoice.all_companies.exists()


def test_panel_preflight_reports_the_same(qbo, connected, personas):
    response = panel(personas.alice_membership).post(
        "/api/v1/deals/501/preflight", {"draft": {**GOOD, "tax_mode": "bogus", "currency": "usd"}}, format="json"
    )
    assert response.status_code in (200, 400)
    text = json.dumps(response.json())
    assert "tax_mode" in text and "currency" in text


@pytest.mark.parametrize("number", ["1e300", "1e999999999", "NaN", "-Infinity"])
def test_panel_raw_json_numbers(qbo, connected, personas, number):
    raw = json.dumps({"draft": GOOD, "idempotency_key": str(uuid.uuid4())}).replace('"50"', number)
    response = panel(personas.alice_membership).generic(
        "POST", "/api/v1/deals/501/invoices", raw, content_type="application/json"
    )
    panel_error(response)
    assert not Invoice.all_companies.exists()


def test_ids_beyond_64_bits_on_the_panel(qbo, connected, personas):
    alice = panel(personas.alice_membership)
    panel_error(alice.put(f"/api/v1/products/{HUGE}/item", {"qbo_item_id": "2"}, format="json"), 404)
    panel_error(alice.put(f"/api/v1/invoices/1/deals/{HUGE}"), 404)
    panel_error(alice.get(f"/api/v1/invoices/{HUGE}"), 404)
    panel_error(alice.get(f"/api/v1/deals/{HUGE}/invoices"), 404)
    panel_error(alice.get(f"/api/v1/contact-invoices?deal_id={HUGE}"), 400)
    assert not ProductLink.all_companies.exists()


def test_ids_beyond_64_bits_with_a_remembered_seat(qbo, connected, personas):
    """The panel's read path skips full authentication for a remembered seat: the path-id bound
    must hold there too (it once reached the seat query and overflowed it)."""
    alice = panel(personas.alice_membership)
    assert alice.get("/api/v1/deals/501/invoices").status_code == 200  # the seat is now remembered
    panel_error(alice.get(f"/api/v1/deals/{HUGE}/invoices"), 404)


def test_product_link_to_item_zero_or_unknown_item(qbo, connected, personas):
    alice = panel(personas.alice_membership)
    for item in ["0", "00", "007", "-1", "1.5", HUGE * 2]:
        error = panel_error(alice.put("/api/v1/products/31/item", {"qbo_item_id": item}, format="json"))
        assert "qbo_item_id" in error["fields"]
    assert not ProductLink.all_companies.exists()
    assert alice.put("/api/v1/products/31/item", {"qbo_item_id": "2"}, format="json").status_code == 200


def test_link_to_a_deal_pipedrive_does_not_know(installed, connected, personas):
    with company_scope(personas.company_a):
        invoice = Invoice.objects.create(
            company=personas.company_a, connection=connected, state="created", qbo_id="77", currency="USD"
        )
    alice = panel(personas.alice_membership)
    error = panel_error(alice.put(f"/api/v1/invoices/{invoice.pk}/deals/987654"), 404)
    assert error["code"] == "not_found_in_pipedrive"
    assert not invoice.deal_links.exists()
    assert alice.put(f"/api/v1/invoices/{invoice.pk}/deals/1").json()["deal_ids"] == [1]


def test_deeply_nested_json_is_a_400(qbo, connected, personas):
    deep = "[" * 50_000 + "]" * 50_000
    response = panel(personas.alice_membership).generic(
        "POST", "/api/v1/deals/501/preflight", deep, content_type="application/json"
    )
    panel_error(response)


# -- reverse API --------------------------------------------------------------------------------


def test_reverse_api_ids_and_page_beyond_64_bits(pipedrive):
    ext_error(pipedrive.get(":linkId/invoices", ids=HUGE))
    ext_error(pipedrive.get(":linkId/invoices", customerId="3", page=HUGE))
    ext_error(pipedrive.get(":linkId/invoices", customerId=HUGE))
    ext_error(pipedrive.get(":linkId/invoices/" + HUGE + "/share"), 404)
    ext_error(pipedrive.get(":linkId/report/invoice-summary", contactId=HUGE))
    # Digits str.isdigit() accepts and int() refuses (found by tests/security/test_fuzz.py).
    ext_error(pipedrive.get(":linkId/invoices/²/share"), 404)
    ext_error(pipedrive.get(":linkId/invoices", ids="²"))
    ext_error(pipedrive.get(":linkId/invoices", customerId="3", page="²"))


@pytest.mark.parametrize("deal", [HUGE, "²", -5, "abc"])
def test_reverse_api_create_with_a_bad_deal_id_in_the_body(pipedrive, deal):
    body = {**CREATE, "dealId": deal}
    response = pipedrive.client.post(pipedrive.url(":linkId/invoices"), body, content_type="application/json")
    assert "dealId" in ext_error(response)["fields"]
    assert not Invoice.all_companies.exists()


def test_reverse_api_summary_from_after_to(pipedrive):
    body = ext_error(
        pipedrive.get(":linkId/report/invoice-summary", contactId="3", **{"from": "2026-02-01", "to": "2026-01-01"})
    )
    assert "to" in json.dumps(body)


@pytest.mark.parametrize(
    "line, field",
    [
        ({"unitPrice": 1e15}, "unitPrice"),
        ({"unitPrice": "1e300"}, "unitPrice"),
        ({"quantity": 1e12}, "quantity"),
        ({"quantity": "NaN"}, "quantity"),
        ({"productId": HUGE * 2}, "productId"),
    ],
)
def test_reverse_api_create_refuses_what_could_overflow(pipedrive, line, field):
    body = copy.deepcopy(CREATE)
    body["lineItems"][0].update(line)
    response = pipedrive.post(":linkId/invoices", body, headers={"Idempotency-Key": str(uuid.uuid4())}, dealId=1)
    error = ext_error(response)
    assert field in json.dumps(error["fields"]), error
    assert not Invoice.all_companies.exists()


@pytest.mark.parametrize(
    "change, field", [({"currencyId": "DOLLARS"}, "currencyId"), ({"issueDate": "9999-01-01"}, "issueDate")]
)
def test_reverse_api_create_refuses_bad_choices(pipedrive, change, field):
    response = pipedrive.post(
        ":linkId/invoices", {**CREATE, **change}, headers={"Idempotency-Key": str(uuid.uuid4())}, dealId=1
    )
    assert field in json.dumps(ext_error(response)["fields"])
    assert not Invoice.all_companies.exists()


def test_reverse_api_deep_json(pipedrive):
    deep = "[" * 50_000 + "]" * 50_000
    response = pipedrive.client.post(pipedrive.url(":linkId/invoices"), deep, content_type="application/json")
    ext_error(response)


# -- webhook ------------------------------------------------------------------------------------


def _post(client, body: bytes):
    return client.post(
        "/webhooks/quickbooks", data=body, content_type="application/json", headers={"intuit-signature": sign(body)}
    )


def legacy(**entity):
    return json.dumps(
        {
            "eventNotifications": [
                {
                    "realmId": entity.pop("realmId", "9130350000000001"),
                    "dataChangeEvent": {"entities": [{"name": "Invoice", "id": "1", "operation": "Update", **entity}]},
                }
            ]
        }
    ).encode()


@pytest.mark.parametrize(
    "body",
    [
        legacy(lastUpdated=10**30),
        legacy(lastUpdated=1e300),
        legacy(lastUpdated="9999999-01-01T00:00:00Z"),
        legacy(lastUpdated="2026-13-45T00:00:00Z"),
        legacy(lastUpdated="not a date"),
        legacy(realmId="9" * 500),
        legacy(id="1" * 500),
        legacy(name="X" * 500),
        legacy(operation="Y" * 500),
        json.dumps(
            [{"type": "qbo.invoice.updated.v1", "id": "e" * 5000, "intuitaccountid": "1", "intuitentityid": "1"}]
        ).encode(),
        json.dumps(
            [{"type": "qbo.invoice.updated.v1", "id": "e1", "intuitaccountid": "1" * 500, "time": "0000-00-00"}]
        ).encode(),
        b"[" * 50_000 + b"]" * 50_000,
        b'{"eventNotifications": [{"realmId": NaN}]}',
    ],
    ids=lambda body: body[:40].decode(errors="replace") + f"…{len(body)}",
)
def test_webhook_odd_payloads_never_500(client, db, body):
    response = _post(client, body)
    assert response.status_code in (200, 400), (response.status_code, response.content[:300])
    response.json()
    # Nothing longer than its column was stored (PostgreSQL would refuse it, SQLite would not).
    for event in WebhookEvent.objects.all():
        assert len(event.realm_id) <= 32 and len(event.entity_id) <= 32 and len(event.event_id) <= 200
