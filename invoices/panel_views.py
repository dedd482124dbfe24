"""The deal panel and create-invoice modal: Pipedrive custom UI extensions (iframes).

Pipedrive loads these pages with `id, userId, companyId, resource, view, selectedIds, theme, token`
(https://pipedrive.readme.io/docs/custom-ui-extensions). The page verifies the `token` JWT, then its
JavaScript initializes the app-extensions SDK and calls the panel API (/api/v1/...) with a fresh
signed token from the SDK as Bearer; no cookies are used inside the iframe.
Framing: only Pipedrive's domains (and this site, where the sandbox's deal page lives, when the
sandboxes are on) may frame these pages; every other page keeps frame-ancestors 'none'.
"""

from __future__ import annotations

import json
import logging
from functools import wraps

from csp.decorators import csp_replace
from django.conf import settings
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.http import require_GET

from integration.pipedrive.jwt import PanelTokenError, membership_for_claims, verify_panel_token
from tenants.language import activate_for_membership

logger = logging.getLogger(__name__)

PIPEDRIVE_FRAME_ANCESTORS = ["https://*.pipedrive.com"]


def frame_ancestors() -> list[str]:
    """Who may frame the panel: Pipedrive, plus this site's sandbox deal page in demo/tests."""
    return [*PIPEDRIVE_FRAME_ANCESTORS, "'self'"] if settings.SANDBOXES_ENABLED else list(PIPEDRIVE_FRAME_ANCESTORS)


def pipedrive_frameable(view):
    """Allow framing by Pipedrive only (CSP frame-ancestors; no X-Frame-Options, which cannot
    name another origin). Resolved per request so settings changes in tests apply."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        return csp_replace({"frame-ancestors": frame_ancestors()})(view)(request, *args, **kwargs)

    return xframe_options_exempt(wrapped)


# User-facing text of the panel and modal scripts (translated here, handed over as JSON).
TEXT = {
    "loading": gettext_lazy("Loading…"),
    "refresh": gettext_lazy("Refresh"),
    "refreshing": gettext_lazy("Refreshing…"),
    "new_invoice": gettext_lazy("+ Invoice"),
    "no_invoices": gettext_lazy("No invoices for this deal yet."),
    "no_contact_invoices": gettext_lazy("No invoices for this contact in this period."),
    "confirm_disconnect_title": gettext_lazy("Disconnect QuickBooks?"),
    "confirm_disconnect": gettext_lazy(
        "Nobody in this company can create or change invoices until QuickBooks is connected again. "
        "Invoices already in QuickBooks stay there."
    ),
    "disconnect": gettext_lazy("Disconnect"),
    "disconnected": gettext_lazy("QuickBooks is disconnected."),
    "due": gettext_lazy("Due"),
    "balance": gettext_lazy("Balance"),
    "total": gettext_lazy("Total"),
    "outstanding": gettext_lazy("Outstanding"),
    "overdue": gettext_lazy("Overdue"),
    "paid": gettext_lazy("Paid"),
    "summary": gettext_lazy("Summary"),
    "history": gettext_lazy("History"),
    "payments": gettext_lazy("Payments"),
    "credit_applied": gettext_lazy("credit applied"),
    "payment_ref": gettext_lazy("ref. %(reference)s"),
    "credit_memo_ref": gettext_lazy("(credit memo %(numbers)s)"),
    "open_balance": gettext_lazy("Open balance"),
    "unapplied_credit": gettext_lazy("Unapplied credit"),
    "won_title": gettext_lazy("Won, not invoiced"),
    "won_period": gettext_lazy("Won %(from)s – %(to)s"),
    "won_gap": gettext_lazy("Not invoiced"),
    "won_none": gettext_lazy("Every deal won in this period is fully invoiced."),
    "won_row": gettext_lazy("won %(date)s · invoiced %(invoiced)s of %(value)s"),
    "won_close": gettext_lazy("Close"),
    "actions": gettext_lazy("Actions for invoice %(number)s"),
    "void": gettext_lazy("Void"),
    "delete": gettext_lazy("Delete"),
    "send": gettext_lazy("Send by email"),
    "pdf": gettext_lazy("Download PDF"),
    "open_in_quickbooks": gettext_lazy("Open in QuickBooks"),
    "confirm_void_title": gettext_lazy("Void invoice %(number)s?"),
    "confirm_void": gettext_lazy("The invoice stays in QuickBooks with a zero amount. This cannot be undone."),
    "confirm_void_paid": gettext_lazy(
        "The invoice stays in QuickBooks with a zero amount. The payment of %(amount)s is unlinked from it and "
        "stays with %(customer)s as unapplied credit in QuickBooks. This cannot be undone."
    ),
    "confirm_delete_title": gettext_lazy("Delete invoice %(number)s?"),
    "confirm_delete": gettext_lazy("The invoice is removed from QuickBooks. This cannot be undone."),
    "send_to": gettext_lazy("Send to another address…"),
    "send_to_label": gettext_lazy("Send to"),
    "send_cc_label": gettext_lazy("Copy to (optional)"),
    "sent_mark": gettext_lazy("Sent"),
    "deleted_count": gettext_lazy("Deleted invoices (%(count)s)"),
    "confirm_send_title": gettext_lazy("Send invoice %(number)s?"),
    "confirm_send": gettext_lazy("QuickBooks e-mails it to %(email)s."),
    "keep": gettext_lazy("Cancel"),
    "voided": gettext_lazy("Invoice %(number)s voided"),
    "deleted": gettext_lazy("Invoice %(number)s deleted"),
    "sent": gettext_lazy("Invoice %(number)s sent"),
    "created": gettext_lazy("Invoice %(number)s created"),
    "pending": gettext_lazy("Invoice saved; QuickBooks is slow, it will appear shortly"),
    "view": gettext_lazy("View"),
    "view_all": gettext_lazy("View all invoices of this contact"),
    "from": gettext_lazy("From"),
    "to": gettext_lazy("To"),
    "show": gettext_lazy("Show"),
    "link": gettext_lazy("Link to this deal"),
    "unlink": gettext_lazy("Unlink from this deal"),
    "linked": gettext_lazy("On this deal"),
    "connect": gettext_lazy("Open settings to connect QuickBooks"),
    "reconnect": gettext_lazy("QuickBooks needs reconnecting: invoices cannot be changed until then."),
    "reconnect_link": gettext_lazy("Open settings"),
    "error": gettext_lazy("Something went wrong: %(message)s"),
    "offline": gettext_lazy("We could not reach the server; check your connection and try again."),
    # modal
    "customer": gettext_lazy("Customer"),
    "search_customer": gettext_lazy("Search QuickBooks customers"),
    "search_item": gettext_lazy("Search QuickBooks items"),
    "new_customer": gettext_lazy("Create a new customer in QuickBooks"),
    "linked_customer": gettext_lazy("Linked to QuickBooks customer %(name)s"),
    "suggested_email": gettext_lazy("Suggested: the QuickBooks customer with the same email (%(name)s)"),
    "suggested_name": gettext_lazy("Suggested: the QuickBooks customer with the same name (%(name)s)"),
    "inactive_customer": gettext_lazy("It is inactive in QuickBooks."),
    "will_create_customer": gettext_lazy("A new QuickBooks customer will be created."),
    "change": gettext_lazy("Change"),
    "update_customer": gettext_lazy("Update the customer's details in QuickBooks"),
    "item_help": gettext_lazy("Link this line to a QuickBooks product or service before creating the invoice."),
    "item_linked": gettext_lazy("QuickBooks item: %(name)s"),
    "no_results": gettext_lazy("No matches"),
    "tax_code": gettext_lazy("QuickBooks tax code for %(line)s"),
    "line_description": gettext_lazy("Description of %(line)s"),
    "line_quantity": gettext_lazy("Quantity of %(line)s"),
    "line_price": gettext_lazy("Unit price of %(line)s"),
    "line_discount": gettext_lazy("Discount on %(line)s"),
    "line_discount_type": gettext_lazy("Discount type of %(line)s"),
    "line_tax": gettext_lazy("Tax rate in percent of %(line)s"),
    "remove_line": gettext_lazy("Remove %(line)s"),
    "remove": gettext_lazy("Remove"),
    "percent_off": gettext_lazy("%"),
    "amount_off": gettext_lazy("Amount"),
    "line_removed": gettext_lazy("Line removed: %(line)s"),
    "line_added": gettext_lazy("Line added: %(line)s"),
    "pricing": gettext_lazy("…"),
    "deal_value": gettext_lazy("Deal value in Pipedrive"),
    "difference": gettext_lazy("Difference from the deal"),
    "same_as_deal": gettext_lazy("Same as the deal"),
    "create": gettext_lazy("Create invoice"),
    "creating": gettext_lazy("Creating…"),
    "cancel": gettext_lazy("Cancel"),
    "discard_title": gettext_lazy("Discard your changes?"),
    "discard": gettext_lazy("The invoice was not created. Your changes to it will be lost."),
    "discard_ok": gettext_lazy("Discard"),
    "fix_problems": gettext_lazy("Fix the problems marked below before creating the invoice."),
    "installment_invoiced": gettext_lazy("Invoiced: %(number)s"),
    "installment_create": gettext_lazy("Create its invoice"),
    "installments_done": gettext_lazy("Every instalment has its invoice."),
    "installments_created": gettext_lazy("%(count)s instalment invoice(s) created."),
    "retry": gettext_lazy("QuickBooks did not answer. Try again: the invoice will not be created twice."),
}


def _text() -> str:
    return json.dumps({key: str(value) for key, value in TEXT.items()})


def _deal_id(request) -> int | None:
    """The deal the extension was opened on: `selectedIds` (panel) or the modal's `data.dealId`."""
    candidates = [request.GET.get("selectedIds", "").split(",")[0]]
    try:
        data = json.loads(request.GET.get("data") or "{}")
        if isinstance(data, dict):
            candidates.insert(0, str(data.get("dealId", "")))
    except ValueError:
        pass
    for value in candidates:
        if value.strip().isdigit() and int(value) > 0:
            return int(value)
    return None


def _refused(request, *, extension: str, message: str, status: int, link: dict | None = None):
    """A refusal Pipedrive will still display: the page initialises the SDK like any extension (an
    iframe not initialised within 10 s is not shown at all), so the user reads why."""
    context = {
        "message": message,
        "link": link,
        "extension": extension,
        "theme": "dark" if request.GET.get("theme") == "dark" else "light",
    }
    return render(request, "panel/refused.html", context, status=status)


def _render_extension(request, *, template: str):
    extension = "modal" if template == "panel/modal.html" else "panel"
    try:
        claims = verify_panel_token(
            token=request.GET.get("token", ""),
            company_id=request.GET.get("companyId"),
            user_id=request.GET.get("userId"),
        )
        membership = membership_for_claims(claims=claims)
    except PanelTokenError as exc:
        logger.info("panel: refused token (%s)", exc.code)
        install = {"url": f"{settings.PUBLIC_BASE_URL}{reverse('pipedrive:install')}", "label": _("Install the app")}
        if exc.code == "unknown_company":
            message = _("QuickBooks invoicing is not installed for your Pipedrive company yet.")
            return _refused(request, extension=extension, message=message, status=401, link=install)
        if exc.code == "unknown_user":
            message = _("You have not installed QuickBooks invoicing yet: each Pipedrive user installs it once.")
            return _refused(request, extension=extension, message=message, status=401, link=install)
        message = _("Open this from a deal in Pipedrive. If you just installed the app, reload the page.")
        return _refused(request, extension=extension, message=message, status=401)
    activate_for_membership(request, membership)  # the seat's language, not only the browser's
    deal_id = _deal_id(request)
    if deal_id is None:
        return _refused(request, extension=extension, message=_("This panel belongs on a deal."), status=400)
    context = {
        "deal_id": deal_id,
        "theme": "dark" if request.GET.get("theme") == "dark" else "light",
        "text": _text(),
        "settings_url": f"{settings.PUBLIC_BASE_URL}{reverse('tenants:settings')}",
        "modal": extension == "modal",
        "modal_id": settings.PIPEDRIVE_MODAL_ID,
        "extension": extension,
    }
    return render(request, template, context)


@require_GET
@pipedrive_frameable
def deal_panel(request):
    """The deal detail panel: the deal's invoices, actions, summary, the contact's other invoices."""
    return _render_extension(request, template="panel/deal.html")


@require_GET
@pipedrive_frameable
def invoice_modal(request):
    """The create-invoice modal, opened by the panel's "+ Invoice" (open_modal custom_modal)."""
    return _render_extension(request, template="panel/modal.html")
