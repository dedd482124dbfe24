"""The refusals of the invoice services: what the user can act on, by field."""

from __future__ import annotations

from integration.errors import TransientError
from invoices.preflight import Problem


class InvoiceError(Exception):
    """A refusal the user can act on: `code`, a human `message`, and the `problems` by field."""

    def __init__(self, message: str, *, code: str = "invalid", problems: list[Problem] | None = None):
        super().__init__(message)
        self.message = message
        self.code = code
        self.problems = problems or []


class ActionNotAllowed(InvoiceError):
    pass


def is_transient(exc: BaseException) -> bool:
    """Worth retrying as is: QuickBooks unavailable or throttling, our database or Redis away."""
    from django.db import InterfaceError, OperationalError

    if isinstance(exc, TransientError | OperationalError | InterfaceError | ConnectionError | TimeoutError):
        return True
    try:
        import redis
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, redis.exceptions.ConnectionError | redis.exceptions.TimeoutError)
