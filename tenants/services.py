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
def membership_upsert(
    *,
    company: Company,
    email: str,
    name: str,
    pipedrive_user_id: int,
    is_admin: bool,
    pipedrive_language: str = "",
    pipedrive_locale: str = "",
) -> Membership:
    """Create or update a Pipedrive user's account and seat in `company`.

    `pipedrive_language` ("uk-UA") and `pipedrive_locale` ("uk_UA") are what Pipedrive's users/me said
    this time: the seat follows them (the user may have changed their language in Pipedrive).

    The account belongs to the Pipedrive identity (company + user id), never to an email address:
    Pipedrive does not say whether an email was verified, so someone else's account with the same
    email is never reused. Such a user gets an account of its own under a placeholder login.
    """
    email = email.strip().lower()
    existing = (
        Membership.all_companies.select_related("user")
        .filter(company=company, pipedrive_user_id=pipedrive_user_id)
        .first()
    )
    if existing is not None:
        user = existing.user
        if name and user.name != name:
            user.name = name
            user.save(update_fields=["name"])
    else:
        login = (
            email
            if email and not User.objects.filter(email=email).exists()
            else (f"pipedrive-{company.pipedrive_company_id}-{pipedrive_user_id}@users.invalid")
        )
        user = User.objects.create(email=login, name=name or email)
        user.set_unusable_password()
        user.save(update_fields=["password"])
    with company_scope(company):
        membership, _ = Membership.objects.update_or_create(
            company=company,
            pipedrive_user_id=pipedrive_user_id,
            defaults={
                "user": user,
                "is_admin": is_admin,
                "pipedrive_language": pipedrive_language[:35],
                "pipedrive_locale": pipedrive_locale[:35],
            },
        )
    return membership


def company_settings_update(*, company: Company, invoice_visibility: str | None = None) -> Company:
    """Change company-wide settings chosen by an admin."""
    if invoice_visibility is not None:
        company.invoice_visibility = invoice_visibility
        company.save(update_fields=["invoice_visibility", "updated_at"])
    return company
