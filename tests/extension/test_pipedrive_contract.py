"""The reverse API takes what Pipedrive sends (pipedrive-contract-facts.md §4, Pipedrive's invoicing page):
bodies bare or wrapped, lines without a product, no viewer and no deal on the calls."""

from __future__ import annotations

import copy
import uuid
from decimal import Decimal

import pytest
from django.db import transaction

from integration.sandbox.quickbooks import services as qbo_services
from integration.sandbox.quickbooks.faults import QboFault
from integration.sandbox.quickbooks.models import SandboxEntity, SandboxRealm
from invoices.models import Invoice
from tenants.models import Company
from tests.extension import contract
from tests.extension.conftest import Pipedrive
from tests.extension.contract import assert_shape, success
from tests.extension.test_contract import CREATE

REALM_US = "9130350000000001"
SHAPES = ["bare", "data", "envelope"]


def shaped(body: dict, shape: str) -> dict:
    """The three shapes Pipedrive's page prints: bare, `{"data": …}`, `{"success": …, "data": …}`."""
    if shape == "bare":
        return body
    return {"data": body} if shape == "data" else {"success": True, "data": body}


def qbo_invoice(invoice: Invoice) -> dict:
    return SandboxEntity.objects.get(realm__realm_id=REALM_US, entity="Invoice", qbo_id=invoice.qbo_id).data


def qbo_items() -> dict[str, dict]:
    return {r.qbo_id: r.data for r in SandboxEntity.objects.filter(realm__realm_id=REALM_US, entity="Item")}


# -- body shapes ------------------------------------------------------------------------------


@pytest.mark.parametrize("shape", SHAPES)
def test_post_invoice_in_every_shape(pipedrive, shape):
    body = copy.deepcopy(CREATE)
    body["lineItems"][0]["description"] = f"Garden hours ({shape})"
    response = pipedrive.post(":linkId/invoices", shaped(body, shape))
    assert response.status_code == 201, response.content
    assert_shape(response.json(), success(contract.INVOICE))
    qbo = qbo_invoice(Invoice.all_companies.get(pk=response.json()["data"]["id"]))
    assert qbo["Line"][0]["Description"] == f"Garden hours ({shape})" and Decimal(str(qbo["TotalAmt"])) == 172


@pytest.mark.parametrize("shape", SHAPES)
def test_post_invoice_status_in_every_shape(pipedrive, shape):
    created = pipedrive.post(":linkId/invoices", CREATE).json()["data"]
    voided = pipedrive.post(f":linkId/invoices/{created['id']}/action", shaped({"id": "VOIDED"}, shape))
    assert voided.status_code == 200, voided.content
    assert voided.json()["data"]["pipedriveStatusCode"] == "voided"


@pytest.mark.parametrize("shape", SHAPES)
def test_post_and_put_contact_in_every_shape(pipedrive, shape):
    created = pipedrive.post(":linkId/contacts", shaped({"displayName": f"Shape {shape} Ltd", "city": "Oslo"}, shape))
    assert created.status_code == 201, created.content
    assert_shape(created.json(), success(contract.CONTACT))
    contact = created.json()["data"]
    assert (contact["displayName"], contact["city"]) == (f"Shape {shape} Ltd", "Oslo")
    updated = pipedrive.put(f":linkId/contacts/{contact['id']}", shaped({"phone": "+47 22 00 00 00"}, shape))
    assert updated.status_code == 200, updated.content
    assert updated.json()["data"]["phone"] == "+47 22 00 00 00"
    customer = SandboxEntity.objects.get(realm__realm_id=REALM_US, entity="Customer", qbo_id=contact["id"]).data
    assert customer["PrimaryPhone"]["FreeFormNumber"] == "+47 22 00 00 00"


@pytest.mark.parametrize("shape", SHAPES)
def test_post_and_put_product_in_every_shape(pipedrive, shape):
    created = pipedrive.post(":linkId/products", shaped({"name": f"Shape {shape}", "unitPrice": 12.5}, shape))
    assert created.status_code == 201, created.content
    assert_shape(created.json(), success(contract.PRODUCT))
    product = created.json()["data"]
    updated = pipedrive.put(f":linkId/products/{product['id']}", shaped({"description": "Now described"}, shape))
    assert updated.status_code == 200, updated.content
    assert updated.json()["data"]["description"] == "Now described"
    assert qbo_items()[product["id"]]["Description"] == "Now described"


def test_a_wrapper_without_an_object_is_a_clear_400(pipedrive):
    for body in ({"data": "VOIDED"}, {"success": True, "data": None}, {"data": [{"a": 1}, {"b": 2}]}):
        response = pipedrive.post(":linkId/contacts", body)
        assert response.status_code == 400, body
        assert_shape(response.json(), contract.ERROR)
    # The page prints Contact samples as a one-element array: that is one contact.
    one = pipedrive.post(":linkId/contacts", {"success": True, "data": [{"displayName": "Array Shape Inc"}]})
    assert one.status_code == 201 and one.json()["data"]["displayName"] == "Array Shape Inc"


# -- lines without a product ------------------------------------------------------------------


def free_line(**changes) -> dict:
    line = {
        "productId": None,
        "productCode": None,
        "description": "Site visit",
        "quantity": 1,
        "unitPrice": 90,
        "discountRate": None,
        "taxRateId": None,
        "accountId": "79",
    }
    return {**line, **changes}


def test_a_line_without_a_product_is_booked_to_its_account(pipedrive):
    body = {**CREATE, "lineItems": [free_line(), CREATE["lineItems"][0]]}
    before = set(qbo_items())
    response = pipedrive.post(":linkId/invoices", body)
    assert response.status_code == 201, response.content
    qbo = qbo_invoice(Invoice.all_companies.get(pk=response.json()["data"]["id"]))
    first, second = qbo["Line"][0], qbo["Line"][1]
    assert first["Description"] == "Site visit" and Decimal(str(first["Amount"])) == 90
    assert first["SalesItemLineDetail"]["ItemAccountRef"]["value"] == "79"  # Sales of Product Income
    assert second["SalesItemLineDetail"]["ItemAccountRef"]["value"] == "1"  # Hours' own account
    new = set(qbo_items()) - before
    assert len(new) == 1
    item = qbo_items()[new.pop()]
    assert (item["Type"], item["IncomeAccountRef"]["value"], item["Name"]) == (
        "Service",
        "79",
        "Sales of Product Income",
    )
    # The next product-less line on that account reuses the item.
    again = pipedrive.post(":linkId/invoices", {**CREATE, "lineItems": [free_line(description="Second visit")]})
    assert again.status_code == 201, again.content
    assert len(set(qbo_items()) - before) == 1


def test_a_line_without_product_or_account_goes_to_the_default_income_account(pipedrive):
    response = pipedrive.post(":linkId/invoices", {**CREATE, "lineItems": [free_line(accountId=None)]})
    assert response.status_code == 201, response.content
    line = qbo_invoice(Invoice.all_companies.get(pk=response.json()["data"]["id"]))["Line"][0]
    assert line["SalesItemLineDetail"]["ItemAccountRef"]["value"] == "1"  # the first income account: Services
    assert line["SalesItemLineDetail"]["ItemRef"]["value"] == "1"  # its existing "Services" item


def test_accounts_that_cannot_take_the_line_are_refused_field_by_field(pipedrive):
    lines = [
        free_line(accountId="35"),  # Checking: a bank account
        free_line(accountId="5"),  # Fees Billed: inactive
        {**CREATE["lineItems"][0], "accountId": "79"},  # Hours books to Services (1), not 79
        free_line(accountId="79", description=""),
    ]
    writes = SandboxEntity.objects.count()
    response = pipedrive.post(":linkId/invoices", {**CREATE, "lineItems": lines})
    assert response.status_code == 400, response.content
    assert_shape(response.json(), contract.ERROR)
    assert set(response.json()["fields"]) == {
        "lineItems[0].accountId",
        "lineItems[1].accountId",
        "lineItems[2].accountId",
        "lineItems[3].description",
    }
    assert not Invoice.all_companies.exists()
    assert SandboxEntity.objects.count() <= writes + 1  # at most the account's item, reusable later


def test_the_quickbooks_sandbox_refuses_what_intuit_refuses_on_sales_lines(qbo):
    realm = SandboxRealm.objects.get(realm_id=REALM_US)

    def create(detail: dict, **line):
        with transaction.atomic():
            payload = {
                "CustomerRef": {"value": "3"},
                "Line": [{"Amount": 10, "DetailType": "SalesItemLineDetail", "SalesItemLineDetail": detail, **line}],
            }
            return qbo_services.create(realm=realm, spec=qbo_services.SPECS["invoice"], payload=payload)

    # Another account than the item's: ItemAccountRef is only for reimbursable charges.
    with pytest.raises(QboFault) as refused:
        create({"ItemRef": {"value": "2"}, "ItemAccountRef": {"value": "79"}})
    assert refused.value.element == "Line.SalesItemLineDetail.ItemAccountRef"
    # No ItemRef: the company's default item (Preferences SalesFormsPrefs.DefaultItem = "1").
    line = create({"Qty": 1, "UnitPrice": 10})["Line"][0]["SalesItemLineDetail"]
    assert (line["ItemRef"]["value"], line["ItemAccountRef"]["value"]) == ("1", "1")
    # The item's own account read back and sent again is fine (a full update round trip).
    assert create({"ItemRef": {"value": "2"}, "ItemAccountRef": {"value": "1"}})["Id"]
    # A category is no sales item; an unknown item is an invalid reference.
    with transaction.atomic():
        category = qbo_services.create(
            realm=realm, spec=qbo_services.SPECS["item"], payload={"Name": "Garden things", "Type": "Category"}
        )
    for item_id in (category["Id"], "999"):
        with pytest.raises(QboFault) as refused:
            create({"ItemRef": {"value": item_id}})
        assert refused.value.code == "2500"


# -- who is calling ---------------------------------------------------------------------------


def test_a_pipedrive_user_who_is_no_member_is_served_with_a_plain_members_rights(connected, personas):
    Company.objects.filter(pk=connected.company_id).update(invoice_visibility="team")
    stranger = Pipedrive(connected.link_id, user_id=999)  # a colleague who never installed the app
    created = stranger.post(":linkId/invoices", CREATE)
    assert created.status_code == 201, created.content
    invoice = created.json()["data"]
    assert {a["id"] for a in invoice["actions"]} & {"VOIDED", "DELETED"} == set()  # no admin rights
    assert [i["id"] for i in stranger.get(":linkId/invoices", ids=invoice["id"]).json()["data"]] == [invoice["id"]]
    refused = stranger.post(f":linkId/invoices/{invoice['id']}/action", {"id": "VOIDED"})
    assert refused.status_code == 403 and refused.json()["errorCode"] == "action_not_allowed"
    # Recorded as the link's user (the contract's only identity); the owner may void it.
    assert Invoice.all_companies.get(pk=invoice["id"]).created_by == personas.alice_membership
    owner = Pipedrive(connected.link_id)
    assert {a["id"] for a in owner.get(":linkId/invoices", ids=invoice["id"]).json()["data"][0]["actions"]} >= {
        "VOIDED"
    }


def test_the_idempotency_of_a_create_does_not_depend_on_the_body_shape(pipedrive):
    first = pipedrive.post(":linkId/invoices", shaped(CREATE, "envelope"))
    retried = pipedrive.post(":linkId/invoices", shaped(CREATE, "bare"))
    assert first.status_code == 201 and retried.json()["data"]["id"] == first.json()["data"]["id"]
    assert Invoice.all_companies.count() == 1
    other = pipedrive.post(":linkId/invoices", CREATE, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert other.json()["data"]["id"] != first.json()["data"]["id"]
