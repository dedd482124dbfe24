"""Pipedrive's side of the invoicing app extension (invoicing-extension.md): the deal page's
"Invoices" tab calls the app's reverse API the way Pipedrive's backend does.

Server-side, like Pipedrive: the browser talks only to this sandbox; the sandbox reads the app's
manifest, fills the endpoint URL (`:linkId` from the link the app registered with
`POST /api/v1/invoice/user/provider`, `:invoiceId`/`:contactId`/`:productId` from the call) and
adds `Authorization: Basic client_id:client_secret`; nothing else, because Pipedrive's page names
nothing else (no viewer, no deal: pipedrive-contract-facts.md §4). The client secret never reaches
the browser. Which invoices belong to the deal is Pipedrive's knowledge: here the ids created from a
deal page are kept in the viewer's session (a simplification), and the tab asks for them by `ids`.

Request bodies go in the shapes Pipedrive's page prints (BODY_SHAPES): InvoiceCreateData inside
`{"success": true, "data": {…}}`, InvoiceAction bare; contacts and products have no sample and go
in the same envelope. The setting PIPEDRIVE_SANDBOX_INVOICING_BODY_SHAPE (or `?shape=` on a call)
forces one shape for every body: `bare`, `data` (`{"data": …}`) or `envelope`.
"""

from __future__ import annotations

import json
import re
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.db import transaction
from django.http import HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from integration.http import make_session
from integration.sandbox.pipedrive.models import SandboxCompany, SandboxInvoiceProviderLink, SandboxUser

# The contract's endpoints and their methods (Pipedrive knows these; the manifest gives the URLs).
METHODS = {
    "getProviderAccount": "GET",
    "getProviderAccountConnectUrl": "GET",
    "postInvoice": "POST",
    "postInvoiceStatus": "POST",
    "postInvoiceEmail": "POST",
    "getSearchInvoices": "GET",
    "getInvoiceShareUrl": "GET",
    "getInvoicePDF": "GET",
    "getInvoiceSummary": "GET",
    "getCurrencies": "GET",
    "getTaxRates": "GET",
    "getAccounts": "GET",
    "getTemplates": "GET",
    "getProduct": "GET",
    "postProduct": "POST",
    "putProduct": "PUT",
    "getSearchProducts": "GET",
    "getContact": "GET",
    "postContact": "POST",
    "putContact": "PUT",
    "getSearchContacts": "GET",
}
PLACEHOLDERS = ("invoiceId", "contactId", "productId")
_SAFE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
SESSION_KEY = "pd_sandbox_deal_invoices"


def manifest_url() -> str:
    """Where the sandbox reads the app's manifest (as uploaded to Developer Hub)."""
    return getattr(settings, "PIPEDRIVE_SANDBOX_INVOICING_MANIFEST_URL", "") or (
        f"{settings.PUBLIC_BASE_URL}/ext/invoicing/manifest.json"
    )


def _fail(status: int, message: str) -> JsonResponse:
    return JsonResponse({"success": False, "data": None, "error": message, "errorCode": "sandbox"}, status=status)


# What Pipedrive's page shows per endpoint (https://pipedrive.readme.io/docs/app-extensions-invoicing).
DOCUMENTED_SHAPES = {"postInvoice": "envelope", "postInvoiceStatus": "bare", "postInvoiceEmail": "bare"}
BODY_SHAPES = ("documented", "bare", "data", "envelope")


def body_shape(request: HttpRequest, name: str) -> str:
    wanted = request.GET.get("shape") or getattr(settings, "PIPEDRIVE_SANDBOX_INVOICING_BODY_SHAPE", "documented")
    if wanted not in BODY_SHAPES or wanted == "documented":
        return DOCUMENTED_SHAPES.get(name, "envelope")
    return wanted


def shaped_body(raw: bytes, shape: str) -> bytes:
    """The browser's bare JSON object, in the shape Pipedrive sends."""
    if shape == "bare" or not raw:
        return raw
    try:
        value = json.loads(raw)
    except ValueError:
        return raw  # not JSON: passed on as it is, for the app to refuse
    wrapped = {"data": value} if shape == "data" else {"success": True, "data": value}
    return json.dumps(wrapped).encode()


def _deal_key(domain: str, deal_id: str) -> str:
    return f"{domain}:{deal_id}"


@transaction.non_atomic_requests  # the app we call writes to the same database
@require_http_methods(["GET", "POST", "PUT"])
def call(request: HttpRequest, domain: str, name: str) -> HttpResponse | StreamingHttpResponse:
    """`/app/<domain>/invoicing/<endpoint name>?user_id=&dealId=&invoiceId=…&<query of the endpoint>`."""
    company = get_object_or_404(SandboxCompany, domain=domain)
    if name not in METHODS:
        return _fail(404, _("Unknown invoicing endpoint."))
    link = SandboxInvoiceProviderLink.objects.filter(company=company).order_by("-created_at", "-id").first()
    if link is None:
        return _fail(409, _("No invoicing app is linked to this company yet: connect QuickBooks in the app."))
    deal_id = request.GET.get("dealId", "")
    # The viewer and the deal stay here (Pipedrive's side): the contract sends neither.
    query = {k: v for k, v in request.GET.items() if k not in {"user_id", "dealId", "shape"}}
    if name == "getSearchInvoices" and deal_id and not query.get("ids") and not query.get("customerId"):
        ids = request.session.get(SESSION_KEY, {}).get(_deal_key(domain, deal_id), [])
        if not ids:
            return JsonResponse({"success": True, "data": []})
        query["ids"] = ",".join(ids)

    session = make_session(service="pipedrive-sandbox", timeout=30)
    try:
        manifest = session.get(manifest_url()).json()
        template = manifest["endpoints"][name]
    except (requests.RequestException, ValueError, KeyError, TypeError):
        return _fail(502, _("The app's invoicing manifest could not be read."))
    url = template.replace(":linkId", link.link_id)
    for placeholder in PLACEHOLDERS:
        if f":{placeholder}" in url:
            value = request.GET.get(placeholder, "")
            if not _SAFE.match(value):
                return _fail(400, _("%(name)s is required.") % {"name": placeholder})
            url = url.replace(f":{placeholder}", value)
            query.pop(placeholder, None)  # a path parameter here (getInvoiceSummary's contactId is a query one)
    headers = {"Accept": "application/json"}
    if request.headers.get("Idempotency-Key"):
        headers["Idempotency-Key"] = request.headers["Idempotency-Key"][:50]
    body = shaped_body(request.body, body_shape(request, name)) if METHODS[name] in {"POST", "PUT"} else None
    if body is not None:
        headers["Content-Type"] = "application/json"
    try:
        # https://pipedrive.readme.io/docs/app-extensions-invoicing (reverse API, Basic client_id:client_secret)
        answer = session.request(
            METHODS[name],
            f"{url}?{urlencode(query)}" if query else url,
            data=body,
            headers=headers,
            auth=(settings.PIPEDRIVE_CLIENT_ID, settings.PIPEDRIVE_CLIENT_SECRET),
            stream=name == "getInvoicePDF",
        )
    except requests.RequestException:
        return _fail(504, _("The app did not answer."))
    if name == "getInvoicePDF" and answer.status_code == 200:
        response = StreamingHttpResponse(answer.iter_content(64 * 1024), content_type="application/pdf")
        response["Content-Disposition"] = answer.headers.get("Content-Disposition", "attachment")
        return response
    try:
        payload = answer.json()
    except ValueError:
        return _fail(502, _("The app answered something that is not JSON."))
    if name == "postInvoice" and answer.status_code in (200, 201, 202) and deal_id:
        created = str((payload.get("data") or {}).get("id") or "")
        if created:
            stored = request.session.get(SESSION_KEY, {})
            ids = stored.setdefault(_deal_key(domain, deal_id), [])
            if created not in ids:
                ids.append(created)
            request.session[SESSION_KEY] = stored
    return JsonResponse(payload, status=answer.status_code, safe=False, json_dumps_params={"ensure_ascii": False})


def tab_context(*, company: SandboxCompany, deal_id: int, viewer: SandboxUser) -> dict:
    """What the deal page's Invoices tab needs: the proxy's base URL and whether a link exists."""
    from django.urls import reverse

    base = reverse("sandbox:pipedrive_sandbox:invoicing-call", args=[company.domain, "getProviderAccount"])
    return {
        "invoicing_base": base.rsplit("/", 1)[0],
        "invoicing_linked": SandboxInvoiceProviderLink.objects.filter(company=company).exists(),
        "invoicing_query": urlencode({"user_id": viewer.id, "dealId": deal_id}),
    }
