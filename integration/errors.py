"""Typed errors for calls to external services. Callers branch on the type, not on text."""

from __future__ import annotations

from typing import TypedDict


class ErrorContext(TypedDict):
    """The keyword arguments every `IntegrationError` takes, built once where a response is mapped."""

    service: str
    code: str
    status: int | None
    detail: str


class IntegrationError(Exception):
    """Base class. `service` names the remote service, `code` its error code when it gave one."""

    def __init__(self, message: str, *, service: str = "", code: str = "", status: int | None = None, detail: str = ""):
        super().__init__(message)
        self.message = message
        self.service = service
        self.code = code
        self.status = status
        self.detail = detail


class TransientError(IntegrationError):
    """Try again later with the same request (timeouts, 5xx, connection resets)."""


class RateLimited(TransientError):
    """The service throttled us; wait `retry_after` seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs):
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class PermanentError(IntegrationError):
    """The request is wrong and retrying will not help (validation, not found, stale object)."""


class AuthRevoked(PermanentError):
    """The user revoked access or the refresh token is dead: the connection needs reconnecting."""
