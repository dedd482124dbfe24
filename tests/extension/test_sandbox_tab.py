"""The sandbox deal page's "Invoices" tab: Pipedrive's backend (the sandbox) calls our reverse API
server-side with Basic auth and the registered linkId, and nothing else (no viewer, no deal)."""

from __future__ import annotations

import json

import pytest

from integration.sandbox.pipedrive.models import SandboxInvoiceProviderLink
from integration.sandbox.pipedrive.seed import seed
from invoices.models import Invoice
from tests.extension import contract
from tests.extension.contract import assert_shape, success
from tests.extension.test_contract import CREATE

TAB = "/sandbox/pipedrive/app/acme-demo/invoicing"


@pytest.fixture
def linked(connected):
    """The sandbox company 1001 (= personas' company A) has the link our connect flow registers."""
    seed()
    SandboxInvoiceProviderLink.objects.create(
        company_id=1001,
        user_id=11,
        link_id=str(connected.link_id),
        org_id=connected.realm_id,
        marketplace_client_id="sandbox-pipedrive-client-id",
    )
    return connected


def call(client, name: str, body=None, *, user_id: int = 11, headers=None, **params):
    query = {"user_id": user_id, "dealId": 1, **params}
    from urllib.parse import urlencode

    url = f"{TAB}/{name}?{urlencode(query)}"
    if body is None:
        return client.get(url)
    method = client.put if name.startswith("put") else client.post
    return method(url, json.dumps(body), content_type="application/json", headers=headers or {})


def test_deal_page_has_the_invoices_tab(linked, client):
    page = client.get("/sandbox/pipedrive/app/acme-demo/deal/1?user_id=11")
    html = page.content.decode()
    assert 'id="pd-invoices-tab"' in html and 'data-linked="true"' in html
    assert f'data-base="{TAB}"' in html
    assert "invoices_tab.js" in html
    # the deal's enabled products are the modal's lines
    assert html.count('class="pd-inv-line"') >= 1


def test_without_a_link_the_tab_says_so(client, db):
    seed()
    assert 'data-linked="false"' in client.get("/sandbox/pipedrive/app/acme-demo/deal/1").content.decode()
    answer = client.get(f"{TAB}/getProviderAccount")
    assert answer.status_code == 409 and answer.json()["success"] is False


def test_the_tab_drives_the_reverse_api_like_pipedrive(linked, client, personas):
    status = call(client, "getProviderAccount")
    assert_shape(status.json(), success(contract.LINK_STATUS))
    assert status.json()["data"]["authorized"] is True
    assert call(client, "getSearchInvoices").json() == {"success": True, "data": []}

    created = call(client, "postInvoice", CREATE, headers={"Idempotency-Key": "6f1e7c9e-2d7b-4f7e-9a55-2f0a8f1f0c11"})
    assert created.status_code == 201, created.content
    invoice = Invoice.all_companies.get()
    assert invoice.created_by == personas.alice_membership  # the link's user: the contract names no viewer
    assert not invoice.deal_links.exists()  # nor the deal: Pipedrive keeps which invoices are the deal's

    listed = call(client, "getSearchInvoices").json()
    assert_shape(listed, success(contract.DATA["getSearchInvoices"]))
    assert [i["id"] for i in listed["data"]] == [str(invoice.pk)]
    assert call(client, "getSearchInvoices", dealId=2).json()["data"] == []  # another deal of the page

    pdf = call(client, "getInvoicePDF", invoiceId=invoice.pk)
    assert pdf.status_code == 200 and b"".join(pdf.streaming_content).startswith(b"%PDF")
    voided = call(client, "postInvoiceStatus", {"id": "VOIDED"}, invoiceId=invoice.pk).json()
    assert voided["data"]["pipedriveStatusCode"] == "voided"
    summary = call(client, "getInvoiceSummary", contactId="3", refresh="true").json()
    assert summary == {"success": True, "data": []}  # voided invoices count nowhere

    # Bob views the same deal page: Pipedrive sends the same call (the link), so he sees the same list.
    bob = call(client, "getSearchInvoices", user_id=12)
    assert bob.status_code == 200 and [i["id"] for i in bob.json()["data"]] == [str(invoice.pk)]
    assert call(client, "getContact", contactId="../../x").status_code == 400
    assert call(client, "notAnEndpoint").status_code == 404
