"""The installation's access token, refreshed single-flight: a row lock per installation, and the
row re-read after locking, so N concurrent callers cause one refresh (the token lives 60 minutes)."""

from __future__ import annotations

from django.utils import timezone

from integration.errors import AuthRevoked
from integration.locking import serialized
from integration.pipedrive import oauth
from integration.pipedrive.errors import SERVICE
from integration.pipedrive.models import PipedriveInstallation


def _copy_tokens(source: PipedriveInstallation, target: PipedriveInstallation) -> None:
    for name in ("access_token", "refresh_token", "access_expires_at", "scopes", "api_domain", "refreshed_at"):
        setattr(target, name, getattr(source, name))


def access_token(*, installation: PipedriveInstallation, rejected_token: str | None = None) -> str:
    """A usable access token for `installation`, refreshing it when expired (or when Pipedrive just
    rejected `rejected_token`). Refreshes are serialized per installation by a row lock, and the row
    is re-read after locking: whoever waited uses the token the first caller stored.

    Raises AuthRevoked when the refresh token is dead (the user must reinstall).
    """
    if rejected_token is None and installation.access_token_is_fresh():
        return installation.access_token
    with serialized(f"pipedrive-installation-{installation.pk}"):
        # The installation we already hold, re-read under lock (pk and company both pinned).
        locked = (
            PipedriveInstallation.all_companies.select_for_update()
            .select_related("company")
            .filter(pk=installation.pk, company_id=installation.company_id)
            .first()
        )
        if locked is None:  # uninstalled meanwhile
            raise AuthRevoked("The Pipedrive installation was removed", service=SERVICE, code="uninstalled")
        someone_refreshed = rejected_token is not None and locked.access_token != rejected_token
        if locked.access_token_is_fresh() and (rejected_token is None or someone_refreshed):
            _copy_tokens(locked, installation)
            return locked.access_token
        tokens = oauth.refresh_access_token(refresh_token=locked.refresh_token, company=locked.company)
        locked.access_token = tokens.access_token
        if tokens.refresh_token:  # store whatever comes back, even though Pipedrive does not rotate it
            locked.refresh_token = tokens.refresh_token
        locked.access_expires_at = tokens.expires_at
        if tokens.scope:
            locked.scopes = tokens.scope
        locked.api_domain = tokens.api_domain or locked.api_domain
        locked.refreshed_at = timezone.now()
        locked.save(
            update_fields=["access_token", "refresh_token", "access_expires_at", "scopes", "api_domain", "refreshed_at"]
        )
        _copy_tokens(locked, installation)
        return locked.access_token
