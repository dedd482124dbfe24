"""Reading configuration from the environment, failing loudly and by name.

Every setting comes from an environment variable (see `.env.example`). A bad or missing
value stops the process at start with an `ImproperlyConfigured` naming the variable,
instead of failing later in a request.
"""

from __future__ import annotations

import os
from urllib.parse import urlparse

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()

DATABASE_SCHEMES = {"postgres", "postgresql", "pgsql", "psql", "postgis", "sqlite"}
REDIS_SCHEMES = {"redis", "rediss"}


def require(name: str, why: str) -> str:
    """The value of `name`, or a start-up error explaining why it is needed."""
    value = os.environ.get(name, "").strip()
    if not value:
        raise ImproperlyConfigured(f"{name} is not set: {why}")
    return value


def database_config(name: str, default: str) -> dict:
    """Parse a DATABASE_URL-style variable; a malformed one names the variable."""
    raw = os.environ.get(name, "").strip() or default
    parsed = urlparse(raw)
    if parsed.scheme not in DATABASE_SCHEMES:
        raise ImproperlyConfigured(
            f"{name} is malformed: expected postgres://user:password@host:port/name or "
            f"sqlite:///path, got scheme {parsed.scheme or '(none)'!r}"
        )
    if parsed.scheme != "sqlite" and not (parsed.hostname and parsed.path.strip("/")):
        raise ImproperlyConfigured(f"{name} is malformed: it needs a host and a database name")
    try:
        config = environ.Env.db_url_config(raw)
    except Exception as exc:  # environ raises several types for bad URLs
        raise ImproperlyConfigured(f"{name} is malformed: {exc}") from exc
    return config


def redis_url(name: str) -> str:
    """A Redis URL or '' when unset; a malformed one names the variable."""
    raw = os.environ.get(name, "").strip()
    if raw and (urlparse(raw).scheme not in REDIS_SCHEMES or not urlparse(raw).hostname):
        raise ImproperlyConfigured(f"{name} is malformed: expected redis://host:port/db, got {raw!r}")
    return raw


def fernet_keys(name: str, default: list[str] | None) -> list[str]:
    """Comma-separated Fernet keys, newest first. Each must be a valid Fernet key."""
    from cryptography.fernet import Fernet

    raw = os.environ.get(name, "").strip()
    if not raw:
        if default is None:
            raise ImproperlyConfigured(
                f"{name} is not set: secrets (OAuth tokens) are encrypted with it. Generate one with "
                "`python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'`"
            )
        return default
    keys = [k.strip() for k in raw.split(",") if k.strip()]
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except Exception as exc:
            raise ImproperlyConfigured(
                f"{name} key #{position} is not a valid Fernet key (32 url-safe base64 bytes)"
            ) from exc
    return keys
