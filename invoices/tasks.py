"""Celery tasks: thin, idempotent, by id; tenant work runs in the company's scope."""

from __future__ import annotations

from celery import shared_task

from integration.quickbooks.models import QuickBooksConnection
from invoices import sync
from tenants.scoping import with_company_scope

RETRY = {
    "autoretry_for": (Exception,),
    "retry_backoff": 10,
    "retry_backoff_max": 3600,
    "retry_jitter": True,
    "max_retries": 12,
}


@shared_task(name="invoices.process_quickbooks_webhook", **RETRY)
def process_quickbooks_webhook(delivery_id: int) -> int:
    # Resolves each realm's company itself; the delivery spans companies.
    return sync.webhook_process(delivery_id=delivery_id)


@shared_task(name="invoices.sync_connection", **RETRY)
@with_company_scope
def sync_connection(*, company_id: int, connection_id: int) -> int:
    connection = QuickBooksConnection.objects.get(pk=connection_id, status=QuickBooksConnection.Status.ACTIVE)
    return sync.connection_cdc_sync(connection=connection)


@shared_task(name="invoices.refresh_overdue")
@with_company_scope
def refresh_overdue(*, company_id: int, connection_id: int) -> int:
    connection = QuickBooksConnection.objects.get(pk=connection_id)
    return sync.overdue_refresh(connection=connection)


def _active_connections():
    return QuickBooksConnection.all_companies.filter(status=QuickBooksConnection.Status.ACTIVE).values_list(
        "company_id", "pk"
    )


@shared_task(name="invoices.cdc_sweep")
def cdc_sweep() -> int:
    """Beat: one change-data-capture sync per active connection."""
    count = 0
    for company_id, connection_id in _active_connections():
        sync_connection.delay(company_id=company_id, connection_id=connection_id)
        count += 1
    return count


@shared_task(name="invoices.overdue_sweep")
def overdue_sweep() -> int:
    """Beat, daily: record invoices that became overdue."""
    count = 0
    for company_id, connection_id in _active_connections():
        refresh_overdue.delay(company_id=company_id, connection_id=connection_id)
        count += 1
    return count


@shared_task(name="invoices.submit_invoice")
@with_company_scope
def submit_invoice(*, company_id: int, invoice_id: int) -> str:
    """Retry a pending create with its original requestid (scheduled with backoff and jitter)."""
    from invoices.services import invoice_submit

    return invoice_submit(invoice_id=invoice_id).state


@shared_task(name="invoices.resubmit_stuck")
def resubmit_stuck() -> int:
    """Beat: re-enqueue pending creates whose retry is overdue (a lost task or a restarted broker)."""
    from django.db.models import Q
    from django.utils import timezone

    from invoices.models import Invoice

    cutoff = timezone.now() - timezone.timedelta(minutes=5)
    # Overdue retries, and intents nobody holds any more (a crash between claim and answer).
    stuck = (
        Invoice.all_companies.filter(state=Invoice.State.PENDING)
        .filter(Q(next_attempt_at__lt=cutoff) | Q(next_attempt_at__isnull=True, updated_at__lt=cutoff))
        .exclude(claimed_until__gt=timezone.now())
        .values_list("company_id", "pk")[:500]
    )
    for company_id, invoice_id in stuck:
        submit_invoice.delay(company_id=company_id, invoice_id=invoice_id)
    return len(stuck)


@shared_task(name="invoices.write_deal_note")
@with_company_scope
def write_deal_note(*, company_id: int, note_id: int) -> str:
    """Write one deal note to Pipedrive (retries itself with backoff; see invoices/deal_notes.py)."""
    from invoices.deal_notes import deal_note_write

    note = deal_note_write(note_id=note_id)
    return note.state if note is not None else "gone"


@shared_task(name="invoices.deal_notes_sweep")
def deal_notes_sweep() -> int:
    """Beat: deal notes whose retry is due or whose task was lost."""
    from invoices.deal_notes import deal_notes_due

    due = deal_notes_due()
    for company_id, note_id in due:
        write_deal_note.delay(company_id=company_id, note_id=note_id)
    return len(due)
