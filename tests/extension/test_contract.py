"""Every endpoint of the contract answers the shapes of invoicing-extension.md (tests/extension/contract.py),
over the QuickBooks sandbox (US company, then the UK one where the answers differ)."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from integration.quickbooks.models import QuickBooksConnection
from invoices.extension.endpoints import ENDPOINTS
from invoices.models import Invoice
from tests.extension import contract
from tests.extension.contract import assert_shape, success

# Dates relative to today, so these invoices are open (never overdue) whenever the tests run.
ISSUE = dt.date.today()
DUE = ISSUE + dt.timedelta(days=30)


def day(offset: int) -> str:
    return (ISSUE + dt.timedelta(days=offset)).isoformat()


CREATE = {
    "contactId": "3",
    "contactName": "Red Rock Diner",
    "address": "",
    "email": "qbwebsamplecompany@yahoo.com",
    "taxNumber": "",
    "taxModeId": "NoTax",
    "globalDiscount": None,
    "taxRateId": None,
    "templateId": None,
    "currencyId": "USD",
    "invoiceNumber": None,
    "issueDate": f"{ISSUE.isoformat()}T00:00:00.000Z",
    "dueDate": DUE.isoformat(),
    "lineItems": [
        {
            "productId": "2",
            "productCode": None,
            "description": "Garden hours",
            "quantity": 2,
            "unitPrice": 50,
            "discountRate": None,
            "taxRateId": None,
            "accountId": "1",
        },
        {
            "productId": "3",
            "productCode": None,
            "description": "Design",
            "quantity": 1,
            "unitPrice": 80,
            "discountRate": 10,
            "taxRateId": None,
            "accountId": "1",
        },
    ],
}


def data_of(response, name: str, status: int = 200):
    assert response.status_code == status, response.content[:800]
    body = response.json()
    assert_shape(body, success(contract.DATA[name]))
    return body["data"]


def test_the_contract_lists_21_endpoints_and_we_serve_each():
    assert len(contract.ENDPOINT_NAMES) == 21
    assert [name for name, _m, _p in ENDPOINTS] == list(contract.ENDPOINT_NAMES)


def test_manifest_has_absolute_urls_for_every_endpoint(client, settings, db):
    settings.PUBLIC_BASE_URL = "https://invoices.example.com"
    body = client.get("/ext/invoicing/manifest.json").json()
    assert_shape(body, contract.MANIFEST)
    assert body["clientId"] == settings.PIPEDRIVE_CLIENT_ID
    assert body["features"] == {"templates": False}
    assert body["endpoints"]["getProviderAccount"] == "https://invoices.example.com/ext/invoicing/:linkId"
    assert body["endpoints"]["getInvoicePDF"] == (
        "https://invoices.example.com/ext/invoicing/:linkId/invoices/:invoiceId/download"
    )
    assert body["endpoints"]["getProviderAccountConnectUrl"].endswith("/ext/invoicing/users/:linkId/auth")


def test_link_status_and_reference_data_us(pipedrive, connected):
    status = data_of(pipedrive.get(":linkId"), "getProviderAccount")
    assert status["authorized"] is True
    assert status["orgId"] == connected.realm_id
    assert status["name"] == connected.company_name
    assert status["features"]["invoiceTaxModeOptions"] == {"taxExclusive": True, "taxInclusive": False, "noTax": True}
    assert status["features"]["invoiceTaxOption"] == "single"
    assert status["features"]["validations"]["product"]["name"] == {"maxLength": 100}

    url = data_of(pipedrive.get("users/:linkId/auth"), "getProviderAccountConnectUrl")["url"]
    assert url.endswith("/settings/") and url.startswith("http")

    assert data_of(pipedrive.get(":linkId/currencies"), "getCurrencies") == [
        {"id": "USD", "name": "United States Dollar"}
    ]
    rates = data_of(pipedrive.get(":linkId/tax-rates"), "getTaxRates")
    assert {(r["id"], r["name"], r["rate"]) for r in rates} == {
        ("2", "California", 8.0),
        ("4", "Tucson", 2.0),
        ("NON", "Non-taxable", 0.0),
    }
    accounts = data_of(pipedrive.get(":linkId/invoice-accounts"), "getAccounts")
    # Income accounts only, active only ("Fees Billed" is inactive; Checking is a bank account).
    assert sorted((a["id"], a["name"]) for a in accounts) == [("1", "Services"), ("79", "Sales of Product Income")]
    assert data_of(pipedrive.get(":linkId/invoice-templates"), "getTemplates") == []


def test_reference_data_of_a_uk_multicurrency_company(qbo, personas, web_as, link_calls):
    from tests.extension.conftest import Pipedrive
    from tests.integration.quickbooks import helpers

    helpers.connect(web_as("alice"), realm_id=qbo.uk_realm)
    connection = QuickBooksConnection.all_companies.get(company=personas.company_a)
    pd = Pipedrive(connection.link_id, user_id=11)
    features = data_of(pd.get(":linkId"), "getProviderAccount")["features"]
    assert features["invoiceTaxModeOptions"] == {"taxExclusive": True, "taxInclusive": True, "noTax": True}
    assert features["invoiceTaxOption"] == "multiple"
    currencies = data_of(pd.get(":linkId/currencies"), "getCurrencies")
    assert [c["id"] for c in currencies] == ["GBP", "EUR", "USD"]
    rates = data_of(pd.get(":linkId/tax-rates"), "getTaxRates")
    assert {(r["id"], r["rate"]) for r in rates} == {("2", 20.0), ("3", 5.0), ("4", 0.0), ("5", 0.0)}
    product = data_of(pd.get(":linkId/products/1"), "getProduct")
    assert (product["taxRateId"], product["currency"], product["unitPrice"]) == ("2", "GBP", 100.0)


def test_contacts(pipedrive):
    found = data_of(pipedrive.get(":linkId/contacts", name="rock"), "getSearchContacts")
    assert [c["displayName"] for c in found] == ["Red Rock Diner"]
    amy = data_of(pipedrive.get(":linkId/contacts/1"), "getContact")
    assert amy["displayName"] == "Amy's Bird Sanctuary"
    assert amy["address"] == "4581 Finch St." and amy["city"] == "Bayshore" and amy["postalCode"] == "94326"
    assert amy["email"] == "Birds@Intuit.com"
    assert amy["url"].endswith("/customerdetail?nameId=1")

    created = data_of(
        pipedrive.post(
            ":linkId/contacts",
            {
                "displayName": "Garden Gnomes Inc",
                "email": "ap@gnomes.example",
                "address": "1 Moss Way\nUnit 4",
                "city": "Portland",
                "postalCode": "97201",
                "country": "US",
                "phone": "555-0100",
            },
        ),
        "postContact",
        201,
    )
    assert created["displayName"] == "Garden Gnomes Inc" and created["address"] == "1 Moss Way\nUnit 4"
    updated = data_of(
        pipedrive.put(f":linkId/contacts/{created['id']}", {"email": "billing@gnomes.example"}), "putContact"
    )
    assert updated["email"] == "billing@gnomes.example" and updated["city"] == "Portland"
    again = data_of(pipedrive.get(f":linkId/contacts/{created['id']}"), "getContact")
    assert again == updated

    duplicate = pipedrive.post(":linkId/contacts", {"displayName": "Garden Gnomes Inc"})
    assert duplicate.status_code == 409
    assert_shape(duplicate.json(), contract.ERROR)
    invalid = pipedrive.post(":linkId/contacts", {"displayName": "", "email": "nope"})
    assert invalid.status_code == 400
    assert set(invalid.json()["fields"]) == {"displayName", "email"}
    missing = pipedrive.get(":linkId/contacts/999")
    assert missing.status_code == 404 and missing.json()["errorCode"] == "not_found"


def test_products(pipedrive):
    found = data_of(pipedrive.get(":linkId/products", name="HOURS"), "getSearchProducts")
    assert [(p["id"], p["name"], p["unitPrice"]) for p in found] == [("2", "Hours", 50.0)]
    pump = data_of(pipedrive.get(":linkId/products/5"), "getProduct")
    assert (pump["name"], pump["accountId"], pump["description"]) == ("Pump", "79", "Fountain Pump")

    created = data_of(
        pipedrive.post(
            ":linkId/products",
            {
                "name": "Lawn care",
                "code": "LAWN-1",
                "description": "Monthly lawn care",
                "unitPrice": 120.5,
                "taxRateId": "NON",
            },
        ),
        "postProduct",
        201,
    )
    assert (created["code"], created["unitPrice"], created["accountId"], created["taxRateId"]) == (
        "LAWN-1",
        120.5,
        "1",
        "NON",
    )
    by_code = data_of(pipedrive.get(":linkId/products", code="LAWN-1", forceCodeSearch="true"), "getSearchProducts")
    assert [p["id"] for p in by_code] == [created["id"]]
    assert (
        data_of(
            pipedrive.get(":linkId/products", code="NOPE", name="Lawn", forceCodeSearch="true"), "getSearchProducts"
        )
        == []
    )
    updated = data_of(pipedrive.put(f":linkId/products/{created['id']}", {"unitPrice": 130}), "putProduct")
    assert updated["unitPrice"] == 130.0 and updated["name"] == "Lawn care"
    too_long = pipedrive.post(":linkId/products", {"name": "x" * 101})
    assert too_long.status_code == 400 and "name" in too_long.json()["fields"]


def test_invoice_endpoints(pipedrive, connected):
    created = data_of(
        pipedrive.post(":linkId/invoices", CREATE, headers={"Idempotency-Key": str(uuid.uuid4())}),
        "postInvoice",
        201,
    )
    assert (created["total"], created["dueAmount"], created["paidAmount"], created["currencyCode"]) == (
        172.0,
        172.0,
        0.0,
        "USD",
    )
    assert created["pipedriveStatusCode"] == "created" and created["statusLabel"] == "Open"
    assert [a["id"] for a in created["actions"]] == ["EMAIL", "DOWNLOAD", "URL", "VOIDED", "DELETED"]
    assert created["dueDate"] == DUE.isoformat() and created["paidDate"] is None

    listed = data_of(pipedrive.get(":linkId/invoices", ids=f"{created['id']},999999"), "getSearchInvoices")
    assert [i["id"] for i in listed] == [created["id"]]
    by_customer = data_of(
        pipedrive.get(":linkId/invoices", customerId="3", startDate=day(-1), endDate=day(3), page=1),
        "getSearchInvoices",
    )
    assert [i["id"] for i in by_customer] == [created["id"]]
    assert data_of(pipedrive.get(":linkId/invoices", customerId="3", page=2), "getSearchInvoices") == []

    emailed = data_of(pipedrive.post(f":linkId/invoices/{created['id']}/email"), "postInvoiceEmail")
    assert emailed["isSent"] is True and emailed["pipedriveStatusCode"] == "issued"

    refused = pipedrive.get(f":linkId/invoices/{created['id']}/share")
    assert refused.status_code == 409 and refused.json()["errorCode"] == "not_shareable"

    pdf = pipedrive.get(f":linkId/invoices/{created['id']}/download")
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert b"".join(pdf.streaming_content).startswith(b"%PDF")

    summary = data_of(pipedrive.get(":linkId/report/invoice-summary", contactId="3"), "getInvoiceSummary")
    assert summary == [{"currency": "USD", "outstanding": 172.0, "overdue": 0.0, "paid": 0.0, "total": 172.0}]

    voided = data_of(pipedrive.post(f":linkId/invoices/{created['id']}/action", {"id": "VOIDED"}), "postInvoiceStatus")
    assert voided["pipedriveStatusCode"] == "voided" and voided["total"] == 0.0
    assert [a["id"] for a in voided["actions"]] == ["DOWNLOAD", "URL", "DELETED"]
    deleted = data_of(
        pipedrive.post(f":linkId/invoices/{created['id']}/action", {"id": "DELETED"}), "postInvoiceStatus"
    )
    assert deleted["pipedriveStatusCode"] == "deleted" and deleted["actions"] == []
    assert deleted["providerInvoiceUrl"] == ""


@pytest.mark.parametrize("name", contract.ENDPOINT_NAMES)
def test_unknown_link_is_a_clear_error_in_the_envelope(name, client, db):
    from tests.extension.conftest import basic

    method, path = next((m, p) for n, m, p in ENDPOINTS if n == name)
    url = "/ext/invoicing" + path.replace(":linkId", str(uuid.uuid4())).replace(":invoiceId", "1").replace(
        ":productId", "1"
    ).replace(":contactId", "1")
    response = getattr(client, method.lower())(url, content_type="application/json", HTTP_AUTHORIZATION=basic())
    assert response.status_code == 404
    body = response.json()
    assert_shape(body, contract.ERROR)
    assert body["errorCode"] == "not_found" and "link" in body["error"]
    assert not Invoice.all_companies.exists()
