"""The per-company API host: auth, scopes, errors, paging, filters, custom fields, limits."""

import json
import re
from datetime import timedelta

import time_machine
from django.utils import timezone

from integration.sandbox.pipedrive.models import SandboxCompany, SandboxInvoiceProviderLink
from integration.sandbox.pipedrive.seed import custom_key
from tests.sandbox.pipedrive.conftest import ACME_API, BOREALIS_API

NOT_FOUND = {
    "success": False,
    "error": "Entity was not found",
    "error_info": "Object was not found.",
    "data": None,
    "additional_data": None,
}
HEX40 = re.compile(r"^[0-9a-f]{40}$")


def deal_key(name, company=1001):
    return custom_key(company, "deal", name)


# --- auth, scopes, errors ---------------------------------------------------------------------


def test_missing_unknown_and_malformed_bearer(client, pd_seed):
    url = f"{ACME_API}/v2/deals/1"
    assert client.get(url).json() == {"success": False, "error": "unauthorized access", "errorCode": 401}
    assert client.get(url, HTTP_AUTHORIZATION="Bearer v1u:forged").status_code == 401
    malformed = client.get(url, HTTP_AUTHORIZATION="Token abc")
    assert malformed.status_code == 400
    assert malformed.json()["error"] == "Invalid request: malformed authorization header"


def test_token_only_works_on_its_company_host(pd_get, pd_token):
    acme_token = pd_token(11)
    assert pd_get(f"{ACME_API}/v2/deals/1", token=acme_token).status_code == 200
    assert pd_get(f"{BOREALIS_API}/v2/deals/1", token=acme_token).status_code == 401
    borealis = pd_get(f"{BOREALIS_API}/v2/deals/1", token=pd_token(21)).json()["data"]
    assert borealis["title"] == "Crumb & Co weekly bread"


def test_scope_mismatch_is_403(pd_get, pd_token):
    token = pd_token(scopes=["base"])
    response = pd_get(f"{ACME_API}/v2/deals/1", token=token)
    assert response.status_code == 403
    assert response.json() == {
        "success": False,
        "error": "Scope and URL mismatch",
        "errorCode": 403,
        "error_info": "Please check developers.pipedrive.com",
    }
    assert pd_get(f"{ACME_API}/v2/persons/1", token=token).status_code == 403
    assert pd_get(f"{ACME_API}/v1/users/me", token=token).status_code == 200
    products_only = pd_token(scopes=["base", "products:read"])
    # Deal products accept products:* or deals:* scopes; the deal itself needs deals:*.
    assert pd_get(f"{ACME_API}/v2/deals/1/products", token=products_only).status_code == 200
    assert pd_get(f"{ACME_API}/v2/deals/1", token=products_only).status_code == 403


def test_not_found_envelope(pd_get):
    for path in ("v2/deals/999", "v2/deals/7", "v2/persons/999", "v2/organizations/999", "v2/deals/999/products"):
        response = pd_get(f"{ACME_API}/{path}")
        assert response.status_code == 404, path
        assert response.json() == NOT_FOUND


def test_wrong_method_is_405(client, pd_token):
    response = client.post(f"{ACME_API}/v2/deals", {}, HTTP_AUTHORIZATION=f"Bearer {pd_token()}")
    assert response.status_code == 405
    assert response.json()["success"] is False


# --- users/me, currencies ---------------------------------------------------------------------


def test_users_me_for_admin_and_regular_user(pd_get, pd_token):
    alice = pd_get(f"{ACME_API}/v1/users/me", token=pd_token(11)).json()["data"]
    bob = pd_get(f"{ACME_API}/v1/users/me", token=pd_token(12)).json()["data"]
    assert (alice["id"], alice["email"], alice["company_id"], alice["company_domain"]) == (
        11,
        "alice@acme.test",
        1001,
        "acme-demo",
    )
    assert alice["company_name"] == "Acme Robotics (demo)"
    assert alice["is_admin"] is True and all(a["admin"] for a in alice["access"])
    assert bob["is_admin"] is False and not any(a["admin"] for a in bob["access"])


def test_currencies_and_term(pd_get):
    codes = [c["code"] for c in pd_get(f"{ACME_API}/v1/currencies").json()["data"]]
    assert {"USD", "EUR", "GBP", "CAD"} <= set(codes)
    assert [c["code"] for c in pd_get(f"{ACME_API}/v1/currencies", term="pound").json()["data"]] == ["GBP"]


# --- deals, filters, paging -------------------------------------------------------------------


def test_deal_list_defaults_filters_and_sorting(pd_get):
    def ids(**query):
        return [d["id"] for d in pd_get(f"{ACME_API}/v2/deals", **query).json()["data"]]

    assert ids() == [1, 2, 3, 4, 5, 6]  # deleted deal 7 excluded by default
    assert ids(status="deleted") == [7]
    assert ids(status="won,lost") == [4, 6]
    assert ids(org_id=2) == [3, 6]
    assert ids(person_id=1) == [1]
    assert ids(owner_id=12) == [2, 3, 6]
    assert ids(ids="5,1,99") == [1, 5]
    assert ids(sort_direction="desc") == [6, 5, 4, 3, 2, 1]
    assert pd_get(f"{ACME_API}/v2/deals", status="bogus").status_code == 400
    assert ids(updated_since="2030-01-01T00:00:00Z") == []


def test_cursor_paging_walks_everything_once(pd_get):
    seen, cursor, pages = [], None, 0
    while True:
        query = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        body = pd_get(f"{ACME_API}/v2/deals", **query).json()
        seen += [d["id"] for d in body["data"]]
        cursor = body["additional_data"]["next_cursor"]
        pages += 1
        if cursor is None:
            break
        assert isinstance(cursor, str) and cursor
    assert seen == [1, 2, 3, 4, 5, 6]
    assert pages == 3


def test_paging_bad_input(pd_get):
    assert pd_get(f"{ACME_API}/v2/deals", limit=501).status_code == 400
    assert pd_get(f"{ACME_API}/v2/deals", limit=0).status_code == 400
    assert pd_get(f"{ACME_API}/v2/deals", limit=500).status_code == 200
    bad = pd_get(f"{ACME_API}/v2/deals", cursor="!!not-a-cursor")
    assert bad.status_code == 400
    assert bad.json()["error"] == "Invalid cursor"


# --- custom fields ----------------------------------------------------------------------------


def test_deal_custom_fields_use_v2_encodings(pd_get):
    custom = pd_get(f"{ACME_API}/v2/deals/1").json()["data"]["custom_fields"]
    assert all(HEX40.match(key) for key in custom)
    assert custom[deal_key("Purchase order number")] == "PO-2026-0042"
    assert custom[deal_key("Contract value")] == {"value": 26000, "currency": "USD"}
    assert custom[deal_key("Payment terms")] == 32
    assert custom[deal_key("Services")] == [41, 43]
    address = custom[deal_key("Billing address")]
    assert address["locality"] == "Austin" and address["postal_code"] == "78744"
    assert address["sublocality"] is None
    assert custom[deal_key("Internal notes")] == "Wants delivery before Q1."
    # Unset custom fields come back as null, and keys differ per company.
    assert pd_get(f"{ACME_API}/v2/deals/4").json()["data"]["custom_fields"][deal_key("Payment terms")] is None
    assert deal_key("Payment terms", 2002) != deal_key("Payment terms")


def test_option_labels_and_custom_field_selection(pd_get):
    labelled = pd_get(f"{ACME_API}/v2/deals/1", include_option_labels="true").json()["data"]["custom_fields"]
    assert labelled[deal_key("Payment terms")] == {"id": 32, "label": "Net 30"}
    assert labelled[deal_key("Services")] == [{"id": 41, "label": "Installation"}, {"id": 43, "label": "Support"}]
    picked = pd_get(f"{ACME_API}/v2/deals/1", custom_fields=deal_key("Payment terms")).json()["data"]
    assert picked["custom_fields"] == {deal_key("Payment terms"): 32}
    too_many = ",".join(f"{i:040x}" for i in range(16))
    assert pd_get(f"{ACME_API}/v2/deals/1", custom_fields=too_many).status_code == 400


def test_field_definitions_describe_each_custom_type(pd_get):
    fields = {f["field_code"]: f for f in pd_get(f"{ACME_API}/v2/dealFields").json()["data"]}
    types = {f["field_type"] for f in fields.values() if f["is_custom_field"]}
    assert {"varchar", "text", "address", "monetary", "enum", "set"} <= types
    terms = fields[deal_key("Payment terms")]
    assert [o["label"] for o in terms["options"]] == ["Net 15", "Net 30", "Net 60"]
    assert [s["field_code"] for s in fields[deal_key("Contract value")]["subfields"]] == ["value", "currency"]
    assert len(fields[deal_key("Billing address")]["subfields"]) == 11
    assert fields["title"]["is_custom_field"] is False
    org_fields = pd_get(f"{ACME_API}/v2/organizationFields").json()["data"]
    assert any(f["field_type"] == "address" and f["is_custom_field"] for f in org_fields)
    assert pd_get(f"{ACME_API}/v2/personFields").json()["data"]
    assert pd_get(f"{ACME_API}/v2/productFields").json()["data"]


# --- contacts, products, deal products --------------------------------------------------------


def test_persons_with_several_emails_and_orgs_with_partial_addresses(pd_get):
    peter = pd_get(f"{ACME_API}/v2/persons/1").json()["data"]
    assert len(peter["emails"]) == 3
    assert [e["value"] for e in peter["emails"] if e["primary"]] == ["peter@initech.test"]
    bill = pd_get(f"{ACME_API}/v2/persons/2").json()["data"]
    assert bill["emails"][0]["primary"] is False and bill["emails"][1]["primary"] is True
    assert pd_get(f"{ACME_API}/v2/persons/5").json()["data"]["emails"] == []
    full = pd_get(f"{ACME_API}/v2/organizations/1").json()["data"]["address"]
    partial = pd_get(f"{ACME_API}/v2/organizations/2").json()["data"]["address"]
    assert all(full[k] for k in ("route", "street_number", "locality", "postal_code", "country"))
    assert partial["value"] == "Raccoon City, Midwest" and partial["route"] is None and partial["country"] == ""
    assert pd_get(f"{ACME_API}/v2/organizations/3").json()["data"]["address"] is None


def test_deal_products_cover_discounts_tax_methods_and_disabled_lines(pd_get):
    lines = {d: pd_get(f"{ACME_API}/v2/deals/{d}/products").json()["data"] for d in (1, 2, 3)}
    assert {line["tax_method"] for d in lines for line in lines[d]} == {"exclusive", "inclusive", "none"}
    assert {line["discount_type"] for line in lines[1]} == {"percentage", "amount"}
    arm, install, gripper = lines[1]
    # 2 x 12000 - 10 % = 21600, + 8.25 % exclusive tax = 23382
    assert (arm["quantity"], arm["item_price"], arm["discount"], arm["sum"]) == (2, 12000, 10, 23382)
    # 16 x 150 - 200 = 2200, + 8.25 % = 2381.5
    assert install["sum"] == 2381.5
    assert gripper["is_enabled"] is False
    deal = pd_get(f"{ACME_API}/v2/deals/1").json()["data"]
    assert deal["value"] == 23382 + 2381.5  # disabled line not counted
    assert lines[2][1]["quantity"] == 3.5 and lines[2][0]["currency"] == "EUR"


def test_products_list_and_search(pd_get):
    products = pd_get(f"{ACME_API}/v2/products").json()["data"]
    assert [p["code"] for p in products] == ["RA-2", "SVC-INST", "SVC-MAINT", "GK-1", "SVC-TRAIN"]
    arm = products[0]
    assert {p["currency"]: p["price"] for p in arm["prices"]} == {"USD": 12000, "EUR": 11000}
    hits = pd_get(f"{ACME_API}/v2/products/search", term="svc").json()["data"]["items"]
    assert [h["item"]["code"] for h in hits] == ["SVC-INST", "SVC-MAINT", "SVC-TRAIN"]
    exact = pd_get(f"{ACME_API}/v2/products/search", term="GK-1", exact_match="true").json()["data"]["items"]
    assert [h["item"]["id"] for h in exact] == [4]
    assert pd_get(f"{ACME_API}/v2/products/search", term="x").status_code == 400


# --- invoicing link ---------------------------------------------------------------------------


def test_invoice_provider_registration(client, pd_token):
    token = pd_token()
    url = f"{ACME_API}/v1/invoice/user/provider"
    body = {"data": {"linkId": "5f7e-link", "orgId": "realm-1", "marketplaceClientId": "sandbox-pipedrive-client-id"}}
    response = client.post(url, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 201
    redirect_url = response.json()["data"]["redirectUrl"]
    assert redirect_url.endswith("/sandbox/pipedrive/app/acme-demo/settings/invoicing?linkId=5f7e-link")
    link = SandboxInvoiceProviderLink.objects.get()
    assert (link.company_id, link.user_id, link.org_id) == (1001, 11, "realm-1")
    bad = client.post(
        url, json.dumps({"data": {}}), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {token}"
    )
    assert bad.status_code == 400
    no_scope = pd_token(scopes=["base", "deals:read"])
    forbidden = client.post(
        url, json.dumps(body), content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {no_scope}"
    )
    assert forbidden.status_code == 403
    assert SandboxInvoiceProviderLink.objects.count() == 1


# --- rate limits ------------------------------------------------------------------------------


def test_burst_limit_headers_and_429(pd_get, pd_token):
    SandboxCompany.objects.filter(pk=1001).update(burst_limit=3)
    token = pd_token()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        remaining = []
        for _ in range(3):
            response = pd_get(f"{ACME_API}/v2/deals/1", token=token)
            assert response.status_code == 200
            assert response["x-ratelimit-limit"] == "3"
            remaining.append(response["x-ratelimit-remaining"])
        over = pd_get(f"{ACME_API}/v2/deals/1", token=token)
        assert remaining == ["2", "1", "0"]
        assert over.status_code == 429
        assert over.json()["error"] == "Request over limit"
        assert over["x-ratelimit-remaining"] == "0" and int(over["x-ratelimit-reset"]) in (1, 2)
        # Another token has its own burst window.
        assert pd_get(f"{ACME_API}/v2/deals/1", token=pd_token()).status_code == 200
    with time_machine.travel(start + timedelta(seconds=2.1), tick=False):
        assert pd_get(f"{ACME_API}/v2/deals/1", token=token).status_code == 200


def test_daily_budget_charges_token_cost(pd_get, pd_token):
    SandboxCompany.objects.filter(pk=1001).update(daily_budget=12)
    token = pd_token()
    first = pd_get(f"{ACME_API}/v2/deals", token=token)  # cost 10
    assert first.status_code == 200 and first["x-daily-ratelimit-token-remaining"] == "2"
    assert pd_get(f"{ACME_API}/v1/users/me", token=token)["x-daily-ratelimit-token-remaining"] == "0"  # cost 2
    exhausted = pd_get(f"{ACME_API}/v2/deals/1", token=pd_token())
    assert exhausted.status_code == 429
    assert exhausted["x-daily-ratelimit-token-remaining"] == "0"
    with time_machine.travel(timezone.now() + timedelta(days=1)):
        assert pd_get(f"{ACME_API}/v2/deals/1", token=pd_token()).status_code == 200


def test_products_of_several_deals(client, pd_get, pd_token):
    lines = pd_get(f"{ACME_API}/v2/deals/products", deal_ids="1,3,7").json()["data"]
    assert [(line["deal_id"], line["id"]) for line in lines] == [(1, 101), (1, 102), (1, 103), (3, 301), (3, 302)]
    repeated = client.get(
        f"{ACME_API}/v2/deals/products?deal_ids=2&deal_ids=5&sort_by=deal_id&sort_direction=desc",
        HTTP_AUTHORIZATION=f"Bearer {pd_token()}",
    ).json()["data"]
    assert [line["deal_id"] for line in repeated] == [5, 5, 2, 2]
    assert pd_get(f"{ACME_API}/v2/deals/products").status_code == 400
