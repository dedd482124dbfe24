"""Credit in QuickBooks: credit memos and a customer's open balance and unapplied credit (issue 15, item 4).

- A CreditMemo's `RemainingCredit` is "the total credit amount still available to apply"; a Payment
  applies it to invoices with a line linking the CreditMemo
  (https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/creditmemo and
  …/payment: "The payment can be applied … against multiple Invoices and Credit Memos").
- A Payment's `UnappliedAmt` is the money received but not applied to any transaction.
- `Customer.Balance` is the customer's open balance as QuickBooks shows it: open invoices less the
  customer's credits (unapplied payments and credit memos), so an invoice fully covered by an
  unapplied credit memo leaves an open balance of 0.
Reads only, through `QboClient.read` / `query_all`; README "Credit memos and customer balance".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from django.utils.translation import gettext as _

from integration.errors import PermanentError
from integration.quickbooks.client import QboClient, quote
from integration.quickbooks.errors import SERVICE

ID_CHUNK = 200  # ids per `IN (...)` query, as invoices.sync does
CENT = Decimal("0.01")


class CustomerBalance(NamedTuple):
    """`open_balance` = QuickBooks' `Customer.Balance` (already net of the credit below);
    `unapplied_credit` = remaining credit of its credit memos + unapplied amounts of its payments;
    both in the customer's `currency`. What its open invoices still owe = open_balance + unapplied_credit."""

    open_balance: Decimal
    unapplied_credit: Decimal
    currency: str


@dataclass(frozen=True)
class CreditMemo:
    """A QuickBooks credit memo, the fields the app shows (`raw` keeps the whole object)."""

    id: str
    customer_id: str
    doc_number: str
    txn_date: dt.date | None
    currency: str
    total: Decimal
    remaining_credit: Decimal
    sync_token: str
    last_updated: str
    raw: dict
    deleted: bool = False  # a CDC delete stub (`status: "Deleted"`)


def _money(value, what: str) -> Decimal:
    try:
        number = Decimal(str(value if value is not None else 0))
    except (InvalidOperation, ValueError) as exc:
        raise PermanentError(
            _("QuickBooks sent an unreadable answer."),
            service=SERVICE,
            code="bad_response",
            detail=f"a {what} we cannot read",
        ) from exc
    if not number.is_finite():
        raise PermanentError(
            _("QuickBooks sent an unreadable answer."),
            service=SERVICE,
            code="bad_response",
            detail=f"a non-finite {what}",
        )
    return number.quantize(CENT)


def _ref(value) -> str:
    return str(value.get("value") or "") if isinstance(value, dict) else ""


def parse_credit_memo(data: dict) -> CreditMemo:
    """A CreditMemo object (read, query or CDC) as a `CreditMemo`."""
    if not isinstance(data, dict) or not data.get("Id"):
        raise PermanentError(
            _("QuickBooks sent an unexpected answer."),
            service=SERVICE,
            code="bad_response",
            detail="a credit memo without an Id",
        )
    txn_date = None
    if data.get("TxnDate"):
        try:
            txn_date = dt.date.fromisoformat(str(data["TxnDate"])[:10])
        except ValueError:
            txn_date = None
    remaining = data.get("RemainingCredit", data.get("Balance"))
    return CreditMemo(
        id=str(data["Id"]),
        customer_id=_ref(data.get("CustomerRef")),
        doc_number=str(data.get("DocNumber") or ""),
        txn_date=txn_date,
        currency=_ref(data.get("CurrencyRef")),
        total=_money(data.get("TotalAmt"), "credit memo total"),
        remaining_credit=_money(remaining, "remaining credit"),
        sync_token=str(data.get("SyncToken") or ""),
        last_updated=str((data.get("MetaData") or {}).get("LastUpdatedTime") or ""),
        raw=data,
        deleted=data.get("status") == "Deleted",
    )


def _ids(values: Iterable[str | int]) -> list[str]:
    out = sorted({str(value) for value in values}, key=lambda value: (len(value), value))
    for value in out:
        if not value.isdigit():
            raise ValueError(f"not a QuickBooks id: {value!r}")
    return out


def credit_memos_by_ids(*, client: QboClient, ids: Iterable[str | int]) -> list[CreditMemo]:
    """The live credit memos among `ids` (deleted or unknown ids are simply absent), by id."""
    wanted = _ids(ids)
    found: list[CreditMemo] = []
    for start in range(0, len(wanted), ID_CHUNK):
        id_list = ", ".join(quote(value) for value in wanted[start : start + ID_CHUNK])
        # QBO's query language, not SQL; the ids are digit-checked above.
        sql = f"SELECT * FROM CreditMemo WHERE Id IN ({id_list})"  # noqa: S608
        found.extend(parse_credit_memo(row) for row in client.query_all(sql))
    return sorted(found, key=lambda memo: int(memo.id))


def customer_balance(*, client: QboClient, customer_id: str | int) -> CustomerBalance:
    """The customer's open balance and unapplied credit: one read and two paged queries."""
    (customer_id,) = _ids([customer_id])
    customer = client.read("Customer", customer_id)
    ref = quote(customer_id)
    # Only memos with credit left (Balance is filterable on CreditMemo; it equals RemainingCredit).
    memos = client.query_all(
        f"SELECT Id, RemainingCredit, Balance FROM CreditMemo WHERE CustomerRef = {ref} AND Balance > '0'"  # noqa: S608
    )
    payments = client.query_all(f"SELECT Id, UnappliedAmt FROM Payment WHERE CustomerRef = {ref}")  # noqa: S608
    credit = sum((_money(m.get("RemainingCredit", m.get("Balance")), "remaining credit") for m in memos), Decimal(0))
    credit += sum((_money(p.get("UnappliedAmt"), "unapplied amount") for p in payments), Decimal(0))
    return CustomerBalance(
        open_balance=_money(customer.get("Balance"), "customer balance"),
        unapplied_credit=credit,
        currency=_ref(customer.get("CurrencyRef")),
    )
