"""Read-side helpers for QuickBooks connections."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from integration.quickbooks.models import QuickBooksConnection
from tenants.models import Company, Membership
from tenants.scoping import company_scope

EXPIRY_WARNING = timedelta(days=30)


def connection_live(*, company: Company) -> QuickBooksConnection | None:
    """The company's active or needs-reconnect connection, if any."""
    with company_scope(company):
        return (
            QuickBooksConnection.objects.filter(company=company, status__in=QuickBooksConnection.LIVE_STATUSES)
            .select_related("owner__user")
            .first()
        )


def connection_active(*, company: Company) -> QuickBooksConnection | None:
    """The connection invoices can use right now, or None."""
    connection = connection_live(company=company)
    return connection if connection is not None and connection.status == QuickBooksConnection.Status.ACTIVE else None


def connection_card(*, company: Company, membership: Membership | None) -> dict:
    """What the settings page's QuickBooks card shows and which buttons it offers."""
    connection = connection_live(company=company)
    may_manage = bool(
        connection is not None
        and membership is not None
        and (membership.is_admin or connection.owner_id == membership.pk)
    )
    # Intuit's 5-year hard expiry (2025 policy): warn a month ahead so nobody is surprised.
    hard_expiry = connection.refresh_hard_expires_at if connection is not None else None
    return {
        "connection": connection,
        "expires_soon": bool(hard_expiry and hard_expiry < timezone.now() + EXPIRY_WARNING),
        "can_connect": connection is None and membership is not None,
        "can_reconnect": bool(
            connection and connection.status == QuickBooksConnection.Status.NEEDS_RECONNECT and may_manage
        ),
        "can_disconnect": may_manage,
    }
