"""The support call log: every outbound call to Pipedrive or Intuit becomes an `ApiCall` row."""

from __future__ import annotations

from django.db import transaction

from integration.http import CallRecord, CallRecorder
from integration.models import ApiCall


def call_recorder(*, company_id: int | None) -> CallRecorder:
    """A recorder storing each call (never a token, query string or body) under `company_id`."""

    def record(call: CallRecord) -> None:
        # A savepoint: a failed insert must not abort the caller's transaction (a token refresh).
        with transaction.atomic():
            ApiCall.objects.create(
                company_id=company_id,
                service=call.service,
                method=call.method,
                path=call.path[:500],
                status=call.status,
                duration_ms=call.duration_ms,
                intuit_tid=call.intuit_tid[:100],
                error_code=call.error[:50],
            )

    return record
