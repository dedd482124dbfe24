"""Read-side helpers for companies and memberships."""

from __future__ import annotations

from django.db.models import QuerySet

from tenants.models import Company, Membership, User

ACTIVE_MEMBERSHIP_SESSION_KEY = "active_membership_id"


def memberships_of_user(*, user: User) -> QuerySet[Membership]:
    """A user's own seats across companies (legitimately cross-company: it is the user's)."""
    return Membership.all_companies.filter(user=user, company__status=Company.Status.ACTIVE).select_related("company")


def membership_for_session(*, user: User, session) -> Membership | None:
    """The signed-in user's active seat: the one chosen at sign-in, else their first.

    A chosen seat that is gone (company uninstalled) gives no seat at all, never another company's.
    """
    if not user.is_authenticated:
        return None
    memberships = memberships_of_user(user=user)
    chosen = session.get(ACTIVE_MEMBERSHIP_SESSION_KEY)
    if chosen is not None:
        return memberships.filter(pk=chosen).first()
    return memberships.order_by("id").first()


def membership_list(*, company: Company) -> QuerySet[Membership]:
    return Membership.objects.filter(company=company).select_related("user").order_by("id")


def membership_get(*, company: Company, membership_id: int) -> Membership | None:
    return membership_list(company=company).filter(pk=membership_id).first()
