"""Pipedrive's OAuth server through requests_oauthlib: code exchange, refresh and revoke.

All three use a form body and HTTP Basic `client_id:client_secret`; base URL
`settings.PIPEDRIVE_OAUTH_BASE_URL` (https://oauth.pipedrive.com/oauth, or the sandbox).
`OAuth2Session` (from `integration.http.make_oauth_session`: our timeout, User-Agent, call log)
writes the grant bodies, sends the Basic client credentials and parses the answer; we map
Pipedrive's refusals to our typed errors first (`_raise_for_token_error`), check `api_domain`,
and revoke ourselves (the library has no revoke call). The consent redirect and its `state` are
django-allauth's (`allauth_provider/`): install and "Continue with Pipedrive" share one callback.
Docs: https://pipedrive.readme.io/docs/marketplace-oauth-api
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.utils import timezone
from django.views.decorators.debug import sensitive_variables
from oauthlib.oauth2 import InvalidGrantError, OAuth2Error
from oauthlib.oauth2.rfc6749.utils import list_to_scope
from requests.auth import HTTPBasicAuth

from integration.calllog import call_recorder
from integration.errors import AuthRevoked, PermanentError, RateLimited, TransientError
from integration.http import OAuthSession, make_oauth_session, make_session

logger = logging.getLogger(__name__)

SERVICE = "pipedrive"


@dataclass(frozen=True)
class TokenResponse:
    """A token endpoint answer. `api_domain` is the company's API base URL (store it per installation)."""

    access_token: str
    refresh_token: str
    expires_in: int
    scope: str
    api_domain: str
    token_type: str = "Bearer"  # noqa: S105 (a token type name, not a secret)
    received_at: datetime | None = None

    @property
    def expires_at(self) -> datetime:
        return (self.received_at or timezone.now()) + timedelta(seconds=self.expires_in)

    def __repr__(self) -> str:  # never print the secrets
        return f"TokenResponse(api_domain={self.api_domain!r}, scope={self.scope!r}, expires_in={self.expires_in})"


def parse_token_response(payload: dict) -> TokenResponse:
    """Parse a token endpoint body; raises PermanentError when a required field is missing or malformed."""
    try:
        access_token = str(payload["access_token"])
        refresh_token = str(payload.get("refresh_token") or "")
        expires_in = int(payload.get("expires_in") or 3600)
        api_domain = str(payload["api_domain"]).rstrip("/")
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentError("Pipedrive sent an unreadable token response", service=SERVICE, code="bad_token") from exc
    parts = urlsplit(api_domain)
    if parts.scheme not in {"https", "http"} or not parts.netloc:
        raise PermanentError("Pipedrive sent an invalid api_domain", service=SERVICE, code="bad_api_domain")
    if parts.scheme == "http" and not settings.SANDBOXES_ENABLED:
        # Only the local sandbox speaks plain HTTP; a real token must never travel unencrypted.
        raise PermanentError("Pipedrive sent a non-HTTPS api_domain", service=SERVICE, code="bad_api_domain")
    if not access_token:
        raise PermanentError("Pipedrive sent an empty access token", service=SERVICE, code="bad_token")
    return TokenResponse(
        access_token=access_token,
        refresh_token=refresh_token,
        expires_in=expires_in,
        scope=str(payload.get("scope") or ""),
        api_domain=api_domain,
        token_type=str(payload.get("token_type") or "Bearer"),
        received_at=timezone.now(),
    )


def _oauth_url(name: str) -> str:
    return f"{settings.PIPEDRIVE_OAUTH_BASE_URL.rstrip('/')}/{name}"


def authorize_url() -> str:
    return _oauth_url("authorize")


@sensitive_variables()  # the client secret
def _client_auth() -> HTTPBasicAuth:
    return HTTPBasicAuth(settings.PIPEDRIVE_CLIENT_ID, settings.PIPEDRIVE_CLIENT_SECRET)


def _recorder(company):
    return call_recorder(company_id=company.pk if company is not None else None)


def _post(name: str, data: dict, *, company=None) -> requests.Response:
    session = make_session(service=SERVICE, recorder=_recorder(company))
    try:
        return session.post(_oauth_url(name), data=data, auth=_client_auth(), headers={"Accept": "application/json"})
    except requests.RequestException as exc:
        raise TransientError(f"Pipedrive OAuth {name} failed: {exc.__class__.__name__}", service=SERVICE) from exc
    finally:
        session.close()


def _grant(call: Callable[[OAuthSession], dict], *, what: str, company=None, redirect_uri=None) -> TokenResponse:
    session = make_oauth_session(
        service=SERVICE, client_id=settings.PIPEDRIVE_CLIENT_ID, recorder=_recorder(company), redirect_uri=redirect_uri
    )
    # Refusals become our typed errors before the library parses the answer.
    for hook in ("access_token_response", "refresh_token_response"):
        session.register_compliance_hook(hook, lambda response: _raise_for_token_error(response, what=what))
    try:
        token = call(session)
    except requests.RequestException as exc:
        raise TransientError(f"Pipedrive OAuth {what} failed: {exc.__class__.__name__}", service=SERVICE) from exc
    except InvalidGrantError as exc:  # a 2xx carrying {"error": "invalid_grant"}
        raise AuthRevoked("Pipedrive refused the grant", service=SERVICE, code="invalid_grant") from exc
    except (OAuth2Error, ValueError, TypeError, Warning) as exc:  # the library could not read the answer
        raise PermanentError("Pipedrive sent an unreadable token response", service=SERVICE, code="bad_token") from exc
    finally:
        session.close()
    payload = dict(token)
    # oauthlib splits `scope` into a list; Pipedrive's is one comma-separated string.
    if isinstance(payload.get("scope"), list):
        payload["scope"] = list_to_scope(payload["scope"])
    return parse_token_response(payload)


def _error_text(response: requests.Response) -> tuple[str, str]:
    """(error code, human text) from an OAuth error body; the exact shape is undocumented, so be lenient."""
    try:
        body = response.json()
    except ValueError:
        return "", response.text[:200]
    if not isinstance(body, dict):
        return "", str(body)[:200]
    code = str(body.get("error") or "")
    text = str(body.get("error_description") or body.get("message") or body.get("error") or "")
    return code, text[:300]


def _raise_for_token_error(response: requests.Response, *, what: str) -> requests.Response:
    status = response.status_code
    if status < 400:
        return response
    code, text = _error_text(response)
    if status == 429:
        raise RateLimited(f"Pipedrive OAuth {what} throttled", service=SERVICE, status=status, retry_after=2.0)
    if status >= 500:
        raise TransientError(f"Pipedrive OAuth {what} failed ({status})", service=SERVICE, status=status, detail=text)
    lowered = f"{code} {text}".lower()
    if "invalid_grant" in lowered or "invalid grant" in lowered:
        # Expired, replayed or revoked code / refresh token: only a new authorization helps.
        raise AuthRevoked(f"Pipedrive refused the grant: {text}", service=SERVICE, code="invalid_grant", status=status)
    if "client" in lowered:
        raise PermanentError(
            "Pipedrive refused our client credentials", service=SERVICE, code="invalid_client", status=status
        )
    raise PermanentError(
        f"Pipedrive OAuth {what} refused: {text}", service=SERVICE, code=code or "invalid_request", status=status
    )


def exchange_code(*, code: str, redirect_uri: str) -> TokenResponse:
    """Trade an authorization code (single use, 5 minutes) for tokens.

    Raises AuthRevoked for an expired or already used code.
    """
    # https://pipedrive.readme.io/docs/marketplace-oauth-authorization#step-5-getting-the-tokens
    return _grant(
        lambda session: session.fetch_token(_oauth_url("token"), code=code, auth=_client_auth()),
        what="code exchange",
        redirect_uri=redirect_uri,
    )


def refresh_access_token(*, refresh_token: str, company=None) -> TokenResponse:
    """A new access token (60 minutes). Pipedrive returns the same refresh token with its 60 days extended."""
    # https://pipedrive.readme.io/docs/marketplace-oauth-authorization#step-7-refreshing-the-tokens
    return _grant(
        lambda session: session.refresh_token(_oauth_url("token"), refresh_token=refresh_token, auth=_client_auth()),
        what="refresh",
        company=company,
    )


def revoke_token(*, token: str, token_type_hint: str = "refresh_token", company=None) -> None:  # noqa: S107
    """Revoke a token (RFC 7009). Revoking the refresh token removes the whole grant."""
    # https://pipedrive.readme.io/docs/marketplace-oauth-api (POST /oauth/revoke)
    response = _post("revoke", {"token": token, "token_type_hint": token_type_hint}, company=company)
    if response.status_code >= 500 or response.status_code == 429:
        raise TransientError(f"Pipedrive revoke failed ({response.status_code})", service=SERVICE)
    if response.status_code >= 400:
        code, text = _error_text(response)
        raise PermanentError(
            f"Pipedrive revoke refused: {text}", service=SERVICE, code=code, status=response.status_code
        )
