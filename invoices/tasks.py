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


@shared_task(name="invoices.setup_deal_fields")
@with_company_scope
def setup_deal_fields(*, company_id: int) -> bool:
    """At connect: make the deal fields the app owns (failures are retried by the first push)."""
    from invoices.deal_figures import deal_fields_setup
    from tenants.scoping import current_company

    return deal_fields_setup(company=current_company())


@shared_task(name="invoices.push_deal_figures")
def push_deal_figures(*, company_id: int) -> dict:
    """Write the company's dirty deal figures (a batch); more due → another run after the pace."""
    from invoices.deal_figures import PACE_SECONDS, _enqueue_push, run_for_company

    result = run_for_company(company_id)
    if result["remaining"] and result["written"]:
        _enqueue_push(company_id, countdown=PACE_SECONDS)
    return result


@shared_task(name="invoices.deal_figures_sweep")
def deal_figures_sweep() -> int:
    """Beat: push every company with due rows (retries after outages, lost tasks, restarts)."""
    from invoices.deal_figures import companies_with_due_rows

    companies = companies_with_due_rows()
    for company_id in companies:
        push_deal_figures.delay(company_id=company_id)
    return len(companies)


@shared_task(name="invoices.process_pipedrive_webhook", **RETRY)
@with_company_scope
def process_pipedrive_webhook(*, company_id: int, delivery_id: int) -> str:
    """A stored Pipedrive deal-change delivery: apply the "deal won" rule (exactly once per deal)."""
    from django.utils import timezone

    from integration.models import WebhookDelivery
    from invoices.won import delivery_process
    from tenants.scoping import current_company

    delivery = WebhookDelivery.objects.get(pk=delivery_id, service="pipedrive")
    if delivery.processed_at:
        return "done already"
    WebhookDelivery.objects.filter(pk=delivery.pk).update(attempts=delivery.attempts + 1)
    try:
        won = delivery_process(company=current_company(), body=bytes(delivery.body))
    except Exception as exc:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(last_error=f"{exc.__class__.__name__}: {exc}"[:1000])
        raise
    WebhookDelivery.objects.filter(pk=delivery.pk).update(processed_at=timezone.now(), last_error="")
    return won.state if won else "ignored"
