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
    client: str = "api"  # "api" (DRF APIClient, session), "web" (Django test client), "panel" (Pipedrive JWT),
    # "basic" (Pipedrive's app-level Basic auth: the company is named by the linkId in the URL)
    data: dict = field(default_factory=dict)
    leaks: Callable[[Personas], list[str]] = company_a_identifiers
    own_status: int = 200  # what company A's admin gets from the same GET (proves the 404 is about the company)
    own_url: Callable[[Personas], str] | None = None  # A's own URL for that check, when the URL names the company


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
    # Sets the signed-in member's own seat's language only (no ids in the URL).
    "settings/language": [
        Case(
            url=lambda p: reverse("tenants:language"),
            method="post",
            status=302,
            client="web",
            data={"language": "de"},
        )
    ],
    # Money loop: reads the signed-in member's own company only (no ids in the URL); Charlie sees B's
    # deals, never A's.
    "money-loop/won-not-invoiced": [
        Case(url=lambda p: reverse("invoices:won-not-invoiced"), status=200, client="web", own_status=200)
    ],
    # Acts on the signed-in member's own company only (no ids in the URL); Charlie's POST changes B's
    # setting, never A's (tests/invoices/test_deal_figures.py).
    "settings/money-loop": [
        Case(url=lambda p: reverse("invoices:money-loop-settings"), status=200, client="web"),
        Case(
            url=lambda p: reverse("invoices:money-loop-settings"),
            method="post",
            status=302,
            client="web",
            data={"deal_figures": "off"},
        ),
    ],
    # Pipedrive install/uninstall callback: no ids of ours in the URL. Charlie (B) can neither replay a
    # state he does not hold nor uninstall A with his session; tests/integration/pipedrive/ covers B's
    # tokens and panel JWTs against A over HTTP.
    "pipedrive/callback": [
        Case(url=lambda p: reverse("pipedrive:callback"), status=400, client="web"),
        Case(url=lambda p: f"{reverse('pipedrive:callback')}?code=stolen&state=alices-state", status=400, client="web"),
        Case(
            url=lambda p: reverse("pipedrive:callback"),
            method="delete",
            status=401,
            data={"company_id": 1001, "user_id": 11},  # company A's Pipedrive ids (tests/personas.py)
        ),
    ],
    "pipedrive/install": [Case(url=lambda p: reverse("pipedrive:install"), status=302, client="web")],
    # Nothing of A's is named: only the confirming browser's own session holds the pending sign-in.
    "pipedrive/install/confirm": [
        Case(url=lambda p: reverse("pipedrive:install-confirm"), method="post", status=400, client="web")
    ],
    # QuickBooks connect/callback/disconnect/link act only on the signed-in member's own company;
    # tests/integration/quickbooks/test_cross_company.py proves A's connection and state are untouched.
    "quickbooks/connect": [Case(url=lambda p: reverse("quickbooks:connect"), method="post", status=302, client="web")],
    "quickbooks/callback": [
        Case(url=lambda p: reverse("quickbooks:callback"), status=302, client="web"),
        Case(
            url=lambda p: f"{reverse('quickbooks:callback')}?code=stolen&realmId=9130350000000001&state=alices",
            status=302,
            client="web",
        ),
    ],
    "quickbooks/disconnect": [
        Case(url=lambda p: reverse("quickbooks:disconnect"), method="post", status=302, client="web")
    ],
    # The panel API (Pipedrive JWT): Charlie's token names company B, so A's invoices are 404 and
    # deal-level lists only ever show B's own invoices.
    "api/v1/deals/<int:deal_id>/invoices": [
        Case(url=lambda p: reverse("api:deal-invoices", args=[p.deal_a]), status=200, client="panel"),
        Case(
            url=lambda p: reverse("api:deal-invoices", args=[p.deal_a]),
            method="post",
            status=400,
            client="panel",
            data={"draft": {"customer": {"qbo_customer_id": "3"}}, "idempotency_key": "not-a-uuid"},
        ),
    ],
    "api/v1/deals/<int:deal_id>/draft": [
        Case(url=lambda p: reverse("api:deal-draft", args=[p.deal_a]), status=409, client="panel"),
    ],
    "api/v1/deals/<int:deal_id>/preflight": [
        Case(
            url=lambda p: reverse("api:deal-preflight", args=[p.deal_a]),
            method="post",
            status=400,
            client="panel",
            data={"draft": "nope"},
        ),
    ],
    "api/v1/deals/<int:deal_id>/refresh": [
        Case(url=lambda p: reverse("api:deal-refresh", args=[p.deal_a]), method="post", status=200, client="panel"),
    ],
    "api/v1/invoices/<int:invoice_id>": [
        Case(url=lambda p: reverse("api:invoice-detail", args=[p.invoice_a.pk]), client="panel"),
    ],
    "api/v1/invoices/<int:invoice_id>/pdf": [
        # Alice gets past tenancy to QuickBooks, which is not running in this test: 503.
        Case(url=lambda p: reverse("api:invoice-pdf", args=[p.invoice_a.pk]), client="panel", own_status=503),
    ],
    "api/v1/invoices/<int:invoice_id>/deals/<int:deal_id>": [
        Case(url=lambda p: reverse("api:invoice-deal", args=[p.invoice_a.pk, p.deal_b]), method="put", client="panel"),
        Case(
            url=lambda p: reverse("api:invoice-deal", args=[p.invoice_a.pk, p.deal_a]), method="delete", client="panel"
        ),
    ],
    "api/v1/invoices/<int:invoice_id>/<str:action>": [
        Case(
            url=lambda p, action=action: reverse("api:invoice-action", args=[p.invoice_a.pk, action]),
            method="post",
            client="panel",
        )
        for action in ("void", "delete", "send")
    ],
    # The panel's "…" menu: no id in the URL, the connection is the caller's company's. Charlie (admin
    # of B) disconnects B's own; nothing of A is named or touched.
    "api/v1/connection/disconnect": [
        Case(url=lambda p: reverse("api:connection-disconnect"), method="post", status=200, client="panel"),
    ],
    # Instalments are read from the caller's own Pipedrive company with their own access, and the
    # invoices looked up are the caller's company's (keys derived from its own Pipedrive company).
    "api/v1/deals/<int:deal_id>/installments": [
        Case(
            url=lambda p: reverse("api:deal-installments", args=[p.deal_a]), status=409, client="panel", own_status=409
        ),
    ],
    "api/v1/deals/<int:deal_id>/installments/<int:installment_id>/invoice": [
        Case(
            url=lambda p: reverse("api:installment-invoice", args=[p.deal_a, 1001]),
            method="post",
            status=409,
            client="panel",
            data={"draft": {}},
        ),
    ],
    # Reads the caller's own company (no ids in the URL): Charlie gets B's report, never A's deals.
    "api/v1/won-not-invoiced": [
        Case(url=lambda p: reverse("api:won-not-invoiced-api"), status=409, client="panel", own_status=409),
    ],
    "api/v1/contact-invoices": [
        Case(url=lambda p: f"{reverse('api:contact-invoices')}?deal_id={p.deal_a}", status=404, client="panel"),
    ],
    "api/v1/products/<int:product_id>/item": [
        Case(
            url=lambda p: reverse("api:product-item", args=[4242]),
            method="put",
            # Charlie's own company's QuickBooks is asked for the item's name; it is not running here.
            status=503,
            client="panel",
            data={"qbo_item_id": "2"},
        ),
    ],
    "api/v1/quickbooks/customers": [
        Case(url=lambda p: reverse("api:qbo-customers"), status=503, client="panel"),
    ],
    "api/v1/quickbooks/items": [
        Case(url=lambda p: reverse("api:qbo-items"), status=503, client="panel"),
    ],
    "quickbooks/link": [Case(url=lambda p: reverse("quickbooks:link"), method="post", status=302, client="web")],
    # The panel iframes: the tenant comes from the token only. Charlie's token on A's deal id gives
    # him his own (empty) panel shell; A's data is only ever served by the panel API (cases above).
    "panel/deal": [
        Case(url=lambda p: _panel_page("panel:deal", p, "charlie", p.deal_a), status=200, client="web"),
        Case(
            url=lambda p: _panel_page("panel:deal", p, "charlie", p.deal_a, company_id=1001), status=401, client="web"
        ),
    ],
    "panel/invoice-modal": [
        Case(url=lambda p: _panel_page("panel:invoice-modal", p, "charlie", p.deal_a), status=200, client="web"),
        Case(
            url=lambda p: _panel_page("panel:invoice-modal", p, "charlie", p.deal_a, company_id=1001),
            status=401,
            client="web",
        ),
    ],
}


def _panel_page(name: str, p: Personas, actor: str, deal_id: int, company_id: int | None = None) -> str:
    """A panel iframe URL as Pipedrive builds it for `actor`; `company_id` forges the query parameter."""
    from urllib.parse import urlencode

    from tests.personas import panel_token

    membership = getattr(p, f"{actor}_membership")
    own = membership.company.pipedrive_company_id
    query = {
        "id": "matrix",
        "userId": membership.pipedrive_user_id,
        "companyId": company_id or own,
        "resource": "deal",
        "view": "details",
        "selectedIds": deal_id,
        "token": panel_token(company_id=own, user_id=membership.pipedrive_user_id),
    }
    return f"{reverse(name)}?{urlencode(query)}"


def _ext(p: Personas, path: str, *, company: str = "b") -> str:
    """A reverse-API URL of company `company`'s link; `{a_invoice}` is company A's invoice id."""
    link = getattr(p, f"connection_{company}").link_id
    return f"/ext/invoicing/{path.format(link=link, a_invoice=p.invoice_a.pk)}"


def _ext_case(path: str, **kwargs) -> Case:
    """Pipedrive calls B's link (Basic auth is app-level, so the URL's linkId names the company);
    the same path on A's link is the "own" check."""
    return Case(url=lambda p: _ext(p, path), client="basic", own_url=lambda p: _ext(p, path, company="a"), **kwargs)


# The invoicing extension's reverse API: "B's linkId with A's invoice id" is 404 in the envelope; B's
# lists hold only B's invoices; reads of QuickBooks data go to B's own realm (503 here: no QBO runs).
CASES.update(
    {
        "ext/invoicing/manifest.json": [Case(url=lambda p: "/ext/invoicing/manifest.json", client="basic", status=200)],
        "ext/invoicing/users/<str:link_id>/auth": [_ext_case("users/{link}/auth", status=200)],
        "ext/invoicing/<str:link_id>": [
            _ext_case("{link}", status=200),
            # B's link named with A's Pipedrive company id is an unknown link.
            _ext_case("{link}?companyId=1001", status=404),
        ],
        "ext/invoicing/<str:link_id>/invoices": [
            _ext_case("{link}/invoices?ids={a_invoice}", status=200),
            _ext_case("{link}/invoices?customerId=3", status=200),
            _ext_case("{link}/invoices", method="post", status=400, data={"contactId": "3", "lineItems": []}),
        ],
        "ext/invoicing/<str:link_id>/invoices/<str:invoice_id>/action": [
            _ext_case("{link}/invoices/{a_invoice}/action", method="post", data={"id": "VOIDED"}),
        ],
        "ext/invoicing/<str:link_id>/invoices/<str:invoice_id>/email": [
            _ext_case("{link}/invoices/{a_invoice}/email", method="post"),
        ],
        "ext/invoicing/<str:link_id>/invoices/<str:invoice_id>/share": [
            _ext_case("{link}/invoices/{a_invoice}/share", own_status=503),
        ],
        "ext/invoicing/<str:link_id>/invoices/<str:invoice_id>/download": [
            _ext_case("{link}/invoices/{a_invoice}/download", own_status=503),
        ],
        "ext/invoicing/<str:link_id>/report/invoice-summary": [
            _ext_case("{link}/report/invoice-summary?contactId=3", status=200),
        ],
        "ext/invoicing/<str:link_id>/currencies": [_ext_case("{link}/currencies", status=200)],
        "ext/invoicing/<str:link_id>/tax-rates": [_ext_case("{link}/tax-rates", status=503)],
        "ext/invoicing/<str:link_id>/invoice-accounts": [_ext_case("{link}/invoice-accounts", status=503)],
        "ext/invoicing/<str:link_id>/invoice-templates": [_ext_case("{link}/invoice-templates", status=200)],
        "ext/invoicing/<str:link_id>/products": [
            _ext_case("{link}/products?name=a", status=503),
            _ext_case("{link}/products", method="post", status=400, data={"name": ""}),
        ],
        "ext/invoicing/<str:link_id>/products/<str:product_id>": [
            _ext_case("{link}/products/2", status=503),
            _ext_case("{link}/products/2", method="put", status=503, data={"name": "Renamed"}),
        ],
        "ext/invoicing/<str:link_id>/contacts": [
            _ext_case("{link}/contacts?name=a", status=503),
            _ext_case("{link}/contacts", method="post", status=400, data={"displayName": ""}),
        ],
        "ext/invoicing/<str:link_id>/contacts/<str:contact_id>": [
            _ext_case("{link}/contacts/3", status=503),
            _ext_case("{link}/contacts/3", method="put", status=503, data={"email": "x@borealis.test"}),
        ],
    }
)

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
    "webhooks/quickbooks": "machine endpoint, HMAC-signed by Intuit: tests/invoices/test_sync.py proves a realm's "
    "changes only reach the company connected to that realm",
    "webhooks/pipedrive": "machine endpoint, HTTP Basic credentials per company: tests/invoices/test_won.py proves "
    "one company's credentials never act on another company's deals",
    "sandbox/*": "simulated third parties with their own demo data; no tenant data of ours",
}
