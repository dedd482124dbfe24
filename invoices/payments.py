"""Payments and credit applied to our invoices, from QuickBooks Payment objects (money loop, item 2).

Fed by the same paths as the invoices (`sync.changes_apply` for webhooks, `connection_cdc_sync`): every
Payment read there is stored here, per invoice line it pays. A Payment's lines link Invoices (what it
pays) and CreditMemos (credit used): QuickBooks applies a credit memo to an invoice through a Payment
whose invoice lines add up to its cash total plus its credit lines. The credit is spread over the
payment's invoice lines in proportion to their amounts.
https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/payment
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.utils.dateparse import parse_date, parse_datetime

from integration.quickbooks.models import QuickBooksConnection
from integration.quickbooks.records import payment_of
from invoices.credit import credit_memo_labels
from invoices.models import Invoice, InvoicePayment
from invoices.validation import MAX_AMOUNT

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")


def _dec(value) -> Decimal:
    try:
        number = Decimal(str(value or 0))
    except ArithmeticError:
        return Decimal(0)
    if not number.is_finite():
        return Decimal(0)
    # Beyond any column anyway (and summing 1e999999999 would overflow the decimal context): keep it
    # too large but harmless, for the range check of payment_store.
    return number if number.adjusted() < 18 else Decimal("1e18").copy_sign(number)


def payment_store(*, connection: QuickBooksConnection, data: dict) -> int:
    """Replace what this Payment applied to our invoices (an older copy than ours is ignored).
    Returns the rows written. Must run inside the connection's company scope."""
    payment = payment_of(data)
    payment_id = payment.id
    if not payment_id:
        return 0
    updated = parse_datetime(payment.updated_at)
    invoice_lines = [(line.invoice_ids, _dec(line.amount)) for line in payment.lines if line.invoice_ids]
    credit = sum((_dec(line.amount) for line in payment.lines if line.credit_memo_ids), Decimal(0))
    invoiced = sum((amount for _ids, amount in invoice_lines), Decimal(0))
    if any(abs(amount) > MAX_AMOUNT for amount in [credit, invoiced, *(a for _ids, a in invoice_lines)]):
        # A payment typed in QuickBooks beyond our numeric(18, 2) columns: skip it, never the batch.
        logger.warning("QuickBooks payment %s not stored: an amount is beyond %s", payment_id, MAX_AMOUNT)
        return 0
    memo_ids = [i for line in payment.lines for i in line.credit_memo_ids]
    memos = credit_memo_labels(connection=connection, qbo_ids=memo_ids) if credit else ""
    with transaction.atomic():
        existing = InvoicePayment.objects.select_for_update().filter(connection=connection, payment_qbo_id=payment_id)
        newest = max((row.qbo_updated_at for row in existing if row.qbo_updated_at), default=None)
        if updated and newest and updated < newest:
            return 0  # events arrive out of order: keep the newer copy
        existing.delete()
        if payment.deleted or payment.voided:
            return 0
        wanted = [qbo_id for ids, _amount in invoice_lines for qbo_id in ids]
        invoices = {i.qbo_id: i for i in Invoice.objects.filter(connection=connection, qbo_id__in=wanted)}
        rows: dict[int, InvoicePayment] = {}
        for ids, amount in invoice_lines:
            share = (credit * amount / invoiced).quantize(CENT, rounding=ROUND_HALF_UP) if invoiced else Decimal(0)
            for qbo_id in ids:
                invoice = invoices.get(qbo_id)
                if invoice is None:
                    continue  # an invoice we do not know (not made or linked here)
                row = rows.get(invoice.pk) or InvoicePayment(
                    company=connection.company,
                    connection=connection,
                    invoice=invoice,
                    payment_qbo_id=payment_id,
                    txn_date=parse_date(payment.txn_date) if payment.txn_date else None,
                    currency=payment.currency or invoice.currency,
                    method=payment.method[:100],
                    reference=payment.reference[:100],
                    credit_memos=memos,
                    qbo_updated_at=updated,
                )
                row.amount += amount - share
                row.credit_applied += share
                rows[invoice.pk] = row
        InvoicePayment.objects.bulk_create(rows.values())
    return len(rows)


def payments_store(*, connection: QuickBooksConnection, payments: Iterable[dict]) -> int:
    return sum(payment_store(connection=connection, data=payment) for payment in payments)


def customers_of(payments: Iterable[dict]) -> set[str]:
    """The customers of these QuickBooks payments (their balances change with them)."""
    return {c for c in (payment_of(row).customer_id for row in payments) if c}


def payments_forget(*, connection: QuickBooksConnection, payment_ids: Iterable[str]) -> int:
    """A Payment deleted in QuickBooks: it paid nothing any more."""
    deleted, _count = InvoicePayment.objects.filter(
        connection=connection, payment_qbo_id__in=[str(i) for i in payment_ids]
    ).delete()
    return deleted


def payments_of(invoice: Invoice) -> list[dict]:
    """The panel's `payments` of an invoice (uses the prefetched `payments` when present)."""
    return [
        {
            "date": row.txn_date.isoformat() if row.txn_date else None,
            "amount": str(row.amount.quantize(CENT)),
            "credit_applied": str(row.credit_applied.quantize(CENT)),
            "currency": row.currency or invoice.currency,
            "method": row.method,
            "reference": row.reference,
            "credit_memos": row.credit_memos,
        }
        for row in invoice.payments.all()
    ]
