"""The connection's access token: read it, or refresh it serialized per connection (row lock, re-read
after locking, so N concurrent callers cause one refresh at Intuit); invalid_grant or a dead refresh
token marks the connection needs_reconnect. `ConnectionTokens` is the client's token source."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone
from django.utils.translation import gettext as _

from integration.calllog import call_recorder
from integration.errors import AuthRevoked
from integration.locking import serialized
from integration.quickbooks import oauth
from integration.quickbooks.models import QuickBooksConnection
from tenants.scoping import company_scope

logger = logging.getLogger(__name__)

# Refresh a little before expiry so a token does not die in flight.
ACCESS_TOKEN_MARGIN = timedelta(seconds=120)
Status = QuickBooksConnection.Status


def token_fields(tokens: oauth.TokenSet) -> dict:
    """The connection columns a new token set writes."""
    return {
        "access_token": tokens.access_token,
        "refresh_token": tokens.refresh_token,
        "access_expires_at": tokens.access_expires_at,
        "refresh_expires_at": tokens.refresh_expires_at,
        "refresh_hard_expires_at": tokens.refresh_hard_expires_at,
        "token_refreshed_at": timezone.now(),
    }


def _fresh(row: QuickBooksConnection, now: datetime) -> bool:
    return (
        bool(row.access_token)
        and row.access_expires_at is not None
        and row.access_expires_at > now + ACCESS_TOKEN_MARGIN
    )


def _revoked_error() -> AuthRevoked:
    return AuthRevoked(
        _("QuickBooks needs reconnecting: the stored authorization no longer works."), service="quickbooks"
    )


def access_token_get(*, connection: QuickBooksConnection) -> str:
    """A valid access token for the connection, refreshing it (once, for all callers) when due."""
    with company_scope(connection.company):
        row = QuickBooksConnection.objects.get(pk=connection.pk)
    if row.status != Status.ACTIVE:
        raise _revoked_error()
    if _fresh(row, timezone.now()):
        return row.access_token
    return access_token_refresh(connection=connection, stale=None)


def access_token_refresh(*, connection: QuickBooksConnection, stale: str | None) -> str:
    """Refresh serialized per connection: lock the row, re-read, and only call Intuit if nobody else did.

    `stale` is the token QBO just refused (401); None means "refresh if it is due".
    invalid_grant marks the connection needs_reconnect (committed) and raises AuthRevoked.
    """
    company = connection.company
    revoked = False
    with company_scope(company), serialized(f"qbo-connection-{connection.pk}"):
        row = QuickBooksConnection.objects.select_for_update().get(pk=connection.pk)
        if row.status != Status.ACTIVE:
            raise _revoked_error()
        now = timezone.now()
        if _fresh(row, now) and (stale is None or row.access_token != stale):
            return row.access_token  # someone refreshed while we waited for the lock
        dead = not row.refresh_token or any(
            moment is not None and moment <= now for moment in (row.refresh_expires_at, row.refresh_hard_expires_at)
        )
        if not dead:
            try:
                tokens = oauth.refresh(refresh_token=row.refresh_token, recorder=call_recorder(company_id=company.pk))
            except AuthRevoked:
                dead = True
            else:
                for name, value in token_fields(tokens).items():
                    setattr(row, name, value)
                row.save(update_fields=[*token_fields(tokens).keys(), "updated_at"])
                return row.access_token
        if dead:
            _mark_needs_reconnect(row, now=now)
            revoked = True
    if revoked:
        logger.warning("QuickBooks connection %s of company %s needs reconnecting", connection.pk, company.pk)
        raise _revoked_error()
    raise AssertionError("unreachable")  # pragma: no cover


def _mark_needs_reconnect(row: QuickBooksConnection, *, now: datetime) -> None:
    row.status = Status.NEEDS_RECONNECT
    row.needs_reconnect_since = now
    row.access_token = ""
    row.refresh_token = ""
    row.access_expires_at = None
    row.save(
        update_fields=[
            "status",
            "needs_reconnect_since",
            "access_token",
            "refresh_token",
            "access_expires_at",
            "updated_at",
        ]
    )


@dataclass
class ConnectionTokens:
    """TokenSource over a stored connection."""

    connection: QuickBooksConnection

    def get(self) -> str:
        return access_token_get(connection=self.connection)

    def refresh(self, *, stale: str) -> str:
        return access_token_refresh(connection=self.connection, stale=stale)

    def revoked(self) -> None:
        connection_mark_needs_reconnect(connection=self.connection)


def connection_mark_needs_reconnect(*, connection: QuickBooksConnection) -> None:
    """QBO no longer honours this connection (e.g. 403 code 120): the UI asks for a reconnect."""
    with company_scope(connection.company), serialized(f"qbo-connection-{connection.pk}"):
        row = QuickBooksConnection.objects.select_for_update().get(pk=connection.pk)
        if row.status == Status.ACTIVE:
            _mark_needs_reconnect(row, now=timezone.now())
            logger.warning("QuickBooks connection %s of company %s needs reconnecting", row.pk, row.company_id)
