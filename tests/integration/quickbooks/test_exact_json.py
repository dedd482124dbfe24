"""Money and quantities reach QuickBooks exact: our sessions write a Decimal as the JSON number it
holds (integration.jsonbody), never through float() (issue 11)."""

from __future__ import annotations

import json
import uuid
from decimal import Decimal

import pytest

from integration import jsonbody

# Neither survives float(): 17 significant digits, and a quantity with 18 places.
BIG = Decimal("1234567890123456.78")
THIRD = Decimal("0.333333333333333333")


def test_decimals_are_written_exactly_and_everything_else_as_json_dumps_writes_it():
    assert str(float(BIG)) != "1234567890123456.78"  # why float() is not allowed
    value = {"a": BIG, "b": [THIRD, Decimal("0.10"), Decimal("-0.00"), Decimal("1E+2")], 3: None, "c": 'é"x', "d": True}
    text = jsonbody.dumps(value)
    assert text == (
        '{"a": 1234567890123456.78, "b": [0.333333333333333333, 0.10, -0.00, 100], "3": null, "c": "\\u00e9\\"x", '
        '"d": true}'
    )
    assert json.loads(text, parse_float=Decimal) == {
        "a": BIG,
        "b": [THIRD, Decimal("0.10"), Decimal("-0.00"), 100],
        "3": None,
        "c": 'é"x',
        "d": True,
    }
    plain = {"x": [1, 2.5, "s", None], "y": {"z": False}}
    assert jsonbody.dumps(plain) == json.dumps(plain)
    for bad in (Decimal("NaN"), Decimal("Infinity"), float("nan")):
        with pytest.raises(ValueError):
            jsonbody.dumps({"v": bad})


def test_a_decimal_quantity_goes_to_quickbooks_exactly(connected, client_of, wire):
    client = client_of(connected)
    line = {
        "Amount": Decimal("10.00"),
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"ItemRef": {"value": "2"}, "Qty": THIRD, "UnitPrice": Decimal("30.00")},
    }
    created = client.create("Invoice", {"CustomerRef": {"value": "1"}, "Line": [line]}, request_id=str(uuid.uuid4()))
    sent = next(call for call in wire if call.request.method == "POST" and "/invoice" in call.request.url)
    assert sent.request.headers["Content-Type"] == "application/json"
    body = json.loads(sent.request.body, parse_float=Decimal)
    assert body["Line"][0]["SalesItemLineDetail"]["Qty"] == THIRD
    assert b'"Qty": 0.333333333333333333' in sent.request.body and b'"Amount": 10.00' in sent.request.body
    assert Decimal(str(created["TotalAmt"])) == Decimal("10.00")
