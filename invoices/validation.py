"""Limits a draft must respect before anything is written or sent (issue 17).

Every value that ends in one of our columns or in QuickBooks is checked here against the
smaller of the two limits, so that a hostile or mistyped number is a 400 naming the field,
never an overflow after QuickBooks already created the invoice.

- `InvoiceLine.quantity` / `unit_price` are numeric(18, 7): at most 11 integer digits, and QBO
  accepts `Qty` and `UnitPrice` with at most 7 decimal places (reliability-targets §7.2).
- `InvoiceLine.amount` and `Invoice.total` are numeric(18, 2). We cap every amount (price, line,
  total) at MAX_AMOUNT, ten digits before the point: far above any real invoice, well inside both
  the columns and what QBO stores, so that even the invoice total cannot overflow.
- Pipedrive ids are stored in BigIntegerField (signed 64 bits); QBO ids are numeric strings
  kept in CharField(32).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

MAX_AMOUNT = Decimal("9999999999.99")
MAX_DECIMAL_PLACES = 7  # QBO's Qty and UnitPrice; our numeric(18, 7) columns
MAX_PERCENT = Decimal("1000")  # tax rates; discounts in percent are bounded to 100 by money.price_line
MAX_BIGINT = 2**63 - 1  # PostgreSQL bigint / Django BigIntegerField
MAX_QBO_ID = 32  # our CharField(32) for QBO ids
MIN_DATE = dt.date(1900, 1, 1)
MAX_YEARS_AHEAD = 10
TAX_MODES = ("exclusive", "inclusive", "none")
CURRENCY = re.compile(r"^[A-Z]{3}\Z")
QBO_ID = re.compile(r"^[1-9][0-9]{0,31}\Z")
ASCII_DIGITS = re.compile(r"^[0-9]{1,19}\Z")


def decimal_or_none(value) -> Decimal | None:
    """A finite Decimal, or None for anything else (NaN, Infinity, 1e999999999 overflow, text)."""
    if isinstance(value, bool):
        return None
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except (InvalidOperation, ValueError, TypeError):
        return None
    return number if number.is_finite() else None


def bounded_id(value) -> int | None:
    """A positive id that fits a signed 64-bit column, or None."""
    if isinstance(value, bool):
        return None
    text = str(value).strip()
    if not ASCII_DIGITS.match(text):  # str.isdigit() also accepts "²" and "٣", which int() refuses
        return None
    number = int(text)
    return number if 0 < number <= MAX_BIGINT else None


def money_problem(value, *, allow_negative: bool = False) -> str | None:
    """Why `value` cannot be an amount, quantity or unit price (None when it can)."""
    number = decimal_or_none(value)
    if number is None:
        return _("Enter a number.")
    # adjusted() first: arithmetic on 1e999999999 overflows the decimal context itself.
    if number.adjusted() >= 10 or abs(number) > MAX_AMOUNT:
        return _("This number is too large: at most %(max)s.") % {"max": f"{MAX_AMOUNT:,}"}
    if not allow_negative and number < 0:
        return None  # the money rules explain negatives in their own words
    exponent = number.as_tuple().exponent
    if (
        isinstance(exponent, int)
        and -exponent > MAX_DECIMAL_PLACES
        and number != number.quantize(Decimal(1).scaleb(-MAX_DECIMAL_PLACES))
    ):
        return _("Use at most %(places)d decimal places.") % {"places": MAX_DECIMAL_PLACES}
    return None


def draft_problems(draft, *, today: dt.date) -> list[tuple[str, str, str]]:
    """(field, code, message) for every limit the draft breaks; empty when it fits everywhere."""
    problems: list[tuple[str, str, str]] = []

    def add(field: str, code: str, message: str) -> None:
        problems.append((field, code, message))

    if draft.tax_mode not in TAX_MODES:
        add("tax_mode", "invalid_choice", _("Choose one of: %(choices)s.") % {"choices": ", ".join(TAX_MODES)})
    if draft.currency and not CURRENCY.match(draft.currency):
        add("currency", "currency_invalid", _("Use a three-letter currency code in capitals, like USD."))
    latest = today + dt.timedelta(days=round(365.25 * MAX_YEARS_AHEAD))
    for name in ("issue_date", "due_date"):
        try:
            value = dt.date.fromisoformat(getattr(draft, name) or "")
        except (TypeError, ValueError):
            continue  # pre-flight says "Use a date like 2026-11-27"
        if not MIN_DATE <= value <= latest:
            add(
                name,
                "date_out_of_range",
                _("Use a date between %(first)s and %(last)s.")
                % {"first": MIN_DATE.isoformat(), "last": latest.isoformat()},
            )
    if draft.deal_id and bounded_id(draft.deal_id) is None:  # 0: a create without a deal
        add("deal_id", "id_invalid", _("This is not a Pipedrive id."))
    customer = draft.customer
    if customer.pipedrive_id is not None and bounded_id(customer.pipedrive_id) is None:
        add("customer.pipedrive_id", "id_invalid", _("This is not a Pipedrive id."))
    if customer.qbo_customer_id and not QBO_ID.match(customer.qbo_customer_id):
        add("customer.qbo_customer_id", "id_invalid", _("This is not a QuickBooks id."))
    for index, line in enumerate(draft.lines):
        prefix = f"lines[{index}]"
        before = len(problems)
        for name in ("item_price", "quantity", "discount"):
            if getattr(line, name) in (None, ""):
                continue  # missing: the money rules name it
            message = money_problem(getattr(line, name))
            if message:
                add(f"{prefix}.{name}", "number_invalid", message)
        if line.pipedrive_sum not in (None, ""):
            message = money_problem(line.pipedrive_sum, allow_negative=True)
            if message:
                add(f"{prefix}.pipedrive_sum", "number_invalid", message)
        tax = decimal_or_none(line.tax or 0)
        if tax is None or tax.adjusted() > 4 or abs(tax) > MAX_PERCENT:
            add(f"{prefix}.tax", "number_invalid", _("Enter a tax rate in percent."))
        if line.pipedrive_product_id is not None and bounded_id(line.pipedrive_product_id) is None:
            add(f"{prefix}.pipedrive_product_id", "id_invalid", _("This is not a Pipedrive id."))
        if line.qbo_item_id and not QBO_ID.match(line.qbo_item_id):
            add(f"{prefix}.qbo_item_id", "id_invalid", _("This is not a QuickBooks id."))
        if line.tax_code and len(line.tax_code) > MAX_QBO_ID:
            add(f"{prefix}.tax_code", "id_invalid", _("This is not a QuickBooks tax code."))
        if len(problems) > before or line.item_price in (None, "") or line.quantity in (None, ""):
            continue
        # The line's amount (price × quantity) must fit as well; only worth checking once the
        # parts are sane numbers.
        amount = Decimal(str(line.item_price).strip()) * Decimal(str(line.quantity).strip())
        if abs(amount) > MAX_AMOUNT:
            add(
                f"{prefix}.quantity",
                "amount_too_large",
                _("This line comes to more than %(max)s.") % {"max": f"{MAX_AMOUNT:,}"},
            )
    return problems


def total_problem(total: Decimal) -> str | None:
    if abs(total) > MAX_AMOUNT:
        return _("The invoice total is above %(max)s.") % {"max": f"{MAX_AMOUNT:,}"}
    return None


# -- raw JSON types ------------------------------------------------------------------------------

BOOLEAN_FIELDS = {"send_email": "", "suggestion_active": "customer.", "update_in_quickbooks": "customer."}


def raw_draft_type_problems(raw) -> dict[str, list[str]]:
    """Fields whose JSON type is wrong in a client's draft, before `Draft.from_dict` coerces them
    ("yes" must not become True)."""
    if not isinstance(raw, dict):
        return {}
    fields: dict[str, list[str]] = {}
    given = raw.get("customer")
    customer = given if isinstance(given, dict) else {}
    for name, prefix in BOOLEAN_FIELDS.items():
        source = customer if prefix else raw
        if name in source and source[name] is not None and not isinstance(source[name], bool):
            fields[prefix + name] = [_("Must be true or false.")]
    return fields


def path_ids_bounded(kwargs: dict) -> bool:
    """Every `…_id` of a URL fits a 64-bit column: a larger one names nothing we store (and would
    overflow the query), so the panel API answers 404 before any query."""
    return all(bounded_id(value) is not None for name, value in kwargs.items() if name.endswith("_id"))
