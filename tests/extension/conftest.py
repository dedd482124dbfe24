from __future__ import annotations

import base64

import pytest
from django.conf import settings
from django.test import Client

# The QuickBooks connection fixtures (a seeded sandbox over HTTP, a connected company A).
from tests.integration.quickbooks.conftest import connected, link_calls, qbo  # noqa: F401


def basic(user: str | None = None, secret: str | None = None) -> str:
    user = settings.PIPEDRIVE_CLIENT_ID if user is None else user
    secret = settings.PIPEDRIVE_CLIENT_SECRET if secret is None else secret
    return "Basic " + base64.b64encode(f"{user}:{secret}".encode()).decode()


class Pipedrive:
    """Pipedrive's backend calling the reverse API: Basic auth with the app's credentials."""

    def __init__(self, link_id, *, authorization: str | None = None, user_id: int | None = None):
        self.link_id = str(link_id)
        self.client = Client(HTTP_AUTHORIZATION=authorization or basic())
        self.user_id = user_id

    def url(self, path: str, **params) -> str:
        from urllib.parse import urlencode

        if self.user_id is not None:
            params.setdefault("userId", self.user_id)
        query = urlencode({k: v for k, v in params.items() if v is not None})
        return f"/ext/invoicing/{path.replace(':linkId', self.link_id)}" + (f"?{query}" if query else "")

    def get(self, path: str, **params):
        return self.client.get(self.url(path, **params))

    def post(self, path: str, body=None, *, headers: dict | None = None, **params):
        return self.client.post(self.url(path, **params), body or {}, content_type="application/json", headers=headers)

    def put(self, path: str, body=None, **params):
        return self.client.put(self.url(path, **params), body or {}, content_type="application/json")


@pytest.fixture
def pipedrive(connected) -> Pipedrive:  # noqa: F811 (the fixture imported above)
    """Pipedrive calling company A's link (connected to the sandbox's US company), as Alice (11)."""
    return Pipedrive(connected.link_id, user_id=11)
