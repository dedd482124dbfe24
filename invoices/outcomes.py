"""What a void or delete made from Pipedrive leaves in the invoice's history.

QBO's webhook for our own write can be processed before QBO's answer reaches us (the sandbox, like
Intuit, notifies as soon as the write commits), so the status move may already be logged as made
"in QuickBooks" by nobody. The user who acted is known here: the event is attributed to them.
Voiding an invoice with payments unlinks them; QBO keeps them as unapplied credit on the customer
(integration/sandbox/quickbooks/README.md, "Void"), and the history says so.
"""

from __future__ import annotations

from decimal import Decimal

from invoices import event_text
from invoices.models import Invoice, InvoiceEvent
from invoices.status import Status


def record_action_outcome(*, invoice: Invoice, actor, kind: str, unapplied: Decimal = Decimal(0)) -> None:
    """Attribute the latest `kind` event to `actor` and add what happened to the payments."""
    event = InvoiceEvent.objects.filter(invoice=invoice, kind=kind).order_by("-created_at", "-id").first()
    if event is None:
        return
    data = dict(event.data or {})
    parts = event_text.parts_for(event.kind, event.message, data)
    old = data.get("from")
    if isinstance(old, str) and old in Status._value2member_map_ and event.actor_id is None:
        parts = [event_text.part("status_moved", old=old, new=kind, source="Pipedrive"), *parts[1:]]
    if actor is not None:
        event.actor = actor
    if unapplied > 0 and "unapplied_credit" not in data:
        data["unapplied_credit"] = f"{unapplied:.2f}"
        credit = event_text.part(
            "unapplied_credit",
            amount=data["unapplied_credit"],
            currency=invoice.currency,
            customer=invoice.customer_name,
        )
        if parts:
            parts = [*parts, credit]
        else:  # a row without text parts keeps its own message, in whatever language it was written
            event.message = f"{event.message}{event_text.SEPARATOR}{event_text.english([credit])}"
    if parts:
        data["text"] = parts
        event.message = event_text.english(parts)[:500]
    event.data = data
    event.save(update_fields=["actor", "message", "data"])
