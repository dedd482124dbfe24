"""The invoice in the deal's changelog (issue 13): a Pipedrive note on each linked deal when an
invoice is created, paid, voided or deleted, with its number, amount, status and a link.

Pipedrive offers no API that writes the deal's changelog (`/v1/deals/{id}/changelog` and `/flow` are
read-only); a note (`POST /v1/notes`, content HTML, `deals:full`) is the documented closest
equivalent (pipedrive-contract-facts.md §8). The company turns it off with `Company.deal_notes`.

Durable and never in the way: the note is stored as a `DealNote` in the same transaction as the
history event that causes it (a post_save hook on InvoiceEvent, the one place every event is
written), and sent after commit. A Pipedrive failure never reaches the create, void or delete that
caused it: transient errors are retried in the background with backoff (a beat sweep picks up lost
retries), permanent ones (deal gone, access revoked) are recorded on the row.
Notes are not idempotent in Pipedrive, so a retry first looks for the note among the deal's newest
ones (an answer lost after Pipedrive wrote it must not give a second note).
"""

from __future__ import annotations

import logging
import random
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone, translation
from django.utils.html import escape, format_html
from django.utils.translation import gettext as _

from integration.errors import PermanentError, TransientError
from invoices.models import DealNote, Invoice, InvoiceDeal, InvoiceEvent, InvoiceLine
from invoices.money import format_amount
from invoices.status import LABELS, Status
from tenants.language import membership_language

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 8


def note_kind(event: InvoiceEvent) -> str | None:
    """Which note an event calls for, if any."""
    if event.kind == InvoiceEvent.Kind.CREATED:
        return DealNote.Kind.CREATED
    if event.kind == InvoiceEvent.Kind.VOIDED:
        return DealNote.Kind.VOIDED
    if event.kind == InvoiceEvent.Kind.DELETED:
        return DealNote.Kind.DELETED
    if event.kind == InvoiceEvent.Kind.STATUS_CHANGED and (event.data or {}).get("to") == Status.PAID:
        return DealNote.Kind.PAID
    return None


def on_invoice_event(sender, instance: InvoiceEvent, created: bool, raw: bool = False, **kwargs) -> None:
    """post_save of InvoiceEvent: queue the deal notes the event calls for."""
    if not created or raw:
        return
    kind = note_kind(instance)
    if kind is not None:
        deal_notes_queue(invoice=instance.invoice, kind=kind, actor_id=instance.actor_id)


def deal_notes_queue(*, invoice: Invoice, kind: str, actor_id: int | None = None) -> list[int]:
    """Store one pending note per linked deal (once per event kind) and send them after commit."""
    from tenants.models import Company

    if not Company.objects.filter(pk=invoice.company_id, deal_notes=True).exists():
        return []
    ids = []
    deal_ids = InvoiceDeal.all_companies.filter(invoice_id=invoice.pk).values_list("deal_id", flat=True)
    for deal_id in deal_ids:
        note, made = DealNote.all_companies.get_or_create(
            invoice_id=invoice.pk,
            deal_id=deal_id,
            kind=kind,
            defaults={"company_id": invoice.company_id, "actor_id": actor_id},
        )
        if made:
            ids.append(note.pk)
    if ids:
        company_id = invoice.company_id
        transaction.on_commit(lambda: deal_notes_dispatch(company_id=company_id, note_ids=ids))
    return ids


def deal_notes_dispatch(*, company_id: int, note_ids: list[int]) -> None:
    """Hand the notes to a worker. In-process (the demo, tests) they are written now, and a failure
    stays on the row for the sweep: it never propagates into the request that caused it."""
    from invoices import tasks

    for note_id in note_ids:
        if settings.CELERY_TASK_ALWAYS_EAGER:
            deal_note_write(note_id=note_id)
        else:
            tasks.write_deal_note.delay(company_id=company_id, note_id=note_id)


def _amount(invoice: Invoice) -> Decimal:
    """The invoice's amount; a voided invoice reads 0 in QBO, so its lines as created say what it was."""
    if invoice.total or invoice.status != Status.VOIDED:
        return invoice.total
    return InvoiceLine.all_companies.filter(invoice_id=invoice.pk).aggregate(s=Sum("amount"))["s"] or Decimal(0)


def headline(*, invoice: Invoice, kind: str) -> str:
    number = invoice.doc_number or invoice.qbo_id
    titles: dict[str, str] = {
        DealNote.Kind.CREATED: _("QuickBooks invoice %(number)s created"),
        DealNote.Kind.PAID: _("QuickBooks invoice %(number)s paid"),
        DealNote.Kind.VOIDED: _("QuickBooks invoice %(number)s voided"),
        DealNote.Kind.DELETED: _("QuickBooks invoice %(number)s deleted"),
    }
    return titles[kind] % {"number": number}


def note_content(*, note: DealNote) -> str:
    """The note's HTML: number, amount, status and a link to the invoice in QuickBooks."""
    from invoices.lifecycle import invoice_deep_link

    invoice = note.invoice
    status = LABELS[Status(invoice.status)] if invoice.status in Status._value2member_map_ else invoice.status
    parts = [
        format_html("<p><b>{}</b></p>", headline(invoice=invoice, kind=note.kind)),
        format_html(
            "<p>{}: {} {} · {}: {}</p>",
            _("Amount"),
            format_amount(_amount(invoice), invoice.currency),
            invoice.currency,
            _("Status"),
            status,
        ),
    ]
    if invoice.customer_name:
        parts.append(format_html("<p>{}: {}</p>", _("Customer"), invoice.customer_name))
    if note.kind != DealNote.Kind.DELETED:
        parts.append(
            format_html('<p><a href="{}">{}</a></p>', invoice_deep_link(invoice=invoice), _("Open in QuickBooks"))
        )
    return "".join(parts)


def _installation(note: DealNote):
    """The actor's own Pipedrive access, else the company's (the connection owner's first)."""
    from integration.pipedrive.selectors import installation_for, installations_of_company

    company = note.invoice.company
    if note.actor_id is not None:
        own = installation_for(company=company, membership=note.actor)
        if own is not None:
            return own
    owner = note.invoice.connection.owner_id
    owners = installations_of_company(company=company).filter(membership_id=owner) if owner is not None else None
    return (owners.first() if owners is not None else None) or installation_for(company=company, membership=None)


def _already_written(*, installation, note: DealNote) -> dict | None:
    """A note a lost answer left unconfirmed: the deal's newest notes with the same headline, in any
    language (its author may have changed language, or another member's access retries it)."""
    from integration.pipedrive import client

    titles = set()
    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            titles.add(escape(headline(invoice=note.invoice, kind=note.kind)))
    for existing in client.notes_of_deal(installation=installation, deal_id=note.deal_id, limit=50):
        content = str(existing.get("content") or "")
        if any(title in content for title in titles):
            return existing
    return None


def _backoff(attempts: int) -> float:
    return min(3600.0, 15.0 * 2 ** (attempts - 1)) * random.uniform(0.8, 1.2)  # noqa: S311 (jitter)


def deal_note_write(*, note_id: int) -> DealNote | None:
    """Write one pending note to Pipedrive. Never raises: the outcome is stored on the row."""
    from integration.pipedrive import client

    now = timezone.now()
    with transaction.atomic():
        note = (
            DealNote.all_companies.select_for_update(of=("self",))  # PostgreSQL: not the nullable joins
            .select_related("invoice", "invoice__company", "invoice__connection", "actor")
            .filter(pk=note_id, state=DealNote.State.PENDING)
            .first()
        )
        if note is None or (note.next_attempt_at and note.next_attempt_at > now and note.attempts):
            return note  # written, failed, or claimed by another worker / not due yet
        note.attempts += 1
        note.next_attempt_at = now + timedelta(seconds=_backoff(note.attempts))  # also the claim
        note.save(update_fields=["attempts", "next_attempt_at", "updated_at"])
    try:
        if not note.invoice.company.deal_notes:
            raise PermanentError(_("Deal notes are turned off for this company."), code="turned_off")
        installation = _installation(note)
        if installation is None:
            raise PermanentError(_("Nobody in this company has installed the Pipedrive app."), code="not_installed")
        # In its author's language (the member whose Pipedrive access writes it), whichever process
        # writes it: a worker has no language of its own, and a note is stored text, read by the team.
        with translation.override(membership_language(installation.membership) or settings.LANGUAGE_CODE):
            written = _already_written(installation=installation, note=note) if note.attempts > 1 else None
            if written is None:
                written = client.note_create(
                    installation=installation, deal_id=note.deal_id, content=note_content(note=note)
                )
    except PermanentError as exc:
        note.state, note.last_error = DealNote.State.FAILED, str(exc.message or exc)[:1000]
        note.next_attempt_at = None
    except Exception as exc:  # any failure but a permanent one is retried, never raised
        if not isinstance(exc, TransientError):
            logger.exception("deal note %s: unexpected failure", note_id)
        note.last_error = str(getattr(exc, "message", "") or exc)[:1000]
        if note.attempts >= MAX_ATTEMPTS:
            note.state, note.next_attempt_at = DealNote.State.FAILED, None
        else:
            _retry_later(note)
    else:
        note.state, note.last_error, note.next_attempt_at = DealNote.State.WRITTEN, "", None
        note.pipedrive_note_id = int(written["id"])
    note.save(update_fields=["state", "last_error", "next_attempt_at", "pipedrive_note_id", "updated_at"])
    return note


def _retry_later(note: DealNote) -> None:
    """On a worker, a delayed task; in-process, the sweep retries it (a task would run at once)."""
    from invoices import tasks

    if settings.CELERY_TASK_ALWAYS_EAGER:
        return
    due = note.next_attempt_at or timezone.now()  # set by the caller
    delay = max(1.0, (due - timezone.now()).total_seconds())
    transaction.on_commit(
        lambda: tasks.write_deal_note.apply_async(
            kwargs={"company_id": note.company_id, "note_id": note.pk}, countdown=delay
        )
    )


def deal_notes_due(*, limit: int = 500) -> list[tuple[int, int]]:
    """(company_id, note_id) of pending notes whose retry is due (or whose task was lost)."""
    now = timezone.now()
    return list(
        DealNote.all_companies.filter(state=DealNote.State.PENDING, next_attempt_at__lte=now).values_list(
            "company_id", "pk"
        )[:limit]
    ) + list(
        DealNote.all_companies.filter(
            state=DealNote.State.PENDING,
            next_attempt_at__isnull=True,
            created_at__lt=now - timedelta(minutes=2),
        ).values_list("company_id", "pk")[:limit]
    )
