"""Pipedrive answers mapped to the typed errors of `integration.errors`, and its 429 hints.

- 404/410 NotFound, 401 AuthRevoked, 402/403/other 4xx PermanentError, 5xx TransientError.
- 429: wait what `Retry-After` / `x-ratelimit-reset` say (burst window: 2 s); an exhausted daily
  budget is not worth waiting for: https://pipedrive.readme.io/docs/core-api-concepts-rate-limiting
"""

from __future__ import annotations

import requests

from integration.errors import AuthRevoked, PermanentError, TransientError

SERVICE = "pipedrive"
DEFAULT_BURST_WAIT_SECONDS = 2.0  # Pipedrive's burst window is a rolling 2 seconds


class NotFound(PermanentError):
    """Pipedrive answered 404/410: the object does not exist (or is not visible to this user)."""


def wait_seconds(response: requests.Response) -> float:
    """How long Pipedrive asks us to wait: Retry-After, else x-ratelimit-reset, else the burst window."""
    for header in ("Retry-After", "x-ratelimit-reset"):
        value = response.headers.get(header)
        if value:
            try:
                return max(0.0, float(value))
            except ValueError:
                continue
    return DEFAULT_BURST_WAIT_SECONDS


def daily_budget_exhausted(response: requests.Response) -> bool:
    # Undocumented but observed header; when it says 0 only midnight helps, so waiting is pointless.
    return response.headers.get("x-daily-ratelimit-token-remaining", "").strip() == "0"


def _error_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return str(body.get("error") or body.get("message") or "")[:300]
    return ""


def raise_for_status(response: requests.Response) -> None:
    """The typed error for a 4xx/5xx answer (429 is handled by the caller, which may wait)."""
    status = response.status_code
    if status < 400:
        return
    message = _error_message(response)
    if status in (404, 410):
        raise NotFound(message or "not found", service=SERVICE, code="not_found", status=status)
    if status == 401:
        raise AuthRevoked(message or "unauthorized", service=SERVICE, code="unauthorized", status=status)
    if status == 403:
        raise PermanentError(message or "forbidden", service=SERVICE, code="forbidden", status=status)
    if status == 402:
        raise PermanentError(message or "account not active", service=SERVICE, code="payment_required", status=status)
    if status >= 500:
        raise TransientError(message or f"Pipedrive error {status}", service=SERVICE, status=status)
    raise PermanentError(
        message or f"Pipedrive refused the request ({status})", service=SERVICE, code="bad_request", status=status
    )


def json_body(response: requests.Response) -> dict:
    """The JSON object Pipedrive answered ({} for an empty answer); anything else is an error."""
    if response.status_code == 204 or not response.content:
        return {}
    try:
        body = response.json()
    except ValueError as exc:
        raise TransientError(
            "Pipedrive sent a non-JSON response", service=SERVICE, status=response.status_code
        ) from exc
    if not isinstance(body, dict):
        raise PermanentError("Pipedrive sent an unexpected response", service=SERVICE, code="bad_response")
    return body
