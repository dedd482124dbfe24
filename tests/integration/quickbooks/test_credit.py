"""`integration.quickbooks.credit` over real HTTP against the QBO sandbox: credit memos by id and the
customer's open balance and unapplied credit after invoice → payment → credit applied → overpayment."""

from __future__ import annotations

from decimal import Decimal

import pytest

from integration.quickbooks.credit import CreditMemo, CustomerBalance, credit_memos_by_ids, customer_balance

CUSTOMER = "3"  # the sandbox's Red Rock Diner: not taxable, so totals are the line amounts


def sale(amount) -> dict:
    return {"DetailType": "SalesItemLineDetail", "Amount": amount, "SalesItemLineDetail": {"ItemRef": {"value": "2"}}}


def link(amount, kind: str, txn_id: str) -> dict:
    return {"Amount": amount, "LinkedTxn": [{"TxnId": txn_id, "TxnType": kind}]}


@pytest.fixture
def qb(client_of, connected):
    """The connected client and the list of query statements it sent."""
    client = client_of(connected)
    sent: list[str] = []
    client.session.hooks["response"].append(
        lambda r, *a, **k: sent.append(r.request.body.decode())
        if r.request.url.split("?")[0].endswith("/query")
        else None
    )
    yield client, sent
    client.close()


def test_balance_after_invoice_payment_credit_applied_and_an_unapplied_remainder(qb):
    client, _sent = qb
    start = customer_balance(client=client, customer_id=CUSTOMER)
    assert isinstance(start, CustomerBalance) and start.currency == "USD"

    invoice = client.create("Invoice", {"CustomerRef": {"value": CUSTOMER}, "Line": [sale(100)]})
    client.create(
        "Payment", {"CustomerRef": {"value": CUSTOMER}, "TotalAmt": 40, "Line": [link(40, "Invoice", invoice["Id"])]}
    )
    assert customer_balance(client=client, customer_id=CUSTOMER) == (
        start.open_balance + 60,
        start.unapplied_credit,
        "USD",
    )

    memo = client.create("CreditMemo", {"CustomerRef": {"value": CUSTOMER}, "Line": [sale(30)]})
    # Unapplied credit: QuickBooks' open balance already nets it.
    assert customer_balance(client=client, customer_id=CUSTOMER)[:2] == (
        start.open_balance + 30,
        start.unapplied_credit + 30,
    )

    client.create(
        "Payment",
        {
            "CustomerRef": {"value": CUSTOMER},
            "TotalAmt": 0,
            "Line": [link(20, "Invoice", invoice["Id"]), link(20, "CreditMemo", memo["Id"])],
        },
    )
    assert customer_balance(client=client, customer_id=CUSTOMER)[:2] == (
        start.open_balance + 30,
        start.unapplied_credit + 10,
    )

    # 50 received for the last 40 of the invoice: 10 unapplied on the payment, 10 left on the memo.
    client.create(
        "Payment", {"CustomerRef": {"value": CUSTOMER}, "TotalAmt": 50, "Line": [link(40, "Invoice", invoice["Id"])]}
    )
    after = customer_balance(client=client, customer_id=CUSTOMER)
    assert after.open_balance == start.open_balance - 20
    assert after.unapplied_credit == start.unapplied_credit + 20
    assert all(isinstance(value, Decimal) for value in after[:2])
    assert client.read("Invoice", invoice["Id"])["Balance"] == 0


def test_credit_memos_by_ids_typed_chunked_and_without_deleted_ones(qb):
    client, sent = qb
    memos = [
        client.create("CreditMemo", {"CustomerRef": {"value": CUSTOMER}, "Line": [sale(amount)]})
        for amount in (10, 12.5)
    ]
    gone = client.create("CreditMemo", {"CustomerRef": {"value": CUSTOMER}, "Line": [sale(5)]})
    client.delete("CreditMemo", gone["Id"], gone["SyncToken"])
    ids = [memo["Id"] for memo in memos] + [gone["Id"]] + [str(n) for n in range(90000, 90250)]
    sent.clear()
    found = credit_memos_by_ids(client=client, ids=ids)
    assert all(isinstance(memo, CreditMemo) for memo in found)
    assert [(m.id, m.total, m.remaining_credit, m.customer_id, m.currency) for m in found] == [
        (memos[0]["Id"], Decimal("10.00"), Decimal("10.00"), CUSTOMER, "USD"),
        (memos[1]["Id"], Decimal("12.50"), Decimal("12.50"), CUSTOMER, "USD"),
    ]
    assert found[0].doc_number == memos[0]["DocNumber"] and found[0].txn_date is not None
    assert len(sent) == 2  # 253 ids: two IN (...) queries of at most 200
    assert credit_memos_by_ids(client=client, ids=[]) == []


def test_bad_ids_never_reach_the_wire(qb):
    client, sent = qb
    with pytest.raises(ValueError):
        credit_memos_by_ids(client=client, ids=["1' OR '1'='1"])
    with pytest.raises(ValueError):
        customer_balance(client=client, customer_id="3; DROP")
    assert sent == []
