"""The feeds that tell us what changed in QuickBooks: webhooks (stored, then applied per realm and
company) and change data capture (the sweep that heals missed webhooks). Both end in
`sync.changes_apply` / `sync.invoice_apply_qbo`."""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from integration.models import WebhookDelivery, WebhookEvent
from integration.quickbooks import entities, records
from integration.quickbooks.models import QuickBooksConnection
from integration.quickbooks.webhooks import parse_changes
from invoices import credit, payments
from invoices.sync import changes_apply, invoice_apply_qbo, invoice_mark_deleted, invoices_refetch, linked_invoices
from tenants.scoping import company_scope

logger = logging.getLogger(__name__)

CDC_LOOKBACK = dt.timedelta(days=29)  # QBO answers CDC for the last 30 days only


def connections_for_realm(realm_id: str) -> list[QuickBooksConnection]:
    """Live connections of a realm, across companies: the tenant is not known yet at this point."""
    return list(
        QuickBooksConnection.all_companies.filter(
            realm_id=realm_id, status=QuickBooksConnection.Status.ACTIVE
        ).select_related("company")
    )


def webhook_record(*, body: bytes, content_type: str) -> WebhookDelivery:
    """Store a verified delivery and its events (replayed events are kept once)."""
    changes = parse_changes(body)
    with transaction.atomic():
        delivery = WebhookDelivery.objects.create(service="quickbooks", body=body, content_type=content_type[:100])
        known = set(
            WebhookEvent.objects.filter(event_id__in=[c.event_id for c in changes]).values_list("event_id", flat=True)
        )
        fresh = {c.event_id: c for c in changes if c.event_id not in known}
        WebhookEvent.objects.bulk_create(
            [
                WebhookEvent(
                    delivery=delivery,
                    event_id=c.event_id,
                    realm_id=c.realm_id,
                    entity=c.entity,
                    entity_id=c.entity_id,
                    operation=c.operation,
                    occurred_at=c.occurred_at,
                )
                for c in fresh.values()
            ],
            ignore_conflicts=True,  # a concurrent replay of the same event
        )
    return delivery


def webhook_process(*, delivery_id: int) -> int:
    """Apply a stored delivery's unprocessed events, per realm and company. Returns events applied."""
    delivery = WebhookDelivery.objects.get(pk=delivery_id)
    events = list(delivery.events.filter(processed_at__isnull=True))
    by_realm: dict[str, list[WebhookEvent]] = defaultdict(list)
    for event in events:
        by_realm[event.realm_id].append(event)
    delivery.attempts += 1
    errors = []
    for realm_id, realm_events in by_realm.items():
        for connection in connections_for_realm(realm_id):
            with company_scope(connection.company):
                try:
                    changes_apply(connection=connection, changes=realm_events)
                except Exception as exc:  # recorded and retried; other realms still go ahead
                    logger.exception("webhook %s: realm %s failed", delivery.pk, realm_id)
                    errors.append(f"{realm_id}: {exc.__class__.__name__}: {exc}")
                    continue
            # Settings' "Last sync" counts webhook syncs too, not only the CDC sweep (issue 13).
            from integration.quickbooks.services import connection_mark_synced

            connection_mark_synced(connection=connection)
            WebhookEvent.objects.filter(pk__in=[e.pk for e in realm_events]).update(company=connection.company)
        if not any(e.startswith(f"{realm_id}:") for e in errors):
            WebhookEvent.objects.filter(pk__in=[e.pk for e in realm_events]).update(processed_at=timezone.now())
    delivery.last_error = "; ".join(errors)[:1000]
    if not errors:
        delivery.processed_at = timezone.now()
    delivery.save(update_fields=["attempts", "last_error", "processed_at"])
    if errors:
        raise RuntimeError(delivery.last_error)
    return len(events)


CDC_MAX_OBJECTS = 1000  # "Server responses can handle a maximum of 1,000 objects" (Intuit's CDC page)
CDC_ENTITIES = ("Invoice", "Payment", "CreditMemo", "Customer")


def _cdc_changes(client, since: dt.datetime) -> tuple[dict[str, list[dict]], str]:
    """Every Invoice, Payment, CreditMemo and Customer changed since `since`, and QBO's time of the first answer.

    A CDC answer holds at most 1,000 objects and does not say which it left out, so an answer at
    the cap is not trusted: each entity is asked alone, and one still at the cap is read with a
    paged query on MetaData.LastUpdatedTime instead (the deletions CDC returned are kept).
    Doc: https://developer.intuit.com/app/developer/qbo/docs/learn/explore-the-quickbooks-online-api/change-data-capture
    """
    result = client.cdc(list(CDC_ENTITIES), changed_since=since)
    changes = {name: list(result.changes.get(name, [])) for name in CDC_ENTITIES}
    if sum(len(rows) for rows in changes.values()) < CDC_MAX_OBJECTS:
        return changes, result.time
    for name in CDC_ENTITIES:
        alone = client.cdc([name], changed_since=since).changes.get(name, [])
        if len(alone) < CDC_MAX_OBJECTS:
            changes[name] = list(alone)
            continue
        logger.warning("CDC for %s hit the %s-object cap: reading the changes page by page", name, CDC_MAX_OBJECTS)
        deleted = [row for row in alone if records.invoice_of(row).deleted]
        changes[name] = [*entities.changed_since(client, name, since), *deleted]
    return changes, result.time


def connection_cdc_sync(*, connection: QuickBooksConnection) -> int:
    """Change data capture for invoices, payments, credit memos and customers since the cursor; heals
    missed webhooks.

    Runs in the connection's company scope. Returns the number of invoices applied. The cursor
    moves only past changes that were all read (see `_cdc_changes`).
    """
    from integration.quickbooks.services import client_for, connection_mark_synced

    now = timezone.now()
    since = max(connection.cdc_cursor or (now - CDC_LOOKBACK), now - CDC_LOOKBACK)
    client = client_for(connection=connection)
    changes, qbo_time = _cdc_changes(client, since)
    applied = 0
    for row in changes["Invoice"]:
        qbo = records.invoice_of(row)
        if qbo.deleted:
            applied += invoice_mark_deleted(connection=connection, qbo_id=qbo.id) is not None
        else:
            invoice_apply_qbo(connection=connection, data=row)
            applied += 1
    changed_payments = changes["Payment"]
    read = [(p, records.payment_of(p)) for p in changed_payments]
    live_payments = [row for row, payment in read if not payment.deleted]
    applied += len(invoices_refetch(connection=connection, qbo_ids=linked_invoices(live_payments)))
    gone = [payment.id for _row, payment in read if payment.deleted]
    customers = credit.credit_memos_apply_rows(connection=connection, rows=changes["CreditMemo"])
    missing = credit.credit_memos_missing(connection=connection, payments=live_payments)
    customers |= credit.credit_memos_refetch(connection=connection, qbo_ids=missing)
    payments.payments_forget(connection=connection, payment_ids=gone)
    payments.payments_store(connection=connection, payments=live_payments)
    # Balances: customers that changed, and those of the invoices, payments and credit memos read.
    customers |= {records.customer_of(row).id for row in changes["Customer"]}
    customers |= {records.invoice_of(row).customer_id for row in changes["Invoice"]}
    customers |= payments.customers_of(live_payments)
    credit.balances_refresh(connection=connection, customer_ids=customers)
    # The next sweep starts where QBO's clock said this one looked, minus a minute of overlap.
    cursor = parse_datetime(qbo_time) if qbo_time else None
    connection_mark_synced(connection=connection, cursor=(cursor or now) - dt.timedelta(minutes=1))
    return applied
