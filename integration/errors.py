"""Typed errors for calls to external services. Callers branch on the type, not on text."""

from __future__ import annotations

from typing import Any, TypedDict

from django.utils.translation import gettext


class Said(str):
    """A sentence of ours: the text in the language active where it was said, plus its msgid and
    params, so that a reader in another language can be shown it in theirs later (a worker says
    things in English; invoices/event_text.py renders them again). Mark the msgid with
    gettext_noop at the call: `said(gettext_noop("… %(name)s …"), {"name": name})`."""

    msgid: str
    params: Any

    def __new__(cls, msgid: str, params: Any = None) -> Said:
        text = gettext(msgid)
        if params is not None:
            text = text % (params if isinstance(params, dict) else tuple(params))
        obj = super().__new__(cls, text)
        obj.msgid, obj.params = msgid, params
        return obj

    def as_json(self) -> dict:
        """What an event stores: params as JSON keeps them (a nested Said as its own msgid/params)."""

        def plain(value):
            if isinstance(value, Said):
                return value.as_json()
            return value if value is None or isinstance(value, bool | int | float) else str(value)

        params = self.params
        if isinstance(params, dict):
            params = {name: plain(value) for name, value in params.items()}
        elif params is not None:
            params = [plain(value) for value in params]
        return {"msgid": self.msgid, "params": params}


def said(msgid: str, params: Any = None) -> Said:
    """Our sentence `msgid` % `params` (a dict, or a tuple for %s), rendered now and renderable later."""
    if params is not None and not isinstance(params, dict | list | tuple):
        params = (params,)
    return Said(msgid, params)


def said_again(value: Any) -> str:
    """A Said as stored by `as_json`, in the active language (anything else as it is)."""
    if not isinstance(value, dict) or not isinstance(value.get("msgid"), str):
        return "" if value is None else str(value)
    params = value.get("params")
    if isinstance(params, dict):
        params = {name: said_again(item) if isinstance(item, dict) else item for name, item in params.items()}
    elif isinstance(params, list):
        params = [said_again(item) if isinstance(item, dict) else item for item in params]
    return str(Said(value["msgid"], params))  # rendered by the one rule, Said's


class ErrorContext(TypedDict):
    """The keyword arguments every `IntegrationError` takes, built once where a response is mapped."""

    service: str
    code: str
    status: int | None
    detail: str


class IntegrationError(Exception):
    """Base class. `service` names the remote service, `code` its error code when it gave one."""

    def __init__(
        self,
        message: str,
        *,
        service: str = "",
        code: str = "",
        status: int | None = None,
        detail: str = "",
        parts: list[Said] | None = None,
    ):
        super().__init__(message)
        self.message = message
        # Our own sentences the message is made of (renderable in any language later): the message
        # itself when it is one, or what it joins.
        self.parts: list[Said] = list(parts or ([message] if isinstance(message, Said) else []))
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
