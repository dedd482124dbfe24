"""A third-party client, python-quickbooks (+ intuit-oauth), works against the sandbox unmodified.

Only configuration changes: Intuit's discovery URL and the API base URL point at the sandbox.
"""

from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.conf import settings
from intuitlib import config as intuit_config
from intuitlib.client import AuthClient
from intuitlib.enums import Scopes
from intuitlib.exceptions import AuthClientError
from quickbooks import QuickBooks
from quickbooks.batch import batch_create
from quickbooks.cdc import change_data_capture
from quickbooks.exceptions import QuickbooksException
from quickbooks.objects.base import Ref
from quickbooks.objects.customer import Customer
from quickbooks.objects.detailline import SalesItemLine, SalesItemLineDetail
from quickbooks.objects.invoice import Invoice
from quickbooks.objects.item import Item

from integration.sandbox.quickbooks import clock, seed

pytestmark = pytest.mark.django_db(transaction=True)
REDIRECT = "http://127.0.0.1:9/quickbooks/callback"


@pytest.fixture
def qb(sandbox_base_url, monkeypatch):
    seed.seed()
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the live test server speaks plain HTTP
    monkeypatch.setitem(
        intuit_config.DISCOVERY_URL,
        "sandbox",
        f"{sandbox_base_url}/sandbox/quickbooks/.well-known/openid_configuration",
    )
    auth = AuthClient(settings.QBO_CLIENT_ID, settings.QBO_CLIENT_SECRET, REDIRECT, "sandbox")
    url = auth.get_authorization_url([Scopes.ACCOUNTING])
    assert url.startswith(settings.QBO_AUTHORIZE_URL)
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    consent = requests.post(
        settings.QBO_AUTHORIZE_URL,
        data={**query, "realm_id": seed.US_REALM_ID, "action": "connect"},
        allow_redirects=False,
        timeout=5,
    )
    params = {k: v[0] for k, v in parse_qs(urlsplit(consent.headers["Location"]).query).items()}
    assert params["state"] == auth.state_token
    auth.get_bearer_token(params["code"], realm_id=params["realmId"])
    client = QuickBooks(
        auth_client=auth, refresh_token=auth.refresh_token, company_id=params["realmId"], minorversion=75
    )
    client.sandbox_api_url_v3 = f"{sandbox_base_url}/sandbox/quickbooks/v3"
    return client


def _line(amount, item="2"):
    line = SalesItemLine()
    line.Amount = amount
    line.SalesItemLineDetail = SalesItemLineDetail()
    line.SalesItemLineDetail.ItemRef = Ref()
    line.SalesItemLineDetail.ItemRef.value = item
    return line


def test_read_query_and_create_with_python_quickbooks(qb):
    customers = Customer.all(qb=qb)
    assert {c.DisplayName for c in customers} >= {"Amy's Bird Sanctuary", "Red Rock Diner"}
    assert Customer.get(2, qb=qb).DisplayName == "Dukes Basketball Camp"
    assert [c.Id for c in Customer.filter(DisplayName="Red Rock Diner", qb=qb)] == ["3"]
    assert len(Item.all(qb=qb)) == 5

    customer = Customer()
    customer.DisplayName = "Library Made Customer"
    customer.save(qb=qb)
    assert customer.Id and str(customer.SyncToken) == "0"

    invoice = Invoice()
    invoice.CustomerRef = customer.to_ref()
    invoice.Line = [_line(40), _line(2.5)]
    saved = invoice.save(qb=qb, request_id="pyqb-1")
    assert float(saved.TotalAmt) == 42.5 and saved.DocNumber and invoice.Id == saved.Id
    assert invoice.save(qb=qb, request_id="pyqb-1").Id == saved.Id  # replayed, not duplicated

    saved.DueDate = "2031-01-01"
    saved.sparse = True
    saved.save(qb=qb)
    assert Invoice.get(invoice.Id, qb=qb).DueDate == "2031-01-01"


def test_send_pdf_void_delete_with_python_quickbooks(qb):
    invoice = Invoice()
    invoice.CustomerRef = Customer.get(1, qb=qb).to_ref()
    invoice.Line = [_line(100)]
    invoice.save(qb=qb)
    sent = invoice.send(qb=qb, send_to="someone@example.com")
    assert sent["Invoice"]["EmailStatus"] == "EmailSent"
    assert invoice.download_pdf(qb=qb).startswith(b"%PDF")
    fresh = Invoice.get(invoice.Id, qb=qb)
    fresh.void(qb=qb)
    voided = Invoice.get(invoice.Id, qb=qb)
    assert float(voided.TotalAmt) == 0 and voided.PrivateNote == "Voided"
    voided.delete(qb=qb)
    with pytest.raises(QuickbooksException) as caught:
        Invoice.get(invoice.Id, qb=qb)
    assert caught.value.error_code == 610


def test_batch_and_cdc_with_python_quickbooks(qb):
    since = clock.now().astimezone(clock.PACIFIC).isoformat()
    customers = []
    for name in ("Batch A", "Batch B", "Red Rock Diner"):
        customer = Customer()
        customer.DisplayName = name
        customers.append(customer)
    results = batch_create(customers, qb=qb)
    assert [c.DisplayName for c in results.successes] == ["Batch A", "Batch B"]
    assert results.faults[0].Error[0].code == "6240"
    cdc = change_data_capture([Customer, Invoice], since, qb=qb)
    assert {c.DisplayName for c in cdc.Customer} == {"Batch A", "Batch B"}


def test_refresh_rotation_and_revoke_with_intuit_oauth(qb):
    auth = qb.auth_client
    old = auth.refresh_token
    auth.refresh()
    assert auth.refresh_token != old and auth.expires_in == 3600
    auth.refresh()  # uses the new token: the old one is now dead
    with pytest.raises(AuthClientError) as caught:
        auth.refresh(refresh_token=old)
    assert caught.value.status_code == 400 and caught.value.intuit_tid
    assert auth.revoke(token=auth.refresh_token) is True
