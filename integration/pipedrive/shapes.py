"""The shapes of Pipedrive's answers (API v2; only the keys we rely on are listed, everything else is
passed through) and the parsed `users/me`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypedDict

from integration.errors import PermanentError
from integration.pipedrive.errors import SERVICE

Entity = Literal["deal", "person", "organization", "product"]


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
    language: str = ""  # language.language_code, e.g. "uk"
    language_country: str = ""  # language.country_code, e.g. "UA"
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
        language_country=str(language.get("country_code") or "") if isinstance(language, dict) else "",
        raw=data,
    )
