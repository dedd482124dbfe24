"""Keeping our invoices in step with QuickBooks: webhooks, change data capture, targeted refresh.

Every path ends in `invoice_apply_qbo`, which re-derives the status from QBO's own data (the
webhook or CDC only says *that* something changed) and writes a history event when it moved.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from integration.models import WebhookEvent
from integration.quickbooks import entities, records
from integration.quickbooks.models import QuickBooksConnection
from integration.quickbooks.webhooks import Change
from invoices import credit, event_text, payments
from invoices.models import Invoice, InvoiceEvent
from invoices.status import Facts, Status, compute_status, past_due_q

logger = logging.getLogger(__name__)


def company_today(connection: QuickBooksConnection) -> dt.date:
    """Today in the QuickBooks company's timezone (due dates are dates there)."""
    try:
        zone = ZoneInfo(connection.timezone) if connection.timezone else dt.UTC
    except (ZoneInfoNotFoundError, ValueError):
        zone = dt.UTC
    return timezone.now().astimezone(zone).date()


def _date(value) -> dt.date | None:
    return dt.date.fromisoformat(value) if value else None


class QboValueOutOfRange(ValueError):
    """A QuickBooks invoice holds a value our columns cannot store (a total typed in QuickBooks
    beyond validation.MAX_AMOUNT, an unreadable number or date)."""


def qbo_values_problem(data: dict) -> str | None:
    """Why this QBO invoice's amounts or dates cannot be stored here (None when they can). The
    same limits as a draft's (invoices.validation): the columns are numeric(18, 2)."""
    from invoices.validation import MAX_AMOUNT, decimal_or_none

    qbo = records.invoice_of(data)
    if qbo.deleted:
        return None  # nothing but the id is read
    for name, value in qbo.amounts.items():
        number = decimal_or_none(value)
        # adjusted() first: comparing 1e999999999 would overflow the decimal context itself.
        if number is None or number.adjusted() >= 10 or abs(number) > MAX_AMOUNT:
            return _("%(field)s is %(value)s in QuickBooks, beyond what can be stored here (at most %(max)s).") % {
                "field": name,
                "value": str(value)[:40],
                "max": f"{MAX_AMOUNT:,}",
            }
    for name, value in qbo.dates.items():
        try:
            _date(value)
        except (TypeError, ValueError):
            return _("%(field)s is not a date in QuickBooks: %(value)s.") % {"field": name, "value": str(value)[:40]}
    return None


def copy_qbo_fields(*, invoice: Invoice, connection: QuickBooksConnection, data: dict, deleted: bool = False) -> Status:
    """Write a QBO invoice's facts onto our row (not saved) and return its derived status.

    Raises QboValueOutOfRange, before touching the row, when a value cannot be stored."""
    problem = None if deleted else qbo_values_problem(data)
    if problem:
        raise QboValueOutOfRange(problem)
    facts = Facts.from_qbo(data, deleted=deleted)
    status = compute_status(facts, today=company_today(connection))
    if status != Status.DELETED:
        qbo = records.invoice_of(data)
        invoice.qbo_id = qbo.id or invoice.qbo_id
        invoice.doc_number = qbo.doc_number or invoice.doc_number
        invoice.customer_qbo_id = qbo.customer_id or invoice.customer_qbo_id
        invoice.customer_name = qbo.customer_name or invoice.customer_name
        invoice.bill_email = (qbo.bill_email or invoice.bill_email)[:100]
        invoice.currency = qbo.currency or connection.home_currency or "USD"
        invoice.total = facts.total
        invoice.balance = facts.balance
        invoice.tax_total = Decimal(str(qbo.total_tax))
        invoice.txn_date = _date(qbo.txn_date) or invoice.txn_date
        invoice.due_date = _date(qbo.due_date)
        invoice.sent = invoice.sent or qbo.email_sent
        invoice.private_note = qbo.private_note[:4000]
        invoice.sync_token = qbo.sync_token or invoice.sync_token
        invoice.qbo_updated_at = parse_datetime(qbo.updated_at) or invoice.qbo_updated_at
    invoice.status = status
    invoice.state = Invoice.State.CREATED
    invoice.last_synced_at = timezone.now()
    return status


def record_status_change(*, invoice: Invoice, old_status: str, actor=None, source: str = "QuickBooks") -> None:
    """The history event for a status move (voided and deleted have their own kinds)."""
    new = Status(invoice.status)
    if new == Status(old_status):
        return
    kind = {Status.VOIDED: InvoiceEvent.Kind.VOIDED, Status.DELETED: InvoiceEvent.Kind.DELETED}.get(
        new, InvoiceEvent.Kind.STATUS_CHANGED
    )
    event_text.record_event(
        invoice=invoice,
        kind=kind,
        actor=actor,
        text=[event_text.part("status_moved", old=old_status, new=new.value, source=source)],
        data={"from": old_status, "to": new.value},
    )


def invoice_apply_qbo(*, connection: QuickBooksConnection, data: dict, deleted: bool = False) -> Invoice:
    """Upsert our copy of a QBO invoice (read, query or CDC shape) and record what changed.

    Must run inside the connection's company scope.
    """
    qbo = records.invoice_of(data)
    qbo_id = qbo.id
    updated = parse_datetime(qbo.updated_at)
    problem = None if deleted else qbo_values_problem(data)
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().filter(connection=connection, qbo_id=qbo_id).first()
        created = invoice is None
        if problem:
            return _out_of_range(connection=connection, invoice=invoice, qbo_id=qbo_id, problem=problem)
        if invoice is None:
            if deleted or qbo.deleted:
                return Invoice(
                    connection=connection, qbo_id=qbo_id, status=Status.DELETED
                )  # never seen: nothing to show
            intent = pending_intent_for(connection=connection, data=data)
            if intent is not None:
                return _adopt(intent=intent, connection=connection, data=data)
            invoice = Invoice(company=connection.company, connection=connection, qbo_id=qbo_id)
        elif updated and invoice.qbo_updated_at and updated < invoice.qbo_updated_at and not deleted:
            return invoice  # an older copy than the one we hold (events arrive out of order)
        old_status, old_total, old_state = invoice.status, invoice.total, invoice.state
        status = copy_qbo_fields(invoice=invoice, connection=connection, data=data, deleted=deleted)
        if not created and old_state == Invoice.State.PENDING and status != Status.DELETED:
            invoice.state = old_state  # an adopted intent: its create finishes it (lines, links, email)
        invoice.save()
        if created:
            event_text.record_event(invoice=invoice, kind=InvoiceEvent.Kind.SYNCED, text=[event_text.part("found")])
        elif status != old_status:
            record_status_change(invoice=invoice, old_status=old_status)
        elif invoice.total != old_total and status != Status.DELETED:
            text = event_text.part("amount_changed", old=old_total, new=invoice.total, currency=invoice.currency)
            event_text.record_event(
                invoice=invoice,
                kind=InvoiceEvent.Kind.SYNCED,
                text=[text],
                data={"from": str(old_total), "to": str(invoice.total)},
            )
    return invoice


def _out_of_range(*, connection: QuickBooksConnection, invoice: Invoice | None, qbo_id: str, problem: str) -> Invoice:
    """A QBO invoice we cannot store: never fail the webhook or CDC batch it came in. A known row
    keeps its last stored amounts and says why it is not updated; a new one is not imported."""
    logger.warning("QuickBooks invoice %s of realm %s not stored: %s", qbo_id, connection.realm_id, problem)
    if invoice is None:
        return Invoice(connection=connection, qbo_id=qbo_id, last_error=problem[:1000])
    invoice.last_error = (_("Not updated from QuickBooks: %(problem)s Open it in QuickBooks.") % {"problem": problem})[
        :1000
    ]
    invoice.last_synced_at = timezone.now()
    invoice.save(update_fields=["last_error", "last_synced_at", "updated_at"])
    return invoice


ADOPT_WINDOW = dt.timedelta(days=2)


def pending_intent_for(*, connection: QuickBooksConnection, data: dict) -> Invoice | None:
    """The pending create this QBO invoice (new to us) came from, if any: a create whose process
    died after QBO wrote the invoice, or whose answer is still on its way. Matched on what the
    intent sent: customer, issue date, total and number; the oldest such intent wins.

    Must run in a transaction (the intent is locked)."""
    qbo = records.invoice_of(data)
    try:
        total = Decimal(str(qbo.total))
        txn_date = _date(qbo.txn_date)
    except (ArithmeticError, ValueError, TypeError):
        return None
    if txn_date is None or not total.is_finite():
        return None
    candidates = (
        Invoice.objects.select_for_update()
        .filter(
            connection=connection,
            state=Invoice.State.PENDING,
            qbo_id="",
            txn_date=txn_date,
            created_at__gte=timezone.now() - ADOPT_WINDOW,
        )
        .order_by("created_at", "id")
    )
    doc_number = qbo.doc_number
    for intent in candidates[:50]:
        if not money_equal(intent.total, total):
            continue
        if intent.customer_qbo_id:
            if intent.customer_qbo_id != qbo.customer_id:
                continue
        elif intent.customer_name.strip() != qbo.customer_name.strip():
            continue
        wanted_number = str(((intent.payload or {}).get("draft") or {}).get("doc_number") or "")
        if wanted_number and wanted_number != doc_number:
            continue
        return intent
    return None


def money_equal(a, b) -> bool:
    try:
        return Decimal(a).quantize(Decimal("0.01")) == Decimal(b).quantize(Decimal("0.01"))
    except ArithmeticError:
        return False


def _adopt(*, intent: Invoice, connection: QuickBooksConnection, data: dict) -> Invoice:
    """Attach the QBO invoice to its pending intent instead of importing a second row. The intent
    stays pending, due now: its own create (or the sweeper, replaying the requestid) finishes it."""
    copy_qbo_fields(invoice=intent, connection=connection, data=data)
    intent.state = Invoice.State.PENDING
    intent.save()
    if intent.claimed_until and intent.claimed_until > timezone.now():
        return intent  # its create is storing the answer right now: nothing to tell
    intent.next_attempt_at = timezone.now()
    intent.save(update_fields=["next_attempt_at"])
    event_text.record_event(
        invoice=intent,
        kind=InvoiceEvent.Kind.SYNCED,
        text=[event_text.part("adopted", number=intent.doc_number or intent.qbo_id)],
        data={"adopted": True},
    )
    return intent


def invoice_mark_deleted(*, connection: QuickBooksConnection, qbo_id: str) -> Invoice | None:
    """QBO says the invoice is gone (delete answer, 610, CDC or webhook)."""
    if not Invoice.objects.filter(connection=connection, qbo_id=qbo_id).exists():
        return None
    return invoice_apply_qbo(connection=connection, data=records.invoice_deleted_stub(qbo_id), deleted=True)


def invoices_refetch(*, connection: QuickBooksConnection, qbo_ids: Iterable[str]) -> list[Invoice]:
    """Re-read these invoices from QBO in as few queries as possible and apply them.

    Ids QBO no longer returns were deleted there.
    """
    from integration.quickbooks.services import client_for

    wanted = sorted({str(i) for i in qbo_ids if str(i).isdigit()}, key=int)
    if not wanted:
        return []
    applied = []
    seen = set()
    for row in entities.invoices_by_ids(client_for(connection=connection), wanted):
        seen.add(records.invoice_of(row).id)
        applied.append(invoice_apply_qbo(connection=connection, data=row))
    for missing in sorted(set(wanted) - seen, key=int):
        gone = invoice_mark_deleted(connection=connection, qbo_id=missing)
        if gone is not None:
            applied.append(gone)
    return applied


def _invoice_ids_of_payments(client, payment_ids: list[str], read: list[dict] | None = None) -> set[str]:
    rows = entities.payments_by_ids(client, payment_ids)
    if read is not None:
        read.extend(rows)
    return linked_invoices(rows)


def linked_invoices(payments: Iterable[dict]) -> set[str]:
    """The (numeric) ids of the invoices these QBO payments pay."""
    return {
        invoice_id
        for payment in payments
        for line in records.payment_of(payment).lines
        for invoice_id in line.invoice_ids
        if invoice_id.isdigit()
    }


def changes_apply(*, connection: QuickBooksConnection, changes: Iterable[Change | WebhookEvent]) -> list[Invoice]:
    """Apply a batch of changes for one connection: deleted invoices are marked, the rest re-fetched
    together, plus the invoices linked to changed payments; changed credit memos are re-read, and the
    balances of the customers concerned read again (invoices/credit.py)."""
    from integration.quickbooks.services import client_for

    to_fetch: set[str] = set()
    payment_ids: list[str] = []
    payments_read: list[dict] = []
    gone_payments: list[str] = []
    memo_ids: set[str] = set()
    customers: set[str] = set()
    applied: list[Invoice] = []
    for change in changes:
        if not str(change.entity_id).isdigit():
            continue
        if change.entity == "Invoice":
            if change.operation == "Delete":
                gone = invoice_mark_deleted(connection=connection, qbo_id=str(change.entity_id))
                if gone is not None:
                    applied.append(gone)
            else:
                to_fetch.add(str(change.entity_id))
        elif change.entity == "Payment" and change.operation != "Delete":
            payment_ids.append(str(change.entity_id))
        elif change.entity == "Payment":
            gone_payments.append(str(change.entity_id))  # money loop: it pays nothing any more
            # A deleted payment cannot be read back; the invoices it paid are refreshed below.
            to_fetch |= set(
                Invoice.objects.filter(connection=connection, status__in=[Status.PAID, Status.PARTIALLY_PAID])
                .exclude(qbo_id="")
                .values_list("qbo_id", flat=True)
            )
        elif change.entity == "CreditMemo":
            memo_ids.add(str(change.entity_id))  # a delete too: re-reading finds it gone
        elif change.entity == "Customer":
            customers.add(str(change.entity_id))
    if payment_ids:
        to_fetch |= _invoice_ids_of_payments(client_for(connection=connection), payment_ids, payments_read)
    applied.extend(invoices_refetch(connection=connection, qbo_ids=to_fetch))
    memo_ids |= credit.credit_memos_missing(connection=connection, payments=payments_read)
    customers |= credit.credit_memos_refetch(connection=connection, qbo_ids=memo_ids)
    payments.payments_forget(connection=connection, payment_ids=gone_payments)
    payments.payments_store(connection=connection, payments=payments_read)  # after the invoices they pay
    customers |= {i.customer_qbo_id for i in applied} | payments.customers_of(payments_read)
    credit.balances_refresh(connection=connection, customer_ids=customers)
    return applied


def overdue_refresh(*, connection: QuickBooksConnection) -> int:
    """Recompute the status of open invoices whose due date has passed (the daily job)."""
    today = company_today(connection)
    moved = 0
    for invoice in Invoice.objects.filter(
        past_due_q(today=today), connection=connection, status=Status.OPEN, state=Invoice.State.CREATED
    ):
        with transaction.atomic():
            # Only if still Open: a payment applied meanwhile must not be overwritten.
            if not Invoice.objects.filter(pk=invoice.pk, status=Status.OPEN).update(
                status=Status.OVERDUE, updated_at=timezone.now()
            ):
                continue
            event_text.record_event(
                invoice=invoice,
                kind=InvoiceEvent.Kind.STATUS_CHANGED,
                text=[event_text.part("overdue", date=invoice.due_date)],
                data={"from": Status.OPEN.value, "to": Status.OVERDUE.value},
            )
        moved += 1
    return moved
