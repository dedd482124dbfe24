"""Invoice status, derived from QuickBooks data (quickbooks-api.md §4.8), and Pipedrive's codes.

No single QBO field says "paid" or "overdue". The order matters: a voided invoice has a zero
balance too, so Voided is tested before Paid.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    """The one status enum: `Invoice.Status` is this class, so the column and the rules share it."""

    OPEN = "open", _("Open")
    OVERDUE = "overdue", _("Overdue")
    PARTIALLY_PAID = "partially_paid", _("Partially paid")
    PAID = "paid", _("Paid")
    VOIDED = "voided", _("Voided")
    DELETED = "deleted", _("Deleted")


LABELS = {status: status.label for status in Status}


def is_past_due(due_date: dt.date | None, *, today: dt.date) -> bool:
    """The overdue boundary, written once: due strictly before the company's today (`company_today`).
    An invoice due today is not overdue yet; one without a due date never is."""
    return due_date is not None and due_date < today


def past_due_q(*, today: dt.date) -> Q:
    """`is_past_due` for a queryset of invoices (NULL due dates never match)."""
    return Q(due_date__lt=today)


@dataclass(frozen=True)
class Facts:
    """The QBO facts a status depends on."""

    total: Decimal
    balance: Decimal
    due_date: dt.date | None
    private_note: str = ""
    deleted: bool = False

    @classmethod
    def from_qbo(cls, invoice: dict, *, deleted: bool = False) -> Facts:
        """From a QBO Invoice object (read, create, void or CDC shape)."""
        from integration.quickbooks.records import invoice_of

        qbo = invoice_of(invoice)
        return cls(
            total=Decimal(str(qbo.total)),
            balance=Decimal(str(qbo.balance)),
            due_date=dt.date.fromisoformat(qbo.due_date) if qbo.due_date else None,
            private_note=qbo.private_note,
            deleted=deleted or qbo.deleted,
        )


def is_voided(*, total: Decimal, private_note: str) -> bool:
    return total == 0 and private_note.startswith("Voided")


def compute_status(facts: Facts, *, today: dt.date) -> Status:
    """The one status rule. `today` is the date in the QuickBooks company's timezone."""
    if facts.deleted:
        return Status.DELETED
    if is_voided(total=facts.total, private_note=facts.private_note):
        return Status.VOIDED
    if facts.balance <= 0:
        return Status.PAID  # includes zero-amount invoices, which are closed
    if facts.balance < facts.total:
        return Status.PARTIALLY_PAID
    if is_past_due(facts.due_date, today=today):
        return Status.OVERDUE
    return Status.OPEN


@dataclass(frozen=True)
class PipedriveStatus:
    code: str
    label: str = ""


def pipedrive_status(status: Status, *, sent: bool) -> PipedriveStatus:
    """Map our status to the invoicing extension's `pipedriveStatusCode` (DESIGN §4)."""
    if status == Status.OPEN:
        return PipedriveStatus("issued" if sent else "created")
    if status == Status.OVERDUE:
        return PipedriveStatus("issued", label=str(_("Overdue")))
    if status == Status.PARTIALLY_PAID:
        return PipedriveStatus("partiallyPaid")
    return PipedriveStatus(status.value)  # paid, voided, deleted


# What can be done in each state. Delete needs money not yet received (QBO refuses it, 6000); void
# does not: QBO unlinks the payments, which stay on the customer as unapplied credit.
ACTIONS = {
    Status.OPEN: ("send", "pdf", "open_in_quickbooks", "void", "delete"),
    Status.OVERDUE: ("send", "pdf", "open_in_quickbooks", "void", "delete"),
    Status.PARTIALLY_PAID: ("send", "pdf", "open_in_quickbooks", "void"),
    Status.PAID: ("send", "pdf", "open_in_quickbooks", "void"),
    Status.VOIDED: ("pdf", "open_in_quickbooks", "delete"),
    Status.DELETED: (),
}


def effective_status(*, status: str, due_date: dt.date | None, today: dt.date) -> Status:
    """A stored Open invoice past its due date reads as Overdue (overdue is computed at read time;
    the daily job only records it)."""
    if status == Status.OPEN and is_past_due(due_date, today=today):
        return Status.OVERDUE
    return Status(status)


def allowed_actions(status: Status) -> tuple[str, ...]:
    return ACTIONS[status]
