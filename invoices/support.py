"""The support console's actions on connections, invoices and webhooks, and its read models.

The actions are registered with `tenants.support` (which starts, audits and runs them) when the
invoices app loads. Nothing here reads or returns a token.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import Count, Max, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from integration.models import ApiCall, WebhookDelivery, WebhookEvent
from integration.quickbooks.models import QuickBooksConnection
from invoices.models import Invoice
from tenants.models import AuditLog, Company, User
from tenants.scoping import company_scope
from tenants.support import SupportAction, SupportActionError, register

logger = logging.getLogger(__name__)

Status = QuickBooksConnection.Status
JOB_STATES = (Invoice.State.PENDING, Invoice.State.FAILED)
REFRESH_EXPIRY_WINDOW = dt.timedelta(days=14)


# -- the actions, one target at a time -------------------------------------------------------------


def _connection(pk: int) -> QuickBooksConnection:
    return QuickBooksConnection.all_companies.select_related("company", "owner__user").get(pk=pk)


def token_refresh_now(connection: QuickBooksConnection, *, params: dict, actor: User) -> str:
    """Refresh the QuickBooks access token now, through the serialized refresh path."""
    from integration.quickbooks.tokens import access_token_refresh

    if connection.status != Status.ACTIVE:
        raise SupportActionError(_("The connection is %(status)s, not active.") % {"status": connection.status})
    # Passing the current token as "stale" forces the refresh even when it is still fresh.
    access_token_refresh(connection=connection, stale=connection.access_token or None)
    row = _connection(connection.pk)
    return _("Token refreshed; the new access token expires at %(at)s.") % {"at": row.access_expires_at}


def resync_from(connection: QuickBooksConnection, *, params: dict, actor: User) -> str:
    """Change data capture from a date: rewinds the cursor, then one CDC sync."""
    from invoices.sync_feeds import CDC_LOOKBACK, connection_cdc_sync

    if connection.status != Status.ACTIVE:
        raise SupportActionError(_("The connection is %(status)s, not active.") % {"status": connection.status})
    since = dt.datetime.fromisoformat(params["since"])
    if timezone.is_naive(since):
        since = since.replace(tzinfo=dt.UTC)
    # QBO answers CDC for the last 30 days only; sync.py clamps the same way.
    since = max(since, timezone.now() - CDC_LOOKBACK)
    with company_scope(connection.company):
        QuickBooksConnection.objects.filter(pk=connection.pk).update(cdc_cursor=since)
        connection.cdc_cursor = since
        applied = connection_cdc_sync(connection=connection)
    return _("Resynced from %(since)s: %(count)s invoices updated.") % {"since": since.isoformat(), "count": applied}


def retry_invoice(invoice: Invoice, *, params: dict, actor: User) -> str:
    """Send a pending or failed invoice to QuickBooks again, with its original requestid."""
    from invoices.create_queue import invoice_submit

    if invoice.state not in JOB_STATES:
        raise SupportActionError(_("The invoice is already in QuickBooks; nothing to retry."))
    with company_scope(invoice.company):
        if invoice.state == Invoice.State.FAILED:
            # invoice_submit only takes pending intents: put it back in the queue first.
            Invoice.objects.filter(pk=invoice.pk, state=Invoice.State.FAILED).update(
                state=Invoice.State.PENDING, next_attempt_at=None, claimed_until=None
            )
        result = invoice_submit(invoice_id=invoice.pk)
    if result.state != Invoice.State.CREATED:
        raise SupportActionError(
            _("Still %(state)s after attempt %(n)s: %(error)s")
            % {"state": result.state, "n": result.attempts, "error": result.last_error or "-"}
        )
    return _("Created in QuickBooks as %(number)s.") % {"number": result.doc_number or result.qbo_id}


def webhook_redeliver(delivery: WebhookDelivery, *, params: dict, actor: User) -> str:
    """Process a stored delivery again, all of its events (re-fetching is idempotent)."""
    from invoices.sync_feeds import webhook_process

    with transaction.atomic():
        delivery.events.update(processed_at=None)
        WebhookDelivery.objects.filter(pk=delivery.pk).update(processed_at=None)
    try:
        applied = webhook_process(delivery_id=delivery.pk)
    except Exception as exc:  # webhook_process stored the error on the delivery
        raise SupportActionError(str(exc)) from exc
    return _("Re-delivered: %(count)s events processed.") % {"count": applied}


def mark_needs_reconnect(connection: QuickBooksConnection, *, params: dict, actor: User) -> str:
    from integration.quickbooks.tokens import connection_mark_needs_reconnect

    if connection.status != Status.ACTIVE:
        raise SupportActionError(_("The connection is %(status)s, not active.") % {"status": connection.status})
    connection_mark_needs_reconnect(connection=connection)
    return _("Marked as needing a reconnect; its tokens were deleted.")


def disconnect(connection: QuickBooksConnection, *, params: dict, actor: User) -> str:
    from integration.quickbooks.services import connection_disconnect

    if connection.status == Status.DISCONNECTED:
        raise SupportActionError(_("The connection is already disconnected."))
    connection_disconnect(connection=connection, actor=None)  # staff act as the system here
    return _("Disconnected; the tokens were revoked at Intuit and deleted.")


register(
    SupportAction(
        "token_refresh", gettext_lazy("Refresh the QuickBooks token now"), QuickBooksConnection, token_refresh_now
    ),
    SupportAction(
        "resync",
        gettext_lazy("Resync invoices from a date (change data capture)"),
        QuickBooksConnection,
        resync_from,
    ),
    SupportAction("retry_invoice", gettext_lazy("Retry failed jobs (send the invoices again)"), Invoice, retry_invoice),
    SupportAction(
        "webhook_redeliver",
        gettext_lazy("Re-deliver the stored webhook"),
        WebhookDelivery,
        webhook_redeliver,
        company_scoped=False,
    ),
    SupportAction(
        "mark_needs_reconnect",
        gettext_lazy("Mark as needing a reconnect"),
        QuickBooksConnection,
        mark_needs_reconnect,
        warning=gettext_lazy("The stored tokens are deleted; the company must reconnect QuickBooks."),
    ),
    SupportAction(
        "disconnect",
        gettext_lazy("Disconnect QuickBooks"),
        QuickBooksConnection,
        disconnect,
        superuser_only=True,
        warning=gettext_lazy("The tokens are revoked at Intuit and deleted. Only the company can connect again."),
    ),
)


# -- read models ------------------------------------------------------------------------------------


def _realms(company: Company) -> list[str]:
    return list(QuickBooksConnection.all_companies.filter(company=company).values_list("realm_id", flat=True))


def webhook_deliveries_of(*, company: Company):
    """Deliveries naming the company: by its events' resolved company, or by its realms."""
    ids = WebhookEvent.objects.filter(Q(company=company) | Q(realm_id__in=_realms(company))).values("delivery_id")
    return WebhookDelivery.objects.filter(pk__in=ids).annotate(event_count=Count("events")).defer("body")


def company_overview(*, company: Company, limit: int = 20) -> dict:
    """Everything the company page shows below its fields (never a token)."""
    from integration.pipedrive.models import PipedriveInstallation
    from tenants.models import FieldMapping

    invoices = Invoice.all_companies.filter(company=company).select_related("connection")
    return {
        "installations": list(
            PipedriveInstallation.all_companies.filter(company=company)
            .select_related("membership__user")
            .only(
                "pk",
                "pipedrive_user_id",
                "api_domain",
                "scopes",
                "access_expires_at",
                "installed_at",
                "refreshed_at",
                "membership__user__email",
                "company_id",
                "membership_id",
            )
        ),
        "connections": list(
            QuickBooksConnection.all_companies.filter(company=company)
            .select_related("owner__user")
            .defer("access_token", "refresh_token")
            .order_by("-connected_at")
        ),
        "field_mapping": FieldMapping.all_companies.filter(company=company).first(),
        "recent_invoices": list(invoices.order_by("-created_at", "-id")[:limit]),
        "failed_jobs": list(invoices.filter(state__in=JOB_STATES).order_by("-updated_at")[:limit]),
        "failed_job_count": invoices.filter(state__in=JOB_STATES).count(),
        "webhook_deliveries": list(webhook_deliveries_of(company=company).order_by("-received_at")[:limit]),
        "api_calls": list(ApiCall.objects.filter(company=company).order_by("-created_at")[:limit]),
        "audit_entries": list(AuditLog.objects.filter(company=company).select_related("actor")[:limit]),
    }


def sync_health(*, now: dt.datetime | None = None) -> dict:
    """The sync-health overview: what needs a human now."""
    now = now or timezone.now()
    day_ago, hour_ago = now - dt.timedelta(hours=24), now - dt.timedelta(hours=1)
    connections = QuickBooksConnection.all_companies.select_related("company", "owner__user").defer(
        "access_token", "refresh_token"
    )
    expiring = connections.filter(status=Status.ACTIVE).filter(
        Q(refresh_expires_at__lte=now + REFRESH_EXPIRY_WINDOW)
        | Q(refresh_hard_expires_at__lte=now + REFRESH_EXPIRY_WINDOW)
    )
    failed_jobs = (
        Invoice.all_companies.filter(state__in=JOB_STATES, updated_at__gte=day_ago)
        .values("company_id", "company__name", "company__pipedrive_company_id")
        .annotate(jobs=Count("id"), last=Max("updated_at"))
        .order_by("-jobs")
    )
    failing_deliveries = WebhookDelivery.objects.filter(received_at__gte=day_ago).exclude(last_error="")
    webhook_errors = (
        WebhookEvent.objects.filter(delivery__in=failing_deliveries)
        .values("company_id", "company__name", "realm_id")
        .annotate(deliveries=Count("delivery_id", distinct=True), last=Max("delivery__received_at"))
        .order_by("-deliveries")
    )

    def rate(since: dt.datetime) -> dict:
        calls = ApiCall.objects.filter(service="quickbooks", created_at__gte=since).aggregate(
            total=Count("id"), throttled=Count("id", filter=Q(status=429))
        )
        calls["percent"] = round(100 * calls["throttled"] / calls["total"], 2) if calls["total"] else 0.0
        return calls

    return {
        "needs_reconnect": list(connections.filter(status=Status.NEEDS_RECONNECT).order_by("needs_reconnect_since")),
        "expiring": list(expiring.order_by("refresh_expires_at")),
        "failed_jobs": list(failed_jobs[:100]),
        "webhook_errors": list(webhook_errors[:100]),
        "unprocessed_deliveries": WebhookDelivery.objects.filter(
            processed_at__isnull=True, received_at__gte=day_ago
        ).count(),
        "rate_hour": rate(hour_ago),
        "rate_day": rate(day_ago),
        "throttled_realms": list(
            ApiCall.objects.filter(service="quickbooks", status=429, created_at__gte=day_ago)
            .values("company_id", "company__name")
            .annotate(calls=Count("id"))
            .order_by("-calls")[:20]
        ),
        "window_days": REFRESH_EXPIRY_WINDOW.days,
    }
