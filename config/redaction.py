"""Secrets that URLs carry, kept out of every log line: the panel's `?token=<JWT>`, OAuth
`code`/`state`, and any JWT or credential header that a log format could print.

Used by gunicorn's access log (`config/gunicorn.conf.py` → `RedactingGunicornLogger`) and by
Django's loggers (`RedactSecretsFilter` on the console handler, see settings.LOGGING)."""

from __future__ import annotations

import logging
import re

from django.views.debug import SafeExceptionReporterFilter
from gunicorn.glogging import Logger as GunicornLogger

REDACTED = "[redacted]"
SECRET_PARAMS = (
    "token",
    "code",
    "state",
    "access_token",
    "refresh_token",
    "id_token",
    "client_secret",
    "password",
    "signature",
)
# name=value in a query string (also URL-encoded inside another URL, e.g. a Referer or `next`).
_PARAM = re.compile(
    r"(?i)(?:^|(?<=[?&;\s\"'])|(?<=%3F)|(?<=%26))"
    r"(?P<name>"
    + "|".join(SECRET_PARAMS)
    + r")(?P<eq>=|%3D)(?P<value>[^&\s\"'#%]*(?:%(?!26)[0-9A-Fa-f]{2}[^&\s\"'#%]*)*)"
)
# A JWT wherever it appears (header.payload.signature, base64url).
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
_SECRET_HEADERS = {"{authorization}i", "{cookie}i", "{set-cookie}o", "{intuit-signature}i", "{x-csrftoken}i"}


def redact(text: str) -> str:
    if not text:
        return text
    text = _JWT.sub(REDACTED, text)
    return _PARAM.sub(lambda m: f"{m['name']}{m['eq']}{REDACTED}" if m["value"] else m[0], text)


class RedactingGunicornLogger(GunicornLogger):
    """gunicorn's logger with every access-log atom redacted (request line, query, Referer, headers)."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key, value in atoms.items():
            if key in _SECRET_HEADERS and value not in (None, "-"):
                atoms[key] = REDACTED
            elif isinstance(value, str):
                atoms[key] = redact(value)
        return atoms


class AlwaysCleansingExceptionReporterFilter(SafeExceptionReporterFilter):
    """Django cleanses `@sensitive_variables` and secret-named settings only when DEBUG is off; a
    DEBUG error page would show the JWT secret held in a local. Cleanse always."""

    def is_active(self, request) -> bool:
        return True


class RedactSecretsFilter(logging.Filter):
    """Rewrites a record's message with the secrets above redacted (runserver's request lines,
    django.request's warnings, our own messages that quote a URL)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format must not lose the record
            return True
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
