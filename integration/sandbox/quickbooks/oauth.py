"""Intuit OAuth 2.0 as the sandbox plays it (reference §1): codes, rotating refresh tokens, revoke."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import secrets

from django.conf import settings
from django.db import transaction

from integration.sandbox.quickbooks import clock
from integration.sandbox.quickbooks.models import (
    SandboxApp,
    SandboxAuthCode,
    SandboxRealm,
    SandboxSigningKey,
    SandboxToken,
)

ACCESS_TOKEN_SECONDS = 3600
REFRESH_TOKEN_SECONDS = 8726400  # 101 days, rolling (JS-OAUTH mocks, docs example)
HARD_EXPIRY = dt.timedelta(days=5 * 365)  # 2025 policy: at most five years per connection
CODE_SECONDS = 600
ID_TOKEN_SECONDS = 3600
# The sandbox user who presses Connect (fixture oauth/userinfo_response_dotnet_test.json shape).
SANDBOX_USER_SUB = "1182d6ec-2a1f-4aa3-af3f-bb3b95db45af"
# Redirect URIs registered for the app besides the product's own callback (which is derived from
# PUBLIC_BASE_URL at request time, so a live test server on any port is registered too).
# Port 9 (discard) is what the sandbox's own and the third-party client tests use: never reached.
DEFAULT_EXTRA_REDIRECT_URIS = (
    "http://127.0.0.1:9/quickbooks/callback",
    "https://developer.intuit.com/v2/OAuth2Playground/RedirectUrl",
)


def registered_redirect_uris() -> list[str]:
    """The app's registered redirect URIs (Intuit's keys tab): exact strings, no prefix matching.

    `QBO_SANDBOX_REDIRECT_URIS` (a list) replaces the extra ones when set."""
    from django.urls import reverse

    extra = getattr(settings, "QBO_SANDBOX_REDIRECT_URIS", None)
    own = f"{settings.PUBLIC_BASE_URL.rstrip('/')}{reverse('quickbooks:callback')}"
    return [own, *(DEFAULT_EXTRA_REDIRECT_URIS if extra is None else extra)]


class OAuthError(Exception):
    """An OAuth error answered as `{"error": ...}` (the body Intuit sends)."""

    def __init__(self, error: str, description: str = "", status: int = 400):
        super().__init__(error)
        self.error = error
        self.description = description
        self.status = status

    def body(self) -> dict:
        # Key order as recorded: error_description first (oauth/invalid_grant_error_envelope_*.json).
        if self.description:
            return {"error_description": self.description, "error": self.error}
        return {"error": self.error}


def invalid_grant() -> OAuthError:
    return OAuthError("invalid_grant", "Token invalid")


def client_from_request(*, authorization: str, form) -> str:
    """Check client_secret_basic (or client_secret_post) credentials; returns the client id."""
    client_id = client_secret = None
    if authorization.lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
            client_id, _, client_secret = decoded.partition(":")
        except (binascii.Error, UnicodeDecodeError):
            raise OAuthError("invalid_client", status=401) from None
    elif form.get("client_id"):
        client_id, client_secret = form.get("client_id"), form.get("client_secret", "")
    if not client_id or client_id != settings.QBO_CLIENT_ID or client_secret != settings.QBO_CLIENT_SECRET:
        raise OAuthError("invalid_client", status=401)
    return client_id


def issue_code(*, realm: SandboxRealm, client_id: str, redirect_uri: str, scope: str) -> str:
    """The user pressed Connect on the consent page: a new grant and a single-use code."""
    now = clock.now()
    grant = SandboxApp.objects.create(realm=realm, client_id=client_id, scope=scope, created_at=now)
    code = "AB11" + secrets.token_urlsafe(36)
    SandboxAuthCode.objects.create(
        code=code, grant=grant, redirect_uri=redirect_uri, expires_at=now + dt.timedelta(seconds=CODE_SECONDS)
    )
    return code


def _new_token(grant: SandboxApp, kind: str, now: dt.datetime) -> SandboxToken:
    if kind == SandboxToken.Kind.ACCESS:
        value = "eyJsYW5kYm94IjoiYWNjZXNzIn0." + secrets.token_urlsafe(48)
        expires = now + dt.timedelta(seconds=ACCESS_TOKEN_SECONDS)
    else:
        value = "RT1-" + secrets.token_urlsafe(40)
        expires = min(now + dt.timedelta(seconds=REFRESH_TOKEN_SECONDS), grant.created_at + HARD_EXPIRY)
    return SandboxToken.objects.create(token=value, kind=kind, grant=grant, expires_at=expires)


def _token_body(grant: SandboxApp, access: SandboxToken, refresh: SandboxToken, now, *, hard: bool) -> dict:
    body = {
        "token_type": "bearer",
        "expires_in": ACCESS_TOKEN_SECONDS,
        "refresh_token": refresh.token,
        "x_refresh_token_expires_in": max(0, int((refresh.expires_at - now).total_seconds())),
        "access_token": access.token,
    }
    if hard:
        body["x_refresh_token_hard_expires_in"] = max(0, int((grant.created_at + HARD_EXPIRY - now).total_seconds()))
    return body


@transaction.atomic
def exchange_code(
    *, client_id: str, code: str, redirect_uri: str, include_hard_expiry: bool = False, issuer: str = ""
) -> tuple[dict, str]:
    """grant_type=authorization_code. Returns (body, realm id)."""
    now = clock.now()
    row = SandboxAuthCode.objects.select_for_update().select_related("grant__realm").filter(code=code).first()
    if row is None or row.used or row.expires_at <= now or row.grant.client_id != client_id:
        raise invalid_grant()
    if row.redirect_uri != redirect_uri or redirect_uri not in registered_redirect_uris():
        raise OAuthError("invalid_grant", "Redirect URI mismatch")
    row.used = True
    row.save(update_fields=["used"])
    access = _new_token(row.grant, SandboxToken.Kind.ACCESS, now)
    refresh = _new_token(row.grant, SandboxToken.Kind.REFRESH, now)
    body = _token_body(row.grant, access, refresh, now, hard=include_hard_expiry)
    if "openid" in row.grant.scope.split() and issuer:
        # OpenID Connect: the code exchange also answers an id_token (reference §1.4).
        body["id_token"] = id_token(grant=row.grant, client_id=client_id, issuer=issuer, now=now)
    return body, row.grant.realm.realm_id


def _signing_key() -> SandboxSigningKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    key = SandboxSigningKey.objects.order_by("id").first()
    if key is None:
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = private.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ).decode()
        SandboxSigningKey.objects.get_or_create(
            kid="sandbox-" + secrets.token_hex(8), defaults={"private_pem": pem, "created_at": clock.now()}
        )
        key = SandboxSigningKey.objects.earliest("id")
    return key


def id_token(*, grant: SandboxApp, client_id: str, issuer: str, now: dt.datetime) -> str:
    """An RS256 id_token with Intuit's claims (iss, sub, aud[], realmid, auth_time, exp, iat)."""
    import jwt

    key = _signing_key()
    issued = int(now.timestamp())
    claims = {
        "iss": issuer,
        "sub": SANDBOX_USER_SUB,
        "aud": [client_id],
        "realmid": grant.realm.realm_id,
        "auth_time": int(grant.created_at.timestamp()),
        "iat": issued,
        "exp": issued + ID_TOKEN_SECONDS,
    }
    return jwt.encode(claims, key.private_pem, algorithm="RS256", headers={"kid": key.kid})


def jwks() -> dict:
    """The public signing key as a JWK set."""
    import json as _json

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from jwt.algorithms import RSAAlgorithm

    key = _signing_key()
    private = serialization.load_pem_private_key(key.private_pem.encode(), password=None)
    if not isinstance(private, rsa.RSAPrivateKey):
        raise TypeError("the sandbox signs with RSA keys only")
    jwk = _json.loads(RSAAlgorithm.to_jwk(private.public_key()))
    return {"keys": [{**jwk, "kid": key.kid, "use": "sig", "alg": "RS256"}]}


@transaction.atomic
def refresh(*, client_id: str, refresh_token: str, include_hard_expiry: bool = False) -> tuple[dict, str]:
    """grant_type=refresh_token with rotation.

    Every refresh issues a new refresh token R2 for R1. R1 keeps working until R2 is used once
    (so a lost response can be retried), then R1 fails with invalid_grant."""
    now = clock.now()
    row = (
        SandboxToken.objects.select_for_update()
        .select_related("grant__realm")
        .filter(token=refresh_token, kind=SandboxToken.Kind.REFRESH)
        .first()
    )
    if row is None or row.invalidated or row.grant.revoked or row.expires_at <= now or row.grant.client_id != client_id:
        raise invalid_grant()
    # Using R2 retires its parent R1.
    SandboxToken.objects.filter(replaced_by=row).update(invalidated=True)
    row.used = True
    new_refresh = _new_token(row.grant, SandboxToken.Kind.REFRESH, now)
    if row.replaced_by_id:
        # R1 used again before R2: the previous R2 is superseded too.
        SandboxToken.objects.filter(pk=row.replaced_by_id).update(invalidated=True)
    row.replaced_by = new_refresh
    row.save(update_fields=["used", "replaced_by"])
    access = _new_token(row.grant, SandboxToken.Kind.ACCESS, now)
    return _token_body(row.grant, access, new_refresh, now, hard=include_hard_expiry), row.grant.realm.realm_id


def revoke(*, client_id: str, token: str) -> str:
    """Revoke the grant the token belongs to (access or refresh): the app is disconnected."""
    row = SandboxToken.objects.select_related("grant__realm").filter(token=token).first()
    if row is None or row.grant.client_id != client_id:
        return ""
    SandboxApp.objects.filter(pk=row.grant_id).update(revoked=True)
    return row.grant.realm.realm_id


def disconnect_realm(*, realm_id: str) -> int:
    """As if the user pressed Disconnect inside QuickBooks: every grant of the realm dies."""
    return SandboxApp.objects.filter(realm__realm_id=realm_id, revoked=False).update(revoked=True)


def expire_access_tokens(*, realm_id: str | None = None) -> int:
    """Make current access tokens expired (tests of 401 → refresh → retry)."""
    qs = SandboxToken.objects.filter(kind=SandboxToken.Kind.ACCESS)
    if realm_id:
        qs = qs.filter(grant__realm__realm_id=realm_id)
    return qs.update(expires_at=clock.now() - dt.timedelta(seconds=1))


def authenticate_bearer(*, authorization: str, realm_id: str) -> tuple[int, str]:
    """(HTTP status, detail) for an API call's Authorization header: 200 when it may go on.

    401 (code 3200) for a missing, unknown, revoked or expired token; 403 (code 3100,
    ApplicationAuthorizationFailed) for a valid token used on another realm."""
    if not authorization.lower().startswith("bearer "):
        return 401, "Malformed bearer token: too short or too long"
    value = authorization[7:].strip()
    row = SandboxToken.objects.select_related("grant__realm").filter(token=value, kind="access").first()
    if row is None or row.grant.revoked:
        return 401, "Token invalid: " + value[:6] + "..."
    if row.expires_at <= clock.now():
        return 401, "Token expired: " + value[:6] + "..."
    if row.grant.realm.realm_id != realm_id:
        return 403, ""
    return 200, ""
