"""The product against a sandbox as strict as Intuit (issue 16): what it sends, and how it takes
Intuit's refusals. Sandbox rules and their sources: integration/sandbox/quickbooks/README.md."""

from __future__ import annotations

import datetime as dt
import uuid
from urllib.parse import parse_qs, urlsplit

import pytest

from integration.errors import PermanentError, TransientError
from integration.quickbooks.errors import QboForbidden, QboValidationError
from integration.quickbooks.models import QuickBooksConnection
from integration.sandbox.quickbooks import controls
from integration.sandbox.quickbooks.models import SandboxCall, SandboxEntity
from invoices import lifecycle, lookups
from invoices.extension import catalog
from invoices.models import Invoice
from tenants.scoping import company_scope
from tests.invoices.test_panel_api import DRAFT, panel

LINE = {
    "Amount": 150.0,
    "DetailType": "SalesItemLineDetail",
    "SalesItemLineDetail": {"ItemRef": {"value": "2"}, "Qty": 3, "UnitPrice": 50},
}


def _create(alice, draft, key=None):
    return alice.post(
        "/api/v1/deals/501/invoices",
        {"draft": draft, "idempotency_key": key or str(uuid.uuid4())},
        format="json",
    )


def _qbo_invoice(realm_id: str, qbo_id: str) -> dict:
    return SandboxEntity.objects.get(realm__realm_id=realm_id, entity="Invoice", qbo_id=qbo_id).data


# -- 1. BillEmail comes from the mapping, never from QuickBooks' customer ---------------------


def test_the_invoice_carries_the_mappings_email_and_send_without_one_is_refused(qbo, connected, personas):
    """Amy's Bird Sanctuary (QBO customer 1) has an email in QuickBooks; QBO does not copy it onto a
    new invoice. With no email in the mapping there is no BillEmail, no share link, and Send without
    an address is a clear 400 in the panel's envelope."""
    alice = panel(personas.alice_membership)
    base = {**DRAFT, "due_date": "2026-12-27"}
    no_mail = {**base, "customer": {"qbo_customer_id": "1", "name": "", "email": ""}}
    created = _create(alice, no_mail)
    assert created.status_code == 201, created.content
    body = created.json()
    assert "BillEmail" not in _qbo_invoice(qbo.us_realm, body["qbo_id"])
    assert Invoice.all_companies.get(pk=body["id"]).bill_email == ""
    refused = alice.post(f"/api/v1/invoices/{body['id']}/send", {}, format="json")
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "email_invalid" and "to" in error["fields"]
    assert _qbo_invoice(qbo.us_realm, body["qbo_id"])["EmailStatus"] == "NotSet"  # nothing was sent

    with_mail = {**base, "customer": {"qbo_customer_id": "1", "name": "", "email": "billing@birds.example"}}
    mailed = _create(alice, with_mail).json()
    assert _qbo_invoice(qbo.us_realm, mailed["qbo_id"])["BillEmail"] == {"Address": "billing@birds.example"}
    sent = alice.post(f"/api/v1/invoices/{mailed['id']}/send", {}, format="json")
    assert sent.status_code == 200 and sent.json()["sent"] is True
    assert _qbo_invoice(qbo.us_realm, mailed["qbo_id"])["EmailStatus"] == "EmailSent"


# -- 2. 403 ApplicationAuthorizationFailed ----------------------------------------------------


def test_a_403_from_quickbooks_is_a_permanent_explained_refusal_without_a_refresh(qbo, connected, personas, client_of):
    """A token that QBO does not authorize for the company (3100): no refresh (it cannot help), no
    retry, the connection is not flagged for reconnecting by us, and the user reads why."""
    QuickBooksConnection.all_companies.filter(pk=connected.pk).update(realm_id=qbo.uk_realm)
    connected.refresh_from_db()
    refreshes = SandboxCall.objects.filter(kind="token").count()
    with pytest.raises(QboForbidden) as caught:
        client_of(connected).read("Customer", "1")
    error = caught.value
    assert isinstance(error, PermanentError) and not isinstance(error, TransientError)
    assert error.code == "3100" and error.status == 403 and "3100" in error.message
    assert "Reconnect" in error.message
    assert SandboxCall.objects.filter(kind="token").count() == refreshes
    connected.refresh_from_db()
    assert connected.status == QuickBooksConnection.Status.ACTIVE

    response = panel(personas.alice_membership).post(
        "/api/v1/deals/501/preflight", {"draft": {**DRAFT, "due_date": "2026-12-27"}}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "3100" and "3100" in response.json()["error"]["message"]


# -- 4. every query the product sends passes Intuit's query rules -----------------------------


def test_the_products_queries_pass_intuits_query_rules(qbo, connected, client_of):
    """Filterable/sortable properties, no `!=`, paging 1..1000: a refusal would raise here."""
    client = client_of(connected)
    assert lookups.customers_search(connection=connected, term="rock")
    assert lookups.items_search(connection=connected, term="hour")
    assert lookups.items_search(connection=connected, term="")
    controls.create_invoice(realm_id=qbo.us_realm, customer_id="3", lines=[LINE])
    with company_scope(connected.company):
        pulled = lifecycle.customer_invoices_pull(
            connection=connected,
            customer_qbo_id="3",
            date_from=dt.date(2000, 1, 1),
            date_to=dt.date(2100, 1, 1),
        )
    assert pulled == 1
    catalog.products_search(connection=connected, name="Hours", code="HRS", force_code=False)
    assert catalog.accounts_list(connection=connected)
    assert catalog.tax_rates_list(connection=connected) is not None
    catalog.currencies_list(connection=connected)
    for sql in (
        "SELECT * FROM Account WHERE AccountType = 'Income' ORDERBY Name",
        "SELECT * FROM TaxCode",
        "SELECT * FROM Customer WHERE PrimaryEmailAddr = 'a@b.example' AND Active IN (true, false) MAXRESULTS 1",
        "SELECT * FROM Customer WHERE Id = '1' AND Active IN (true, false)",
        "SELECT * FROM Item WHERE Id IN ('1', '2')",
        "SELECT * FROM Item WHERE Sku IN ('X')",
        "SELECT * FROM Payment WHERE Id IN ('1') MAXRESULTS 1000",
        "SELECT Id FROM Invoice WHERE DocNumber = '1001' MAXRESULTS 1",
    ):
        client.query(sql)
    assert len(list(client.query_all("SELECT * FROM Item", page_size=1000))) == 5


# -- 5. a number that is not a number ---------------------------------------------------------


def test_a_validation_fault_on_a_bad_amount_is_permanent(qbo, connected, client_of):
    """Intuit answers 400 ValidationFault; before, the sandbox's HTML 500 looked transient."""
    client = client_of(connected)
    with pytest.raises(QboValidationError) as caught:
        client.create("Invoice", {"CustomerRef": {"value": "1"}, "Line": [{**LINE, "Amount": "abc"}]})
    assert isinstance(caught.value, PermanentError) and not isinstance(caught.value, TransientError)
    assert caught.value.status == 400 and caught.value.code == "2010" and caught.value.fields == ["Line.Amount"]


# -- 6. duplicate invoice numbers -------------------------------------------------------------


def test_a_used_invoice_number_is_reported_before_anything_is_written(qbo, connected, personas):
    """With custom transaction numbers on, QBO refuses a used DocNumber (6140); the pre-flight
    reports it with the other problems, so no customer or invoice is written."""
    prefs = SandboxEntity.objects.get(realm__realm_id=qbo.us_realm, entity="Preferences")
    prefs.data["SalesFormsPrefs"]["CustomTxnNumbers"] = True
    prefs.save(update_fields=["data"])
    alice = panel(personas.alice_membership)
    draft = {**DRAFT, "due_date": "2026-12-27", "doc_number": "PD-77"}
    first = _create(alice, draft)
    assert first.status_code == 201, first.content
    assert _qbo_invoice(qbo.us_realm, first.json()["qbo_id"])["DocNumber"] == "PD-77"
    invoices_before = SandboxEntity.objects.filter(entity="Invoice").count()
    again = _create(alice, draft)
    assert again.status_code == 400, again.content
    assert again.json()["error"]["fields"] == {"doc_number": ["QuickBooks already has an invoice numbered PD-77."]}
    assert SandboxEntity.objects.filter(entity="Invoice").count() == invoices_before
    assert Invoice.all_companies.count() == 1


# -- 7, 8, 9: what the client sends -----------------------------------------------------------


def test_cdc_sends_changed_since_with_its_offset(qbo, connected, client_of):
    """A zone-less changedSince is the company's local time at Intuit: the client never sends one."""
    client = client_of(connected)
    urls = []
    client.session.hooks["response"].append(lambda r, *a, **k: urls.append(r.request.url))
    client.cdc(["Invoice"], changed_since=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
    since = parse_qs(urlsplit(urls[-1]).query)["changedSince"][0]
    assert dt.datetime.fromisoformat(since).utcoffset() is not None
    with pytest.raises(ValueError, match="timezone-aware"):
        client.cdc(["Invoice"], changed_since=dt.datetime(2026, 1, 1))


def test_the_reverse_api_refuses_to_email_an_invoice_without_an_address(qbo, connected):
    """Same rule in Pipedrive's invoice tab: a QuickBooks customer's own email is not the invoice's."""
    from tests.extension.conftest import Pipedrive
    from tests.extension.test_contract import CREATE

    pipedrive = Pipedrive(connected.link_id, user_id=11)
    body = {**CREATE, "contactId": "1", "contactName": "Amy's Bird Sanctuary", "email": ""}
    created = pipedrive.post(":linkId/invoices", body)
    assert created.status_code == 201, created.content
    data = created.json()["data"]
    assert data["isShareable"] is False
    invoice = Invoice.all_companies.get()  # the only one
    assert "BillEmail" not in _qbo_invoice(qbo.us_realm, invoice.qbo_id)
    refused = pipedrive.post(f":linkId/invoices/{data['id']}/email")
    assert refused.status_code == 400
    assert refused.json()["errorCode"] == "email_invalid" and "email" in refused.json()["fields"]
    assert _qbo_invoice(qbo.us_realm, invoice.qbo_id)["EmailStatus"] == "NotSet"


def test_the_client_asks_for_json_so_intuit_answers_json(qbo, connected, client_of):
    """QBO answers XML to a client that asks for XML: the client names JSON on every call (the PDF
    download names PDF, then JSON for its faults)."""
    client = client_of(connected)
    accepts = []
    client.session.hooks["response"].append(lambda r, *a, **k: accepts.append(r.request.headers["Accept"]))
    invoice = client.create("Invoice", {"CustomerRef": {"value": "1"}, "Line": [LINE]})
    client.read("Invoice", invoice["Id"])
    client.query("SELECT * FROM Term")
    client.invoice_pdf(invoice["Id"]).close()
    assert accepts == ["application/json"] * 3 + ["application/pdf, application/json"]
