"""QBO bodies and rows: money goes out exactly (never through float), rows are read once."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from integration import jsonbody
from integration.quickbooks import documents, records
from invoices.drafts import DraftAddress


def test_decimals_go_to_quickbooks_as_the_exact_numbers_they_are():
    lines = [
        documents.SalesLine(
            item_id="2",
            description='A "quoted" line, with ünïcode',
            amount=Decimal("0.30"),
            quantity=Decimal("3"),
            unit_price=Decimal("0.10"),
            tax_code="NON",
        ),
        documents.SalesLine(
            item_id="3",
            description="big",
            amount=Decimal("12345678901234.57"),
            quantity=Decimal("1"),
            unit_price=Decimal("12345678901234.57"),
            tax_code="TAX",
        ),
    ]
    body = documents.invoice_body(
        customer_id="58",
        txn_date="2026-11-27",
        due_date="2026-12-27",
        lines=lines,
        total_tax=Decimal("1E+1"),
        bill_address=DraftAddress(line1="1 Main St", city="Springfield"),
    )
    text = jsonbody.dumps(body)  # what the client's session sends for `json=`
    # 0.1 + 0.2 as floats is 0.30000000000000004; 12345678901234.57 has no exact float.
    assert '"Amount": 0.30' in text and '"UnitPrice": 0.10' in text
    assert '"Amount": 12345678901234.57' in text and '"TotalTax": 10' in text
    back = json.loads(text, parse_float=Decimal)
    assert back["Line"][1]["SalesItemLineDetail"]["UnitPrice"] == Decimal("12345678901234.57")
    assert back["Line"][0]["Description"] == 'A "quoted" line, with ünïcode'
    assert back["BillAddr"] == {"Line1": "1 Main St", "City": "Springfield"}
    assert [line["LineNum"] for line in back["Line"]] == [1, 2]


@pytest.mark.parametrize("value", [Decimal("NaN"), Decimal("Infinity"), float("nan"), object()])
def test_what_is_not_a_finite_number_is_refused_before_anything_is_sent(value):
    with pytest.raises((TypeError, ValueError)):
        jsonbody.dumps({"Amount": value})


def test_a_text_that_looks_like_a_placeholder_stays_text():
    body = {"Description": "x:0", "Amount": Decimal("1.50")}
    assert json.loads(jsonbody.dumps(body), parse_float=Decimal) == {
        "Description": "x:0",
        "Amount": Decimal("1.50"),
    }


def test_rows_are_read_into_typed_records():
    invoice = records.invoice_of(
        {
            "Id": "130",
            "SyncToken": "2",
            "DocNumber": "1037",
            "CustomerRef": {"value": "58", "name": "Rock Castle"},
            "BillEmail": {"Address": "a@example.com"},
            "TotalAmt": 150.0,
            "Balance": 50,
            "TxnTaxDetail": {"TotalTax": 0},
            "TxnDate": "2026-11-01",
            "DueDate": "2026-12-01",
            "EmailStatus": "EmailSent",
            "MetaData": {"LastUpdatedTime": "2026-11-02T10:00:00-08:00"},
        }
    )
    assert (invoice.id, invoice.customer_id, invoice.customer_name, invoice.sync_token) == (
        "130",
        "58",
        "Rock Castle",
        "2",
    )
    assert invoice.email_sent and not invoice.deleted and invoice.amounts["TotalAmt"] == 150.0
    assert records.invoice_of(records.invoice_deleted_stub("130")).deleted

    payment = records.payment_of(
        {
            "Id": "9",
            "Line": [
                {"Amount": 50, "LinkedTxn": [{"TxnId": "130", "TxnType": "Invoice"}]},
                {"Amount": 20, "LinkedTxn": [{"TxnId": "77", "TxnType": "CreditMemo"}]},
                "not a line",
            ],
            "PaymentMethodRef": {"value": "1", "name": "Check"},
        }
    )
    assert [(line.invoice_ids, line.credit_memo_ids) for line in payment.lines] == [(["130"], []), ([], ["77"])]
    assert payment.method == "Check"

    customer = records.customer_of({"Id": 3, "DisplayName": "Cool Cars", "Active": False, "BillAddr": {"Line2": "B"}})
    assert (customer.id, customer.active, customer.address_lines, customer.currency) == ("3", False, ["B"], "")


def test_a_customer_update_changes_only_what_differs():
    existing = records.customer_of(
        {"Id": "3", "PrimaryEmailAddr": {"Address": "old@example.com"}, "BillAddr": {"Line1": "1 Main St"}}
    )
    same_address = DraftAddress(line1="1 Main St")
    assert documents.customer_update_from_draft(existing=existing, email="old@example.com", address=same_address) == {}
    changes = documents.customer_update_from_draft(
        existing=existing, email="new@example.com", address=DraftAddress(line1="2 High St", city="Leeds")
    )
    assert changes == {
        "PrimaryEmailAddr": {"Address": "new@example.com"},
        "BillAddr": {"Line1": "2 High St", "City": "Leeds"},
    }
