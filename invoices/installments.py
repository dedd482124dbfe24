"""One invoice per instalment (money loop, item 5): a deal billed on Pipedrive's instalment schedule
(API v2 `/deals/installments`, Growth plans and above).

Each instalment is invoiced exactly once: its invoice's idempotency key is derived from the company,
the deal and the instalment's id, so a second click, a retry or another member's click answers with
the same invoice (`Invoice.request_id` is unique per connection) and never makes a second one. The
amount and billing date always come from Pipedrive, never from the browser: the invoice is due on the
billing date and has one line, the instalment's amount, describing which instalment of which deal it
is. A plan without instalments (Pipedrive's 403 on Lite) reads as an empty schedule: the modal then
offers nothing new.
"""

from __future__ import annotations

import dataclasses
import uuid

from django.utils.translation import gettext as _

from integration.pipedrive.installments import Installment, deal_installments
from integration.quickbooks.models import QuickBooksConnection
from invoices import create
from invoices.drafts import Draft, DraftLine
from invoices.errors import InvoiceError
from invoices.models import CustomerLink, Invoice
from tenants.models import Company, Membership

KEY_NAMESPACE = uuid.UUID("2b9f4c0e-81d3-4a6e-b7c5-3e0d9a1f6c42")  # ours; any fixed UUID works


def installment_key(*, company: Company, deal_id: int, installment_id: int) -> uuid.UUID:
    """The idempotency key of the invoice of one instalment (one per company, deal and instalment)."""
    return uuid.uuid5(KEY_NAMESPACE, f"installment:{company.pipedrive_company_id}:{int(deal_id)}:{int(installment_id)}")


def schedule(*, connection: QuickBooksConnection, installation, deal_id: int) -> list[dict]:
    """The deal's instalments and, for each, its invoice when one was made here: one Pipedrive read
    and one query. `[]` when the deal (or the company's plan) has none."""
    company = connection.company
    found = deal_installments(installation=installation, deal_ids=[deal_id])
    keys = {installment_key(company=company, deal_id=deal_id, installment_id=i.id): i.id for i in found}
    invoices = {
        keys[invoice.request_id]: invoice
        for invoice in Invoice.objects.filter(connection=connection, request_id__in=list(keys))
        if invoice.state != Invoice.State.FAILED
    }
    return [
        {
            "id": i.id,
            "description": i.description,
            "amount": str(i.amount),
            "billing_date": i.billing_date.isoformat(),
            "invoice": (
                {
                    "id": invoices[i.id].pk,
                    "doc_number": invoices[i.id].doc_number,
                    "state": invoices[i.id].state,
                    "status": invoices[i.id].status,
                }
                if i.id in invoices
                else None
            ),
        }
        for i in found
        if i.deal_id == deal_id
    ]


def installment_draft(*, draft: Draft, installment: Installment) -> Draft:
    """The modal's draft (customer, currency, tax mode, QuickBooks item) billing this instalment only:
    due on its billing date, one line of its amount that says which instalment of the deal it is."""
    item_line = next((line for line in draft.lines if line.qbo_item_id), None)
    name = installment.description or _("Instalment")
    line = DraftLine(
        name=name[:100],
        quantity="1",
        item_price=str(installment.amount),
        description=_("%(instalment)s: instalment of %(deal)s, billed %(date)s")
        % {"instalment": name, "deal": draft.deal_title, "date": installment.billing_date.isoformat()},
        qbo_item_id=item_line.qbo_item_id if item_line else "",
        qbo_item_name=item_line.qbo_item_name if item_line else "",
        tax_code=item_line.tax_code if item_line else "",
    )
    return dataclasses.replace(
        draft,
        lines=[line],
        due_date=installment.billing_date.isoformat(),
        total=str(installment.amount),
        doc_number="",  # QuickBooks numbers each instalment's invoice
    )


def _linked_customer(*, connection: QuickBooksConnection, draft: Draft) -> Draft:
    """The modal's draft was made before the first instalment's invoice created the QuickBooks customer:
    the later instalments bill the customer that invoice linked (CustomerLink), not a second new one."""
    customer = draft.customer
    if customer.qbo_customer_id or not (customer.pipedrive_entity and customer.pipedrive_id):
        return draft
    link = CustomerLink.objects.filter(
        connection=connection, entity=customer.pipedrive_entity, pipedrive_id=customer.pipedrive_id
    ).first()
    if link is None:
        return draft
    return dataclasses.replace(draft, customer=dataclasses.replace(customer, qbo_customer_id=link.qbo_customer_id))


def installment_invoice_create(
    *,
    connection: QuickBooksConnection,
    installation,
    draft: Draft,
    actor: Membership,
    deal_id: int,
    installment_id: int,
) -> Invoice:
    """Create (or answer with) the invoice of one instalment of the deal, exactly once; the
    instalment is read from Pipedrive with the member's own access. Raises InvoiceError
    `installment_not_found` when the deal has no such instalment (any more)."""
    found = {i.id: i for i in deal_installments(installation=installation, deal_ids=[deal_id]) if i.deal_id == deal_id}
    installment = found.get(int(installment_id))
    if installment is None:
        raise InvoiceError(_("This deal has no such instalment in Pipedrive."), code="installment_not_found")
    key = installment_key(company=connection.company, deal_id=deal_id, installment_id=installment.id)
    draft = _linked_customer(connection=connection, draft=draft)
    return create.invoice_create(
        connection=connection,
        draft=installment_draft(draft=dataclasses.replace(draft, deal_id=deal_id), installment=installment),
        actor=actor,
        idempotency_key=str(key),
    )
