"""The create queue: the committed intent, its claim, the QBO writes of one attempt, and the
retries with capped, jittered backoff (the sweeper, invoices.tasks.resubmit_stuck, picks up what a
lost task or a killed process left)."""

from __future__ import annotations

import datetime as dt
import logging
import random
import uuid
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from integration import http
from integration.errors import PermanentError, Said
from integration.quickbooks import entities
from integration.quickbooks.models import QuickBooksConnection
from invoices import create_store, event_text, faults, money
from invoices import preflight as checks
from invoices.drafts import Draft
from invoices.errors import is_transient
from invoices.invoice_document import customer_changes, customer_document, invoice_document
from invoices.models import Invoice, InvoiceDeal, InvoiceEvent
from invoices.preflight import Checked
from tenants.models import Membership

logger = logging.getLogger(__name__)

RETRY_BASE_SECONDS = 30
# An accepted create is never given up while QuickBooks is only unavailable or throttling: it keeps
# retrying with capped, jittered backoff. Only a permanent refusal (or a person) ends it.
RETRY_MAX_SECONDS = 300
# An error we cannot classify (a bug, bad data) is retried this often, then the create fails visibly.
MAX_UNEXPECTED_ATTEMPTS = 5
# From this attempt on the user is told the create is delayed, not just pending.
DELAYED_AFTER_ATTEMPTS = 3
# A create handed from a web request (its deadline passed) to a worker: the worker starts this soon.
HANDOVER_SECONDS = 1.0
# How long one submit attempt holds a pending invoice. Short, so the intent of a killed process is
# sent again soon (by the sweeper); a slow attempt that outlives it is harmless: a second sender
# replays the same requestid and the store is guarded by a row lock and the state.
CLAIM_SECONDS = 30

TRANSIENT, PERMANENT, UNEXPECTED = "transient", "permanent", "unexpected"


def record_intent(*, connection: QuickBooksConnection, draft: Draft, actor: Membership, key: uuid.UUID):
    """Commit the pending invoice, claimed by this request; None if the key is already taken."""
    try:
        expected = money.deal_total(line.deal_line() for line in draft.lines)
    except money.MoneyError:
        expected = Decimal("0")  # pre-flight will say what is wrong
    issue: dt.date | None
    due: dt.date | None
    try:
        issue, due = dt.date.fromisoformat(draft.issue_date), dt.date.fromisoformat(draft.due_date)
    except ValueError:
        issue = due = None
    try:
        with transaction.atomic():
            invoice = Invoice.objects.create(
                company=connection.company,
                connection=connection,
                request_id=key,
                state=Invoice.State.PENDING,
                claimed_until=timezone.now() + dt.timedelta(seconds=CLAIM_SECONDS),
                currency=(draft.currency or "").upper()[:3],
                total=expected,
                customer_qbo_id=draft.customer.qbo_customer_id,
                customer_name=draft.customer.name[:500],
                bill_email=draft.customer.email[:100],
                txn_date=issue,
                due_date=due,
                payload={"draft": draft.as_dict()},
                created_by=actor,
            )
            if draft.deal_id:  # the invoicing extension may create an invoice without naming a deal
                InvoiceDeal.objects.create(
                    company=connection.company, invoice=invoice, deal_id=draft.deal_id, linked_by=actor
                )
            faults.step("before_intent_commit")
    except IntegrityError:
        return None
    return invoice


def claimed(invoice: Invoice) -> bool:
    return invoice.claimed_until is not None and invoice.claimed_until > timezone.now()


def _claim(invoice_id: int) -> bool:
    """Take the pending invoice for one submit attempt. No lock is held during the QBO calls, so
    the sandbox (or anything else) can use the database meanwhile; the claim expires by itself."""
    now = timezone.now()
    return bool(
        Invoice.objects.filter(pk=invoice_id, state=Invoice.State.PENDING)
        .filter(Q(claimed_until__isnull=True) | Q(claimed_until__lt=now))
        .update(claimed_until=now + dt.timedelta(seconds=CLAIM_SECONDS))
    )


def _backoff(attempts: int) -> float:
    cap = getattr(settings, "INVOICE_RETRY_MAX_SECONDS", RETRY_MAX_SECONDS)
    return min(cap, RETRY_BASE_SECONDS * 2 ** max(0, attempts - 1)) * random.uniform(0.5, 1.0)  # noqa: S311


def invoice_submit(*, invoice_id: int, checked: Checked | None = None, claimed: bool = False) -> Invoice:
    """Send a pending invoice to QBO (first try or a retry), with its original requestid.

    Every step ends in a recorded state: created; pending with the next attempt scheduled (QBO or
    our database unavailable); or failed with the reason. A process killed anywhere leaves a
    pending intent whose claim expires within CLAIM_SECONDS, and the sweeper sends it again.
    """
    from integration.quickbooks.services import client_for

    if not claimed and not _claim(invoice_id):
        return Invoice.objects.get(pk=invoice_id)  # another request or worker is on it: answer now
    invoice = Invoice.objects.select_related("connection", "created_by").get(pk=invoice_id)
    try:
        connection = invoice.connection
        client = client_for(connection=connection)
        draft = Draft.from_dict(invoice.payload["draft"])
        if checked is None:
            checked = checks.preflight(connection=connection, draft=draft, client=client)
            # An earlier attempt may have created the new customer before it died: the customer
            # create replays that answer (same requestid), so its name being taken is no problem.
            checked.problems = [p for p in checked.problems if p.code != "display_name_taken"]
            if checked.problems:
                messages = [p.message for p in checked.problems]
                ours = [m for m in messages if isinstance(m, Said)]
                raise PermanentError("; ".join(messages), parts=ours if len(ours) == len(messages) else None)
        faults.step("before_send")
        customer, created, lines = send_to_qbo(invoice=invoice, draft=draft, checked=checked, client=client)
        faults.step("after_qbo")
    except PermanentError as exc:
        return record_attempt(invoice_id=invoice_id, error=exc, kind=PERMANENT)
    except Exception as exc:
        # Whether QBO wrote it may be unknown: the retry replays the same requestid, so retrying is safe.
        if not is_transient(exc):
            logger.exception("submitting invoice %s failed unexpectedly", invoice_id)
        return record_attempt(
            invoice_id=invoice_id,
            error=exc,
            kind=TRANSIENT if is_transient(exc) else UNEXPECTED,
            handover=is_transient(exc) and http.deadline_passed(),
        )
    return create_store.store_answer(
        invoice_id=invoice_id, draft=draft, checked=checked, customer=customer, created=created, lines=lines
    )


def send_to_qbo(*, invoice: Invoice, draft: Draft, checked: Checked, client):
    """The QBO writes of a create, each with a requestid derived from the idempotency key."""
    connection = invoice.connection
    key = str(invoice.request_id)
    customer = checked.customer
    if customer is None:
        body = customer_document(connection=connection, draft=draft)
        customer = entities.customer_create(client, body, request_id=f"{key}:c")
    elif draft.customer.update_in_quickbooks:
        changes = customer_changes(existing=customer, draft=draft)
        if changes:
            customer = entities.customer_update(client, customer, changes, request_id=f"{key}:u")
    body, lines = invoice_document(connection=connection, draft=draft, checked=checked, customer_id=customer.id)
    created = entities.invoice_create(client, body, request_id=key)
    return customer, created, lines


def schedule_retry(*, company_id: int, invoice_id: int, delay: float) -> None:
    """Retry later on a worker. With in-process tasks (the embedded demo) a task would run at once,
    ignoring the delay, so there the panel's Refresh and the sweeper retry instead. With the broker
    down the retry is not lost: `next_attempt_at` is stored and the sweeper sends it."""
    from invoices import tasks

    if settings.CELERY_TASK_ALWAYS_EAGER:
        return
    try:
        tasks.submit_invoice.apply_async(kwargs={"company_id": company_id, "invoice_id": invoice_id}, countdown=delay)
    except Exception as exc:
        logger.warning("broker unavailable (%s): invoice %s waits for the sweeper", exc, invoice_id)


def record_attempt(*, invoice_id: int, error: Exception, kind: str, handover: bool = False) -> Invoice:
    """Record a failed attempt: retry later (transient, or unexpected within its budget) or fail.

    `handover`: the web request's deadline ended the attempt (QuickBooks is slow, not failing): a
    worker goes on at once; it is not counted as a failed attempt."""
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update().get(pk=invoice_id)
        if not handover:
            invoice.attempts += 1
        invoice.claimed_until = None
        reason = str(getattr(error, "message", "") or error or error.__class__.__name__)
        retry = kind == TRANSIENT or (kind == UNEXPECTED and invoice.attempts < MAX_UNEXPECTED_ATTEMPTS)
        text: list[event_text.Part] | None
        if retry:
            delay = HANDOVER_SECONDS if handover else _backoff(invoice.attempts)
            retry_after = getattr(error, "retry_after", None)
            if retry_after:
                delay = max(delay, float(retry_after))  # a throttle backs off, never retries sooner
            invoice.next_attempt_at = timezone.now() + dt.timedelta(seconds=delay)
            if handover:
                text = [event_text.part("create_slow")]
            elif invoice.attempts >= DELAYED_AFTER_ATTEMPTS:
                # Cut like data["error"]: the event's data rides along in every panel read.
                ours = getattr(error, "parts", None)
                said_reason = ours[0] if ours and len(ours) == 1 else reason[:300]  # ours: rendered for each reader
                text = [event_text.part("create_delayed", n=invoice.attempts, reason=said_reason)]
            else:
                text = [event_text.part("create_unavailable")]
            invoice.last_error = event_text.render_parts(text)[:1000]
            event_kind = InvoiceEvent.Kind.CREATE_PENDING
            company_id, pk = invoice.company_id, invoice.pk
            transaction.on_commit(lambda: schedule_retry(company_id=company_id, invoice_id=pk, delay=delay))
        else:
            invoice.state = Invoice.State.FAILED
            invoice.next_attempt_at = None
            invoice.last_error = reason[:1000]
            # Our own sentences (a pre-flight problem found on a retry, our words for an HTTP failure)
            # are rendered for each reader; QuickBooks' own words (or an exception's) are shown as they came.
            ours = getattr(error, "parts", None) or []
            failed = [event_text.part("said", text=sentence) for sentence in ours]
            event_kind = InvoiceEvent.Kind.CREATE_FAILED
            text = failed or None
        invoice.save()
        event_text.record_event(
            invoice=invoice,
            kind=event_kind,
            text=text,
            message=reason,
            data={"attempt": invoice.attempts, "error": reason[:300], "kind": kind},
        )
    return invoice
