"""Credit memos, credit applied by payments, unapplied credit and the customer's open balance in the
QBO sandbox (README "Credit memos and customer balance"; Intuit's CreditMemo and Payment references)."""

from decimal import Decimal

import pytest

from integration.sandbox.quickbooks import controls
from tests.sandbox.quickbooks.conftest import US
from tests.sandbox.quickbooks.test_webhooks import receiver  # noqa: F401 (fixture)

CUSTOMER = "3"  # Red Rock Diner: not taxable, so totals are the line amounts


def sale(amount, item="2"):
    return {"DetailType": "SalesItemLineDetail", "Amount": amount, "SalesItemLineDetail": {"ItemRef": {"value": item}}}


def ok(response, entity):
    assert response.status_code == 200, response.content
    return response.json()[entity]


def fault(response):
    assert response.status_code == 400, response.content
    return response.json()["Fault"]["Error"][0]


def invoice(api, amount, customer=CUSTOMER):
    return ok(api.post("invoice", {"CustomerRef": {"value": customer}, "Line": [sale(amount)]}), "Invoice")


def credit_memo(api, amount, customer=CUSTOMER, **extra):
    body = {"CustomerRef": {"value": customer}, "Line": [sale(amount)], **extra}
    return ok(api.post("creditmemo", body), "CreditMemo")


def pay(api, total, *links, customer=CUSTOMER):
    """A payment of `total` cash with lines `(amount, txn_type, txn_id)`."""
    lines = [{"Amount": amount, "LinkedTxn": [{"TxnId": txn_id, "TxnType": kind}]} for amount, kind, txn_id in links]
    return api.post("payment", {"CustomerRef": {"value": customer}, "TotalAmt": total, "Line": lines})


def balance(api, customer=CUSTOMER) -> Decimal:
    return Decimal(str(ok(api.get(f"customer/{customer}"), "Customer")["Balance"]))


def read(api, entity, qbo_id):
    return ok(api.get(f"{entity.lower()}/{qbo_id}"), entity)


def test_a_credit_memo_reads_like_intuits_sample(us_api):
    memo = credit_memo(us_api, 50, PrivateNote="Damaged goods")
    # Create response of Intuit's CreditMemo reference: Balance and RemainingCredit both the total.
    assert memo["TotalAmt"] == 50 and memo["RemainingCredit"] == 50 and memo["Balance"] == 50
    assert memo["CustomerRef"] == {"value": CUSTOMER, "name": "Red Rock Diner"}
    assert memo["Line"][-1] == {"Amount": 50, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}
    assert memo["DocNumber"] and memo["TxnDate"] and memo["SyncToken"] == "0"
    assert memo["PrintStatus"] == "NeedToPrint" and memo["EmailStatus"] == "NotSet"
    for invoice_only in ("DueDate", "Deposit", "AllowOnlineCreditCardPayment", "LinkedTxn"):
        assert invoice_only not in memo
    assert read(us_api, "CreditMemo", memo["Id"]) == memo
    raw = us_api.get(f"creditmemo/{memo['Id']}").content.decode()
    assert '"RemainingCredit":50.00' in raw  # money written with two decimals, as QBO does


def test_query_and_cdc_find_credit_memos(us_api):
    memo = credit_memo(us_api, 20)
    found = us_api.query(f"SELECT * FROM CreditMemo WHERE CustomerRef = '{CUSTOMER}' AND Balance > '0'").json()  # noqa: S608 (QBO query)
    assert [m["Id"] for m in found["QueryResponse"]["CreditMemo"]] == [memo["Id"]]
    by_id = us_api.query(f"SELECT Id, RemainingCredit FROM CreditMemo WHERE Id IN ('{memo['Id']}')").json()  # noqa: S608 (QBO query)
    assert by_id["QueryResponse"]["CreditMemo"] == [
        {"Id": memo["Id"], "RemainingCredit": 20, "domain": "QBO", "sparse": True}
    ]
    # RemainingCredit is read only and not marked filterable in Intuit's reference.
    refused = us_api.query("SELECT * FROM CreditMemo WHERE RemainingCredit > '0'")
    assert refused.status_code == 400
    cdc = us_api.get("cdc", entities="CreditMemo", changedSince="2020-01-01T00:00:00Z")
    assert cdc.status_code == 400  # older than 30 days
    since = memo["MetaData"]["CreateTime"]
    changed = us_api.get("cdc", entities="CreditMemo,Payment", changedSince=since).json()
    groups = changed["CDCResponse"][0]["QueryResponse"]
    assert [m["Id"] for m in groups[0]["CreditMemo"]] == [memo["Id"]]
    assert groups[1] == {}


@pytest.mark.parametrize(
    ("body", "element"),
    [
        ({"Line": [sale(10)]}, "CustomerRef"),
        ({"CustomerRef": {"value": CUSTOMER}}, "Line"),
        ({"CustomerRef": {"value": CUSTOMER}, "Line": [sale("ten")]}, "Line.Amount"),
    ],
)
def test_credit_memo_required_fields_and_numbers(us_api, body, element):
    assert fault(us_api.post("creditmemo", body))["element"] == element


def test_credit_memo_refuses_invoice_only_fields_void_and_unknown_customers(us_api):
    for key, value in (("DueDate", "2027-01-01"), ("Deposit", 5)):
        body = {"CustomerRef": {"value": CUSTOMER}, "Line": [sale(10)], key: value}
        assert fault(us_api.post("creditmemo", body))["code"] == "2010"
    assert fault(us_api.post("creditmemo", {"CustomerRef": {"value": "999"}, "Line": [sale(10)]}))
    memo = credit_memo(us_api, 10)
    voided = us_api.post("creditmemo", {"Id": memo["Id"], "SyncToken": "0"}, operation="void")
    assert fault(voided)["code"] == "500"  # the CreditMemo reference documents no void


def test_balances_through_invoice_payment_credit_and_overpayment(us_api):
    start = balance(us_api)
    inv = invoice(us_api, 100)
    assert balance(us_api) == start + 100

    cash = ok(pay(us_api, 40, (40, "Invoice", inv["Id"])), "Payment")
    assert cash["UnappliedAmt"] == 0
    assert read(us_api, "Invoice", inv["Id"])["Balance"] == 60
    assert balance(us_api) == start + 60

    memo = credit_memo(us_api, 30)
    assert balance(us_api) == start + 30  # unapplied credit already lowers the open balance

    # Apply the credit: a payment with no cash whose invoice line equals its credit line.
    applied = ok(pay(us_api, 0, (30, "Invoice", inv["Id"]), (30, "CreditMemo", memo["Id"])), "Payment")
    assert applied["TotalAmt"] == 0 and applied["UnappliedAmt"] == 0
    assert read(us_api, "Invoice", inv["Id"])["Balance"] == 30
    used = read(us_api, "CreditMemo", memo["Id"])
    assert used["RemainingCredit"] == 0 and used["Balance"] == 0 and used["SyncToken"] == "1"
    assert balance(us_api) == start + 30  # applying credit moves nothing between the customer and us

    # 50 received for the last 30: 20 stays unapplied on the payment.
    over = ok(pay(us_api, 50, (30, "Invoice", inv["Id"])), "Payment")
    assert over["UnappliedAmt"] == 20
    paid = read(us_api, "Invoice", inv["Id"])
    assert paid["Balance"] == 0
    assert {lt["TxnId"] for lt in paid["LinkedTxn"]} == {cash["Id"], applied["Id"], over["Id"]}
    assert balance(us_api) == start - 20


def test_credit_and_cash_in_one_payment_and_a_partly_used_memo(us_api):
    start = balance(us_api)
    inv = invoice(us_api, 80)
    memo = credit_memo(us_api, 50)
    payment = ok(pay(us_api, 60, (80, "Invoice", inv["Id"]), (20, "CreditMemo", memo["Id"])), "Payment")
    # 60 cash + 20 credit pay the 80 invoice; 60 - (80 - 20) = 0 unapplied.
    assert payment["UnappliedAmt"] == 0
    assert read(us_api, "Invoice", inv["Id"])["Balance"] == 0
    assert read(us_api, "CreditMemo", memo["Id"])["RemainingCredit"] == 30
    assert balance(us_api) == start - 30


def test_credit_refusals_write_nothing(us_api):
    inv = invoice(us_api, 100)
    memo = credit_memo(us_api, 30)
    other = credit_memo(us_api, 30, customer="1")
    cases = [
        pay(us_api, 0, (40, "Invoice", inv["Id"]), (40, "CreditMemo", memo["Id"])),  # more than is left
        pay(us_api, 0, (10, "Invoice", inv["Id"]), (20, "CreditMemo", memo["Id"])),  # credit turned into cash
        pay(us_api, 0, (20, "Invoice", inv["Id"]), (20, "CreditMemo", other["Id"])),  # another customer's
        pay(us_api, 0, (20, "Invoice", inv["Id"]), (20, "CreditMemo", "9999")),  # no such memo
        pay(us_api, 0, (20, "Invoice", inv["Id"]), (-20, "CreditMemo", memo["Id"])),  # negative credit
        pay(us_api, 5, (30, "Invoice", inv["Id"]), (20, "CreditMemo", memo["Id"])),  # 10 more than received
    ]
    for response in cases:
        assert fault(response)["code"] == "6000", response.content
    mixed = us_api.post(
        "payment",
        {
            "CustomerRef": {"value": CUSTOMER},
            "TotalAmt": 10,
            "Line": [{"Amount": 10, "LinkedTxn": [{"TxnId": "1", "TxnType": "Estimate"}]}],
        },
    )
    assert fault(mixed)["code"] == "620"
    assert read(us_api, "CreditMemo", memo["Id"])["RemainingCredit"] == 30
    assert read(us_api, "Invoice", inv["Id"])["Balance"] == 100


def test_voiding_or_deleting_the_payment_gives_the_credit_back(us_api):
    inv = invoice(us_api, 100)
    memo = credit_memo(us_api, 30)
    applied = ok(pay(us_api, 0, (30, "Invoice", inv["Id"]), (30, "CreditMemo", memo["Id"])), "Payment")
    # An applied credit memo cannot be deleted (like an invoice with payments).
    assert fault(us_api.post("creditmemo", {"Id": memo["Id"], "SyncToken": "1"}, operation="delete"))
    voided = us_api.post(
        "payment", {"Id": applied["Id"], "SyncToken": "0", "sparse": True}, operation="update", include="void"
    )
    assert voided.status_code == 200, voided.content
    assert read(us_api, "CreditMemo", memo["Id"])["RemainingCredit"] == 30
    assert read(us_api, "Invoice", inv["Id"])["Balance"] == 100

    again = ok(pay(us_api, 0, (30, "Invoice", inv["Id"]), (30, "CreditMemo", memo["Id"])), "Payment")
    assert read(us_api, "CreditMemo", memo["Id"])["RemainingCredit"] == 0
    deleted = us_api.post("payment", {"Id": again["Id"], "SyncToken": "0"}, operation="delete")
    assert deleted.status_code == 200, deleted.content
    assert read(us_api, "CreditMemo", memo["Id"])["RemainingCredit"] == 30
    token = read(us_api, "CreditMemo", memo["Id"])["SyncToken"]
    assert token == "4"  # every use and return of its credit was a change of the credit memo
    gone = us_api.post("creditmemo", {"Id": memo["Id"], "SyncToken": token}, operation="delete")
    assert gone.json()["CreditMemo"] == {"status": "Deleted", "domain": "QBO", "Id": memo["Id"]}


def test_voiding_an_invoice_paid_with_credit_returns_the_credit_and_the_cash(us_api):
    start = balance(us_api)
    inv = invoice(us_api, 100)
    memo = credit_memo(us_api, 30)
    payment = ok(pay(us_api, 70, (100, "Invoice", inv["Id"]), (30, "CreditMemo", memo["Id"])), "Payment")
    controls.void_invoice(realm_id=US, invoice_id=inv["Id"])
    after = read(us_api, "Payment", payment["Id"])
    assert after["Line"] == [] and after["UnappliedAmt"] == 70
    assert read(us_api, "CreditMemo", memo["Id"])["RemainingCredit"] == 30
    assert balance(us_api) == start - 100  # 70 cash + 30 credit now owed back to the customer


def test_full_update_cannot_shrink_below_the_credit_used(us_api):
    inv = invoice(us_api, 100)
    memo = credit_memo(us_api, 30)
    ok(pay(us_api, 0, (25, "Invoice", inv["Id"]), (25, "CreditMemo", memo["Id"])), "Payment")
    current = read(us_api, "CreditMemo", memo["Id"])
    smaller = {"Id": memo["Id"], "SyncToken": current["SyncToken"], "sparse": True, "Line": [sale(20)]}
    assert fault(us_api.post("creditmemo", smaller))["element"] == "TotalAmt"
    bigger = {**smaller, "Line": [sale(40)]}
    assert ok(us_api.post("creditmemo", bigger), "CreditMemo")["RemainingCredit"] == 15


def test_credit_memo_changes_are_webhooks_like_intuits(us_api, receiver, django_capture_on_commit_callbacks):  # noqa: F811
    controls.set_webhook_format(realm_id=US, fmt="cloudevents")
    with django_capture_on_commit_callbacks(execute=True):
        memo = credit_memo(us_api, 10)
    assert receiver.bodies()[0][0]["type"] == "qbo.creditmemo.created.v1"
    assert receiver.bodies()[0][0]["intuitentityid"] == memo["Id"]
    controls.set_webhook_format(realm_id=US, fmt="legacy")
    inv = invoice(us_api, 10)
    with django_capture_on_commit_callbacks(execute=True):
        pay(us_api, 0, (10, "Invoice", inv["Id"]), (10, "CreditMemo", memo["Id"]))
    events = [
        (e["name"], e["id"], e["operation"])
        for body in receiver.bodies()[1:]
        for e in body["eventNotifications"][0]["dataChangeEvent"]["entities"]
    ]
    assert ("Invoice", inv["Id"], "Update") in events
    assert ("CreditMemo", memo["Id"], "Update") in events
    assert [e[0] for e in events].count("Payment") == 1
