"""The QBO documents of a create, built from a confirmed draft (the JSON is integration.quickbooks.documents')."""

from __future__ import annotations

from dataclasses import dataclass, field

from integration.quickbooks import documents
from integration.quickbooks.documents import SalesLine
from integration.quickbooks.models import QuickBooksConnection
from integration.quickbooks.records import QboCustomer
from invoices import money
from invoices.drafts import Draft
from invoices.preflight import Checked


@dataclass
class BuiltLine:
    """A line as sent to QBO, and what our InvoiceLine keeps of it."""

    sales: SalesLine
    collapsed: bool
    source: dict = field(default_factory=dict)


def invoice_document(
    *, connection: QuickBooksConnection, draft: Draft, checked: Checked, customer_id: str
) -> tuple[dict, list[BuiltLine]]:
    """The QBO Invoice body for the company's tax model (reference §3.2, §8), and its lines."""
    us = connection.tax_model == QuickBooksConnection.TaxModel.US
    inclusive = draft.tax_mode == "inclusive"
    lines: list[BuiltLine] = []
    for line, priced in zip(draft.lines, checked.priced, strict=True):
        has_tax = priced.line.tax_method != "none" and priced.line.tax > 0
        # Prices that include tax go to QBO net of it, with the tax carried by TxnTaxDetail.
        amount = priced.net - priced.tax if priced.line.tax_method == "inclusive" else priced.net
        split = money.qbo_amounts(quantity=priced.line.quantity, amount=amount)
        description = line.description or line.name
        if split.collapsed:
            description = f"{description} ({priced.line.quantity} × {priced.line.item_price})"
        us_code = documents.US_TAXABLE if has_tax else documents.US_NON_TAXABLE
        tax_code = us_code if us else line.tax_code
        lines.append(
            BuiltLine(
                sales=SalesLine(
                    item_id=line.qbo_item_id,
                    description=description[:4000],
                    amount=split.amount,
                    quantity=split.qty,
                    unit_price=split.unit_price,
                    tax_code=tax_code,
                    tax_inclusive_amount=priced.net if not us and priced.line.tax_method == "inclusive" else None,
                ),
                collapsed=split.collapsed,
                source={"pipedrive_product_id": line.pipedrive_product_id, "item_name": line.qbo_item_name},
            )
        )
    global_tax = ""
    if not us:
        global_tax = {"inclusive": "TaxInclusive", "exclusive": "TaxExcluded"}.get(draft.tax_mode, "NotApplicable")
        if inclusive and not checked.expected_tax:
            global_tax = "TaxInclusive"
    body = documents.invoice_body(
        customer_id=customer_id,
        txn_date=draft.issue_date,
        due_date=draft.due_date,
        lines=[line.sales for line in lines],
        currency=draft.currency.upper() if connection.multicurrency_enabled else "",
        doc_number=draft.doc_number,
        bill_email=draft.customer.email,
        bill_address=draft.customer.address,
        # Pipedrive's tax, to the cent; QBO honours an explicit total and prorates it (reference §8.2).
        total_tax=checked.expected_tax or None,
        global_tax_calculation=global_tax,
    )
    return body, lines


def customer_document(*, connection: QuickBooksConnection, draft: Draft) -> dict:
    """The QBO Customer body for a draft's new customer."""
    customer = draft.customer
    return documents.customer_body(
        display_name=customer.name.strip(),
        company_name=customer.name.strip()[:100] if customer.pipedrive_entity == "organization" else "",
        email=customer.email,
        bill_address=draft.customer.address,
        currency=draft.currency.upper() if connection.multicurrency_enabled and draft.currency else "",
        tax_id=customer.tax_id,
    )


def customer_changes(*, existing: QboCustomer, draft: Draft) -> dict:
    """What 'update customer in QuickBooks' would change on a linked customer."""
    return documents.customer_update_from_draft(
        existing=existing, email=draft.customer.email, address=draft.customer.address
    )
