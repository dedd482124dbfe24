"""The sandbox over real HTTP (live server on loopback), as the product's client will use it."""

import base64
import time
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from django.conf import settings

from integration.http import make_session
from integration.sandbox.quickbooks import controls, seed
from integration.sandbox.quickbooks.models import SandboxCall, SandboxEntity

pytestmark = pytest.mark.django_db(transaction=True)
REDIRECT = "http://127.0.0.1:9/quickbooks/callback"


@pytest.fixture
def live(sandbox_base_url):
    seed.seed()
    session = make_session(service="quickbooks", timeout=5)
    # Consent: GET the page, press Connect (a form POST), follow nothing.
    page = session.get(
        settings.QBO_AUTHORIZE_URL,
        params={
            "client_id": settings.QBO_CLIENT_ID,
            "redirect_uri": REDIRECT,
            "response_type": "code",
            "state": "s1",
            "scope": "com.intuit.quickbooks.accounting",
        },
    )
    assert page.status_code == 200 and "Connect" in page.text
    consent = session.post(
        settings.QBO_AUTHORIZE_URL,
        data={
            "client_id": settings.QBO_CLIENT_ID,
            "redirect_uri": REDIRECT,
            "response_type": "code",
            "state": "s1",
            "scope": "com.intuit.quickbooks.accounting",
            "realm_id": seed.US_REALM_ID,
            "action": "connect",
        },
        allow_redirects=False,
    )
    params = {k: v[0] for k, v in parse_qs(urlsplit(consent.headers["Location"]).query).items()}
    basic = base64.b64encode(f"{settings.QBO_CLIENT_ID}:{settings.QBO_CLIENT_SECRET}".encode()).decode()
    tokens = session.post(
        settings.QBO_TOKEN_URL,
        data={"grant_type": "authorization_code", "code": params["code"], "redirect_uri": REDIRECT},
        headers={"Authorization": f"Basic {basic}", "Accept": "application/json"},
    ).json()
    session.headers.update({"Authorization": f"Bearer {tokens['access_token']}", "Accept": "application/json"})
    base = f"{settings.QBO_API_BASE_URL}/v3/company/{params['realmId']}"
    return session, base


INVOICE = {
    "CustomerRef": {"value": "3"},
    "Line": [{"DetailType": "SalesItemLineDetail", "Amount": 12.5, "SalesItemLineDetail": {"ItemRef": {"value": "2"}}}],
}


def test_read_create_query_over_http(live):
    session, base = live
    info = session.get(f"{base}/companyinfo/{seed.US_REALM_ID}", params={"minorversion": 75})
    assert info.status_code == 200 and info.json()["CompanyInfo"]["Country"] == "US"
    assert info.headers["intuit_tid"]
    created = session.post(f"{base}/invoice", params={"minorversion": 75, "requestid": "live-1"}, json=INVOICE)
    assert created.status_code == 200
    found = session.post(
        f"{base}/query",
        params={"minorversion": 75},
        data="select * from Invoice where TotalAmt = '12.50'",
        headers={"Content-Type": "application/text"},
    ).json()
    assert [i["Id"] for i in found["QueryResponse"]["Invoice"]] == [created.json()["Invoice"]["Id"]]


def test_connection_reset_after_the_write_then_replay(live):
    session, base = live
    controls.inject_failure(kind="reset", realm_id=seed.US_REALM_ID)
    with pytest.raises(requests.ConnectionError):
        session.post(f"{base}/invoice", params={"minorversion": 75, "requestid": "live-reset"}, json=INVOICE)
    # The write happened although the client saw a reset ...
    assert SandboxEntity.objects.filter(entity="Invoice").count() == 1
    # ... and retrying with the same requestid returns it instead of writing twice.
    retry = session.post(f"{base}/invoice", params={"minorversion": 75, "requestid": "live-reset"}, json=INVOICE)
    assert retry.status_code == 200
    assert retry.json()["Invoice"]["Id"] == SandboxEntity.objects.get(entity="Invoice").qbo_id
    assert SandboxEntity.objects.filter(entity="Invoice").count() == 1


def test_timeout_is_seen_by_a_client_with_a_short_timeout(live):
    session, base = live
    controls.inject_failure(kind="timeout", delay_seconds=1.5, realm_id=seed.US_REALM_ID)
    with pytest.raises(requests.Timeout):
        session.get(f"{base}/customer/1", timeout=0.5)
    # The server still finishes the slow call; wait for it before the test's database goes away.
    deadline = time.monotonic() + 5
    while SandboxCall.objects.filter(finished_at__isnull=True).exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    slow = SandboxCall.objects.filter(kind="api").order_by("id").last()
    assert slow.status == 200
    assert session.get(f"{base}/customer/1").status_code == 200


def test_pdf_over_http(live):
    session, base = live
    invoice = session.post(f"{base}/invoice", json=INVOICE).json()["Invoice"]
    pdf = session.get(f"{base}/invoice/{invoice['Id']}/pdf", headers={"Accept": "application/pdf"})
    assert pdf.headers["Content-Type"] == "application/pdf" and pdf.content.startswith(b"%PDF")
