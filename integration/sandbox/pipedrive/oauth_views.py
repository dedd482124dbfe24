"""The oauth.pipedrive.com stand-in: consent page, token endpoint, revoke (reference §1)."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from integration.sandbox.pipedrive import services
from integration.sandbox.pipedrive.models import SandboxUser
from integration.sandbox.pipedrive.services import OAuthError

SCOPE_DESCRIPTIONS = {
    "base": "Read your user and company settings, currencies",
    "deals:read": "Read deals, deal fields and deal products",
    "deals:full": "Create, read, update and delete deals",
    "products:read": "Read products and product fields",
    "products:full": "Create, read, update and delete products",
    "contacts:read": "Read persons and organizations",
    "contacts:full": "Create, read, update and delete persons and organizations",
    "admin": "Admin-level access: fields, users and the app's webhooks",
    # Developer Hub's name for it, as Pipedrive's invoicing page words it ("the invoice integration scope").
    "invoice-integration": "Invoice integration",
}


def _redirect_with(uri: str, params: dict[str, str]) -> HttpResponseRedirect:
    separator = "&" if "?" in uri else "?"
    return HttpResponseRedirect(f"{uri}{separator}{urlencode(params)}")


@require_http_methods(["GET", "POST"])
def authorize(request: HttpRequest) -> HttpResponse:
    """Consent page. Allow → redirect_uri?code=…&state=…; Deny → redirect_uri?error=user_denied&state=…"""
    source = request.POST if request.method == "POST" else request.GET
    client_id = source.get("client_id", "")
    redirect_uri = source.get("redirect_uri", "")
    state = source.get("state")
    if client_id != settings.PIPEDRIVE_CLIENT_ID:
        return render(request, "sandbox/pipedrive/oauth_error.html", {"message": _("Invalid client")}, status=400)
    try:
        services.check_redirect_uri(redirect_uri)
    except OAuthError as exc:
        return render(request, "sandbox/pipedrive/oauth_error.html", {"message": exc.message}, status=400)
    users = SandboxUser.objects.select_related("company").order_by("company_id", "id")
    if request.method == "GET":
        scopes = [(scope, SCOPE_DESCRIPTIONS.get(scope, scope)) for scope in services.app_scopes()]
        return render(
            request,
            "sandbox/pipedrive/consent.html",
            {
                "client_id": client_id,
                "redirect_uri": redirect_uri,
                "state": state,
                "scopes": scopes,
                "users": users,
                "selected_user": request.GET.get("user_id", ""),
            },
        )
    extra = {"state": state} if state is not None else {}
    if request.POST.get("decision") != "allow":
        return _redirect_with(redirect_uri, {"error": "user_denied", **extra})
    user = users.filter(pk=request.POST.get("user_id") or 0).first()
    if user is None:
        return render(request, "sandbox/pipedrive/oauth_error.html", {"message": _("Pick a user")}, status=400)
    code = services.authorization_code_issue(user=user, redirect_uri=redirect_uri)
    return _redirect_with(redirect_uri, {"code": code, **extra})


def _oauth_error(exc: OAuthError) -> JsonResponse:
    # Pipedrive does not document the error body (reference §8); RFC 6749 shape with its message.
    return JsonResponse({"error": exc.error, "error_description": exc.message}, status=exc.status)


def _client_check(request: HttpRequest) -> None:
    header = request.headers.get("Authorization", "")
    if header:
        services.check_client_basic_auth(header)
    elif "client_id" in request.POST:
        # Accepted but "not recommended" by Pipedrive.
        services.check_client_credentials(
            client_id=request.POST.get("client_id", ""), client_secret=request.POST.get("client_secret", "")
        )
    else:
        raise OAuthError(services.CLIENT_MISSING, error="invalid_client")


def _require_form(request: HttpRequest) -> None:
    if request.content_type != "application/x-www-form-urlencoded":
        raise OAuthError(services.NOT_FORM)


@csrf_exempt
@require_POST
def token(request: HttpRequest) -> JsonResponse:
    """POST /oauth/token: authorization_code and refresh_token grants (form body, Basic auth)."""
    try:
        _require_form(request)
        _client_check(request)
        grant_type = request.POST.get("grant_type", "")
        if not grant_type:
            raise OAuthError(services.MISSING_GRANT_TYPE)
        if grant_type == "authorization_code":
            tokens = services.token_exchange_code(
                code=request.POST.get("code", ""), redirect_uri=request.POST.get("redirect_uri", "")
            )
        elif grant_type == "refresh_token":
            tokens = services.token_refresh(refresh_token=request.POST.get("refresh_token", ""))
        else:
            raise OAuthError(services.UNSUPPORTED_GRANT, error="unsupported_grant_type")
    except OAuthError as exc:
        return _oauth_error(exc)
    return JsonResponse(tokens.as_response())


@csrf_exempt
@require_POST
def revoke(request: HttpRequest) -> HttpResponse:
    """POST /oauth/revoke (RFC 7009): 200 even for an unknown token."""
    try:
        _require_form(request)
        _client_check(request)
    except OAuthError as exc:
        return _oauth_error(exc)
    services.token_revoke(token=request.POST.get("token", ""), token_type_hint=request.POST.get("token_type_hint", ""))
    return HttpResponse(status=200)
