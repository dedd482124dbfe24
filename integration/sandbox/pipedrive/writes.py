"""Writes the sandbox accepts: creating deal fields and updating a deal's custom fields (API v2).

Facts (shared/pipedrive-reference/openapi-v2.yaml, `addDealField` and `updateDeal`;
shared/reference/pipedrive-contract-facts.md §6 and §9):
- `POST /api/v2/dealFields` needs `field_name` (1-255 chars) and `field_type` (the spec's enum);
  `options` ([{label}]) is required for `enum` and `set`; scopes `admin` or `deal-fields:full`, cost 5.
  The answer is the field definition with a 40-hex `field_code`; monetary fields have the subfields
  `value` and `currency`; enum options get integer ids.
- `PATCH /api/v2/deals/{id}` takes `custom_fields` keyed by the 40-hex codes; `null` clears a value;
  monetary values are `{"value": number, "currency": "XXX"}`, enum values an option id; scope
  `deals:full`, cost 5.
Assumed (undocumented): an unknown custom field key, a value of the wrong type and an unknown top-level
key are refused with 400, so the product cannot rely on Pipedrive silently dropping them.
"""

from __future__ import annotations

import copy
import json
import re
import secrets

from django.db import transaction
from django.db.models import Max
from django.http import HttpRequest
from django.utils import timezone

from integration.sandbox.pipedrive.models import SandboxCompany, SandboxField, SandboxRecord
from integration.sandbox.pipedrive.services import ApiError, error_body

FIELD_TYPES = (
    "varchar",
    "text",
    "double",
    "phone",
    "date",
    "daterange",
    "time",
    "timerange",
    "set",
    "enum",
    "varchar_auto",
    "address",
    "monetary",
    "org",
    "people",
    "user",
)
FIELD_KEYS = {
    "field_name",
    "field_type",
    "options",
    "ui_visibility",
    "important_fields",
    "required_fields",
    "description",
}
# Keys of updateDeal the sandbox models; the spec's others (owner, stage, dates, ...) are refused
# with 400 "not modelled" rather than silently dropped.
DEAL_KEYS = {"title", "value", "status", "custom_fields"}
CURRENCY = re.compile(r"^[A-Z]{3}$")


def _body(request: HttpRequest) -> dict:
    try:
        payload = json.loads(request.body or b"{}")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ApiError(400, error_body("Invalid JSON body")) from exc
    if not isinstance(payload, dict):
        raise ApiError(400, error_body("The request body must be a JSON object"))
    return payload


def _monetary_subfields(label: str) -> list[dict]:
    return [
        {"field_code": "value", "field_name": f"Amount of {label}", "field_type": "double"},
        {"field_code": "currency", "field_name": f"Currency of {label}", "field_type": "varchar"},
    ]


@transaction.atomic
def deal_field_create(*, company: SandboxCompany, request: HttpRequest) -> dict:
    """The new field's definition (the `data` of the 200 answer)."""
    payload = _body(request)
    unknown = set(payload) - FIELD_KEYS
    if unknown:
        raise ApiError(400, error_body(f"Unknown parameter(s): {', '.join(sorted(unknown))}"))
    name = payload.get("field_name")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 255:
        raise ApiError(400, error_body("field_name is required (1 to 255 characters)"))
    field_type = payload.get("field_type")
    if field_type not in FIELD_TYPES:
        raise ApiError(400, error_body("field_type is required and must be one of: " + ", ".join(FIELD_TYPES)))
    raw_options = payload.get("options")
    options = None
    if field_type in ("enum", "set"):
        if not isinstance(raw_options, list) or not raw_options:
            raise ApiError(400, error_body("options are required for enum and set fields"))
        if not all(isinstance(o, dict) and isinstance(o.get("label"), str) and o["label"].strip() for o in raw_options):
            raise ApiError(400, error_body("Every option needs a label"))
        # Option ids are unique in the company (Pipedrive's are global integers).
        start = _next_option_id(company)
        options = [{"id": start + i, "label": o["label"], "color": None} for i, o in enumerate(raw_options)]
    elif raw_options is not None:
        raise ApiError(400, error_body("options are only allowed for enum and set fields"))
    description = payload.get("description")
    if description is not None and not isinstance(description, str):
        raise ApiError(400, error_body("description must be a string"))
    code = secrets.token_hex(20)
    order = (SandboxField.objects.filter(company=company, entity="deal").aggregate(m=Max("order"))["m"] or 0) + 1
    data = {
        "field_name": name,
        "field_code": code,
        "description": description,
        "field_type": field_type,
        "options": options,
        "subfields": _monetary_subfields(name) if field_type == "monetary" else None,
        "is_custom_field": True,
        "is_optional_response_field": False,
    }
    SandboxField.objects.create(company=company, entity="deal", order=order, field_code=code, data=data)
    # Existing deals answer the new key with null, as v2 does for every custom field.
    for record in SandboxRecord.objects.filter(company=company, kind="deal"):
        record.data.setdefault("custom_fields", {})[code] = None
        record.save(update_fields=["data"])
    return copy.deepcopy(data)


def _next_option_id(company: SandboxCompany) -> int:
    highest = 0
    for field in SandboxField.objects.filter(company=company):
        for option in field.data.get("options") or []:
            if isinstance(option.get("id"), int):
                highest = max(highest, option["id"])
    return highest + 1


def _number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_value(field: dict, value) -> None:
    if value is None:
        return
    kind = field.get("field_type")
    name = field.get("field_name")
    if kind == "monetary":
        ok = (
            isinstance(value, dict)
            and set(value) <= {"value", "currency"}
            and _number(value.get("value"))
            and isinstance(value.get("currency"), str)
            and CURRENCY.match(value["currency"])
        )
        if not ok:
            raise ApiError(400, error_body(f'Field \'{name}\' expects {{"value": number, "currency": "XXX"}}'))
    elif kind == "enum":
        ids = {o["id"] for o in field.get("options") or []}
        if not isinstance(value, int) or isinstance(value, bool) or value not in ids:
            raise ApiError(400, error_body(f"Field '{name}' expects one of its option ids"))
    elif kind == "set":
        ids = {o["id"] for o in field.get("options") or []}
        if not isinstance(value, list) or not value or not all(v in ids for v in value):
            raise ApiError(400, error_body(f"Field '{name}' expects a non-empty list of its option ids"))
    elif kind == "double":
        if not _number(value):
            raise ApiError(400, error_body(f"Field '{name}' expects a number"))
    elif kind in ("varchar", "varchar_auto", "phone"):
        if not isinstance(value, str) or len(value) > 255:
            raise ApiError(400, error_body(f"Field '{name}' expects text up to 255 characters"))
    elif kind == "text" and not isinstance(value, str):
        raise ApiError(400, error_body(f"Field '{name}' expects text"))


@transaction.atomic
def deal_update(
    *, company: SandboxCompany, deal_id: int, request: HttpRequest, user_id: int | None = None
) -> SandboxRecord:
    """Apply a v2 PATCH to a deal (only `custom_fields`, `title` and `value` are modelled)."""
    payload = _body(request)
    unknown = set(payload) - DEAL_KEYS
    if unknown:
        raise ApiError(400, error_body(f"Parameter(s) not modelled by the sandbox: {', '.join(sorted(unknown))}"))
    record = SandboxRecord.objects.select_for_update().filter(company=company, kind="deal", object_id=deal_id).first()
    if record is None or record.data.get("is_deleted"):
        raise ApiError(404, error_body("Entity was not found", error_info="Object was not found."))
    before = copy.deepcopy(record.data)
    custom = payload.get("custom_fields")
    if custom is not None:
        if not isinstance(custom, dict):
            raise ApiError(400, error_body("custom_fields must be an object"))
        fields = {
            f.field_code: f.data
            for f in SandboxField.objects.filter(company=company, entity="deal", field_code__in=list(custom))
        }
        for key, value in custom.items():
            field = fields.get(key)
            if field is None or not field.get("is_custom_field"):
                raise ApiError(400, error_body(f"Unknown custom field: {key}"))
            _check_value(field, value)
        record.data.setdefault("custom_fields", {}).update(custom)
    if "title" in payload:
        if not isinstance(payload["title"], str) or not payload["title"].strip():
            raise ApiError(400, error_body("title must be a non-empty string"))
        record.data["title"] = payload["title"]
    if "value" in payload:
        if not _number(payload["value"]):
            raise ApiError(400, error_body("value must be a number"))
        record.data["value"] = payload["value"]
    if "status" in payload:
        status_set(record=record, status=payload["status"])
    record.data["update_time"] = timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    record.save(update_fields=["data"])
    if user_id is not None:
        from integration.sandbox.pipedrive.webhooks import queue_deal_change

        queue_deal_change(company=company, user_id=user_id, before=before, after=record.data, source="api")
    return record


def status_set(*, record: SandboxRecord, status) -> None:
    """Move a deal to open, won or lost (not saved), stamping won_time/lost_time/close_time like Pipedrive."""
    if status not in ("open", "won", "lost"):
        raise ApiError(400, error_body("status must be open, won or lost"))
    now = timezone.now().strftime("%Y-%m-%dT%H:%M:%SZ")
    record.data["status"] = status
    record.data["won_time"] = now if status == "won" else None
    record.data["lost_time"] = now if status == "lost" else None
    record.data["close_time"] = now if status in ("won", "lost") else None
