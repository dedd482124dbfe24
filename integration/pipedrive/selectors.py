"""Read-side helpers for Pipedrive installations."""

from __future__ import annotations

from django.db.models import QuerySet

from integration.pipedrive.models import PipedriveInstallation
from tenants.models import Company, Membership
from tenants.scoping import company_scope


def installations_of_company(*, company: Company) -> QuerySet[PipedriveInstallation]:
    with company_scope(company):
        return PipedriveInstallation.objects.filter(company=company).select_related("company", "membership")


def installation_for(*, company: Company, membership: Membership | None = None) -> PipedriveInstallation | None:
    """The installation to read Pipedrive with on behalf of `membership`: their own.

    Pipedrive's authorisation is per user ("authorization is user-based, not company-based",
    docs/app-sharing-adding-apps-to-multiple-users) and a token sees what its user may see, so another
    member's token could show this member deals hidden from them. Only when the company turned on
    `pipedrive_token_sharing` does a member without an installation read with an admin's (else the most
    recent one). Without a member (background work for the company) any installation is used.
    """
    installations = installations_of_company(company=company)
    if membership is not None:
        own = installations.filter(membership=membership).first()
        if own is not None or not company.pipedrive_token_sharing:
            return own
    return installations.order_by("-membership__is_admin", "-installed_at", "-id").first()
