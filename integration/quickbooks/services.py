"""The QuickBooks connection: connect (OAuth), tokens (serialized refresh), disconnect, and a client.

Public entry points:
- `connect_start(*, company, membership)` → Intuit's consent URL (or ConnectRefused)
- `connect_callback(*, user, code, realm_id, state, error="")` → ConnectResult
- `client_for(*, connection)` → QboClient for that realm
- `connection_disconnect(*, connection, actor)` (actor None = the system, e.g. Pipedrive uninstall)
- `connection_mark_synced(*, connection, cursor=None)`
"""

from __future__ import annotations

import hashlib
import logging
import zoneinfo
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from integration.calllog import call_recorder
from integration.errors import IntegrationError
from integration.http import make_session
from integration.pipedrive import services as pipedrive_services
from integration.quickbooks import oauth, signals
from integration.quickbooks.client import QboClient, StaticToken
from integration.quickbooks.models import OAuthState, QuickBooksConnection
from integration.quickbooks.tokens import ConnectionTokens, token_fields
from tenants.models import Company, Membership, User
from tenants.scoping import company_scope

logger = logging.getLogger(__name__)

STATE_TTL = timedelta(minutes=10)

Status = QuickBooksConnection.Status


class ConnectRefused(Exception):
    """The connect flow cannot go on; `message` is for the user."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class DisconnectForbidden(PermissionError):
    """Only the connection owner or a company admin may disconnect."""


@dataclass
class ConnectResult:
    connection: QuickBooksConnection
    reconnected: bool
    warnings: list[str] = field(default_factory=list)
    # Pipedrive answers the link registration with a page to send the user to (invoicing-extension.md).
    redirect_url: str = ""


# -- who holds it -----------------------------------------------------------------------------


def _holder_name(connection: QuickBooksConnection) -> str:
    owner = connection.owner
    if owner is None:
        return _("a former member")
    return owner.user.display_name


def _since(connection: QuickBooksConnection) -> str:
    moment = connection.connected_at or connection.created_at
    return formats.date_format(timezone.localtime(moment), "DATE_FORMAT") if moment else ""


def _may_manage(connection: QuickBooksConnection, membership: Membership) -> bool:
    return membership.is_admin or connection.owner_id == membership.pk


def _live_connection(company: Company, *, lock: bool = False) -> QuickBooksConnection | None:
    with company_scope(company):
        queryset = QuickBooksConnection.objects.filter(company=company, status__in=QuickBooksConnection.LIVE_STATUSES)
        if lock:
            # Lock only the connection row (owner is a nullable join).
            queryset = queryset.select_for_update(of=("self",))
        return queryset.select_related("owner__user").first()


def _refusal(connection: QuickBooksConnection) -> str:
    if connection.status == Status.NEEDS_RECONNECT:
        return _(
            "QuickBooks (%(qbo)s) needs reconnecting. Only %(holder)s, who connected it on %(since)s, "
            "or a company admin can reconnect it."
        ) % {
            "qbo": connection.company_name or connection.realm_id,
            "holder": _holder_name(connection),
            "since": _since(connection),
        }
    return _(
        "QuickBooks (%(qbo)s) is already connected by %(holder)s since %(since)s. "
        "Ask them or a company admin to disconnect it first."
    ) % {
        "qbo": connection.company_name or connection.realm_id,
        "holder": _holder_name(connection),
        "since": _since(connection),
    }


# -- connect ----------------------------------------------------------------------------------


def _state_hash(state: str) -> str:
    return hashlib.sha256(state.encode()).hexdigest()


def redirect_uri() -> str:
    return f"{settings.PUBLIC_BASE_URL}{reverse('quickbooks:callback')}"


def connect_start(*, company: Company, membership: Membership) -> str:
    """Check that `membership` may connect, remember a single-use state, and return Intuit's consent URL."""
    existing = _live_connection(company)
    if existing is not None and (existing.status == Status.ACTIVE or not _may_manage(existing, membership)):
        raise ConnectRefused(_refusal(existing))
    # requests-oauthlib draws the state; we keep only its hash, single use, for this company and user.
    url, state = oauth.authorization_url(redirect_uri=redirect_uri())
    with company_scope(company):
        OAuthState.objects.filter(company=company, expires_at__lt=timezone.now()).delete()
        OAuthState.objects.create(
            company=company,
            user=membership.user,
            state_hash=_state_hash(state),
            expires_at=timezone.now() + STATE_TTL,
        )
    return url


def _state_consume(*, state: str, user: User) -> OAuthState:
    """Use the state once: it must be ours, unexpired, unused and issued to this user."""
    now = timezone.now()
    if not state:
        raise ConnectRefused(_("The QuickBooks sign-in came back without its security code. Please start again."))
    # UNSCOPED by design: the state itself tells which company the flow belongs to.
    rows = OAuthState.all_companies.filter(
        state_hash=_state_hash(state), user=user, used_at__isnull=True, expires_at__gt=now
    ).update(used_at=now)
    if rows != 1:
        raise ConnectRefused(_("This QuickBooks sign-in link has expired or was already used. Please connect again."))
    return OAuthState.all_companies.select_related("company").get(state_hash=_state_hash(state))


def company_profile(*, info: dict, preferences: dict) -> dict:
    """The connection's company cache from CompanyInfo and Preferences (reference §3.8, §8.4)."""
    country = str(info.get("Country") or (info.get("CompanyAddr") or {}).get("Country") or "").strip().upper()
    if country in {"USA", "UNITED STATES"}:
        country = "US"
    currency_prefs = preferences.get("CurrencyPrefs") or {}
    home = str((currency_prefs.get("HomeCurrency") or {}).get("value") or "").upper()
    tax_prefs = preferences.get("TaxPrefs") or {}
    tz = str(info.get("DefaultTimeZone") or "")
    try:
        zoneinfo.ZoneInfo(tz) if tz else None
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = ""
    return {
        "company_name": str(info.get("CompanyName") or info.get("LegalName") or "")[:255],
        "country": country[:2],
        "home_currency": home[:3] or ("USD" if country == "US" else ""),
        "multicurrency_enabled": bool(currency_prefs.get("MultiCurrencyEnabled")),
        "tax_model": QuickBooksConnection.TaxModel.US if country == "US" else QuickBooksConnection.TaxModel.GLOBAL,
        "using_sales_tax": bool(tax_prefs.get("UsingSalesTax")),
        "timezone": tz,
    }


def _revoke_quietly(token: str, *, company_id: int, realm_id: str) -> None:
    # Revoking disconnects our app from the whole realm: not while another company still uses it.
    others = QuickBooksConnection.all_companies.filter(
        realm_id=realm_id, status__in=QuickBooksConnection.LIVE_STATUSES
    ).exclude(company_id=company_id)
    if others.exists():
        logger.info("QuickBooks realm %s is still connected to another company: token not revoked", realm_id)
        return
    try:
        oauth.revoke(token=token, recorder=call_recorder(company_id=company_id))
    except IntegrationError:
        logger.warning("could not revoke a QuickBooks token of company %s", company_id, exc_info=True)


def connect_callback(*, user: User, code: str, realm_id: str, state: str, error: str = "") -> ConnectResult:
    """Finish the connect flow: check the state, exchange the code, read the company, store the connection."""
    oauth_state = _state_consume(state=state, user=user)
    company = oauth_state.company
    with company_scope(company):
        membership = Membership.objects.filter(company=company, user=user).first()
    if membership is None:
        raise ConnectRefused(_("You are no longer a member of this company."))
    if error:
        if error == "access_denied":
            raise ConnectRefused(_("QuickBooks was not connected: access was declined on Intuit's page."))
        raise ConnectRefused(_("Intuit could not connect QuickBooks (%s). Please try again.") % error[:100])
    if not code or not realm_id or not realm_id.isdigit():
        raise ConnectRefused(_("Intuit's answer was incomplete (no code or company id). Please try again."))

    recorder = call_recorder(company_id=company.pk)
    # Intuit: "Only send one request to exchange the authorization code" (reference §1.5).
    try:
        tokens = oauth.exchange_code(code=code, redirect_uri=redirect_uri(), recorder=recorder)
    except IntegrationError as exc:
        logger.warning("QuickBooks code exchange failed for company %s: %s", company.pk, exc)
        raise ConnectRefused(_("Intuit did not accept the sign-in (%s). Please connect again.") % exc.message) from exc

    session = make_session(service="quickbooks", recorder=recorder)
    try:
        client = QboClient(realm_id=realm_id, tokens=StaticToken(tokens.access_token), session=session)
        profile = company_profile(info=client.company_info(), preferences=client.preferences())
    except IntegrationError as exc:
        _revoke_quietly(tokens.refresh_token, company_id=company.pk, realm_id=realm_id)
        raise ConnectRefused(_("Could not read the QuickBooks company: %s") % exc.message) from exc
    finally:
        session.close()

    try:
        connection, reconnected = _connection_store(
            company=company, membership=membership, realm_id=realm_id, tokens=tokens, profile=profile
        )
    except ConnectRefused:
        # Revoking disconnects our app from that realm, so never do it for the realm another
        # connection of this company still uses.
        holder = _live_connection(company)
        if holder is None or holder.realm_id != realm_id:
            _revoke_quietly(tokens.refresh_token, company_id=company.pk, realm_id=realm_id)
        raise

    result = ConnectResult(connection=connection, reconnected=reconnected)
    # The money loop (invoices) sets up the deal fields the app owns.
    signals.connection_connected.send(
        sender=QuickBooksConnection, connection=connection, company=company, reconnected=reconnected
    )
    linked, result.redirect_url = _register_invoicing_link(connection)
    if not linked:
        result.warnings.append(
            _(
                "QuickBooks is connected, but Pipedrive's invoice tab could not be linked yet. "
                'Invoices still work from the deal panel; use "Link Pipedrive\'s invoice tab" below to try again.'
            )
        )
    return result


def _connection_store(
    *, company: Company, membership: Membership, realm_id: str, tokens: oauth.TokenSet, profile: dict
) -> tuple[QuickBooksConnection, bool]:
    now = timezone.now()
    try:
        with transaction.atomic(), company_scope(company):
            # Serialize competing connects of one company on its row.
            Company.objects.select_for_update().filter(pk=company.pk).first()
            live = _live_connection(company, lock=True)
            if live is not None:
                if live.realm_id != realm_id:
                    if live.status == Status.ACTIVE:
                        raise ConnectRefused(_refusal(live))
                    raise ConnectRefused(
                        _(
                            "This company's QuickBooks connection is to %(qbo)s. Reconnect to that same "
                            "QuickBooks company, or disconnect it first to connect another one."
                        )
                        % {"qbo": live.company_name or live.realm_id}
                    )
                if live.status == Status.ACTIVE and live.owner_id != membership.pk:
                    raise ConnectRefused(_refusal(live))
                if not _may_manage(live, membership):
                    raise ConnectRefused(_refusal(live))
            connection = QuickBooksConnection.objects.filter(company=company, realm_id=realm_id).first()
            reconnected = connection is not None
            if connection is None:
                connection = QuickBooksConnection(company=company, realm_id=realm_id, connected_at=now)
            elif connection.status == Status.DISCONNECTED:
                connection.connected_at = now
            for name, value in {**token_fields(tokens), **profile}.items():
                setattr(connection, name, value)
            # Whoever supplied the tokens now holds the connection.
            connection.owner = membership
            connection.status = Status.ACTIVE
            connection.needs_reconnect_since = None
            connection.disconnected_at = None
            connection.save()
            return connection, reconnected
    except IntegrityError as exc:
        # Another member's connect committed between our check and our insert.
        holder = _live_connection(company)
        raise ConnectRefused(_refusal(holder) if holder else _("Please try connecting again.")) from exc


def invoicing_link_retry(*, connection: QuickBooksConnection, actor: Membership) -> bool:
    """Try registering the invoicing link again (owner or admin); True when Pipedrive accepted it."""
    if actor.company_id != connection.company_id or not _may_manage(connection, actor):
        raise DisconnectForbidden(
            _("Only %(holder)s or a company admin can change the QuickBooks connection.")
            % {"holder": _holder_name(connection)}
        )
    return _register_invoicing_link(connection)[0]


def _register_invoicing_link(connection: QuickBooksConnection) -> tuple[bool, str]:
    """Tell Pipedrive's invoicing extension about this connection; never fails the connect.

    Returns (registered, the http(s) URL Pipedrive wants the user sent to, or "").
    """
    try:
        answer = pipedrive_services.invoicing_link_register(
            company=connection.company,
            link_id=connection.link_id,
            org_id=str(connection.realm_id),
            membership=connection.owner,
        )
    except Exception:
        logger.exception("registering the invoicing link with Pipedrive failed for company %s", connection.company_id)
        return False, ""
    QuickBooksConnection.all_companies.filter(pk=connection.pk).update(link_registered_at=timezone.now())
    connection.link_registered_at = timezone.now()
    redirect = answer if isinstance(answer, str) and answer.startswith(("https://", "http://")) else ""
    return True, redirect


def client_for(*, connection: QuickBooksConnection) -> QboClient:
    """A client for the connection's realm; calls are logged to ApiCall and rate limited per realm."""
    session = make_session(service="quickbooks", recorder=call_recorder(company_id=connection.company_id))
    return QboClient(realm_id=connection.realm_id, tokens=ConnectionTokens(connection), session=session)


# -- disconnect and bookkeeping ----------------------------------------------------------------


def connection_disconnect(*, connection: QuickBooksConnection, actor: Membership | None) -> QuickBooksConnection:
    """Revoke at Intuit (best effort), delete the tokens, mark disconnected.

    `actor` must be the owner or a company admin; None means the system (e.g. Pipedrive uninstall).
    """
    if actor is not None and (actor.company_id != connection.company_id or not _may_manage(connection, actor)):
        raise DisconnectForbidden(
            _("Only %(holder)s or a company admin can disconnect QuickBooks.") % {"holder": _holder_name(connection)}
        )
    with company_scope(connection.company), transaction.atomic():
        row = QuickBooksConnection.objects.select_for_update().get(pk=connection.pk)
        token = row.refresh_token or row.access_token
        row.access_token = ""
        row.refresh_token = ""
        row.access_expires_at = None
        row.refresh_expires_at = None
        row.refresh_hard_expires_at = None
        row.status = Status.DISCONNECTED
        row.disconnected_at = timezone.now()
        row.save()
    if token:
        # After the commit: the tokens are gone from our side whatever Intuit answers.
        _revoke_quietly(token, company_id=connection.company_id, realm_id=row.realm_id)
    logger.info("QuickBooks connection %s of company %s disconnected", row.pk, row.company_id)
    return row


def connection_mark_synced(*, connection: QuickBooksConnection, cursor: datetime | None = None) -> None:
    """Record a finished sync (and the CDC cursor to continue from)."""
    fields = {"last_sync_at": timezone.now()}
    if cursor is not None:
        fields["cdc_cursor"] = cursor
    with company_scope(connection.company):
        QuickBooksConnection.objects.filter(pk=connection.pk).update(**fields)


def on_company_uninstalled(*, company: Company, **_kwargs) -> None:
    """Pipedrive uninstalled the company: disconnect its QuickBooks connections (revoke, delete tokens)."""
    with company_scope(company):
        connections = list(QuickBooksConnection.objects.filter(company=company))
    for connection in connections:
        # Active or needing a reconnect: both still hold tokens and a link to the company's books.
        if connection.status not in (QuickBooksConnection.Status.ACTIVE, QuickBooksConnection.Status.NEEDS_RECONNECT):
            continue
        try:
            with company_scope(company):
                connection_disconnect(connection=connection, actor=None)
        except Exception:  # one broken disconnect must not keep the company half uninstalled
            logger.exception("QuickBooks disconnect failed while uninstalling company %s", company.pk)
