"""Deal installments in the Pipedrive sandbox (API v2 DealInstallments): shapes, paging, plan, scopes
and the refusals of the spec (integration/sandbox/pipedrive/installments.py, README "Installments")."""

import json
from decimal import Decimal

import pytest

from integration.sandbox.pipedrive.models import SandboxCompany, SandboxInstallment, SandboxRecord
from integration.sandbox.pipedrive.seed import INSTALLMENTS
from tests.sandbox.pipedrive.conftest import ACME_API, BOREALIS_API
from tests.sandbox.pipedrive.test_contract import validate

LIST = f"{ACME_API}/v2/deals/installments"
SCOPE_MISMATCH = {
    "success": False,
    "error": "Scope and URL mismatch",
    "errorCode": 403,
    "error_info": "Please check developers.pipedrive.com",
}


@pytest.fixture
def send(client, pd_token):
    """`send(method, path, body=None, token=None)`: a JSON write with a bearer token (alice by default)."""

    def call(method: str, path: str, body=None, token: str | None = None):
        return client.generic(
            method,
            path,
            json.dumps(body) if body is not None else "",
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Bearer {token or pd_token()}",
        )

    return call


def test_the_seeded_schedule_adds_up_to_the_deal_value(pd_get):
    response = pd_get(LIST, deal_ids="1,2,3")
    assert response.status_code == 200
    body = response.json()
    validate(body, "v2", "/deals/installments")
    assert body["additional_data"] == {"next_cursor": None}
    data = body["data"]
    assert [(i["id"], i["deal_id"], i["description"]) for i in data] == [
        (iid, 1, description) for iid, description, _date in INSTALLMENTS
    ]
    assert [i["billing_date"] for i in data] == ["2026-12-01", "2027-01-04", "2027-02-01"]
    deal_value = pd_get(f"{ACME_API}/v2/deals/1").json()["data"]["value"]
    assert sum(Decimal(str(i["amount"])) for i in data) == Decimal(str(deal_value))


def test_deal_ids_repeated_or_comma_separated_and_unknown_ids_are_just_absent(pd_get, client, pd_token):
    token = pd_token()
    repeated = client.get(f"{LIST}?deal_ids=1&deal_ids=999", HTTP_AUTHORIZATION=f"Bearer {token}").json()
    assert [i["id"] for i in repeated["data"]] == [1001, 1002, 1003]
    assert pd_get(LIST, deal_ids="999,5").json()["data"] == []
    # Another company's deal 1 has no installments: ids are per company.
    assert pd_get(f"{BOREALIS_API}/v2/deals/installments", token=pd_token(21), deal_ids="1").json()["data"] == []


def test_paging_and_sorting(pd_get):
    first = pd_get(LIST, deal_ids="1", limit=2, sort_by="billing_date", sort_direction="desc").json()
    assert [i["billing_date"] for i in first["data"]] == ["2027-02-01", "2027-01-04"]
    cursor = first["additional_data"]["next_cursor"]
    assert cursor
    second = pd_get(LIST, deal_ids="1", limit=2, sort_by="billing_date", sort_direction="desc", cursor=cursor).json()
    assert [i["billing_date"] for i in second["data"]] == ["2026-12-01"]
    assert second["additional_data"]["next_cursor"] is None


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"deal_ids": ""},
        {"deal_ids": "1,abc"},
        {"deal_ids": "0"},
        {"deal_ids": "-3"},
        {"deal_ids": ",".join(str(n) for n in range(1, 102))},
        {"deal_ids": "1", "limit": "501"},
        {"deal_ids": "1", "limit": "0"},
        {"deal_ids": "1", "cursor": "not-a-cursor"},
        {"deal_ids": "1", "sort_by": "amount"},
        {"deal_ids": "1", "sort_direction": "up"},
    ],
)
def test_bad_list_queries_are_400_in_the_error_envelope(pd_get, query):
    response = pd_get(LIST, **query)
    assert response.status_code == 400, query
    body = response.json()
    assert body["success"] is False and body["data"] is None and body["error"]


def test_exactly_100_deal_ids_are_allowed(pd_get):
    response = pd_get(LIST, deal_ids=",".join(str(n) for n in range(1, 101)))
    assert response.status_code == 200
    assert len(response.json()["data"]) == 3


def test_scopes_are_the_specs_deals_read_or_full(pd_get, send, pd_token):
    contacts_only = pd_token(scopes=["base", "contacts:read", "products:read"])
    refused = pd_get(LIST, token=contacts_only, deal_ids="1")
    assert (refused.status_code, refused.json()) == (403, SCOPE_MISMATCH)
    write = send("POST", f"{ACME_API}/v2/deals/1/installments", {"description": "x", "amount": 1}, contacts_only)
    assert (write.status_code, write.json()) == (403, SCOPE_MISMATCH)
    read_only = pd_token(scopes=["base", "deals:read"])
    assert pd_get(LIST, token=read_only, deal_ids="1").status_code == 200
    # The spec lists deals:read for the writes too.
    added = send(
        "POST",
        f"{ACME_API}/v2/deals/1/installments",
        {"description": "Extra", "amount": 5, "billing_date": "2027-03-01"},
        read_only,
    )
    assert added.status_code == 200


def test_lite_plan_refuses_every_operation_and_changes_nothing(pd_get, send):
    SandboxCompany.objects.filter(pk=1001).update(plan="lite")
    before = SandboxInstallment.objects.count()
    calls = [
        pd_get(LIST, deal_ids="1"),
        send(
            "POST",
            f"{ACME_API}/v2/deals/1/installments",
            {"description": "x", "amount": 1, "billing_date": "2027-01-01"},
        ),
        send("PATCH", f"{ACME_API}/v2/deals/1/installments/1001", {"amount": 2}),
        send("DELETE", f"{ACME_API}/v2/deals/1/installments/1001"),
    ]
    for response in calls:
        assert response.status_code == 403
        body = response.json()
        assert body == {
            "success": False,
            "error": "Installments are only available in Growth and above plans",
            "error_info": "Please check developers.pipedrive.com",
            "data": None,
            "additional_data": None,
        }
    assert SandboxInstallment.objects.count() == before
    SandboxCompany.objects.filter(pk=1001).update(plan="premium")
    assert pd_get(LIST, deal_ids="1").status_code == 200


def test_add_update_delete_round_trip(pd_get, send):
    added = send(
        "POST",
        f"{ACME_API}/v2/deals/5/installments",
        {"description": "Kick-off", "amount": 1234.5, "billing_date": "2027-01-15"},
    )
    assert added.status_code == 200
    data = added.json()["data"]
    assert {k: data[k] for k in ("deal_id", "description", "amount", "billing_date")} == {
        "deal_id": 5,
        "description": "Kick-off",
        "amount": 1234.5,
        "billing_date": "2027-01-15",
    }
    path = f"{ACME_API}/v2/deals/5/installments/{data['id']}"
    patched = send("PATCH", path, {"amount": 1000, "billing_date": "2027-02-15"})
    assert patched.status_code == 200
    assert patched.json()["data"] == {**data, "amount": 1000, "billing_date": "2027-02-15"}
    listed = pd_get(LIST, deal_ids="5").json()["data"]
    assert listed == [patched.json()["data"]]
    deleted = send("DELETE", path)
    assert deleted.json() == {"success": True, "data": {"id": data["id"]}}
    assert pd_get(LIST, deal_ids="5").json()["data"] == []
    assert send("DELETE", path).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"amount": 10, "billing_date": "2027-01-01"},  # description missing
        {"description": "x", "billing_date": "2027-01-01"},  # amount missing
        {"description": "x", "amount": 10},  # billing_date missing
        {"description": "", "amount": 10, "billing_date": "2027-01-01"},
        {"description": "x" * 256, "amount": 10, "billing_date": "2027-01-01"},
        {"description": "x", "amount": 0, "billing_date": "2027-01-01"},
        {"description": "x", "amount": -5, "billing_date": "2027-01-01"},
        {"description": "x", "amount": "10", "billing_date": "2027-01-01"},
        {"description": "x", "amount": True, "billing_date": "2027-01-01"},
        {"description": "x", "amount": 10.005, "billing_date": "2027-01-01"},
        {"description": "x", "amount": 10, "billing_date": "01/02/2027"},
        {"description": "x", "amount": 10, "billing_date": "2027-02-30"},
        {"description": "x", "amount": 10, "billing_date": "2027-01-01T00:00:00Z"},
        {"description": "x", "amount": 10, "billing_date": "2027-01-01", "currency": "USD"},
    ],
)
def test_bad_bodies_are_400_and_write_nothing(send, body):
    before = SandboxInstallment.objects.count()
    response = send("POST", f"{ACME_API}/v2/deals/5/installments", body)
    assert response.status_code == 400, body
    assert response.json()["success"] is False
    assert SandboxInstallment.objects.count() == before


def test_a_deal_with_a_recurring_product_or_without_products_refuses_installments(send):
    ok = {"description": "x", "amount": 10, "billing_date": "2027-01-01"}
    recurring = send("POST", f"{ACME_API}/v2/deals/3/installments", ok)  # deal 3 has a monthly product
    assert recurring.status_code == 400
    assert "recurring" in recurring.json()["error"]
    no_products = send("POST", f"{ACME_API}/v2/deals/4/installments", ok)
    assert no_products.status_code == 400
    assert "one-time product" in no_products.json()["error"]
    # Disabled products do not count: with only a disabled one-time line the deal has none.
    SandboxRecord.objects.filter(company_id=1001, kind="deal_product", parent_id=5).update(
        data={"is_enabled": False, "billing_frequency": "one-time"}
    )
    assert send("POST", f"{ACME_API}/v2/deals/5/installments", ok).status_code == 400


def test_unknown_or_deleted_deals_and_foreign_installments_are_404(send):
    ok = {"description": "x", "amount": 10, "billing_date": "2027-01-01"}
    assert send("POST", f"{ACME_API}/v2/deals/999/installments", ok).status_code == 404
    assert send("POST", f"{ACME_API}/v2/deals/7/installments", ok).status_code == 404  # deleted deal
    # Installment 1001 belongs to deal 1, not deal 5.
    assert send("PATCH", f"{ACME_API}/v2/deals/5/installments/1001", {"amount": 1}).status_code == 404
    assert SandboxInstallment.objects.get(pk=1001).deal_id == 1


def test_empty_patch_and_wrong_methods(send, pd_get):
    assert send("PATCH", f"{ACME_API}/v2/deals/1/installments/1001", {}).status_code == 400
    assert pd_get(f"{ACME_API}/v2/deals/1/installments").status_code == 405
    assert send("POST", LIST, {}).status_code == 405
