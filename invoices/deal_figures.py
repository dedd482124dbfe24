"""Invoice figures on the Pipedrive deal: Invoiced, Paid, Outstanding and Invoice status.

The app owns four deal custom fields, made once per company through API v2 `POST /dealFields`
(`DealFigureFields`, made by `invoices.deal_figure_fields`). Whenever an invoice of a deal changes
(created, paid, voided, deleted, linked, unlinked: every path saves an Invoice, an InvoiceEvent or
an InvoiceDeal, so signals catch them all without hooks in the services), the deal is marked in a
durable outbox (`DealFiguresOutbox`, one row per deal, coalesced). A task writes the deal's figures,
recomputed from our own data at write time, as absolute values (`PATCH /api/v2/deals/{id}`
`custom_fields`), so a duplicate, late or out-of-order event can only cause a redundant write, never
a wrong total. Outages leave the row dirty with a backoff; the beat sweeper picks it up again, so no
update is lost.

Rate: at most `BATCH` writes per run and company, the next run `PACE_SECONDS` later (each write costs
5 of Pipedrive's tokens; the client itself waits out short 429s, longer ones reschedule the batch).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import F
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext as _

from integration import jsonbody
from integration.errors import AuthRevoked, IntegrationError, PermanentError, RateLimited
from integration.pipedrive import client as pipedrive
from integration.pipedrive.errors import NotFound as PipedriveNotFound
from integration.pipedrive.selectors import installation_for
from invoices.deal_figure_fields import (
    deal_fields_ensure,
    deal_fields_setup_later,
    fields_config,
    forget_deleted_fields,
)
from invoices.models import DealFigureFields, DealFiguresOutbox, Invoice, InvoiceDeal, InvoiceEvent
from invoices.status import Status, is_past_due
from tenants.models import Company
from tenants.scoping import company_scope

logger = logging.getLogger(__name__)

BATCH = 20  # writes per run and company
PACE_SECONDS = 2  # Pipedrive's burst window is a rolling 2 s
CLAIM_SECONDS = 120
MAX_BACKOFF_SECONDS = 3600
CENT = Decimal("0.01")

# Worst first: the deal's "Invoice status" is the worst status among its live invoices.
STATUS_ORDER = (Status.OVERDUE, Status.OPEN, Status.PARTIALLY_PAID, Status.PAID)


# --- marking --------------------------------------------------------------------------------------


def deal_figures_mark_dirty(*, company_id: int, deal_ids) -> None:
    """Queue the figures of these deals for a write (coalesced per deal; a no-op when turned off)."""
    deal_ids = sorted({int(d) for d in deal_ids if d})
    if not deal_ids:
        return
    if DealFigureFields.all_companies.filter(company_id=company_id, enabled=False).exists():
        return
    now = timezone.now()
    touched = set(
        DealFiguresOutbox.all_companies.filter(company_id=company_id, deal_id__in=deal_ids).values_list(
            "deal_id", flat=True
        )
    )
    if touched:
        DealFiguresOutbox.all_companies.filter(company_id=company_id, deal_id__in=touched).update(
            dirty=True, generation=F("generation") + 1, next_attempt_at=now, attempts=0, updated_at=now
        )
    missing = [d for d in deal_ids if d not in touched]
    if missing:
        DealFiguresOutbox.all_companies.bulk_create(
            [DealFiguresOutbox(company_id=company_id, deal_id=d, next_attempt_at=now) for d in missing],
            ignore_conflicts=True,  # a concurrent mark of the same deal: one row either way
        )
    transaction.on_commit(lambda: _enqueue_push(company_id))


def _enqueue_push(company_id: int, countdown: float = 0) -> None:
    from invoices.tasks import push_deal_figures

    try:
        push_deal_figures.apply_async(kwargs={"company_id": company_id}, countdown=countdown)
    except Exception:  # the broker is down: the rows are stored, the beat sweeper will push them
        logger.warning("deal figures: could not enqueue the push for company %s", company_id, exc_info=True)


@receiver(post_save, sender=Invoice, dispatch_uid="deal_figures_invoice_saved")
def _invoice_saved(sender, instance: Invoice, **kwargs) -> None:
    if instance.state != Invoice.State.CREATED or kwargs.get("raw"):
        return  # pending and failed creates count nowhere
    deal_ids = InvoiceDeal.all_companies.filter(invoice_id=instance.pk).values_list("deal_id", flat=True)
    deal_figures_mark_dirty(company_id=instance.company_id, deal_ids=list(deal_ids))


@receiver(post_save, sender=InvoiceEvent, dispatch_uid="deal_figures_event_saved")
def _event_saved(sender, instance: InvoiceEvent, created: bool, **kwargs) -> None:
    # Paths that move an invoice with a queryset update (the daily overdue job) still write an event.
    if created and not kwargs.get("raw"):
        deal_ids = InvoiceDeal.all_companies.filter(invoice_id=instance.invoice_id).values_list("deal_id", flat=True)
        deal_figures_mark_dirty(company_id=instance.company_id, deal_ids=list(deal_ids))


@receiver(post_save, sender=InvoiceDeal, dispatch_uid="deal_figures_link_saved")
@receiver(post_delete, sender=InvoiceDeal, dispatch_uid="deal_figures_link_deleted")
def _link_changed(sender, instance: InvoiceDeal, **kwargs) -> None:
    if not kwargs.get("raw"):
        deal_figures_mark_dirty(company_id=instance.company_id, deal_ids=[instance.deal_id])


# --- figures --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    currency: str
    invoiced: Decimal
    paid: Decimal
    outstanding: Decimal
    status: str


def _today(invoice: Invoice) -> dt.date:
    from invoices.sync import company_today

    return company_today(invoice.connection)


def deal_figures(*, company: Company, deal_id: int, deal_currency: str = "") -> dict[str, Figures]:
    """Per currency, the figures of the deal's live invoices (voided and deleted ones count nowhere)."""
    invoices = list(
        Invoice.objects.filter(
            company=company,
            deal_links__deal_id=deal_id,
            state=Invoice.State.CREATED,
            status__in=[s.value for s in STATUS_ORDER],
        ).select_related("connection")
    )
    by_currency: dict[str, list[Invoice]] = {}
    for invoice in invoices:
        by_currency.setdefault(invoice.currency, []).append(invoice)
    out = {}
    for currency, group in by_currency.items():
        today = _today(group[0])
        statuses = []
        for invoice in group:
            late = invoice.balance > 0 and is_past_due(invoice.due_date, today=today)
            statuses.append(Status.OVERDUE if late else Status(invoice.status))
        worst = min(statuses, key=STATUS_ORDER.index)
        out[currency] = Figures(
            currency=currency,
            invoiced=sum((i.total for i in group), Decimal(0)).quantize(CENT),
            paid=sum((i.total - i.balance for i in group), Decimal(0)).quantize(CENT),
            outstanding=sum((i.balance for i in group), Decimal(0)).quantize(CENT),
            status=worst.value,
        )
    return out


def _money(value: Decimal, currency: str) -> dict:
    # Decimal up to the wire: integration.jsonbody writes it as the exact JSON number.
    return {"value": value, "currency": currency}


def custom_fields_for(*, fields: DealFigureFields, figures: Figures | None) -> dict:
    """The `custom_fields` body: absolute values, or nulls when the deal has no live invoice."""
    body: dict = {}
    for attr, value in (
        ("invoiced_key", figures and _money(figures.invoiced, figures.currency)),
        ("paid_key", figures and _money(figures.paid, figures.currency)),
        ("outstanding_key", figures and _money(figures.outstanding, figures.currency)),
        ("status_key", figures and fields.status_options.get(figures.status)),
    ):
        key = getattr(fields, attr)
        if key:
            body[key] = value or None
    return body


# --- pushing --------------------------------------------------------------------------------------


def _backoff(attempts: int) -> dt.timedelta:
    return dt.timedelta(seconds=min(MAX_BACKOFF_SECONDS, 15 * 2 ** min(attempts, 12)))


def _claim(row: DealFiguresOutbox, now) -> bool:
    until = now + dt.timedelta(seconds=CLAIM_SECONDS)
    claimed = (
        DealFiguresOutbox.objects.filter(pk=row.pk, dirty=True)
        .exclude(claimed_until__gt=now)
        .update(claimed_until=until)
    )
    return bool(claimed)


def _fail(row: DealFiguresOutbox, exc: Exception, *, retry_after: float | None = None) -> None:
    attempts = row.attempts + 1
    delay = dt.timedelta(seconds=retry_after) if retry_after else _backoff(attempts)
    DealFiguresOutbox.objects.filter(pk=row.pk).update(
        attempts=attempts,
        next_attempt_at=timezone.now() + delay,
        claimed_until=None,
        last_error=f"{exc.__class__.__name__}: {exc}"[:500],
    )


def _done(row: DealFiguresOutbox, written: dict) -> None:
    written = jsonbody.as_received(written)  # as Pipedrive parsed it: comparable with the next body
    now = timezone.now()
    DealFiguresOutbox.objects.filter(pk=row.pk).update(
        written=written, written_at=now, attempts=0, last_error="", claimed_until=None
    )
    # Clean only if no event arrived while we were writing; otherwise the next run writes again.
    DealFiguresOutbox.objects.filter(pk=row.pk, generation=row.generation).update(dirty=False)


def _currency_of_deal(*, installation, deal_id: int) -> str:
    return str((pipedrive.deal_get(installation=installation, deal_id=deal_id) or {}).get("currency") or "")


def push_one(*, row: DealFiguresOutbox, config: DealFigureFields, installation) -> None:
    """Write one deal's figures. Raises IntegrationError (the caller records it on the row)."""
    per_currency = deal_figures(company=config.company, deal_id=row.deal_id)
    figures = None
    if len(per_currency) == 1:
        figures = next(iter(per_currency.values()))
    elif per_currency:
        # A monetary field holds one currency: show the deal's own (others are left out).
        figures = per_currency.get(_currency_of_deal(installation=installation, deal_id=row.deal_id))
    body = custom_fields_for(fields=config, figures=figures)
    if not body or (row.written_at and row.written == jsonbody.as_received(body)):
        _done(row, row.written if row.written_at else {})
        return
    try:
        pipedrive.deal_update(installation=installation, deal_id=row.deal_id, custom_fields=body)
    except PipedriveNotFound:
        _done(row, row.written)  # the deal is gone: nothing to keep current
        return
    except PermanentError as exc:
        if exc.code == "bad_request" and forget_deleted_fields(config=config, installation=installation):
            body = custom_fields_for(fields=config, figures=figures)
            if body:
                pipedrive.deal_update(installation=installation, deal_id=row.deal_id, custom_fields=body)
        else:
            raise
    _done(row, body)


def deal_figures_push(*, company: Company) -> dict:
    """One run for a company: up to BATCH due rows. Returns counts (written, failed, remaining)."""
    now = timezone.now()
    due = DealFiguresOutbox.objects.filter(company=company, dirty=True, next_attempt_at__lte=now).exclude(
        claimed_until__gt=now
    )
    config = fields_config(company=company)
    if not config.enabled:
        DealFiguresOutbox.objects.filter(company=company, dirty=True).update(dirty=False, last_error="turned off")
        return {"written": 0, "failed": 0, "remaining": 0}
    rows = list(due.order_by("next_attempt_at", "id")[:BATCH])
    if not rows:
        return {"written": 0, "failed": 0, "remaining": 0}
    written = failed = 0
    try:
        config = deal_fields_ensure(company=company)
        installation = installation_for(company=company)
        if installation is None:
            raise AuthRevoked(_("No Pipedrive installation"), service="pipedrive", code="not_installed")
    except IntegrationError as exc:
        for row in rows:
            _fail(row, exc, retry_after=getattr(exc, "retry_after", None))
        return {"written": 0, "failed": len(rows), "remaining": due.count()}
    for index, row in enumerate(rows):
        if not _claim(row, now):
            continue
        try:
            push_one(row=row, config=config, installation=installation)
            written += 1
        except RateLimited as exc:
            # Every further call would be refused too: reschedule this row and the rest of the batch.
            for later in rows[index:]:
                _fail(later, exc, retry_after=exc.retry_after or PACE_SECONDS)
            failed += len(rows) - index
            break
        except IntegrationError as exc:
            logger.info("deal figures: deal %s of company %s not written: %s", row.deal_id, company.pk, exc)
            _fail(row, exc)
            failed += 1
    remaining = DealFiguresOutbox.objects.filter(
        company=company, dirty=True, next_attempt_at__lte=timezone.now()
    ).count()
    return {"written": written, "failed": failed, "remaining": remaining}


def deal_figures_set_enabled(*, company: Company, enabled: bool) -> DealFigureFields:
    """The company setting. Turning it off stops every write and deletes nothing in Pipedrive (the
    fields and their last values stay the user's); turning it on re-queues the deals we know."""
    config = fields_config(company=company)
    config.enabled = enabled
    config.save(update_fields=["enabled", "updated_at"])
    if enabled:
        deal_ids = InvoiceDeal.objects.filter(company=company).values_list("deal_id", flat=True).distinct()
        deal_figures_mark_dirty(company_id=company.pk, deal_ids=list(deal_ids))
        deal_fields_setup_later(company=company)
    return config


def companies_with_due_rows() -> list[int]:
    now = timezone.now()
    return list(
        DealFiguresOutbox.all_companies.filter(dirty=True, next_attempt_at__lte=now)
        .exclude(claimed_until__gt=now)
        .values_list("company_id", flat=True)
        .distinct()[:1000]
    )


def run_for_company(company_id: int) -> dict:
    company = Company.objects.get(pk=company_id)
    with company_scope(company):
        return deal_figures_push(company=company)
