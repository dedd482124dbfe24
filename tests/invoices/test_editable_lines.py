"""Editable invoice lines over both sandboxes (issue 13): the user edits, removes and adds lines in
the create window; the invoice bills exactly the confirmed lines, and the difference from the
deal's value is reported before create, not refused."""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest
import requests
from rest_framework.test import APIClient

from integration.quickbooks.services import client_for
from integration.sandbox.pipedrive.seed import seed
from invoices.models import Invoice, InvoiceLine
from tests.integration.pipedrive import flows
from tests.personas import panel_token


@pytest.fixture
def alice(connected, personas, sandbox_base_url) -> APIClient:
    """Alice installed the app in the Pipedrive sandbox; company A has QuickBooks connected (US)."""
    seed()
    with requests.Session() as browser:
        assert flows.install(browser, sandbox_base_url, user_id=11).status_code == 302
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + panel_token(company_id=1001, user_id=11))
    return client


def _linked(draft: dict) -> dict:
    """Deal 1's two lines linked to QBO items Hours (2) and Design (3), customer 3."""
    for line, item in zip(draft["lines"], ("2", "3"), strict=True):
        line["qbo_item_id"] = item
    draft["customer"]["qbo_customer_id"] = "3"
    return draft


def _preflight(client, deal_id: int, draft: dict) -> dict:
    response = client.post(f"/api/v1/deals/{deal_id}/preflight", {"draft": draft}, format="json")
    assert response.status_code == 200, response.content[:500]
    return response.json()


def _create(client, deal_id: int, draft: dict, key: str | None = None):
    body = {"draft": draft, "idempotency_key": key or str(uuid.uuid4())}
    return client.post(f"/api/v1/deals/{deal_id}/invoices", body, format="json")


def _qbo_lines(connection, invoice_id: int) -> list[dict]:
    invoice = Invoice.all_companies.get(pk=invoice_id)
    body = client_for(connection=connection).read("Invoice", invoice.qbo_id)
    return [line for line in body["Line"] if line.get("DetailType") == "SalesItemLineDetail"]


def test_edited_quantity_price_and_discount_are_billed_as_confirmed(alice, connected):
    draft = _linked(alice.get("/api/v1/deals/1/draft").json())
    deal_value = Decimal(draft["deal_value"])
    assert draft["difference"] == "0.00" and Decimal(draft["total"]) == deal_value
    first, second = draft["lines"]
    first.update(quantity="3", item_price="120.50", discount="0", tax="0", description="Robot arm, 3 units")
    second.update(quantity="2.5", item_price="80", discount="15", discount_type="amount", tax="0")
    checked = _preflight(alice, 1, draft)
    assert checked["ok"] is True, checked["problems"]
    # 3 × 120.50 = 361.50; 2.5 × 80 − 15 = 185.00
    assert [line["total"] for line in checked["lines"]] == ["361.50", "185.00"]
    assert checked["total"] == "546.50"
    assert Decimal(checked["difference"]) == Decimal("546.50") - deal_value  # reported, not refused

    created = _create(alice, 1, {**draft, "total": checked["total"]})
    assert created.status_code == 201, created.content[:500]
    assert created.json()["total"] == "546.50"  # QBO's own TotalAmt, read back
    lines = _qbo_lines(connected, created.json()["id"])
    assert [(line["SalesItemLineDetail"]["Qty"], line["Amount"]) for line in lines] == [(3, 361.5), (2.5, 185.0)]
    assert lines[0]["Description"] == "Robot arm, 3 units"
    assert [str(line.amount) for line in InvoiceLine.all_companies.order_by("position")] == ["361.50", "185.00"]


def test_a_removed_line_and_an_added_qbo_item_line(alice, connected):
    draft = _linked(alice.get("/api/v1/deals/1/draft").json())
    search = alice.get("/api/v1/quickbooks/items?q=Desi")
    assert search.status_code == 200
    design = next(item for item in search.json()["results"] if item["name"] == "Design")
    assert (design["unit_price"], design["description"]) == ("75", "Custom Design")  # prefilled from QBO
    kept = {**draft["lines"][0], "quantity": "1", "item_price": "100", "discount": "0", "tax": "0"}
    added = {
        "name": design["name"],
        "description": design["description"],
        "quantity": "2",
        "item_price": design["unit_price"],
        "qbo_item_id": design["id"],
        "qbo_item_name": design["name"],
        "tax_method": draft["tax_mode"],
    }
    draft["lines"] = [kept, added]  # the deal's second product removed
    checked = _preflight(alice, 1, draft)
    assert checked["ok"] is True, checked["problems"]
    assert checked["total"] == "250.00"
    created = _create(alice, 1, {**draft, "total": "250.00"})
    assert created.status_code == 201, created.content[:500]
    assert created.json()["total"] == "250.00"
    lines = _qbo_lines(connected, created.json()["id"])
    assert [(line["SalesItemLineDetail"]["ItemRef"]["value"], line["Amount"]) for line in lines] == [
        ("2", 100.0),
        ("3", 150.0),
    ]
    assert lines[1]["Description"] == "Custom Design" and lines[1]["SalesItemLineDetail"]["UnitPrice"] == 75


def test_a_deal_without_products_is_invoiced_with_added_lines(alice, connected):
    draft = alice.get("/api/v1/deals/4/draft").json()  # Hooli pilot: value 15000 USD, no products
    assert draft["lines"] == [] and draft["deal_value"] == "15000.00"
    assert draft["difference"] == "-15000.00"
    empty = _preflight(alice, 4, draft)
    assert [p["code"] for p in empty["problems"] if p["field"] == "lines"] == ["no_lines"]
    draft["customer"]["qbo_customer_id"] = "3"
    draft["lines"] = [
        {"name": "Hours", "quantity": "100", "item_price": "150", "qbo_item_id": "2", "tax_method": "none"},
    ]
    checked = _preflight(alice, 4, draft)
    assert (checked["ok"], checked["total"], checked["difference"]) == (True, "15000.00", "0.00")
    created = _create(alice, 4, {**draft, "total": checked["total"]})
    assert created.status_code == 201, created.content[:500]
    assert created.json()["total"] == "15000.00" and created.json()["deal_ids"] == [4]


def test_a_total_other_than_the_one_shown_is_refused_but_a_retry_is_the_same_invoice(alice, connected):
    draft = _linked(alice.get("/api/v1/deals/1/draft").json())
    draft["lines"][0].update(item_price="1", pipedrive_sum=None)
    shown = draft["total"]  # the modal still showed the deal's total
    refused = _create(alice, 1, draft)
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "total_changed" and shown in error["message"]
    assert error["fields"]["total"]
    assert not Invoice.all_companies.exists()

    confirmed = _preflight(alice, 1, draft)["total"]
    key = str(uuid.uuid4())
    created = _create(alice, 1, {**draft, "total": confirmed}, key=key)
    assert created.status_code == 201 and created.json()["total"] == confirmed
    # The same key is the same invoice, whatever lines (and total) the retry sends.
    retry = {**draft, "lines": draft["lines"][:1], "total": "1.00"}
    again = _create(alice, 1, retry, key=key)
    assert again.status_code in (200, 201) and again.json()["id"] == created.json()["id"]
    assert Invoice.all_companies.count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"quantity": "abc"}, "lines[2].quantity"),
        ({"quantity": "0"}, "lines[2].quantity"),
        ({"quantity": "1e12"}, "lines[2].quantity"),
        ({"quantity": "0.00000001"}, "lines[2].quantity"),
        ({"item_price": "-5"}, "lines[2].item_price"),
        ({"item_price": "NaN"}, "lines[2].item_price"),
        ({"item_price": "1e400"}, "lines[2].item_price"),
        ({"quantity": "1000000", "item_price": "1000000"}, "lines[2].quantity"),  # the line's amount
        ({"discount": "101"}, "lines[2].discount"),
        ({"discount": "-1"}, "lines[2].discount"),
        ({"discount": "20", "discount_type": "amount"}, "lines[2].discount"),  # above the line
        ({"discount_type": "fixed"}, "lines[2].discount_type"),
        ({"tax": "250"}, "lines[2].tax"),
        ({"quantity": {"x": 1}}, "lines[2].quantity"),
        ({"item_price": [1]}, "lines[2].item_price"),
    ],
)
def test_bad_line_values_are_refused_by_field(alice, connected, change, field):
    draft = _linked(alice.get("/api/v1/deals/1/draft").json())
    draft["lines"].append(
        {"name": "Extra", "quantity": "1", "item_price": "10", "qbo_item_id": "2", "tax_method": "none", **change}
    )
    preflight = alice.post("/api/v1/deals/1/preflight", {"draft": draft}, format="json")
    assert preflight.status_code in (200, 400), preflight.content[:300]
    if preflight.status_code == 200:
        assert field in [p["field"] for p in preflight.json()["problems"]]
        assert preflight.json()["total"] == ""
    else:
        assert field in preflight.json()["error"]["fields"]
    created = _create(alice, 1, draft)
    assert created.status_code == 400, created.content[:300]
    assert field in created.json()["error"]["fields"]
    assert not Invoice.all_companies.exists()
