"""Pipedrive's native invoice tab (the sandbox's, driving our reverse API as Pipedrive does) and our
own panel agree: the same issue and due dates for a deal, and the tab's invoices show in the panel
under the deal's contact (the contract carries no deal, README "Deal")."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from rest_framework.test import APIClient

from integration.quickbooks.models import QuickBooksConnection
from invoices.models import Invoice
from tenants.models import FieldMapping
from tests.extension.test_sandbox_tab import call, linked  # noqa: F401
from tests.invoices.test_draft import installed  # noqa: F401
from tests.personas import panel_token


@pytest.fixture
def panel():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer " + panel_token(company_id=1001, user_id=11))
    return client


@pytest.mark.parametrize(
    ("shape", "zone_name"),
    [("documented", "America/Los_Angeles"), ("bare", "Pacific/Auckland"), ("data", "Europe/London")],
)
def test_the_native_tab_and_the_panel_give_the_same_dates_and_invoices(
    installed,  # noqa: F811
    linked,  # noqa: F811
    panel,
    client,
    personas,
    shape,
    zone_name,
):
    # A company ahead of UTC is the case where the UTC date of the picked moment is the day before.
    QuickBooksConnection.all_companies.filter(pk=linked.pk).update(timezone=zone_name)
    linked.refresh_from_db()
    FieldMapping.all_companies.filter(company=personas.company_a).update(due_days=14)
    draft = panel.get("/api/v1/deals/1/draft").json()
    issue, due = dt.date.fromisoformat(draft["issue_date"]), dt.date.fromisoformat(draft["due_date"])
    assert (due - issue).days == 14

    # Pipedrive's modal: the user's date picker at local midnight (the company's zone here), sent as
    # an ISO 8601 moment in UTC; no due date, so the company's due days apply.
    zone = ZoneInfo(zone_name)
    picked = dt.datetime.combine(issue, dt.time(0), zone).astimezone(dt.UTC)
    body = {
        "contactId": None,
        "contactName": draft["customer"]["name"],
        "address": "",
        "email": draft["customer"]["email"],
        "taxNumber": "",
        "taxModeId": "NoTax",
        "globalDiscount": None,
        "taxRateId": None,
        "templateId": None,
        "currencyId": "USD",
        "invoiceNumber": None,
        "issueDate": picked.isoformat().replace("+00:00", ".000Z"),
        "dueDate": None,
        "lineItems": [
            {
                "productId": None,
                "productCode": None,
                "description": "Robot line installation",
                "quantity": 1,
                "unitPrice": 1200,
                "discountRate": None,
                "taxRateId": None,
                "accountId": "1",
            }
        ],
    }
    created = call(client, "postInvoice", body, shape=shape)
    assert created.status_code == 201, created.content
    tab_invoice = created.json()["data"]
    assert tab_invoice["dueDate"] == draft["due_date"]
    invoice = Invoice.all_companies.get(pk=tab_invoice["id"])
    assert (invoice.txn_date, invoice.due_date) == (issue, due)

    # The tab lists the deal's invoices by the ids Pipedrive kept; our panel finds the same invoice
    # under the deal's contact, with the same dates, total and status.
    tab_list = call(client, "getSearchInvoices").json()["data"]
    contact = panel.get("/api/v1/contact-invoices", {"deal_id": 1})
    assert contact.status_code == 200, contact.content
    panel_list = contact.json()["invoices"]
    assert [i["id"] for i in tab_list] == [str(i["id"]) for i in panel_list] == [str(invoice.pk)]
    tab_row, panel_row = tab_list[0], panel_list[0]
    assert tab_row["dueDate"] == panel_row["due_date"] == draft["due_date"]
    assert f"{tab_row['total']:.2f}" == panel_row["total"] == "1200.00"
    assert (tab_row["pipedriveStatusCode"], panel_row["pipedrive_status"]["code"]) == ("created", "created")
