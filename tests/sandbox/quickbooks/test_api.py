"""Behaviour of the Accounting API: writes, SyncToken, delete, totals, tax, currency, payments, replay."""

from decimal import Decimal

import pytest

from integration.sandbox.quickbooks import controls
from integration.sandbox.quickbooks.models import SandboxEntity
from tests.sandbox.quickbooks.conftest import US


def line(item="2", qty=1, price=None, amount=None, tax=None, **extra):
    detail = {"ItemRef": {"value": item}, "Qty": qty}
    if price is not None:
        detail["UnitPrice"] = price
    if tax:
        detail["TaxCodeRef"] = {"value": tax}
    out = {"DetailType": "SalesItemLineDetail", "SalesItemLineDetail": detail, **extra}
    if amount is not None:
        out["Amount"] = amount
    return out


def create(api, **body):
    response = api.post("invoice", body)
    assert response.status_code == 200, response.content
    return response.json()["Invoice"]


def fault(response):
    assert response.status_code == 400, response.content
    return response.json()["Fault"]["Error"][0]


def test_minorversion_below_75_is_read_as_75_and_unknown_ones_are_refused(us_api):
    """Blog 2025-01-21 "Changes to our Accounting API": 1-74 ignored (answered as 75), none means 75."""
    for version in ("3", "74", "75"):
        assert us_api.get("customer/1", minorversion=version).status_code == 200
    for version in ("76", "99", "abc", "-1"):
        error = fault(us_api.get("customer/1", minorversion=version))
        assert error["element"] == "minorversion" and "75" in error["Detail"]


def test_line_amount_is_qty_times_price_and_mismatch_is_refused(us_api):
    invoice = create(us_api, CustomerRef={"value": "3"}, Line=[line(qty=3, price=19.99), line(qty=2, price=0.125)])
    assert [ln["Amount"] for ln in invoice["Line"]] == [59.97, 0.25, 60.22]
    assert invoice["TotalAmt"] == 60.22
    error = fault(us_api.post("invoice", {"CustomerRef": {"value": "3"}, "Line": [line(qty=2, price=10, amount=21)]}))
    assert error["code"] == "6070"


def test_us_tax_codes_must_be_tax_or_non_and_tax_is_computed(us_api):
    error = fault(us_api.post("invoice", {"CustomerRef": {"value": "1"}, "Line": [line(price=50, tax="2")]}))
    assert error["code"] == "6100" and "TAX or NON" in error["Detail"]
    invoice = create(us_api, CustomerRef={"value": "1"}, Line=[line(price=100, tax="TAX"), line(price=50, tax="NON")])
    assert invoice["TxnTaxDetail"]["TotalTax"] == 8  # 8% California on the TAX line only
    assert invoice["TxnTaxDetail"]["TaxLine"][0]["TaxLineDetail"]["NetAmountTaxable"] == 100
    assert invoice["TotalAmt"] == 158 and "GlobalTaxCalculation" not in invoice


def test_non_us_lines_need_a_tax_code_id_and_vat_is_added(uk_api):
    error = fault(
        uk_api.post("invoice", {"CustomerRef": {"value": "1"}, "Line": [line(item="2", price=10, tax="TAX")]})
    )
    assert error["code"] == "2500"
    invoice = create(
        uk_api,
        CustomerRef={"value": "1"},
        Line=[line(item="1", qty=2, price=100, tax="2"), line(item="3", qty=1, price=20, tax="4")],
    )
    assert invoice["GlobalTaxCalculation"] == "TaxExcluded"
    assert invoice["TxnTaxDetail"]["TotalTax"] == 40  # 20% of 200, 0% of 20
    assert invoice["TotalAmt"] == 260
    assert invoice["CurrencyRef"] == {"value": "GBP", "name": "British Pound Sterling"}
    assert invoice["HomeTotalAmt"] == 260  # multicurrency company: home amounts present


def test_tax_inclusive_amounts_are_gross(uk_api):
    invoice = create(
        uk_api,
        CustomerRef={"value": "1"},
        GlobalTaxCalculation="TaxInclusive",
        Line=[line(item="1", qty=1, amount=120, tax="2")],
    )
    sales = invoice["Line"][0]
    assert sales["Amount"] == 100 and sales["SalesItemLineDetail"]["TaxInclusiveAmt"] == 120
    assert invoice["TxnTaxDetail"]["TotalTax"] == 20 and invoice["TotalAmt"] == 120


def test_invoice_currency_follows_the_customer(uk_api, us_api):
    eur = create(uk_api, CustomerRef={"value": "2"}, Line=[line(item="1", price=100, tax="2")])
    assert eur["CurrencyRef"]["value"] == "EUR" and eur["ExchangeRate"] == 0.86
    assert eur["HomeTotalAmt"] == 103.2  # 120 EUR at 0.86
    mismatch = uk_api.post(
        "invoice",
        {"CustomerRef": {"value": "2"}, "CurrencyRef": {"value": "GBP"}, "Line": [line(item="1", price=1, tax="2")]},
    )
    assert "must match the currency of the customer" in fault(mismatch)["Detail"]
    off = us_api.post("customer", {"DisplayName": "Euro Buyer", "CurrencyRef": {"value": "EUR"}})
    assert "Multicurrency is not enabled" in fault(off)["Detail"]


def test_sparse_and_full_update_with_sync_token(us_api):
    invoice = create(us_api, CustomerRef={"value": "3"}, Line=[line(price=10)], PrivateNote="first")
    sparse = us_api.post("invoice", {"Id": invoice["Id"], "SyncToken": "0", "sparse": True, "DueDate": "2030-01-31"})
    body = sparse.json()["Invoice"]
    assert body["SyncToken"] == "1" and body["DueDate"] == "2030-01-31" and body["PrivateNote"] == "first"
    stale = us_api.post("invoice", {"Id": invoice["Id"], "SyncToken": "0", "sparse": True, "DueDate": "2030-02-01"})
    assert fault(stale)["code"] == "5010"
    full = us_api.post(
        "invoice", {"Id": invoice["Id"], "SyncToken": "1", "CustomerRef": {"value": "3"}, "Line": [line(price=30)]}
    ).json()["Invoice"]
    assert full["SyncToken"] == "2" and full["TotalAmt"] == 30
    assert "PrivateNote" not in full  # full update: omitted writable fields are cleared
    assert full["DocNumber"] == invoice["DocNumber"]


def test_deleted_invoice_answers_610_and_cannot_be_deleted_twice(us_api):
    invoice = create(us_api, CustomerRef={"value": "3"}, Line=[line(price=10)])
    us_api.post("invoice", {"Id": invoice["Id"], "SyncToken": "0"}, operation="delete")
    gone = fault(us_api.get(f"invoice/{invoice['Id']}"))
    assert gone["code"] == "610" and "deleted" in gone["Detail"]
    again = us_api.post("invoice", {"Id": invoice["Id"], "SyncToken": "0"}, operation="delete")
    assert fault(again)["code"] == "610"
    customer_delete = us_api.post("customer", {"Id": "3", "SyncToken": "0"}, operation="delete")
    assert fault(customer_delete)["code"] == "500"


def test_display_name_is_unique_case_insensitively_including_inactive(us_api):
    assert fault(us_api.post("customer", {"DisplayName": "dormant holdings llc"}))["code"] == "6240"
    ok = us_api.post("customer", {"GivenName": "Jane", "FamilyName": "Doe"})
    assert ok.json()["Customer"]["DisplayName"] == "Jane Doe"
    rename = us_api.post("customer", {"Id": "3", "SyncToken": "0", "sparse": True, "DisplayName": "Jane Doe"})
    assert fault(rename)["code"] == "6240"


def test_payments_reduce_balance_and_link_the_invoice(us_api):
    invoice = create(us_api, CustomerRef={"value": "3"}, Line=[line(qty=2, price=50)])
    partial = controls.record_payment(realm_id=US, invoice_id=invoice["Id"], amount="40")
    read = us_api.get(f"invoice/{invoice['Id']}").json()["Invoice"]
    assert read["Balance"] == 60 and read["TotalAmt"] == 100 and read["SyncToken"] == "1"
    assert {"TxnId": partial["Id"], "TxnType": "Payment"} in read["LinkedTxn"]
    assert us_api.get("customer/3").json()["Customer"]["Balance"] == 60
    over = us_api.post(
        "payment",
        {
            "CustomerRef": {"value": "3"},
            "TotalAmt": 70,
            "Line": [{"Amount": 70, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
        },
    )
    assert "exceeds the open balance" in fault(over)["Detail"]
    controls.record_payment(realm_id=US, invoice_id=invoice["Id"])
    assert us_api.get(f"invoice/{invoice['Id']}").json()["Invoice"]["Balance"] == 0
    # Deleting the partial payment reopens that part of the invoice.
    pay = us_api.get(f"payment/{partial['Id']}").json()["Payment"]
    us_api.post("payment", {"Id": pay["Id"], "SyncToken": pay["SyncToken"]}, operation="delete")
    assert us_api.get(f"invoice/{invoice['Id']}").json()["Invoice"]["Balance"] == 40


def test_voiding_a_payment_restores_the_balance(us_api):
    invoice = create(us_api, CustomerRef={"value": "3"}, Line=[line(price=80)])
    payment = controls.record_payment(realm_id=US, invoice_id=invoice["Id"])
    voided = us_api.post(
        "payment", {"Id": payment["Id"], "SyncToken": "0", "sparse": True}, operation="update", include="void"
    ).json()["Payment"]
    assert voided["TotalAmt"] == 0 and voided["PrivateNote"] == "Voided" and voided["Line"] == []
    assert us_api.get(f"invoice/{invoice['Id']}").json()["Invoice"]["Balance"] == 80


def test_deposit_lowers_the_balance(us_api):
    invoice = create(us_api, CustomerRef={"value": "3"}, Line=[line(price=52)], Deposit=12)
    assert invoice["TotalAmt"] == 52 and invoice["Balance"] == 40


def test_requestid_replays_the_first_response_without_a_second_write(us_api):
    body = {"CustomerRef": {"value": "3"}, "Line": [line(price=10)]}
    first = us_api.post("invoice", body, requestid="req-abc-1")
    second = us_api.post("invoice", body, requestid="req-abc-1")
    assert first.status_code == second.status_code == 200
    assert first.json()["Invoice"] == second.json()["Invoice"]
    assert SandboxEntity.objects.filter(entity="Invoice", realm__realm_id=US).count() == 1
    third = us_api.post("invoice", body, requestid="req-abc-2")
    assert third.json()["Invoice"]["Id"] != first.json()["Invoice"]["Id"]
    # A fault is replayed too (the request is not re-run).
    bad = us_api.post("customer", {"DisplayName": "Red Rock Diner"}, requestid="req-dup")
    assert fault(bad)["code"] == "6240"
    assert us_api.post("customer", {"DisplayName": "Totally New"}, requestid="req-dup").json() == bad.json()


def test_send_without_any_email_is_refused(us_api):
    invoice = create(us_api, CustomerRef={"value": "3"}, Line=[line(price=10)])
    invoice_no_mail = controls.edit_invoice(realm_id=US, invoice_id=invoice["Id"], changes={"BillEmail": None})
    assert "BillEmail" not in invoice_no_mail or not invoice_no_mail["BillEmail"]
    refused = us_api.post(f"invoice/{invoice['Id']}/send", raw="", content_type="application/octet-stream")
    assert "email" in fault(refused)["Detail"]


def test_pdf_is_a_real_pdf_showing_the_invoice(us_api):
    invoice = create(us_api, CustomerRef={"value": "1"}, Line=[line(item="3", qty=2, price=75)])
    response = us_api.get(f"invoice/{invoice['Id']}/pdf")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-1.")
    assert f"INVOICE {invoice['DocNumber']}".encode() in response.content
    assert b"USD 150.00" in response.content and b"Amy's Bird Sanctuary" in response.content


def test_docnumbers_are_sequential_and_custom_ones_are_kept(us_api):
    a = create(us_api, CustomerRef={"value": "3"}, Line=[line(price=1)])
    b = create(us_api, CustomerRef={"value": "3"}, Line=[line(price=1)])
    assert int(b["DocNumber"]) == int(a["DocNumber"]) + 1
    custom = create(us_api, CustomerRef={"value": "3"}, Line=[line(price=1)], DocNumber="INV-77")
    assert custom["DocNumber"] == "INV-77"
    too_long = us_api.post("invoice", {"CustomerRef": {"value": "3"}, "Line": [line(price=1)], "DocNumber": "X" * 22})
    assert fault(too_long)["code"] == "2050"


def test_inactive_customer_and_item_are_refused_on_invoices(us_api):
    assert fault(us_api.post("invoice", {"CustomerRef": {"value": "4"}, "Line": [line(price=1)]}))["code"] == "2500"
    assert (
        fault(us_api.post("invoice", {"CustomerRef": {"value": "3"}, "Line": [line(item="6", price=1)]}))["code"]
        == "2500"
    )


def test_batch_over_30_items_is_refused(us_api):
    items = [{"bId": f"b{i}", "Query": "select * from Item"} for i in range(31)]
    response = us_api.post("batch", {"BatchItemRequest": items})
    assert fault(response)["code"] == "1040"


def test_batch_items_run_in_order_and_failures_do_not_undo_others(us_api):
    response = us_api.post(
        "batch",
        {
            "BatchItemRequest": [
                {"bId": "1", "operation": "create", "Customer": {"DisplayName": "Batch One"}},
                {"bId": "2", "operation": "create", "Customer": {"DisplayName": "Batch One"}},
                {"bId": "3", "Query": "select count(*) from Customer where DisplayName = 'Batch One'"},
            ]
        },
    )
    items = response.json()["BatchItemResponse"]
    assert items[1]["Fault"]["Error"][0]["code"] == "6240"
    assert items[2]["QueryResponse"] == {"totalCount": 1}


def test_cdc_rejects_old_windows_and_tax_entities(us_api):
    assert fault(us_api.get("cdc", entities="Invoice", changedSince="2001-01-01"))["code"] == "6000"
    assert fault(us_api.get("cdc", entities="TaxCode", changedSince="2099-01-01"))["code"] == "4001"


@pytest.mark.parametrize("path", ["customer", "Customer/1", "invoice/1/email", "reports/ProfitAndLoss"])
def test_unknown_paths_are_unsupported_operations(us_api, path):
    assert fault(us_api.get(path))["code"] == "500"


def test_money_is_decimal_exact(uk_api):
    invoice = create(uk_api, CustomerRef={"value": "1"}, Line=[line(item="1", qty=3, price=0.1, tax="2")])
    assert Decimal(str(invoice["TotalAmt"])) == Decimal("0.36")


def test_company_currencies_only_with_multicurrency(uk_api, us_api):
    created = uk_api.post("companycurrency", {"Code": "CAD"}).json()["CompanyCurrency"]
    assert created["Name"] == "Canadian Dollar" and created["Active"] is True
    customer = uk_api.post("customer", {"DisplayName": "Maple Ltd", "CurrencyRef": {"value": "CAD"}})
    assert customer.json()["Customer"]["CurrencyRef"]["value"] == "CAD"
    assert fault(uk_api.post("companycurrency", {"Code": "CAD"}))["code"] == "6240"
    assert "Multicurrency" in fault(us_api.post("companycurrency", {"Code": "EUR"}))["Detail"]
    listed = uk_api.query("select * from CompanyCurrency").json()["QueryResponse"]["CompanyCurrency"]
    assert {c["Code"] for c in listed} == {"EUR", "USD", "CAD"}


def test_customer_currency_is_fixed_once_it_has_transactions(uk_api):
    create(uk_api, CustomerRef={"value": "1"}, Line=[line(item="1", price=10, tax="2")])
    change = uk_api.post("customer", {"Id": "1", "SyncToken": "0", "sparse": True, "CurrencyRef": {"value": "EUR"}})
    assert "currency" in fault(change)["Detail"]


def test_payment_must_match_the_invoice_customer(us_api):
    invoice = create(us_api, CustomerRef={"value": "3"}, Line=[line(price=10)])
    wrong = us_api.post(
        "payment",
        {
            "CustomerRef": {"value": "1"},
            "TotalAmt": 5,
            "Line": [{"Amount": 5, "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}]}],
        },
    )
    assert "another customer" in fault(wrong)["Detail"]
    unapplied = us_api.post("payment", {"CustomerRef": {"value": "3"}, "TotalAmt": 5}).json()["Payment"]
    assert unapplied["UnappliedAmt"] == 5 and unapplied["Line"] == []


def test_item_needs_an_income_account_and_a_unique_name(us_api):
    assert fault(us_api.post("item", {"Name": "Widget", "Type": "Service"}))["element"] == "IncomeAccountRef"
    made = us_api.post("item", {"Name": "Widget", "Type": "Service", "IncomeAccountRef": {"value": "1"}})
    assert made.json()["Item"]["IncomeAccountRef"] == {"value": "1", "name": "Services"}
    dup = us_api.post("item", {"Name": "widget", "Type": "Service", "IncomeAccountRef": {"value": "1"}})
    assert fault(dup)["code"] == "6240"


def test_customer_with_open_balance_cannot_be_deactivated(us_api):
    create(us_api, CustomerRef={"value": "3"}, Line=[line(price=10)])
    refused = us_api.post("customer", {"Id": "3", "SyncToken": "0", "sparse": True, "Active": False})
    assert "open balance" in fault(refused)["Detail"]
    ok = us_api.post("customer", {"Id": "1", "SyncToken": "0", "sparse": True, "Active": False})
    assert ok.json()["Customer"]["Active"] is False
    assert "1" not in [c["Id"] for c in us_api.query("select * from Customer").json()["QueryResponse"]["Customer"]]


def test_invoice_link_only_with_online_payment_and_email(us_api, client):
    plain = create(us_api, CustomerRef={"value": "1"}, Line=[line(price=10)])
    assert "InvoiceLink" not in us_api.get(f"invoice/{plain['Id']}", include="invoiceLink").json()["Invoice"]
    no_email = us_api.post(
        "invoice",
        {"CustomerRef": {"value": "1"}, "Line": [line(price=10)], "AllowOnlineCreditCardPayment": True},
        include="invoiceLink",
    ).json()["Invoice"]
    assert "BillEmail" not in no_email and "InvoiceLink" not in no_email  # the customer's email is not copied
    online = us_api.post(
        "invoice",
        {
            "CustomerRef": {"value": "1"},
            "Line": [line(price=10)],
            "AllowOnlineCreditCardPayment": True,
            "BillEmail": {"Address": "birds@example.com"},
        },
        include="invoiceLink",
    ).json()["Invoice"]
    link = online["InvoiceLink"]
    assert link.startswith("http://testserver/sandbox/quickbooks/app/invoice?txnId=")
    assert "InvoiceLink" not in us_api.get(f"invoice/{online['Id']}").json()["Invoice"]
    assert client.get(link.removeprefix("http://testserver")).status_code == 200
