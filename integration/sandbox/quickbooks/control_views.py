"""JSON endpoints over controls.py. POST with a JSON body; answers JSON."""

from __future__ import annotations

import json
from functools import wraps

from django.db import transaction
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integration.sandbox.quickbooks import controls
from integration.sandbox.quickbooks.faults import QboFault


def _control(view):
    @csrf_exempt
    @transaction.non_atomic_requests
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        try:
            body = json.loads(request.body or b"{}") if request.method == "POST" else {}
            if not isinstance(body, dict):
                raise ValueError("the body must be a JSON object")
            return JsonResponse(view(request, body, *args, **kwargs), safe=False)
        except QboFault as fault:
            return JsonResponse({"error": fault.code, "message": fault.message, "detail": fault.detail}, status=400)
        except (ValueError, TypeError, KeyError) as exc:
            return JsonResponse({"error": "bad_request", "message": str(exc)}, status=400)

    return wrapper


def _entity(data: dict) -> dict:
    return {k: v for k, v in data.items() if not k.startswith("_")}


@_control
def state(request, body):
    return controls.state()


@require_POST
@_control
def reset(request, body):
    return {"realms": controls.reset()}


@require_POST
@_control
def seed(request, body):
    return {"realms": controls.seed_companies()}


@require_POST
@_control
def advance_clock(request, body):
    return {"now": controls.advance_clock(seconds=float(body.get("seconds", 0)), days=float(body.get("days", 0)))}


@require_POST
@_control
def failures(request, body):
    if body.get("clear"):
        return {"cleared": controls.clear_failures()}
    failure = controls.inject_failure(
        kind=str(body["kind"]),
        count=int(body.get("count", 1)),
        realm_id=str(body.get("realm_id", "")),
        target=str(body.get("target", "api")),
        delay_seconds=float(body.get("delay_seconds", 0)),
    )
    return {"id": failure.id, "kind": failure.kind, "remaining": failure.remaining}


@require_POST
@_control
def expire_tokens(request, body):
    return {"expired": controls.expire_access_tokens(realm_id=body.get("realm_id"))}


@require_POST
@_control
def disconnect(request, body, realm_id):
    return {"revoked_grants": controls.disconnect(realm_id=realm_id)}


@require_POST
@_control
def webhook_format(request, body, realm_id):
    controls.set_webhook_format(realm_id=realm_id, fmt=str(body["format"]))
    return {"realm_id": realm_id, "format": body["format"]}


@require_POST
@_control
def redeliver(request, body):
    return {"delivered": controls.redeliver_webhooks()}


@require_POST
@_control
def invoice_payment(request, body, realm_id, invoice_id):
    payment = controls.record_payment(
        realm_id=realm_id, invoice_id=invoice_id, amount=body.get("amount"), txn_date=body.get("txn_date")
    )
    return {"Payment": _entity(payment)}


@require_POST
@_control
def invoice_action(request, body, realm_id, invoice_id, action):
    if action == "edit":
        return {"Invoice": _entity(controls.edit_invoice(realm_id=realm_id, invoice_id=invoice_id, changes=body))}
    if action == "void":
        return {"Invoice": _entity(controls.void_invoice(realm_id=realm_id, invoice_id=invoice_id))}
    if action == "delete":
        return {"Invoice": controls.delete_invoice(realm_id=realm_id, invoice_id=invoice_id)}
    raise ValueError(f"unknown action {action!r}: edit, void or delete")
