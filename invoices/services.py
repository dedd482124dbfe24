"""Invoice services: create from a draft, and the lifecycle actions. Used by the panel API, the
invoicing extension API and the admin alike.

Create never loses and never duplicates: the intent (a pending Invoice holding the draft and
the client's idempotency key) is committed before QuickBooks is called, the QBO create carries
that key as `requestid`, and a transient failure leaves the intent for a background retry with
the same key.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import random
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from integration import http
from integration.errors import PermanentError, TransientError
from integration.quickbooks.errors import QboStaleObject
from integration.quickbooks.models import QuickBooksConnection
from invoices import money, sync
from invoices.drafts import Draft
from invoices.models import CustomerLink, Invoice, InvoiceDeal, InvoiceEvent, InvoiceLine, ProductLink
from invoices.preflight import Checked, Problem, preflight
from invoices.status import Status, allowed_actions
from tenants.models import Company, Membership

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


class InvoiceError(Exception):
    """A refusal the user can act on: `code`, a human `message`, and the `problems` by field."""

    def __init__(self, message: str, *, code: str = "invalid", problems: list[Problem] | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.problems = problems or []


class ActionNotAllowed(InvoiceError):
    pass


# -- who may do what ---------------------------------------------------------------------------


def can_view(*, membership: Membership, connection: QuickBooksConnection | None) -> bool:
    """Owner-only companies (the default) show invoices to the connection owner alone."""
    if connection is None:
        return False
    if membership.company.invoice_visibility == Company.InvoiceVisibility.TEAM:
        return True
    return connection.owner_id == membership.pk


def viewing_refusal(*, membership: Membership, connection: QuickBooksConnection) -> str:
    """Why this member may not see the company's invoices ("" when they may)."""
    if can_view(membership=membership, connection=connection):
        return ""
    owner = connection.owner
    name = owner.user.display_name if owner else _("the connection owner")
    return _("Only %(owner)s, who connected QuickBooks, sees invoices in this company.") % {"owner": name}


def can_void_or_delete(*, membership: Membership, connection: QuickBooksConnection) -> bool:
    if not can_view(membership=membership, connection=connection):
        return False
    return connection.owner_id == membership.pk or membership.is_admin


def actions_for(*, invoice: Invoice, membership: Membership) -> list[str]:
    """The actions to offer: allowed by the status and by the member's rights."""
    actions = list(allowed_actions(Status(invoice.status))) if invoice.state == Invoice.State.CREATED else []
    if not can_void_or_delete(membership=membership, connection=invoice.connection):
        actions = [a for a in actions if a not in {"void", "delete"}]
    return actions


# -- create ------------------------------------------------------------------------------------


@dataclass
class QboLine:
    body: dict
    amount: Decimal
    quantity: Decimal
    unit_price: Decimal
    collapsed: bool
    source: dict = field(default_factory=dict)


def build_qbo_invoice(*, connection: QuickBooksConnection, draft: Draft, checked: Checked, customer_id: str):
    """The QBO Invoice body for the company's tax model (reference §3.2, §8)."""
    us = connection.tax_model == QuickBooksConnection.TaxModel.US
    inclusive = draft.tax_mode == "inclusive"
    lines: list[QboLine] = []
    for index, (line, priced) in enumerate(zip(draft.lines, checked.priced, strict=True), start=1):
        has_tax = priced.line.tax_method != "none" and priced.line.tax > 0
        # Prices that include tax go to QBO net of it, with the tax carried by TxnTaxDetail.
        amount = priced.net - priced.tax if priced.line.tax_method == "inclusive" else priced.net
        split = money.qbo_amounts(quantity=priced.line.quantity, amount=amount)
        description = line.description or line.name
        if split.collapsed:
            description = f"{description} ({priced.line.quantity} × {priced.line.item_price})"
        detail = {
            "ItemRef": {"value": line.qbo_item_id},
            "Qty": float(split.qty),
            "UnitPrice": float(split.unit_price),
            "TaxCodeRef": {"value": ("TAX" if has_tax else "NON") if us else line.tax_code},
        }
        if not us and priced.line.tax_method == "inclusive":
            detail["TaxInclusiveAmt"] = float(priced.net)
        lines.append(
            QboLine(
                body={
                    "LineNum": index,
                    "Description": description[:4000],
                    "Amount": float(split.amount),
                    "DetailType": "SalesItemLineDetail",
                    "SalesItemLineDetail": detail,
                },
                amount=split.amount,
                quantity=split.qty,
                unit_price=split.unit_price,
                collapsed=split.collapsed,
                source={"pipedrive_product_id": line.pipedrive_product_id, "item_name": line.qbo_item_name},
            )
        )
    body: dict = {
        "CustomerRef": {"value": customer_id},
        "TxnDate": draft.issue_date,
        "DueDate": draft.due_date,
        "Line": [line.body for line in lines],
    }
    if connection.multicurrency_enabled:
        body["CurrencyRef"] = {"value": draft.currency.upper()}
    if draft.doc_number:
        body["DocNumber"] = draft.doc_number
    if draft.customer.email:
        body["BillEmail"] = {"Address": draft.customer.email}
    address = _qbo_address(draft)
    if address:
        body["BillAddr"] = address
    if checked.expected_tax:
        # Pipedrive's tax, to the cent; QBO honours an explicit total and prorates it (reference §8.2).
        body["TxnTaxDetail"] = {"TotalTax": float(checked.expected_tax)}
    if not us:
        body["GlobalTaxCalculation"] = {"inclusive": "TaxInclusive", "exclusive": "TaxExcluded"}.get(
            draft.tax_mode, "NotApplicable"
        )
        if inclusive and not checked.expected_tax:
            body["GlobalTaxCalculation"] = "TaxInclusive"
    return body, lines


def _qbo_address(draft: Draft) -> dict:
    a = draft.customer.address
    mapping = {
        "Line1": a.line1,
        "Line2": a.line2,
        "City": a.city,
        "CountrySubDivisionCode": a.region,
        "PostalCode": a.postal_code,
        "Country": a.country,
    }
    return {k: v for k, v in mapping.items() if v}


def _customer_body(*, connection: QuickBooksConnection, draft: Draft) -> dict:
    customer = draft.customer
    body: dict = {"DisplayName": customer.name.strip()}
    if customer.pipedrive_entity == "organization":
        body["CompanyName"] = customer.name.strip()[:100]
    if customer.email:
        body["PrimaryEmailAddr"] = {"Address": customer.email}
    address = _qbo_address(draft)
    if address:
        body["BillAddr"] = address
    if connection.multicurrency_enabled and draft.currency:
        body["CurrencyRef"] = {"value": draft.currency.upper()}
    if customer.tax_id:
        body["PrimaryTaxIdentifier"] = customer.tax_id
    return body


def _customer_changes(*, existing: dict, draft: Draft) -> dict:
    """What 'update customer in QuickBooks' would change on a linked customer."""
    changes: dict = {}
    email = draft.customer.email
    if email and (existing.get("PrimaryEmailAddr") or {}).get("Address") != email:
        changes["PrimaryEmailAddr"] = {"Address": email}
    address = _qbo_address(draft)
    current = {k: v for k, v in (existing.get("BillAddr") or {}).items() if k in address or k in {"Line1", "City"}}
    if address and any(current.get(k) != v for k, v in address.items()):
        changes["BillAddr"] = address
    return changes


def invoice_preflight(*, connection: QuickBooksConnection, draft: Draft) -> list[Problem]:
    """Every problem with a draft, without writing anything."""
    from integration.quickbooks.services import client_for

    return preflight(connection=connection, draft=draft, client=client_for(connection=connection)).problems


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

    Returns the invoice: created, or pending when QBO is unavailable (a retry is scheduled).
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
        invoice = _record_intent(connection=connection, draft=draft, actor=actor, key=key)
        if invoice is None:
            continue  # the same key, submitted concurrently: answer with that request's intent
        break
    else:
        raise InvoiceError(_("This invoice is already being created; refresh in a moment."), code="busy")

    # A web request spends at most INVOICE_CREATE_WAIT_SECONDS on QuickBooks: then it answers with the
    # pending intent (202) and a worker finishes the create with the same requestid.
    with http.deadline(_request_wait()):
        client = client_for(connection=connection)
        try:
            _fault("after_intent")
            checked = preflight(connection=connection, draft=draft, client=client)
            if not checked.problems:
                Invoice.objects.filter(pk=invoice.pk).update(
                    total=checked.expected_total,
                    customer_name=((checked.customer or {}).get("DisplayName") or draft.customer.name)[:500],
                )
        except Exception as exc:
            if _is_transient(exc):
                # the retry checks again
                return _record_attempt(
                    invoice_id=invoice.pk, error=exc, kind=TRANSIENT, handover=http.deadline_passed()
                )
            _drop_intent(invoice)  # nothing went to QBO: no intent is left behind, the caller gets the error
            raise
        if checked.problems:
            _drop_intent(invoice)  # nothing was sent; the user fixes the draft and submits again
            raise InvoiceError(
                _("The invoice cannot be created yet."), code="preflight_failed", problems=checked.problems
            )
        return _raise_if_failed(invoice_submit(invoice_id=invoice.pk, checked=checked, claimed=True))


def _answer_for_existing(existing: Invoice) -> Invoice:
    """A repeated key: its outcome, at once (never a wait). Pending and held by another request or
    worker: the pending intent (the client polls). Pending and abandoned: send it now."""
    if existing.state == Invoice.State.PENDING and not _claimed(existing):
        with http.deadline(_request_wait()):
            return _raise_if_failed(invoice_submit(invoice_id=existing.pk))
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


def _claimed(invoice: Invoice) -> bool:
    return invoice.claimed_until is not None and invoice.claimed_until > timezone.now()


def _fault(step: str) -> None:
    """A named step of the create's state machine, where tests inject faults. In-process tests
    replace this function; process-kill tests and `make chaos` set INVOICE_FAULT="<step>:<file>"
    and the process dies (exit 137, like kill -9) at that step while the file exists (once: the
    file is removed). Honoured only where the sandboxes are (never in production)."""
    spec = os.environ.get("INVOICE_FAULT", "")
    if not spec or not settings.SANDBOXES_ENABLED:
        return
    wanted, _sep, marker = spec.partition(":")
    if step == wanted and marker and os.path.exists(marker):
        os.remove(marker)
        os._exit(137)


TRANSIENT, PERMANENT, UNEXPECTED = "transient", "permanent", "unexpected"


def _is_transient(exc: BaseException) -> bool:
    """Worth retrying as is: QuickBooks unavailable or throttling, our database or Redis away."""
    from django.db import InterfaceError, OperationalError

    if isinstance(exc, TransientError | OperationalError | InterfaceError | ConnectionError | TimeoutError):
        return True
    try:
        import redis
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError)


def _record_intent(*, connection: QuickBooksConnection, draft: Draft, actor: Membership, key: uuid.UUID):
    """Commit the pending invoice, claimed by this request; None if the key is already taken."""
    try:
        expected = money.deal_total(line.deal_line() for line in draft.lines)
    except money.MoneyError:
        expected = Decimal("0")  # pre-flight will say what is wrong
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
            _fault("before_intent_commit")
    except IntegrityError:
        return None
    return invoice


# How long one submit attempt holds a pending invoice. Short, so the intent of a killed process is
# sent again soon (by the sweeper); a slow attempt that outlives it is harmless: a second sender
# replays the same requestid and the store is guarded by a row lock and the state.
CLAIM_SECONDS = 30


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
            checked = preflight(connection=connection, draft=draft, client=client)
            # An earlier attempt may have created the new customer before it died: the customer
            # create replays that answer (same requestid), so its name being taken is no problem.
            checked.problems = [p for p in checked.problems if p.code != "display_name_taken"]
            if checked.problems:
                raise PermanentError("; ".join(p.message for p in checked.problems))
        _fault("before_send")
        customer, created, lines = _send_to_qbo(invoice=invoice, draft=draft, checked=checked, client=client)
        _fault("after_qbo")
    except PermanentError as exc:
        return _record_attempt(invoice_id=invoice_id, error=exc, kind=PERMANENT)
    except Exception as exc:
        # Whether QBO wrote it may be unknown: the retry replays the same requestid, so retrying is safe.
        if not _is_transient(exc):
            logger.exception("submitting invoice %s failed unexpectedly", invoice_id)
        return _record_attempt(
            invoice_id=invoice_id,
            error=exc,
            kind=TRANSIENT if _is_transient(exc) else UNEXPECTED,
            handover=_is_transient(exc) and http.deadline_passed(),
        )
    return _store_answer(
        invoice_id=invoice_id, draft=draft, checked=checked, customer=customer, created=created, lines=lines
    )


def _store_answer(*, invoice_id: int, draft: Draft, checked: Checked, customer: dict, created: dict, lines) -> Invoice:
    """QBO has the invoice: store it. If the full record cannot be written (a value our columns
    cannot hold, a bug), store what identifies it, so the intent still ends created, once."""
    try:
        with transaction.atomic():
            invoice = (
                Invoice.objects.select_for_update(of=("self",))
                .select_related("connection", "created_by")
                .get(pk=invoice_id)
            )
            if invoice.state == Invoice.State.PENDING:  # else another worker stored the same answer first
                _store_created(
                    invoice=invoice, draft=draft, checked=checked, customer=customer, created=created, lines=lines
                )
        return invoice
    except Exception as exc:
        if _is_transient(exc):
            # Our database is away: the claim expires, the sweeper replays the requestid and stores then.
            raise
        logger.exception("storing QuickBooks' answer for invoice %s failed; storing its identity only", invoice_id)
        return _store_identity(invoice_id=invoice_id, created=created, error=exc)


def _store_identity(*, invoice_id: int, created: dict, error: Exception) -> Invoice:
    """The fallback of `_store_answer`: the QBO id, number and status, no amounts or lines."""
    with transaction.atomic():
        invoice = Invoice.objects.select_for_update(of=("self",)).select_related("connection").get(pk=invoice_id)
        if invoice.state != Invoice.State.PENDING:
            return invoice
        qbo_id = str(created.get("Id") or "")[:32]
        _fold_twin(invoice=invoice, qbo_id=qbo_id)
        invoice.qbo_id = qbo_id
        invoice.doc_number = str(created.get("DocNumber") or "")[:21]
        invoice.sync_token = str(created.get("SyncToken") or "")[:16]
        invoice.state = Invoice.State.CREATED
        invoice.status = Invoice.Status.OPEN
        invoice.balance = invoice.total  # the expected total, until the next sync reads QBO's facts
        invoice.attempts += 1
        invoice.claimed_until = None
        invoice.next_attempt_at = None
        invoice.last_synced_at = timezone.now()
        invoice.last_error = (
            _("Created in QuickBooks, but its details could not be stored here (%(error)s). Open it in QuickBooks.")
            % {"error": error.__class__.__name__}
        )[:1000]
        invoice.save()
        InvoiceEvent.objects.create(
            company=invoice.company,
            invoice=invoice,
            kind=InvoiceEvent.Kind.CREATED,
            actor=invoice.created_by,
            message=(_("Created in QuickBooks as %(number)s") % {"number": invoice.doc_number or invoice.qbo_id})[:500],
            data={"stored": "identity_only", "error": str(error)[:300]},
        )
    return invoice


def _fold_twin(*, invoice: Invoice, qbo_id: str) -> None:
    """QBO's webhook for this very invoice can beat us here, and the sync then filed it as
    "found in QuickBooks". Ours is the same invoice: fold that copy into it."""
    twin = (
        Invoice.objects.select_for_update()
        .filter(connection_id=invoice.connection_id, qbo_id=qbo_id)
        .exclude(pk=invoice.pk)
        .first()
    )
    if twin is not None:
        for link in InvoiceDeal.objects.filter(invoice=twin):
            InvoiceDeal.objects.get_or_create(
                invoice=invoice,
                deal_id=link.deal_id,
                defaults={"company": invoice.company, "linked_by": link.linked_by},
            )
        twin.delete()


def _send_to_qbo(*, invoice: Invoice, draft: Draft, checked: Checked, client):
    """The QBO writes of a create, each with a requestid derived from the idempotency key."""
    connection = invoice.connection
    key = str(invoice.request_id)
    customer = checked.customer
    if customer is None:
        customer = client.create("Customer", _customer_body(connection=connection, draft=draft), request_id=f"{key}:c")
    elif draft.customer.update_in_quickbooks:
        changes = _customer_changes(existing=customer, draft=draft)
        if changes:
            customer = client.sparse_update(
                "Customer", customer["Id"], customer["SyncToken"], changes, request_id=f"{key}:u"
            )
    body, lines = build_qbo_invoice(
        connection=connection, draft=draft, checked=checked, customer_id=str(customer["Id"])
    )
    created = client.create("Invoice", body, request_id=key)
    return customer, created, lines


def _store_created(*, invoice: Invoice, draft: Draft, checked: Checked, customer: dict, created: dict, lines) -> None:
    connection = invoice.connection
    _fold_twin(invoice=invoice, qbo_id=str(created.get("Id")))
    sync.copy_qbo_fields(invoice=invoice, connection=connection, data=created)
    invoice.attempts += 1
    invoice.last_error = ""
    invoice.next_attempt_at = None
    invoice.claimed_until = None
    mismatch = money.round2(invoice.total) != money.round2(checked.expected_total)
    if mismatch:
        invoice.last_error = _("QuickBooks totals %(qbo)s but the confirmed lines total %(deal)s.") % {
            "qbo": invoice.total,
            "deal": checked.expected_total,
        }
    invoice.save()
    _fault("during_write")
    # An import may have attached QBO's lines to the intent already (sync.pending_intent_adopt).
    InvoiceLine.objects.filter(invoice=invoice).delete()
    InvoiceLine.objects.bulk_create(
        [
            InvoiceLine(
                company=invoice.company,
                invoice=invoice,
                position=index,
                description=line.body["Description"],
                pipedrive_product_id=line.source["pipedrive_product_id"],
                qbo_item_id=line.body["SalesItemLineDetail"]["ItemRef"]["value"],
                quantity=line.quantity,
                unit_price=line.unit_price,
                amount=line.amount,
                tax_code=line.body["SalesItemLineDetail"]["TaxCodeRef"]["value"],
            )
            for index, line in enumerate(lines, start=1)
        ]
    )
    if draft.customer.pipedrive_id is not None and draft.customer.pipedrive_entity in {"organization", "person"}:
        CustomerLink.objects.update_or_create(
            connection=connection,
            entity=draft.customer.pipedrive_entity,
            pipedrive_id=draft.customer.pipedrive_id,
            defaults={
                "company": invoice.company,
                "qbo_customer_id": str(customer["Id"]),
                "display_name": str(customer.get("DisplayName") or ""),
            },
        )
    for line in draft.lines:
        if line.pipedrive_product_id:
            item = checked.items.get(line.qbo_item_id) or {}
            ProductLink.objects.update_or_create(
                connection=connection,
                pipedrive_product_id=line.pipedrive_product_id,
                defaults={
                    "company": invoice.company,
                    "qbo_item_id": line.qbo_item_id,
                    "item_name": str(item.get("Name") or line.qbo_item_name),
                },
            )
    InvoiceEvent.objects.create(
        company=invoice.company,
        invoice=invoice,
        kind=InvoiceEvent.Kind.CREATED,
        actor=invoice.created_by,
        message=_("Created in QuickBooks as %(number)s") % {"number": invoice.doc_number or invoice.qbo_id},
        data={"total": str(invoice.total), "expected": str(checked.expected_total), "mismatch": mismatch},
    )
    if draft.send_email and draft.customer.email:
        invoice_id, actor_id = invoice.pk, invoice.created_by_id
        transaction.on_commit(lambda: _send_after_create(invoice_id=invoice_id, actor_id=actor_id))


def _send_after_create(*, invoice_id: int, actor_id: int | None) -> None:
    invoice = Invoice.objects.get(pk=invoice_id)
    actor = Membership.objects.filter(pk=actor_id).first()
    try:
        invoice_send(invoice=invoice, actor=actor)
    except Exception:  # the invoice exists; sending can be retried from the panel
        logger.exception("sending invoice %s after create failed", invoice_id)


def _schedule_retry(*, company_id: int, invoice_id: int, delay: float) -> None:
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


def _record_attempt(*, invoice_id: int, error: Exception, kind: str, handover: bool = False) -> Invoice:
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
        if retry:
            delay = HANDOVER_SECONDS if handover else _backoff(invoice.attempts)
            retry_after = getattr(error, "retry_after", None)
            if retry_after:
                delay = max(delay, float(retry_after))  # a throttle backs off, never retries sooner
            invoice.next_attempt_at = timezone.now() + dt.timedelta(seconds=delay)
            if handover:
                message = _("QuickBooks is answering slowly; the invoice is being created in the background.")
            elif invoice.attempts >= DELAYED_AFTER_ATTEMPTS:
                message = _(
                    "Delayed: QuickBooks is not accepting it yet (attempt %(n)s: %(reason)s). "
                    "It is retried automatically."
                ) % {"n": invoice.attempts, "reason": reason}
            else:
                message = _("QuickBooks is unavailable; retrying automatically.")
            invoice.last_error = message[:1000]
            event_kind = InvoiceEvent.Kind.CREATE_PENDING
            company_id, pk = invoice.company_id, invoice.pk
            transaction.on_commit(lambda: _schedule_retry(company_id=company_id, invoice_id=pk, delay=delay))
        else:
            invoice.state = Invoice.State.FAILED
            invoice.next_attempt_at = None
            invoice.last_error = reason[:1000]
            message = invoice.last_error
            event_kind = InvoiceEvent.Kind.CREATE_FAILED
        invoice.save()
        InvoiceEvent.objects.create(
            company=invoice.company,
            invoice=invoice,
            kind=event_kind,
            message=message[:500],
            data={"attempt": invoice.attempts, "error": reason[:300], "kind": kind},
        )
    return invoice


# -- actions -----------------------------------------------------------------------------------


def _require(invoice: Invoice, action: str, membership: Membership | None) -> None:
    allowed = (
        actions_for(invoice=invoice, membership=membership)
        if membership is not None
        else list(allowed_actions(Status(invoice.status)))
    )
    if action not in allowed:
        raise ActionNotAllowed(
            _("This invoice is %(status)s: %(action)s is not possible.")
            % {"status": invoice.get_status_display(), "action": action},
            code="action_not_allowed",
        )


def _with_fresh_sync_token(invoice: Invoice, call):
    """Run a QBO write; on a stale SyncToken (5010) re-read the invoice once and try again."""
    try:
        return call(invoice.sync_token)
    except QboStaleObject:
        from integration.quickbooks.services import client_for

        fresh = client_for(connection=invoice.connection).read("Invoice", invoice.qbo_id)
        sync.copy_qbo_fields(invoice=invoice, connection=invoice.connection, data=fresh)
        invoice.save()
        return call(invoice.sync_token)


def _apply_action(invoice: Invoice, data: dict, *, actor, deleted: bool = False) -> Invoice:
    """Store QBO's answer to an action. The webhook for it may have been applied already, so the
    status move is measured against the row as stored now."""
    with transaction.atomic():
        stored = Invoice.objects.select_for_update().get(pk=invoice.pk)
        old_status = stored.status if stored.status != invoice.status else invoice.status
        sync.copy_qbo_fields(invoice=invoice, connection=invoice.connection, data=data, deleted=deleted)
        invoice.save()
        sync.record_status_change(invoice=invoice, old_status=old_status, actor=actor, source="Pipedrive")
    return invoice


def invoice_void(*, invoice: Invoice, actor: Membership | None) -> Invoice:
    """Void in QBO (irreversible: amounts become zero, the number stays)."""
    from integration.quickbooks.services import client_for

    _require(invoice, "void", actor)
    client = client_for(connection=invoice.connection)
    received = {}

    def void(token):
        # Measured right before the call (after a stale-token re-read): what was paid is what QBO unlinks.
        received["amount"] = max(invoice.total - invoice.balance, Decimal(0))
        return client.void("Invoice", invoice.qbo_id, token)

    voided = _with_fresh_sync_token(invoice, void)
    _apply_action(invoice, voided, actor=actor)
    from invoices.outcomes import record_action_outcome

    record_action_outcome(invoice=invoice, actor=actor, kind="voided", unapplied=received.get("amount", Decimal(0)))
    return invoice


def invoice_delete(*, invoice: Invoice, actor: Membership | None) -> Invoice:
    """Delete in QBO; our copy stays, marked deleted, with its history."""
    from integration.quickbooks.services import client_for

    _require(invoice, "delete", actor)
    client = client_for(connection=invoice.connection)
    _with_fresh_sync_token(invoice, lambda token: client.delete("Invoice", invoice.qbo_id, token))
    _apply_action(invoice, {"Id": invoice.qbo_id, "status": "Deleted"}, actor=actor, deleted=True)
    from invoices.outcomes import record_action_outcome

    record_action_outcome(invoice=invoice, actor=actor, kind="deleted")
    return invoice


def invoice_send(*, invoice: Invoice, actor: Membership | None, to: str = "", cc: str = "") -> Invoice:
    """QBO emails the invoice to `to`, else to its billing email."""
    from django.core.exceptions import ValidationError
    from django.core.validators import validate_email

    from integration.quickbooks.services import client_for

    _require(invoice, "send", actor)
    address = (to or invoice.bill_email or "").strip()
    try:
        validate_email(address)
    except ValidationError as exc:
        raise InvoiceError(
            _("Give an email address to send the invoice to.")
            if not address
            else _("“%(email)s” is not an email address.") % {"email": address},
            code="email_invalid",
            problems=[Problem("to", "email_invalid", _("Not an email address."))],
        ) from exc
    client = client_for(connection=invoice.connection)
    if cc.strip():
        # Issue 13: a recipient added in the panel goes in copy (BillEmailCc), set before sending.
        changes = {"BillEmailCc": {"Address": cc.strip()}}
        updated = _with_fresh_sync_token(
            invoice, lambda token: client.sparse_update("Invoice", invoice.qbo_id, token, changes)
        )
        invoice.sync_token = str(updated.get("SyncToken") or invoice.sync_token)
    sent = client.send_invoice(invoice.qbo_id, send_to=address)
    with transaction.atomic():
        _apply_action(invoice, sent, actor=actor)
        invoice.sent = True
        invoice.save(update_fields=["sent", "updated_at"])
        InvoiceEvent.objects.create(
            company=invoice.company,
            invoice=invoice,
            kind=InvoiceEvent.Kind.EMAILED,
            actor=actor,
            message=(_("Sent to %(email)s, copy to %(cc)s") % {"email": address, "cc": cc.strip()})
            if cc.strip()
            else _("Sent to %(email)s") % {"email": address},
        )
    return invoice


def invoice_pdf(*, invoice: Invoice, actor: Membership | None):
    """The PDF as QBO renders it, streamed (a PdfDownload: iterate `chunks()`, then `close()`)."""
    from integration.quickbooks.services import client_for

    _require(invoice, "pdf", actor)
    return client_for(connection=invoice.connection).invoice_pdf(invoice.qbo_id)


def invoice_pdf_response(*, invoice: Invoice, actor: Membership | None):
    """The PDF as a streamed HTTP download; the connection to QBO is closed when the stream ends."""
    from django.http import StreamingHttpResponse

    pdf = invoice_pdf(invoice=invoice, actor=actor)

    def stream():
        try:
            yield from pdf.chunks()
        finally:
            pdf.close()

    response = StreamingHttpResponse(stream(), content_type="application/pdf")
    response["Content-Disposition"] = f'attachment; filename="invoice-{invoice.doc_number or invoice.qbo_id}.pdf"'
    if pdf.length:
        response["Content-Length"] = str(pdf.length)
    return response


def invoice_deep_link(*, invoice: Invoice) -> str:
    """Where 'Open in QuickBooks' goes."""
    return f"{settings.QBO_APP_BASE_URL.rstrip('/')}/invoice?txnId={invoice.qbo_id}"


def invoice_refresh(*, connection: QuickBooksConnection, invoices: list[Invoice]) -> list[Invoice]:
    """Refresh now: re-read these invoices from QBO in one query."""
    return sync.invoices_refetch(connection=connection, qbo_ids=[i.qbo_id for i in invoices if i.qbo_id])


def customer_invoices_pull(
    *, connection: QuickBooksConnection, customer_qbo_id: str, date_from: dt.date | None, date_to: dt.date | None
) -> int:
    """Read a customer's invoices in a date range from QBO (all pages) and store them here, including
    ones typed into QuickBooks; ours the query no longer returns (moved or deleted there) are re-read."""
    from integration.quickbooks.client import quote
    from integration.quickbooks.services import client_for
    from invoices import selectors

    where = [f"CustomerRef = {quote(customer_qbo_id)}"]
    if date_from:
        where.append(f"TxnDate >= {quote(date_from.isoformat())}")
    if date_to:
        where.append(f"TxnDate <= {quote(date_to.isoformat())}")
    seen = set()
    for row in client_for(connection=connection).query_all(f"SELECT * FROM Invoice WHERE {' AND '.join(where)}"):  # noqa: S608
        sync.invoice_apply_qbo(connection=connection, data=row)
        seen.add(str(row.get("Id")))
    ours = selectors.invoices_of_customer(
        company=connection.company,
        connection=connection,
        customer_qbo_id=customer_qbo_id,
        date_from=date_from,
        date_to=date_to,
    )
    invoice_refresh(connection=connection, invoices=[i for i in ours if i.qbo_id not in seen])
    return len(seen)


def qbo_search_by_name(*, connection: QuickBooksConnection, entity: str, term: str, limit: int = 20) -> list[dict]:
    """QBO customers (by DisplayName) or items (by Name) whose name contains `term`, by name."""
    from integration.quickbooks.client import quote
    from integration.quickbooks.services import client_for

    field_name = "DisplayName" if entity == "Customer" else "Name"
    term = term.strip()[:100]
    where = f" WHERE {field_name} LIKE {quote(f'%{term}%')}" if term else ""
    # Doc: https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/data-queries
    sql = f"SELECT * FROM {entity}{where} ORDERBY {field_name} MAXRESULTS {int(limit)}"  # noqa: S608 (QBO query)
    return client_for(connection=connection).query(sql).items


def invoice_link_deal(*, invoice: Invoice, deal_id: int, actor: Membership | None) -> InvoiceDeal:
    with transaction.atomic():
        link, created = InvoiceDeal.objects.get_or_create(
            invoice=invoice, deal_id=deal_id, defaults={"company": invoice.company, "linked_by": actor}
        )
        if created:
            InvoiceEvent.objects.create(
                company=invoice.company,
                invoice=invoice,
                kind=InvoiceEvent.Kind.LINKED,
                actor=actor,
                message=_("Linked to deal %(deal)s") % {"deal": deal_id},
                data={"deal_id": deal_id},
            )
    return link


def invoice_unlink_deal(*, invoice: Invoice, deal_id: int, actor: Membership | None) -> bool:
    with transaction.atomic():
        deleted, _count = InvoiceDeal.objects.filter(invoice=invoice, deal_id=deal_id).delete()
        if deleted:
            InvoiceEvent.objects.create(
                company=invoice.company,
                invoice=invoice,
                kind=InvoiceEvent.Kind.UNLINKED,
                actor=actor,
                message=_("Unlinked from deal %(deal)s") % {"deal": deal_id},
                data={"deal_id": deal_id},
            )
    return bool(deleted)
