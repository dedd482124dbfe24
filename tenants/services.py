"""Write-side services for companies and memberships."""

from __future__ import annotations

from django.db import transaction

from tenants.models import Company, FieldMapping, Membership, User
from tenants.scoping import company_scope
from tenants.selectors import ACTIVE_MEMBERSHIP_SESSION_KEY


def membership_activate(*, request, membership: Membership) -> None:
    """Make `membership` the signed-in user's active company for this session."""
    if membership.user_id != request.user.pk:
        raise PermissionError("a user can only activate their own membership")
    request.session[ACTIVE_MEMBERSHIP_SESSION_KEY] = membership.pk


@transaction.atomic
def company_upsert(*, pipedrive_company_id: int, name: str, domain: str = "", api_domain: str = "") -> Company:
    """Create or update the company of a Pipedrive install, with its default field mapping."""
    company, _created = Company.objects.update_or_create(
        pipedrive_company_id=pipedrive_company_id,
        defaults={"name": name, "domain": domain, "api_domain": api_domain, "status": Company.Status.ACTIVE},
    )
    with company_scope(company):
        FieldMapping.objects.get_or_create(company=company)
    return company


@transaction.atomic
def membership_upsert(*, company: Company, email: str, name: str, pipedrive_user_id: int, is_admin: bool) -> Membership:
    """Create or update a Pipedrive user's user account and seat in `company`."""
    user, created = User.objects.get_or_create(email=email.lower(), defaults={"name": name})
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    with company_scope(company):
        membership, _ = Membership.objects.update_or_create(
            company=company,
            pipedrive_user_id=pipedrive_user_id,
            defaults={"user": user, "is_admin": is_admin},
        )
    return membership


def company_settings_update(*, company: Company, invoice_visibility: str | None = None) -> Company:
    """Change company-wide settings chosen by an admin."""
    if invoice_visibility is not None:
        company.invoice_visibility = invoice_visibility
        company.save(update_fields=["invoice_visibility", "updated_at"])
    return company
