"""The contract's InvoiceCreateData → our Draft (what the panel's modal submits too)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.utils.translation import gettext as _

from integration.quickbooks.models import QuickBooksConnection
from integration.quickbooks.records import QboItem
from invoices.drafts import Draft, DraftAddress, DraftCustomer, DraftLine
from invoices.extension.errors import bad_request
from invoices.extension.mappers import CONTACT_NAME_LIMIT

TAX_MODES = {"Exclusive": "exclusive", "Inclusive": "inclusive", "NoTax": "none"}


def _company_zone(connection: QuickBooksConnection):
    try:
        return ZoneInfo(connection.timezone) if connection.timezone else dt.UTC
    except (ZoneInfoNotFoundError, ValueError):
        return dt.UTC


def _date_of(value, name: str, fields: dict, *, zone=dt.UTC) -> dt.date | None:
    """An ISO 8601 date, or a date-time (the contract says only "ISO8601"). A date-time with an
    offset is a moment (a browser's local midnight sent as `…T23:00:00.000Z`): its date is taken in
    the QuickBooks company's time zone, the zone our panel dates invoices in, so both surfaces give
    the same day. Without an offset, or at exactly UTC midnight (a plain date serialised as UTC),
    its date part is used."""
    if value in (None, ""):
        return None
    text = str(value).strip()
    try:
        if len(text) <= 10:
            return dt.date.fromisoformat(text)
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        if moment.tzinfo is None or (moment.utcoffset() == dt.timedelta(0) and moment.time() == dt.time(0)):
            return moment.date()  # a local time, or a plain date written as UTC midnight: its date
        return moment.astimezone(zone).date()
    except ValueError:
        fields.setdefault(name, []).append(_("Use an ISO 8601 date like 2026-11-27."))
        return None


def _decimal_of(value, name: str, fields: dict) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
        if not number.is_finite():
            raise ValueError
        return number
    except (ArithmeticError, ValueError):
        fields.setdefault(name, []).append(_("Must be a number."))
        return None


def _str_or_none(value) -> str:
    return "" if value is None else str(value).strip()


def draft_from_create_data(
    body,
    *,
    connection: QuickBooksConnection,
    features: dict,
    tax_rates: dict[str, dict],
    items: dict[str, QboItem],
    due_days: int,
    today: dt.date,
    deal_id: int | None,
) -> Draft:
    """InvoiceCreateData → our Draft (what the panel's modal submits too), checking what the
    contract itself constrains: tax mode and tax option from LinkFeatures, discounts, dates.

    `tax_rates` are the link's tax rates by id ({id, name, rate}); `items` the QBO items of the
    lines by id (for names and default prices)."""
    if not isinstance(body, dict):
        raise bad_request(_("Send InvoiceCreateData as a JSON object."))
    fields: dict[str, list[str]] = {}
    us = connection.tax_model == QuickBooksConnection.TaxModel.US
    mode_name = body.get("taxModeId") or "Exclusive"
    tax_mode = TAX_MODES.get(str(mode_name))
    mode_options = features["invoiceTaxModeOptions"]
    allowed_modes = {"Exclusive": "taxExclusive", "Inclusive": "taxInclusive", "NoTax": "noTax"}
    if tax_mode is None or not mode_options.get(allowed_modes[str(mode_name)]):
        fields.setdefault("taxModeId", []).append(
            _("This QuickBooks company does not support the tax mode %(mode)s.") % {"mode": mode_name}
        )
        tax_mode = "none"
    discount = body.get("globalDiscount")
    if isinstance(discount, dict) and any(discount.get(k) not in (None, 0, "0", "") for k in discount):
        fields.setdefault("globalDiscount", []).append(
            _("Discounts on the whole invoice are not supported; give each line its discount rate.")
        )
    invoice_rate = _str_or_none(body.get("taxRateId"))
    if invoice_rate and invoice_rate not in tax_rates:
        fields.setdefault("taxRateId", []).append(_("This tax rate does not exist in QuickBooks."))
    zone = _company_zone(connection)
    issue = _date_of(body.get("issueDate"), "issueDate", fields, zone=zone) or today
    # No due date: the company's due days after the issue date, as the panel's draft does.
    due = _date_of(body.get("dueDate"), "dueDate", fields, zone=zone) or issue + dt.timedelta(days=due_days)
    raw_lines = body.get("lineItems")
    if not isinstance(raw_lines, list) or not raw_lines:
        fields.setdefault("lineItems", []).append(_("The invoice needs at least one line."))
        raw_lines = []
    lines: list[DraftLine] = []
    for index, raw in enumerate(raw_lines):
        prefix = f"lineItems[{index}]"
        if not isinstance(raw, dict):
            fields.setdefault(prefix, []).append(_("Each line is an object."))
            continue
        item_id = _str_or_none(raw.get("productId"))
        item = items.get(item_id)
        quantity = _decimal_of(raw.get("quantity"), f"{prefix}.quantity", fields)
        price = _decimal_of(raw.get("unitPrice"), f"{prefix}.unitPrice", fields)
        if price is None and item is not None and item.unit_price is not None:
            price = Decimal(str(item.unit_price))
        rate_pct = _decimal_of(raw.get("discountRate"), f"{prefix}.discountRate", fields)
        line_rate = _str_or_none(raw.get("taxRateId"))
        if features["invoiceTaxOption"] == "single":
            if line_rate and invoice_rate and line_rate != invoice_rate:
                fields.setdefault(f"{prefix}.taxRateId", []).append(
                    _("This company has one tax rate per invoice; set taxRateId on the invoice.")
                )
            line_rate = invoice_rate or line_rate
        else:
            line_rate = line_rate or invoice_rate
        if line_rate and line_rate not in tax_rates:
            fields.setdefault(f"{prefix}.taxRateId", []).append(_("This tax rate does not exist in QuickBooks."))
        rate = Decimal(str(tax_rates[line_rate]["rate"])) if line_rate in tax_rates else Decimal("0")
        method = tax_mode if tax_mode != "none" and rate > 0 else "none"
        item_name = item.name if item is not None else ""
        description = (
            _str_or_none(raw.get("description")) or (item.description if item is not None else "") or item_name
        )
        lines.append(
            DraftLine(
                name=item_name or description or _("Line %(n)d") % {"n": index + 1},
                quantity=str(quantity if quantity is not None else Decimal("1")),
                item_price=str(price if price is not None else Decimal("0")),
                discount=str(rate_pct or 0),
                discount_type="percentage",
                tax=str(rate if method != "none" else 0),
                tax_method=method,
                description=description,
                qbo_item_id=item_id,
                qbo_item_name=item_name,
                # Non-US lines carry a real TaxCode; US lines are TAX/NON from the rate.
                tax_code=line_rate if not us else "",
            )
        )
    if fields:
        raise bad_request(_("Some invoice fields are not valid."), fields=fields)
    address = [line.strip() for line in _str_or_none(body.get("address")).splitlines() if line.strip()]
    customer = DraftCustomer(
        name=_str_or_none(body.get("contactName"))[: CONTACT_NAME_LIMIT + 1],
        email=_str_or_none(body.get("email")),
        tax_id=_str_or_none(body.get("taxNumber")),
        address=DraftAddress(line1=address[0] if address else "", line2=", ".join(address[1:])),
        qbo_customer_id=_str_or_none(body.get("contactId")),
    )
    currency = _str_or_none(body.get("currencyId")).upper()
    return Draft(
        deal_id=int(deal_id or 0),
        deal_title="",
        currency=currency,
        customer=customer,
        lines=lines,
        issue_date=issue.isoformat(),
        due_date=due.isoformat(),
        doc_number=_str_or_none(body.get("invoiceNumber")),
        tax_mode=tax_mode,
    )
