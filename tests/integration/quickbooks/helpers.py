"""Drive the connect flow through our views and the QBO sandbox's consent page, over real HTTP."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlsplit

import requests
from django.urls import reverse


def start_connect(client) -> str:
    """POST /quickbooks/connect as the signed-in test client; returns Intuit's (the sandbox's) consent URL."""
    response = client.post(reverse("quickbooks:connect"))
    assert response.status_code == 302, response.content[:300]
    return response["Location"]


def consent(authorize_url: str, *, realm_id: str, action: str = "connect") -> str:
    """Press Connect (or Cancel) on the sandbox consent page; returns the redirect back to us."""
    parts = urlsplit(authorize_url)
    form = dict(parse_qsl(parts.query))
    form.update({"realm_id": realm_id, "action": action})
    page = requests.get(authorize_url, timeout=10)
    assert page.status_code == 200, page.text[:300]
    answer = requests.post(f"{parts.scheme}://{parts.netloc}{parts.path}", data=form, allow_redirects=False, timeout=10)
    assert answer.status_code == 302, answer.text[:300]
    return answer.headers["Location"]


def finish(client, callback_url: str):
    """Follow Intuit's redirect back to our callback with the test client."""
    parts = urlsplit(callback_url)
    assert parts.path == reverse("quickbooks:callback")
    return client.get(f"{parts.path}?{parts.query}", follow=True)


def connect(client, *, realm_id: str):
    """The whole flow; returns the settings page the user lands on."""
    return finish(client, consent(start_connect(client), realm_id=realm_id))


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []
