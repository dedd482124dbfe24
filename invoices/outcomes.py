"""What a void or delete made from Pipedrive leaves in the invoice's history.

QBO's webhook for our own write can be processed before QBO's answer reaches us (the sandbox, like
Intuit, notifies as soon as the write commits), so the status move may already be logged as made
"in QuickBooks" by nobody. The user who acted is known here: the event is attributed to them.
Voiding an invoice with payments unlinks them; QBO keeps them as unapplied credit on the customer
(integration/sandbox/quickbooks/README.md, "Void"), and the history says so.
"""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext as _

from invoices.models import Invoice, InvoiceEvent
from invoices.money import format_amount
from invoices.status import LABELS, Status


def unapplied_credit_text(*, invoice: Invoice, amount: Decimal) -> str:
    return _("The payment of %(amount)s %(currency)s is now unapplied credit for %(customer)s in QuickBooks.") % {
        "amount": format_amount(amount, invoice.currency),
        "currency": invoice.currency,
        "customer": invoice.customer_name or _("the customer"),
    }


def record_action_outcome(*, invoice: Invoice, actor, kind: str, unapplied: Decimal = Decimal(0)) -> None:
    """Attribute the latest `kind` event to `actor` and add what happened to the payments."""
    event = InvoiceEvent.objects.filter(invoice=invoice, kind=kind).order_by("-created_at", "-id").first()
    if event is None:
        return
    data = dict(event.data or {})
    old = data.get("from")
    message = event.message
    if isinstance(old, str) and old in Status._value2member_map_ and event.actor_id is None:
        message = _("%(old)s → %(new)s in %(source)s") % {
            "old": LABELS[Status(old)],
            "new": LABELS[Status(kind)],
            "source": "Pipedrive",
        }
    if actor is not None:
        event.actor = actor
    if unapplied > 0 and "unapplied_credit" not in data:
        data["unapplied_credit"] = f"{unapplied:.2f}"
        message = f"{message}. {unapplied_credit_text(invoice=invoice, amount=unapplied)}"
    event.message = message[:500]
    event.data = data
    event.save(update_fields=["actor", "message", "data"])
