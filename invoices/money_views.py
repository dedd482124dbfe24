"""The "Money loop" settings page: invoice figures on deals (on/off), for the signed-in member's company."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpResponseBadRequest, HttpResponseForbidden
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from invoices import deal_figures
from invoices.models import DealFiguresOutbox


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
        value = request.POST.get("deal_figures")
        if value not in ("on", "off"):
            return HttpResponseBadRequest(_("Choose on or off."))
        deal_figures.deal_figures_set_enabled(company=company, enabled=value == "on")
        messages.success(request, _("Money loop settings saved."))
        return redirect("invoices:money-loop-settings")
    config = deal_figures.fields_config(company=company)
    context = {
        "company": company,
        "is_admin": is_admin,
        "config": config,
        "waiting": DealFiguresOutbox.objects.filter(dirty=True).count(),
        "failing": DealFiguresOutbox.objects.filter(dirty=True, attempts__gt=0).first(),
    }
    return render(request, "invoices/money_loop_settings.html", context)
