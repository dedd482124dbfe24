"""Intuit's OAuth pages and endpoints as the sandbox serves them. Thin: logic lives in oauth.py."""

from __future__ import annotations

import json
import logging
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from integration.sandbox.quickbooks import oauth, traffic
from integration.sandbox.quickbooks.faults import new_tid
from integration.sandbox.quickbooks.models import SandboxEntity, SandboxRealm, SandboxToken
from integration.sandbox.quickbooks.services import present

logger = logging.getLogger(__name__)


def _oauth_json(body: dict, status: int = 200) -> HttpResponse:
    response = HttpResponse(json.dumps(body), status=status, content_type="application/json;charset=UTF-8")
    response["intuit_tid"] = new_tid()
    response["Cache-Control"] = "no-cache, no-store"
    response["Pragma"] = "no-cache"
    return response


@csrf_exempt  # Intuit's page, not ours: the sandbox plays a foreign site with its own rules
@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest) -> HttpResponse:
    """The consent page: pick a company, press Connect, go back to redirect_uri."""
    params = request.POST if request.method == "POST" else request.GET
    client_id = params.get("client_id", "")
    redirect_uri = params.get("redirect_uri", "")
    state = params.get("state", "")
    scope = params.get("scope", "")
    response_type = params.get("response_type", "code")
    problem = ""
    if client_id != settings.QBO_CLIENT_ID:
        problem = _("Unknown client_id: this app is not registered with the sandbox.")
    elif not redirect_uri.startswith(("http://", "https://")):
        problem = _("redirect_uri is missing or not an absolute URL.")
    elif redirect_uri not in oauth.registered_redirect_uris():
        # Intuit's consent page refuses a redirect_uri that is not registered, exactly, for the app.
        problem = _(
            "The redirect_uri query parameter value is invalid. Make sure it is listed in the Redirect URIs "
            "section on your app's keys tab and matches it exactly."
        )
    elif response_type != "code":
        problem = _("response_type must be 'code'.")
    if problem:
        return render(request, "sandbox/quickbooks/authorize.html", {"problem": problem}, status=400)
    sep = "&" if "?" in redirect_uri else "?"
    if "com.intuit.quickbooks.accounting" not in scope.split():
        return HttpResponseRedirect(f"{redirect_uri}{sep}{urlencode({'error': 'invalid_scope', 'state': state})}")
    realms = list(SandboxRealm.objects.order_by("realm_id"))
    if request.method == "POST":
        if params.get("action") == "cancel":
            return HttpResponseRedirect(f"{redirect_uri}{sep}{urlencode({'error': 'access_denied', 'state': state})}")
        realm = next((r for r in realms if r.realm_id == params.get("realm_id")), None)
        if realm is not None:
            code = oauth.issue_code(realm=realm, client_id=client_id, redirect_uri=redirect_uri, scope=scope)
            query = urlencode({"code": code, "state": state, "realmId": realm.realm_id})
            return HttpResponseRedirect(f"{redirect_uri}{sep}{query}")
        problem = _("Choose a company to connect.")
    context = {
        "realms": realms,
        "client_id": client_id,
        "redirect_uri": redirect_uri,
        "state": state,
        "scope": scope,
        "response_type": response_type,
        "problem": problem,
    }
    return render(request, "sandbox/quickbooks/authorize.html", context, status=400 if problem else 200)


@csrf_exempt
@require_http_methods(["POST"])
def token(request: HttpRequest) -> HttpResponse:
    """POST oauth2/v1/tokens/bearer: authorization_code and refresh_token grants (form body)."""
    with traffic.track(request, kind="token") as call:
        injected = traffic.injected_failure(call, target="token")
        if injected is not None:
            return injected
        form = request.POST
        hard = request.headers.get("x-include-refresh-token-hard-expires-in", "").lower() == "true"
        try:
            client_id = oauth.client_from_request(authorization=request.headers.get("Authorization", ""), form=form)
            grant_type = form.get("grant_type", "")
            if grant_type == "authorization_code":
                body, realm_id = oauth.exchange_code(
                    client_id=client_id,
                    code=form.get("code", ""),
                    redirect_uri=form.get("redirect_uri", ""),
                    include_hard_expiry=hard,
                    issuer=request.build_absolute_uri(reverse("sandbox:qbo_sandbox:issuer")),
                )
            elif grant_type == "refresh_token":
                body, realm_id = oauth.refresh(
                    client_id=client_id, refresh_token=form.get("refresh_token", ""), include_hard_expiry=hard
                )
            else:
                raise oauth.OAuthError("unsupported_grant_type")
        except oauth.OAuthError as exc:
            return call.finish(_oauth_json(exc.body(), status=exc.status))
        call.realm_id = realm_id
        return call.finish(_oauth_json(body))


@csrf_exempt
@require_http_methods(["POST"])
def revoke(request: HttpRequest) -> HttpResponse:
    """POST oauth2/v1/tokens/revoke with JSON `{"token": ...}` (form body accepted too)."""
    with traffic.track(request, kind="revoke") as call:
        try:
            client_id = oauth.client_from_request(
                authorization=request.headers.get("Authorization", ""), form=request.POST
            )
        except oauth.OAuthError as exc:
            return call.finish(_oauth_json(exc.body(), status=exc.status))
        try:
            value = json.loads(request.body or b"{}").get("token", "")
        except (ValueError, AttributeError):
            value = request.POST.get("token", "")
        if not value:
            return call.finish(_oauth_json({"error": "invalid_request"}, status=400))
        call.realm_id = oauth.revoke(client_id=client_id, token=value)
        response = HttpResponse(b"", status=200, content_type="application/json")
        response["intuit_tid"] = new_tid()
        return call.finish(response)


def discovery(request: HttpRequest) -> HttpResponse:
    """The sandbox discovery document (fixture oauth/discovery_sandbox_intuit_page.json) with our URLs."""

    def url(name: str) -> str:
        return request.build_absolute_uri(reverse(f"sandbox:qbo_sandbox:{name}"))

    body = {
        "issuer": url("issuer"),
        "authorization_endpoint": url("authorize"),
        "token_endpoint": url("token"),
        "userinfo_endpoint": url("userinfo"),
        "revocation_endpoint": url("revoke"),
        "jwks_uri": url("jwks"),
        "response_types_supported": ["code"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "scopes_supported": ["openid", "email", "profile", "address", "phone"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "claims_supported": ["aud", "exp", "iat", "iss", "realmid", "sub"],
    }
    return _oauth_json(body)


def issuer(request: HttpRequest) -> HttpResponse:
    return _oauth_json({"issuer": request.build_absolute_uri()})


def jwks(request: HttpRequest) -> HttpResponse:
    """The key that signs id_tokens (RS256, `kid` in the token header)."""
    return _oauth_json(oauth.jwks())


def userinfo(request: HttpRequest) -> HttpResponse:
    """OpenID userinfo (fixture oauth/userinfo_response_dotnet_test.json) for a valid access token."""
    auth = request.headers.get("Authorization", "")
    value = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    if not SandboxToken.objects.filter(token=value, kind="access", grant__revoked=False).exists():
        return _oauth_json({"error": "invalid_token"}, status=401)
    return _oauth_json(
        {
            "sub": "1182d6ec-2a1f-4aa3-af3f-bb3b95db45af",
            "email": "owner@sandbox-qbo.test",
            "emailVerified": True,
            "givenName": "Sandbox",
            "familyName": "Owner",
        }
    )


def app_deep_link(request: HttpRequest, path: str = "") -> HttpResponse:
    """`QBO_APP_BASE_URL` points here: a stand-in for app.qbo.intuit.com deep links.

    `invoice?txnId=…` shows that invoice (in every company that has the id, or only in
    `companyId`/`realmId` when given); other paths just echo what was asked for."""
    txn_id = request.GET.get("txnId", "")
    realm_id = request.GET.get("companyId") or request.GET.get("realmId")
    invoices = []
    if path.strip("/") == "invoice" and txn_id:
        rows = SandboxEntity.objects.select_related("realm").filter(entity="Invoice", qbo_id=txn_id)
        if realm_id:
            rows = rows.filter(realm__realm_id=realm_id)
        invoices = [(row.realm, present(row.realm, row)) for row in rows]
    context = {"path": path, "query": request.GET.dict(), "invoices": invoices}
    return render(request, "sandbox/quickbooks/app.html", context, status=200 if invoices or not txn_id else 404)


@require_http_methods(["GET", "POST"])
def home(request):
    """A page to act as a QuickBooks user in the demo: record payments, void or delete invoices.

    The same controls as `_control/…` and `controls.py`, with buttons; changes send webhooks.
    """
    from decimal import InvalidOperation

    from django.contrib import messages
    from django.shortcuts import redirect

    from integration.sandbox.quickbooks import controls
    from integration.sandbox.quickbooks.faults import QboFault

    if request.method == "POST":
        realm_id, invoice_id, action = (request.POST.get(k, "") for k in ("realm_id", "invoice_id", "action"))
        try:
            if action == "payment":
                amount = request.POST.get("amount", "").strip() or None
                controls.record_payment(realm_id=realm_id, invoice_id=invoice_id, amount=amount)
            elif action == "void":
                controls.void_invoice(realm_id=realm_id, invoice_id=invoice_id)
            elif action == "delete":
                controls.delete_invoice(realm_id=realm_id, invoice_id=invoice_id)
            else:
                raise ValueError(f"unknown action {action!r}")
            messages.success(request, f"Invoice {invoice_id}: {action} done in QuickBooks (sandbox).")
        except (QboFault, ValueError, InvalidOperation, LookupError) as exc:
            messages.error(request, f"Invoice {invoice_id}: {action} refused: {exc}")
        return redirect("sandbox:qbo_sandbox:home")
    realms = []
    for realm in SandboxRealm.objects.order_by("realm_id"):
        invoices = [row.data for row in realm.entities.filter(entity="Invoice", deleted=False).order_by("-id")[:50]]
        realms.append((realm, invoices))
    return render(request, "sandbox/quickbooks/home.html", {"realms": realms})
