"""Decode Pipedrive custom field values by their field type.

REST API v2 nests custom values under `custom_fields[<40-hex key>]` with one encoding per
type (monetary → `{value, currency}`, address → object with components, enum → option id or
`{id, label}`, set → list of ids, …). Webhooks v2 wrap every value in an object with a `type`
key; the decoder accepts both so one code path serves the panel and the sync.
Docs: https://pipedrive.readme.io/docs/core-api-concepts-custom-fields ,
https://pipedrive.readme.io/docs/pipedrive-api-v2-migration-guide (Custom fields),
https://pipedrive.readme.io/docs/webhooks-v2-migration-guide
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, time
from decimal import Decimal, InvalidOperation
from typing import Any

TEXT_TYPES = {"varchar", "varchar_auto", "text", "phone", "varchar_options"}
NUMBER_TYPES = {"double", "int"}
REFERENCE_TYPES = {"user", "org", "people", "deal", "lead", "project", "product"}

ADDRESS_PARTS = (
    "street_number",
    "route",
    "subpremise",
    "sublocality",
    "locality",
    "admin_area_level_2",
    "admin_area_level_1",
    "postal_code",
    "country",
)


# API v2 objects name some standard fields differently from their field codes: personFields lists
# `phone` (SPEC2 example of GET /api/v2/personFields) and `email`, while the person object carries the
# lists `phones` and `emails` of {value, primary, label} (SPEC2 `PersonItemEmail`/`PersonItemPhone`;
# v1 used `email`/`phone` for the same lists: pipedrive-api-v2-migration-guide).
V2_OBJECT_KEYS = {"email": "emails", "phone": "phones"}


def object_key(field_code: str) -> str:
    """Where an entity read through API v2 keeps the standard field with this field code."""
    return V2_OBJECT_KEYS.get(field_code, field_code)


def standard_raw(entity: Mapping[str, Any], key: str) -> Any:
    """A standard field's raw value by field code or object key (`email` and `emails` alike), from a
    v2 object, or from a v1 one that still uses the field code as its key."""
    for name in (object_key(key), key):
        if name in entity:
            return entity[name]
    return None


def primary_value(items: Any) -> str:
    """The `value` of the primary item of an emails/phones list (else the first): the billing address."""
    if not isinstance(items, list):
        return _str(items.get("value") if isinstance(items, dict) else items)
    dicts = [item for item in items if isinstance(item, dict)]
    chosen = next((item for item in dicts if item.get("primary")), dicts[0] if dicts else None)
    return _str(chosen.get("value")) if chosen else ""


@dataclass(frozen=True)
class Money:
    amount: Decimal
    currency: str

    def __str__(self) -> str:
        return f"{self.amount} {self.currency}".strip()


@dataclass(frozen=True)
class Address:
    """An address as typed (`value`), Pipedrive's geocoded one-liner, and the parts (any may be empty)."""

    value: str = ""
    formatted_address: str = ""
    street_number: str = ""
    route: str = ""
    subpremise: str = ""
    sublocality: str = ""
    locality: str = ""
    admin_area_level_2: str = ""
    admin_area_level_1: str = ""
    postal_code: str = ""
    country: str = ""

    @property
    def formatted(self) -> str:
        """The best one-line form: geocoded if Pipedrive had it, else what the user typed."""
        return self.formatted_address or self.value

    @property
    def street(self) -> str:
        """House number and street, with the apartment/suite; empty when the address was not geocoded."""
        line = " ".join(part for part in (self.street_number, self.route) if part)
        if self.subpremise:
            line = f"{line}, {self.subpremise}" if line else self.subpremise
        return line

    @property
    def is_geocoded(self) -> bool:
        return any(getattr(self, part) for part in ADDRESS_PARTS)

    def __str__(self) -> str:
        return self.formatted


@dataclass(frozen=True)
class Option:
    id: int | str
    label: str

    def __str__(self) -> str:
        return self.label


@dataclass(frozen=True)
class DateRange:
    start: date | None
    end: date | None

    def __str__(self) -> str:
        return " to ".join(d.isoformat() for d in (self.start, self.end) if d)


@dataclass(frozen=True)
class TimeValue:
    start: time | None
    end: time | None = None
    timezone_name: str = ""
    timezone_id: int | None = None

    def __str__(self) -> str:
        text = " to ".join(t.isoformat() for t in (self.start, self.end) if t)
        return f"{text} {self.timezone_name}".strip()


@dataclass(frozen=True)
class DecodedField:
    """A custom field value with its definition: `value` is typed, `text` is for display."""

    key: str
    name: str
    field_type: str
    value: Any
    text: str


def _str(value: Any) -> str:
    return "" if value is None else str(value)


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def _date(value: Any) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def _time(value: Any) -> time | None:
    if not value:
        return None
    try:
        return time.fromisoformat(str(value))
    except ValueError:
        return None


def _unwrap(raw: Any) -> Any:
    """Webhook v2 wraps scalars as `{"type": …, "value": …}`; REST v2 sends them bare."""
    if isinstance(raw, dict) and "type" in raw and set(raw) <= {"type", "value"}:
        return raw.get("value")
    return raw


def _option_labels(options: list[dict] | None) -> dict[str, str]:
    return {str(option.get("id")): _str(option.get("label")) for option in options or [] if isinstance(option, dict)}


def _option(raw: Any, labels: dict[str, str]) -> Option | None:
    if raw is None or raw == "":
        return None
    if isinstance(raw, dict):
        option_id = raw.get("id")
        label = raw.get("label")
    else:
        option_id, label = raw, None
    if option_id is None:
        return None
    if isinstance(option_id, str) and option_id.isdigit():
        option_id = int(option_id)
    # Unknown ids (an option deleted since) still show something rather than vanish.
    return Option(id=option_id, label=_str(label) or labels.get(str(option_id), str(option_id)))


def decode_value(field_type: str, raw: Any, *, options: list[dict] | None = None) -> Any:
    """The typed value of one custom field (None when empty). Unknown types pass through unchanged."""
    if raw is None:
        return None
    if field_type in TEXT_TYPES:
        if isinstance(raw, list):  # a v2 person's `emails`/`phones`: the primary item's value
            return primary_value(raw) or None
        raw = _unwrap(raw)
        return None if raw is None or raw == "" else str(raw)
    if field_type in NUMBER_TYPES:
        return _decimal(_unwrap(raw))
    if field_type == "monetary":
        if isinstance(raw, dict):
            amount = _decimal(raw.get("value"))
            return None if amount is None else Money(amount=amount, currency=_str(raw.get("currency")).upper())
        amount = _decimal(raw)  # v1 style bare amount: currency unknown here
        return None if amount is None else Money(amount=amount, currency="")
    if field_type == "address":
        if isinstance(raw, str):
            return Address(value=raw) if raw else None
        if not isinstance(raw, dict):
            return None
        address = Address(
            value=_str(raw.get("value")),
            formatted_address=_str(raw.get("formatted_address")),
            **{part: _str(raw.get(part)) for part in ADDRESS_PARTS},
        )
        return address if (address.value or address.formatted_address or address.is_geocoded) else None
    labels = _option_labels(options)
    if field_type == "enum":
        return _option(raw, labels)
    if field_type == "set":
        if isinstance(raw, dict):  # webhook v2: {"values": [{"id": 13}], "type": "set"}
            raw = raw.get("values") or []
        if isinstance(raw, str):  # v1: "12,13"
            raw = [part for part in raw.split(",") if part]
        if not isinstance(raw, list):
            return None
        decoded = [option for option in (_option(item, labels) for item in raw) if option is not None]
        return decoded or None
    if field_type in REFERENCE_TYPES:
        if isinstance(raw, dict):
            raw = raw.get("id", raw.get("value"))
        try:
            return int(raw)
        except (TypeError, ValueError):
            return None
    if field_type == "date":
        return _date(_unwrap(raw))
    if field_type == "daterange":
        if not isinstance(raw, dict):
            return None
        start = _date(raw.get("value", raw.get("from")))
        end = _date(raw.get("until"))
        return None if start is None and end is None else DateRange(start=start, end=end)
    if field_type in ("time", "timerange"):
        if not isinstance(raw, dict):
            value = _time(raw)
            return None if value is None else TimeValue(start=value)
        starts = _time(raw.get("value", raw.get("from")))
        ends = _time(raw.get("until")) if field_type == "timerange" else None
        if starts is None and ends is None:
            return None
        timezone_id = raw.get("timezone_id")
        return TimeValue(
            start=starts,
            end=ends,
            timezone_name=_str(raw.get("timezone_name")),
            timezone_id=int(timezone_id) if isinstance(timezone_id, int | str) and str(timezone_id).isdigit() else None,
        )
    return raw


def display_text(value: Any) -> str:
    """A one-line human form of a decoded value."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(display_text(item) for item in value)
    if isinstance(value, Decimal):
        return format(value.normalize(), "f") if value == value.to_integral() else str(value)
    if isinstance(value, date | time):
        return value.isoformat()
    return str(value)


def decode_custom_fields(custom_fields: dict[str, Any] | None, definitions: list[dict]) -> dict[str, DecodedField]:
    """Decode an entity's `custom_fields` with its *Fields definitions; keys without a definition are skipped
    (a field deleted since the entity was read cannot be interpreted safely)."""
    by_code = {d.get("field_code"): d for d in definitions if isinstance(d, dict) and d.get("field_code")}
    decoded: dict[str, DecodedField] = {}
    for key, raw in (custom_fields or {}).items():
        definition = by_code.get(key)
        if definition is None:
            continue
        field_type = _str(definition.get("field_type"))
        value = decode_value(field_type, raw, options=definition.get("options"))
        decoded[key] = DecodedField(
            key=key,
            name=_str(definition.get("field_name")),
            field_type=field_type,
            value=value,
            text=display_text(value),
        )
    return decoded


def field_value(entity: Mapping[str, Any], key: str, definitions: list[dict]) -> DecodedField | None:
    """One field of an entity by key: a 40-hex custom key, or a standard key decoded by its definition."""
    definition = next((d for d in definitions if d.get("field_code") == key), None)
    if definition is None:
        return None
    if definition.get("is_custom_field"):
        raw = (entity.get("custom_fields") or {}).get(key)
    else:
        raw = standard_raw(entity, key)
    field_type = _str(definition.get("field_type"))
    value = decode_value(field_type, raw, options=definition.get("options"))
    return DecodedField(
        key=key, name=_str(definition.get("field_name")), field_type=field_type, value=value, text=display_text(value)
    )
