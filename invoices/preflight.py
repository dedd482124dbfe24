"""Pre-flight: every problem with a draft, found at once, without writing anything (DESIGN §4).

Reads QBO (customer, items, tax codes) in a few queries; writes nothing anywhere.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_noop

from integration.errors import said
from integration.quickbooks import entities
from integration.quickbooks.models import QuickBooksConnection
from integration.quickbooks.records import QboCustomer, QboItem, QboTaxCode, QboTaxRate
from invoices import money, validation
from invoices.drafts import Draft
from invoices.sync import company_today

MAX_DISPLAY_NAME = 500
MAX_DOC_NUMBER = 21
MAX_EMAIL = 100
MAX_DESCRIPTION = 4000
MAX_ADDRESS_LINE = 500
MAX_LINES = 750


@dataclass(frozen=True)
class Problem:
    field: str
    code: str
    message: str
    suggestion: dict = dataclasses.field(default_factory=dict)

    def as_dict(self) -> dict:
        data: dict[str, object] = {"field": self.field, "code": self.code, "message": self.message}
        if self.suggestion:
            data["suggestion"] = self.suggestion
        return data


@dataclass
class Checked:
    """What pre-flight learned, reused by the create so it does not read QBO twice."""

    problems: list[Problem] = field(default_factory=list)
    priced: list[money.PricedLine] = field(default_factory=list)
    customer: QboCustomer | None = None
    items: dict[str, QboItem] = field(default_factory=dict)
    tax_codes: dict[str, QboTaxCode] = field(default_factory=dict)
    expected_total: Decimal = Decimal("0")
    expected_tax: Decimal = Decimal("0")

    def add(self, field_name: str, code: str, message: str, **suggestion) -> None:
        self.problems.append(Problem(field_name, code, message, suggestion))

    @property
    def ok(self) -> bool:
        return not self.problems


def _date(checked: Checked, name: str, value: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(value)
    except (TypeError, ValueError):
        checked.add(name, "date_invalid", said(gettext_noop("Use a date like 2026-11-27.")))
        return None


def _rate_of(code: QboTaxCode, rates: dict[str, QboTaxRate]) -> Decimal | None:
    """The sales rate of a non-US TaxCode (sum of its sales tax rates), if known."""
    if not code.sales_rate_ids:
        return None
    total = Decimal("0")
    for rate_id in code.sales_rate_ids:
        rate = rates.get(rate_id)
        if rate is None:
            return None
        total += Decimal(str(rate.rate))
    return total


def preflight(*, connection: QuickBooksConnection, draft: Draft, client: entities.QboClient) -> Checked:
    """Check a draft against the money rules and the connected QBO company."""
    checked = Checked()
    # Limits first (columns and QBO): a draft that could overflow is refused before QBO is read.
    for field_name, code, message in validation.draft_problems(draft, today=company_today(connection)):
        checked.add(field_name, code, message)
    if checked.problems:
        return checked
    us = connection.tax_model == QuickBooksConnection.TaxModel.US
    home = connection.home_currency or "USD"

    # Currency
    currency = (draft.currency or "").upper()
    if not currency:
        checked.add("currency", "currency_missing", said(gettext_noop("Choose the invoice currency.")))
    elif currency != home and not connection.multicurrency_enabled:
        checked.add(
            "currency",
            "currency_not_enabled",
            said(
                gettext_noop(
                    "QuickBooks uses only %(home)s: multicurrency is off, so a %(currency)s invoice is not possible."
                ),
                {"home": home, "currency": currency},
            ),
        )

    # Dates and number
    issue = _date(checked, "issue_date", draft.issue_date)
    due = _date(checked, "due_date", draft.due_date)
    if issue and due and due < issue:
        checked.add("due_date", "due_before_issue", said(gettext_noop("The due date is before the issue date.")))
    if len(draft.doc_number or "") > MAX_DOC_NUMBER:
        checked.add(
            "doc_number", "too_long", said(gettext_noop("Invoice numbers have at most %d characters."), MAX_DOC_NUMBER)
        )
    elif draft.doc_number and entities.invoice_id_by_doc_number(client, draft.doc_number):
        # QBO refuses a used number with 6140 when the company numbers its own invoices, and Intuit
        # advises against duplicates otherwise: say so before anything is written.
        checked.add(
            "doc_number",
            "doc_number_taken",
            said(gettext_noop("QuickBooks already has an invoice numbered %(number)s."), {"number": draft.doc_number}),
        )

    # Customer
    customer = draft.customer
    if customer.email:
        if len(customer.email) > MAX_EMAIL:
            checked.add(
                "customer.email",
                "too_long",
                said(gettext_noop("QuickBooks keeps at most %d characters of email."), MAX_EMAIL),
            )
        else:
            try:
                validate_email(customer.email)
            except ValidationError:
                checked.add(
                    "customer.email",
                    "email_invalid",
                    said(gettext_noop("“%(email)s” is not an email address."), {"email": customer.email}),
                )
    elif draft.send_email:
        checked.add(
            "customer.email", "email_required", said(gettext_noop("An email address is needed to send the invoice."))
        )
    for part, value in vars(customer.address).items():
        if len(value) > MAX_ADDRESS_LINE:
            checked.add(f"customer.address.{part}", "too_long", said(gettext_noop("This address line is too long.")))
    if customer.qbo_customer_id:
        checked.customer = entities.customer_by_id(client, customer.qbo_customer_id)
        if checked.customer is None:
            checked.add(
                "customer.qbo_customer_id",
                "customer_not_found",
                said(gettext_noop("This QuickBooks customer no longer exists.")),
            )
        else:
            if not checked.customer.active:
                checked.add(
                    "customer.qbo_customer_id",
                    "customer_inactive",
                    said(
                        gettext_noop(
                            "“%(name)s” is inactive in QuickBooks. Reactivate it there or pick another customer."
                        ),
                        {"name": checked.customer.display_name},
                    ),
                )
            their = checked.customer.currency or home
            if currency and their != currency:
                checked.add(
                    "currency",
                    "currency_mismatch",
                    said(
                        gettext_noop("“%(name)s” is billed in %(theirs)s in QuickBooks, not %(currency)s."),
                        {"name": checked.customer.display_name, "theirs": their, "currency": currency},
                    ),
                )
    else:
        name = (customer.name or "").strip()
        if not name:
            checked.add("customer.name", "customer_name_missing", said(gettext_noop("Give the customer a name.")))
        elif len(name) > MAX_DISPLAY_NAME:
            checked.add(
                "customer.name",
                "too_long",
                said(gettext_noop("Customer names have at most %d characters."), MAX_DISPLAY_NAME),
            )
        elif ":" in name:
            checked.add(
                "customer.name", "name_invalid", said(gettext_noop("QuickBooks does not allow “:” in customer names."))
            )
        else:
            existing = entities.customer_find_by_name(client, name)
            if existing is not None:
                checked.add(
                    "customer.name",
                    "display_name_taken",
                    said(
                        gettext_noop(
                            "QuickBooks already has a customer called “%(name)s”%(inactive)s. Link it instead."
                        ),
                        {"name": name, "inactive": "" if existing.active else said(gettext_noop(" (inactive)"))},
                    ),
                    qbo_customer_id=existing.id,
                    active=existing.active,
                )

    # Lines
    if not draft.lines:
        checked.add("lines", "no_lines", said(gettext_noop("The invoice needs at least one line.")))
    if len(draft.lines) > MAX_LINES:
        checked.add("lines", "too_many_lines", said(gettext_noop("QuickBooks allows at most %d lines."), MAX_LINES))
    item_ids = {line.qbo_item_id for line in draft.lines if line.qbo_item_id}
    checked.items = entities.items_by_ids(client, item_ids)
    code_ids = {line.tax_code for line in draft.lines if line.tax_code} if not us else set()
    checked.tax_codes = entities.tax_codes_by_ids(client, code_ids)
    rate_ids = {rate_id for code in checked.tax_codes.values() for rate_id in code.sales_rate_ids}
    rates = entities.tax_rates_by_ids(client, rate_ids)
    for index, line in enumerate(draft.lines):
        prefix = f"lines[{index}]"
        try:
            priced = money.price_line(line.deal_line())
        except money.MoneyError as exc:
            checked.add(f"{prefix}.{exc.field or 'amount'}", "line_invalid", exc.message)
            continue
        checked.priced.append(priced)
        if len(line.description or "") > MAX_DESCRIPTION:
            checked.add(
                f"{prefix}.description",
                "too_long",
                said(gettext_noop("Descriptions have at most %d characters."), MAX_DESCRIPTION),
            )
        if not line.qbo_item_id:
            checked.add(
                f"{prefix}.qbo_item_id",
                "item_required",
                said(gettext_noop("Link “%(name)s” to a QuickBooks product or service."), {"name": line.name}),
            )
        elif line.qbo_item_id not in checked.items:
            checked.add(
                f"{prefix}.qbo_item_id",
                "item_not_found",
                said(gettext_noop("The QuickBooks item for “%(name)s” is missing or inactive."), {"name": line.name}),
            )
        if not us:  # non-US companies need a real TaxCode on every line (reference §8.3)
            if not line.tax_code:
                checked.add(
                    f"{prefix}.tax_code",
                    "tax_code_required",
                    said(gettext_noop("Choose a QuickBooks tax code for “%(name)s”."), {"name": line.name}),
                )
            elif line.tax_code not in checked.tax_codes:
                checked.add(
                    f"{prefix}.tax_code", "tax_code_not_found", said(gettext_noop("This tax code does not exist."))
                )
            else:
                rate = _rate_of(checked.tax_codes[line.tax_code], rates)
                wanted = priced.line.tax if priced.line.tax_method != "none" else Decimal("0")
                if rate is not None and rate != wanted:
                    checked.add(
                        f"{prefix}.tax_code",
                        "tax_rate_mismatch",
                        said(
                            gettext_noop("Tax code “%(code)s” is %(rate)s%% but “%(name)s” has %(tax)s%%."),
                            {
                                "code": checked.tax_codes[line.tax_code].name,
                                "rate": rate,
                                "name": line.name,
                                "tax": wanted,
                            },
                        ),
                    )
    if checked.priced:
        checked.expected_total = sum((p.total for p in checked.priced), Decimal("0"))
        checked.expected_tax = sum((p.tax for p in checked.priced), Decimal("0"))
        too_large = validation.total_problem(checked.expected_total)
        if too_large:
            checked.add("total", "amount_too_large", too_large)
    return checked
