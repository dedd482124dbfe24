"""Install, uninstall and invoicing-link services for the Pipedrive side of the app.

Flows (../shared/DESIGN.md §4): the install callback exchanges the code, reads users/me and
calls `install_complete`; the uninstall DELETE calls `installation_uninstall`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from integration.errors import IntegrationError, PermanentError
from integration.pipedrive import client, oauth, signals
from integration.pipedrive.allauth_provider.provider import PipedriveProvider, account_extra_data, social_uid
from integration.pipedrive.models import PipedriveInstallation
from integration.pipedrive.selectors import installations_of_company
from integration.pipedrive.shapes import CurrentUser
from tenants.models import Company, Membership
from tenants.scoping import company_scope
from tenants.services import company_upsert, membership_upsert

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class InstallResult:
    membership: Membership
    installation: PipedriveInstallation
    me: CurrentUser
    created: bool


def install_from_code(*, code: str, redirect_uri: str) -> InstallResult:
    """Exchange an authorization code and record the installation. Nothing is written when the
    exchange or users/me fails (AuthRevoked for an expired or replayed code)."""
    tokens = oauth.exchange_code(code=code, redirect_uri=redirect_uri)
    me = client.users_me_with_token(access_token=tokens.access_token, api_domain=tokens.api_domain)
    return install_complete(tokens=tokens, me=me)


@transaction.atomic
def install_complete(*, tokens: oauth.TokenResponse, me: CurrentUser) -> InstallResult:
    """Upsert the Company, the User and Membership (admin flag from Pipedrive), the installation with
    its encrypted tokens, and the allauth SocialAccount that lets the user sign in. Idempotent: a
    reinstall updates the same rows."""
    from allauth.socialaccount.models import SocialAccount

    company = company_upsert(
        pipedrive_company_id=me.company_id,
        name=me.company_name or me.company_domain or str(me.company_id),
        domain=me.company_domain,
        api_domain=tokens.api_domain,
    )
    membership = membership_upsert(
        company=company,
        email=me.email,
        name=me.name,
        pipedrive_user_id=me.id,
        is_admin=me.is_admin,
        pipedrive_language="-".join(part for part in (me.language, me.language_country) if part),
        pipedrive_locale=me.locale,
    )
    with company_scope(company):
        installation, created = PipedriveInstallation.objects.update_or_create(
            company=company,
            pipedrive_user_id=me.id,
            defaults={
                "membership": membership,
                "access_token": tokens.access_token,
                "refresh_token": tokens.refresh_token,
                "access_expires_at": tokens.expires_at,
                "scopes": tokens.scope,
                "api_domain": tokens.api_domain,
                "installed_at": timezone.now(),
            },
        )
    # The allauth identity of this (company, user): sign-in goes through allauth's social login flow.
    SocialAccount.objects.update_or_create(
        provider=PipedriveProvider.id,
        uid=social_uid(company_id=me.company_id, user_id=me.id),
        defaults={"user": membership.user, "extra_data": account_extra_data(me.raw)},
    )
    logger.info("pipedrive install: company %s user %s (%s)", me.company_id, me.id, "new" if created else "reinstall")
    return InstallResult(membership=membership, installation=installation, me=me, created=created)


@dataclass(frozen=True)
class UninstallResult:
    company: Company | None
    removed: bool
    company_uninstalled: bool
    revoke_failed: bool = False


def installation_uninstall(*, pipedrive_company_id: int, pipedrive_user_id: int) -> UninstallResult:
    """Pipedrive told us a user uninstalled: revoke and delete that user's tokens. When the company has
    no installation left it is marked uninstalled and its QuickBooks connection is disconnected.
    Invoices stay (support may need them). Idempotent: an unknown or repeated uninstall changes nothing.
    """
    company = Company.objects.filter(pipedrive_company_id=pipedrive_company_id).first()
    if company is None:
        return UninstallResult(company=None, removed=False, company_uninstalled=False)
    revoke_failed = False
    with company_scope(company):
        installation = PipedriveInstallation.objects.filter(
            company=company, pipedrive_user_id=pipedrive_user_id
        ).first()
        if installation is not None:
            try:
                # Pipedrive already dropped the grant on its side; revoking again is harmless and covers
                # the case where the DELETE was a replay and the grant is somehow still alive.
                oauth.revoke_token(token=installation.refresh_token, company=company)
            except IntegrationError as exc:
                # Never keep tokens because revoke failed: the tokens are deleted either way.
                revoke_failed = True
                logger.warning("pipedrive revoke failed on uninstall of company %s: %s", company.pk, exc.message)
            installation.delete()
        remaining = PipedriveInstallation.objects.filter(company=company).exists()
    company_uninstalled = False
    if not remaining and company.status != Company.Status.UNINSTALLED:
        company_mark_uninstalled(company=company)
        company_uninstalled = True
    return UninstallResult(
        company=company,
        removed=installation is not None,
        company_uninstalled=company_uninstalled,
        revoke_failed=revoke_failed,
    )


def company_mark_uninstalled(*, company: Company) -> None:
    """The last installation is gone: mark the company uninstalled; receivers of `company_uninstalled`
    (the QuickBooks app) disconnect what hangs off it."""
    with transaction.atomic():
        Company.objects.filter(pk=company.pk).update(status=Company.Status.UNINSTALLED, updated_at=timezone.now())
        company.status = Company.Status.UNINSTALLED
    signals.company_uninstalled.send(sender=Company, company=company)


def invoicing_link_register(
    *, company: Company, link_id: UUID | str, org_id: str, membership: Membership | None
) -> str:
    """Register the company's invoicing link with Pipedrive (`POST /api/v1/invoice/user/provider`) and
    return the `redirectUrl` to send the user to.

    `org_id` is the provider-side organization (the QuickBooks realm id). The call carries the connecting
    user's own authorisation (`membership`, the owner of the QuickBooks connection) and never another member's:
    Pipedrive's page calls the linkId "the unique identifier of the user in the Invoice app" and asks
    for "Authorization: Bearer <access_token>" of the installation being connected
    (https://pipedrive.readme.io/docs/app-extensions-invoicing, "Finalizing the connection").
    Raises PermanentError when that user has no installation, and the client's typed errors for
    Pipedrive failures.
    """
    installation = (
        installations_of_company(company=company).filter(membership=membership).first()
        if membership is not None
        else None
    )
    if installation is None:
        raise PermanentError(
            _("The user connecting QuickBooks has not installed the Pipedrive app"),
            service="pipedrive",
            code="not_installed",
        )
    return client.invoicing_provider_register(
        installation=installation,
        link_id=str(link_id),
        org_id=org_id,
        marketplace_client_id=settings.PIPEDRIVE_CLIENT_ID,
    )
