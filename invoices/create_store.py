"""Storing QuickBooks' answer to a create: the invoice, its lines, the customer and product links,
its history; once, whoever (request or worker) gets the answer first."""

from __future__ import annotations

import logging

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from integration.quickbooks import records
from integration.quickbooks.records import QboCustomer
from invoices import event_text, faults, money, sync
from invoices.drafts import Draft
from invoices.errors import is_transient
from invoices.invoice_document import BuiltLine
from invoices.models import CustomerLink, Invoice, InvoiceDeal, InvoiceEvent, InvoiceLine, ProductLink
from invoices.preflight import Checked
from tenants.models import Membership

logger = logging.getLogger(__name__)


def store_answer(
    *, invoice_id: int, draft: Draft, checked: Checked, customer: QboCustomer, created: dict, lines: list[BuiltLine]
) -> Invoice:
    """QBO has the invoice: store it. If the full record cannot be written (a value our columns
    cannot hold, a bug), store what identifies it, so the intent still ends created, once."""
    try:
        with transaction.atomic():
            invoice = (
                Invoice.objects.select_for_update(of=("self",))
                .select_related("connection", "created_by")
                .get(pk=invoice_id)
            )
            if invoice.state == Invoice.State.PENDING:  # else another worker stored the same answer first
                _store_created(
                    invoice=invoice, draft=draft, checked=checked, customer=customer, created=created, lines=lines
                )
        return invoice
    except Exception as exc:
        if is_transient(exc):
            # Our database is away: the claim expires, the sweeper replays the requestid and stores then.
            raise
        logger.exception("storing QuickBooks' answer for invoice %s failed; storing its identity only", invoice_id)
        return _store_identity(invoice_id=invoice_id, created=created, error=exc)


def _store_identity(*, invoice_id: int, created: dict, error: Exception) -> Invoice:
    """The fallback of `store_answer`: the QBO id, number and status, no amounts or lines."""
    qbo = records.invoice_of(created)
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update(of=("self",)).select_related("connection").get(pk=invoice_id)
        if invoice.state != Invoice.State.PENDING:
            return invoice
        qbo_id = qbo.id[:32]
        _fold_twin(invoice=invoice, qbo_id=qbo_id)
        invoice.qbo_id = qbo_id
        invoice.doc_number = qbo.doc_number[:21]
        invoice.sync_token = qbo.sync_token[:16]
        invoice.state = Invoice.State.CREATED
        invoice.status = Invoice.Status.OPEN
        invoice.balance = invoice.total  # the expected total, until the next sync reads QBO's facts
        invoice.attempts += 1
        invoice.claimed_until = None
        invoice.next_attempt_at = None
        invoice.last_synced_at = timezone.now()
        invoice.last_error = (
            _("Created in QuickBooks, but its details could not be stored here (%(error)s). Open it in QuickBooks.")
            % {"error": error.__class__.__name__}
        )[:1000]
        invoice.save()
        event_text.record_event(
            invoice=invoice,
            kind=InvoiceEvent.Kind.CREATED,
            actor=invoice.created_by,
            text=[event_text.part("created", number=invoice.doc_number or invoice.qbo_id)],
            data={"stored": "identity_only", "error": str(error)[:300]},
        )
    return invoice


def _fold_twin(*, invoice: Invoice, qbo_id: str) -> None:
    """QBO's webhook for this very invoice can beat us here, and the sync then filed it as
    "found in QuickBooks". Ours is the same invoice: fold that copy into it."""
    twin = (
        Invoice.objects.select_for_update()
        .filter(connection_id=invoice.connection_id, qbo_id=qbo_id)
        .exclude(pk=invoice.pk)
        .first()
    )
    if twin is not None:
        for link in InvoiceDeal.objects.filter(invoice=twin):
            InvoiceDeal.objects.get_or_create(
                invoice=invoice,
                deal_id=link.deal_id,
                defaults={"company": invoice.company, "linked_by": link.linked_by},
            )
        twin.delete()


def _store_created(
    *, invoice: Invoice, draft: Draft, checked: Checked, customer: QboCustomer, created: dict, lines: list[BuiltLine]
) -> None:
    connection = invoice.connection
    _fold_twin(invoice=invoice, qbo_id=records.invoice_of(created).id)
    sync.copy_qbo_fields(invoice=invoice, connection=connection, data=created)
    invoice.attempts += 1
    invoice.last_error = ""
    invoice.next_attempt_at = None
    invoice.claimed_until = None
    mismatch = money.round2(invoice.total) != money.round2(checked.expected_total)
    if mismatch:
        invoice.last_error = _("QuickBooks totals %(qbo)s but the confirmed lines total %(deal)s.") % {
            "qbo": invoice.total,
            "deal": checked.expected_total,
        }
    invoice.save()
    faults.step("during_write")
    # An import may have attached QBO's lines to the intent already (sync.pending_intent_adopt).
    InvoiceLine.objects.filter(invoice=invoice).delete()
    InvoiceLine.objects.bulk_create(
        [
            InvoiceLine(
                company=invoice.company,
                invoice=invoice,
                position=index,
                description=line.sales.description,
                pipedrive_product_id=line.source["pipedrive_product_id"],
                qbo_item_id=line.sales.item_id,
                quantity=line.sales.quantity,
                unit_price=line.sales.unit_price,
                amount=line.sales.amount,
                tax_code=line.sales.tax_code,
            )
            for index, line in enumerate(lines, start=1)
        ]
    )
    if draft.customer.pipedrive_id is not None and draft.customer.pipedrive_entity in {"organization", "person"}:
        CustomerLink.objects.update_or_create(
            connection=connection,
            entity=draft.customer.pipedrive_entity,
            pipedrive_id=draft.customer.pipedrive_id,
            defaults={
                "company": invoice.company,
                "qbo_customer_id": customer.id,
                "display_name": customer.display_name,
            },
        )
    for line in draft.lines:
        if line.pipedrive_product_id:
            item = checked.items.get(line.qbo_item_id)
            ProductLink.objects.update_or_create(
                connection=connection,
                pipedrive_product_id=line.pipedrive_product_id,
                defaults={
                    "company": invoice.company,
                    "qbo_item_id": line.qbo_item_id,
                    "item_name": (item.name if item else "") or line.qbo_item_name,
                },
            )
    event_text.record_event(
        invoice=invoice,
        kind=InvoiceEvent.Kind.CREATED,
        actor=invoice.created_by,
        text=[event_text.part("created", number=invoice.doc_number or invoice.qbo_id)],
        data={"total": str(invoice.total), "expected": str(checked.expected_total), "mismatch": mismatch},
    )
    if draft.send_email and draft.customer.email:
        invoice_id, actor_id = invoice.pk, invoice.created_by_id
        transaction.on_commit(lambda: _send_after_create(invoice_id=invoice_id, actor_id=actor_id))


def _send_after_create(*, invoice_id: int, actor_id: int | None) -> None:
    from invoices.lifecycle import invoice_send

    invoice = Invoice.objects.get(pk=invoice_id)
    actor = Membership.objects.filter(pk=actor_id).first() if actor_id is not None else None
    try:
        invoice_send(invoice=invoice, actor=actor)
    except Exception:  # the invoice exists; sending can be retried from the panel
        logger.exception("sending invoice %s after create failed", invoice_id)
