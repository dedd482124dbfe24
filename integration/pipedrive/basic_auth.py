"""Calls from Pipedrive to us (the reverse invoicing API, the uninstall callback) carry our app's own
OAuth client id and secret as HTTP Basic (invoicing-extension.md, "Authentication of every call from
Pipedrive"; reference §1.7)."""

from __future__ import annotations

import hmac

from django.conf import settings
from django.views.decorators.debug import sensitive_variables

from integration.http import basic_credentials


@sensitive_variables()  # our client secret and the caller's credentials
def is_pipedrive(header: str | None) -> bool:
    """True when `Authorization` carries our client id and secret. Both parts are compared in
    constant time, and both always, so timing tells nothing about which one was wrong."""
    expected_id = (settings.PIPEDRIVE_CLIENT_ID or "").encode()
    expected_secret = (settings.PIPEDRIVE_CLIENT_SECRET or "").encode()
    given = basic_credentials(header)
    if given is None or not expected_id or not expected_secret:
        return False
    id_ok = hmac.compare_digest(given[0].encode(), expected_id)
    secret_ok = hmac.compare_digest(given[1].encode(), expected_secret)
    return id_ok & secret_ok
