"""Custom field decoding, on Pipedrive's documented v2 (REST) and webhook v2 encodings."""

from __future__ import annotations

from datetime import date, time
from decimal import Decimal

import pytest

from integration.pipedrive.fields import (
    Address,
    DateRange,
    Money,
    Option,
    TimeValue,
    decode_custom_fields,
    decode_value,
    display_text,
    field_value,
)
from tests.integration.pipedrive.examples import example

V2 = example("docs-v2-custom-field-value-formats.json")
WEBHOOK = example("docs-webhook-v2-custom-field-formats.json")
OPTIONS = [{"id": 123, "label": "Gold"}, {"id": 456, "label": "Silver"}, {"id": 17, "label": "Net 30"}]


def test_text_and_number():
    assert decode_value("varchar", V2["varchar_text_varchar_auto"]) == "my text value"
    assert decode_value("text", "") is None
    value = decode_value("double", V2["double_numeric"])
    assert value == Decimal("500") and isinstance(value, Decimal)


def test_monetary_is_amount_and_currency():
    money = decode_value("monetary", V2["monetary"])
    assert money == Money(amount=Decimal("500"), currency="USD")
    assert decode_value("monetary", {"value": 12.1, "currency": "eur"}) == Money(Decimal("12.1"), "EUR")
    assert decode_value("monetary", {"value": None, "currency": "USD"}) is None


def test_address_gives_formatted_and_components():
    address = decode_value("address", V2["address"])
    assert isinstance(address, Address)
    assert address.formatted == "530 5th Ave, New York, NY 10036, USA"
    assert address.value == "530 Fifth Avenue, New York, NY, USA"
    assert address.street == "530 5th Avenue, 11"
    assert (address.locality, address.admin_area_level_1, address.postal_code, address.country) == (
        "New York",
        "New York",
        "10036",
        "United States",
    )
    assert address.is_geocoded


def test_partial_and_plain_addresses():
    typed_only = decode_value("address", {"value": "Somewhere 1, Tartu", "route": None, "country": ""})
    assert typed_only.formatted == "Somewhere 1, Tartu"
    assert typed_only.street == "" and not typed_only.is_geocoded
    assert decode_value("address", "Plain text street 5") == Address(value="Plain text street 5")
    assert decode_value("address", {"value": "", "formatted_address": None}) is None


def test_enum_and_set_become_labels():
    assert decode_value("enum", V2["enum_single_option"], options=OPTIONS) == Option(123, "Gold")
    labels = decode_value("set", V2["set_multiple_options"], options=OPTIONS)
    assert [str(o) for o in labels] == ["Gold", "Silver"]
    # include_option_labels=true sends {id, label}
    assert decode_value("enum", {"id": 123, "label": "Gold!"}, options=OPTIONS).label == "Gold!"
    # an option deleted since still shows its id rather than vanishing
    assert decode_value("enum", 999, options=OPTIONS) == Option(999, "999")
    assert display_text(labels) == "Gold, Silver"


def test_references_dates_times():
    assert decode_value("user", V2["user_people_org"]) == 1234
    assert decode_value("date", V2["date"]) == date(2024, 1, 1)
    assert decode_value("daterange", V2["daterange"]) == DateRange(date(2024, 1, 1), date(2024, 2, 1))
    assert decode_value("time", V2["time"]) == TimeValue(time(9, 0), None, "Europe/London", 318)
    timerange = decode_value("timerange", V2["timerange"])
    assert (timerange.start, timerange.end) == (time(9, 0), time(11, 0))


@pytest.mark.parametrize(
    ("field_type", "expected"),
    [
        ("varchar", "This is a custom text field."),
        ("double", Decimal("123")),
        ("monetary", Money(Decimal("200"), "EUR")),
        ("people", 17818),
        ("date", date(2023, 6, 27)),
        ("daterange", DateRange(date(2023, 6, 6), date(2023, 6, 14))),
        ("enum", Option(17, "Net 30")),
    ],
)
def test_webhook_v2_encoding_decodes_the_same(field_type, expected):
    assert decode_value(field_type, WEBHOOK[field_type], options=OPTIONS) == expected


def test_webhook_set_and_address():
    assert [o.id for o in decode_value("set", WEBHOOK["set"], options=OPTIONS)] == [13, 14]
    address = decode_value("address", WEBHOOK["address"])
    assert address.formatted == "Mustamäe tee 3a, 10616 Tallinn, Estonia"
    assert address.street == "3a Mustamäe tee"


def test_decode_custom_fields_with_definitions_from_deal_fields():
    definitions = example("spec-v2-GET-dealFields.json")["data"]
    key = "40characterhashforcustomfieldidentifier"
    decoded = decode_custom_fields({key: 3, "f" * 40: "no definition"}, definitions)
    assert list(decoded) == [key]
    assert decoded[key].name == "Priority"
    assert decoded[key].value == Option(3, "High")
    assert decoded[key].text == "High"


def test_field_value_reads_standard_fields_by_definition():
    definitions = example("spec-v2-GET-organizationFields.json")["data"]
    organization = example("spec-v2-GET-organizations-id.json")["data"]
    address = field_value(organization, "address", definitions)
    assert address.field_type == "address"
    assert address.value.street == "123 Main St, 123A"
    assert address.value.postal_code == "94085"
    assert field_value(organization, "nope", definitions) is None
