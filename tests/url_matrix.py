"""The cross-company access matrix: one entry for every URL pattern of the project.

`tests/test_url_isolation.py` lists every pattern from the resolver and fails when one is
neither here as a cross-company case nor exempt with a reason. Add your new URL here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.urls import reverse

from tests.personas import Personas


def company_a_identifiers(p: Personas) -> list[str]:
    return [p.company_a.name, p.alice.email, p.bob.email, p.company_a.domain]


@dataclass(frozen=True)
class Case:
    """Charlie (company B) asks for something of company A: expect `status` and no A data."""

    url: Callable[[Personas], str]
    method: str = "get"
    status: int = 404
    actor: str = "charlie"
    client: str = "api"  # "api" (DRF APIClient) or "web" (Django test client)
    data: dict = field(default_factory=dict)
    leaks: Callable[[Personas], list[str]] = company_a_identifiers


# route (as the resolver spells it) -> cases proving company B cannot reach company A's data
CASES: dict[str, list[Case]] = {
    "api/v1/company": [
        Case(url=lambda p: reverse("api:api-company"), status=200),
        # Charlie is an admin of B: his PATCH changes B only, whatever ids he sends.
        Case(
            url=lambda p: reverse("api:api-company"),
            method="patch",
            status=200,
            data={"invoice_visibility": "team", "company": 1, "company_id": 1},
        ),
    ],
    "api/v1/members": [Case(url=lambda p: reverse("api:api-member-list"), status=200)],
    "api/v1/members/<int:membership_id>": [
        Case(url=lambda p: reverse("api:api-member-detail", args=[p.bob_membership.pk])),
        Case(url=lambda p: reverse("api:api-member-detail", args=[p.alice_membership.pk])),
    ],
    "settings/": [Case(url=lambda p: reverse("tenants:settings"), status=200, client="web")],
}

# route or route prefix (ending in "/" or "*") -> why no cross-company case is needed
EXEMPT: dict[str, str] = {
    "": "public landing page, no tenant data",
    "healthz": "process probe, no tenant data",
    "readyz": "readiness probe, no tenant data",
    "api/schema/": "OpenAPI schema, no tenant data",
    "api/docs/": "API docs page, no tenant data",
    "admin/*": "staff only, behind MFA: tests/test_admin.py proves everyone else is refused",
    "accounts/*": "allauth sign-in pages act on the signed-in user only",
    "static/*": "static files",
    "sandbox/*": "simulated third parties with their own demo data; no tenant data of ours",
}
