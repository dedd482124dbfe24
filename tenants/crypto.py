"""Symmetric encryption of secrets at rest (MultiFernet, keys from FIELD_ENCRYPTION_KEYS).

The first key encrypts; every key decrypts, so keys can be rotated: put a new key first,
run `manage.py rotate_encryption_keys`, then drop the old key.
"""

from __future__ import annotations

import functools

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.signals import setting_changed


class DecryptionError(Exception):
    """A stored secret could not be decrypted with any configured key."""


@functools.cache
def _multifernet(keys: tuple[str, ...]) -> MultiFernet:
    return MultiFernet([Fernet(key) for key in keys])


def multifernet() -> MultiFernet:
    return _multifernet(tuple(settings.FIELD_ENCRYPTION_KEYS))


def encrypt(plaintext: str) -> str:
    return multifernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return multifernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError(
            "a stored secret cannot be decrypted with FIELD_ENCRYPTION_KEYS (was a key removed?)"
        ) from exc


def rotate(token: str) -> str:
    """Re-encrypt a token with the newest key (idempotent)."""
    try:
        return multifernet().rotate(token.encode()).decode()
    except InvalidToken as exc:
        raise DecryptionError("a stored secret cannot be decrypted with FIELD_ENCRYPTION_KEYS") from exc


def _clear_cache(*, setting: str, **kwargs) -> None:
    if setting == "FIELD_ENCRYPTION_KEYS":
        _multifernet.cache_clear()


setting_changed.connect(_clear_cache)
