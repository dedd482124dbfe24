"""QBO JSON, written and read in one place: bodies built from typed inputs, rows read into typed objects.

Money goes to QBO as exact `Decimal`s: `QboClient` writes them as JSON numbers digit for digit
(never through float). Readers keep QBO's amounts as they came (`Decimal(str(value))` is the
caller's choice, so an unreadable value can be reported rather than crash the reader).
Field names: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

US_TAXABLE, US_NON_TAXABLE = "TAX", "NON"  # a US line's TaxCodeRef (reference §8.1)
ADDRESS_LINES = ("Line1", "Line2", "Line3", "Line4", "Line5")


# -- inputs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Address:
    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""


def _address_body(address: Address | None) -> dict:
    if address is None:
        return {}
    mapping = {
        "Line1": address.line1,
        "Line2": address.line2,
        "City": address.city,
        "CountrySubDivisionCode": address.region,
        "PostalCode": address.postal_code,
        "Country": address.country,
    }
    return {k: v for k, v in mapping.items() if v}


@dataclass(frozen=True)
class SalesLine:
    """One sales line of an invoice: Qty × UnitPrice makes Amount (money.qbo_amounts)."""

    item_id: str
    description: str
    amount: Decimal
    quantity: Decimal
    unit_price: Decimal
    tax_code: str  # a TaxCode id, or US_TAXABLE / US_NON_TAXABLE in US companies
    tax_inclusive_amount: Decimal | None = None  # non-US prices that include tax


def invoice_body(
    *,
    customer_id: str,
    txn_date: str,
    due_date: str,
    lines: list[SalesLine],
    currency: str = "",
    doc_number: str = "",
    bill_email: str = "",
    bill_address: Address | None = None,
    total_tax: Decimal | None = None,
    global_tax_calculation: str = "",
) -> dict:
    """An Invoice create body (reference §3.2, §8). `total_tax`: an explicit tax total, which QBO
    honours and prorates (§8.2); `global_tax_calculation`: TaxExcluded / TaxInclusive / NotApplicable."""
    body_lines = []
    for number, line in enumerate(lines, start=1):
        detail: dict[str, Any] = {
            "ItemRef": {"value": line.item_id},
            "Qty": line.quantity,
            "UnitPrice": line.unit_price,
            "TaxCodeRef": {"value": line.tax_code},
        }
        if line.tax_inclusive_amount is not None:
            detail["TaxInclusiveAmt"] = line.tax_inclusive_amount
        body_lines.append(
            {
                "LineNum": number,
                "Description": line.description,
                "Amount": line.amount,
                "DetailType": "SalesItemLineDetail",
                "SalesItemLineDetail": detail,
            }
        )
    body: dict[str, Any] = {
        "CustomerRef": {"value": customer_id},
        "TxnDate": txn_date,
        "DueDate": due_date,
        "Line": body_lines,
    }
    if currency:
        body["CurrencyRef"] = {"value": currency}
    if doc_number:
        body["DocNumber"] = doc_number
    if bill_email:
        body["BillEmail"] = {"Address": bill_email}
    address = _address_body(bill_address)
    if address:
        body["BillAddr"] = address
    if total_tax:
        body["TxnTaxDetail"] = {"TotalTax": total_tax}
    if global_tax_calculation:
        body["GlobalTaxCalculation"] = global_tax_calculation
    return body


def invoice_copy_to(address: str) -> dict:
    """The sparse change that puts `address` in copy of the invoice's emails."""
    return {"BillEmailCc": {"Address": address}}


def customer_body(
    *,
    display_name: str,
    company_name: str = "",
    email: str = "",
    phone: str | None = None,
    bill_address: Address | None = None,
    currency: str = "",
    tax_id: str = "",
) -> dict:
    """A Customer create body for a draft's customer."""
    body: dict[str, Any] = {"DisplayName": display_name}
    if company_name:
        body["CompanyName"] = company_name
    if email:
        body["PrimaryEmailAddr"] = {"Address": email}
    if phone:
        body["PrimaryPhone"] = {"FreeFormNumber": phone}
    address = _address_body(bill_address)
    if address:
        body["BillAddr"] = address
    if currency:
        body["CurrencyRef"] = {"value": currency}
    if tax_id:
        body["PrimaryTaxIdentifier"] = tax_id
    return body


def customer_changes(
    *,
    display_name: str | None = None,
    email: str | None = None,
    phone: str | None = None,
    tax_id: str | None = None,
    address_lines: list[str] | None = None,
    city: str | None = None,
    postal_code: str | None = None,
    country: str | None = None,
    currency: str = "",
) -> dict:
    """A Customer body of only the fields given (None: left as is), for a create or a sparse update
    from a contact whose address is free lines (Line1..Line5) plus city, postal code and country."""
    body: dict[str, Any] = {}
    if display_name is not None:
        body["DisplayName"] = display_name
    if email is not None:
        body["PrimaryEmailAddr"] = {"Address": email}
    if phone is not None:
        body["PrimaryPhone"] = {"FreeFormNumber": phone}
    if tax_id:
        body["PrimaryTaxIdentifier"] = tax_id
    if any(v is not None for v in (address_lines, city, postal_code, country)):
        bill = {key: line[:500] for key, line in zip(ADDRESS_LINES, address_lines or [], strict=False)}
        bill.update({k: v for k, v in (("City", city), ("PostalCode", postal_code), ("Country", country)) if v})
        body["BillAddr"] = bill
    if currency:
        body["CurrencyRef"] = {"value": currency}
    return body


def customer_update_from_draft(*, existing: QboCustomer, email: str, address: Address) -> dict:
    """What 'update customer in QuickBooks' changes on a linked customer: its email and billing
    address when they differ from the draft's."""
    changes: dict[str, Any] = {}
    if email and existing.email != email:
        changes["PrimaryEmailAddr"] = {"Address": email}
    wanted = _address_body(address)
    stored = existing.raw.get("BillAddr") or {}
    current = {k: v for k, v in stored.items() if k in wanted or k in {"Line1", "City"}}
    if wanted and any(current.get(k) != v for k, v in wanted.items()):
        changes["BillAddr"] = wanted
    return changes


def item_body(
    *,
    creating: bool,
    name: str | None = None,
    description: str | None = None,
    sku: str | None = None,
    income_account_id: str = "",
    unit_price: Decimal | None = None,
    taxable: bool | None = None,
    sales_tax_code: str = "",
) -> dict:
    """An Item create body (a Service) or the changes of a sparse update (None: left as is)."""
    body: dict[str, Any] = {}
    if creating:
        body["Type"] = "Service"
    if name is not None:
        body["Name"] = name
    if description is not None:
        body["Description"] = description
    if sku is not None:
        body["Sku"] = sku
    if income_account_id:
        body["IncomeAccountRef"] = {"value": income_account_id}
    if unit_price is not None:
        body["UnitPrice"] = unit_price
    if taxable is not None:
        body["Taxable"] = taxable
    if sales_tax_code:
        body["SalesTaxCodeRef"] = {"value": sales_tax_code}
    return body


def item_names_income_account(body: dict) -> bool:
    """Whether an item body already names its income account."""
    return "IncomeAccountRef" in body


def with_income_account(body: dict, account_id: str) -> dict:
    return {**body, "IncomeAccountRef": {"value": account_id}}


def with_currency(body: dict, currency: str) -> dict:
    return {**body, "CurrencyRef": {"value": currency}}


# -- reading rows -------------------------------------------------------------------------------


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


def account_of(row: dict) -> QboAccount:
    return QboAccount(
        id=str(row.get("Id")),
        name=str(row.get("Name") or ""),
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
