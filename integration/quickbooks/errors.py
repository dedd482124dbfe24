"""QuickBooks Online faults mapped to the typed errors of `integration.errors`.

QBO answers errors in three shapes (reference §5.1): the data-services `{"Fault": {"Error": [...]}}`,
the lower-case gateway `{"fault": {"error": [...]}}` on 401, and XML (`<Fault><Error code=...>`) on
throttling, whatever we asked for. So the HTTP status decides the class first and the body only
adds the code, message and offending field.
Doc: https://developer.intuit.com/app/developer/qbo/docs/develop/troubleshooting/error-codes
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import requests
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from integration.errors import (
    AuthRevoked,
    ErrorContext,
    IntegrationError,
    PermanentError,
    RateLimited,
    TransientError,
    said,
)

SERVICE = "quickbooks"
# Intuit asks for 60 s of quiet after a 429 (limits page); there is no documented Retry-After.
DEFAULT_RETRY_AFTER_SECONDS = 60.0


@dataclass(frozen=True)
class FaultError:
    """One `Fault.Error[]` entry."""

    code: str
    message: str
    detail: str
    element: str


class AuthExpired(IntegrationError):
    """HTTP 401: the access token is missing, expired or invalid. The client refreshes once and retries."""


class QboValidationError(PermanentError):
    """A ValidationFault (HTTP 400): the request is wrong; `errors` lists every fault entry."""

    def __init__(self, message: str, *, errors: tuple[FaultError, ...] = (), **kwargs):
        super().__init__(message, **kwargs)
        self.errors = errors

    @property
    def fields(self) -> list[str]:
        """The offending fields QBO named (e.g. `Line.DetailType`), in order, without blanks."""
        return [error.element for error in self.errors if error.element]


class QboNotFound(QboValidationError):
    """610 Object Not Found: deleted, inactive or unknown object."""


class QboStaleObject(QboValidationError):
    """5010 Stale Object Error: our SyncToken is behind; re-read and retry the change."""


class QboDuplicateName(QboValidationError):
    """6240 Duplicate Name Exists: DisplayName is taken by a customer, vendor or employee."""


class QboForbidden(PermanentError):
    """HTTP 403: the product tier or the user's rights do not allow this."""


_VALIDATION_CLASSES: dict[str, type[QboValidationError]] = {
    "610": QboNotFound,
    "5010": QboStaleObject,
    "6240": QboDuplicateName,
}


def parse_faults(payload: object) -> tuple[FaultError, ...]:
    """Every fault entry of a JSON error body in either casing; empty when there is none."""
    if not isinstance(payload, dict):
        return ()
    fault = payload.get("Fault") or payload.get("fault")
    if not isinstance(fault, dict):
        return ()
    entries = fault.get("Error") or fault.get("error") or []
    errors = []
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict):
            continue
        errors.append(
            FaultError(
                code=str(entry.get("code") or "").lstrip("0") or str(entry.get("code") or ""),
                message=str(entry.get("Message") or entry.get("message") or ""),
                detail=str(entry.get("Detail") or entry.get("detail") or ""),
                element=str(entry.get("element") or ""),
            )
        )
    return tuple(errors)


_XML_CODE = re.compile(r'<Error[^>]*\bcode="(?P<code>[^"]+)"')
_XML_MESSAGE = re.compile(r"<Message>(?P<message>.*?)</Message>", re.S)
_XML_DETAIL = re.compile(r"<Detail>(?P<detail>.*?)</Detail>", re.S)


def _parse_xml_fault(text: str) -> tuple[FaultError, ...]:
    code = _XML_CODE.search(text)
    if not code:
        return ()
    message = _XML_MESSAGE.search(text)
    detail = _XML_DETAIL.search(text)
    return (
        FaultError(
            code=code.group("code").lstrip("0") or code.group("code"),
            message=message.group("message").strip() if message else "",
            detail=detail.group("detail").strip() if detail else "",
            element="",
        ),
    )


def faults_of(response: requests.Response) -> tuple[FaultError, ...]:
    """The fault entries of an error response, JSON or XML."""
    try:
        faults = parse_faults(response.json())
    except ValueError:
        faults = ()
    if not faults and "<Fault" in (response.text or ""):
        faults = _parse_xml_fault(response.text)
    return faults


def describe(errors: tuple[FaultError, ...]) -> str:
    """A human sentence from fault entries, naming the field when QBO gave one.

    QBO's Message is terse ("Required param missing, need to supply the required value for the
    API") and its Detail often names the field already, so the field leads the sentence.
    """
    parts = []
    for error in errors:
        text = error.detail or error.message or _("QuickBooks rejected the request.")
        if error.element:
            text = _("Field %(field)s: %(text)s") % {"field": error.element, "text": text}
        parts.append(text)
    return " ".join(parts) or _("QuickBooks rejected the request.")


def intuit_tid(response: requests.Response) -> str:
    # The API sends `Intuit-Tid`, the token endpoint `intuit_tid`; headers are case-insensitive.
    return response.headers.get("intuit_tid") or response.headers.get("intuit-tid") or ""


def _retry_after(response: requests.Response) -> float:
    value = response.headers.get("Retry-After", "")
    try:
        return max(float(value), 0.0)
    except ValueError:
        return DEFAULT_RETRY_AFTER_SECONDS


def error_for_faults(errors: tuple[FaultError, ...], *, status: int | None = 400, tid: str = "") -> IntegrationError:
    """The typed error for fault entries (also used for per-item batch faults)."""
    first = errors[0] if errors else FaultError("", "", "", "")
    cls = _VALIDATION_CLASSES.get(first.code, QboValidationError)
    return cls(
        describe(errors),
        service=SERVICE,
        code=first.code,
        status=status,
        detail=f"intuit_tid={tid}" if tid else "",
        errors=errors,
    )


def error_for_response(response: requests.Response) -> IntegrationError:
    """Map a non-2xx QBO response to the error a caller can branch on."""
    status = response.status_code
    tid = intuit_tid(response)
    errors = faults_of(response)
    code = errors[0].code if errors else ""
    kwargs = ErrorContext(service=SERVICE, code=code, status=status, detail=f"intuit_tid={tid}" if tid else "")
    if status == 401:
        return AuthExpired(said(gettext_noop("The QuickBooks access token was refused.")), **kwargs)
    if status == 429 or code == "3001":
        return RateLimited(
            said(gettext_noop("QuickBooks is throttling requests for this company; try again shortly.")),
            retry_after=_retry_after(response),
            **kwargs,
        )
    if status == 403:
        if code == "3100":
            # ApplicationAuthorizationFailed: this token is not good for this company (another realm's
            # connection, or a sandbox token on production). A refresh gives the same answer and a retry
            # too, so neither is tried: the caller gets a permanent, explained refusal.
            return QboForbidden(
                said(
                    gettext_noop(
                        "QuickBooks refused access to this company (error 3100): the connection is not "
                        "authorized for it. Reconnect QuickBooks to the right company."
                    )
                ),
                **kwargs,
            )
        if code == "120":
            # 120 Authorization Failure: the connecting user lost access to the company.
            return AuthRevoked(
                said(gettext_noop("QuickBooks no longer authorizes this connection: %s"), describe(errors)), **kwargs
            )
        return QboForbidden(describe(errors), **kwargs)
    if status >= 500:
        return TransientError(
            said(gettext_noop("QuickBooks is unavailable (HTTP %s); try again later."), status), **kwargs
        )
    if status == 400 or errors:
        return error_for_faults(errors, status=status, tid=tid)
    return PermanentError(said(gettext_noop("QuickBooks answered HTTP %s."), status), **kwargs)


def error_for_exception(exc: requests.RequestException) -> IntegrationError:
    """Timeouts and connection failures are transient: the same request may be retried."""
    if isinstance(exc, requests.Timeout):
        message = said(gettext_noop("QuickBooks did not answer in time; try again later."))
    else:
        message = said(gettext_noop("Could not reach QuickBooks; try again later."))
    return TransientError(message, service=SERVICE, code=exc.__class__.__name__)
