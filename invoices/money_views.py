"""The "Money loop" settings page: invoice figures on deals (on/off), for the signed-in member's company."""

from __future__ import annotations

import json

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponseBadRequest, HttpResponseForbidden, JsonResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST

from invoices import deal_figure_fields, deal_figures
from invoices.models import DealFiguresOutbox


def won_rule_set(*, company, rule: str) -> None:
    """The "when a deal is won" rule; turning it on registers our deal webhook in Pipedrive (once)."""
    from integration.errors import IntegrationError
    from invoices import won

    config = deal_figure_fields.fields_config(company=company)
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

    config = deal_figure_fields.fields_config(company=company)
    context = {
        "won_problems": WonDeal.objects.filter(company=company, state=WonDeal.State.PROBLEMS).count(),
        "company": company,
        "is_admin": is_admin,
        "config": config,
        "waiting": DealFiguresOutbox.objects.filter(company=company, dirty=True).count(),
        "failing": DealFiguresOutbox.objects.filter(company=company, dirty=True, attempts__gt=0).first(),
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
            service="pipedrive", body=body, content_type=(request.content_type or "")[:100], company=company
        )
        company_id, delivery_id = company.pk, delivery.pk
        transaction.on_commit(
            lambda: tasks.process_pipedrive_webhook.delay(company_id=company_id, delivery_id=delivery_id)
        )
    return JsonResponse({"status": "ok", "delivery": delivery.pk})


@transaction.non_atomic_requests  # no transaction across the Pipedrive read
@login_required
@require_http_methods(["GET"])
def won_not_invoiced_page(request):
    """Won deals of a period with no or partial invoices, the gap per currency (admins; members per visibility)."""
    from integration.errors import IntegrationError
    from integration.pipedrive.selectors import installation_for
    from integration.quickbooks.selectors import connection_live
    from invoices.won_report import may_read, period_of, won_not_invoiced

    company, membership = request.company, request.membership
    if company is None or membership is None:
        return redirect("tenants:settings")
    connection = connection_live(company=company)
    if not may_read(membership=membership, connection=connection):
        return HttpResponseForbidden(_("Your company shows invoices only to the QuickBooks connection owner."))
    period = period_of(date_from=request.GET.get("from"), date_to=request.GET.get("to"), today=timezone.now().date())
    if period is None:
        return HttpResponseBadRequest(_("Give a period as from=YYYY-MM-DD&to=YYYY-MM-DD, at most a year long."))
    context = {"company": company, "date_from": period[0], "date_to": period[1], "report": None, "error": ""}
    installation = installation_for(company=company, membership=membership)
    if installation is None:
        context["error"] = _("Reinstall the app in Pipedrive.")
    else:
        try:
            context["report"] = won_not_invoiced(
                company=company, installation=installation, date_from=period[0], date_to=period[1]
            )
        except IntegrationError as exc:
            context["error"] = _("Pipedrive could not be read: %(error)s") % {"error": exc}
    status = 503 if context["error"] and installation is not None else 200
    return render(request, "invoices/won_not_invoiced.html", context, status=status)
