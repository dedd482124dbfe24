"""The invoice draft: a Pipedrive deal seen through the company's field mapping.

The draft is what the create-invoice modal shows and the user edits before submitting. It is
plain data (JSON-able) and is also what `invoice_create` takes back.
"""

from __future__ import annotations

from dataclasses import MISSING, asdict, dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from integration.pipedrive.fields import Address
from invoices import money


@dataclass
class DraftAddress:
    line1: str = ""
    line2: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str = ""

    @classmethod
    def from_value(cls, value: Any) -> DraftAddress:
        if isinstance(value, Address):
            street = " ".join(p for p in (value.street_number, value.route) if p) if value.route else ""
            if not (street or value.locality or value.postal_code):
                return cls(line1=value.formatted_address or value.value)
            return cls(
                line1=street or value.value,
                line2=value.subpremise,
                city=value.locality or value.sublocality,
                region=value.admin_area_level_1,
                postal_code=value.postal_code,
                country=value.country,
            )
        return cls(line1=str(value or ""))


@dataclass
class DraftCustomer:
    name: str = ""
    email: str = ""
    tax_id: str = ""
    address: DraftAddress = field(default_factory=DraftAddress)
    pipedrive_entity: str = ""  # organization | person: what the customer link remembers
    pipedrive_id: int | None = None
    qbo_customer_id: str = ""  # empty: create a new QBO customer
    suggestion_reason: str = ""  # linked | email | name
    suggestion_active: bool = True
    update_in_quickbooks: bool = False


@dataclass
class DraftLine:
    name: str
    quantity: str
    item_price: str
    discount: str = "0"
    discount_type: str = "percentage"
    tax: str = "0"
    tax_method: str = "none"
    pipedrive_product_id: int | None = None
    pipedrive_sum: str | None = None
    description: str = ""
    qbo_item_id: str = ""
    qbo_item_name: str = ""
    tax_code: str = ""
    net: str = ""
    tax_amount: str = ""
    total: str = ""
    error: str = ""

    def deal_line(self, *, check_pipedrive_sum: bool = False) -> money.DealLine:
        """The line as the user confirmed it. Pipedrive's own `sum` is checked only while the draft
        is built from the deal: a client sends it back too, so it proves nothing, and an edited
        line no longer has one."""
        return money.DealLine(
            name=self.name,
            item_price=money.to_decimal(self.item_price, field="item_price"),
            quantity=money.to_decimal(self.quantity, field="quantity"),
            discount=money.to_decimal(self.discount or 0, field="discount"),
            discount_type=self.discount_type,
            tax=money.to_decimal(self.tax or 0, field="tax"),
            tax_method=self.tax_method,
            pipedrive_sum=money.to_decimal(self.pipedrive_sum, field="sum")
            if self.pipedrive_sum and check_pipedrive_sum
            else None,
        )


@dataclass
class Draft:
    deal_id: int
    deal_title: str
    currency: str
    customer: DraftCustomer
    lines: list[DraftLine]
    issue_date: str
    due_date: str
    doc_number: str = ""
    tax_mode: str = "exclusive"  # exclusive | inclusive | none
    send_email: bool = False
    total: str = "0.00"  # what the modal showed the user; a create that sends it must bill exactly that
    deal_value: str = ""  # the deal's value in Pipedrive, for the difference shown before create
    deal_currency: str = ""
    difference: str = ""  # total − deal_value, when both are in the same currency (output only)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data) -> Draft:
        """A draft from JSON sent by a client: every field coerced to its type; anything else is a
        DraftError naming the field (never a crash)."""
        if not isinstance(data, dict):
            raise DraftError("draft", _("The draft must be an object."))
        customer = data.get("customer") or {}
        if not isinstance(customer, dict):
            raise DraftError("customer", _("The customer must be an object."))
        address = customer.get("address") or {}
        if not isinstance(address, dict):
            raise DraftError("customer.address", _("The address must be an object."))
        lines = data.get("lines") or []
        if not isinstance(lines, list) or not all(isinstance(line, dict) for line in lines):
            raise DraftError("lines", _("The lines must be a list of objects."))
        return cls(
            **_coerce(cls, data, prefix="", skip={"customer", "lines"}),
            customer=DraftCustomer(
                **_coerce(DraftCustomer, customer, prefix="customer.", skip={"address"}),
                address=DraftAddress(**_coerce(DraftAddress, address, prefix="customer.address.")),
            ),
            lines=[DraftLine(**_coerce(DraftLine, line, prefix=f"lines[{i}].")) for i, line in enumerate(lines)],
        )


def priced(draft: Draft) -> dict:
    """The confirmed lines priced one by one (the money rule, invoices/money.py), their total, and
    the difference from the deal's value: what the modal shows before create. A line that cannot
    be priced carries its error and its field instead, and the total is then unknown ("")."""
    lines: list[dict] = []
    total = money.ZERO
    complete = True
    for index, line in enumerate(draft.lines):
        try:
            result = money.price_line(line.deal_line())
        except money.MoneyError as exc:
            lines.append({"error": exc.message, "field": f"lines[{index}].{exc.field or 'amount'}"})
            complete = False
            continue
        lines.append({"net": str(result.net), "tax_amount": str(result.tax), "total": str(result.total)})
        total += result.total
    total_text = str(money.round2(total)) if complete else ""
    return {
        "lines": lines,
        "total": total_text,
        "deal_value": draft.deal_value,
        "deal_currency": draft.deal_currency,
        "difference": difference_from_deal(draft, total_text),
    }


def difference_from_deal(draft: Draft, total: str) -> str:
    """Invoice total minus the deal's value ("" when either is unknown or the currencies differ)."""
    if not total or not draft.deal_value:
        return ""
    if (draft.deal_currency or "").upper() != (draft.currency or "").upper():
        return ""
    try:
        value = money.round2(money.to_decimal(draft.deal_value, field="deal_value"))
        return str(money.round2(money.to_decimal(total)) - value)
    except (money.MoneyError, ArithmeticError):
        return ""


class DraftError(ValueError):
    """A draft that is not even well-formed JSON for a draft; `field` names the culprit."""

    def __init__(self, field_name: str, message: str):
        super().__init__(message)
        self.field = field_name
        self.message = message


def _coerce(kind, data: dict, *, prefix: str, skip: frozenset | set = frozenset()) -> dict:
    values: dict[str, Any] = {}
    for name, spec in kind.__dataclass_fields__.items():
        if name in skip:
            continue
        has_default = spec.default is not MISSING or spec.default_factory is not MISSING
        if name not in data or data[name] is None:
            if not has_default and "None" not in str(spec.type):
                if spec.type == "str":
                    values[name] = ""
                    continue
                raise DraftError(prefix + name, _("This field is required."))
            if "None" in str(spec.type):
                values[name] = None
            continue
        value = data[name]
        try:
            if spec.type == "bool":
                values[name] = value if isinstance(value, bool) else str(value).lower() in {"1", "true", "yes", "on"}
            elif spec.type.startswith("int"):
                values[name] = None if value == "" else int(value)
            elif isinstance(value, dict | list):
                raise ValueError
            else:
                values[name] = str(value)
        except (TypeError, ValueError) as exc:
            raise DraftError(prefix + name, _("This value has the wrong type.")) from exc
    return values
