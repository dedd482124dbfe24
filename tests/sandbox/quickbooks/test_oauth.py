"""Intuit OAuth as the sandbox plays it: consent, code exchange, rotation, revoke, discovery."""

import json

from django.conf import settings

from integration.sandbox.quickbooks import controls
from tests.references import QBO_FIXTURES
from tests.sandbox.quickbooks.conftest import BASE, REDIRECT, UK, US, authorize, basic_auth, connect, token_request

FIXTURES = QBO_FIXTURES  # a verbatim copy of shared/qbo-reference/fixtures (tests/references.py)


def test_consent_page_lists_the_seeded_companies_and_a_connect_button(client, qbo_realms):
    response = client.get(
        f"{BASE}/oauth2/authorize",
        {
            "client_id": settings.QBO_CLIENT_ID,
            "redirect_uri": REDIRECT,
            "state": "s1",
            "response_type": "code",
            "scope": "com.intuit.quickbooks.accounting openid",
        },
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert "Connect" in page and US in page and UK in page
    assert "Sandbox Design Ltd (UK)" in page


def test_consent_rejects_an_unknown_client(client, qbo_realms):
    response = client.get(f"{BASE}/oauth2/authorize", {"client_id": "someone-else", "redirect_uri": REDIRECT})
    assert response.status_code == 400
    assert b"Unknown client_id" in response.content


def test_connect_redirects_with_code_state_and_realm(client, qbo_realms):
    params = authorize(client, UK, state="xyz")
    assert params["state"] == "xyz" and params["realmId"] == UK
    assert 0 < len(params["code"]) <= 512


def test_cancel_redirects_with_access_denied(client, qbo_realms):
    response = client.post(
        f"{BASE}/oauth2/authorize",
        {
            "client_id": settings.QBO_CLIENT_ID,
            "redirect_uri": REDIRECT,
            "state": "s9",
            "scope": "com.intuit.quickbooks.accounting",
            "action": "cancel",
        },
    )
    assert response.status_code == 302
    assert response["Location"] == f"{REDIRECT}?error=access_denied&state=s9"


def test_code_exchange_returns_the_recorded_token_shape(client, qbo_realms):
    body = connect(client)
    fixture = json.loads((FIXTURES / "oauth/token_response_dotnet_test.json").read_text())
    assert set(body) == set(fixture) - {"id_token"}  # id_token only with the openid scope
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600
    assert body["x_refresh_token_expires_in"] == 8726400
    assert body["access_token"] != body["refresh_token"]


def test_code_is_single_use_and_bound_to_redirect_uri(client, qbo_realms):
    code = authorize(client)["code"]
    wrong = token_request(client, {"grant_type": "authorization_code", "code": code, "redirect_uri": "http://x/cb"})
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    ok = token_request(client, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT})
    assert ok.status_code == 200
    again = token_request(client, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT})
    assert again.status_code == 400
    assert again.json() == {"error_description": "Token invalid", "error": "invalid_grant"}
    assert again["intuit_tid"]


def test_token_endpoint_requires_client_authentication(client, qbo_realms):
    code = authorize(client)["code"]
    response = token_request(
        client,
        {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT},
        auth=basic_auth(secret="wrong"),
    )
    assert response.status_code == 401 and response.json() == {"error": "invalid_client"}


def test_refresh_rotates_and_the_old_token_dies_once_the_new_one_is_used(client, qbo_realms):
    first = connect(client)
    r1 = first["refresh_token"]
    second = token_request(client, {"grant_type": "refresh_token", "refresh_token": r1}).json()
    r2 = second["refresh_token"]
    assert r2 != r1 and second["access_token"] != first["access_token"]
    # R1 still works until R2 is used (a lost response can be retried) ...
    retry = token_request(client, {"grant_type": "refresh_token", "refresh_token": r1})
    assert retry.status_code == 200
    r2 = retry.json()["refresh_token"]
    third = token_request(client, {"grant_type": "refresh_token", "refresh_token": r2})
    assert third.status_code == 200
    # ... and fails with the recorded invalid_grant body afterwards.
    dead = token_request(client, {"grant_type": "refresh_token", "refresh_token": r1})
    fixture = json.loads((FIXTURES / "oauth/invalid_grant_error_envelope_jsclient_test.json").read_text())
    assert dead.status_code == fixture["response"]["status"] == 400
    assert dead.json() == fixture["json"]
    assert dead["intuit_tid"]


def test_hard_expiry_is_echoed_when_asked(client, qbo_realms):
    body = connect(client)
    response = client.post(
        f"{BASE}/oauth2/tokens/bearer",
        {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]},
        HTTP_AUTHORIZATION=basic_auth(),
        HTTP_X_INCLUDE_REFRESH_TOKEN_HARD_EXPIRES_IN="true",
    )
    hard = response.json()["x_refresh_token_hard_expires_in"]
    assert 5 * 365 * 86400 - 60 < hard <= 5 * 365 * 86400


def test_access_token_expires_after_an_hour(client, qbo_realms):
    token = connect(client)["access_token"]
    url = f"{BASE}/v3/company/{US}/companyinfo/{US}"
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200
    controls.advance_clock(seconds=3601)
    expired = client.get(url, HTTP_AUTHORIZATION=f"Bearer {token}")
    assert expired.status_code == 401
    assert expired.json()["fault"]["error"][0]["code"] == "3200"
    assert expired["WWW-Authenticate"] == 'Bearer realm="Intuit", error="invalid_token"'


def test_revoke_disconnects_tokens_and_refresh(client, qbo_realms):
    body = connect(client)
    response = client.post(
        f"{BASE}/oauth2/tokens/revoke",
        json.dumps({"token": body["refresh_token"]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=basic_auth(),
    )
    assert response.status_code == 200
    url = f"{BASE}/v3/company/{US}/preferences"
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {body['access_token']}").status_code == 401
    refresh = token_request(client, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]})
    assert refresh.json()["error"] == "invalid_grant"


def test_disconnect_in_quickbooks_control_kills_the_grant(client, qbo_realms):
    body = connect(client, UK)
    assert controls.disconnect(realm_id=UK) == 1
    refresh = token_request(client, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]})
    assert refresh.status_code == 400


def test_token_is_bound_to_its_realm(client, qbo_realms):
    token = connect(client, US)["access_token"]
    response = client.get(f"{BASE}/v3/company/{UK}/preferences", HTTP_AUTHORIZATION=f"Bearer {token}")
    # A valid token on another realm is an authorization failure, not an authentication one.
    assert response.status_code == 403
    assert response.json()["fault"]["error"][0]["code"] == "3100"


def test_discovery_document_has_the_fixture_keys_and_our_urls(client, qbo_realms):
    response = client.get(f"{BASE}/.well-known/openid_configuration")
    body = response.json()
    fixture = json.loads((FIXTURES / "oauth/discovery_sandbox_intuit_page.json").read_text())
    assert set(body) == set(fixture)
    assert body["authorization_endpoint"] == f"http://testserver{BASE}/oauth2/authorize"
    assert body["token_endpoint"] == f"http://testserver{BASE}/oauth2/tokens/bearer"
    assert body["revocation_endpoint"] == f"http://testserver{BASE}/oauth2/tokens/revoke"
    for key in ("response_types_supported", "scopes_supported", "token_endpoint_auth_methods_supported"):
        assert body[key] == fixture[key]


def test_token_endpoint_calls_are_counted_per_realm(client, qbo_realms):
    body = connect(client, UK)
    token_request(client, {"grant_type": "refresh_token", "refresh_token": body["refresh_token"]})
    assert controls.call_count(kind="token", realm_id=UK) == 2
