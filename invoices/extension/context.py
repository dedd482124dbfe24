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
    actor: Membership | None  # None only when the owner left and Pipedrive named nobody
    pipedrive_user_id: int | None


def _int_param(request: HttpRequest, *names: str) -> int | None:
    for name in names:
        value = request.headers.get(name) if name.startswith("X-") else request.GET.get(name)
        if value not in (None, ""):
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
    unknown link. A userId that is no member of the company is refused. Without a userId the
    connection owner acts (recorded as the actor in the invoice history).
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
    if user_id is None:
        actor = connection.owner
    else:
        actor = (
            Membership.all_companies.select_related("user", "company")
            .filter(company=company, pipedrive_user_id=user_id)
            .first()
        )
        if actor is None:
            raise ExtensionError(
                403,
                "unknown_user",
                _("This Pipedrive user has not installed the app yet. Install it from the Marketplace first."),
            )
    return LinkContext(connection=connection, company=company, actor=actor, pipedrive_user_id=user_id)
