"""Connect / callback / disconnect: thin views over integration.quickbooks.services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db import transaction
from django.http import HttpResponseRedirect
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from integration.quickbooks import selectors, services


def _settings():
    return redirect("tenants:settings")


# These views call Intuit; no request-wide transaction may hold locks across those calls.
@transaction.non_atomic_requests
@login_required
@require_POST
def connect(request):
    """Start the connect (or reconnect) flow: off to Intuit's consent page."""
    if request.membership is None:
        messages.error(request, _("You are not a member of a company using this app."))
        return _settings()
    try:
        url = services.connect_start(company=request.company, membership=request.membership)
    except services.ConnectRefused as exc:
        messages.error(request, exc.message)
        return _settings()
    return HttpResponseRedirect(url)


@transaction.non_atomic_requests
@login_required
@require_GET
def callback(request):
    """Intuit sends the browser back here with `code`, `realmId` and our `state`."""
    params = request.GET
    try:
        result = services.connect_callback(
            user=request.user,
            code=params.get("code", ""),
            realm_id=params.get("realmId", ""),
            state=params.get("state", ""),
            error=params.get("error", ""),
        )
    except services.ConnectRefused as exc:
        messages.error(request, exc.message)
        return _settings()
    name = result.connection.company_name or result.connection.realm_id
    if result.reconnected:
        messages.success(request, _("QuickBooks company %s is connected again.") % name)
    else:
        messages.success(request, _("QuickBooks company %s is connected.") % name)
    for warning in result.warnings:
        messages.warning(request, warning)
    messages.info(
        request,
        _("Next: check the invoice settings below, then open a deal in Pipedrive and press “+ Invoice”."),
    )
    if result.redirect_url:
        # Pipedrive finishes linking its invoice tab on its own page (invoicing-extension.md §Connection).
        return HttpResponseRedirect(result.redirect_url)
    return _settings()


@transaction.non_atomic_requests
@login_required
@require_POST
def disconnect(request):
    """Disconnect the company's QuickBooks (owner or admin)."""
    connection = selectors.connection_live(company=request.company) if request.company else None
    if connection is None:
        messages.error(request, _("QuickBooks is not connected."))
        return _settings()
    try:
        services.connection_disconnect(connection=connection, actor=request.membership)
    except services.DisconnectForbidden as exc:
        messages.error(request, str(exc))
        return _settings()
    messages.success(request, _("QuickBooks is disconnected and its access was revoked."))
    return _settings()


@transaction.non_atomic_requests
@login_required
@require_POST
def link(request):
    """Retry registering the connection with Pipedrive's invoice tab."""
    connection = selectors.connection_active(company=request.company) if request.company else None
    if connection is None:
        messages.error(request, _("QuickBooks is not connected."))
        return _settings()
    try:
        linked = services.invoicing_link_retry(connection=connection, actor=request.membership)
    except services.DisconnectForbidden as exc:
        messages.error(request, str(exc))
        return _settings()
    if linked:
        messages.success(request, _("Pipedrive's invoice tab is linked to QuickBooks."))
    else:
        messages.error(request, _("Pipedrive did not accept the link yet. Please try again later."))
    return _settings()
