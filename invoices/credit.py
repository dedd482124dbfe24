"""Credit in the money loop (issue 15, item 4): our copies of QuickBooks credit memos and of each
customer's open balance and unapplied credit.

Fed by the same feeds as invoices and payments (`sync.changes_apply` for webhooks,
`sync_feeds.connection_cdc_sync`): a changed credit memo is re-read (webhooks carry no body) and
stored, the newer copy winning when events arrive out of order; one QuickBooks no longer returns was
deleted there. A customer's balance is read from QuickBooks (`integration.quickbooks.credit`) whenever
the customer, one of its invoices, payments or credit memos changed, and stored, so the panel's
contact view shows it with no call to QuickBooks. Only customers we track are read: those of our
invoices, of a stored balance, or of a credit memo we keep.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from integration.quickbooks import credit as qbo_credit
from integration.quickbooks.models import QuickBooksConnection
from invoices.models import CreditMemo, CustomerBalance, Invoice
from invoices.validation import MAX_AMOUNT

logger = logging.getLogger(__name__)


def _numeric(ids: Iterable[str]) -> list[str]:
    return sorted({str(i) for i in ids if str(i).isdigit()}, key=int)


def _client(connection: QuickBooksConnection):
    from integration.quickbooks.services import client_for

    return client_for(connection=connection)


def credit_memo_store(*, connection: QuickBooksConnection, memo: qbo_credit.CreditMemo) -> bool:
    """Store one credit memo as read from QuickBooks; an older copy than ours is ignored (events
    arrive out of order). Returns whether it was written. Runs in the connection's company scope."""
    if memo.deleted:
        return bool(credit_memos_forget(connection=connection, qbo_ids=[memo.id]))
    if max(abs(memo.total), abs(memo.remaining_credit)) > MAX_AMOUNT:
        logger.warning("QuickBooks credit memo %s not stored: an amount is beyond %s", memo.id, MAX_AMOUNT)
        return False
    updated = parse_datetime(memo.last_updated) if memo.last_updated else None
    with transaction.atomic():
        current = (
            CreditMemo.objects.select_for_update().filter(connection=connection, qbo_id=memo.id).first()
        )  # fmt: skip
        if current and current.qbo_updated_at and updated and updated < current.qbo_updated_at:
            return False
        CreditMemo.objects.update_or_create(
            company=connection.company,
            connection=connection,
            qbo_id=memo.id,
            defaults={
                "customer_qbo_id": memo.customer_id[:32],
                "doc_number": memo.doc_number[:32],
                "txn_date": memo.txn_date,
                "currency": memo.currency[:3],
                "total": memo.total,
                "remaining_credit": memo.remaining_credit,
                "qbo_updated_at": updated,
            },
        )
    return True


def credit_memos_forget(*, connection: QuickBooksConnection, qbo_ids: Iterable[str]) -> int:
    """Credit memos deleted in QuickBooks."""
    deleted, _count = CreditMemo.objects.filter(connection=connection, qbo_id__in=[str(i) for i in qbo_ids]).delete()
    return deleted


def credit_memos_refetch(*, connection: QuickBooksConnection, qbo_ids: Iterable[str]) -> set[str]:
    """Re-read these credit memos (webhooks carry no body) and store them; ids QuickBooks no longer
    returns were deleted there. Returns the customers they belong to (before and after)."""
    wanted = _numeric(qbo_ids)
    if not wanted:
        return set()
    customers = set(
        CreditMemo.objects.filter(connection=connection, qbo_id__in=wanted).values_list("customer_qbo_id", flat=True)
    )
    found = qbo_credit.credit_memos_by_ids(client=_client(connection), ids=wanted)
    for memo in found:
        credit_memo_store(connection=connection, memo=memo)
        customers.add(memo.customer_id)
    credit_memos_forget(connection=connection, qbo_ids=set(wanted) - {memo.id for memo in found})
    return {c for c in customers if c}


def credit_memos_missing(*, connection: QuickBooksConnection, payments: Iterable[dict]) -> set[str]:
    """The credit memos these QuickBooks payments apply that we keep no copy of yet (their own webhook
    may come later): read them before the payments are stored, so the panel names them."""
    from integration.quickbooks.records import payment_of

    linked = {i for row in payments for line in payment_of(row).lines for i in line.credit_memo_ids}
    wanted = _numeric(linked)
    known = set(CreditMemo.objects.filter(connection=connection, qbo_id__in=wanted).values_list("qbo_id", flat=True))
    return set(wanted) - known


def credit_memos_apply_rows(*, connection: QuickBooksConnection, rows: Iterable[dict]) -> set[str]:
    """Credit memo rows as change data capture returns them (delete stubs included); their customers."""
    customers: set[str] = set()
    for row in rows:
        memo = qbo_credit.parse_credit_memo(row)
        if memo.deleted:
            customers |= set(
                CreditMemo.objects.filter(connection=connection, qbo_id=memo.id).values_list(
                    "customer_qbo_id", flat=True
                )
            )
        else:
            customers.add(memo.customer_id)
        credit_memo_store(connection=connection, memo=memo)
    return {c for c in customers if c}


def credit_memo_labels(*, connection: QuickBooksConnection, qbo_ids: Iterable[str]) -> str:
    """How the panel names the credit memos a payment applied: their numbers (ids for those we have
    no copy of, or no number), in id order."""
    wanted = _numeric(qbo_ids)
    numbers = dict(
        CreditMemo.objects.filter(connection=connection, qbo_id__in=wanted).values_list("qbo_id", "doc_number")
    )
    return ", ".join(numbers.get(i) or i for i in wanted)[:200]


def tracked_customers(*, connection: QuickBooksConnection, candidates: Iterable[str]) -> list[str]:
    """The customers among `candidates` whose balance we keep (see the module's docstring)."""
    wanted = _numeric(candidates)
    if not wanted:
        return []
    tracked = set(
        Invoice.objects.filter(connection=connection, customer_qbo_id__in=wanted).values_list(
            "customer_qbo_id", flat=True
        )
    )
    tracked |= set(
        CustomerBalance.objects.filter(connection=connection, customer_qbo_id__in=wanted).values_list(
            "customer_qbo_id", flat=True
        )
    )
    tracked |= set(
        CreditMemo.objects.filter(connection=connection, customer_qbo_id__in=wanted).values_list(
            "customer_qbo_id", flat=True
        )
    )
    return [c for c in wanted if c in tracked]


def balances_refresh(
    *, connection: QuickBooksConnection, customer_ids: Iterable[str], tracked_only: bool = True
) -> int:
    """Read the open balance and unapplied credit of these customers from QuickBooks and store them.
    Returns the customers read. A customer QuickBooks no longer has keeps no balance."""
    from integration.quickbooks.errors import QboNotFound

    wanted = (
        tracked_customers(connection=connection, candidates=customer_ids) if tracked_only else _numeric(customer_ids)
    )
    if not wanted:
        return 0
    client = _client(connection)
    for customer_id in wanted:
        try:
            balance = qbo_credit.customer_balance(client=client, customer_id=customer_id)
        except QboNotFound:
            CustomerBalance.objects.filter(connection=connection, customer_qbo_id=customer_id).delete()
            continue
        if max(abs(balance.open_balance), abs(balance.unapplied_credit)) > MAX_AMOUNT:
            logger.warning("QuickBooks customer %s: balance beyond %s, not stored", customer_id, MAX_AMOUNT)
            continue
        CustomerBalance.objects.update_or_create(
            company=connection.company,
            connection=connection,
            customer_qbo_id=customer_id,
            defaults={
                "open_balance": balance.open_balance,
                "unapplied_credit": balance.unapplied_credit,
                "currency": balance.currency[:3],
                "read_at": timezone.now(),
            },
        )
    return len(wanted)
