"""The reverse API's rules: Basic auth, tenancy by linkId, the actor, tax modes, summary refresh."""

from __future__ import annotations

import copy
import uuid
from decimal import Decimal

import pytest

from integration.quickbooks.models import QuickBooksConnection
from integration.sandbox.quickbooks import controls
from integration.sandbox.quickbooks.models import SandboxEntity
from invoices.extension.endpoints import ENDPOINTS
from invoices.models import Invoice, InvoiceEvent
from tests.extension import contract
from tests.extension.conftest import Pipedrive, basic
from tests.extension.contract import assert_shape
from tests.extension.test_contract import CREATE, DUE, day

REALM_US = "9130350000000001"


def qbo_invoices(realm_id: str = REALM_US) -> list[dict]:
    rows = SandboxEntity.objects.filter(realm__realm_id=realm_id, entity="Invoice", deleted=False)
    return [row.data for row in rows]


def fill(path: str, link_id) -> str:
    return (
        path.replace(":linkId", str(link_id))
        .replace(":invoiceId", "1")
        .replace(":productId", "2")
        .replace(":contactId", "3")
    )


BAD_CREDENTIALS = [
    pytest.param(None, id="missing"),
    pytest.param(basic(secret="wrong-secret"), id="wrong-secret"),
    pytest.param(basic(user="someone-else"), id="wrong-client-id"),
    pytest.param("Bearer " + "x" * 20, id="not-basic"),
    pytest.param("Basic %%%not-base64", id="garbage"),
    pytest.param("Basic " + "c2FuZGJveA==", id="no-colon"),
]


@pytest.mark.parametrize("authorization", BAD_CREDENTIALS)
def test_wrong_or_missing_basic_auth_is_401_on_every_endpoint_and_changes_nothing(authorization, connected, client):
    before_qbo = SandboxEntity.objects.count()
    for _name, method, path in ENDPOINTS:
        headers = {"HTTP_AUTHORIZATION": authorization} if authorization else {}
        body = CREATE if path.endswith("/invoices") else {"id": "VOIDED", "displayName": "Mallory", "name": "Mallory"}
        url = "/ext/invoicing" + fill(path, connected.link_id)
        if method == "GET":
            response = client.get(url, **headers)
        else:
            response = getattr(client, method.lower())(url, body, content_type="application/json", **headers)
        assert response.status_code == 401, (path, response.content[:300])
        assert_shape(response.json(), contract.ERROR)
        assert response.json()["errorCode"] == "unauthorized"
        assert response["WWW-Authenticate"].startswith("Basic")
    assert not Invoice.all_companies.exists()
    assert SandboxEntity.objects.count() == before_qbo


def test_create_lands_one_invoice_in_quickbooks_with_the_actor_in_the_history(pipedrive, personas):
    before = len(qbo_invoices())
    key = str(uuid.uuid4())
    first = pipedrive.post(":linkId/invoices", CREATE, headers={"Idempotency-Key": key}, dealId=1)
    assert first.status_code == 201, first.content
    again = pipedrive.post(":linkId/invoices", CREATE, headers={"Idempotency-Key": key}, dealId=1)
    assert again.json()["data"]["id"] == first.json()["data"]["id"]
    created = qbo_invoices()
    assert len(created) == before + 1
    qbo = next(i for i in created if i["Id"] == Invoice.all_companies.get().qbo_id)
    assert (qbo["CustomerRef"]["value"], Decimal(str(qbo["TotalAmt"])), qbo["DueDate"]) == (
        "3",
        Decimal("172"),
        DUE.isoformat(),
    )
    assert [line["SalesItemLineDetail"]["TaxCodeRef"]["value"] for line in qbo["Line"][:2]] == ["NON", "NON"]
    invoice = Invoice.all_companies.get()
    assert invoice.created_by == personas.alice_membership
    assert list(invoice.deal_links.values_list("deal_id", flat=True)) == [1]  # shown on deal 1 in our panel too
    event = InvoiceEvent.all_companies.get(invoice=invoice, kind="created")
    assert event.actor == personas.alice_membership


def test_without_a_user_id_the_connection_owner_acts(connected, personas):
    pipedrive = Pipedrive(connected.link_id)  # no userId
    body = {**CREATE, "lineItems": CREATE["lineItems"][:1]}
    created = pipedrive.post(":linkId/invoices", body)
    assert created.status_code == 201, created.content
    invoice = Invoice.all_companies.get(pk=created.json()["data"]["id"])
    assert invoice.created_by == connected.owner == personas.alice_membership
    # Without an Idempotency-Key, Pipedrive retrying the same body gets the same invoice.
    assert pipedrive.post(":linkId/invoices", body).json()["data"]["id"] == created.json()["data"]["id"]


def test_owner_only_visibility_and_unknown_users(connected, personas):
    bob = Pipedrive(connected.link_id, user_id=12)
    refused = bob.get(":linkId/invoices", customerId="3")
    assert refused.status_code == 403
    assert refused.json()["errorCode"] == "not_allowed_to_view" and "Alice Admin" in refused.json()["error"]
    assert bob.post(":linkId/invoices", CREATE).status_code == 403
    # Customers and items are QuickBooks data of the owner too: same rule.
    from integration.sandbox.quickbooks import controls

    writes = controls.call_count(realm_id=connected.realm_id, method="POST")
    for path in (":linkId/contacts", ":linkId/products", ":linkId/tax-rates"):
        assert bob.get(path).status_code == 403, path
    assert bob.post(":linkId/products", {"name": "Sneaky", "price": 1}).status_code == 403
    assert controls.call_count(realm_id=connected.realm_id, method="POST") == writes
    assert bob.get(":linkId").status_code == 200  # the link's own state stays visible to members
    # A Pipedrive user who never installed the app has a plain member's rights: none here either.
    stranger = Pipedrive(connected.link_id, user_id=999)
    assert stranger.get(":linkId/invoices", customerId="3").json()["errorCode"] == "not_allowed_to_view"
    assert not Invoice.all_companies.exists()


def test_us_sales_tax_single_rate_and_refused_modes(pipedrive):
    taxed = copy.deepcopy(CREATE)
    taxed.update({"taxModeId": "Exclusive", "taxRateId": "2"})  # California 8 %
    response = pipedrive.post(":linkId/invoices", taxed)
    assert response.status_code == 201, response.content
    assert response.json()["data"]["total"] == 185.76  # 172 + 8 %
    qbo = next(i for i in qbo_invoices() if i["Id"] == Invoice.all_companies.get().qbo_id)
    assert [line["SalesItemLineDetail"]["TaxCodeRef"]["value"] for line in qbo["Line"][:2]] == ["TAX", "TAX"]
    assert Decimal(str(qbo["TxnTaxDetail"]["TotalTax"])) == Decimal("13.76")

    inclusive = {**taxed, "taxModeId": "Inclusive"}
    refused = pipedrive.post(":linkId/invoices", inclusive)
    assert refused.status_code == 400 and "taxModeId" in refused.json()["fields"]
    discounted = {**CREATE, "globalDiscount": {"discountAmount": 10, "discountPercentage": None}}
    refused = pipedrive.post(":linkId/invoices", discounted)
    assert refused.status_code == 400 and "globalDiscount" in refused.json()["fields"]
    unknown_rate = {**taxed, "taxRateId": "77"}
    refused = pipedrive.post(":linkId/invoices", unknown_rate)
    assert refused.status_code == 400 and "taxRateId" in refused.json()["fields"]
    assert Invoice.all_companies.count() == 1


def test_preflight_problems_come_back_under_the_contracts_field_names(pipedrive):
    bad = copy.deepcopy(CREATE)
    bad["lineItems"][0]["productId"] = "999"  # no such QuickBooks item
    bad["dueDate"] = day(-300)  # before the issue date
    response = pipedrive.post(":linkId/invoices", bad)
    assert response.status_code == 400
    body = response.json()
    assert_shape(body, contract.ERROR)
    assert set(body["fields"]) == {"dueDate", "lineItems[0].productId"}
    assert not Invoice.all_companies.exists()


def test_non_us_lines_carry_their_tax_code(qbo, personas, web_as, link_calls):
    from tests.integration.quickbooks import helpers

    helpers.connect(web_as("alice"), realm_id=qbo.uk_realm)
    connection = QuickBooksConnection.all_companies.get(company=personas.company_a)
    pd = Pipedrive(connection.link_id, user_id=11)
    body = {
        **CREATE,
        "contactId": "1",
        "contactName": "Bright Ideas Ltd",
        "email": "accounts@brightideas.example",
        "currencyId": None,  # the customer's currency
        "taxModeId": "Exclusive",
        "lineItems": [
            {"productId": "1", "description": "Consulting", "quantity": 3, "unitPrice": 100, "taxRateId": "2"},
            {"productId": "3", "description": "Book", "quantity": 2, "unitPrice": None, "taxRateId": "4"},
        ],
    }
    response = pd.post(":linkId/invoices", body)
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert (data["currencyCode"], data["total"]) == ("GBP", 400.0)  # 300 + 20 % VAT, 2 × 20 at 0 %
    qbo_invoice = next(i for i in qbo_invoices(qbo.uk_realm) if i["Id"] == Invoice.all_companies.get().qbo_id)
    assert [line["SalesItemLineDetail"]["TaxCodeRef"]["value"] for line in qbo_invoice["Line"][:2]] == ["2", "4"]


def test_summary_refresh_reads_quickbooks_now(pipedrive, connected, qbo):
    created = pipedrive.post(":linkId/invoices", CREATE).json()["data"]
    invoice = Invoice.all_companies.get(pk=created["id"])
    controls.set_webhook_format(realm_id=qbo.us_realm, fmt="off")  # no webhook tells us about the payment
    controls.record_payment(realm_id=qbo.us_realm, invoice_id=invoice.qbo_id, amount="72.00")
    typed_in_qbo = controls.create_invoice(
        realm_id=qbo.us_realm,
        customer_id="3",
        lines=[
            {
                "Amount": 30,
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": {"ItemRef": {"value": "2"}, "Qty": 1, "UnitPrice": 30},
            }
        ],
        TxnDate=day(-7),
    )
    cached = pipedrive.get(":linkId/report/invoice-summary", contactId="3").json()["data"]
    assert cached == [{"currency": "USD", "outstanding": 172.0, "overdue": 0.0, "paid": 0.0, "total": 172.0}]
    fresh = pipedrive.get(":linkId/report/invoice-summary", contactId="3", refresh="true").json()["data"]
    assert fresh == [{"currency": "USD", "outstanding": 130.0, "overdue": 0.0, "paid": 72.0, "total": 202.0}]
    ranged = pipedrive.get(":linkId/report/invoice-summary", contactId="3", **{"from": day(-6), "to": day(3)}).json()[
        "data"
    ]
    assert ranged == [{"currency": "USD", "outstanding": 100.0, "overdue": 0.0, "paid": 72.0, "total": 172.0}]
    listed = pipedrive.get(":linkId/invoices", ids=created["id"]).json()["data"][0]
    assert (listed["pipedriveStatusCode"], listed["paidAmount"], listed["dueAmount"]) == ("partiallyPaid", 72.0, 100.0)
    assert Invoice.all_companies.filter(qbo_id=typed_in_qbo["Id"]).exists()
    missing = pipedrive.get(":linkId/report/invoice-summary")
    assert missing.status_code == 400 and "contactId" in missing.json()["fields"]


def test_paid_invoice_has_a_paid_date_and_can_still_be_voided(pipedrive, connected, qbo):
    created = pipedrive.post(":linkId/invoices", CREATE).json()["data"]
    invoice = Invoice.all_companies.get(pk=created["id"])
    controls.record_payment(realm_id=qbo.us_realm, invoice_id=invoice.qbo_id)  # webhook → our sync
    paid = pipedrive.get(":linkId/invoices", ids=created["id"]).json()["data"][0]
    assert paid["pipedriveStatusCode"] == "paid" and paid["dueAmount"] == 0.0
    assert paid["paidDate"] is not None
    # Issue 13: paid invoices can be voided (QBO keeps the payment as unapplied credit); not deleted.
    assert [a["id"] for a in paid["actions"]] == ["EMAIL", "DOWNLOAD", "URL", "VOIDED"]
    refused = pipedrive.post(f":linkId/invoices/{created['id']}/action", {"id": "DELETED"})
    assert refused.status_code == 403 and refused.json()["errorCode"] == "action_not_allowed"
    voided = pipedrive.post(f":linkId/invoices/{created['id']}/action", {"id": "VOIDED"})
    assert voided.status_code == 200 and voided.json()["data"]["pipedriveStatusCode"] == "voided"
    unknown = pipedrive.post(f":linkId/invoices/{created['id']}/action", {"id": "APPROVE"})
    assert unknown.status_code == 400


def test_share_url_when_quickbooks_offers_one(pipedrive, connected, qbo):
    created = pipedrive.post(":linkId/invoices", CREATE).json()["data"]
    invoice = Invoice.all_companies.get(pk=created["id"])
    controls.edit_invoice(
        realm_id=qbo.us_realm, invoice_id=invoice.qbo_id, changes={"AllowOnlineCreditCardPayment": True}
    )
    shared = pipedrive.get(f":linkId/invoices/{created['id']}/share").json()
    assert_shape(shared, contract.success(contract.DATA["getInvoiceShareUrl"]))
    url = shared["data"]["url"]
    assert f"txnId={invoice.qbo_id}" in url and url.startswith("http")


def test_disconnected_link(connected, web_as):
    pipedrive = Pipedrive(connected.link_id, user_id=11)
    QuickBooksConnection.all_companies.filter(pk=connected.pk).update(status="disconnected")
    status = pipedrive.get(":linkId").json()
    assert status == {"success": True, "data": {"authorized": False, "name": connected.company_name}}
    assert pipedrive.get("users/:linkId/auth").json()["data"]["url"].endswith("/settings/")
    refused = pipedrive.get(":linkId/contacts", name="a")
    assert refused.status_code == 409 and refused.json()["errorCode"] == "link_disconnected"


def test_needs_reconnect_reads_ours_but_writes_nothing(pipedrive, connected):
    created = pipedrive.post(":linkId/invoices", CREATE).json()["data"]
    QuickBooksConnection.all_companies.filter(pk=connected.pk).update(status="needs_reconnect")
    assert pipedrive.get(":linkId").json()["data"]["authorized"] is False
    assert [i["id"] for i in pipedrive.get(":linkId/invoices", ids=created["id"]).json()["data"]] == [created["id"]]
    for response in (
        pipedrive.post(":linkId/invoices", {**CREATE, "invoiceNumber": "X-2"}),
        pipedrive.post(f":linkId/invoices/{created['id']}/action", {"id": "VOIDED"}),
        pipedrive.post(":linkId/contacts", {"displayName": "Never Made"}),
    ):
        assert response.status_code == 409 and response.json()["errorCode"] == "needs_reconnect"
    assert Invoice.all_companies.count() == 1 and Invoice.all_companies.get().status == "open"


def test_company_b_link_cannot_reach_company_a(connected, personas):
    created = Pipedrive(connected.link_id, user_id=11).post(":linkId/invoices", CREATE).json()["data"]
    connection_b = QuickBooksConnection.all_companies.create(
        company=personas.company_b,
        owner=personas.charlie_membership,
        realm_id="9130350000000002",
        status="active",
        home_currency="USD",
        access_token="x",
        refresh_token="y",
    )
    charlie = Pipedrive(connection_b.link_id, user_id=21)
    for method, path in [
        ("get", f":linkId/invoices/{created['id']}/share"),
        ("get", f":linkId/invoices/{created['id']}/download"),
        ("post", f":linkId/invoices/{created['id']}/action"),
        ("post", f":linkId/invoices/{created['id']}/email"),
    ]:
        response = getattr(charlie, method)(path)
        assert response.status_code == 404, (path, response.content)
        assert_shape(response.json(), contract.ERROR)
    assert charlie.get(":linkId/invoices", ids=created["id"]).json() == {"success": True, "data": []}
    assert charlie.get(":linkId/invoices", customerId="3").json()["data"] == []
    assert charlie.get(":linkId/report/invoice-summary", contactId="3").json()["data"] == []
    # B's link with A's Pipedrive company id is refused as an unknown link; A's user ids are not B's members.
    assert charlie.get(":linkId", companyId=personas.company_a.pipedrive_company_id).status_code == 404
    assert Pipedrive(connection_b.link_id, user_id=11).get(":linkId/invoices", ids="1").status_code == 403
    invoice = Invoice.all_companies.get(pk=created["id"])
    assert invoice.status == "open" and invoice.company == personas.company_a


def test_invoice_search_query_count_does_not_grow_with_invoices(personas):
    from django.db import connection as db_connection
    from django.test.utils import CaptureQueriesContext

    from tests.personas import add_invoices

    add_invoices(personas)
    pipedrive = Pipedrive(personas.connection_a.link_id, user_id=11)

    def queries_for(expected: int) -> int:
        with CaptureQueriesContext(db_connection) as queries:
            response = pipedrive.get(":linkId/invoices", customerId="3")
        assert len(response.json()["data"]) == expected
        return len(queries)

    one = queries_for(1)
    for n in range(29):
        copy_ = Invoice.all_companies.get(pk=personas.invoice_a.pk)
        copy_.pk, copy_.request_id, copy_.qbo_id = None, uuid.uuid4(), f"9{n}"
        copy_.save()
    assert queries_for(30) == one


def test_a_line_may_name_its_product_by_code(pipedrive):
    made = pipedrive.post(":linkId/products", {"name": "Hedge trimming", "code": "HEDGE-9", "unitPrice": 40}).json()
    body = copy.deepcopy(CREATE)
    body["lineItems"] = [{"productId": None, "productCode": "HEDGE-9", "description": "Hedges", "quantity": 3}]
    response = pipedrive.post(":linkId/invoices", body)
    assert response.status_code == 201, response.content
    assert response.json()["data"]["total"] == 120.0  # 3 × the item's own price
    line = Invoice.all_companies.get().lines.get()
    assert line.qbo_item_id == made["data"]["id"]


def test_email_fails_without_a_customer_email(pipedrive):
    contact = pipedrive.post(":linkId/contacts", {"displayName": "No Mail Farm"}).json()["data"]
    body = {**CREATE, "contactId": contact["id"], "contactName": "No Mail Farm", "email": ""}
    created = pipedrive.post(":linkId/invoices", body).json()["data"]
    assert created["isShareable"] is False
    refused = pipedrive.post(f":linkId/invoices/{created['id']}/email")
    assert refused.status_code == 400
    assert refused.json()["errorCode"] == "email_invalid" and "email" in refused.json()["fields"]
    assert Invoice.all_companies.get().sent is False


def test_quickbooks_outage_keeps_the_create_as_a_draft_and_reads_say_so(pipedrive, qbo):
    body = {**CREATE, "lineItems": CREATE["lineItems"][:1]}
    controls.inject_failure(kind="503", count=50, realm_id=qbo.us_realm)
    refused = pipedrive.get(":linkId/contacts", name="Red")
    assert refused.status_code == 503 and refused.json()["errorCode"] == "quickbooks_unavailable"
    accepted = pipedrive.post(":linkId/invoices", body, headers={"Idempotency-Key": str(uuid.uuid4())})
    assert accepted.status_code == 202, accepted.content
    data = accepted.json()["data"]
    assert_shape(accepted.json(), contract.success(contract.INVOICE))
    assert (data["pipedriveStatusCode"], data["statusCode"], data["actions"]) == ("draft", "pending", [])
    invoice = Invoice.all_companies.get()
    assert invoice.state == "pending" and invoice.qbo_id == ""
    assert len(qbo_invoices()) == 0


def test_overdue_is_issued_with_the_label_overdue(pipedrive):
    late = {**CREATE, "issueDate": day(-60), "dueDate": day(-30)}
    data = pipedrive.post(":linkId/invoices", late).json()["data"]
    assert (data["statusCode"], data["statusLabel"], data["pipedriveStatusCode"]) == ("overdue", "Overdue", "issued")
    assert [a["id"] for a in data["actions"]] == ["EMAIL", "DOWNLOAD", "URL", "VOIDED", "DELETED"]
    summary = pipedrive.get(":linkId/report/invoice-summary", contactId="3").json()["data"]
    assert summary == [{"currency": "USD", "outstanding": 172.0, "overdue": 172.0, "paid": 0.0, "total": 172.0}]


def test_a_retry_just_after_the_ten_minute_boundary_finds_the_first_create(pipedrive):
    import datetime as dt

    import time_machine

    body = copy.deepcopy(CREATE)
    boundary = dt.datetime(2026, 11, 27, 10, 0, 0, tzinfo=dt.UTC)
    with time_machine.travel(boundary - dt.timedelta(seconds=2), tick=False):
        first = pipedrive.post(":linkId/invoices", body)
    with time_machine.travel(boundary + dt.timedelta(seconds=2), tick=False):
        retry = pipedrive.post(":linkId/invoices", body)
    assert first.status_code == 201, first.content[:300]
    assert retry.json()["data"]["id"] == first.json()["data"]["id"]
    assert Invoice.all_companies.count() == 1
