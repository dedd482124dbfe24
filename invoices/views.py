"""Inbound webhooks from Intuit."""

from __future__ import annotations

import logging

from django.conf import settings
from django.db import transaction
from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from integration.quickbooks.webhooks import WebhookPayloadError, signature_valid
from invoices import sync_feeds, tasks

logger = logging.getLogger(__name__)


@csrf_exempt  # authenticated by the HMAC signature instead
@transaction.non_atomic_requests  # store first, then enqueue after that commit
@require_POST
def quickbooks_webhook(request):
    """Verify, store, answer 200 at once; a task re-fetches what changed."""
    body = request.body
    if not signature_valid(
        body=body,
        signature=request.headers.get("intuit-signature", ""),
        verifier_token=settings.QBO_WEBHOOK_VERIFIER_TOKEN,
    ):
        logger.warning("QuickBooks webhook with a bad signature refused (%d bytes)", len(body))
        return JsonResponse({"error": "not authenticated"}, status=401)  # why: in our log only
    try:
        with transaction.atomic():
            delivery = sync_feeds.webhook_record(body=body, content_type=request.content_type or "")
            # Stored is enough to answer 200: with the broker down the publish fails (logged) and
            # the heal sweeper processes the stored delivery (tasks.process_stale_webhooks).
            transaction.on_commit(lambda: tasks.process_quickbooks_webhook.delay(delivery.pk), robust=True)
    except WebhookPayloadError as exc:
        # Intuit retries whole batches on 4xx; a body we cannot read will not get better.
        logger.error("QuickBooks webhook not understood: %s", exc)
        return JsonResponse({"status": "ignored", "reason": str(exc)})
    except Exception as exc:
        from tenants.api import is_outage

        if not is_outage(exc):
            raise
        # Our database is away: nothing stored, so Intuit must deliver again (it retries 5xx).
        logger.error("QuickBooks webhook not stored, database unavailable: %r", exc)
        return JsonResponse({"error": "temporarily unavailable"}, status=503, headers={"Retry-After": "30"})
    return JsonResponse({"status": "ok", "delivery": delivery.pk})
