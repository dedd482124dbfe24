import base64
import json
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings

from integration.sandbox.quickbooks import seed

US = seed.US_REALM_ID
UK = seed.UK_REALM_ID
BASE = "/sandbox/quickbooks"
REDIRECT = "http://127.0.0.1:9/quickbooks/callback"


def basic_auth(client_id=None, secret=None) -> str:
    raw = f"{client_id or settings.QBO_CLIENT_ID}:{secret or settings.QBO_CLIENT_SECRET}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def authorize(client, realm_id=US, state="st-123") -> dict:
    """Press Connect on the consent page; the redirect's query parameters."""
    response = client.post(
        f"{BASE}/oauth2/authorize",
        {
            "client_id": settings.QBO_CLIENT_ID,
            "redirect_uri": REDIRECT,
            "state": state,
            "scope": "com.intuit.quickbooks.accounting",
            "response_type": "code",
            "realm_id": realm_id,
            "action": "connect",
        },
    )
    assert response.status_code == 302, response.content
    location = response["Location"]
    assert location.startswith(REDIRECT + "?")
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def token_request(client, data, auth=None):
    return client.post(
        f"{BASE}/oauth2/tokens/bearer",
        data,
        HTTP_AUTHORIZATION=auth or basic_auth(),
        HTTP_ACCEPT="application/json",
    )


def connect(client, realm_id=US) -> dict:
    params = authorize(client, realm_id)
    response = token_request(
        client, {"grant_type": "authorization_code", "code": params["code"], "redirect_uri": REDIRECT}
    )
    assert response.status_code == 200, response.content
    return response.json()


class Api:
    """Calls /v3/company/{realm}/... with a bearer token through the Django test client."""

    def __init__(self, client, realm_id, token):
        self.client, self.realm_id, self.token = client, realm_id, token

    def url(self, path):
        return f"{BASE}/v3/company/{self.realm_id}/{path}"

    def get(self, path, **params):
        params.setdefault("minorversion", "75")
        return self.client.get(
            self.url(path), params, HTTP_AUTHORIZATION=f"Bearer {self.token}", HTTP_ACCEPT="application/json"
        )

    def post(self, path, body=None, *, raw=None, content_type="application/json", **params):
        params.setdefault("minorversion", "75")
        query = "&".join(f"{k}={v}" for k, v in params.items())
        data = raw if raw is not None else json.dumps(body or {})
        return self.client.generic(
            "POST",
            f"{self.url(path)}?{query}",
            data,
            content_type=content_type,
            HTTP_AUTHORIZATION=f"Bearer {self.token}",
            HTTP_ACCEPT="application/json",
        )

    def query(self, text):
        return self.get("query", query=text)


@pytest.fixture
def qbo_realms(db):
    return seed.seed()


@pytest.fixture
def us_api(client, qbo_realms):
    return Api(client, US, connect(client, US)["access_token"])


@pytest.fixture
def uk_api(client, qbo_realms):
    return Api(client, UK, connect(client, UK)["access_token"])
