"""Invoice status, derived from QuickBooks data (quickbooks-api.md §4.8), and Pipedrive's codes.

No single QBO field says "paid" or "overdue". The order matters: a voided invoice has a zero
balance too, so Voided is tested before Paid.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from enum import StrEnum

from django.utils.translation import gettext_lazy as _


class Status(StrEnum):
    OPEN = "open"
    OVERDUE = "overdue"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    VOIDED = "voided"
    DELETED = "deleted"


LABELS = {
    Status.OPEN: _("Open"),
    Status.OVERDUE: _("Overdue"),
    Status.PARTIALLY_PAID: _("Partially paid"),
    Status.PAID: _("Paid"),
    Status.VOIDED: _("Voided"),
    Status.DELETED: _("Deleted"),
}


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
    if facts.due_date is not None and facts.due_date < today:
        return Status.OVERDUE
    return Status.OPEN


def is_overdue(facts: Facts, *, today: dt.date) -> bool:
    """Past due with money owed: true for overdue and for late partially paid invoices."""
    status = compute_status(facts, today=today)
    return status in {Status.OVERDUE, Status.PARTIALLY_PAID} and facts.due_date is not None and facts.due_date < today


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
    if status == Status.OPEN and due_date is not None and due_date < today:
        return Status.OVERDUE
    return Status(status)


def allowed_actions(status: Status) -> tuple[str, ...]:
    return ACTIONS[status]
