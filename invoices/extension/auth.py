"""HTTP Basic with the app's own OAuth client credentials: how Pipedrive authenticates every
reverse-API call (invoicing-extension.md, "Authentication of every call from Pipedrive")."""

from __future__ import annotations

import base64
import binascii
import hmac

from django.conf import settings
from django.views.decorators.debug import sensitive_variables


def _credentials(header: str) -> tuple[bytes, bytes] | None:
    scheme, _space, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded.strip():
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    user, sep, password = decoded.partition(b":")
    return (user, password) if sep else None


@sensitive_variables()  # our client secret and the caller's credentials
def is_pipedrive(header: str | None) -> bool:
    """True when `Authorization` carries our client id and secret. Both parts are compared in
    constant time, and both always, so timing tells nothing about which one was wrong."""
    expected_id = (settings.PIPEDRIVE_CLIENT_ID or "").encode()
    expected_secret = (settings.PIPEDRIVE_CLIENT_SECRET or "").encode()
    given = _credentials(header or "")
    if given is None or not expected_id or not expected_secret:
        return False
    id_ok = hmac.compare_digest(given[0], expected_id)
    secret_ok = hmac.compare_digest(given[1], expected_secret)
    return id_ok & secret_ok
