"""Intuit webhooks: signature check and parsing of both payload shapes (reference §7).

Signature: `intuit-signature` = base64(HMAC-SHA256(verifier token, raw body)), compared in
constant time. Payloads name what changed but carry no entity body: we re-fetch.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from dataclasses import dataclass
from datetime import datetime

from django.utils.dateparse import parse_datetime
from django.views.decorators.debug import sensitive_variables

CLOUD_EVENT_OPERATIONS = {
    "created": "Create",
    "updated": "Update",
    "deleted": "Delete",
    "voided": "Void",
    "merged": "Merge",
    "emailed": "Emailed",
}


class WebhookPayloadError(ValueError):
    pass


@dataclass(frozen=True)
class Change:
    """One entity change in one realm."""

    event_id: str
    realm_id: str
    entity: str  # QBO entity name, e.g. "Invoice"
    entity_id: str
    operation: str  # Create | Update | Delete | Void | Merge | Emailed
    occurred_at: datetime | None


@sensitive_variables()  # the verifier token
def signature_valid(*, body: bytes, signature: str, verifier_token: str) -> bool:
    """Constant-time check of `intuit-signature` over the raw body."""
    if not signature or not verifier_token:
        return False
    expected = base64.b64encode(hmac.new(verifier_token.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected.encode(), signature.strip().encode())


def _when(value) -> datetime | None:
    """The change's time, or None when it is missing or not a real time (huge epochs, month 13):
    the time only orders changes, the re-fetch tells the truth."""
    try:
        return _parse_when(value)
    except (ValueError, OverflowError, OSError, TypeError):
        return None


def _parse_when(value) -> datetime | None:
    if value in (None, ""):
        return None
    if isinstance(value, int | float):  # epoch milliseconds are seen too
        from datetime import UTC

        return datetime.fromtimestamp(value / 1000, tz=UTC)
    text = str(value)
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":  # -0700 → -07:00
        text = f"{text[:-2]}:{text[-2:]}"
    # Nanosecond fractions (CloudEvents) are longer than Python parses; keep microseconds.
    if "." in text:
        head, _, tail = text.partition(".")
        digits = "".join(ch for ch in tail if ch.isdigit())
        zone = tail[len(digits) :]
        text = f"{head}.{digits[:6]}{zone}"
    return parse_datetime(text)


def _legacy_id(realm_id: str, entity: dict) -> str:
    # Legacy notifications have no event id: the change itself (what, which, when) is its identity.
    key = "|".join(
        [
            realm_id,
            entity.get("name", ""),
            str(entity.get("id", "")),
            entity.get("operation", ""),
            str(entity.get("lastUpdated", "")),
        ]
    )
    return "legacy:" + hashlib.sha256(key.encode()).hexdigest()


# Our columns (integration.models.WebhookEvent): a value longer than its column is not Intuit's.
MAX_LENGTHS = {"event_id": 200, "realm_id": 32, "entity": 40, "entity_id": 32, "operation": 20}


def parse_changes(body: bytes) -> list[Change]:
    """The changes of a legacy (`eventNotifications`) or CloudEvents (array) payload."""
    try:
        changes = _parse_changes(body)
    except (AttributeError, TypeError) as exc:  # items that are not objects, and the like
        raise WebhookPayloadError("unexpected payload structure") from exc
    for change in changes:
        for name, limit in MAX_LENGTHS.items():
            if len(getattr(change, name)) > limit:
                raise WebhookPayloadError(f"{name} longer than {limit} characters")
    return changes


def _parse_changes(body: bytes) -> list[Change]:
    try:
        payload = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise WebhookPayloadError("the body is not JSON") from exc
    changes: list[Change] = []
    if isinstance(payload, dict) and "eventNotifications" in payload:
        for notification in payload.get("eventNotifications") or []:
            realm_id = str(notification.get("realmId") or "")
            for entity in (notification.get("dataChangeEvent") or {}).get("entities") or []:
                changes.append(
                    Change(
                        event_id=_legacy_id(realm_id, entity),
                        realm_id=realm_id,
                        entity=str(entity.get("name") or ""),
                        entity_id=str(entity.get("id") or ""),
                        operation=str(entity.get("operation") or ""),
                        occurred_at=_when(entity.get("lastUpdated")),
                    )
                )
        return changes
    events = payload if isinstance(payload, list) else [payload] if isinstance(payload, dict) else None
    if events is None:
        raise WebhookPayloadError("unknown payload shape")
    for event in events:
        kind = str(event.get("type") or "")  # qbo.invoice.updated.v1
        parts = kind.split(".")
        if len(parts) < 3 or parts[0] != "qbo" or not event.get("id"):
            raise WebhookPayloadError(f"not a QuickBooks CloudEvent: {kind!r}")
        changes.append(
            Change(
                event_id=str(event["id"]),
                realm_id=str(event.get("intuitaccountid") or ""),
                entity=parts[1].capitalize() if parts[1] != "creditmemo" else "CreditMemo",
                entity_id=str(event.get("intuitentityid") or ""),
                operation=CLOUD_EVENT_OPERATIONS.get(parts[2], parts[2].capitalize()),
                occurred_at=_when(event.get("time")),
            )
        )
    return changes
