"""QBO JSON bodies, built in one place from typed inputs (rows are read in `records`).

Money goes to QBO as exact `Decimal`s: the client's session writes every `json=` body with
`integration.jsonbody`, digit for digit, never through float.
Field names: https://developer.intuit.com/app/developer/qbo/docs/api/accounting/all-entities/invoice
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from integration.quickbooks.records import ADDRESS_LINES, QboCustomer

US_TAXABLE, US_NON_TAXABLE = "TAX", "NON"  # a US line's TaxCodeRef (reference §8.1)


# -- inputs -------------------------------------------------------------------------------------


class Address(Protocol):
    """A postal address as a draft holds it (invoices.drafts.DraftAddress is one)."""

    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country: str


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
    bill_address: Address | None = None,
    currency: str = "",
    tax_id: str = "",
) -> dict:
    """A Customer create body for a draft's customer (empty values left out)."""
    body = customer_changes(display_name=display_name, email=email or None, tax_id=tax_id, currency=currency)
    if company_name:
        body["CompanyName"] = company_name
    address = _address_body(bill_address)
    if address:
        body["BillAddr"] = address
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
