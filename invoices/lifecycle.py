"""What happens to an invoice after its create: void, delete, send, PDF, refresh, deal links."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext as _

from integration.quickbooks import entities, records
from integration.quickbooks.client import PdfDownload
from integration.quickbooks.errors import QboStaleObject
from integration.quickbooks.models import QuickBooksConnection
from invoices import credit, event_text, sync
from invoices.access import require_action
from invoices.errors import InvoiceError
from invoices.models import Invoice, InvoiceDeal, InvoiceEvent
from invoices.preflight import Problem
from tenants.models import Membership


def _client(connection: QuickBooksConnection):
    from integration.quickbooks.services import client_for

    return client_for(connection=connection)


def _with_fresh_sync_token(invoice: Invoice, call):
    """Run a QBO write; on a stale SyncToken (5010) re-read the invoice once and try again."""
    try:
        return call(invoice.sync_token)
    except QboStaleObject:
        fresh = entities.invoice_get(_client(invoice.connection), invoice.qbo_id)
        sync.copy_qbo_fields(invoice=invoice, connection=invoice.connection, data=fresh)
        invoice.save()
        return call(invoice.sync_token)


def _apply_action(invoice: Invoice, data: dict, *, actor, deleted: bool = False) -> Invoice:
    """Store QBO's answer to an action. The webhook for it may have been applied already, so the
    status move is measured against the row as stored now."""
    with transaction.atomic():
        stored = Invoice.objects.select_for_update().get(pk=invoice.pk)
        old_status = stored.status if stored.status != invoice.status else invoice.status
        sync.copy_qbo_fields(invoice=invoice, connection=invoice.connection, data=data, deleted=deleted)
        invoice.save()
        sync.record_status_change(invoice=invoice, old_status=old_status, actor=actor, source="Pipedrive")
    return invoice


def invoice_void(*, invoice: Invoice, actor: Membership | None) -> Invoice:
    """Void in QBO (irreversible: amounts become zero, the number stays)."""
    from invoices.outcomes import record_action_outcome

    require_action(invoice, "void", actor)
    client = _client(invoice.connection)
    received = {}

    def void(token):
        # Measured right before the call (after a stale-token re-read): what was paid is what QBO unlinks.
        received["amount"] = max(invoice.total - invoice.balance, Decimal(0))
        return entities.invoice_void(client, invoice.qbo_id, token)

    voided = _with_fresh_sync_token(invoice, void)
    _apply_action(invoice, voided, actor=actor)
    record_action_outcome(invoice=invoice, actor=actor, kind="voided", unapplied=received.get("amount", Decimal(0)))
    return invoice


def invoice_delete(*, invoice: Invoice, actor: Membership | None) -> Invoice:
    """Delete in QBO; our copy stays, marked deleted, with its history."""
    from invoices.outcomes import record_action_outcome

    require_action(invoice, "delete", actor)
    client = _client(invoice.connection)
    _with_fresh_sync_token(invoice, lambda token: entities.invoice_delete(client, invoice.qbo_id, token))
    _apply_action(invoice, records.invoice_deleted_stub(invoice.qbo_id), actor=actor, deleted=True)
    record_action_outcome(invoice=invoice, actor=actor, kind="deleted")
    return invoice


def invoice_send(*, invoice: Invoice, actor: Membership | None, to: str = "", cc: str = "") -> Invoice:
    """QBO emails the invoice to `to`, else to its billing email (`cc` in copy)."""
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    require_action(invoice, "send", actor)
    address = (to or invoice.bill_email or "").strip()
    try:
        validate_email(address)
    except ValidationError as exc:
        raise InvoiceError(
            _("Give an email address to send the invoice to.")
            if not address
            else _("“%(email)s” is not an email address.") % {"email": address},
            code="email_invalid",
            problems=[Problem("to", "email_invalid", _("Not an email address."))],
        ) from exc
    client = _client(invoice.connection)
    if cc.strip():
        # Issue 13: a recipient added in the panel goes in copy (BillEmailCc), set before sending.
        updated = _with_fresh_sync_token(
            invoice, lambda token: entities.invoice_set_copy_to(client, invoice.qbo_id, token, cc.strip())
        )
        invoice.sync_token = records.invoice_of(updated).sync_token or invoice.sync_token
    sent = entities.invoice_send(client, invoice.qbo_id, to=address)
    with transaction.atomic():
        _apply_action(invoice, sent, actor=actor)
        invoice.sent = True
        invoice.save(update_fields=["sent", "updated_at"])
        sent_to = (
            event_text.part("emailed_cc", email=address, cc=cc.strip())
            if cc.strip()
            else event_text.part("emailed", email=address)
        )
        event_text.record_event(invoice=invoice, kind=InvoiceEvent.Kind.EMAILED, actor=actor, text=[sent_to])
    return invoice


def invoice_pdf(*, invoice: Invoice, actor: Membership | None) -> PdfDownload:
    """The PDF as QBO renders it, streamed (a PdfDownload: iterate `chunks()`, then `close()`)."""
    require_action(invoice, "pdf", actor)
    return entities.invoice_pdf(_client(invoice.connection), invoice.qbo_id)


def invoice_pdf_filename(invoice: Invoice) -> str:
    return f"invoice-{invoice.doc_number or invoice.qbo_id}.pdf"


def invoice_deep_link(*, invoice: Invoice) -> str:
    """Where 'Open in QuickBooks' goes."""
    return qbo_deep_link(qbo_id=invoice.qbo_id)


def qbo_deep_link(*, qbo_id: str) -> str:
    """The QuickBooks page of the invoice with this QBO id (for reads that hold no Invoice)."""
    return f"{settings.QBO_APP_BASE_URL.rstrip('/')}/invoice?txnId={qbo_id}"


def invoice_share_link(*, invoice: Invoice) -> str:
    """QBO's shareable pay link (InvoiceLink); "" when QBO gives none."""
    # Doc: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice (InvoiceLink)
    data = entities.invoice_get(_client(invoice.connection), invoice.qbo_id, share_link=True)
    return records.invoice_of(data).share_link


def invoice_refresh(*, connection: QuickBooksConnection, invoices: list[Invoice]) -> list[Invoice]:
    """Refresh now: re-read these invoices from QBO in one query."""
    return sync.invoices_refetch(connection=connection, qbo_ids=[i.qbo_id for i in invoices if i.qbo_id])


def customer_invoices_pull(
    *, connection: QuickBooksConnection, customer_qbo_id: str, date_from: dt.date | None, date_to: dt.date | None
) -> int:
    """Read a customer's invoices in a date range from QBO (all pages) and store them here, including
    ones typed into QuickBooks; ours the query no longer returns (moved or deleted there) are re-read."""
    from invoices import selectors

    seen = set()
    rows = entities.invoices_of_customer(_client(connection), customer_qbo_id, date_from=date_from, date_to=date_to)
    for row in rows:
        sync.invoice_apply_qbo(connection=connection, data=row)
        seen.add(records.invoice_of(row).id)
    ours = selectors.invoices_of_customer(
        company=connection.company,
        connection=connection,
        customer_qbo_id=customer_qbo_id,
        date_from=date_from,
        date_to=date_to,
    )
    invoice_refresh(connection=connection, invoices=[i for i in ours if i.qbo_id not in seen])
    # Money loop: the contact view shows the customer's open balance and unapplied credit.
    credit.balances_refresh(connection=connection, customer_ids=[customer_qbo_id], tracked_only=False)
    return len(seen)


def _deal_event(*, invoice: Invoice, kind: str, actor: Membership | None, deal_id: int) -> None:
    """Linked or unlinked: the text's key is the event's kind."""
    text = [event_text.part(str(kind), deal=deal_id)]
    event_text.record_event(invoice=invoice, kind=kind, actor=actor, text=text, data={"deal_id": deal_id})


def invoice_link_deal(*, invoice: Invoice, deal_id: int, actor: Membership | None) -> InvoiceDeal:
    """Show this invoice on a deal too (idempotent)."""
    with transaction.atomic():
        link, created = InvoiceDeal.objects.get_or_create(
            invoice=invoice, deal_id=deal_id, defaults={"company": invoice.company, "linked_by": actor}
        )
        if created:
            _deal_event(invoice=invoice, kind=InvoiceEvent.Kind.LINKED, actor=actor, deal_id=deal_id)
    return link


def invoice_unlink_deal(*, invoice: Invoice, deal_id: int, actor: Membership | None) -> bool:
    """Stop showing this invoice on a deal; False when it was not shown there."""
    with transaction.atomic():
        deleted, _count = InvoiceDeal.objects.filter(invoice=invoice, deal_id=deal_id).delete()
        if deleted:
            _deal_event(invoice=invoice, kind=InvoiceEvent.Kind.UNLINKED, actor=actor, deal_id=deal_id)
    return bool(deleted)
