"""Thin typed client of the Pipedrive REST API, on one installation's `api_domain`.

- Every request goes to `{api_domain}/api/v2/...` (or `/api/v1/...` where no v2 twin exists):
  https://pipedrive.readme.io/docs/core-api-concepts-requests
- The access token lives 60 minutes; it is refreshed under a row lock on the installation, so
  N concurrent callers cause one refresh (the row is re-read after locking).
- v2 lists use cursor paging (`cursor`, `limit` ≤ 500, `additional_data.next_cursor`):
  https://pipedrive.readme.io/docs/core-api-concepts-pagination
- 429 waits what `Retry-After` / `x-ratelimit-reset` say (burst window: 2 s), a bounded number of
  times, then raises RateLimited; an exhausted daily budget raises at once:
  https://pipedrive.readme.io/docs/core-api-concepts-rate-limiting
- Errors are integration.errors types: TransientError (5xx, network), RateLimited, AuthRevoked
  (grant gone), NotFound, PermanentError (4xx).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict, cast

import requests
from django.utils import timezone

from integration.calllog import call_recorder
from integration.errors import AuthRevoked, PermanentError, RateLimited, TransientError
from integration.http import make_session
from integration.locking import serialized
from integration.pipedrive import oauth
from integration.pipedrive.models import PipedriveInstallation

logger = logging.getLogger(__name__)

SERVICE = "pipedrive"
PAGE_SIZE = 500  # Pipedrive's maximum `limit` for v2 lists
# 429 handling: wait at most this many times and this long in total inside one call, then give up
# with RateLimited so the caller (a task) can retry later instead of holding a worker.
MAX_RATE_LIMIT_RETRIES = 3
MAX_RATE_LIMIT_WAIT_SECONDS = 10.0
DEFAULT_BURST_WAIT_SECONDS = 2.0  # Pipedrive's burst window is a rolling 2 seconds

# Indirection so tests can observe waits without sleeping.
sleep = time.sleep

Entity = Literal["deal", "person", "organization", "product"]


class NotFound(PermanentError):
    """Pipedrive answered 404/410: the object does not exist (or is not visible to this user)."""


# ---------------------------------------------------------------------------------------------
# Shapes (API v2; only the keys we rely on are listed, everything else is passed through)


class Deal(TypedDict, total=False):
    id: int
    title: str
    value: float
    currency: str
    person_id: int | None
    org_id: int | None
    owner_id: int
    status: str
    custom_fields: dict[str, Any]


class DealProduct(TypedDict, total=False):
    id: int
    deal_id: int
    product_id: int
    name: str
    item_price: float
    quantity: float
    discount: float
    discount_type: str  # percentage | amount
    tax: float
    tax_method: str  # exclusive | inclusive | none
    is_enabled: bool
    sum: float
    currency: str
    comments: str


class Person(TypedDict, total=False):
    id: int
    name: str
    org_id: int | None
    emails: list[dict[str, Any]]
    phones: list[dict[str, Any]]
    postal_address: dict[str, Any]
    custom_fields: dict[str, Any]


class Organization(TypedDict, total=False):
    id: int
    name: str
    address: dict[str, Any] | None
    custom_fields: dict[str, Any]


class Product(TypedDict, total=False):
    id: int
    name: str
    code: str | None
    description: str | None
    unit: str | None
    tax: float
    prices: list[dict[str, Any]]
    custom_fields: dict[str, Any]


class FieldDefinition(TypedDict, total=False):
    field_name: str
    field_code: str
    field_type: str
    options: list[dict[str, Any]] | None
    subfields: list[dict[str, Any]] | None
    is_custom_field: bool


class Currency(TypedDict, total=False):
    id: int
    code: str
    name: str
    decimal_points: int
    symbol: str
    active_flag: bool
    is_custom_flag: bool


@dataclass(frozen=True)
class CurrentUser:
    """`GET /api/v1/users/me`: who authorized, and in which company."""

    id: int
    name: str
    email: str
    company_id: int
    company_name: str
    company_domain: str
    is_admin: bool
    default_currency: str = ""
    locale: str = ""
    timezone_name: str = ""
    language: str = ""
    raw: dict = field(default_factory=dict, repr=False)


def parse_current_user(payload: dict) -> CurrentUser:
    """Parse a users/me body. The admin flag is `access[app=global].admin` (older docs: `is_admin`)."""
    data = payload.get("data") if isinstance(payload, dict) else None
    if not isinstance(data, dict):
        raise PermanentError("Pipedrive users/me has no data", service=SERVICE, code="bad_response")
    try:
        user_id = int(data["id"])
        company_id = int(data["company_id"])
        email = str(data["email"]).strip()
    except (KeyError, TypeError, ValueError) as exc:
        raise PermanentError(
            "Pipedrive users/me is missing ids or email", service=SERVICE, code="bad_response"
        ) from exc
    if not email:
        raise PermanentError("Pipedrive users/me has no email", service=SERVICE, code="bad_response")
    access = data.get("access") or []
    is_admin = any(
        isinstance(item, dict) and item.get("app") == "global" and item.get("admin") is True for item in access
    )
    if "is_admin" in data and not access:
        is_admin = bool(data["is_admin"])
    language = data.get("language") or {}
    return CurrentUser(
        id=user_id,
        name=str(data.get("name") or ""),
        email=email,
        company_id=company_id,
        company_name=str(data.get("company_name") or ""),
        company_domain=str(data.get("company_domain") or ""),
        is_admin=is_admin,
        default_currency=str(data.get("default_currency") or ""),
        locale=str(data.get("locale") or ""),
        timezone_name=str(data.get("timezone_name") or ""),
        language=str(language.get("language_code") or "") if isinstance(language, dict) else "",
        raw=data,
    )


# ---------------------------------------------------------------------------------------------
# Tokens


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


# ---------------------------------------------------------------------------------------------
# Transport


def _wait_seconds(response: requests.Response) -> float:
    """How long Pipedrive asks us to wait: Retry-After, else x-ratelimit-reset, else the burst window."""
    for header in ("Retry-After", "x-ratelimit-reset"):
        value = response.headers.get(header)
        if value:
            try:
                return max(0.0, float(value))
            except ValueError:
                continue
    return DEFAULT_BURST_WAIT_SECONDS


def _daily_budget_exhausted(response: requests.Response) -> bool:
    # Undocumented but observed header; when it says 0 only midnight helps, so waiting is pointless.
    return response.headers.get("x-daily-ratelimit-token-remaining", "").strip() == "0"


def _error_message(response: requests.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(body, dict):
        return str(body.get("error") or body.get("message") or "")[:300]
    return ""


def _raise_for_status(response: requests.Response) -> None:
    status = response.status_code
    if status < 400:
        return
    message = _error_message(response)
    if status in (404, 410):
        raise NotFound(message or "not found", service=SERVICE, code="not_found", status=status)
    if status == 401:
        raise AuthRevoked(message or "unauthorized", service=SERVICE, code="unauthorized", status=status)
    if status == 403:
        raise PermanentError(message or "forbidden", service=SERVICE, code="forbidden", status=status)
    if status == 402:
        raise PermanentError(message or "account not active", service=SERVICE, code="payment_required", status=status)
    if status >= 500:
        raise TransientError(message or f"Pipedrive error {status}", service=SERVICE, status=status)
    raise PermanentError(
        message or f"Pipedrive refused the request ({status})", service=SERVICE, code="bad_request", status=status
    )


def _json(response: requests.Response) -> dict:
    if response.status_code == 204 or not response.content:
        return {}
    try:
        body = response.json()
    except ValueError as exc:
        raise TransientError(
            "Pipedrive sent a non-JSON response", service=SERVICE, status=response.status_code
        ) from exc
    if not isinstance(body, dict):
        raise PermanentError("Pipedrive sent an unexpected response", service=SERVICE, code="bad_response")
    return body


def _send(session, method: str, url: str, *, token: str, params=None, json=None) -> requests.Response:
    try:
        return session.request(
            method,
            url,
            params=params,
            json=json,
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )
    except requests.RequestException as exc:
        raise TransientError(f"Pipedrive request failed: {exc.__class__.__name__}", service=SERVICE) from exc


def call(
    *,
    installation: PipedriveInstallation,
    method: str,
    path: str,
    params: dict | None = None,
    json: dict | None = None,
) -> dict:
    """One API call on the installation's api_domain; returns the JSON envelope."""
    session = make_session(service=SERVICE, recorder=call_recorder(company_id=installation.company_id))
    try:
        token = access_token(installation=installation)
        refreshed = False
        waited = 0.0
        throttled = 0
        while True:
            url = f"{installation.api_domain.rstrip('/')}{path}"
            response = _send(session, method, url, token=token, params=params, json=json)
            if response.status_code == 401 and not refreshed:
                # The token may have been revoked or rotated elsewhere: refresh once, then give up.
                refreshed = True
                token = access_token(installation=installation, rejected_token=token)
                continue
            if response.status_code == 429:
                wait = _wait_seconds(response)
                if (
                    _daily_budget_exhausted(response)
                    or throttled >= MAX_RATE_LIMIT_RETRIES
                    or waited + wait > MAX_RATE_LIMIT_WAIT_SECONDS
                ):
                    raise RateLimited(
                        "Pipedrive rate limit reached", service=SERVICE, status=429, retry_after=max(wait, 1.0)
                    )
                throttled += 1
                waited += wait
                logger.info("pipedrive 429 on %s %s: waiting %.1f s", method, path, wait)
                sleep(wait)
                continue
            _raise_for_status(response)
            return _json(response)
    finally:
        session.close()


def _get(installation: PipedriveInstallation, path: str, params: dict | None = None) -> dict:
    return call(installation=installation, method="GET", path=path, params=params)


def _data(body: dict) -> Any:
    return body.get("data")


def paginate(
    *, installation: PipedriveInstallation, path: str, params: dict | None = None, page_size: int = PAGE_SIZE
) -> Iterator[dict]:
    """Every item of a v2 list, following `additional_data.next_cursor` until it is null."""
    cursor = None
    seen_cursors: set[str] = set()
    while True:
        query = {**(params or {}), "limit": page_size}
        if cursor:
            query["cursor"] = cursor
        body = _get(installation, path, query)
        yield from _data(body) or []
        cursor = (body.get("additional_data") or {}).get("next_cursor")
        if not cursor or cursor in seen_cursors:  # a repeated cursor would loop forever
            return
        seen_cursors.add(cursor)


def _csv(values) -> str:
    return ",".join(str(value) for value in values)


# ---------------------------------------------------------------------------------------------
# Endpoints


def users_me_with_token(*, access_token: str, api_domain: str) -> CurrentUser:
    """users/me with a fresh token, before any installation exists (the install callback)."""
    # https://developers.pipedrive.com/docs/api/v1/Users#getCurrentUser (v1 only, no v2 twin)
    session = make_session(service=SERVICE, recorder=call_recorder(company_id=None))
    try:
        response = _send(session, "GET", f"{api_domain.rstrip('/')}/api/v1/users/me", token=access_token)
    finally:
        session.close()
    _raise_for_status(response)
    return parse_current_user(_json(response))


def users_me(*, installation: PipedriveInstallation) -> CurrentUser:
    # https://developers.pipedrive.com/docs/api/v1/Users#getCurrentUser
    return parse_current_user(_get(installation, "/api/v1/users/me"))


def currencies_list(*, installation: PipedriveInstallation, term: str = "") -> list[Currency]:
    # https://developers.pipedrive.com/docs/api/v1/Currencies#getCurrencies (v1 only)
    return _data(_get(installation, "/api/v1/currencies", {"term": term} if term else None)) or []


def deal_get(
    *,
    installation: PipedriveInstallation,
    deal_id: int,
    custom_fields: list[str] | None = None,
    include_option_labels: bool = False,
) -> Deal:
    """One deal. `custom_fields` limits the custom keys returned (Pipedrive allows at most 15)."""
    # https://developers.pipedrive.com/docs/api/v1/Deals#getDeal (API v2)
    params: dict[str, Any] = {}
    if custom_fields:
        params["custom_fields"] = _csv(custom_fields[:15])
    if include_option_labels:
        params["include_option_labels"] = "true"
    return _data(_get(installation, f"/api/v2/deals/{int(deal_id)}", params or None))


def deals_list(
    *,
    installation: PipedriveInstallation,
    ids: list[int] | None = None,
    person_id: int | None = None,
    org_id: int | None = None,
    status: str | None = None,
    updated_since: str | None = None,
    page_size: int = PAGE_SIZE,
) -> Iterator[Deal]:
    # https://developers.pipedrive.com/docs/api/v1/Deals#getDeals (API v2, cursor paging)
    params: dict[str, Any] = {}
    if ids:
        params["ids"] = _csv(ids[:100])
    if person_id is not None:
        params["person_id"] = int(person_id)
    if org_id is not None:
        params["org_id"] = int(org_id)
    if status:
        params["status"] = status
    if updated_since:
        params["updated_since"] = updated_since
    return cast(
        "Iterator[Deal]", paginate(installation=installation, path="/api/v2/deals", params=params, page_size=page_size)
    )


def deal_products_list(*, installation: PipedriveInstallation, deal_id: int) -> list[DealProduct]:
    """The deal's product lines, in Pipedrive's order (`order_nr`)."""
    # https://developers.pipedrive.com/docs/api/v1/Deals#getDealProducts (API v2)
    lines = paginate(
        installation=installation,
        path=f"/api/v2/deals/{int(deal_id)}/products",
        params={"sort_by": "order_nr", "sort_direction": "asc"},
    )
    return list(cast("Iterator[DealProduct]", lines))


def person_get(*, installation: PipedriveInstallation, person_id: int, include_option_labels: bool = False) -> Person:
    # https://developers.pipedrive.com/docs/api/v1/Persons#getPerson (API v2)
    params = {"include_option_labels": "true"} if include_option_labels else None
    return _data(_get(installation, f"/api/v2/persons/{int(person_id)}", params))


def organization_get(
    *, installation: PipedriveInstallation, organization_id: int, include_option_labels: bool = False
) -> Organization:
    # https://developers.pipedrive.com/docs/api/v1/Organizations#getOrganization (API v2)
    params = {"include_option_labels": "true"} if include_option_labels else None
    return _data(_get(installation, f"/api/v2/organizations/{int(organization_id)}", params))


def product_get(*, installation: PipedriveInstallation, product_id: int) -> Product:
    # https://developers.pipedrive.com/docs/api/v1/Products#getProduct (API v2)
    return _data(_get(installation, f"/api/v2/products/{int(product_id)}"))


def products_list(
    *, installation: PipedriveInstallation, ids: list[int] | None = None, page_size: int = PAGE_SIZE
) -> Iterator[Product]:
    # https://developers.pipedrive.com/docs/api/v1/Products#getProducts (API v2, cursor paging)
    params = {"ids": _csv(ids[:100])} if ids else None
    products = paginate(installation=installation, path="/api/v2/products", params=params, page_size=page_size)
    return cast("Iterator[Product]", products)


def products_search(
    *, installation: PipedriveInstallation, term: str, exact_match: bool = False, limit: int = 100
) -> list[dict]:
    """Products matching `term` (name, code or custom fields): the `item` of each search hit.

    The search API has its own burst limit (10 requests / 2 s) and needs the `search:read` scope.
    """
    # https://developers.pipedrive.com/docs/api/v1/Products#searchProducts (API v2)
    params: dict[str, Any] = {"term": term, "limit": limit}
    if exact_match:
        params["exact_match"] = "true"
    data = _data(_get(installation, "/api/v2/products/search", params)) or {}
    return [hit["item"] for hit in data.get("items") or [] if isinstance(hit, dict) and hit.get("item")]


FIELDS_PATHS: dict[str, str] = {
    "deal": "/api/v2/dealFields",
    "person": "/api/v2/personFields",
    "organization": "/api/v2/organizationFields",
    "product": "/api/v2/productFields",
}


def fields_list(*, installation: PipedriveInstallation, entity: Entity) -> list[FieldDefinition]:
    """Every field definition (standard and custom) of an entity, with options and subfields."""
    # https://developers.pipedrive.com/docs/api/v1/DealFields#getDealFields (and person/organization/product; API v2)
    if entity not in FIELDS_PATHS:
        raise ValueError(f"unknown Pipedrive entity {entity!r}")
    return list(cast("Iterator[FieldDefinition]", paginate(installation=installation, path=FIELDS_PATHS[entity])))


def invoicing_provider_register(
    *, installation: PipedriveInstallation, link_id: str, org_id: str, marketplace_client_id: str
) -> str:
    """Register an invoicing link (app extension for invoicing); returns the `redirectUrl` to send the user to."""
    # https://pipedrive.readme.io/docs/app-extensions-invoicing (POST /api/v1/invoice/user/provider)
    body = call(
        installation=installation,
        method="POST",
        path="/api/v1/invoice/user/provider",
        json={"data": {"linkId": link_id, "orgId": org_id, "marketplaceClientId": marketplace_client_id}},
    )
    data = body.get("data")
    redirect_url = (data.get("redirectUrl") if isinstance(data, dict) else None) or body.get("redirectUrl")
    if not redirect_url or not isinstance(redirect_url, str):
        raise PermanentError("Pipedrive did not return a redirectUrl", service=SERVICE, code="bad_response")
    return redirect_url


def deal_field_create(
    *,
    installation: PipedriveInstallation,
    field_name: str,
    field_type: str,
    options: list[str] | None = None,
    description: str | None = None,
) -> FieldDefinition:
    """Create a deal custom field; returns its definition (`field_code` is the 40-hex key).

    API v2 has the create (`addDealField`, scopes `admin` or `deal-fields:full`, cost 5), so no v1 call.
    """
    # https://developers.pipedrive.com/docs/api/v1/DealFields#addDealField (API v2)
    body: dict[str, Any] = {"field_name": field_name, "field_type": field_type}
    if options is not None:
        body["options"] = [{"label": label} for label in options]
    if description:
        body["description"] = description
    data = _data(call(installation=installation, method="POST", path="/api/v2/dealFields", json=body))
    if not isinstance(data, dict) or not data.get("field_code"):
        raise PermanentError("Pipedrive did not return the new field", service=SERVICE, code="bad_response")
    return cast(FieldDefinition, data)


def deal_update(*, installation: PipedriveInstallation, deal_id: int, custom_fields: dict[str, Any]) -> Deal:
    """PATCH a deal's custom fields (absolute values; `None` clears one)."""
    # https://developers.pipedrive.com/docs/api/v1/Deals#updateDeal (API v2, scope deals:full, cost 5)
    return _data(
        call(
            installation=installation,
            method="PATCH",
            path=f"/api/v2/deals/{int(deal_id)}",
            json={"custom_fields": custom_fields},
        )
    )


def webhook_create(
    *,
    installation: PipedriveInstallation,
    subscription_url: str,
    event_action: str,
    event_object: str,
    name: str,
    http_auth_user: str,
    http_auth_password: str,
    version: str = "2.0",
) -> dict:
    """Register an app webhook (v1 only; no v2 endpoint). Pipedrive calls it with HTTP Basic."""
    # https://developers.pipedrive.com/docs/api/v1/Webhooks#addWebhook (scope admin, cost 10)
    body = {
        "subscription_url": subscription_url,
        "event_action": event_action,
        "event_object": event_object,
        "name": name,
        "user_id": installation.pipedrive_user_id,
        "http_auth_user": http_auth_user,
        "http_auth_password": http_auth_password,
        "version": version,
    }
    data = _data(call(installation=installation, method="POST", path="/api/v1/webhooks", json=body))
    if not isinstance(data, dict) or not data.get("id"):
        raise PermanentError("Pipedrive did not return the webhook", service=SERVICE, code="bad_response")
    return data


def note_create(*, installation: PipedriveInstallation, deal_id: int, content: str) -> dict:
    """Add a note (HTML `content`) to a deal; returns the note."""
    # https://developers.pipedrive.com/docs/api/v1/Notes#addNote (POST /v1/notes; deals:full; no v2 notes API)
    body = call(
        installation=installation, method="POST", path="/api/v1/notes", json={"deal_id": deal_id, "content": content}
    )
    data = body.get("data")
    if not isinstance(data, dict) or not data.get("id"):
        raise PermanentError("Pipedrive did not return the note", service=SERVICE, code="bad_response")
    return data


def notes_of_deal(*, installation: PipedriveInstallation, deal_id: int, limit: int = 100) -> list[dict]:
    """The deal's latest notes (newest first), to find one a lost answer left unconfirmed."""
    # https://developers.pipedrive.com/docs/api/v1/Notes#getNotes (GET /v1/notes?deal_id=; offset paging)
    body = _get(installation, "/api/v1/notes", {"deal_id": deal_id, "limit": limit, "sort": "add_time DESC"})
    data = body.get("data")
    return [note for note in data if isinstance(note, dict)] if isinstance(data, list) else []
