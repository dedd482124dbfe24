"""Test controls: act as a QuickBooks user or as Intuit's infrastructure.

Each helper is also a JSON endpoint under /sandbox/quickbooks/_control/ (see README.md).
Changes made here send webhooks like API changes do.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from integration.sandbox.quickbooks import clock, faults, oauth, seed, services, webhooks
from integration.sandbox.quickbooks.models import (
    SandboxCall,
    SandboxFailure,
    SandboxRealm,
    SandboxWebhookDelivery,
)
from integration.sandbox.quickbooks.render import as_number, money


def reset() -> list[str]:
    """Wipe all sandbox state and re-seed; returns the realm ids."""
    return [realm.realm_id for realm in seed.reset()]


def seed_companies() -> list[str]:
    return [realm.realm_id for realm in seed.seed()]


def _realm(realm_id: str) -> SandboxRealm:
    realm = services.realm_for_update(realm_id)
    if realm is None:
        raise faults.not_found()
    return realm


def record_payment(
    *,
    realm_id: str,
    invoice_id: str,
    amount: Decimal | str | None = None,
    txn_date: str | None = None,
    method: dict | None = None,
    reference: str = "",
) -> dict:
    """A payment received in QuickBooks: the whole open balance, or `amount` of it; `method` is a
    PaymentMethodRef (`{"value", "name"?}`), `reference` the PaymentRefNum (check number)."""
    with transaction.atomic():
        realm = _realm(realm_id)
        invoice = services.get_row(realm=realm, entity="Invoice", qbo_id=invoice_id, for_update=True)
        paid = money(amount) if amount is not None else money(invoice.data.get("Balance"))
        payload = {
            "CustomerRef": invoice.data["CustomerRef"],
            "CurrencyRef": invoice.data.get("CurrencyRef"),
            "TotalAmt": as_number(paid),
            "Line": [{"Amount": as_number(paid), "LinkedTxn": [{"TxnId": invoice_id, "TxnType": "Invoice"}]}],
        }
        if txn_date:
            payload["TxnDate"] = txn_date
        if method:
            payload["PaymentMethodRef"] = method
        if reference:
            payload["PaymentRefNum"] = reference
        return services.create(realm=realm, spec=services.SPECS["payment"], payload=payload)


def edit_invoice(*, realm_id: str, invoice_id: str, changes: dict) -> dict:
    """A sparse edit made in QuickBooks (SyncToken + 1), e.g. {"DueDate": "2026-01-31"}."""
    with transaction.atomic():
        realm = _realm(realm_id)
        row = services.get_row(realm=realm, entity="Invoice", qbo_id=invoice_id)
        payload = {**changes, "Id": invoice_id, "SyncToken": row.data["SyncToken"], "sparse": True}
        return services.update(realm=realm, spec=services.SPECS["invoice"], payload=payload)


def void_invoice(*, realm_id: str, invoice_id: str) -> dict:
    with transaction.atomic():
        realm = _realm(realm_id)
        row = services.get_row(realm=realm, entity="Invoice", qbo_id=invoice_id, for_update=True)
        return services.void_row(realm=realm, row=row)


def delete_invoice(*, realm_id: str, invoice_id: str) -> dict:
    """Deleted in QuickBooks: like the UI, payments applied to it become unapplied first."""
    with transaction.atomic():
        realm = _realm(realm_id)
        row = services.get_row(realm=realm, entity="Invoice", qbo_id=invoice_id, for_update=True)
        for payment_id in dict.fromkeys(pid for pid, _amount in services.applied_payments(realm, invoice_id)):
            payment = services.get_row(realm=realm, entity="Payment", qbo_id=payment_id, for_update=True)
            services.unlink_invoice(row=payment, invoice_id=invoice_id)
        return services.delete_row(realm=realm, row=row)


def create_invoice(*, realm_id: str, customer_id: str, lines: list[dict], **fields) -> dict:
    """An invoice typed into QuickBooks directly (not through our app)."""
    with transaction.atomic():
        realm = _realm(realm_id)
        payload = {"CustomerRef": {"value": customer_id}, "Line": lines, **fields}
        return services.create(realm=realm, spec=services.SPECS["invoice"], payload=payload)


def advance_clock(*, seconds: float = 0, days: float = 0) -> str:
    """Move the sandbox clock forward; returns the new sandbox time (ISO, UTC)."""
    return clock.advance(seconds=seconds + days * 86400).isoformat()


def inject_failure(
    *, kind: str, count: int = 1, realm_id: str = "", target: str = "api", delay_seconds: float = 0
) -> SandboxFailure:
    """The next `count` calls (API or token endpoint) fail: "503", "429", "timeout" or "reset"."""
    if kind not in SandboxFailure.Kind.values:
        raise ValueError(f"kind must be one of {SandboxFailure.Kind.values}")
    if target not in {"api", "token"}:
        raise ValueError("target must be 'api' or 'token'")
    return SandboxFailure.objects.create(
        kind=kind, remaining=count, realm_id=realm_id, target=target, delay_seconds=delay_seconds
    )


def clear_failures() -> int:
    return SandboxFailure.objects.all().delete()[0]


def expire_access_tokens(*, realm_id: str | None = None) -> int:
    return oauth.expire_access_tokens(realm_id=realm_id)


def disconnect(*, realm_id: str) -> int:
    """The user disconnected the app inside QuickBooks: tokens die, refresh → invalid_grant."""
    return oauth.disconnect_realm(realm_id=realm_id)


def set_webhook_format(*, realm_id: str, fmt: str) -> None:
    if fmt not in SandboxRealm.WebhookFormat.values:
        raise ValueError(f"format must be one of {SandboxRealm.WebhookFormat.values}")
    SandboxRealm.objects.filter(realm_id=realm_id).update(webhook_format=fmt)


def redeliver_webhooks() -> int:
    """Send again every notification that was not acknowledged with a 2xx; returns how many now succeeded."""
    return sum(1 for record in SandboxWebhookDelivery.objects.filter(delivered=False) if webhooks.attempt(record))


def webhook_deliveries(*, realm_id: str | None = None) -> list[SandboxWebhookDelivery]:
    qs = SandboxWebhookDelivery.objects.all()
    if realm_id:
        qs = qs.filter(realm_id=realm_id)
    return list(qs)


def call_count(*, realm_id: str | None = None, kind: str | None = None, method: str | None = None) -> int:
    """How many calls the sandbox served (e.g. kind="token" to count token-endpoint calls)."""
    qs = SandboxCall.objects.all()
    if realm_id:
        qs = qs.filter(realm_id=realm_id)
    if kind:
        qs = qs.filter(kind=kind)
    if method:
        qs = qs.filter(method=method)
    return qs.count()


def state() -> dict:
    return {
        "now": clock.now().isoformat(),
        "realms": [
            {
                "realm_id": r.realm_id,
                "name": r.name,
                "country": r.country,
                "home_currency": r.home_currency,
                "multicurrency": r.multicurrency,
                "webhook_format": r.webhook_format,
            }
            for r in SandboxRealm.objects.order_by("realm_id")
        ],
        "calls": {kind: call_count(kind=kind) for kind in ("api", "token", "revoke")},
        "failures": [
            {"kind": f.kind, "remaining": f.remaining, "realm_id": f.realm_id, "target": f.target}
            for f in SandboxFailure.objects.filter(remaining__gt=0)
        ],
        "webhooks": [
            {
                "id": d.id,
                "realm_id": d.realm_id,
                "format": d.format,
                "delivered": d.delivered,
                "status_code": d.status_code,
                "error": d.error,
                "attempts": d.attempts,
                "body": d.body,
            }
            for d in SandboxWebhookDelivery.objects.order_by("-id")[:50]
        ],
    }
