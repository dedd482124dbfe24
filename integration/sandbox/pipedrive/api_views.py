"""The per-company API host: `{api_domain}/api/v1/...` and `{api_domain}/api/v2/...` (reference §2).

Every endpoint goes through `pipedrive_api`: bearer check (401), scope check (403), burst and
daily budget (429 + x-ratelimit-* headers), then the handler; errors use Pipedrive's envelope.
Scopes and token costs are copied from the operation's `security` and `x-token-cost` in the spec.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from contextlib import nullcontext
from functools import wraps

from django.db import connection, transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from integration.sandbox.pipedrive import installments, selectors, services, webhooks, writes
from integration.sandbox.pipedrive.models import SandboxAccessToken, SandboxInvoiceProviderLink, SandboxNote
from integration.sandbox.pipedrive.services import ApiError, error_body

DEALS = ("deals:read", "deals:full")
CONTACTS = ("contacts:read", "contacts:full")
PRODUCTS = ("products:read", "products:full")

# A handler answers a body (200) or (status, body).
Handler = Callable[..., dict | tuple[int, dict]]
_SQLITE_LOCK = threading.Lock()


def _not_found() -> ApiError:
    # v2 404 envelope as in the spec's example (exact GET /deals/{id} body undocumented; reference §2.3).
    return ApiError(404, error_body("Entity was not found", error_info="Object was not found."))


def pipedrive_api(*, scopes: tuple[str, ...], cost: int, method: str = "GET") -> Callable[[Handler], Callable]:
    """Wrap a handler `(request, *, token, **url_kwargs) -> body` with Pipedrive's auth, scope and limits."""

    def decorate(handler: Handler) -> Callable:
        @transaction.non_atomic_requests
        @csrf_exempt
        @wraps(handler)
        def view(request: HttpRequest, domain: str, **kwargs) -> JsonResponse:
            # SQLite has one writer at a time and its shared in-memory test database fails instead
            # of waiting, so on SQLite this process runs one API request at a time, commit included.
            # PostgreSQL needs no such thing: the rate-limit rows are locked per token and company.
            serial = _SQLITE_LOCK if connection.vendor == "sqlite" else nullcontext()
            with serial, transaction.atomic():
                response = _handle(handler, request, domain, kwargs, scopes=scopes, cost=cost, method=method)
            # Webhooks the call caused go out after it, outside the lock (Pipedrive sends them async).
            webhooks.send_pending(company_domain=domain)
            return response

        return view

    return decorate


def _handle(
    handler: Handler,
    request: HttpRequest,
    domain: str,
    kwargs: dict,
    *,
    scopes: tuple[str, ...],
    cost: int,
    method: str,
) -> JsonResponse:
    headers: dict[str, str] = {}
    try:
        if request.method != method:
            raise ApiError(405, error_body("Method not allowed"))
        token = services.authenticate(authorization=request.headers.get("Authorization", ""), domain=domain)
        outage = token.grant.user.company.api_outage_status
        if outage:  # test control: the company's API is down (nothing is charged or written)
            raise ApiError(outage, error_body("Service temporarily unavailable"))
        services.check_scopes(token=token, allowed=scopes)
        headers = services.rate_limit_charge(token=token, cost=cost)
        status, body = 200, handler(request, token=token, **kwargs)
        if isinstance(body, tuple):
            status, body = body
    except ApiError as exc:
        # The error must not undo the rate-limit counters already committed above.
        status, body = exc.status, exc.body
        headers = {**headers, **exc.headers}
    response = JsonResponse(body, status=status)
    for name, value in headers.items():
        response[name] = value
    return response


def _company(token: SandboxAccessToken):
    return token.grant.user.company


# --- API v1 -----------------------------------------------------------------------------------


@pipedrive_api(scopes=("base",), cost=2)
def users_me(request: HttpRequest, *, token: SandboxAccessToken) -> dict:
    """GET /api/v1/users/me — examples/spec-v1-GET-users-me.json."""
    return {"success": True, "data": selectors.user_me(user=token.grant.user)}


@pipedrive_api(scopes=("base",), cost=20)
def currencies(request: HttpRequest, *, token: SandboxAccessToken) -> dict:
    """GET /api/v1/currencies (optional `term` filter)."""
    return {"success": True, "data": selectors.currencies(term=request.GET.get("term", ""))}


@pipedrive_api(scopes=(services.INVOICING_SCOPE,), cost=10, method="POST")
def invoice_provider(request: HttpRequest, *, token: SandboxAccessToken) -> tuple[int, dict]:
    """POST /api/v1/invoice/user/provider — register the invoicing link; answers the `redirectUrl`
    the app sends the user to (invoicing extension, BETA, not in the spec: reference §3.8)."""
    try:
        payload = json.loads(request.body or b"{}")
    except json.JSONDecodeError as exc:
        raise ApiError(400, error_body("Invalid JSON body")) from exc
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict) or not data.get("linkId") or not data.get("marketplaceClientId"):
        raise ApiError(400, error_body("data.linkId and data.marketplaceClientId are required"))
    company = _company(token)
    link = SandboxInvoiceProviderLink.objects.create(
        company=company,
        user=token.grant.user,
        link_id=str(data["linkId"]),
        org_id=str(data.get("orgId") or ""),
        marketplace_client_id=str(data["marketplaceClientId"]),
    )
    return 201, {"success": True, "data": {"redirectUrl": selectors.invoice_settings_url(link=link)}}


@pipedrive_api(scopes=("admin",), cost=10, method="POST")
def webhook_create(request: HttpRequest, *, token: SandboxAccessToken) -> tuple[int, dict]:
    """POST /api/v1/webhooks — addWebhook (see webhooks.py)."""
    return 201, webhooks.webhook_create(user=token.grant.user, request=request)


@pipedrive_api(scopes=("admin",), cost=20)
def webhook_list(request: HttpRequest, *, token: SandboxAccessToken) -> dict:
    """GET /api/v1/webhooks — only the app's own webhooks."""
    return webhooks.webhooks_list(user=token.grant.user)


@transaction.non_atomic_requests
@csrf_exempt
def webhooks_view(request: HttpRequest, domain: str):
    view = webhook_create if request.method == "POST" else webhook_list
    return view(request, domain)


# Notes: spec v1 `addNote` (content HTML required; one of deal_id/person_id/org_id/lead_id/project_id/
# task_id; scopes deals:full|contacts:full; x-token-cost 10; ~100 KB max, pipedrive-contract-facts §8).
# The sandbox attaches notes to deals only, the one parent this app uses.
NOTE_MAX_BYTES = 100_000
_NOTE_SANITIZE = re.compile(r"<\s*(script|style|iframe)[^>]*>.*?<\s*/\s*\1\s*>", re.IGNORECASE | re.DOTALL)


def _note_json(note: SandboxNote) -> dict:
    return {
        "id": note.pk,
        "active_flag": True,
        "add_time": note.add_time.strftime("%Y-%m-%d %H:%M:%S"),
        "update_time": note.add_time.strftime("%Y-%m-%d %H:%M:%S"),
        "content": note.content,
        "deal_id": note.deal_id,
        "user_id": note.user_id,
        "pinned_to_deal_flag": note.pinned_to_deal_flag,
        "lead_id": None,
        "org_id": None,
        "person_id": None,
    }


@transaction.non_atomic_requests
@csrf_exempt
def notes(request: HttpRequest, domain: str):
    """/api/v1/notes: GET lists, POST adds (one URL, two operations with their own scopes and costs)."""
    return (notes_add if request.method == "POST" else notes_list)(request, domain)


@pipedrive_api(scopes=(*DEALS, *CONTACTS), cost=20)
def notes_list(request: HttpRequest, *, token: SandboxAccessToken) -> dict:
    """GET /api/v1/notes?deal_id= — the deal's notes, newest first (`sort=add_time DESC` is the
    only sort the sandbox knows), offset paging with `start`/`limit` as in the v1 spec."""
    rows = SandboxNote.objects.filter(company=_company(token)).order_by("-add_time", "-id")
    deal_id = request.GET.get("deal_id")
    if deal_id:
        if not deal_id.isdigit():
            raise ApiError(400, error_body("deal_id must be an integer"))
        rows = rows.filter(deal_id=int(deal_id))
    try:
        start = int(request.GET.get("start") or 0)
        limit = min(int(request.GET.get("limit") or 100), 500)
    except ValueError as exc:
        raise ApiError(400, error_body("start and limit must be integers")) from exc
    page = list(rows[start : start + limit + 1])
    more = len(page) > limit
    return {
        "success": True,
        "data": [_note_json(note) for note in page[:limit]],
        "additional_data": {
            "pagination": {"start": start, "limit": limit, "more_items_in_collection": more}
            | ({"next_start": start + limit} if more else {})
        },
    }


@pipedrive_api(scopes=("deals:full", "contacts:full"), cost=10, method="POST")
def notes_add(request: HttpRequest, *, token: SandboxAccessToken) -> dict:
    """POST /api/v1/notes — adds a note to a deal."""
    try:
        payload = json.loads(request.body or b"{}")
    except json.JSONDecodeError as exc:
        raise ApiError(400, error_body("Invalid JSON body")) from exc
    if not isinstance(payload, dict):
        raise ApiError(400, error_body("Invalid JSON body"))
    content = payload.get("content")
    if not isinstance(content, str) or not content.strip():
        raise ApiError(400, error_body("Content is required"))
    if len(content.encode()) > NOTE_MAX_BYTES:
        raise ApiError(400, error_body("Content is too long"))
    parents = [
        key for key in ("deal_id", "person_id", "org_id", "lead_id", "project_id", "task_id") if payload.get(key)
    ]
    if not parents:
        raise ApiError(400, error_body("One of deal_id, lead_id, person_id, org_id, project_id or task_id is required"))
    deal_id = payload.get("deal_id")
    if parents != ["deal_id"] or isinstance(deal_id, bool) or not isinstance(deal_id, int):
        raise ApiError(400, error_body("The sandbox attaches notes to one deal: deal_id must be an integer"))
    company = _company(token)
    if selectors.record_get(company=company, kind="deal", object_id=deal_id) is None:
        raise ApiError(404, error_body("Deal not found"))
    pinned = payload.get("pinned_to_deal_flag", 0)
    if pinned not in (0, 1, True, False):
        raise ApiError(400, error_body("pinned_to_deal_flag must be 0 or 1"))
    note = SandboxNote.objects.create(
        company=company,
        user=token.grant.user,
        deal_id=deal_id,
        content=_NOTE_SANITIZE.sub("", content),
        pinned_to_deal_flag=bool(pinned),
    )
    return {"success": True, "data": _note_json(note)}


# --- API v2 -----------------------------------------------------------------------------------


def _paged(request: HttpRequest, items: list[dict]) -> dict:
    page, next_cursor = selectors.paginate(items, cursor=request.GET.get("cursor"), limit=request.GET.get("limit"))
    return {"success": True, "data": page, "additional_data": {"next_cursor": next_cursor}}


def _options(request: HttpRequest) -> selectors.CustomFieldOptions:
    return selectors.CustomFieldOptions.from_query(request.GET)


@pipedrive_api(scopes=DEALS, cost=10)
def deals(request: HttpRequest, *, token: SandboxAccessToken) -> dict:
    """GET /api/v2/deals — filters, sort and cursor paging as in the spec."""
    items = selectors.deals_list(company=_company(token), query=request.GET)
    return _paged(
        request, [selectors.present(item, company=_company(token), options=_options(request)) for item in items]
    )


@pipedrive_api(scopes=DEALS, cost=1)
def deal_detail(request: HttpRequest, *, token: SandboxAccessToken, deal_id: int) -> dict:
    """GET /api/v2/deals/{id}."""
    return _detail(request, token, "deal", deal_id)


@pipedrive_api(scopes=("deals:full",), cost=5, method="PATCH")
def deal_update(request: HttpRequest, *, token: SandboxAccessToken, deal_id: int) -> dict:
    """PATCH /api/v2/deals/{id} — custom_fields (validated against the field definitions), title, value, status."""
    company = _company(token)
    record = writes.deal_update(company=company, deal_id=deal_id, request=request, user_id=token.grant.user_id)
    return {"success": True, "data": selectors.present(record, company=company, options=_options(request))}


@transaction.non_atomic_requests
@csrf_exempt  # Pipedrive's API takes bearer tokens, never cookies
def deal_detail_or_update(request: HttpRequest, domain: str, deal_id: int):
    """One URL, two operations (getDeal, updateDeal)."""
    view = deal_update if request.method == "PATCH" else deal_detail
    return view(request, domain, deal_id=deal_id)


@pipedrive_api(scopes=(*PRODUCTS, *DEALS), cost=10)
def deal_products(request: HttpRequest, *, token: SandboxAccessToken, deal_id: int) -> dict:
    """GET /api/v2/deals/{id}/products."""
    company = _company(token)
    if selectors.record_get(company=company, kind="deal", object_id=deal_id) is None:
        raise _not_found()
    return _paged(request, selectors.deal_products(company=company, deal_id=deal_id, query=request.GET))


@pipedrive_api(scopes=(*PRODUCTS, *DEALS), cost=10)
def deals_products(request: HttpRequest, *, token: SandboxAccessToken) -> dict:
    """GET /api/v2/deals/products?deal_ids=1,2 (or repeated deal_ids): products of up to 100 deals."""
    raw = ",".join(request.GET.getlist("deal_ids"))
    deal_ids = selectors.int_list(raw, "deal_ids")
    if not deal_ids:
        raise ApiError(400, error_body("Parameter 'deal_ids' is required"))
    items = selectors.deals_products(company=_company(token), deal_ids=deal_ids, query=request.GET)
    return _paged(request, items)


# Deal installments (spec tag DealInstallments): every operation lists `deals:read` or `deals:full`,
# the writes included (as the spec says); costs from `x-token-cost`. Rules in installments.py.


@pipedrive_api(scopes=DEALS, cost=10)
def deals_installments(request: HttpRequest, *, token: SandboxAccessToken) -> dict:
    """GET /api/v2/deals/installments?deal_ids=1,2 (or repeated): installments of up to 100 deals."""
    company = _company(token)
    installments.check_plan(company)
    deal_ids = installments.deal_ids_of(request.GET)
    return _paged(request, installments.installments_list(company=company, deal_ids=deal_ids, query=request.GET))


@pipedrive_api(scopes=DEALS, cost=5, method="POST")
def deal_installment_add(request: HttpRequest, *, token: SandboxAccessToken, deal_id: int) -> dict:
    """POST /api/v2/deals/{id}/installments."""
    data = installments.installment_add(company=_company(token), deal_id=deal_id, request=request)
    return {"success": True, "data": data}


@pipedrive_api(scopes=DEALS, cost=5, method="PATCH")
def deal_installment_update(request: HttpRequest, *, token: SandboxAccessToken, deal_id: int, installment_id: int):
    """PATCH /api/v2/deals/{id}/installments/{installment_id}."""
    data = installments.installment_update(
        company=_company(token), deal_id=deal_id, installment_id=installment_id, request=request
    )
    return {"success": True, "data": data}


@pipedrive_api(scopes=DEALS, cost=3, method="DELETE")
def deal_installment_delete(request: HttpRequest, *, token: SandboxAccessToken, deal_id: int, installment_id: int):
    """DELETE /api/v2/deals/{id}/installments/{installment_id}."""
    data = installments.installment_delete(company=_company(token), deal_id=deal_id, installment_id=installment_id)
    return {"success": True, "data": data}


@transaction.non_atomic_requests
@csrf_exempt
def deal_installment(request: HttpRequest, domain: str, deal_id: int, installment_id: int):
    """One URL, two operations (updateInstallment, deleteInstallment)."""
    view = deal_installment_delete if request.method == "DELETE" else deal_installment_update
    return view(request, domain, deal_id=deal_id, installment_id=installment_id)


@pipedrive_api(scopes=CONTACTS, cost=1)
def person_detail(request: HttpRequest, *, token: SandboxAccessToken, person_id: int) -> dict:
    """GET /api/v2/persons/{id}."""
    return _detail(request, token, "person", person_id)


@pipedrive_api(scopes=CONTACTS, cost=1)
def organization_detail(request: HttpRequest, *, token: SandboxAccessToken, org_id: int) -> dict:
    """GET /api/v2/organizations/{id}."""
    return _detail(request, token, "organization", org_id)


@pipedrive_api(scopes=PRODUCTS, cost=10)
def products(request: HttpRequest, *, token: SandboxAccessToken) -> dict:
    """GET /api/v2/products."""
    company = _company(token)
    items = selectors.products_list(company=company, query=request.GET)
    return _paged(request, [selectors.present(item, company=company, options=_options(request)) for item in items])


@pipedrive_api(scopes=PRODUCTS, cost=1)
def product_detail(request: HttpRequest, *, token: SandboxAccessToken, product_id: int) -> dict:
    """GET /api/v2/products/{id}."""
    return _detail(request, token, "product", product_id)


@pipedrive_api(scopes=(*PRODUCTS, "search:read"), cost=20)
def products_search(request: HttpRequest, *, token: SandboxAccessToken) -> dict:
    """GET /api/v2/products/search — `term` (≥2 chars, or 1 with exact_match) over name and code."""
    term = request.GET.get("term", "").strip()
    exact = request.GET.get("exact_match") == "true"
    if len(term) < (1 if exact else 2):
        raise ApiError(400, error_body("Search term must be at least 2 characters long"))
    items = selectors.products_search(company=_company(token), term=term, exact=exact, fields=request.GET.get("fields"))
    page, next_cursor = selectors.paginate(items, cursor=request.GET.get("cursor"), limit=request.GET.get("limit"))
    return {"success": True, "data": {"items": page}, "additional_data": {"next_cursor": next_cursor}}


def _fields_view(entity: str, scopes: tuple[str, ...]) -> Callable:
    @pipedrive_api(scopes=scopes, cost=10)
    def view(request: HttpRequest, *, token: SandboxAccessToken) -> dict:
        return _paged(request, selectors.fields_list(company=_company(token), entity=entity))

    view.__name__ = f"{entity}_fields"
    view.__doc__ = f"GET /api/v2/{entity}Fields."
    return view


deal_fields_list = _fields_view("deal", (*DEALS, "admin", "deal-fields:full"))


@pipedrive_api(scopes=("admin", "deal-fields:full"), cost=5, method="POST")
def deal_field_create(request: HttpRequest, *, token: SandboxAccessToken) -> dict:
    """POST /api/v2/dealFields — addDealField (see writes.py for what is checked)."""
    return {"success": True, "data": writes.deal_field_create(company=_company(token), request=request)}


@transaction.non_atomic_requests
@csrf_exempt
def deal_fields(request: HttpRequest, domain: str):
    """One URL, two operations (getDealFields, addDealField)."""
    view = deal_field_create if request.method == "POST" else deal_fields_list
    return view(request, domain)


person_fields = _fields_view("person", (*CONTACTS, "admin", "contact-fields:full"))
organization_fields = _fields_view("organization", (*CONTACTS, "admin", "contact-fields:full"))
product_fields = _fields_view("product", (*PRODUCTS, "product-fields:full"))


def _detail(request: HttpRequest, token: SandboxAccessToken, kind: str, object_id: int) -> dict:
    company = _company(token)
    record = selectors.record_get(company=company, kind=kind, object_id=object_id)
    if record is None:
        raise _not_found()
    return {"success": True, "data": selectors.present(record, company=company, options=_options(request))}
