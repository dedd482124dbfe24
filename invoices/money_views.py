"""The "Money loop" settings page: invoice figures on deals (on/off), for the signed-in member's company."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponseBadRequest, HttpResponseForbidden, JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from invoices import deal_figures
from invoices.models import DealFiguresOutbox


def won_rule_set(*, company, rule: str) -> None:
    """The "when a deal is won" rule; turning it on registers our deal webhook in Pipedrive (once)."""
    from integration.errors import IntegrationError
    from invoices import won

    config = deal_figures.fields_config(company=company)
    config.won_rule = rule
    config.save(update_fields=["won_rule", "updated_at"])
    if rule != "off":
        try:
            won.webhook_register(company=company)
        except IntegrationError as exc:
            config.last_error = str(exc)[:500]
            config.save(update_fields=["last_error", "updated_at"])


# No transaction across the call to Pipedrive (registering the webhook).
@transaction.non_atomic_requests
@login_required
@require_http_methods(["GET", "POST"])
def money_loop_settings(request):
    company = request.company
    if company is None:
        return redirect("tenants:settings")
    is_admin = bool(request.membership and request.membership.is_admin)
    if request.method == "POST":
        if not is_admin:
            return HttpResponseForbidden(_("Only Pipedrive admins of this company can change its settings."))
        if "won_rule" in request.POST:
            rule = request.POST.get("won_rule")
            if rule not in ("off", "draft", "create"):
                return HttpResponseBadRequest(_("Choose off, draft or create."))
            won_rule_set(company=company, rule=rule)
            messages.success(request, _("Money loop settings saved."))
            return redirect("invoices:money-loop-settings")
        value = request.POST.get("deal_figures")
        if value not in ("on", "off"):
            return HttpResponseBadRequest(_("Choose on or off."))
        deal_figures.deal_figures_set_enabled(company=company, enabled=value == "on")
        messages.success(request, _("Money loop settings saved."))
        return redirect("invoices:money-loop-settings")
    from invoices.models import WonDeal

    config = deal_figures.fields_config(company=company)
    context = {
        "won_problems": WonDeal.objects.filter(state=WonDeal.State.PROBLEMS).count(),
        "company": company,
        "is_admin": is_admin,
        "config": config,
        "waiting": DealFiguresOutbox.objects.filter(dirty=True).count(),
        "failing": DealFiguresOutbox.objects.filter(dirty=True, attempts__gt=0).first(),
    }
    return render(request, "invoices/money_loop_settings.html", context)


@csrf_exempt  # authenticated by the webhook's HTTP Basic credentials instead
@transaction.non_atomic_requests  # store first, then enqueue after that commit
@require_POST
def pipedrive_webhook(request):
    """Pipedrive's deal-change webhook: verify Basic auth (constant time), store, answer at once."""
    from integration.models import WebhookDelivery
    from invoices import tasks, won

    company = won.company_of_basic_auth(request.headers.get("Authorization", ""))
    if company is None:
        response = JsonResponse({"error": "unauthorized"}, status=401)
        response["WWW-Authenticate"] = 'Basic realm="pipedrive-webhooks"'
        return response
    body = request.body
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        payload = None
    if not isinstance(payload, dict):
        return JsonResponse({"error": "the body must be a JSON object"}, status=400)
    with transaction.atomic():
        delivery = WebhookDelivery.objects.create(
            service="pipedrive", body=body, content_type=(request.content_type or "")[:100]
        )
        company_id, delivery_id = company.pk, delivery.pk
        transaction.on_commit(
            lambda: tasks.process_pipedrive_webhook.delay(company_id=company_id, delivery_id=delivery_id)
        )
    return JsonResponse({"status": "ok", "delivery": delivery.pk})
