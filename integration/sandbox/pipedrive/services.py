"""Behaviour of the simulated Pipedrive: OAuth grants, bearer checks, scopes and rate limits.

Facts: shared/reference/pipedrive-platform.md §1 (OAuth), §2.3 (errors), §2.5 (rate limits).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta

import jwt
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from integration.sandbox.pipedrive.models import (
    SandboxAccessToken,
    SandboxAuthCode,
    SandboxCompany,
    SandboxGrant,
    SandboxUser,
)

CODE_LIFETIME = timedelta(minutes=5)
ACCESS_LIFETIME = timedelta(minutes=60)
REFRESH_IDLE_LIFETIME = timedelta(days=60)
BURST_WINDOW = timedelta(seconds=2)
EXTENSION_TOKEN_LIFETIME = timedelta(minutes=5)

# The invoicing extension's scope: Pipedrive's page says only "enable the invoice integration scope"
# (https://pipedrive.readme.io/docs/app-extensions-invoicing, BETA, enabled on request); no identifier
# is on the scopes page or in the OpenAPI files. Named here after those words, in the form of the
# other provider-integration scopes (`phone-integration`, `messengers-integration`). Our app never
# checks it: Pipedrive accepts or refuses the registration.
INVOICING_SCOPE = "invoice-integration"

# The scopes the simulated app was registered with in Developer Hub (scopes are set on the app,
# not per authorize request).
DEFAULT_APP_SCOPES = ("base", "deals:full", "products:read", "contacts:read", "admin", INVOICING_SCOPE)

# OAuth 400 messages, verbatim from Pipedrive's status-code page (reference §1.5).
MISSING_GRANT_TYPE = "Missing parameter: grant_type"
UNSUPPORTED_GRANT = "Unsupported grant type"
CODE_INVALID = "Invalid grant: authorization_code is invalid"
CODE_EXPIRED = "Invalid grant: authorization_code has expired"
REFRESH_INVALID = "Invalid grant: refresh_token is invalid"
CLIENT_MISSING = "Invalid client: cannot retrieve client credentials"
CLIENT_INVALID = "Invalid client: client is invalid"
REDIRECT_NOT_URI = "Invalid request: redirect_uri is not a valid URI"
REDIRECT_INVALID = "Invalid request: redirect_uri is invalid"
NOT_FORM = "Invalid request: content must be application/x-www-form-urlencoded"


class OAuthError(Exception):
    """An OAuth failure; `error` is the RFC 6749 code, `message` Pipedrive's text."""

    def __init__(self, message: str, *, error: str = "invalid_request", status: int = 400):
        super().__init__(message)
        self.message = message
        self.error = error
        self.status = status


def app_scopes() -> list[str]:
    """The scopes of the simulated app (override with the PIPEDRIVE_SANDBOX_APP_SCOPES setting in tests)."""
    return list(getattr(settings, "PIPEDRIVE_SANDBOX_APP_SCOPES", DEFAULT_APP_SCOPES))


def registered_callback_url() -> str:
    """The one Callback URL registered for the app: our `/pipedrive/callback` on PUBLIC_BASE_URL."""
    return getattr(settings, "PIPEDRIVE_SANDBOX_CALLBACK_URL", "") or f"{settings.PUBLIC_BASE_URL}/pipedrive/callback"


def api_domain_for(company: SandboxCompany) -> str:
    """The `api_domain` of a company: the sandbox's per-company host path (stands in for https://<domain>.pipedrive.com)."""
    return f"{settings.PUBLIC_BASE_URL}/sandbox/pipedrive/api/{company.domain}"


def check_client_basic_auth(header: str) -> None:
    """Verify `Authorization: Basic base64(client_id:client_secret)` in constant time; raises OAuthError."""
    if not header.startswith("Basic "):
        raise OAuthError(CLIENT_MISSING, error="invalid_client")
    try:
        client_id, _, client_secret = base64.b64decode(header[6:].strip()).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise OAuthError(CLIENT_MISSING, error="invalid_client") from exc
    check_client_credentials(client_id=client_id, client_secret=client_secret)


def check_client_credentials(*, client_id: str, client_secret: str) -> None:
    ok_id = hmac.compare_digest(client_id.encode(), settings.PIPEDRIVE_CLIENT_ID.encode())
    ok_secret = hmac.compare_digest(client_secret.encode(), settings.PIPEDRIVE_CLIENT_SECRET.encode())
    if not (ok_id and ok_secret):
        raise OAuthError(CLIENT_INVALID, error="invalid_client")


def check_redirect_uri(redirect_uri: str) -> None:
    if not redirect_uri.startswith(("http://", "https://")):
        raise OAuthError(REDIRECT_NOT_URI)
    if redirect_uri != registered_callback_url():
        raise OAuthError(REDIRECT_INVALID)


def authorization_code_issue(*, user: SandboxUser, redirect_uri: str) -> str:
    """Issue a single-use code valid for 5 minutes for `user` consenting to all the app's scopes."""
    code = f"{user.company_id}.{user.id}.{secrets.token_hex(20)}"
    SandboxAuthCode.objects.create(
        code=code,
        user=user,
        redirect_uri=redirect_uri,
        scopes=",".join(app_scopes()),
        expires_at=timezone.now() + CODE_LIFETIME,
    )
    return code


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    refresh_token: str
    scope: str
    api_domain: str
    expires_in: int

    def as_response(self) -> dict:
        """The token response body, shaped like examples/spec-oauth-POST-token.json."""
        return {
            "access_token": self.access_token,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
            "scope": self.scope,
            "api_domain": self.api_domain,
        }


def _new_access_token(grant: SandboxGrant) -> TokenSet:
    now = timezone.now()
    token = SandboxAccessToken.objects.create(
        token=f"v1u:{secrets.token_urlsafe(96)}", grant=grant, expires_at=now + ACCESS_LIFETIME
    )
    return TokenSet(
        access_token=token.token,
        refresh_token=grant.refresh_token,
        scope=grant.scopes,
        api_domain=api_domain_for(grant.user.company),
        expires_in=int(ACCESS_LIFETIME.total_seconds()) - 1,  # Pipedrive answers 3599
    )


def tokens_issue(*, user: SandboxUser, scopes: list[str] | None = None) -> TokenSet:
    """A fresh grant with access + refresh token for `user` (tests use it to skip the consent page)."""
    grant = SandboxGrant.objects.create(
        user=user,
        refresh_token=f"{user.company_id}:{user.id}:{secrets.token_hex(20)}",
        scopes=",".join(scopes if scopes is not None else app_scopes()),
        refresh_expires_at=timezone.now() + REFRESH_IDLE_LIFETIME,
    )
    return _new_access_token(grant)


@transaction.atomic
def token_exchange_code(*, code: str, redirect_uri: str) -> TokenSet:
    """grant_type=authorization_code: the code works once, within 5 minutes, for its redirect_uri."""
    if not code:
        raise OAuthError(CODE_INVALID, error="invalid_grant")
    auth_code = SandboxAuthCode.objects.select_for_update().select_related("user__company").filter(code=code).first()
    if auth_code is None or auth_code.used_at is not None:
        raise OAuthError(CODE_INVALID, error="invalid_grant")
    if auth_code.expires_at <= timezone.now():
        raise OAuthError(CODE_EXPIRED, error="invalid_grant")
    if redirect_uri != auth_code.redirect_uri:
        raise OAuthError(REDIRECT_INVALID)
    auth_code.used_at = timezone.now()
    auth_code.save(update_fields=["used_at"])
    return tokens_issue(user=auth_code.user, scopes=auth_code.scopes.split(","))


@transaction.atomic
def token_refresh(*, refresh_token: str) -> TokenSet:
    """grant_type=refresh_token: same refresh token back, its 60-day idle window extended."""
    now = timezone.now()
    grant = (
        SandboxGrant.objects.select_for_update()
        .select_related("user__company")
        .filter(refresh_token=refresh_token, revoked_at__isnull=True, refresh_expires_at__gt=now)
        .first()
    )
    if grant is None or not refresh_token:
        raise OAuthError(REFRESH_INVALID, error="invalid_grant")
    grant.refresh_expires_at = now + REFRESH_IDLE_LIFETIME
    grant.save(update_fields=["refresh_expires_at"])
    return _new_access_token(grant)


def token_revoke(*, token: str, token_type_hint: str = "") -> None:
    """RFC 7009: a refresh token removes the whole grant; an access token only itself. Unknown → no-op."""
    now = timezone.now()
    if token_type_hint != "access_token":  # noqa: S105 (a hint name, not a secret)
        grant = SandboxGrant.objects.filter(refresh_token=token, revoked_at__isnull=True).first()
        if grant is not None:
            grant_revoke(grant=grant)
            return
    SandboxAccessToken.objects.filter(token=token, revoked_at__isnull=True).update(revoked_at=now)


def grant_revoke(*, grant: SandboxGrant) -> None:
    """Remove a grant and every access token issued from it (uninstall)."""
    now = timezone.now()
    grant.revoked_at = now
    grant.save(update_fields=["revoked_at"])
    grant.access_tokens.filter(revoked_at__isnull=True).update(revoked_at=now)


# --- API access -----------------------------------------------------------------------------


class ApiError(Exception):
    """An API failure answered with Pipedrive's error envelope."""

    def __init__(self, status: int, body: dict, headers: dict | None = None):
        super().__init__(body.get("error", ""))
        self.status = status
        self.body = body
        self.headers = headers or {}


def error_body(message: str, *, error_info: str = "Please check developers.pipedrive.com") -> dict:
    return {"success": False, "error": message, "error_info": error_info, "data": None, "additional_data": None}


def unauthorized() -> ApiError:
    # The spec's 401 example of /users/me.
    return ApiError(401, {"success": False, "error": "unauthorized access", "errorCode": 401})


def authenticate(*, authorization: str, domain: str) -> SandboxAccessToken:
    """The live access token of `Authorization: Bearer …` for the company host `domain`, else ApiError 401/400."""
    if not authorization:
        raise unauthorized()
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise ApiError(400, error_body("Invalid request: malformed authorization header"))
    token = (
        SandboxAccessToken.objects.select_related("grant__user__company")
        .filter(token=value.strip(), revoked_at__isnull=True, grant__revoked_at__isnull=True)
        .first()
    )
    if token is None or token.expires_at <= timezone.now():
        raise unauthorized()
    if token.grant.user.company.domain != domain:
        # A token only works on the host of the company it was issued for.
        raise unauthorized()
    return token


def check_scopes(*, token: SandboxAccessToken, allowed: tuple[str, ...]) -> None:
    """403 "Scope and URL mismatch" unless the grant holds one of the operation's scopes."""
    granted = set(token.grant.scopes.split(","))
    if allowed and not granted.intersection(allowed):
        raise ApiError(
            403,
            {
                "success": False,
                "error": "Scope and URL mismatch",
                "errorCode": 403,
                "error_info": "Please check developers.pipedrive.com",
            },
        )


def rate_limit_charge(*, token: SandboxAccessToken, cost: int) -> dict[str, str]:
    """Count one request in the token's 2 s burst window and charge `cost` to the company's daily
    budget. Returns the x-ratelimit-* headers; raises ApiError 429 (with them) when over a limit."""
    headers, limited = _rate_limit_count(token=token, cost=cost)
    if limited:
        raise ApiError(429, error_body("Request over limit"), headers)
    return headers


@transaction.atomic
def _rate_limit_count(*, token: SandboxAccessToken, cost: int) -> tuple[dict[str, str], bool]:
    now = timezone.now()
    locked = SandboxAccessToken.objects.select_for_update().get(pk=token.pk)
    company = SandboxCompany.objects.select_for_update().get(pk=token.grant.user.company_id)
    if locked.window_started_at is None or now - locked.window_started_at >= BURST_WINDOW:
        locked.window_started_at = now
        locked.window_count = 0
    today = now.date()
    if company.budget_day != today:  # the budget resets at midnight (server time; UTC here)
        company.budget_day = today
        company.budget_used = 0
    reset = max(1, int((locked.window_started_at + BURST_WINDOW - now).total_seconds() + 0.999))
    over_burst = locked.window_count >= company.burst_limit
    over_budget = company.budget_used + cost > company.daily_budget
    if not over_burst and not over_budget:
        locked.window_count += 1
        company.budget_used += cost
    locked.save(update_fields=["window_started_at", "window_count"])
    company.save(update_fields=["budget_day", "budget_used"])
    headers = {
        "x-ratelimit-limit": str(company.burst_limit),
        "x-ratelimit-remaining": str(max(0, company.burst_limit - locked.window_count)),
        "x-ratelimit-reset": str(reset),
        "x-daily-ratelimit-token-limit": str(company.daily_budget),
        "x-daily-ratelimit-token-remaining": str(max(0, company.daily_budget - company.budget_used)),
    }
    return headers, over_burst or over_budget


def extension_token(
    *, user: SandboxUser, extension: str = "panel", lifetime: timedelta = EXTENSION_TOKEN_LIFETIME
) -> str:
    """The HS256 JWT Pipedrive gives a custom UI extension's iframe (`token` query) and its
    GET_SIGNED_TOKEN: signed with that extension's JWT secret, or the client secret when the field is
    blank (documented); claims `userId`, `companyId` (documented; numbers here, undocumented) and
    `iat`/`exp` 5 minutes apart (the documented lifetime; jsonwebtoken's `expiresIn` adds both)."""
    from integration.sandbox.pipedrive import app_config

    now = timezone.now()
    claims = {
        "userId": user.id,
        "companyId": user.company_id,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
    }
    return jwt.encode(claims, app_config.extension(extension).signing_secret, algorithm="HS256")
