"""Every URL of the project is covered by a cross-company test or exempt with a reason."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.url_matrix import CASES, EXEMPT, Case


def all_routes() -> list[str]:
    def walk(patterns, prefix=""):
        for pattern in patterns:
            route = prefix + str(pattern.pattern)
            if isinstance(pattern, URLResolver):
                yield from walk(pattern.url_patterns, route)
            elif isinstance(pattern, URLPattern):
                yield route

    return sorted(set(walk(get_resolver().url_patterns)))


def is_exempt(route: str) -> bool:
    for key in EXEMPT:
        if key.endswith("*") and route.startswith(key[:-1]):
            return True
        if route == key:
            return True
    return False


def test_every_url_pattern_has_a_cross_company_case_or_an_exemption():
    missing = [route for route in all_routes() if route not in CASES and not is_exempt(route)]
    assert not missing, (
        "These URL patterns have no cross-company access test. Add them to tests/url_matrix.py:\n  "
        + "\n  ".join(missing)
    )


def test_matrix_has_no_stale_entries():
    routes = set(all_routes())
    stale = [route for route in CASES if route not in routes]
    assert not stale, f"tests/url_matrix.py names routes that no longer exist: {stale}"


def test_route_listing_finds_the_project_urls():
    routes = all_routes()
    assert "api/v1/members/<int:membership_id>" in routes
    assert any(route.startswith("admin/") for route in routes)


CASE_PARAMS = [
    pytest.param(route, case, id=f"{route}#{index}")
    for route, cases in CASES.items()
    for index, case in enumerate(cases)
]


def panel_client(personas, name: str):
    from rest_framework.test import APIClient

    from tests.personas import panel_token

    membership = getattr(personas, f"{name}_membership")
    client = APIClient()
    client.credentials(
        HTTP_AUTHORIZATION="Bearer "
        + panel_token(company_id=membership.company.pipedrive_company_id, user_id=membership.pipedrive_user_id)
    )
    return client


def basic_client():
    """Pipedrive's backend: HTTP Basic with the app's client id and secret (the URL names the company)."""
    import base64

    from django.conf import settings
    from django.test import Client

    pair = f"{settings.PIPEDRIVE_CLIENT_ID}:{settings.PIPEDRIVE_CLIENT_SECRET}".encode()
    return Client(HTTP_AUTHORIZATION="Basic " + base64.b64encode(pair).decode())


def client_for(kind: str, name: str, personas, api_as, web_as):
    if kind == "panel":
        return panel_client(personas, name)
    if kind == "basic":
        return basic_client()
    return api_as(name) if kind == "api" else web_as(name)


@pytest.mark.parametrize(("route", "case"), CASE_PARAMS)
def test_cross_company_access(route: str, case: Case, personas, api_as, web_as):
    from tests.personas import add_invoices

    add_invoices(personas)
    client = client_for(case.client, case.actor, personas, api_as, web_as)
    url = case.url(personas)
    kwargs = {"format": "json"} if case.client == "panel" else {}
    if case.client == "basic" and case.method != "get":
        kwargs = {"content_type": "application/json"}
    response = getattr(client, case.method)(url, data=case.data or None, **kwargs)
    assert response.status_code == case.status, response.content[:500]
    body = response.content.decode()
    for leak in case.leaks(personas):
        assert leak not in body, f"{route} leaked {leak!r} of company A to company B"
    # The same URL works for company A's own people, so the 404 is about the company.
    if case.status == 404 and case.method == "get":
        own = client_for(case.client, "alice", personas, api_as, web_as)
        own_url = case.own_url(personas) if case.own_url else url
        assert getattr(own, case.method)(own_url, data=case.data or None).status_code == case.own_status
