"""Deal installments (API v2 tag DealInstallments): what the sandbox accepts and refuses.

Facts (shared/pipedrive-reference/openapi-v2.yaml, `getInstallments`, `postInstallment`,
`updateInstallment`, `deleteInstallment`; shared/reference/reliability-targets.md §7.1):
- "Only available in Growth and above plans" (every operation).
- `GET /deals/installments?deal_ids=` — "A maximum of 100 deal IDs"; cursor/limit paging (limit ≤ 500,
  default 100); `sort_by` id | billing_date | deal_id, `sort_direction` asc | desc.
- `POST /deals/{id}/installments` — `description`, `amount`, `billing_date` required; amount "Must be a
  positive number (excluding 0)"; billing_date "Must be in the format YYYY-MM-DD". "An installment can
  only be added if the deal includes at least one one-time product. If the deal contains at least one
  recurring product, adding installments is not allowed."
- Deal products: "Not possible to disable the product if the deal has installments associated and the
  product is the last one enabled" / "… to enable the product if … the product is recurring": so the
  rule counts *enabled* products.
Assumed where the docs are silent (README "Installments"): the plan refusal is a 403 in the error
envelope; an unknown/deleted deal is the v2 404; unknown body keys, more than 2 decimals and a
description over 255 characters are 400; unknown deal ids in the list are simply absent.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation

from django.db import transaction
from django.http import HttpRequest

from integration.sandbox.pipedrive import selectors
from integration.sandbox.pipedrive.models import Plan, SandboxCompany, SandboxInstallment, SandboxRecord
from integration.sandbox.pipedrive.services import ApiError, error_body

MAX_DEAL_IDS = 100
FIELDS = ("description", "amount", "billing_date")
SORTS = ("id", "billing_date", "deal_id")
PLANS_WITH_INSTALLMENTS = (Plan.GROWTH, Plan.PREMIUM, Plan.ULTIMATE)
MAX_DESCRIPTION = 255
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def check_plan(company: SandboxCompany) -> None:
    """403 on Lite: "Only available in Growth and above plans" (the status is our choice, README)."""
    if company.plan not in PLANS_WITH_INSTALLMENTS:
        raise ApiError(403, error_body("Installments are only available in Growth and above plans"))


def as_json(row: SandboxInstallment) -> dict:
    """The v2 installment object: `{id, amount, billing_date, deal_id, description}`."""
    amount = row.amount.quantize(Decimal("0.01"))
    return {
        "id": row.pk,
        "amount": int(amount) if amount == amount.to_integral_value() else float(amount),
        "billing_date": row.billing_date.isoformat(),
        "deal_id": row.deal_id,
        "description": row.description,
    }


def deal_ids_of(query) -> set[int]:
    """`deal_ids` as repeated parameters (OpenAPI's default for a query array) or comma separated."""
    raw = [part for value in query.getlist("deal_ids") for part in value.split(",") if part.strip()]
    if not raw:
        raise ApiError(400, error_body("Parameter 'deal_ids' is required"))
    try:
        ids = {int(part) for part in raw}
    except ValueError as exc:
        raise ApiError(400, error_body("Parameter 'deal_ids' must be an array of integers")) from exc
    if any(deal_id < 1 for deal_id in ids):
        raise ApiError(400, error_body("Parameter 'deal_ids' must be positive integers"))
    if len(ids) > MAX_DEAL_IDS:
        raise ApiError(400, error_body(f"A maximum of {MAX_DEAL_IDS} deal IDs can be provided"))
    return ids


def installments_list(*, company: SandboxCompany, deal_ids: set[int], query: Mapping[str, str]) -> list[dict]:
    """The installments of the live deals among `deal_ids`, sorted as asked."""
    sort_by = query.get("sort_by") or "id"
    direction = query.get("sort_direction") or "asc"
    if sort_by not in SORTS or direction not in ("asc", "desc"):
        raise ApiError(400, error_body("Invalid sort_by or sort_direction"))
    live = {
        record.object_id
        for record in SandboxRecord.objects.filter(company=company, kind="deal", object_id__in=deal_ids)
        if not record.data.get("is_deleted")
    }
    rows = SandboxInstallment.objects.filter(company=company, deal_id__in=live)
    items = sorted((as_json(row) for row in rows), key=lambda i: (i[sort_by], i["id"]), reverse=direction == "desc")
    return items


def _body(request: HttpRequest, *, partial: bool) -> dict:
    try:
        payload = json.loads(request.body or b"{}", parse_float=Decimal)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, error_body("Invalid JSON body")) from exc
    if not isinstance(payload, dict):
        raise ApiError(400, error_body("The request body must be a JSON object"))
    unknown = set(payload) - set(FIELDS)
    if unknown:
        raise ApiError(400, error_body(f"Unknown parameter(s): {', '.join(sorted(unknown))}"))
    if not partial:
        missing = [name for name in FIELDS if payload.get(name) is None]
        if missing:
            raise ApiError(400, error_body(f"Parameter(s) required: {', '.join(missing)}"))
    elif not payload:
        raise ApiError(400, error_body("Nothing to update: give description, amount or billing_date"))
    out: dict = {}
    if "description" in payload:
        text = payload["description"]
        if not isinstance(text, str) or not text.strip() or len(text) > MAX_DESCRIPTION:
            raise ApiError(400, error_body(f"description must be a non-empty string of at most {MAX_DESCRIPTION}"))
        out["description"] = text
    if "amount" in payload:
        out["amount"] = _amount(payload["amount"])
    if "billing_date" in payload:
        out["billing_date"] = _date(payload["billing_date"])
    return out


def _amount(value) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise ApiError(400, error_body("amount must be a number"))
    try:
        amount = Decimal(value)
    except InvalidOperation as exc:
        raise ApiError(400, error_body("amount must be a number")) from exc
    if not amount.is_finite() or amount <= 0:
        raise ApiError(400, error_body("amount must be a positive number (excluding 0)"))
    if amount != amount.quantize(Decimal("0.01")) or amount >= Decimal("1e16"):
        raise ApiError(400, error_body("amount must have at most 2 decimal places"))
    return amount


def _date(value) -> dt.date:
    if not isinstance(value, str) or not DATE.match(value):
        raise ApiError(400, error_body("billing_date must be in the format YYYY-MM-DD"))
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ApiError(400, error_body("billing_date must be a valid date (YYYY-MM-DD)")) from exc


def _live_deal(company: SandboxCompany, deal_id: int) -> SandboxRecord:
    record = selectors.record_get(company=company, kind="deal", object_id=deal_id)
    if record is None:
        raise ApiError(404, error_body("Entity was not found", error_info="Object was not found."))
    return record


def _check_products(company: SandboxCompany, deal_id: int) -> None:
    enabled = [
        r.data
        for r in SandboxRecord.objects.filter(company=company, kind="deal_product", parent_id=deal_id)
        if r.data.get("is_enabled", True)
    ]
    if any((p.get("billing_frequency") or "one-time") != "one-time" for p in enabled):
        raise ApiError(400, error_body("Installments are not allowed on a deal with recurring products"))
    if not enabled:
        raise ApiError(400, error_body("Installments can only be added to a deal with at least one one-time product"))


@transaction.atomic
def installment_add(*, company: SandboxCompany, deal_id: int, request: HttpRequest) -> dict:
    check_plan(company)
    _live_deal(company, deal_id)
    fields = _body(request, partial=False)
    _check_products(company, deal_id)
    return as_json(SandboxInstallment.objects.create(company=company, deal_id=deal_id, **fields))


def _installment(company: SandboxCompany, deal_id: int, installment_id: int) -> SandboxInstallment:
    _live_deal(company, deal_id)
    row = (
        SandboxInstallment.objects.select_for_update()
        .filter(company=company, deal_id=deal_id, pk=installment_id)
        .first()
    )
    if row is None:
        raise ApiError(404, error_body("Installment not found", error_info="Object was not found."))
    return row


@transaction.atomic
def installment_update(*, company: SandboxCompany, deal_id: int, installment_id: int, request: HttpRequest) -> dict:
    check_plan(company)
    row = _installment(company, deal_id, installment_id)
    for name, value in _body(request, partial=True).items():
        setattr(row, name, value)
    row.save()
    return as_json(row)


@transaction.atomic
def installment_delete(*, company: SandboxCompany, deal_id: int, installment_id: int) -> dict:
    check_plan(company)
    row = _installment(company, deal_id, installment_id)
    row.delete()
    return {"id": installment_id}
