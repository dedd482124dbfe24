"""Issue 13: the same deal invoiced again with the same lines is most likely a mistake (three
identical invoices were once created silently). The modal warns and lets the user go on."""

from __future__ import annotations

from collections import Counter
from decimal import Decimal, InvalidOperation

from django.utils.formats import date_format
from django.utils.translation import gettext as _

from invoices.drafts import Draft
from invoices.models import Invoice, InvoiceLine
from invoices.money import format_amount
from invoices.status import Status


def _quantity(value) -> Decimal | None:
    try:
        return Decimal(str(value)).normalize()
    except (InvalidOperation, ValueError):
        return None


def _signature(pairs) -> Counter:
    return Counter((str(item or ""), _quantity(quantity)) for item, quantity in pairs)


def same_lines_invoices(*, connection, draft: Draft) -> list[Invoice]:
    """The deal's live invoices whose lines bill the same items in the same quantities as `draft`."""
    if not draft.deal_id or not draft.lines:
        return []
    wanted = _signature((line.qbo_item_id, line.quantity) for line in draft.lines)
    invoices = list(
        Invoice.objects.filter(connection=connection, deal_links__deal_id=draft.deal_id, state=Invoice.State.CREATED)
        .exclude(status__in=[Status.VOIDED, Status.DELETED])
        .order_by("-created_at")
    )
    lines: dict[int, list[tuple[str, Decimal]]] = {}
    for line in InvoiceLine.objects.filter(invoice__in=invoices).values("invoice_id", "qbo_item_id", "quantity"):
        lines.setdefault(line["invoice_id"], []).append((line["qbo_item_id"], line["quantity"]))
    return [invoice for invoice in invoices if lines.get(invoice.pk) and _signature(lines[invoice.pk]) == wanted]


def duplicate_warnings(*, connection, draft: Draft) -> list[dict]:
    return [
        {
            "code": "same_lines",
            "invoice_id": invoice.pk,
            "message": _(
                "Invoice %(number)s (%(amount)s %(currency)s, %(date)s) already bills this deal for the same lines. "
                "You can still create another one."
            )
            % {
                "number": invoice.doc_number or invoice.qbo_id,
                "amount": format_amount(invoice.total, invoice.currency),
                "currency": invoice.currency,
                "date": date_format(invoice.txn_date) if invoice.txn_date else "—",
            },
        }
        for invoice in same_lines_invoices(connection=connection, draft=draft)
    ]
