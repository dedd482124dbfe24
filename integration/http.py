"""The one factory for outbound HTTP sessions: timeouts, User-Agent and a call log.

Every call to Pipedrive or Intuit goes through a session made here, so a missing timeout or
a secret in the logs cannot happen by accident: API calls through `make_session`, OAuth token
calls through `make_oauth_session` (a requests-oauthlib `OAuth2Session` with the same rules).
JSON bodies (`json=`) are written by `integration.jsonbody`, so a Decimal goes out exact.
"""

from __future__ import annotations

import base64
import binascii
import contextvars
import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from requests_oauthlib import OAuth2Session

from integration import jsonbody

logger = logging.getLogger("integration.http")

# The monotonic time by which the current web request must stop calling out (None: no deadline).
# A create in a web request answers 202 at its deadline and a worker finishes it (issue 17:
# no request waits more than a few seconds on QuickBooks).
_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("http_deadline", default=None)


@contextmanager
def deadline(seconds: float | None) -> Iterator[None]:
    """Bound every outbound call made inside the block to end within `seconds` in total (None:
    only each call's own timeout). A nested deadline never extends an outer one."""
    if seconds is None:
        yield
        return
    ends = time.monotonic() + seconds
    outer = _deadline.get()
    token = _deadline.set(ends if outer is None else min(outer, ends))
    try:
        yield
    finally:
        _deadline.reset(token)


def deadline_left() -> float | None:
    """Seconds left before the current web request's deadline (None: no deadline)."""
    ends = _deadline.get()
    return None if ends is None else max(0.0, ends - time.monotonic())


def deadline_passed() -> bool:
    ends = _deadline.get()
    return ends is not None and time.monotonic() >= ends


@dataclass(frozen=True)
class CallRecord:
    """What the call log keeps of a request: never a query string, header value or body."""

    service: str
    method: str
    path: str
    status: int | None
    duration_ms: float
    intuit_tid: str = ""
    error: str = ""


CallRecorder = Callable[[CallRecord], None]


class _CallLogged(requests.Session):
    """The timeout, deadline and call log of our sessions, on top of a `requests.Session` class.

    `requests_oauthlib.OAuth2Session` is such a class too, and comes after this one in
    `OAuthSession`'s bases, so token calls get exactly the same treatment as API calls
    (`make_oauth_session`)."""

    service: str
    default_timeout: float
    recorder: CallRecorder | None

    def _call_log_init(self, *, service: str, timeout: float, recorder: CallRecorder | None) -> None:
        self.service = service
        self.default_timeout = timeout
        self.recorder = recorder

    def request(self, method, url, *args, **kwargs):
        # `timeout=None` is what OAuth2Session.fetch_token passes when not told: still ours, never none.
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        ends = _deadline.get()
        if ends is not None:
            left = ends - time.monotonic()
            if left <= 0:
                raise requests.Timeout("the request's deadline for outbound calls has passed")
            timeout = kwargs["timeout"]
            kwargs["timeout"] = min(timeout, left) if isinstance(timeout, int | float) else left
        if kwargs.get("json") is not None and kwargs.get("data") is None:
            # Our encoder instead of requests': Decimal money and quantities go out exact.
            headers = CaseInsensitiveDict(kwargs.get("headers") or {})
            headers.setdefault("Content-Type", "application/json")
            kwargs["data"] = jsonbody.dumps(kwargs.pop("json")).encode()
            kwargs["headers"] = headers
        started = time.monotonic()
        path = urlsplit(url).path
        try:
            response = super().request(method, url, *args, **kwargs)
        except requests.RequestException as exc:
            self._record(
                CallRecord(self.service, method.upper(), path, None, _ms(started), error=exc.__class__.__name__)
            )
            raise
        self._record(
            CallRecord(
                self.service,
                method.upper(),
                path,
                response.status_code,
                _ms(started),
                # Intuit spells it Intuit-Tid on API answers and intuit_tid elsewhere.
                intuit_tid=response.headers.get("intuit_tid") or response.headers.get("intuit-tid", ""),
            )
        )
        return response

    def _record(self, record: CallRecord) -> None:
        logger.info(
            "%s %s %s -> %s in %.0f ms%s",
            record.service,
            record.method,
            record.path,
            record.status,
            record.duration_ms,
            f" intuit_tid={record.intuit_tid}" if record.intuit_tid else "",
        )
        if self.recorder is not None:
            try:
                self.recorder(record)
            except Exception:  # the call log must never break the call
                logger.exception("call recorder failed")


def _ms(started: float) -> float:
    return round((time.monotonic() - started) * 1000, 1)


class TimeoutSession(_CallLogged):
    """A session whose requests always have a timeout and are logged without secrets."""

    def __init__(self, *, service: str, timeout: float, recorder: CallRecorder | None = None):
        super().__init__()
        self._call_log_init(service=service, timeout=timeout, recorder=recorder)


class OAuthSession(_CallLogged, OAuth2Session):
    """requests-oauthlib's OAuth2Session (authorization URL, state, token and refresh grants) with
    our timeout, deadline and call log."""

    def __init__(self, *, service: str, timeout: float, recorder: CallRecorder | None = None, **oauth_kwargs):
        super().__init__(**oauth_kwargs)
        self._call_log_init(service=service, timeout=timeout, recorder=recorder)


def _with_defaults(session: requests.Session) -> None:
    session.headers["User-Agent"] = settings.HTTP_USER_AGENT
    # Retries are ours to decide (idempotency keys, backoff), so urllib3 must not retry writes.
    adapter = HTTPAdapter(max_retries=0, pool_connections=10, pool_maxsize=10)
    session.mount("http://", adapter)
    session.mount("https://", adapter)


def make_session(*, service: str, recorder: CallRecorder | None = None, timeout: float | None = None) -> TimeoutSession:
    """A new session for `service` ('quickbooks' or 'pipedrive') with our defaults."""
    session = TimeoutSession(
        service=service, timeout=timeout if timeout is not None else settings.HTTP_TIMEOUT_SECONDS, recorder=recorder
    )
    _with_defaults(session)
    return session


def make_oauth_session(
    *,
    service: str,
    client_id: str,
    recorder: CallRecorder | None = None,
    timeout: float | None = None,
    redirect_uri: str | None = None,
    scope: list[str] | None = None,
) -> OAuthSession:
    """A new OAuth 2.0 session for `service`'s authorization server, with the same defaults as
    `make_session` (User-Agent, timeout, deadline, no urllib3 retries, call log)."""
    session = OAuthSession(
        service=service,
        timeout=timeout if timeout is not None else settings.HTTP_TIMEOUT_SECONDS,
        recorder=recorder,
        client_id=client_id,
        redirect_uri=redirect_uri,
        scope=scope,
    )
    _with_defaults(session)
    return session


def basic_credentials(header: str | None) -> tuple[str, str] | None:
    """`(user, password)` from an `Authorization: Basic base64(user:password)` header (RFC 7617), the one
    parser of HTTP Basic in the product; None when absent, another scheme, not base64 or UTF-8, or
    without the colon. Callers compare the parts in constant time."""
    scheme, _space, encoded = (header or "").partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    user, sep, password = decoded.partition(":")
    return (user, password) if sep else None
