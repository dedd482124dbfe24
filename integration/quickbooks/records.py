"""QBO rows read into typed objects, in one place: what the rest of the product knows of QBO's JSON.

Amounts and dates stay QBO's raw values where a caller must check them before storing
(`QboInvoice.amounts`, `.dates`); `Decimal(str(value))` is the caller's, so an unreadable value can be
reported rather than crash the reader. Readers take every shape QBO sends: read, query, create,
void, and CDC (where a deleted object is a `status: "Deleted"` stub).
Field names: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

ADDRESS_LINES = ("Line1", "Line2", "Line3", "Line4", "Line5")


def _ref(row: dict, key: str, part: str = "value") -> str:
    return str((row.get(key) or {}).get(part) or "")


@dataclass(frozen=True)
class QboInvoice:
    """An Invoice as QBO sent it (read, query, create, void or CDC shape). Amounts and dates are
    QBO's raw values: `amounts` and `dates` name them for range checks; `deleted`: a delete stub."""

    id: str
    deleted: bool
    doc_number: str
    customer_id: str
    customer_name: str
    bill_email: str
    currency: str
    total: Any
    balance: Any
    total_tax: Any
    txn_date: Any
    due_date: Any
    email_sent: bool
    private_note: str
    sync_token: str
    updated_at: str
    share_link: str = ""

    @property
    def amounts(self) -> dict[str, Any]:
        return {"TotalAmt": self.total, "Balance": self.balance, "TotalTax": self.total_tax}

    @property
    def dates(self) -> dict[str, Any]:
        return {"TxnDate": self.txn_date, "DueDate": self.due_date}


def invoice_of(row: dict) -> QboInvoice:
    return QboInvoice(
        id=str(row.get("Id") or ""),
        deleted=row.get("status") == "Deleted",
        doc_number=str(row.get("DocNumber") or ""),
        customer_id=_ref(row, "CustomerRef"),
        customer_name=_ref(row, "CustomerRef", "name"),
        bill_email=_ref(row, "BillEmail", "Address"),
        currency=_ref(row, "CurrencyRef"),
        total=row.get("TotalAmt", 0),
        balance=row.get("Balance", 0),
        total_tax=(row.get("TxnTaxDetail") or {}).get("TotalTax") or 0,
        txn_date=row.get("TxnDate"),
        due_date=row.get("DueDate"),
        email_sent=row.get("EmailStatus") == "EmailSent" or bool(row.get("DeliveryInfo")),
        private_note=str(row.get("PrivateNote") or ""),
        sync_token=str(row.get("SyncToken") or ""),
        updated_at=str((row.get("MetaData") or {}).get("LastUpdatedTime") or ""),
        share_link=str(row.get("InvoiceLink") or ""),
    )


def invoice_deleted_stub(invoice_id: str) -> dict:
    """QBO's answer to a delete (and the CDC shape of a deleted invoice)."""
    return {"Id": invoice_id, "status": "Deleted"}


@dataclass(frozen=True)
class QboPaymentLine:
    amount: Any
    invoice_ids: list[str]  # the invoices this line pays
    credit_memo_ids: list[str]  # credit memos this line applies


@dataclass(frozen=True)
class QboPayment:
    id: str
    deleted: bool
    voided: bool
    lines: list[QboPaymentLine]
    txn_date: str
    currency: str
    method: str
    reference: str
    updated_at: str
    customer_id: str = ""


def _links(line: dict, txn_type: str) -> list[str]:
    return [
        str(linked.get("TxnId"))
        for linked in line.get("LinkedTxn") or []
        if isinstance(linked, dict) and linked.get("TxnType") == txn_type and linked.get("TxnId")
    ]


def payment_of(row: dict) -> QboPayment:
    method = row.get("PaymentMethodRef") or {}
    lines = [line for line in row.get("Line") or [] if isinstance(line, dict)]
    return QboPayment(
        id=str(row.get("Id") or ""),
        deleted=row.get("status") == "Deleted",
        voided=row.get("TxnStatus") == "Voided",
        lines=[
            QboPaymentLine(
                amount=line.get("Amount"),
                invoice_ids=_links(line, "Invoice"),
                credit_memo_ids=_links(line, "CreditMemo"),
            )
            for line in lines
        ],
        txn_date=str(row.get("TxnDate") or ""),
        currency=_ref(row, "CurrencyRef"),
        method=str(method.get("name") or method.get("value") or ""),
        reference=str(row.get("PaymentRefNum") or ""),
        updated_at=str((row.get("MetaData") or {}).get("LastUpdatedTime") or ""),
        customer_id=_ref(row, "CustomerRef"),
    )


@dataclass(frozen=True)
class QboCustomer:
    id: str
    sync_token: str
    display_name: str
    active: bool
    currency: str  # "" when QBO names none (the home currency)
    email: str
    phone: str
    tax_id: str
    address_lines: list[str]  # Line1..Line5, the non-empty ones
    city: str
    postal_code: str
    country: str
    raw: dict = field(repr=False, compare=False, default_factory=dict)


def customer_of(row: dict) -> QboCustomer:
    address = row.get("BillAddr") or {}
    return QboCustomer(
        id=str(row.get("Id")),
        sync_token=str(row.get("SyncToken") or ""),
        display_name=str(row.get("DisplayName") or ""),
        active=bool(row.get("Active", True)),
        currency=_ref(row, "CurrencyRef"),
        email=_ref(row, "PrimaryEmailAddr", "Address"),
        phone=_ref(row, "PrimaryPhone", "FreeFormNumber"),
        tax_id=str(row.get("PrimaryTaxIdentifier") or ""),
        address_lines=[str(address[k]) for k in ADDRESS_LINES if address.get(k)],
        city=str(address.get("City") or ""),
        postal_code=str(address.get("PostalCode") or ""),
        country=str(address.get("Country") or ""),
        raw=row,
    )


@dataclass(frozen=True)
class QboItem:
    id: str
    sync_token: str
    name: str
    description: str
    sku: str
    type: str  # Service, NonInventory, Inventory, Category, ...
    active: bool
    unit_price: Any  # None when QBO has no price
    income_account_id: str
    income_account_name: str
    taxable: bool | None  # US companies
    sales_tax_code: str  # other countries


def item_of(row: dict) -> QboItem:
    taxable = row.get("Taxable")
    return QboItem(
        id=str(row.get("Id")),
        sync_token=str(row.get("SyncToken") or ""),
        name=str(row.get("Name") or ""),
        description=str(row.get("Description") or ""),
        sku=str(row.get("Sku") or ""),
        type=str(row.get("Type") or ""),
        active=bool(row.get("Active", True)),
        unit_price=row.get("UnitPrice"),
        income_account_id=_ref(row, "IncomeAccountRef"),
        income_account_name=_ref(row, "IncomeAccountRef", "name"),
        taxable=None if taxable is None else bool(taxable),
        sales_tax_code=_ref(row, "SalesTaxCodeRef"),
    )


@dataclass(frozen=True)
class QboAccount:
    id: str
    name: str
    active: bool
    account_type: str
    full_name: str = ""  # FullyQualifiedName: "Parent:Child" for sub-accounts


def account_of(row: dict) -> QboAccount:
    return QboAccount(
        id=str(row.get("Id")),
        name=str(row.get("Name") or ""),
        full_name=str(row.get("FullyQualifiedName") or row.get("Name") or ""),
        active=bool(row.get("Active", True)),
        account_type=str(row.get("AccountType") or ""),
    )


@dataclass(frozen=True)
class QboTaxCode:
    id: str
    name: str
    tax_group: bool
    sales_rate_ids: list[str]  # the TaxRates of its sales rate list


def tax_code_of(row: dict) -> QboTaxCode:
    details = (row.get("SalesTaxRateList") or {}).get("TaxRateDetail") or []
    return QboTaxCode(
        id=str(row.get("Id")),
        name=str(row.get("Name") or ""),
        tax_group=bool(row.get("TaxGroup")),
        sales_rate_ids=[str((d.get("TaxRateRef") or {}).get("value")) for d in details],
    )


@dataclass(frozen=True)
class QboTaxRate:
    id: str
    rate: Any  # RateValue (a percentage)


def tax_rate_of(row: dict) -> QboTaxRate:
    return QboTaxRate(id=str(row.get("Id")), rate=row.get("RateValue", 0))


@dataclass(frozen=True)
class QboCurrency:
    code: str
    name: str


def currency_of(row: dict) -> QboCurrency:
    code = str(row.get("Code") or "")
    return QboCurrency(code=code, name=str(row.get("Name") or code))
