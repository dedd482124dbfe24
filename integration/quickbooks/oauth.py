"""Intuit OAuth 2.0: the authorize URL, code exchange, refresh and revoke (reference §1).

Doc: https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from urllib.parse import urlencode

import requests
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables

from integration.errors import AuthRevoked, IntegrationError, PermanentError, TransientError
from integration.http import CallRecorder, make_session
from integration.quickbooks.errors import SERVICE, error_for_exception, intuit_tid

SCOPE = "com.intuit.quickbooks.accounting"
# A hung token call must not pile up workers waiting on the connection's row lock (reliability §2.3).
TOKEN_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class TokenSet:
    access_token: str = field(repr=False)  # never printed or logged
    refresh_token: str = field(repr=False)
    access_expires_at: datetime
    refresh_expires_at: datetime | None
    refresh_hard_expires_at: datetime | None


def authorize_url(*, state: str, redirect_uri: str) -> str:
    """Where the browser goes for Intuit's consent page."""
    query = urlencode(
        {
            "client_id": settings.QBO_CLIENT_ID,
            "response_type": "code",
            "scope": SCOPE,
            "redirect_uri": redirect_uri,
            "state": state,
        }
    )
    return f"{settings.QBO_AUTHORIZE_URL}?{query}"


@sensitive_variables()  # the client secret
def _basic_auth() -> str:
    raw = f"{settings.QBO_CLIENT_ID}:{settings.QBO_CLIENT_SECRET}".encode()
    return "Basic " + base64.b64encode(raw).decode()


def _token_set(body: dict, *, now: datetime) -> TokenSet:
    try:
        access = body["access_token"]
        refresh = body["refresh_token"]
        expires_in = int(body.get("expires_in") or 3600)
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentError(_("Intuit sent an unreadable token response."), service=SERVICE) from exc

    def after(seconds) -> datetime | None:
        try:
            return now + timedelta(seconds=int(seconds)) if seconds not in (None, "") else None
        except (TypeError, ValueError):
            return None

    return TokenSet(
        access_token=access,
        refresh_token=refresh,
        access_expires_at=now + timedelta(seconds=expires_in),
        refresh_expires_at=after(body.get("x_refresh_token_expires_in")),
        refresh_hard_expires_at=after(body.get("x_refresh_token_hard_expires_in")),
    )


def _token_request(form: dict, *, recorder: CallRecorder | None) -> TokenSet:
    session = make_session(service=SERVICE, recorder=recorder, timeout=TOKEN_TIMEOUT_SECONDS)
    now = timezone.now()
    try:
        # Doc: https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0#exchange-code-for-tokens
        response = session.post(
            settings.QBO_TOKEN_URL,
            data=form,
            headers={
                "Authorization": _basic_auth(),
                "Accept": "application/json",
                # Ask for the 5-year hard expiry so we can warn before it (reference §1.4).
                "x-include-refresh-token-hard-expires-in": "true",
            },
        )
    except requests.RequestException as exc:
        raise error_for_exception(exc) from exc
    finally:
        session.close()
    if response.status_code == 200:
        return _token_set(response.json(), now=now)
    try:
        body = response.json()
    except ValueError:
        body = {}
    error = str(body.get("error") or "") if isinstance(body, dict) else ""
    tid = intuit_tid(response)
    kwargs = {"service": SERVICE, "code": error, "status": response.status_code, "detail": f"intuit_tid={tid}"}
    if error == "invalid_grant":
        raise AuthRevoked(_("QuickBooks refused the stored authorization; reconnect QuickBooks."), **kwargs)
    if response.status_code >= 500:
        raise TransientError(_("Intuit's sign-in service is unavailable; try again later."), **kwargs)
    raise IntegrationError(_("Intuit refused the token request (%s).") % (error or response.status_code), **kwargs)


def exchange_code(*, code: str, redirect_uri: str, recorder: CallRecorder | None = None) -> TokenSet:
    """Trade the authorization code from the callback for tokens (only ever once per code)."""
    return _token_request(
        {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}, recorder=recorder
    )


def refresh(*, refresh_token: str, recorder: CallRecorder | None = None) -> TokenSet:
    """New access token; the refresh token may rotate, so the caller must store the one returned."""
    return _token_request({"grant_type": "refresh_token", "refresh_token": refresh_token}, recorder=recorder)


def revoke(*, token: str, recorder: CallRecorder | None = None) -> None:
    """Revoke a refresh (or access) token: disconnects our app from that QBO company."""
    session = make_session(service=SERVICE, recorder=recorder, timeout=TOKEN_TIMEOUT_SECONDS)
    try:
        # Doc: https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0#revoke-token-disconnect
        response = session.post(
            settings.QBO_REVOKE_URL,
            json={"token": token},
            headers={"Authorization": _basic_auth(), "Accept": "application/json"},
        )
    except requests.RequestException as exc:
        raise error_for_exception(exc) from exc
    finally:
        session.close()
    if response.status_code != 200:
        raise IntegrationError(
            _("Intuit did not revoke the token (HTTP %s).") % response.status_code,
            service=SERVICE,
            status=response.status_code,
        )
