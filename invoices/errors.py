"""The refusals of the invoice services (what the user can act on, by field), and our errors as HTTP
answers, written once for the panel API (`invoices/apis.py`, `invoices/panel_reads.py`) and Pipedrive's
reverse API (`invoices/extension/errors.py`); each surface only wraps the answer in its envelope.

A request that is fine but meets the wrong state (the connection needs reconnecting, a record with
that name exists) answers 409 Conflict: it clears when the state changes, not when the request does.
A refused input answers 400, an action the user may not take 403, a missing object 404, QuickBooks
or Pipedrive down 503, anything else from them 502.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.utils.translation import gettext as _

from integration.errors import AuthRevoked, IntegrationError, PermanentError, TransientError
from integration.pipedrive.errors import NotFound as PipedriveNotFound
from integration.quickbooks.errors import QboDuplicateName, QboNotFound
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


# Codes about the state of the company's connections, not about the input (ours or a client's).
CONFLICT_CODES = frozenset({"needs_reconnect", "not_connected", "not_installed"})


@dataclass(frozen=True)
class ErrorAnswer:
    status: int
    code: str
    message: str
    problems: list = field(default_factory=list)  # Problem, by field


def invoice_error_answer(error: InvoiceError) -> ErrorAnswer:
    """A refusal of ours (InvoiceError) as status, code, message and problems."""
    status = 409 if error.code in CONFLICT_CODES else 400
    if isinstance(error, ActionNotAllowed):
        status = 403
    return ErrorAnswer(status, error.code, error.message, list(error.problems))


def integration_error_answer(error: IntegrationError, *, may_reconnect: bool = False) -> ErrorAnswer:
    """A QuickBooks or Pipedrive failure; `may_reconnect`: the user can reconnect it themself (issue 13:
    the owner or an admin is not told to ask someone else)."""
    if isinstance(error, AuthRevoked):
        message = (
            _("QuickBooks needs reconnecting: reconnect it in Settings.")
            if may_reconnect
            else _("QuickBooks needs reconnecting. Ask the connection owner to reconnect it.")
        )
        return ErrorAnswer(409, "needs_reconnect", message)
    if isinstance(error, TransientError):
        return ErrorAnswer(
            503, "quickbooks_unavailable", _("QuickBooks is not answering right now; try again in a minute.")
        )
    if isinstance(error, PipedriveNotFound):
        return ErrorAnswer(404, "not_found_in_pipedrive", _("Pipedrive does not know this deal, or you cannot see it."))
    if isinstance(error, QboNotFound):
        return ErrorAnswer(404, "not_found", _("QuickBooks does not have this object (deleted, inactive or unknown)."))
    if isinstance(error, QboDuplicateName):
        return ErrorAnswer(
            409, "duplicate_name", _("QuickBooks already has a record with this name: pick it or choose another name.")
        )
    # The Pipedrive client's messages are English diagnostics (scanner: tests/i18n): say it in the
    # user's language and keep the diagnostic after it. QuickBooks' are translated already.
    message = (
        _("The request to Pipedrive failed (%(reason)s).") % {"reason": error.message}
        if error.service == "pipedrive"
        else error.message
    )
    if isinstance(error, PermanentError):
        return ErrorAnswer(409 if error.code in CONFLICT_CODES else 400, error.code or "rejected", message)
    return ErrorAnswer(502, "integration_error", message)
