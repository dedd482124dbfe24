"""Intuit OAuth 2.0 through requests_oauthlib: the authorize URL and state, code exchange, refresh,
and revoke (reference §1).

The library (`OAuth2Session`, made by `integration.http.make_oauth_session` so our timeout,
User-Agent and call log apply) builds the authorize URL and generates the state, writes the
`authorization_code` and `refresh_token` grant bodies, sends our client credentials as HTTP Basic
(Intuit's documented client authentication) and parses the token answer. We still: keep the state
(hashed, single use, bound to company and user: services.py), ask for the hard expiry, map Intuit's
refusals to our typed errors (`invalid_grant` → AuthRevoked → needs_reconnect) before the library
parses them, serialize refreshes per connection (services.py), and revoke (the library has no
revoke call).
Doc: https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import requests
from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_variables
from oauthlib.common import generate_token
from oauthlib.oauth2 import InvalidGrantError, OAuth2Error
from requests.auth import HTTPBasicAuth

from integration.errors import AuthRevoked, ErrorContext, IntegrationError, PermanentError, TransientError
from integration.http import CallRecorder, OAuthSession, make_oauth_session, make_session
from integration.quickbooks.errors import SERVICE, error_for_exception, intuit_tid

SCOPE = "com.intuit.quickbooks.accounting"
# A hung token call must not pile up workers waiting on the connection's row lock (reliability §2.3).
TOKEN_TIMEOUT_SECONDS = 10.0
# oauthlib's generator, longer than its default 30: 43 characters of 62 are about 256 bits.
STATE_LENGTH = 43
TOKEN_HEADERS = {
    "Accept": "application/json",
    "Content-Type": "application/x-www-form-urlencoded",
    # Ask for the 5-year hard expiry so we can warn before it (reference §1.4).
    "x-include-refresh-token-hard-expires-in": "true",
}


@dataclass(frozen=True)
class TokenSet:
    access_token: str = field(repr=False)  # never printed or logged
    refresh_token: str = field(repr=False)
    access_expires_at: datetime
    refresh_expires_at: datetime | None
    refresh_hard_expires_at: datetime | None


def _session(*, recorder: CallRecorder | None = None, redirect_uri: str | None = None, scope=None) -> OAuthSession:
    return make_oauth_session(
        service=SERVICE,
        client_id=settings.QBO_CLIENT_ID,
        recorder=recorder,
        timeout=TOKEN_TIMEOUT_SECONDS,
        redirect_uri=redirect_uri,
        scope=scope,
    )


def authorization_url(*, redirect_uri: str) -> tuple[str, str]:
    """Where the browser goes for Intuit's consent page, and the new random state it carries."""
    session = _session(redirect_uri=redirect_uri, scope=[SCOPE])
    try:
        url, state = session.authorization_url(settings.QBO_AUTHORIZE_URL, state=generate_token(STATE_LENGTH))
    finally:
        session.close()
    return url, state


@sensitive_variables()  # the client secret
def _client_auth() -> HTTPBasicAuth:
    return HTTPBasicAuth(settings.QBO_CLIENT_ID, settings.QBO_CLIENT_SECRET)


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


def _refused(response: requests.Response) -> requests.Response:
    """Compliance hook run before the library parses a token answer: Intuit's refusals become our
    typed errors (the library would raise its own, or choke on an HTML 5xx page)."""
    if response.status_code == 200:
        return response
    try:
        body = response.json()
    except ValueError:
        body = {}
    error = str(body.get("error") or "") if isinstance(body, dict) else ""
    tid = intuit_tid(response)
    kwargs = ErrorContext(service=SERVICE, code=error, status=response.status_code, detail=f"intuit_tid={tid}")
    if error == "invalid_grant":
        raise AuthRevoked(_("QuickBooks refused the stored authorization; reconnect QuickBooks."), **kwargs)
    if response.status_code >= 500:
        raise TransientError(_("Intuit's sign-in service is unavailable; try again later."), **kwargs)
    raise IntegrationError(_("Intuit refused the token request (%s).") % (error or response.status_code), **kwargs)


@contextmanager
def _token_call(recorder: CallRecorder | None, **session_kwargs) -> Iterator[OAuthSession]:
    session = _session(recorder=recorder, **session_kwargs)
    session.register_compliance_hook("access_token_response", _refused)
    session.register_compliance_hook("refresh_token_response", _refused)
    try:
        yield session
    except requests.RequestException as exc:
        raise error_for_exception(exc) from exc
    except InvalidGrantError as exc:  # a 200 carrying {"error": "invalid_grant"}
        raise AuthRevoked(
            _("QuickBooks refused the stored authorization; reconnect QuickBooks."), service=SERVICE, code=exc.error
        ) from exc
    except (OAuth2Error, ValueError, TypeError, Warning) as exc:  # the library could not read a 200 answer
        raise PermanentError(_("Intuit sent an unreadable token response."), service=SERVICE) from exc
    finally:
        session.close()


def _grant(call: Callable[[OAuthSession], dict], *, recorder: CallRecorder | None, **session_kwargs) -> TokenSet:
    now = timezone.now()
    with _token_call(recorder, **session_kwargs) as session:
        body = call(session)
    return _token_set(body, now=now)


def exchange_code(*, code: str, redirect_uri: str, recorder: CallRecorder | None = None) -> TokenSet:
    """Trade the authorization code from the callback for tokens (only ever once per code)."""
    # Doc: https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0#exchange-code-for-tokens
    return _grant(
        lambda session: session.fetch_token(
            settings.QBO_TOKEN_URL, code=code, auth=_client_auth(), headers=dict(TOKEN_HEADERS)
        ),
        recorder=recorder,
        redirect_uri=redirect_uri,
    )


def refresh(*, refresh_token: str, recorder: CallRecorder | None = None) -> TokenSet:
    """New access token; the refresh token may rotate, so the caller must store the one returned."""
    # Doc: https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0#refresh-the-token
    return _grant(
        lambda session: session.refresh_token(
            settings.QBO_TOKEN_URL, refresh_token=refresh_token, auth=_client_auth(), headers=dict(TOKEN_HEADERS)
        ),
        recorder=recorder,
    )


def revoke(*, token: str, recorder: CallRecorder | None = None) -> None:
    """Revoke a refresh (or access) token: disconnects our app from that QBO company."""
    session = make_session(service=SERVICE, recorder=recorder, timeout=TOKEN_TIMEOUT_SECONDS)
    try:
        # Doc: https://developer.intuit.com/app/developer/qbo/docs/develop/authentication-and-authorization/oauth-2.0#revoke-token-disconnect
        response = session.post(
            settings.QBO_REVOKE_URL,
            json={"token": token},
            auth=_client_auth(),
            headers={"Accept": "application/json"},
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
