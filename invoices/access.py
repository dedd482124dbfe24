"""Who may see a company's invoices and act on them (the one place these rules are written)."""

from __future__ import annotations

from django.utils.translation import gettext as _

from integration.quickbooks.models import QuickBooksConnection
from invoices.errors import ActionNotAllowed
from invoices.models import Invoice
from invoices.status import Status, allowed_actions
from tenants.models import Company, Membership


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


def require_action(invoice: Invoice, action: str, membership: Membership | None) -> None:
    """Refuse (ActionNotAllowed) an action the invoice's status or the member's rights rule out;
    without a member (the admin, a task) only the status counts."""
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
