"""Who is calling: the linkId names the QuickBooks connection (and so the company); the optional
Pipedrive user/company ids name the member acting."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.http import HttpRequest
from django.utils.translation import gettext as _

from integration.quickbooks.models import QuickBooksConnection
from invoices.extension.errors import ExtensionError, not_found
from tenants.models import Company, Membership


@dataclass(frozen=True)
class LinkContext:
    connection: QuickBooksConnection
    company: Company
    actor: Membership | None  # who is recorded as acting; None only when the owner left
    pipedrive_user_id: int | None
    # A Pipedrive user of the company who is no member here (never installed the app): served with
    # the rights of a member without admin rights, recorded as the link's user (see README "Who acts").
    guest: bool = False


def _int_param(request: HttpRequest, *names: str) -> int | None:
    for name in names:
        value = request.headers.get(name) if name.startswith("X-") else request.GET.get(name)
        if value:
            try:
                return int(value)
            except ValueError as exc:
                raise ExtensionError(400, "invalid", _("%(name)s must be a number.") % {"name": name}) from exc
    return None


def connection_for_link(link_id: str) -> QuickBooksConnection:
    """The connection a linkId names, whatever its company: the caller is Pipedrive (Basic auth),
    not a member, so the tenant comes from the link itself. Unknown → 404 in the envelope."""
    try:
        value = uuid.UUID(str(link_id))
    except ValueError as exc:
        raise not_found(_("This invoicing link is not known.")) from exc
    # UNSCOPED: resolving the tenant from the link is the one lookup that cannot run inside a scope.
    connection = (
        QuickBooksConnection.all_companies.select_related("company", "owner__user").filter(link_id=value).first()
    )
    if connection is None:
        raise not_found(_("This invoicing link is not known."))
    return connection


def link_context(request: HttpRequest, link_id: str, *, allow_disconnected: bool = False) -> LinkContext:
    """Resolve the link and the acting member.

    Pipedrive's reverse-API calls are app-level (Basic auth); the viewer is named by `userId` and
    `companyId` (query, as on every other extension request) or `X-Pipedrive-User-Id` /
    `X-Pipedrive-Company-Id`. A companyId that is not the link's company is answered like an
    unknown link. Pipedrive's contract names no viewer at all (only the link, "the unique identifier
    of the user in the Invoice app"): without a userId the connection owner acts. A userId of a member
    makes that member act; any other userId is served as a guest (see LinkContext.guest).
    """
    connection = connection_for_link(link_id)
    company = connection.company
    company_id = _int_param(request, "companyId", "X-Pipedrive-Company-Id")
    if company_id is not None and company_id != company.pipedrive_company_id:
        raise not_found(_("This invoicing link is not known."))
    gone = company.status != Company.Status.ACTIVE or connection.status == QuickBooksConnection.Status.DISCONNECTED
    if gone and not allow_disconnected:
        raise ExtensionError(
            409,
            "link_disconnected",
            _("QuickBooks was disconnected from this Pipedrive company. Connect it again in the app's settings."),
        )
    user_id = _int_param(request, "userId", "X-Pipedrive-User-Id")
    actor, guest = connection.owner, False
    if user_id is not None:
        member = (
            Membership.all_companies.select_related("user", "company")
            .filter(company=company, pipedrive_user_id=user_id)
            .first()
        )
        if member is not None:
            actor = member
        else:
            # Pipedrive vouches for the call (Basic auth) and shows the invoice tab to users who never
            # installed the app; the contract names only the link's user (linkId). Refusing would break
            # the tab for a legitimate colleague, so they act as the link, with a plain member's rights.
            guest = True
    return LinkContext(connection=connection, company=company, actor=actor, pipedrive_user_id=user_id, guest=guest)
