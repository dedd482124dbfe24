"""Outbound webhooks from the sandbox to the app, like Intuit's (reference §7).

Delivery choice: synchronous but failure-tolerant. Each change queues a notification with
`transaction.on_commit`, so nothing is sent for a write that rolls back, and the POST happens
after the commit, in the same request, with a short timeout. A receiver that is down or slow
is logged and recorded (`SandboxWebhookDelivery`), never turned into an API error; failed
notifications can be re-sent with `controls.redeliver_webhooks()`. No background worker is
needed, which keeps the sandbox usable in the embedded demo and in tests.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import uuid

import requests
from django.conf import settings
from django.db import transaction

from integration.http import make_session
from integration.sandbox.quickbooks.models import SandboxRealm, SandboxWebhookDelivery

logger = logging.getLogger(__name__)

CE_VERBS = {"Create": "created", "Update": "updated", "Delete": "deleted", "Void": "voided", "Merge": "merged"}


def sign(body: bytes, token: str | None = None) -> str:
    """intuit-signature: base64(HMAC-SHA256(verifier token, raw body))."""
    key = (token if token is not None else settings.QBO_WEBHOOK_VERIFIER_TOKEN).encode()
    return base64.b64encode(hmac.new(key, body, hashlib.sha256).digest()).decode()


def webhook_url() -> str:
    return settings.QBO_SANDBOX_WEBHOOK_URL or f"{settings.PUBLIC_BASE_URL}/webhooks/quickbooks"


def legacy_body(*, realm_id: str, events: list[dict]) -> dict:
    return {
        "eventNotifications": [
            {
                "realmId": realm_id,
                "dataChangeEvent": {
                    "entities": [
                        {"name": e["entity"], "id": e["id"], "operation": e["operation"], "lastUpdated": e["time"]}
                        for e in events
                    ]
                },
            }
        ]
    }


def cloudevents_body(*, realm_id: str, events: list[dict]) -> list[dict]:
    source = "intuit." + base64.b64encode(hashlib.sha256(realm_id.encode()).digest()).decode()
    return [
        {
            "specversion": "1.0",
            "id": str(uuid.uuid4()),
            "source": source,
            "type": f"qbo.{e['entity'].lower()}.{CE_VERBS.get(e['operation'], 'updated')}.v1",
            "datacontenttype": "application/json",
            "time": e["time"],
            "intuitentityid": e["id"],
            "intuitaccountid": realm_id,
            "data": {},
        }
        for e in events
    ]


def queue_event(*, realm: SandboxRealm, entity: str, entity_id: str, operation: str, when: dt.datetime) -> None:
    """Send a notification about this change once the surrounding transaction commits."""
    if realm.webhook_format == SandboxRealm.WebhookFormat.OFF:
        return
    event = {
        "entity": entity,
        "id": entity_id,
        "operation": operation,
        "time": when.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
    }
    realm_id, fmt = realm.realm_id, realm.webhook_format
    transaction.on_commit(lambda: deliver(realm_id=realm_id, fmt=fmt, events=[event]))


def deliver(*, realm_id: str, fmt: str, events: list[dict]) -> SandboxWebhookDelivery:
    """Build, sign, record and POST one notification. Never raises."""
    payload: dict | list[dict]
    if fmt == SandboxRealm.WebhookFormat.CLOUDEVENTS:
        payload = cloudevents_body(realm_id=realm_id, events=events)
    else:
        payload = legacy_body(realm_id=realm_id, events=events)
    body = json.dumps(payload, separators=(",", ":")).encode()
    record = SandboxWebhookDelivery.objects.create(
        realm_id=realm_id,
        format=fmt,
        body=body.decode(),
        signature=sign(body),
        url=webhook_url(),
    )
    attempt(record)
    return record


def attempt(record: SandboxWebhookDelivery) -> bool:
    """POST the stored notification once; record the outcome."""
    body = record.body.encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "intuit-signature": record.signature,
        "intuit-created-time": dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
        "intuit-t-id": str(uuid.uuid4()),
        "intuit-notification-schema-version": "0.1",
        "User-Agent": "intuit_notification_server/0.1",
    }
    record.attempts += 1
    session = make_session(service="qbo_sandbox_webhooks", timeout=settings.QBO_SANDBOX_WEBHOOK_TIMEOUT)
    session.headers["User-Agent"] = headers["User-Agent"]
    try:
        # Intuit webhooks: https://developer.intuit.com/app/developer/qbo/docs/develop/webhooks
        response = session.post(record.url, data=body, headers=headers)
        record.status_code = response.status_code
        record.delivered = 200 <= response.status_code < 300
        record.error = "" if record.delivered else f"HTTP {response.status_code}"
        if not record.delivered:
            logger.warning("sandbox webhook to %s answered %s", record.url, response.status_code)
    except requests.RequestException as exc:
        record.error = f"{exc.__class__.__name__}: {exc}"[:500]
        record.delivered = False
        logger.warning("sandbox webhook to %s failed: %s", record.url, record.error)
    finally:
        session.close()
    record.save(update_fields=["attempts", "status_code", "delivered", "error"])
    return record.delivered
