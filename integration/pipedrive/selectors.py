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
    """The installation to call Pipedrive with for `company`: the member's own when given and present,
    else an admin's, else the most recently installed one (any user's token reads company data)."""
    installations = installations_of_company(company=company)
    if membership is not None:
        own = installations.filter(membership=membership).first()
        if own is not None:
            return own
    return installations.order_by("-membership__is_admin", "-installed_at", "-id").first()
