"""The oauth.pipedrive.com stand-in: consent, code exchange, refresh, revoke, bad input."""

import base64
from datetime import timedelta
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import requests
import time_machine
from django.conf import settings
from django.utils import timezone

from integration.sandbox.pipedrive.models import SandboxAccessToken, SandboxAuthCode, SandboxGrant
from tests.sandbox.pipedrive.conftest import ACME_API, PREFIX

CALLBACK = "http://127.0.0.1:8000/pipedrive/callback"


def basic(client_id=None, secret=None) -> str:
    raw = f"{client_id or settings.PIPEDRIVE_CLIENT_ID}:{secret or settings.PIPEDRIVE_CLIENT_SECRET}"
    return "Basic " + base64.b64encode(raw.encode()).decode()


def consent(client, *, user_id=11, decision="allow", state="s-123", redirect_uri=None):
    redirect_uri = redirect_uri or f"{settings.PUBLIC_BASE_URL}/pipedrive/callback"
    data = {"client_id": settings.PIPEDRIVE_CLIENT_ID, "redirect_uri": redirect_uri, "user_id": user_id}
    if state is not None:
        data["state"] = state
    return client.post(f"{PREFIX}/oauth/authorize", {**data, "decision": decision})


def code_from(response) -> str:
    assert response.status_code == 302
    query = parse_qs(urlsplit(response["Location"]).query)
    return query["code"][0]


def exchange(client, code, *, redirect_uri=None, auth=None):
    return form(
        client,
        f"{PREFIX}/oauth/token",
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_uri or f"{settings.PUBLIC_BASE_URL}/pipedrive/callback",
        },
        HTTP_AUTHORIZATION=auth or basic(),
    )


def form(client, path, data, **extra):
    return client.post(path, urlencode(data), content_type="application/x-www-form-urlencoded", **extra)


def test_consent_page_lists_scopes_and_users(client, pd_seed):
    response = client.get(
        f"{PREFIX}/oauth/authorize",
        {"client_id": settings.PIPEDRIVE_CLIENT_ID, "redirect_uri": f"{settings.PUBLIC_BASE_URL}/pipedrive/callback"},
    )
    body = response.content.decode()
    assert response.status_code == 200
    for scope in ("base", "deals:full", "contacts:read", "products:read"):
        assert f"<code>{scope}</code>" in body
    assert "alice@acme.test" in body and "charlie@borealis.test" in body
    assert 'name="decision" value="deny"' in body and 'name="decision" value="allow"' in body


def test_authorize_rejects_unknown_client_and_foreign_redirect(client, pd_seed):
    bad_client = client.get(f"{PREFIX}/oauth/authorize", {"client_id": "nope", "redirect_uri": CALLBACK})
    bad_redirect = client.get(
        f"{PREFIX}/oauth/authorize",
        {"client_id": settings.PIPEDRIVE_CLIENT_ID, "redirect_uri": "https://evil.test/pipedrive/callback"},
    )
    assert bad_client.status_code == 400
    assert bad_redirect.status_code == 400
    assert "redirect_uri is invalid" in bad_redirect.content.decode()
    assert SandboxAuthCode.objects.count() == 0


def test_allow_redirects_with_code_and_state_and_deny_with_user_denied(client, pd_seed):
    allowed = consent(client, state="xyz")
    query = parse_qs(urlsplit(allowed["Location"]).query)
    assert allowed["Location"].startswith(f"{settings.PUBLIC_BASE_URL}/pipedrive/callback?")
    assert query["state"] == ["xyz"] and len(query["code"][0]) > 20

    denied = consent(client, decision="deny", state="xyz")
    assert parse_qs(urlsplit(denied["Location"]).query) == {"error": ["user_denied"], "state": ["xyz"]}

    no_state = consent(client, state=None)
    assert "state" not in parse_qs(urlsplit(no_state["Location"]).query)


def test_code_exchange_returns_token_response_shape(client, pd_seed):
    response = exchange(client, code_from(consent(client, user_id=12)))
    body = response.json()
    assert response.status_code == 200
    assert set(body) == {"access_token", "token_type", "expires_in", "refresh_token", "scope", "api_domain"}
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3599
    assert body["access_token"].startswith("v1u:")
    assert body["api_domain"] == f"{settings.PUBLIC_BASE_URL}/sandbox/pipedrive/api/acme-demo"
    assert "deals:full" in body["scope"].split(",")
    me = client.get(f"{ACME_API}/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {body['access_token']}").json()["data"]
    assert (me["id"], me["company_id"], me["email"]) == (12, 1001, "bob@acme.test")


def test_code_is_single_use(client, pd_seed):
    code = code_from(consent(client))
    assert exchange(client, code).status_code == 200
    replay = exchange(client, code)
    assert replay.status_code == 400
    assert replay.json() == {
        "error": "invalid_grant",
        "error_description": "Invalid grant: authorization_code is invalid",
    }
    assert SandboxGrant.objects.count() == 1


def test_code_expires_after_five_minutes(client, pd_seed):
    code = code_from(consent(client))
    with time_machine.travel(timezone.now() + timedelta(minutes=5, seconds=1)):
        response = exchange(client, code)
    assert response.status_code == 400
    assert response.json()["error_description"] == "Invalid grant: authorization_code has expired"


def test_code_bound_to_redirect_uri_and_client_credentials(client, pd_seed):
    code = code_from(consent(client))
    wrong_secret = exchange(client, code, auth=basic(secret="wrong"))
    assert wrong_secret.status_code == 400
    assert wrong_secret.json()["error"] == "invalid_client"
    wrong_uri = exchange(client, code, redirect_uri="http://127.0.0.1:8000/other")
    assert wrong_uri.json()["error_description"] == "Invalid request: redirect_uri is invalid"
    # Neither failure burned the code.
    assert exchange(client, code).status_code == 200


def test_token_endpoint_bad_requests(client, pd_seed):
    path = f"{PREFIX}/oauth/token"
    json_body = client.post(
        path, {"grant_type": "refresh_token"}, content_type="application/json", HTTP_AUTHORIZATION=basic()
    )
    assert json_body.json()["error_description"] == "Invalid request: content must be application/x-www-form-urlencoded"
    no_grant = form(client, path, {"code": "x"}, HTTP_AUTHORIZATION=basic())
    assert no_grant.json()["error_description"] == "Missing parameter: grant_type"
    unsupported = form(client, path, {"grant_type": "password"}, HTTP_AUTHORIZATION=basic())
    assert unsupported.json()["error_description"] == "Unsupported grant type"
    no_client = form(client, path, {"grant_type": "refresh_token", "refresh_token": "x"})
    assert no_client.json()["error_description"] == "Invalid client: cannot retrieve client credentials"


def test_access_token_expires_after_an_hour_and_refresh_keeps_refresh_token(client, pd_seed):
    first = exchange(client, code_from(consent(client))).json()
    with time_machine.travel(timezone.now() + timedelta(minutes=61)):
        expired = client.get(f"{ACME_API}/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {first['access_token']}")
        assert expired.status_code == 401
        assert expired.json() == {"success": False, "error": "unauthorized access", "errorCode": 401}
        refreshed = form(
            client,
            f"{PREFIX}/oauth/token",
            {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]},
            HTTP_AUTHORIZATION=basic(),
        ).json()
        assert refreshed["refresh_token"] == first["refresh_token"]
        assert refreshed["access_token"] != first["access_token"]
        ok = client.get(f"{ACME_API}/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {refreshed['access_token']}")
        assert ok.status_code == 200


def test_refresh_token_dies_after_sixty_idle_days(client, pd_seed):
    tokens = exchange(client, code_from(consent(client))).json()
    with time_machine.travel(timezone.now() + timedelta(days=61)):
        response = form(
            client,
            f"{PREFIX}/oauth/token",
            {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
            HTTP_AUTHORIZATION=basic(),
        )
    assert response.status_code == 400
    assert response.json()["error_description"] == "Invalid grant: refresh_token is invalid"


def test_revoke_refresh_token_kills_grant_and_unknown_token_is_ok(client, pd_seed):
    tokens = exchange(client, code_from(consent(client))).json()
    path = f"{PREFIX}/oauth/revoke"
    assert form(client, path, {"token": "unknown"}, HTTP_AUTHORIZATION=basic()).status_code == 200
    response = form(
        client, path, {"token": tokens["refresh_token"], "token_type_hint": "refresh_token"}, HTTP_AUTHORIZATION=basic()
    )
    assert response.status_code == 200
    assert (
        client.get(f"{ACME_API}/v1/users/me", HTTP_AUTHORIZATION=f"Bearer {tokens['access_token']}").status_code == 401
    )
    refresh = form(
        client,
        f"{PREFIX}/oauth/token",
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        HTTP_AUTHORIZATION=basic(),
    )
    assert refresh.status_code == 400
    assert form(client, path, {"token": "x"}, HTTP_AUTHORIZATION=basic(secret="bad")).status_code == 400


def test_revoke_access_token_only_revokes_that_token(client, pd_seed):
    tokens = exchange(client, code_from(consent(client))).json()
    form(
        client,
        f"{PREFIX}/oauth/revoke",
        {"token": tokens["access_token"], "token_type_hint": "access_token"},
        HTTP_AUTHORIZATION=basic(),
    )
    assert SandboxAccessToken.objects.get(token=tokens["access_token"]).revoked_at is not None
    refreshed = form(
        client,
        f"{PREFIX}/oauth/token",
        {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
        HTTP_AUTHORIZATION=basic(),
    )
    assert refreshed.status_code == 200


def test_install_button_starts_authorize_without_state(client, pd_seed):
    response = client.get(f"{PREFIX}/install")
    target = urlsplit(response["Location"])
    query = parse_qs(target.query)
    assert target.path == f"{PREFIX}/oauth/authorize"
    assert query == {
        "client_id": [settings.PIPEDRIVE_CLIENT_ID],
        "redirect_uri": [f"{settings.PUBLIC_BASE_URL}/pipedrive/callback"],
    }


@pytest.mark.django_db(transaction=True)
def test_full_flow_over_real_http(sandbox_base_url):
    """What the product's client does: consent in a browser-like session, then token exchange over HTTP."""
    from integration.sandbox.pipedrive.seed import seed

    seed()
    session = requests.Session()
    callback = f"{sandbox_base_url}/pipedrive/callback"
    page = session.get(
        f"{settings.PIPEDRIVE_OAUTH_BASE_URL}/authorize",
        params={"client_id": settings.PIPEDRIVE_CLIENT_ID, "redirect_uri": callback, "state": "abc"},
        timeout=10,
    )
    assert page.status_code == 200
    consent_response = session.post(
        f"{settings.PIPEDRIVE_OAUTH_BASE_URL}/authorize",
        data={
            "csrfmiddlewaretoken": session.cookies["csrftoken"],
            "client_id": settings.PIPEDRIVE_CLIENT_ID,
            "redirect_uri": callback,
            "state": "abc",
            "user_id": "11",
            "decision": "allow",
        },
        headers={"Referer": page.url},
        allow_redirects=False,
        timeout=10,
    )
    query = parse_qs(urlsplit(consent_response.headers["Location"]).query)
    assert query["state"] == ["abc"]
    tokens = requests.post(
        f"{settings.PIPEDRIVE_OAUTH_BASE_URL}/token",
        data={"grant_type": "authorization_code", "code": query["code"][0], "redirect_uri": callback},
        auth=(settings.PIPEDRIVE_CLIENT_ID, settings.PIPEDRIVE_CLIENT_SECRET),
        timeout=10,
    ).json()
    assert tokens["api_domain"] == f"{sandbox_base_url}/sandbox/pipedrive/api/acme-demo"
    me = requests.get(
        f"{tokens['api_domain']}/api/v1/users/me",
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
        timeout=10,
    )
    assert me.status_code == 200
    assert me.json()["data"]["company_name"] == "Acme Robotics (demo)"
    assert me.headers["x-ratelimit-limit"] == "160"
