"""The /panel/ iframes: token check, framing only by Pipedrive, no cookies, the deal they are on."""

from __future__ import annotations

import json
import re

import pytest

from tests.personas import panel_token


def _params(membership, **extra) -> dict:
    params = {
        "id": "runtime-1",
        "userId": str(membership.pipedrive_user_id),
        "companyId": str(membership.company.pipedrive_company_id),
        "resource": "deal",
        "view": "details",
        "selectedIds": "501",
        "theme": "dark",
        "token": panel_token(company_id=membership.company.pipedrive_company_id, user_id=membership.pipedrive_user_id),
    }
    params.update(extra)
    return params


def _config(response) -> dict:
    body = response.content.decode()
    return json.loads(re.search(r'<script type="application/json" id="panel-config">(.*?)</script>', body).group(1))


def _frame_ancestors(response) -> str:
    return re.search(r"frame-ancestors ([^;]*)", response["Content-Security-Policy"]).group(1)


@pytest.mark.parametrize("path", ["/panel/deal", "/panel/invoice-modal"])
def test_pipedrive_may_frame_the_panel_and_nothing_else_changes(client, personas, path):
    response = client.get(path, _params(personas.bob_membership))
    assert response.status_code == 200
    assert _frame_ancestors(response) == "https://*.pipedrive.com 'self'"
    assert "X-Frame-Options" not in response
    assert not response.cookies  # nothing to remember in a third-party iframe
    assert _config(response)["dealId"] == 501
    body = response.content.decode()
    assert "vendor/pipedrive-app-extensions-sdk/index.umd.js" in body and "panel/common.js" in body
    assert 'class="theme-dark"' in body
    # the rest of the site still refuses any framing
    other = client.get("/")
    assert _frame_ancestors(other) == "'none'" and other["X-Frame-Options"] == "DENY"


def test_without_sandboxes_only_pipedrive_may_frame(client, personas, settings):
    settings.SANDBOXES_ENABLED = False
    response = client.get("/panel/deal", _params(personas.alice_membership))
    assert _frame_ancestors(response) == "https://*.pipedrive.com"


def test_the_modal_reads_its_deal_from_the_open_modal_data(client, personas):
    response = client.get(
        "/panel/invoice-modal", _params(personas.alice_membership, selectedIds="", data=json.dumps({"dealId": 7}))
    )
    assert response.status_code == 200
    assert _config(response)["dealId"] == 7
    assert "panel/modal.js" in response.content.decode()


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"token": ""}, "missing"),
        ({"token": "not.a.jwt"}, "malformed"),
        ({"companyId": "2002"}, "params name another company than the token"),
        ({"userId": "99"}, "params name another user"),
    ],
)
def test_a_bad_token_gets_no_app(client, personas, change, reason):
    response = client.get("/panel/deal", _params(personas.alice_membership, **change))
    assert response.status_code == 401, reason
    body = response.content.decode()
    assert "Open this from a deal in Pipedrive" in body
    assert "panel-config" not in body and "panel.js" not in body
    assert _frame_ancestors(response) == "https://*.pipedrive.com 'self'"  # so Pipedrive can show the refusal


def test_expired_and_foreign_tokens_are_refused(client, personas, settings):
    expired = panel_token(company_id=1001, user_id=11, lifetime=-120)
    assert client.get("/panel/deal", _params(personas.alice_membership, token=expired)).status_code == 401
    signed_elsewhere = _params(personas.alice_membership)
    settings.PIPEDRIVE_JWT_SECRET = "another-secret"  # the token was signed with a secret we no longer hold
    assert client.get("/panel/deal", signed_elsewhere).status_code == 401


def test_unknown_user_of_a_known_company_is_refused(client, personas):
    token = panel_token(company_id=1001, user_id=77)
    response = client.get("/panel/deal", {"token": token, "selectedIds": "501"})
    assert response.status_code == 401


def test_a_panel_without_a_deal_says_so(client, personas):
    response = client.get("/panel/deal", _params(personas.alice_membership, selectedIds=""))
    assert response.status_code == 400
    assert "belongs on a deal" in response.content.decode()


def test_only_get(client, personas):
    assert client.post("/panel/deal", _params(personas.alice_membership)).status_code == 405


def test_the_panel_opens_the_modal_by_the_developer_hub_id(client, personas, settings):
    settings.PIPEDRIVE_MODAL_ID = "b1d2-modal-id-from-developer-hub"
    response = client.get("/panel/deal", _params(personas.alice_membership))
    assert _config(response)["modalId"] == "b1d2-modal-id-from-developer-hub"


@pytest.mark.parametrize(
    ("change", "status", "text"),
    [
        ({"token": "not.a.jwt"}, 401, "Open this from a deal in Pipedrive"),
        ({"selectedIds": ""}, 400, "belongs on a deal"),
        (
            {"token": (1001, 77), "userId": "77"},
            401,
            "You have not installed QuickBooks invoicing yet",
        ),
        (
            {"token": (4242, 1), "userId": "1", "companyId": "4242"},
            401,
            "not installed for your Pipedrive company",
        ),
    ],
    ids=["bad-token", "no-deal", "user-not-installed", "company-not-installed"],
)
@pytest.mark.parametrize("path", ["/panel/deal", "/panel/invoice-modal"])
def test_a_refusal_still_initialises_the_sdk_so_pipedrive_shows_it(client, personas, change, status, text, path):
    """Pipedrive hides an iframe that has not initialised the SDK within 10 s: a refusal without the
    SDK would be a blank frame."""
    if isinstance(change.get("token"), tuple):  # signed now, not at collection (tokens live 5 minutes)
        company_id, user_id = change["token"]
        change = {**change, "token": panel_token(company_id=company_id, user_id=user_id)}
    response = client.get(path, _params(personas.alice_membership, **change))
    assert response.status_code == status
    body = response.content.decode()
    assert text in body
    assert "vendor/pipedrive-app-extensions-sdk/index.umd.js" in body and "panel/refused.js" in body
    assert "panel-config" not in body and "panel.js" not in body  # no app, no API calls
    extension = "modal" if "modal" in path else "panel"
    assert f'data-extension="{extension}"' in body
    if "installed" in text:
        assert '/pipedrive/install" target="_blank"' in body


@pytest.mark.parametrize("mode", ["jwt-secret", "client-secret"])
def test_the_sandbox_hosts_tokens_open_the_panel_and_the_api_in_both_secret_modes(client, personas, settings, mode):
    """Developer Hub's JWT secret typed (we hold the same value) or left blank (Pipedrive signs with the
    client secret, and so do we verify): the iframe token and GET_SIGNED_TOKEN's token both work."""
    from integration.sandbox.pipedrive.seed import seed

    seed()
    if mode == "client-secret":
        settings.PIPEDRIVE_SANDBOX_JWT_SECRET = ""
        settings.PIPEDRIVE_JWT_SECRET = ""
    page = client.get("/sandbox/pipedrive/app/acme-demo/deal/1", {"user_id": 11}).content.decode()
    start = page.index('data-src="') + len('data-src="')
    src = page[start : page.index('"', start)].replace("&amp;", "&")
    panel = client.get(src.replace(settings.PUBLIC_BASE_URL, ""))
    assert panel.status_code == 200 and _config(panel)["dealId"] == 1
    token = client.get("/sandbox/pipedrive/app/acme-demo/signed-token", {"user_id": 11, "extension": "modal"}).json()
    api = client.get("/api/v1/deals/1/invoices", HTTP_AUTHORIZATION=f"Bearer {token['token']}")
    # authenticated as Alice of Acme: the API knows her company has no QuickBooks connection yet
    assert (api.status_code, api.json()["error"]["code"]) == (409, "not_connected"), api.content[:300]
    # a stale secret on our side (Developer Hub changed, we did not): refused
    settings.PIPEDRIVE_JWT_SECRET = "stale-secret-0123456789"
    assert client.get(src.replace(settings.PUBLIC_BASE_URL, "")).status_code == 401
    api = client.get("/api/v1/deals/1/invoices", HTTP_AUTHORIZATION=f"Bearer {token['token']}")
    assert api.status_code == 401
