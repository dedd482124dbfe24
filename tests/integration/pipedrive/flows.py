"""Drive the Pipedrive sandbox like a browser, over real HTTP on the live server."""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urljoin, urlsplit

import requests

CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')

ACME = 1001  # sandbox company "acme-demo": Alice (11, admin), Bob (12)
BOREALIS = 2002  # sandbox company "borealis-demo"


@dataclass
class Redirect:
    url: str

    @property
    def query(self) -> dict[str, str]:
        return {key: values[0] for key, values in parse_qs(urlsplit(self.url).query).items()}


def _location(response: requests.Response) -> str:
    assert response.status_code in (301, 302, 303), (response.status_code, response.text[:500])
    return urljoin(response.url, response.headers["Location"])


def consent(browser: requests.Session, authorize_url: str, *, user_id: int, decision: str = "allow") -> Redirect:
    """Open Pipedrive's consent page and allow (or deny) as `user_id`; returns the redirect to our callback."""
    page = browser.get(authorize_url)
    assert page.status_code == 200, page.text[:500]
    fields = {key: values[0] for key, values in parse_qs(urlsplit(authorize_url).query).items()}
    form = {
        "csrfmiddlewaretoken": CSRF.search(page.text).group(1),
        "client_id": fields["client_id"],
        "redirect_uri": fields["redirect_uri"],
        "user_id": str(user_id),
        "decision": decision,
    }
    if "state" in fields:
        form["state"] = fields["state"]
    answer = browser.post(authorize_url.split("?")[0], data=form, allow_redirects=False)
    return Redirect(_location(answer))


def start_on_our_site(browser: requests.Session, base: str) -> str:
    """Our "Install" button: returns Pipedrive's authorize URL (with our state)."""
    return _location(browser.get(f"{base}/pipedrive/install", allow_redirects=False))


def start_in_marketplace(browser: requests.Session, base: str) -> str:
    """The Marketplace's install button: Pipedrive's authorize URL without any state of ours."""
    return _location(browser.get(f"{base}/sandbox/pipedrive/install", allow_redirects=False))


def install(browser: requests.Session, base: str, *, user_id: int, via: str = "site") -> requests.Response:
    """A whole install; returns our callback's response (not followed)."""
    start = start_on_our_site if via == "site" else start_in_marketplace
    redirect = consent(browser, start(browser, base), user_id=user_id)
    return browser.get(redirect.url, allow_redirects=False)
