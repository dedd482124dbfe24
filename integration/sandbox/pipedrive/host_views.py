"""Pipedrive's web app, as far as our app meets it: Marketplace install button, uninstall, and a
deal detail page hosting our custom UI iframes with the app-extensions SDK protocol (reference §3.5-3.6)."""

from __future__ import annotations

import secrets
from urllib.parse import urlencode, urlsplit

from csp.decorators import csp_replace
from django.conf import settings
from django.db import transaction
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_sameorigin
from django.views.decorators.http import require_GET, require_POST

from integration.sandbox.pipedrive import app_config, host_services, invoicing_host, services
from integration.sandbox.pipedrive.models import (
    SandboxCompany,
    SandboxGrant,
    SandboxRecord,
    SandboxUninstallDelivery,
    SandboxUser,
)


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Controls: install, active grants with an Uninstall button, links to the deal pages."""
    companies = SandboxCompany.objects.prefetch_related("users").order_by("id")
    grants = (
        SandboxGrant.objects.filter(revoked_at__isnull=True)
        .select_related("user__company")
        .order_by("user__company_id", "user_id", "id")
    )
    deals = SandboxRecord.objects.filter(kind="deal").select_related("company").order_by("company_id", "object_id")
    return render(
        request,
        "sandbox/pipedrive/home.html",
        {
            "companies": companies,
            "grants": grants,
            "deals": deals,
            "deliveries": SandboxUninstallDelivery.objects.select_related("user")[:10],
            "callback_url": services.registered_callback_url(),
        },
    )


@require_GET
def install(request: HttpRequest) -> HttpResponseRedirect:
    """The Marketplace "Install" button: Pipedrive's own consent page, no `state` of ours."""
    params = {"client_id": settings.PIPEDRIVE_CLIENT_ID, "redirect_uri": services.registered_callback_url()}
    if request.GET.get("user_id"):
        params["user_id"] = request.GET["user_id"]
    return HttpResponseRedirect(f"{reverse('sandbox:pipedrive_sandbox:authorize')}?{urlencode(params)}")


@transaction.non_atomic_requests  # the callback we call writes to the same database
@require_POST
def uninstall(request: HttpRequest) -> HttpResponse:
    """Uninstall the app for one grant's user: revoke it, then DELETE our callback like Pipedrive does."""
    grant = get_object_or_404(SandboxGrant, pk=request.POST.get("grant_id") or 0, revoked_at__isnull=True)
    delivery = host_services.uninstall(user=grant.user)
    if request.headers.get("Accept") == "application/json":
        return JsonResponse({"status": delivery.status, "error": delivery.error, "body": delivery.body})
    return redirect("sandbox:pipedrive_sandbox:home")


@require_POST
def limits(request: HttpRequest) -> HttpResponse:
    """Test control: a company's burst limit (per token, 2 s) and daily token budget; optionally reset usage."""
    company = get_object_or_404(SandboxCompany, pk=request.POST.get("company_id") or 0)
    try:
        burst = int(request.POST.get("burst_limit") or company.burst_limit)
        budget = int(request.POST.get("daily_budget") or company.daily_budget)
    except ValueError:
        return HttpResponse(_("Limits must be whole numbers"), status=400)
    if burst < 1 or budget < 1:
        return HttpResponse(_("Limits must be at least 1"), status=400)
    host_services.company_limits_set(
        company=company, burst_limit=burst, daily_budget=budget, reset_usage=request.POST.get("reset_usage") == "on"
    )
    return redirect("sandbox:pipedrive_sandbox:home")


@require_POST
def outage(request: HttpRequest) -> HttpResponse:
    """Test control: make a company's whole API answer `status` (e.g. 503), or 0 to heal it."""
    company = get_object_or_404(SandboxCompany, pk=request.POST.get("company_id") or 0)
    raw = request.POST.get("status") or "0"
    if not raw.isdigit() or (int(raw) != 0 and not 400 <= int(raw) <= 599):
        return HttpResponse(_("Status must be 0 or an HTTP error status"), status=400)
    host_services.company_outage_set(company=company, status=int(raw))
    return JsonResponse({"company_id": company.pk, "api_outage_status": int(raw)})


@require_POST
def deal_status(request: HttpRequest) -> HttpResponse:
    """Test control: a user marks a deal won, lost or open in Pipedrive; webhooks follow."""
    from integration.sandbox.pipedrive import webhooks

    company = get_object_or_404(SandboxCompany, pk=request.POST.get("company_id") or 0)
    user_id = request.POST.get("user_id", "")
    user = (
        _viewer(request, company)
        if not user_id
        else company.users.filter(pk=int(user_id) if user_id.isdigit() else 0).first()
    )
    deal_id = request.POST.get("deal_id") or ""
    if user is None or not deal_id.isdigit():
        return HttpResponse(_("Give a deal id and a user of the company"), status=400)
    try:
        deal = webhooks.deal_status_set(
            company=company, deal_id=int(deal_id), status=request.POST.get("status", ""), user_id=user.pk
        )
    except services.ApiError as exc:
        return JsonResponse(exc.body, status=exc.status)
    return JsonResponse({"id": deal["id"], "status": deal["status"]})


def _same_origin_path(value: str | None) -> str | None:
    # Overrides on the host page may only point at paths of this site (no open redirect into a frame).
    if value and value.startswith("/") and not value.startswith("//") and not urlsplit(value).netloc:
        return value
    return None


def _viewer(request: HttpRequest, company: SandboxCompany) -> SandboxUser:
    users = company.users.all()
    user_id = request.GET.get("user_id")
    user = users.filter(pk=user_id).first() if user_id and user_id.isdigit() else None
    viewer = user or users.filter(is_admin=True).first() or users.first()
    if viewer is None:  # a company without users has nobody to show the page to
        raise Http404
    return viewer


INIT_TIMEOUT_MS = (
    10_000  # "If the iframe takes more than 10 seconds to initialize via our SDK, the iframe won't be displayed"
)


def _init_timeout(request: HttpRequest) -> int:
    # Tests may shorten Pipedrive's 10 s (never lengthen it) to watch a frame that never initialises.
    value = request.GET.get("init_timeout_ms", "")
    return max(200, min(INIT_TIMEOUT_MS, int(value))) if value.isdigit() else INIT_TIMEOUT_MS


@require_GET
def deal_page(request: HttpRequest, domain: str, deal_id: int) -> HttpResponse:
    """A Pipedrive-like deal detail page with our custom panel iframe (and the custom modal host)."""
    company = get_object_or_404(SandboxCompany, domain=domain)
    deal = SandboxRecord.objects.filter(company=company, kind="deal", object_id=deal_id).first()
    if deal is None:
        raise Http404
    viewer = _viewer(request, company)
    panel_base = _same_origin_path(request.GET.get("panel_url")) or host_services.panel_url()
    modal_override = _same_origin_path(request.GET.get("modal_url")) or ""
    theme = "dark" if request.GET.get("theme") == "dark" else "light"
    panel_src = host_services.iframe_src(base=panel_base, user=viewer, deal_id=deal_id, theme=theme)
    context = host_services.deal_context(company=company, deal=deal)
    context.update(invoicing_host.tab_context(company=company, deal_id=deal_id, viewer=viewer))
    viewer_query = f"?{urlencode({'user_id': viewer.id})}"
    response = render(
        request,
        "sandbox/pipedrive/deal.html",
        {
            **context,
            "company": company,
            "viewer": viewer,
            "users": company.users.all(),
            "panel_src": panel_src,
            "modal_override": modal_override,
            "token_url": reverse("sandbox:pipedrive_sandbox:signed-token", args=[domain]) + viewer_query,
            "modal_url": reverse("sandbox:pipedrive_sandbox:custom-modal", args=[domain]) + viewer_query,
            "init_timeout_ms": _init_timeout(request),
            "theme": theme,
        },
    )
    # Our panel may live on another origin than the sandbox (PUBLIC_BASE_URL behind a proxy).
    found = (host_services.origin_of(panel_base), host_services.origin_of(host_services.modal_url()))
    origins = {origin for origin in found if origin is not None}
    # django-csp's middleware reads this attribute (what its csp_update decorator sets).
    response._csp_update = {"frame-src": ["'self'", *sorted(origins)]}  # type: ignore[attr-defined]
    return response


@require_GET
def signed_token(request: HttpRequest, domain: str) -> JsonResponse:
    """What the host answers to GET_SIGNED_TOKEN: a fresh 5-minute JWT for the viewing user, signed
    with the asking extension's secret (`extension=panel|modal`)."""
    company = get_object_or_404(SandboxCompany, domain=domain)
    user = _viewer(request, company)
    extension = "modal" if request.GET.get("extension") == "modal" else "panel"
    return JsonResponse({"token": services.extension_token(user=user, extension=extension)})


@require_GET
def custom_modal(request: HttpRequest, domain: str) -> JsonResponse:
    """OPEN_MODAL {type: custom_modal, action_id}: the iframe URL of the registered modal `action_id`
    names (its Developer Hub ID or name), or 404 when the app has no such modal."""
    company = get_object_or_404(SandboxCompany, domain=domain)
    user = _viewer(request, company)
    registered = app_config.modal_for(request.GET.get("action_id"))
    if registered is None:
        return JsonResponse({"error": _("This app has no custom modal with that id or name.")}, status=404)
    deal_id = request.GET.get("deal_id", "")
    src = host_services.iframe_src(
        base=_same_origin_path(request.GET.get("modal_url")) or registered.url,
        user=user,
        deal_id=int(deal_id) if deal_id.isdigit() else 0,
        theme=request.GET.get("theme"),
        extension="modal",
    )
    return JsonResponse({"src": src, "id": registered.id, "name": registered.name})


@require_GET
def invoicing_settings(request: HttpRequest, domain: str) -> HttpResponse:
    """Where `redirectUrl` of the invoicing link registration lands."""
    company = get_object_or_404(SandboxCompany, domain=domain)
    return render(
        request,
        "sandbox/pipedrive/invoicing_settings.html",
        {
            "company": company,
            "link_id": request.GET.get("linkId", ""),
            # Pipedrive's own page links back to the app; here, our settings page (issue 13: no dead end).
            "app_settings_url": reverse("tenants:settings"),
        },
    )


@require_GET
@xframe_options_sameorigin
@csp_replace({"frame-ancestors": ["'self'"]})
def probe(request: HttpRequest) -> HttpResponse:
    """A tiny custom UI of our own that drives the real SDK, to test the host without our panel."""
    return render(
        request, "sandbox/pipedrive/probe.html", {"nonce": secrets.token_hex(4), "modal_id": app_config.modal().id}
    )
