"""The sandbox refuses what Intuit refuses (issue 16). Each test names its source; README.md
("Strictness") lists them all."""

import datetime as dt
import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit
from xml.etree import ElementTree as ET
from zoneinfo import ZoneInfo

import jwt
import pytest
from django.conf import settings

from integration.sandbox.quickbooks import clock, controls
from integration.sandbox.quickbooks.models import SandboxEntity
from tests.sandbox.quickbooks.conftest import BASE, REDIRECT, UK, US, basic_auth, token_request

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "quickbooks"  # copied verbatim from the reference


def fault(response, status=400):
    assert response.status_code == status, response.content
    return response.json()["Fault"]["Error"][0]


def line(item="2", amount=10):
    return {"DetailType": "SalesItemLineDetail", "Amount": amount, "SalesItemLineDetail": {"ItemRef": {"value": item}}}


def _fixture(name):
    return json.loads((FIXTURES / name).read_text())


# -- 1. BillEmail ----------------------------------------------------------------------------


def test_create_does_not_copy_the_customers_email_and_send_needs_an_address(us_api):
    """Fixture accounting/invoice_create_{request,response}.json: the recorded create for Amy's
    Bird Sanctuary (a customer with an email) has no BillEmail."""
    customer = us_api.get("customer/1").json()["Customer"]
    assert customer["PrimaryEmailAddr"]["Address"]
    request = _fixture("accounting/invoice_create_request.json")
    recorded = _fixture("accounting/invoice_create_response.json")["Invoice"]
    invoice = us_api.post("invoice", request).json()["Invoice"]
    assert "BillEmail" not in recorded and "BillEmail" not in invoice
    assert invoice["BillAddr"]["Line1"] == customer["BillAddr"]["Line1"]  # addresses are copied
    refused = us_api.post(f"invoice/{invoice['Id']}/send", raw="", content_type="application/octet-stream")
    assert fault(refused)["element"] == "BillEmail"
    sent = us_api.post(
        f"invoice/{invoice['Id']}/send", raw="", content_type="application/octet-stream", sendTo="ap@example.com"
    )
    assert sent.status_code == 200 and sent.json()["Invoice"]["BillEmail"]["Address"] == "ap@example.com"


# -- 2. another realm's token ----------------------------------------------------------------


def test_a_token_used_on_another_realm_gets_403_application_authorization_failed(us_api, client):
    """Intuit answers 403 `message=ApplicationAuthorizationFailed; errorCode=003100; statusCode=403`
    in the gateway's lower-case fault shape (README, "Wrong realm")."""
    response = client.get(
        f"{BASE}/v3/company/{UK}/customer/1?minorversion=75", HTTP_AUTHORIZATION=f"Bearer {us_api.token}"
    )
    assert response.status_code == 403
    error = response.json()["fault"]["error"][0]
    assert error["code"] == "3100" and "ApplicationAuthorizationFailed" in error["message"]
    assert response["intuit_tid"]
    assert "WWW-Authenticate" not in response  # not an invalid token: refreshing will not help


# -- 3. redirect_uri -------------------------------------------------------------------------


def _consent(client, redirect_uri, scope="com.intuit.quickbooks.accounting"):
    return client.post(
        f"{BASE}/oauth2/authorize",
        {
            "client_id": settings.QBO_CLIENT_ID,
            "redirect_uri": redirect_uri,
            "state": "s",
            "scope": scope,
            "response_type": "code",
            "realm_id": US,
            "action": "connect",
        },
    )


def test_redirect_uri_must_be_registered_exactly(client, qbo_realms, settings):
    """Intuit: set-redirect-uri page; an unregistered redirect_uri gets an error page, no redirect."""
    for wrong in ("http://evil.example/quickbooks/callback", REDIRECT + "/", REDIRECT + "?x=1"):
        page = _consent(client, wrong)
        assert page.status_code == 400 and b"redirect_uri" in page.content
    # The product's own callback, derived from PUBLIC_BASE_URL when the request comes in.
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:54321"
    own = _consent(client, "http://127.0.0.1:54321/quickbooks/callback")
    assert own.status_code == 302
    # A configured list replaces the default extra URIs.
    settings.QBO_SANDBOX_REDIRECT_URIS = ["https://app.example/cb"]
    assert _consent(client, REDIRECT).status_code == 400
    assert _consent(client, "https://app.example/cb").status_code == 302


def test_token_exchange_checks_the_redirect_uri_against_the_registered_ones(client, qbo_realms, settings):
    """RFC 6749 §4.1.3 and Intuit's token endpoint: redirect_uri must equal the authorize one."""
    code = parse_qs(urlsplit(_consent(client, REDIRECT)["Location"]).query)["code"][0]
    settings.QBO_SANDBOX_REDIRECT_URIS = []  # unregistered since: the exchange is refused too
    refused = token_request(client, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT})
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


# -- 4. query language -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("select * from Customer where DisplayName != 'x'", "4000"),  # no != in the grammar
        ("select * from Customer;", "4000"),  # a trailing ; is a syntax error
        ("select * from null", "4000"),  # reserved word, not an entity
        ("select * from Customer where Notes = 'x'", "4001"),  # Notes is not filterable
        ("select * from Invoice where PrivateNote = 'x'", "4001"),
        ("select * from Invoice orderby CustomerRef", "4001"),  # filterable but not sortable
        ("select * from Item maxresults 1001", "4001"),
        ("select * from Item startposition 0", "4001"),
        ("select Nope from Customer", "4001"),
    ],
)
def test_query_refusals_follow_intuits_rules(us_api, text, code):
    """Data-queries page (operators, paging 1..1000) and each entity page's filterable/sortable marks."""
    error = fault(us_api.query(text))
    assert error["code"] == code, error
    assert error["Detail"].startswith("QueryParserError" if code == "4000" else "QueryValidationError")


def test_projection_returns_only_the_named_properties(us_api):
    """Data-queries page: `SELECT <props>` returns those properties; `SELECT *, Sku` (python-
    quickbooks) still returns whole objects."""
    rows = us_api.query("select Id, Name from Item where Id = '1'").json()["QueryResponse"]["Item"]
    assert rows == [{"Id": "1", "Name": "Services", "domain": "QBO", "sparse": True}]
    full = us_api.query("select *, Sku from Item where Id = '1'").json()["QueryResponse"]["Item"][0]
    assert "IncomeAccountRef" in full


# -- 5. a number that is not a number --------------------------------------------------------


@pytest.mark.parametrize(
    ("entity", "body", "element"),
    [
        ("invoice", {"CustomerRef": {"value": "1"}, "Line": [line(amount="abc")]}, "Line.Amount"),
        ("payment", {"CustomerRef": {"value": "1"}, "TotalAmt": "abc"}, "TotalAmt"),
    ],
)
def test_a_non_numeric_amount_is_a_validation_fault(us_api, entity, body, element):
    """QBO binds JSON to BigDecimal: a non-number is 400 ValidationFault 2010 (reference §5.3), not a 500."""
    response = us_api.post(entity, body)
    error = fault(response)
    assert response.json()["Fault"]["type"] == "ValidationFault"
    assert error["code"] == "2010" and error["element"] == element
    assert not SandboxEntity.objects.filter(entity=entity.capitalize(), data__TotalAmt="abc").exists()


# -- 6. negative totals and duplicate numbers -------------------------------------------------


def test_an_invoice_may_not_total_below_zero(us_api):
    """Invoice reference / QBO UI: a negative invoice is refused (use a credit memo)."""
    body = {
        "CustomerRef": {"value": "3"},
        "Line": [
            line(amount=10),
            {"DetailType": "DiscountLineDetail", "Amount": 25, "DiscountLineDetail": {"PercentBased": False}},
        ],
    }
    error = fault(us_api.post("invoice", body))
    assert error["code"] == "6000" and error["element"] == "TotalAmt"


def _custom_numbers(realm_id, on=True):
    row = SandboxEntity.objects.get(realm__realm_id=realm_id, entity="Preferences")
    row.data["SalesFormsPrefs"]["CustomTxnNumbers"] = on
    row.save(update_fields=["data"])


def test_duplicate_doc_number_is_6140_when_the_company_uses_custom_numbers(us_api):
    """Reference §4.1 / §5.3: 6140 Duplicate Doc Num; `include=allowduplicatedocnum` bypasses it."""
    first = us_api.post("invoice", {"CustomerRef": {"value": "3"}, "Line": [line()], "DocNumber": "A-1"})
    assert first.status_code == 200
    again = {"CustomerRef": {"value": "2"}, "Line": [line()], "DocNumber": "A-1"}
    assert us_api.post("invoice", again).status_code == 200  # preference off: QBO numbers are not checked
    _custom_numbers(US)
    error = fault(us_api.post("invoice", again))
    assert error["code"] == "6140" and "DocNumber=A-1" in error["Detail"]
    assert us_api.post("invoice", again, include="allowduplicatedocnum").status_code == 200
    assert us_api.post("invoice", {**again, "DocNumber": "A-2"}).status_code == 200


# -- 8. CDC ----------------------------------------------------------------------------------


def test_cdc_reads_a_zone_less_changed_since_in_the_companys_time_zone(uk_api):
    """Reference §2.7 and the field-definitions page: a datetime without an offset is the
    company's local time. The UK company's clock is London, not Pacific."""
    created = uk_api.post("invoice", {"CustomerRef": {"value": "1"}, "Line": [line(item="1")]})
    assert created.status_code == 200
    london_now = clock.now().astimezone(ZoneInfo("Europe/London")).replace(tzinfo=None, microsecond=0)
    before = (london_now - dt.timedelta(minutes=5)).isoformat()
    after = (london_now + dt.timedelta(minutes=5)).isoformat()  # 8 hours ago if read as Pacific
    found = uk_api.get("cdc", entities="Invoice", changedSince=before).json()
    assert found["CDCResponse"][0]["QueryResponse"][0]["Invoice"]
    none = uk_api.get("cdc", entities="Invoice", changedSince=after).json()
    assert none["CDCResponse"][0]["QueryResponse"] == [{}]


# -- 9. the smaller ones ---------------------------------------------------------------------


def test_openid_scope_gets_an_id_token_signed_with_the_published_key(client, qbo_realms):
    """Reference §1.4: `id_token` is present only with the openid scope (RS256, jwks_uri)."""
    plain = token_request(
        client,
        {
            "grant_type": "authorization_code",
            "code": parse_qs(urlsplit(_consent(client, REDIRECT)["Location"]).query)["code"][0],
            "redirect_uri": REDIRECT,
        },
    ).json()
    assert "id_token" not in plain
    consent = _consent(client, REDIRECT, scope="openid email com.intuit.quickbooks.accounting")
    code = parse_qs(urlsplit(consent["Location"]).query)["code"][0]
    body = token_request(client, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT}).json()
    keys = client.get(f"{BASE}/oauth2/op/v1/jwks").json()
    key = jwt.PyJWKSet.from_dict(keys)[jwt.get_unverified_header(body["id_token"])["kid"]]
    claims = jwt.decode(body["id_token"], key.key, algorithms=["RS256"], audience=settings.QBO_CLIENT_ID)
    assert claims["realmid"] == US and claims["iss"].endswith("/sandbox/quickbooks/oauth2/op/v1")
    discovery = client.get(f"{BASE}/.well-known/openid_configuration").json()
    assert claims["iss"] == discovery["issuer"]


def test_accept_xml_gets_xml(us_api, client):
    """XML is QBO's native format (the throttle fault is XML even to JSON clients, reference §6)."""
    url = f"{BASE}/v3/company/{US}/customer/1?minorversion=75"
    response = client.get(url, HTTP_AUTHORIZATION=f"Bearer {us_api.token}", HTTP_ACCEPT="application/xml")
    assert response.status_code == 200 and response["Content-Type"].startswith("application/xml")
    root = ET.fromstring(response.content)  # noqa: S314 (our own sandbox's answer)
    ns = {"q": "http://schema.intuit.com/finance/v3"}
    assert root.tag == "{http://schema.intuit.com/finance/v3}IntuitResponse"
    customer = root.find("q:Customer", ns)
    assert customer.get("domain") == "QBO" and customer.find("q:DisplayName", ns).text == "Amy's Bird Sanctuary"
    missing = client.get(
        f"{BASE}/v3/company/{US}/customer/999?minorversion=75",
        HTTP_AUTHORIZATION=f"Bearer {us_api.token}",
        HTTP_ACCEPT="application/xml",
    )
    assert missing.status_code == 400
    error = ET.fromstring(missing.content).find("q:Fault/q:Error", ns)  # noqa: S314 (our own answer)
    assert error.get("code") == "610"


def test_batch_requestid_and_bid_limits(us_api):
    """Blog 2015-04-06 "Request ID update": batch requestid ≤ 36; with one, each bId ≤ 10."""
    items = {"BatchItemRequest": [{"bId": "b" * 11, "Query": "select * from Term"}]}
    assert us_api.post("batch", items).status_code == 200  # no requestid: no bId limit
    error = fault(us_api.post("batch", items, requestid="r1"))
    assert error["code"] == "2050" and error["element"] == "bId"
    short = {"BatchItemRequest": [{"bId": "b" * 10, "Query": "select * from Term"}]}
    assert us_api.post("batch", short, requestid="x" * 36).status_code == 200
    assert fault(us_api.post("batch", short, requestid="y" * 37))["element"] == "requestid"


def test_payment_has_a_deposit_account(us_api):
    """Docs sample docs-samples/payment_sample.json has DepositToAccountRef; without one QBO uses
    Undeposited Funds (XSD Payment.DepositToAccountRef)."""
    invoice = us_api.post("invoice", {"CustomerRef": {"value": "3"}, "Line": [line(amount=40)]}).json()["Invoice"]
    body = {
        "CustomerRef": {"value": "3"},
        "TotalAmt": 40,
        "Line": [{"Amount": 40, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
    }
    payment = us_api.post("payment", body).json()["Payment"]
    undeposited = us_api.get(f"account/{payment['DepositToAccountRef']['value']}").json()["Account"]
    assert undeposited["AccountSubType"] == "UndepositedFunds"
    bad = us_api.post("payment", {**body, "DepositToAccountRef": {"value": "999"}})
    assert fault(bad)["code"] == "2500"


def test_voiding_an_invoice_with_a_payment_leaves_the_payment_as_unapplied_credit(us_api):
    """README "Void": the payment is unlinked and stays as a credit of the customer (QuickBooks help,
    'void an invoice that has a payment'); the invoice reads 0, Voided."""
    invoice = us_api.post("invoice", {"CustomerRef": {"value": "3"}, "Line": [line(amount=40)]}).json()["Invoice"]
    payment = controls.record_payment(realm_id=US, invoice_id=invoice["Id"], amount="15")
    current = us_api.get(f"invoice/{invoice['Id']}").json()["Invoice"]
    voided = us_api.post("invoice", {"Id": invoice["Id"], "SyncToken": current["SyncToken"]}, operation="void").json()[
        "Invoice"
    ]
    assert voided["TotalAmt"] == 0 and voided["Balance"] == 0 and voided["PrivateNote"].startswith("Voided")
    assert not [lt for lt in voided.get("LinkedTxn", []) if lt["TxnType"] == "Payment"]
    after = us_api.get(f"payment/{payment['Id']}").json()["Payment"]
    assert after["Line"] == [] and after["UnappliedAmt"] == 15 and after["TotalAmt"] == 15


def test_discovery_advertises_an_rs256_key_set(client, qbo_realms):
    keys = client.get(f"{BASE}/oauth2/op/v1/jwks").json()["keys"]
    assert keys and keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256"
    assert basic_auth()  # the token endpoint's client auth is unchanged
