"""What leaves this process for an OAuth server, read from the prepared requests (issue 11).

The `wire` fixture (tests/integration/conftest.py) spies on `requests.Session.send` and still
sends every request (to the sandboxes, over HTTP), so tests can check that the token calls are
made by an `OAuth2Session` with our session's rules: HTTP Basic client credentials, a form body
without client secrets, our User-Agent and timeout, no urllib3 retries.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from urllib.parse import parse_qs

import requests
from django.conf import settings
from requests_oauthlib import OAuth2Session


@dataclass
class Sent:
    session: requests.Session
    request: requests.PreparedRequest
    timeout: object

    @property
    def form(self) -> dict[str, list[str]]:
        body = self.request.body or ""
        return parse_qs(body.decode() if isinstance(body, bytes) else body)


def basic(client_id: str, client_secret: str) -> str:
    return "Basic " + base64.b64encode(f"{client_id}:{client_secret}".encode()).decode()


def assert_a_library_token_call(call: Sent, *, client_id: str, client_secret: str, grant_type: str, timeout) -> None:
    assert isinstance(call.session, OAuth2Session)
    assert call.request.method == "POST"
    assert call.request.headers["Authorization"] == basic(client_id, client_secret)
    assert call.request.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert call.request.headers["User-Agent"] == settings.HTTP_USER_AGENT
    assert call.form["grant_type"] == [grant_type]
    # Client authentication is the Basic header only: nothing secret in the body.
    assert "client_secret" not in call.form and "client_id" not in call.form
    assert call.timeout == timeout
    # Our session factory's adapters: urllib3 never retries a token call on its own.
    assert call.session.get_adapter(call.request.url).max_retries.total == 0
