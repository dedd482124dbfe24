"""Verify the JWT Pipedrive puts on panel/modal iframes (`token` query parameter) and that the app
extensions SDK hands out (`GET_SIGNED_TOKEN`, sent to our API as `Authorization: Bearer`).

What Pipedrive promises (sources in README.md, "Contract facts"): the token is signed with the
extension's "JWT secret" from Developer Hub, or with the app's client secret when that field is
blank; it carries the Pipedrive `userId` and `companyId`; a GET_SIGNED_TOKEN token is valid for
5 minutes. Nothing else is documented: not the algorithm (HS256 in Pipedrive staff's own code),
not `iat`/`exp`, not the id types. So (RFC 8725): HS256 only with our secret (never the algorithm
named in the header); the token's lifetime must be bounded by its own time claims, `exp` and/or
`iat`, and no longer than the 5 minutes Pipedrive issues; a token with neither claim never expires
and is refused; absurd or mistyped time claims are refused, not crashed on. `companyId`/`userId`
must match the query parameters when those are present; the tenant comes from the claims, never
from the parameters; an unknown or uninstalled company, or an unknown user → 401.
Docs: https://pipedrive.readme.io/docs/custom-ui-extensions ,
https://github.com/pipedrive/app-extensions-sdk#get-signed-token , https://pyjwt.readthedocs.io/en/stable/api.html
"""

from __future__ import annotations

import hmac
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

import jwt as pyjwt
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_variables
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from tenants.language import activate_for_membership
from tenants.models import Company, Membership

ALGORITHM = "HS256"
LEEWAY_SECONDS = 30  # clock skew between Pipedrive and us
# GET_SIGNED_TOKEN: "A new JSON Web Token (JWT) that is valid for 5 minutes" (SDK README). The
# iframe's own `token` has no documented lifetime; we assume the same (README, Contract facts).
TOKEN_LIFETIME_SECONDS = 300
MAX_SECONDS = TOKEN_LIFETIME_SECONDS + LEEWAY_SECONDS


class PanelTokenError(Exception):
    """The token is not acceptable; `code` says why (for logs and tests, not for the client)."""

    def __init__(self, code: str, message: str = ""):
        super().__init__(message or code)
        self.code = code


@dataclass(frozen=True)
class PanelClaims:
    company_id: int
    user_id: int
    expires_at: datetime
    raw: dict = field(default_factory=dict, repr=False)


def signing_secret() -> str:
    """The secret Pipedrive signs with: the extensions' JWT secret from Developer Hub, or, when that
    field is left blank, the app's client secret (documented on the custom UI pages and the SDK README)."""
    return settings.PIPEDRIVE_JWT_SECRET or settings.PIPEDRIVE_CLIENT_SECRET


def _as_id(value, *, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise PanelTokenError("bad_claims", f"{name} is not an id")
    text = str(value).strip()
    if not text.isdigit() or len(text) > 18:  # ids are positive and fit a 64-bit column
        raise PanelTokenError("bad_claims", f"{name} is not an id")
    number = int(text)
    if number <= 0:
        raise PanelTokenError("bad_claims", f"{name} is not an id")
    return number


def _timestamp(claims: dict, name: str) -> int | None:
    """A NumericDate claim as whole seconds, or None when absent. Booleans, strings, NaN and
    infinities are refused here; huge values are refused by the lifetime bounds."""
    if name not in claims:
        return None
    value = claims[name]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise PanelTokenError("bad_time", f"{name} is not a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise PanelTokenError("bad_time", f"{name} is not a finite number")
    return int(value)


def _check_lifetime(claims: dict, *, now: int) -> int:
    """Bound the token's life by `exp` and `iat`, whichever it carries; returns when it expires."""
    exp = _timestamp(claims, "exp")
    iat = _timestamp(claims, "iat")
    nbf = _timestamp(claims, "nbf")
    if exp is None and iat is None:
        raise PanelTokenError("no_lifetime", "neither exp nor iat: the token would never expire")
    if nbf is not None and nbf > now + LEEWAY_SECONDS:
        raise PanelTokenError("not_yet_valid", "nbf is in the future")
    if iat is not None:
        if iat > now + LEEWAY_SECONDS:
            raise PanelTokenError("not_yet_valid", "iat is in the future")
        if now - iat > MAX_SECONDS:
            raise PanelTokenError("too_old", "issued more than 5 minutes ago")
    if exp is not None:
        if exp <= now - LEEWAY_SECONDS:
            raise PanelTokenError("expired")
        if exp - now > MAX_SECONDS or (iat is not None and exp - iat > MAX_SECONDS):
            raise PanelTokenError("lifetime_too_long", "Pipedrive's tokens live 5 minutes")
    if exp is None:
        assert iat is not None  # a token with neither was refused above
        return iat + TOKEN_LIFETIME_SECONDS
    return exp if iat is None else min(exp, iat + TOKEN_LIFETIME_SECONDS)


def _matches(claim: int, param) -> bool:
    if param is None:
        return True
    return hmac.compare_digest(str(claim).encode(), str(param).strip().encode())


@sensitive_variables()  # the JWT secret is a local here and in PyJWT below: never on an error page
def verify_panel_token(*, token: str, company_id=None, user_id=None) -> PanelClaims:
    """Check signature, algorithm, lifetime and claims; `company_id`/`user_id` are the request's query
    parameters (None when the request has none). Raises PanelTokenError."""
    secret = signing_secret()
    if not secret:
        raise PanelTokenError("not_configured", "PIPEDRIVE_JWT_SECRET and PIPEDRIVE_CLIENT_SECRET are empty")
    if not token or not isinstance(token, str):
        raise PanelTokenError("missing")
    try:
        header = pyjwt.get_unverified_header(token)
    except pyjwt.InvalidTokenError as exc:
        raise PanelTokenError("malformed") from exc
    # Belt and braces: PyJWT already refuses any algorithm outside `algorithms`, but an explicit check
    # makes "alg=none" and HS512/RS256 swaps fail loudly here.
    if header.get("alg") != ALGORITHM:
        raise PanelTokenError("bad_algorithm", f"alg {header.get('alg')!r} is not {ALGORITHM}")
    try:
        # Time claims are checked below by our own rules: PyJWT's int() on them raises OverflowError
        # or TypeError (a 500) for Infinity, null or a list.
        claims = pyjwt.decode(
            token,
            key=secret,
            algorithms=[ALGORITHM],
            options={
                "verify_signature": True,
                "verify_exp": False,
                "verify_iat": False,
                "verify_nbf": False,
                "verify_aud": False,
                "verify_iss": False,
                "require": [],
            },
        )
    except pyjwt.InvalidSignatureError as exc:
        raise PanelTokenError("bad_signature") from exc
    except pyjwt.InvalidTokenError as exc:
        raise PanelTokenError("invalid") from exc
    expires = _check_lifetime(claims, now=int(time.time()))
    if "companyId" not in claims or "userId" not in claims:
        raise PanelTokenError("bad_claims", "companyId and userId are required")
    claims_company = _as_id(claims["companyId"], name="companyId")
    claims_user = _as_id(claims["userId"], name="userId")
    if not _matches(claims_company, company_id) or not _matches(claims_user, user_id):
        raise PanelTokenError("mismatch", "the token's companyId/userId differ from the query parameters")
    return PanelClaims(
        company_id=claims_company,
        user_id=claims_user,
        expires_at=datetime.fromtimestamp(expires, tz=UTC),
        raw=claims,
    )


def membership_for_claims(*, claims: PanelClaims) -> Membership:
    """The seat the token speaks for; raises PanelTokenError for an unknown or uninstalled company or user."""
    # One query, resolved from the verified claims only and pinned to that company.
    membership = (
        Membership.all_companies.select_related("company", "user")
        .filter(
            company__pipedrive_company_id=claims.company_id,
            company__status=Company.Status.ACTIVE,
            pipedrive_user_id=claims.user_id,
            user__is_active=True,
        )
        .first()
    )
    if membership is None:
        known = Company.objects.filter(pipedrive_company_id=claims.company_id, status=Company.Status.ACTIVE).exists()
        raise PanelTokenError("unknown_user" if known else "unknown_company")
    return membership


@dataclass(frozen=True)
class PanelAuth:
    """`request.auth` for panel requests: `tenants.api.CompanyScopedApi` reads `.membership`."""

    membership: Membership
    claims: PanelClaims


def token_from_request(request) -> str | None:
    """The Bearer token of the Authorization header. Never a query parameter: URLs end up in
    access logs (the iframe pages read their own `token` parameter themselves)."""
    header = request.headers.get("Authorization", "")
    scheme, _sep, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    return None


def request_claims(request) -> PanelClaims | None:
    """The verified claims of a request's panel JWT (None without one); 401 for a bad token. Both
    the authentication class (DRF's request) and the panel's plain read views (Django's) verify
    through here."""
    token = token_from_request(request)
    if token is None:
        return None
    try:
        return verify_panel_token(
            token=token,
            company_id=request.GET.get("companyId"),
            user_id=request.GET.get("userId"),
        )
    except PanelTokenError as exc:
        raise exceptions.AuthenticationFailed(_("The Pipedrive token is not valid."), code=exc.code) from exc


def authenticated_membership(claims: PanelClaims) -> Membership:
    """membership_for_claims for an API request: 401 for an unknown or uninstalled company or user."""
    try:
        return membership_for_claims(claims=claims)
    except PanelTokenError as exc:
        raise exceptions.AuthenticationFailed(_("The Pipedrive token is not valid."), code=exc.code) from exc


class PipedrivePanelAuthentication(authentication.BaseAuthentication):
    """DRF authentication by the Pipedrive panel JWT. No token → not this scheme (None); a bad token → 401."""

    www_authenticate_realm = "pipedrive"

    def authenticate(self, request):
        claims = request_claims(request)
        if claims is None:
            return None
        membership = authenticated_membership(claims)
        # The seat's language for this request's messages (no session inside Pipedrive's iframe).
        activate_for_membership(request, membership)
        return membership.user, PanelAuth(membership=membership, claims=claims)

    def authenticate_header(self, request):
        return f'Bearer realm="{self.www_authenticate_realm}"'


class PipedrivePanelAuthenticationScheme(OpenApiAuthenticationExtension):
    """Documents the panel JWT in the OpenAPI schema."""

    target_class = "integration.pipedrive.jwt.PipedrivePanelAuthentication"
    name = "PipedrivePanelJWT"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "JWT",
            "description": "The HS256 token Pipedrive signs for the app extension (GET_SIGNED_TOKEN).",
        }
