"""Celery tasks: thin, idempotent, by id; tenant work runs in the company's scope."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from celery import shared_task
from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from integration.quickbooks.models import QuickBooksConnection
from invoices import sync, sync_feeds
from tenants.scoping import with_company_scope

logger = logging.getLogger(__name__)

RETRY: dict[str, Any] = {
    "autoretry_for": (Exception,),
    "retry_backoff": 10,
    "retry_backoff_max": 3600,
    "retry_jitter": True,
    "max_retries": 12,
}


@shared_task(name="invoices.process_quickbooks_webhook", **RETRY)
def process_quickbooks_webhook(delivery_id: int) -> int:
    # Resolves each realm's company itself; the delivery spans companies.
    return sync_feeds.webhook_process(delivery_id=delivery_id)


@shared_task(name="invoices.sync_connection", **RETRY)
@with_company_scope
def sync_connection(*, company_id: int, connection_id: int) -> int:
    connection = QuickBooksConnection.objects.get(
        company_id=company_id, pk=connection_id, status=QuickBooksConnection.Status.ACTIVE
    )
    return sync_feeds.connection_cdc_sync(connection=connection)


@shared_task(name="invoices.refresh_overdue")
@with_company_scope
def refresh_overdue(*, company_id: int, connection_id: int) -> int:
    connection = QuickBooksConnection.objects.get(company_id=company_id, pk=connection_id)
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
    from invoices.create_queue import invoice_submit
    from invoices.models import Invoice

    invoice = invoice_submit(invoice_id=invoice_id)
    now = timezone.now()
    held_until = invoice.claimed_until
    if (
        invoice.state == Invoice.State.PENDING
        and held_until is not None
        and held_until > now
        and not settings.CELERY_TASK_ALWAYS_EAGER
    ):
        # Claimed by someone else: maybe a process that died (this task may be its redelivery after
        # a worker was killed). Look again when that claim runs out rather than wait for the sweeper.
        delay = (held_until - now).total_seconds() + 1
        submit_invoice.apply_async(kwargs={"company_id": company_id, "invoice_id": invoice_id}, countdown=delay)
    return invoice.state


# A scheduled retry normally runs on time; the sweeper only takes those this late (lost task).
RESUBMIT_GRACE = dt.timedelta(seconds=20)


@shared_task(name="invoices.resubmit_stuck")
def resubmit_stuck() -> int:
    """Beat: re-enqueue pending creates nobody is working on: a retry that is overdue (lost task,
    restarted broker), an intent whose claim expired (its process died), or one an import matched."""
    from invoices.models import Invoice

    now = timezone.now()
    stuck = (
        Invoice.all_companies.filter(state=Invoice.State.PENDING)
        .filter(
            Q(next_attempt_at__lt=now - RESUBMIT_GRACE)
            | Q(next_attempt_at__isnull=True, updated_at__lt=now - RESUBMIT_GRACE)
            | Q(next_attempt_at__lte=now, qbo_id__gt="")
        )
        .exclude(claimed_until__gt=now)
        .order_by("next_attempt_at")
        .values_list("company_id", "pk")[:500]
    )
    for company_id, invoice_id in stuck:
        submit_invoice.delay(company_id=company_id, invoice_id=invoice_id)
    return len(stuck)


@shared_task(name="invoices.setup_deal_fields")
@with_company_scope
def setup_deal_fields(*, company_id: int) -> bool:
    """At connect: make the deal fields the app owns (failures are retried by the first push)."""
    from invoices.deal_figure_fields import deal_fields_setup
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
    from invoices.won import delivery_run
    from tenants.scoping import current_company

    return delivery_run(company=current_company(), delivery_id=delivery_id)


# Stored webhook deliveries no task finished (the broker was down when they arrived, or the task
# was lost) are processed again after this long; a delivery failing this often is left to support.
WEBHOOK_GRACE = dt.timedelta(seconds=20)
WEBHOOK_MAX_SWEEPS = 50


@shared_task(name="invoices.process_stale_webhooks")
def process_stale_webhooks() -> int:
    """Beat: process stored QuickBooks and Pipedrive deliveries that no task picked up (a Pipedrive
    one for the company whose credentials it carried)."""
    from integration.models import WebhookDelivery
    from invoices.won import delivery_run
    from tenants.models import Company
    from tenants.scoping import company_scope

    stale = list(
        WebhookDelivery.objects.filter(
            service__in=["quickbooks", "pipedrive"],
            processed_at__isnull=True,
            received_at__lt=timezone.now() - WEBHOOK_GRACE,
            attempts__lt=WEBHOOK_MAX_SWEEPS,
        )
        .order_by("received_at")
        .values_list("pk", "service", "company_id")[:200]
    )
    done = 0
    for delivery_id, service, company_id in stale:
        try:
            if service == "quickbooks":
                sync_feeds.webhook_process(delivery_id=delivery_id)  # idempotent: events are marked as processed
            elif company_id is not None:  # stored before the company was recorded: left to support
                company = Company.objects.get(pk=company_id)
                with company_scope(company):
                    delivery_run(company=company, delivery_id=delivery_id)  # exactly once per deal (WonDeal)
            else:
                continue
            done += 1
        except Exception:  # recorded on the delivery; the next sweep tries again
            logger.warning("stored webhook %s still fails", delivery_id, exc_info=True)
    return done


HEAL_KEY = "invoices:heal:last-tick"


@shared_task(name="invoices.heal")
def heal() -> dict:
    """Beat, every few seconds: the sweeps above, plus a catch-up CDC sync when the previous tick
    is missing or old (the database, Redis or the workers were away: QuickBooks changes made
    meanwhile are read now instead of at the next regular CDC sweep)."""
    from django.core.cache import cache

    period = settings.HEAL_SECONDS
    now = timezone.now().timestamp()
    last = cache.get(HEAL_KEY)
    outcome = {"resubmitted": resubmit_stuck(), "webhooks": process_stale_webhooks(), "catch_up": 0}
    if last is None or now - float(last) > 3 * period:
        outcome["catch_up"] = cdc_sweep()
    cache.set(HEAL_KEY, now, timeout=None)
    return outcome


@shared_task(name="invoices.prune_logs")
def prune_logs() -> dict:
    """Beat, hourly: the logs said to be bounded are. Outbound API calls and processed webhooks
    after their retention; a finished support job keeps its audit row (who, what, when, outcome,
    counts) but drops its per-target results. The audit log itself is kept."""
    from integration.models import ApiCall, WebhookDelivery
    from tenants.models import AuditLog

    now = timezone.now()
    calls, _ = ApiCall.objects.filter(
        created_at__lt=now - dt.timedelta(days=settings.RETENTION_API_CALLS_DAYS)
    ).delete()
    # Events go with their delivery; one never processed is kept for support.
    hooks, _by_model = WebhookDelivery.objects.filter(
        received_at__lt=now - dt.timedelta(days=settings.RETENTION_WEBHOOKS_DAYS), processed_at__isnull=False
    ).delete()
    jobs = (
        AuditLog.objects.filter(
            finished_at__lt=now - dt.timedelta(days=settings.RETENTION_SUPPORT_JOB_RESULTS_DAYS),
            status__in=[AuditLog.Status.DONE, AuditLog.Status.FAILED, AuditLog.Status.REFUSED],
        )
        .exclude(results=[])
        .update(results=[])
    )
    return {"api_calls": calls, "webhook_rows": hooks, "support_jobs_trimmed": jobs}


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
