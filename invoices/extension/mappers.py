"""Shapes of the contract (invoicing-extension.md, "Objects"): QBO customers → Contact, QBO items →
Product, our invoices → Invoice; and the contract's input bodies → QBO bodies / our Draft."""

from __future__ import annotations

import re
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext as _

from integration.quickbooks import documents
from integration.quickbooks.models import QuickBooksConnection
from integration.quickbooks.records import QboCustomer, QboItem
from invoices import access, lifecycle
from invoices.extension.errors import bad_request
from invoices.models import Invoice
from invoices.status import LABELS, Status, effective_status, pipedrive_status
from invoices.sync import company_today
from tenants.models import Membership

# LinkFeatures.validations.product: QBO's own limits on Item (Name, Sku, Description).
PRODUCT_LIMITS = {"name": 100, "code": 100, "description": 4000}
CONTACT_NAME_LIMIT = 500

# Our action names (invoices.status.ACTIONS) → the contract's InvoiceAction.
ACTIONS = {
    "send": ("EMAIL", "sendInvoiceEmail", "regular"),
    "pdf": ("DOWNLOAD", "downloadInvoice", None),
    "open_in_quickbooks": ("URL", "openInvoiceLink", None),
    "void": ("VOIDED", "changeInvoiceStatus", "destructive"),
    "delete": ("DELETED", "changeInvoiceStatus", "destructive"),
}
ACTION_BY_ID = {contract_id: ours for ours, (contract_id, _p, _c) in ACTIONS.items()}


def _labels() -> dict[str, str]:
    return {
        "send": _("Send by email"),
        "pdf": _("Download PDF"),
        "open_in_quickbooks": _("Open in QuickBooks"),
        "void": _("Void"),
        "delete": _("Delete"),
    }


def _compact(data: dict, *optional: str) -> dict:
    """Leave optional fields out when they are empty (the contract marks them `?`)."""
    return {k: v for k, v in data.items() if k not in optional or v not in (None, "")}


# -- contacts (QBO customers) -----------------------------------------------------------------


def contact_out(customer: QboCustomer) -> dict:
    qbo_id = customer.id
    return _compact(
        {
            "id": qbo_id,
            "displayName": customer.display_name,
            "address": "\n".join(customer.address_lines),
            "postalCode": customer.postal_code,
            "city": customer.city,
            "country": customer.country,
            "email": customer.email,
            "phone": customer.phone,
            "taxId": customer.tax_id,
            # The customer's page in the QuickBooks web app (same host as the invoice deep link).
            "url": f"{settings.QBO_APP_BASE_URL.rstrip('/')}/customerdetail?nameId={qbo_id}",
        },
        "address",
        "postalCode",
        "city",
        "country",
        "email",
        "phone",
        "taxId",
        "url",
    )


def _text(body: dict, key: str, *, limit: int, fields: dict) -> str | None:
    if key not in body or body[key] is None:
        return None
    if not isinstance(body[key], str | int | float):
        fields.setdefault(key, []).append(_("Must be text."))
        return None
    value = str(body[key]).strip()
    if len(value) > limit:
        fields.setdefault(key, []).append(_("At most %(limit)d characters.") % {"limit": limit})
    return value


def contact_in(body, *, creating: bool) -> dict:
    """A QBO Customer body (or the changes of a sparse update) from a Contact."""
    if not isinstance(body, dict):
        raise bad_request(_("Send the contact as a JSON object."))
    fields: dict[str, list[str]] = {}
    name = _text(body, "displayName", limit=CONTACT_NAME_LIMIT, fields=fields)
    email = _text(body, "email", limit=100, fields=fields)
    phone = _text(body, "phone", limit=30, fields=fields)
    tax_id = _text(body, "taxId", limit=50, fields=fields)
    address = _text(body, "address", limit=2000, fields=fields)
    city = _text(body, "city", limit=255, fields=fields)
    postal = _text(body, "postalCode", limit=30, fields=fields)
    country = _text(body, "country", limit=255, fields=fields)
    if creating and not name:
        fields.setdefault("displayName", []).append(_("Give the contact a name."))
    if name and re.search(r"[:\t\n]", name):
        fields.setdefault("displayName", []).append(_("QuickBooks does not allow “:”, tabs or new lines in names."))
    if email:
        try:
            validate_email(email)
        except ValidationError:
            fields.setdefault("email", []).append(_("Not an email address."))
    if fields:
        raise bad_request(_("Some contact fields are not valid."), fields=fields)
    lines = None
    if any(v is not None for v in (address, city, postal, country)):
        lines = [line.strip() for line in (address or "").splitlines() if line.strip()]
    return documents.customer_changes(
        display_name=name,
        email=email,
        phone=phone,
        tax_id=tax_id,
        address_lines=lines,
        city=city,
        postal_code=postal,
        country=country,
    )


# -- products (QBO items) ---------------------------------------------------------------------


def product_out(item: QboItem, *, connection: QuickBooksConnection) -> dict:
    us = connection.tax_model == QuickBooksConnection.TaxModel.US
    tax_rate = ("NON" if item.taxable is False else None) if us else item.sales_tax_code
    price = item.unit_price
    return _compact(
        {
            "id": item.id,
            "name": item.name,
            "description": item.description,
            "code": item.sku,
            "accountId": item.income_account_id,
            "taxRateId": str(tax_rate) if tax_rate else None,
            "unitPrice": Decimal(str(price)) if price is not None else None,
            # QBO items carry no currency: their price is in the home currency.
            "currency": connection.home_currency or None,
        },
        "description",
        "code",
        "accountId",
        "taxRateId",
        "unitPrice",
        "currency",
    )


def product_in(body, *, connection: QuickBooksConnection, creating: bool) -> dict:
    """A QBO Item body (or sparse changes) from a Product."""
    if not isinstance(body, dict):
        raise bad_request(_("Send the product as a JSON object."))
    fields: dict[str, list[str]] = {}
    name = _text(body, "name", limit=PRODUCT_LIMITS["name"], fields=fields)
    description = _text(body, "description", limit=PRODUCT_LIMITS["description"], fields=fields)
    code = _text(body, "code", limit=PRODUCT_LIMITS["code"], fields=fields)
    account = _text(body, "accountId", limit=32, fields=fields)
    tax_rate = _text(body, "taxRateId", limit=32, fields=fields)
    price = None
    if body.get("unitPrice") is not None:
        try:
            price = Decimal(str(body["unitPrice"]))
            if not price.is_finite() or price < 0:
                raise ValueError
        except (ArithmeticError, ValueError):
            fields.setdefault("unitPrice", []).append(_("Use a number of zero or more."))
    if creating and not name:
        fields.setdefault("name", []).append(_("Give the product a name."))
    if name and ":" in name:
        fields.setdefault("name", []).append(_("QuickBooks does not allow “:” in item names."))
    if fields:
        raise bad_request(_("Some product fields are not valid."), fields=fields)
    us = connection.tax_model == QuickBooksConnection.TaxModel.US
    return documents.item_body(
        creating=creating,
        name=name,
        description=description,
        sku=code,
        income_account_id=account or "",
        unit_price=price,
        taxable=(tax_rate != "NON") if tax_rate and us else None,
        sales_tax_code=tax_rate if tax_rate and not us else "",
    )


# -- invoices ---------------------------------------------------------------------------------


def _paid_date(invoice: Invoice) -> str | None:
    if invoice.status != Status.PAID:
        return None
    for event in invoice.events.all():  # prefetched, newest first
        if (event.data or {}).get("to") == Status.PAID:
            return event.created_at.date().isoformat()
    return None


def invoice_out(invoice: Invoice, *, actor: Membership | None) -> dict:
    """An Invoice of the contract. Overdue has no pipedriveStatusCode of its own: `issued` with the
    label "Overdue" (invoices.status.pipedrive_status)."""
    if invoice.state == Invoice.State.CREATED:
        status = effective_status(
            status=invoice.status, due_date=invoice.due_date, today=company_today(invoice.connection)
        )
        mapped = pipedrive_status(status, sent=invoice.sent)
        status_code, label, pd_code = status.value, str(mapped.label or LABELS[status]), mapped.code
    else:  # not in QuickBooks (yet): being created, or refused for good
        status_code, label, pd_code = invoice.state, str(invoice.get_state_display()), "draft"
    ours = access.actions_for(invoice=invoice, membership=actor) if actor is not None else []
    labels = _labels()
    actions = [
        {
            "id": ACTIONS[a][0],
            "label": str(labels[a]),
            "providerAction": ACTIONS[a][1],
            "requireConfirmation": ACTIONS[a][2],
        }
        for a in ours
        if a in ACTIONS
    ]
    live = invoice.state == Invoice.State.CREATED and invoice.status not in {Status.DELETED}
    paid = (invoice.total - invoice.balance) if invoice.state == Invoice.State.CREATED else Decimal("0")
    return {
        "id": str(invoice.pk),
        "invoiceNumber": invoice.doc_number or "",
        "contactName": invoice.customer_name or "",
        "statusCode": status_code,
        "statusLabel": label,
        "pipedriveStatusCode": pd_code,
        "total": invoice.total,
        "paidAmount": paid,
        "dueAmount": invoice.total - paid,
        "currencyCode": invoice.currency,
        "dueDate": invoice.due_date.isoformat() if invoice.due_date else None,
        "paidDate": _paid_date(invoice),
        "actions": actions,
        "providerInvoiceUrl": lifecycle.invoice_deep_link(invoice=invoice) if live and invoice.qbo_id else "",
        # QBO shares a pay link only for invoices with a billing email (and online payment on).
        "isShareable": bool(live and invoice.bill_email and invoice.status != Status.VOIDED),
        "isSent": invoice.sent,
    }
