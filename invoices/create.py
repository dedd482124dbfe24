"""Create an invoice from a draft, exactly once per idempotency key. Used by the panel API, the
invoicing extension API and the Won rule alike.

Create never loses and never duplicates: the intent (a pending Invoice holding the draft and the
client's idempotency key) is committed before QuickBooks is called, the QBO create carries that
key as `requestid`, and a transient failure leaves the intent for a background retry with the same
key (invoices.create_queue).
"""

from __future__ import annotations

import contextlib
import logging
import uuid

from django.conf import settings
from django.utils.translation import gettext as _

from integration import http
from integration.quickbooks.models import QuickBooksConnection
from invoices import create_queue, faults, money
from invoices import preflight as checks
from invoices.access import can_view
from invoices.drafts import Draft
from invoices.errors import ActionNotAllowed, InvoiceError, is_transient
from invoices.models import Invoice
from invoices.preflight import Problem
from tenants.models import Membership

logger = logging.getLogger(__name__)


def invoice_preflight(*, connection: QuickBooksConnection, draft: Draft) -> list[Problem]:
    """Every problem with a draft, without writing anything."""
    from integration.quickbooks.services import client_for

    return checks.preflight(connection=connection, draft=draft, client=client_for(connection=connection)).problems


def draft_as_confirmed(
    *, connection: QuickBooksConnection, installation, draft: Draft, idempotency_key: str, confirmed_total: str | None
) -> None:
    """The money rule of a create: the invoice bills exactly the lines the user confirmed.

    The lines may differ from the deal's products (edited, removed, added; a deal without
    products): that difference is shown in the modal, not refused. What is refused is a create
    whose lines do not total what the modal showed (`confirmed_total`, the draft's `total`),
    so nobody is billed an amount they did not see. A retry of a key already used returns that
    invoice whatever lines it sends, so it is not checked again. With the member's Pipedrive
    access the deal is read, so nobody invoices a deal they cannot see."""
    from integration.pipedrive import client as pipedrive

    with contextlib.suppress(ValueError, TypeError, AttributeError):
        if Invoice.objects.filter(connection=connection, request_id=uuid.UUID(str(idempotency_key))).exists():
            return
    if installation is not None and draft.deal_id:
        pipedrive.deal_get(installation=installation, deal_id=draft.deal_id)  # NotFound: a 404 to the user
    if confirmed_total is None:
        return
    try:
        total = money.deal_total(line.deal_line() for line in draft.lines)
    except money.MoneyError:
        return  # pre-flight names every line that cannot be priced, with the other problems
    try:
        confirmed = money.round2(money.to_decimal(confirmed_total, field="total"))
    except (money.MoneyError, ArithmeticError) as exc:
        raise InvoiceError(
            _("The total is not a number."),
            code="invalid",
            problems=[Problem("total", "invalid", _("The total is not a number."))],
        ) from exc
    if confirmed != money.round2(total):
        message = _("These lines total %(lines)s, not the %(shown)s shown. Check the lines and create again.") % {
            "lines": money.round2(total),
            "shown": confirmed,
        }
        raise InvoiceError(message, code="total_changed", problems=[Problem("total", "total_changed", message)])


def _validate_key(idempotency_key: str) -> uuid.UUID:
    try:
        return uuid.UUID(str(idempotency_key))
    except (TypeError, ValueError, AttributeError) as exc:
        raise InvoiceError(_("The idempotency key must be a UUID."), code="idempotency_key_invalid") from exc


def draft_within_limits(*, connection: QuickBooksConnection, draft: Draft) -> None:
    """Refuse (InvoiceError with every field) a draft with a value our columns or QBO cannot hold."""
    from invoices import validation
    from invoices.sync import company_today

    found = validation.draft_problems(draft, today=company_today(connection))
    if found:
        raise InvoiceError(
            _("The invoice cannot be created yet."), code="preflight_failed", problems=[Problem(*p) for p in found]
        )


def invoice_create(
    *, connection: QuickBooksConnection, draft: Draft, actor: Membership, idempotency_key: str
) -> Invoice:
    """Create the invoice in QBO and here, exactly once per idempotency key.

    Returns the invoice: created, or pending when QBO is unavailable or slow (a worker goes on).
    Raises InvoiceError with every problem when the draft cannot be invoiced. Do not call it
    inside a transaction: the intent must be committed before QBO is called.
    """
    from integration.quickbooks.services import client_for

    key = _validate_key(idempotency_key)
    if connection.status != QuickBooksConnection.Status.ACTIVE:
        raise InvoiceError(_("QuickBooks needs reconnecting before invoices can be created."), code="needs_reconnect")
    if not can_view(membership=actor, connection=connection):
        raise ActionNotAllowed(_("Only the QuickBooks connection owner can create invoices."), code="forbidden")
    draft_within_limits(connection=connection, draft=draft)  # before the intent: nothing is written
    for _attempt in range(3):
        existing = Invoice.objects.filter(connection=connection, request_id=key).first()
        if existing is not None:
            return _answer_for_existing(existing)
        invoice = create_queue.record_intent(connection=connection, draft=draft, actor=actor, key=key)
        if invoice is None:
            continue  # the same key, submitted concurrently: answer with that request's intent
        break
    else:
        raise InvoiceError(_("This invoice is already being created; refresh in a moment."), code="busy")

    # A web request spends at most INVOICE_CREATE_WAIT_SECONDS on QuickBooks, never sleeping: then
    # it answers with the pending intent (202, the client polls) and a worker finishes the create
    # with the same requestid.
    with http.deadline(_request_wait()):
        client = client_for(connection=connection)
        try:
            faults.step("after_intent")
            checked = checks.preflight(connection=connection, draft=draft, client=client)
            if not checked.problems:
                Invoice.objects.filter(pk=invoice.pk).update(
                    total=checked.expected_total,
                    customer_name=((checked.customer.display_name if checked.customer else "") or draft.customer.name)[
                        :500
                    ],
                )
        except Exception as exc:
            if is_transient(exc):
                # the retry checks again
                return create_queue.record_attempt(
                    invoice_id=invoice.pk, error=exc, kind=create_queue.TRANSIENT, handover=http.deadline_passed()
                )
            _drop_intent(invoice)  # nothing went to QBO: no intent is left behind, the caller gets the error
            raise
        if checked.problems:
            _drop_intent(invoice)  # nothing was sent; the user fixes the draft and submits again
            raise InvoiceError(
                _("The invoice cannot be created yet."), code="preflight_failed", problems=checked.problems
            )
        return _raise_if_failed(create_queue.invoice_submit(invoice_id=invoice.pk, checked=checked, claimed=True))


def _answer_for_existing(existing: Invoice) -> Invoice:
    """A repeated key: its outcome, at once (never a wait). Pending and held by another request or
    worker: the pending intent (the client polls). Pending and abandoned: send it now."""
    if existing.state == Invoice.State.PENDING and not create_queue.claimed(existing):
        with http.deadline(_request_wait()):
            return _raise_if_failed(create_queue.invoice_submit(invoice_id=existing.pk))
    return _raise_if_failed(existing)


def _request_wait() -> float | None:
    """The total time a create may spend on QuickBooks here: bounded in a web request, not in a
    worker (background work, marked for the limiter, waits as long as each call allows)."""
    from integration.quickbooks.limiter import in_background

    return None if in_background() else settings.INVOICE_CREATE_WAIT_SECONDS


def _raise_if_failed(invoice: Invoice) -> Invoice:
    """A failed create is answered as the failure it is, to the first request and to every resubmit."""
    if invoice.state == Invoice.State.FAILED:
        raise InvoiceError(
            _("QuickBooks did not create this invoice: %(reason)s") % {"reason": invoice.last_error or _("unknown")},
            code="create_failed",
        )
    return invoice


def _drop_intent(invoice: Invoice) -> None:
    try:
        invoice.delete()
    except Exception:  # the database went away too: the sweeper sends the intent (same requestid)
        logger.exception("could not drop the intent of invoice %s", invoice.pk)
