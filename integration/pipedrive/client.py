"""Thin typed client of the Pipedrive REST API, on one installation's `api_domain`.

- Every request goes to `{api_domain}/api/v2/...` (or `/api/v1/...` where no v2 twin exists):
  https://pipedrive.readme.io/docs/core-api-concepts-requests
- The access token lives 60 minutes; `tokens.access_token` refreshes it single-flight.
- v2 lists use cursor paging (`cursor`, `limit` ≤ 500, `additional_data.next_cursor`):
  https://pipedrive.readme.io/docs/core-api-concepts-pagination
- 429 waits what `Retry-After` / `x-ratelimit-reset` say (burst window: 2 s), a bounded number of
  times, then raises RateLimited; an exhausted daily budget raises at once:
  https://pipedrive.readme.io/docs/core-api-concepts-rate-limiting
- Errors are integration.errors types: TransientError (5xx, network), RateLimited, AuthRevoked
  (grant gone), NotFound, PermanentError (4xx): `errors` maps the answers.
- The answers' shapes (typed dicts, users/me) are in `shapes`.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from typing import Any, cast

import requests

from integration.calllog import call_recorder
from integration.errors import PermanentError, RateLimited, TransientError
from integration.http import make_session
from integration.pipedrive.errors import (
    SERVICE,
    daily_budget_exhausted,
    json_body,
    raise_for_status,
    wait_seconds,
)
from integration.pipedrive.models import PipedriveInstallation
from integration.pipedrive.shapes import (
    Currency,
    CurrentUser,
    Deal,
    DealProduct,
    Entity,
    FieldDefinition,
    Organization,
    Person,
    Product,
    parse_current_user,
)
from integration.pipedrive.tokens import access_token

logger = logging.getLogger(__name__)

PAGE_SIZE = 500  # Pipedrive's maximum `limit` for v2 lists
# 429 handling: wait at most this many times and this long in total inside one call, then give up
# with RateLimited so the caller (a task) can retry later instead of holding a worker.
MAX_RATE_LIMIT_RETRIES = 3
MAX_RATE_LIMIT_WAIT_SECONDS = 10.0

# Indirection so tests can observe waits without sleeping.
sleep = time.sleep


# ---------------------------------------------------------------------------------------------
# Transport


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
                wait = wait_seconds(response)
                if (
                    daily_budget_exhausted(response)
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
            raise_for_status(response)
            return json_body(response)
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
    raise_for_status(response)
    return parse_current_user(json_body(response))


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
