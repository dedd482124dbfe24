"""Write Pipedrive calls to the support call log (`integration.models.ApiCall`)."""

from __future__ import annotations

from integration.http import CallRecord, CallRecorder
from integration.models import ApiCall


def recorder_for(company=None) -> CallRecorder:
    """A recorder that stores each call (never a token, query string or body) for `company`."""

    def record(call: CallRecord) -> None:
        ApiCall.objects.create(
            company=company if company is not None and company.pk else None,
            service=call.service,
            method=call.method,
            path=call.path[:500],
            status=call.status,
            duration_ms=call.duration_ms,
            error_code=call.error[:50],
        )

    return record
