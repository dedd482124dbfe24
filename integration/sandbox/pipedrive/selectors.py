"""Reads of the Pipedrive sandbox state, shaped as the API returns them."""

from __future__ import annotations

import base64
import binascii
import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.conf import settings

from integration.sandbox.pipedrive.models import (
    SandboxCompany,
    SandboxField,
    SandboxInvoiceProviderLink,
    SandboxRecord,
    SandboxUser,
)
from integration.sandbox.pipedrive.services import ApiError, error_body

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
MAX_CUSTOM_FIELD_KEYS = 15

CURRENCIES = [
    # id, code, name, decimal points, symbol
    (1, "EUR", "Euro", 2, "€"),
    (2, "USD", "US Dollar", 2, "$"),
    (3, "GBP", "British Pound", 2, "£"),
    (4, "CAD", "Canadian Dollar", 2, "CA$"),
    (5, "AUD", "Australian Dollar", 2, "A$"),
    (6, "JPY", "Japanese Yen", 0, "¥"),
    (7, "SEK", "Swedish Krona", 2, "kr"),
]

FIELDS_ENTITY_OF_KIND = {"deal": "deal", "person": "person", "organization": "organization", "product": "product"}


def user_me(*, user: SandboxUser) -> dict:
    """The `data` of GET /api/v1/users/me for `user`."""
    company = user.company
    return {
        "id": user.id,
        "name": user.name,
        "default_currency": user.default_currency,
        "locale": user.locale,
        "lang": 1,
        "email": user.email,
        "phone": None,
        "activated": True,
        "last_login": "2026-11-02 08:45:56",
        "created": "2024-01-15 09:16:26",
        "modified": "2026-11-02 08:45:56",
        "has_created_company": user.is_admin,
        "access": [
            {"app": "sales", "admin": user.is_admin, "permission_set_id": f"sales-{user.id}"},
            {"app": "global", "admin": user.is_admin, "permission_set_id": f"global-{user.id}"},
        ],
        "active_flag": True,
        "timezone_name": user.timezone_name,
        "timezone_offset": user.timezone_offset,
        "role_id": 1,
        "icon_url": None,
        "is_you": True,
        "is_deleted": False,
        "is_admin": user.is_admin,
        "company_id": company.id,
        "company_name": company.name,
        "company_domain": company.domain,
        "company_country": company.country,
        "company_industry": company.industry,
        "language": {"language_code": user.language.split("_")[0], "country_code": user.language.split("_")[-1]},
    }


def currencies(*, term: str = "") -> list[dict]:
    """The currency list of GET /api/v1/currencies, optionally filtered by code or name."""
    items: list[dict[str, Any]] = [
        {
            "id": cid,
            "code": code,
            "name": name,
            "decimal_points": points,
            "symbol": symbol,
            "active_flag": True,
            "is_custom_flag": False,
        }
        for cid, code, name, points, symbol in CURRENCIES
    ]
    term = term.lower()
    return [item for item in items if term in item["code"].lower() or term in item["name"].lower()]


def invoice_settings_url(*, link: SandboxInvoiceProviderLink) -> str:
    """Where Pipedrive sends the user after the invoicing link is registered (its settings page)."""
    base = f"{settings.PUBLIC_BASE_URL}/sandbox/pipedrive/app/{link.company.domain}"
    return f"{base}/settings/invoicing?{urlencode({'linkId': link.link_id})}"


# --- paging -----------------------------------------------------------------------------------


def _cursor_encode(offset: int) -> str:
    return base64.urlsafe_b64encode(f"o:{offset}".encode()).decode().rstrip("=")


def _cursor_decode(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, value = raw.partition(":")
        if prefix != "o":
            raise ValueError(raw)
        offset = int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise ApiError(400, error_body("Invalid cursor")) from exc
    if offset < 0:
        raise ApiError(400, error_body("Invalid cursor"))
    return offset


def paginate(items: list, *, cursor: str | None, limit: str | None) -> tuple[list, str | None]:
    """One page of `items` and the opaque `next_cursor` (None at the end). limit 1..500, default 100."""
    if not limit:
        size = DEFAULT_LIMIT
    else:
        try:
            size = int(limit)
        except ValueError as exc:
            raise ApiError(400, error_body("Parameter 'limit' must be an integer")) from exc
        if not 1 <= size <= MAX_LIMIT:
            raise ApiError(400, error_body(f"Parameter 'limit' must be between 1 and {MAX_LIMIT}"))
    offset = _cursor_decode(cursor) if cursor else 0
    page = items[offset : offset + size]
    next_cursor = _cursor_encode(offset + size) if offset + size < len(items) else None
    return page, next_cursor


# --- records ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomFieldOptions:
    """The v2 query parameters that shape `custom_fields`."""

    keys: tuple[str, ...] | None = None
    option_labels: bool = False

    @classmethod
    def from_query(cls, query: Mapping[str, str]) -> CustomFieldOptions:
        raw = query.get("custom_fields")
        keys = tuple(key.strip() for key in raw.split(",") if key.strip()) if raw else None
        if keys is not None and len(keys) > MAX_CUSTOM_FIELD_KEYS:
            raise ApiError(400, error_body(f"A maximum of {MAX_CUSTOM_FIELD_KEYS} custom field keys is allowed"))
        return cls(keys=keys, option_labels=query.get("include_option_labels") == "true")


def record_get(*, company: SandboxCompany, kind: str, object_id: int) -> SandboxRecord | None:
    record = SandboxRecord.objects.filter(company=company, kind=kind, object_id=object_id).first()
    if record is None or record.data.get("is_deleted"):
        return None
    return record


def _option_labels(company: SandboxCompany, entity: str) -> dict[str, dict[int, str]]:
    labels: dict[str, dict[int, str]] = {}
    for field in SandboxField.objects.filter(company=company, entity=entity, data__field_type__in=["enum", "set"]):
        labels[field.field_code] = {option["id"]: option["label"] for option in field.data.get("options") or []}
    return labels


def present(record: SandboxRecord, *, company: SandboxCompany, options: CustomFieldOptions) -> dict:
    """The v2 JSON object of `record` with `custom_fields` narrowed and labelled as the query asks."""
    data = copy.deepcopy(record.data)
    custom = data.get("custom_fields")
    if not isinstance(custom, dict):
        return data
    if options.keys is not None:
        custom = {key: value for key, value in custom.items() if key in options.keys}
    if options.option_labels:
        labels = _option_labels(company, FIELDS_ENTITY_OF_KIND[record.kind])
        for key, value in custom.items():
            if key not in labels or value is None:
                continue
            if isinstance(value, list):
                custom[key] = [{"id": item, "label": labels[key].get(item, "")} for item in value]
            else:
                custom[key] = {"id": value, "label": labels[key].get(value, "")}
    data["custom_fields"] = custom
    return data


def _parse_time(value: str, name: str) -> datetime:
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ApiError(400, error_body(f"Parameter '{name}' must be an RFC 3339 date-time")) from exc


def int_list(raw: str | None, name: str) -> set[int] | None:
    if not raw:
        return None
    try:
        values = {int(part) for part in raw.split(",") if part.strip()}
    except ValueError as exc:
        raise ApiError(400, error_body(f"Parameter '{name}' must be comma separated integers")) from exc
    if len(values) > 100:
        raise ApiError(400, error_body(f"Parameter '{name}' allows at most 100 ids"))
    return values


def _sorted(records: list[SandboxRecord], query: Mapping[str, str], allowed: tuple[str, ...]) -> list[SandboxRecord]:
    sort_by = query.get("sort_by") or "id"
    direction = query.get("sort_direction") or "asc"
    if sort_by not in allowed or direction not in ("asc", "desc"):
        raise ApiError(400, error_body("Invalid sort_by or sort_direction"))
    return sorted(records, key=lambda r: (r.data.get(sort_by) or "", r.object_id), reverse=direction == "desc")


def deals_list(*, company: SandboxCompany, query: Mapping[str, str]) -> list[SandboxRecord]:
    """Deals matching the v2 filters (ids, owner/person/org/pipeline/stage, status, updated range)."""
    records = list(SandboxRecord.objects.filter(company=company, kind="deal"))
    ids = int_list(query.get("ids"), "ids")
    statuses = {s for s in (query.get("status") or "").split(",") if s} or {"open", "won", "lost"}
    if not statuses <= {"open", "won", "lost", "deleted"}:
        raise ApiError(400, error_body("Parameter 'status' must be open, won, lost or deleted"))
    filters = {}
    for name in ("owner_id", "person_id", "org_id", "pipeline_id", "stage_id"):
        raw = query.get(name)
        if raw:
            filters[name] = next(iter(int_list(raw, name) or {0}))
    since = _parse_time(query["updated_since"], "updated_since") if query.get("updated_since") else None
    until = _parse_time(query["updated_until"], "updated_until") if query.get("updated_until") else None
    result = []
    for record in records:
        data = record.data
        status = "deleted" if data.get("is_deleted") else data.get("status")
        if status not in statuses or data.get("is_archived"):
            continue
        if ids is not None and record.object_id not in ids:
            continue
        if any(data.get(name) != value for name, value in filters.items()):
            continue
        updated = _parse_time(data["update_time"], "update_time")
        if (since and updated < since) or (until and updated >= until):
            continue
        result.append(record)
    return _sorted(result, query, ("id", "update_time", "add_time"))


def deal_products(*, company: SandboxCompany, deal_id: int, query: Mapping[str, str]) -> list[dict]:
    """The products attached to a deal (v2 deal product objects)."""
    records = list(SandboxRecord.objects.filter(company=company, kind="deal_product", parent_id=deal_id))
    return [copy.deepcopy(r.data) for r in _sorted(records, query, ("id", "add_time", "update_time", "order_nr"))]


def deals_products(*, company: SandboxCompany, deal_ids: set[int], query: Mapping[str, str]) -> list[dict]:
    """The products of several deals (deleted deals' lines excluded)."""
    live = {
        r.object_id
        for r in SandboxRecord.objects.filter(company=company, kind="deal", object_id__in=deal_ids)
        if not r.data.get("is_deleted")
    }
    records = list(SandboxRecord.objects.filter(company=company, kind="deal_product", parent_id__in=live))
    allowed = ("id", "deal_id", "add_time", "update_time", "order_nr")
    return [copy.deepcopy(r.data) for r in _sorted(records, query, allowed)]


def products_list(*, company: SandboxCompany, query: Mapping[str, str]) -> list[SandboxRecord]:
    records = [r for r in SandboxRecord.objects.filter(company=company, kind="product") if not r.data.get("is_deleted")]
    ids = int_list(query.get("ids"), "ids")
    owner = query.get("owner_id")
    if ids is not None:
        records = [r for r in records if r.object_id in ids]
    if owner:
        owner_ids = int_list(owner, "owner_id") or set()
        records = [r for r in records if r.data.get("owner_id") in owner_ids]
    if query.get("updated_since"):
        since = _parse_time(query["updated_since"], "updated_since")
        records = [r for r in records if _parse_time(r.data["update_time"], "update_time") >= since]
    return _sorted(records, query, ("id", "name", "add_time", "update_time"))


def products_search(*, company: SandboxCompany, term: str, exact: bool, fields: str | None) -> list[dict]:
    """Search results shaped like v2 /products/search items: `{result_score, item: {...}}`."""
    searched = [f for f in (fields or "name,code,custom_fields").split(",") if f]
    needle = term.lower()
    results = []
    for record in products_list(company=company, query={}):
        data = record.data
        values = [str(data.get(name) or "") for name in ("name", "code") if name in searched]
        custom_values = []
        if "custom_fields" in searched:
            custom_values = [v for v in (data.get("custom_fields") or {}).values() if isinstance(v, str)]
        values += custom_values
        lowered = [v.lower() for v in values]
        hit = needle in lowered if exact else any(needle in v for v in lowered)
        if not hit:
            continue
        score = 1.0 if needle in lowered else 0.5
        results.append(
            {
                "result_score": score,
                "item": {
                    "id": data["id"],
                    "type": "product",
                    "name": data["name"],
                    "code": data.get("code"),
                    "visible_to": data.get("visible_to"),
                    "owner": {"id": data.get("owner_id")},
                    "custom_fields": custom_values,
                },
            }
        )
    return sorted(results, key=lambda item: (-item["result_score"], item["item"]["id"]))


def fields_list(*, company: SandboxCompany, entity: str) -> list[dict]:
    return [copy.deepcopy(f.data) for f in SandboxField.objects.filter(company=company, entity=entity)]
