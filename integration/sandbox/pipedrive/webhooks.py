"""App webhooks and notes of the Pipedrive sandbox.

Facts (shared/reference/pipedrive-platform.md §4, pipedrive-contract-facts.md §7-8, openapi-v1.yaml
`addWebhook` and `addNote`):
- `POST /api/v1/webhooks` {subscription_url, event_action (create|change|delete|*), event_object
  (deal, ...|*), name (required, ≤255), user_id?, http_auth_user?, http_auth_password?, version
  ("1.0"|"2.0", default "2.0")}; scope `admin`; cost 10; 201 with the webhook (`type: "application"`);
  at most 40 per app per user (422).
- Delivery: `POST subscription_url` with JSON and HTTP Basic when credentials were given (no
  signature). v2: `{meta, data, previous}` (`previous` only the changed fields; meta ids strings).
  v1: `{"v": 1, "matches_filters", "meta": {..., "action": "updated", "object": "deal"}, "retry": 0,
  "current", "previous", "event": "updated.deal"}` (`previous` the whole prior object).
  Pipedrive sends asynchronously; the sandbox sends right after the API call or control that made the
  change, outside the API's lock. A non-2xx is recorded (no retry schedule is simulated).
- `POST /api/v1/notes` {content (HTML, required), deal_id, pinned_to_deal_flag 0|1}; scopes
  `deals:full`/`contacts:full`; cost 10; 201 `{success, data: note}`.
"""

from __future__ import annotations

import base64
import copy
import json
import logging
import uuid

import requests
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from integration.http import make_session
from integration.sandbox.pipedrive.models import (
    SandboxCompany,
    SandboxRecord,
    SandboxUser,
    SandboxWebhook,
    SandboxWebhookDelivery,
)
from integration.sandbox.pipedrive.services import ApiError, error_body

logger = logging.getLogger(__name__)

ACTIONS = ("create", "change", "delete", "*")
OBJECTS = ("activity", "deal", "lead", "note", "organization", "person", "pipeline", "product", "stage", "user", "*")
MAX_PER_USER = 40


def _body(request: HttpRequest) -> dict:
    try:
        payload = json.loads(request.body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, error_body("Invalid JSON body")) from exc
    if not isinstance(payload, dict):
        raise ApiError(400, error_body("The request body must be a JSON object"))
    return payload


def _iso(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


def webhook_data(hook: SandboxWebhook) -> dict:
    return {
        "id": hook.pk,
        "company_id": hook.company_id,
        "owner_id": hook.user_id,
        "user_id": hook.user_id,
        "event_action": hook.event_action,
        "event_object": hook.event_object,
        "subscription_url": hook.subscription_url,
        "version": hook.version,
        "is_active": 1,
        "add_time": _iso(hook.created_at),
        "remove_time": None,
        "type": "application",
        "http_auth_user": hook.http_auth_user or None,
        "http_auth_password": hook.http_auth_password or None,
        "remove_reason": None,
        "last_delivery_time": None,
        "last_http_status": None,
        "admin_id": hook.user_id,
        "name": hook.name,
    }


def webhook_create(*, user: SandboxUser, request: HttpRequest) -> dict:
    payload = _body(request)
    url = payload.get("subscription_url")
    if not isinstance(url, str) or not url.startswith(("http://", "https://")):
        raise ApiError(400, error_body("subscription_url must be a full, valid URL"))
    if "/sandbox/pipedrive/api/" in url:
        raise ApiError(400, error_body("subscription_url cannot be a Pipedrive API endpoint"))
    if payload.get("event_action") not in ACTIONS:
        raise ApiError(400, error_body("event_action must be one of: " + ", ".join(ACTIONS)))
    if payload.get("event_object") not in OBJECTS:
        raise ApiError(400, error_body("event_object must be one of: " + ", ".join(OBJECTS)))
    name = payload.get("name")
    if not isinstance(name, str) or not name.strip() or len(name) > 255:
        raise ApiError(400, error_body("name is required (up to 255 characters)"))
    version = payload.get("version", "2.0")
    if version not in ("1.0", "2.0"):
        raise ApiError(400, error_body("version must be 1.0 or 2.0"))
    for key in ("http_auth_user", "http_auth_password"):
        if payload.get(key) is not None and not isinstance(payload[key], str):
            raise ApiError(400, error_body(f"{key} must be a string"))
    if SandboxWebhook.objects.filter(user=user).count() >= MAX_PER_USER:
        raise ApiError(422, error_body("Webhook limit reached"))
    hook = SandboxWebhook.objects.create(
        company=user.company,
        user=user,
        subscription_url=url,
        event_action=payload["event_action"],
        event_object=payload["event_object"],
        version=version,
        name=name,
        http_auth_user=payload.get("http_auth_user") or "",
        http_auth_password=payload.get("http_auth_password") or "",
    )
    return {"status": "ok", "success": True, "data": webhook_data(hook)}


def webhooks_list(*, user: SandboxUser) -> dict:
    return {"success": True, "data": [webhook_data(h) for h in SandboxWebhook.objects.filter(user=user)]}


@transaction.atomic
def notes_of_deal(*, company_id: int, deal_id: int) -> list[dict]:
    """The deal's notes as `GET /api/v1/notes?deal_id=` shows them (oldest first), for tests."""
    from integration.sandbox.pipedrive.api_views import _note_json
    from integration.sandbox.pipedrive.models import SandboxNote

    return [_note_json(n) for n in SandboxNote.objects.filter(company_id=company_id, deal_id=deal_id)]


# --- delivery -------------------------------------------------------------------------------------


def _v1_deal(data: dict) -> dict:
    """The v1 API deal object, as far as the sandbox models it (v1 key names for what differs)."""
    deal = {k: v for k, v in copy.deepcopy(data).items() if k != "custom_fields"}
    deal["user_id"] = deal.pop("owner_id", None)
    deal["active"] = deal.get("status") == "open"
    deal["deleted"] = bool(deal.pop("is_deleted", False))
    for key, value in (data.get("custom_fields") or {}).items():  # v1 puts custom fields at the top level
        if isinstance(value, dict) and set(value) == {"value", "currency"}:
            deal[key], deal[f"{key}_currency"] = value["value"], value["currency"]
        else:
            deal[key] = value
    return deal


def _changed(before: dict, after: dict) -> dict:
    keys = {k for k in set(before) | set(after) if k not in ("update_time",) and before.get(k) != after.get(k)}
    return {k: before.get(k) for k in keys}


def queue_deal_change(*, company: SandboxCompany, user_id: int, before: dict, after: dict, source: str) -> int:
    """Queue a `change` event of a deal for every matching webhook of the company (sent by `send_pending`)."""
    hooks = SandboxWebhook.objects.filter(
        company=company, event_object__in=["deal", "*"], event_action__in=["change", "*"]
    )
    now = timezone.now()
    count = 0
    for hook in hooks:
        event_id = str(uuid.uuid4())
        if hook.version == "1.0":
            meta = {
                "v": 1,
                "action": "updated",
                "object": "deal",
                "change_source": source,
                "id": after["id"],
                "company_id": company.pk,
                "user_id": user_id,
                "host": f"{company.domain}.pipedrive.com",
                "timestamp": int(now.timestamp()),
                "timestamp_micro": int(now.timestamp() * 1_000_000),
                "permitted_user_ids": [hook.user_id],
                "trans_pending": False,
                "is_bulk_update": False,
                "pipedrive_service_name": False,
                "matches_filters": {"current": []},
                "webhook_id": str(hook.pk),
            }
            body = {
                "v": 1,
                "matches_filters": {"current": []},
                "meta": meta,
                "retry": 0,
                "current": _v1_deal(after),
                "previous": _v1_deal(before),
                "event": "updated.deal",
            }
        else:
            previous = _changed(before, after)
            if "custom_fields" in previous:
                old, new = before.get("custom_fields") or {}, after.get("custom_fields") or {}
                previous["custom_fields"] = _changed(old, new)
            body = {
                "meta": {
                    "action": "change",
                    "entity": "deal",
                    "entity_id": str(after["id"]),
                    "company_id": str(company.pk),
                    "user_id": str(user_id),
                    "id": event_id,
                    "correlation_id": str(uuid.uuid4()),
                    "is_bulk_edit": False,
                    "timestamp": now.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
                    "type": "application",
                    "version": "2.0",
                    "webhook_id": str(hook.pk),
                    "webhook_owner_id": str(hook.user_id),
                    "change_source": source,
                    "attempt": 1,
                    "host": f"{company.domain}.pipedrive.com",
                    "permitted_user_ids": [str(hook.user_id)],
                },
                "data": copy.deepcopy(after),
                "previous": previous,
            }
        SandboxWebhookDelivery.objects.create(webhook=hook, body=body)
        count += 1
    return count


def send(delivery: SandboxWebhookDelivery) -> SandboxWebhookDelivery:
    """POST one delivery (again, for a redelivery), with the webhook's Basic credentials."""
    hook = delivery.webhook
    headers = {"Content-Type": "application/json"}
    if hook.http_auth_user or hook.http_auth_password:
        raw = f"{hook.http_auth_user}:{hook.http_auth_password}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(raw).decode()
    session = make_session(service="pipedrive_sandbox_webhooks")
    try:
        response = session.post(hook.subscription_url, data=json.dumps(delivery.body), headers=headers, timeout=10)
        delivery.status, delivery.error = response.status_code, ""
    except requests.RequestException as exc:
        delivery.status, delivery.error = None, exc.__class__.__name__
    finally:
        session.close()
    delivery.sent_at = timezone.now()
    delivery.save(update_fields=["status", "error", "sent_at"])
    return delivery


def send_pending(*, company_domain: str | None = None) -> int:
    pending = SandboxWebhookDelivery.objects.filter(sent_at__isnull=True).select_related("webhook")
    if company_domain:
        pending = pending.filter(webhook__company__domain=company_domain)
    sent = 0
    for delivery in list(pending):
        # Claim it first: the receiver's own API calls end here too and must not send it again.
        if not SandboxWebhookDelivery.objects.filter(pk=delivery.pk, sent_at__isnull=True).update(
            sent_at=timezone.now()
        ):
            continue
        send(delivery)
        sent += 1
    return sent


def deal_status_set(*, company: SandboxCompany, deal_id: int, status: str, user_id: int) -> dict:
    """A user moves a deal in Pipedrive's UI (test control): the change is stored, then webhooks are sent."""
    from integration.sandbox.pipedrive import writes

    with transaction.atomic():
        record = (
            SandboxRecord.objects.select_for_update().filter(company=company, kind="deal", object_id=deal_id).first()
        )
        if record is None or record.data.get("is_deleted"):
            raise ApiError(404, error_body("Entity was not found"))
        before = copy.deepcopy(record.data)
        writes.status_set(record=record, status=status)
        record.data["update_time"] = timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ")
        record.save(update_fields=["data"])
        queue_deal_change(company=company, user_id=user_id, before=before, after=record.data, source="app")
    send_pending(company_domain=company.domain)
    return record.data
