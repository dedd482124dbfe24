from __future__ import annotations

from dataclasses import dataclass

import pytest

from integration.quickbooks import services
from integration.quickbooks.models import QuickBooksConnection
from tests.integration.quickbooks import helpers


@dataclass
class Qbo:
    base_url: str
    us_realm: str
    uk_realm: str


@pytest.fixture
def qbo(sandbox_base_url) -> Qbo:
    """A freshly seeded QBO sandbox served over real HTTP (a US and a UK company)."""
    from integration.quickbooks.limiter import reset_all
    from integration.sandbox.quickbooks import controls, seed

    controls.reset()
    reset_all()  # the limiter's minute would otherwise carry calls over from earlier tests
    return Qbo(base_url=sandbox_base_url, us_realm=seed.US_REALM_ID, uk_realm=seed.UK_REALM_ID)


@pytest.fixture
def link_calls(monkeypatch) -> list[dict]:
    """Replace Pipedrive's invoicing-link registration (another helper's code) with a recorder."""
    import integration.pipedrive.services as pipedrive_services

    calls: list[dict] = []
    monkeypatch.setattr(
        pipedrive_services,
        "invoicing_link_register",
        lambda *, company, link_id, **_: calls.append({"company": company, "link_id": link_id}),
        raising=False,
    )
    return calls


@pytest.fixture
def connected(qbo, personas, web_as, link_calls) -> QuickBooksConnection:
    """Alice has connected company A to the sandbox's US company through the real flow."""
    page = helpers.connect(web_as("alice"), realm_id=qbo.us_realm)
    assert page.status_code == 200, helpers.messages_of(page)
    connection = QuickBooksConnection.all_companies.get(company=personas.company_a)
    assert connection.status == QuickBooksConnection.Status.ACTIVE
    return connection


@pytest.fixture
def client_of():
    return lambda connection: services.client_for(connection=connection)
