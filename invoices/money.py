"""Money rules (DESIGN §5): Decimal, two places, half-up; QBO line Amount = round2(Qty × UnitPrice).

Pipedrive deal product → our line:
    gross    = item_price × quantity
    discount = gross × discount / 100            (discount_type "percentage")
             = discount                          (discount_type "amount": off the whole line)
    net      = round2(gross − discount)          the line amount before tax
    tax      = round2(net × tax / 100)           tax_method "exclusive" (added on top)
             = round2(net − net / (1 + tax/100)) tax_method "inclusive" (already inside net)
             = 0                                 tax_method "none"
    total    = net + tax (exclusive) or net (inclusive, none)
Disabled products (`is_enabled` false) are not invoiced. When Pipedrive reports its own
`sum` for a line, it must agree with our total to the cent, or the line is refused: the draft
never shows an amount Pipedrive would not.

The user may edit every line in the create window (quantity, price, discount, tax) and add lines:
the invoice bills the lines as confirmed, priced by the same formula. Every value is bounded so
that it fits our columns (Decimal(18, 7) quantity and unit price, Decimal(18, 2) amounts) and
QBO's: see MAX_QUANTITY, MAX_PRICE, MAX_LINE_AMOUNT, MAX_TAX_RATE.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from django.utils.translation import gettext as _

CENT = Decimal("0.01")
QBO_PRICE_PLACES = Decimal("0.0000001")  # QBO keeps UnitPrice and Qty to 7 decimal places
ZERO = Decimal("0")
# Bounds of one line. A collapsed line sends its whole amount as UnitPrice (Qty 1): the amount
# bound keeps that inside Decimal(18, 7) too, and 750 lines inside the invoice's Decimal(18, 2).
MAX_QUANTITY = Decimal("1000000")
MAX_PRICE = Decimal("1000000000")
MAX_LINE_AMOUNT = Decimal("99999999999.99")
MAX_TAX_RATE = Decimal("100")


class MoneyError(ValueError):
    """A line or total that cannot be invoiced exactly; `field` names the culprit."""

    def __init__(self, message: str, *, field: str = ""):
        super().__init__(message)
        self.message = message
        self.field = field


def to_decimal(value, *, field: str = "amount") -> Decimal:
    """Parse a JSON number or string into a finite Decimal (floats go through str())."""
    try:
        number = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError) as exc:
        raise MoneyError(
            _("%(field)s is not a number: %(value)r") % {"field": field, "value": value}, field=field
        ) from exc
    if not number.is_finite():
        raise MoneyError(_("%(field)s is not a finite number") % {"field": field}, field=field)
    return number


def round2(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class DealLine:
    """One Pipedrive deal product, as priced in Pipedrive."""

    name: str
    item_price: Decimal
    quantity: Decimal
    discount: Decimal = ZERO
    discount_type: str = "percentage"  # percentage | amount
    tax: Decimal = ZERO  # percent
    tax_method: str = "none"  # exclusive | inclusive | none
    is_enabled: bool = True
    pipedrive_sum: Decimal | None = None

    @classmethod
    def from_pipedrive(cls, product: dict) -> DealLine:
        """From a v2 `/deals/{id}/products` item."""
        name = product.get("name") or _("Product %(id)s") % {"id": product.get("product_id")}
        sum_ = product.get("sum")
        return cls(
            name=name,
            item_price=to_decimal(product.get("item_price", 0), field="item_price"),
            quantity=to_decimal(product.get("quantity", 1), field="quantity"),
            discount=to_decimal(product.get("discount") or 0, field="discount"),
            discount_type=product.get("discount_type") or "percentage",
            tax=to_decimal(product.get("tax") or 0, field="tax"),
            tax_method=product.get("tax_method") or "none",
            is_enabled=product.get("is_enabled", True) is not False,
            pipedrive_sum=to_decimal(sum_, field="sum") if sum_ is not None else None,
        )


@dataclass(frozen=True)
class PricedLine:
    line: DealLine
    net: Decimal
    tax: Decimal
    total: Decimal


def price_line(line: DealLine) -> PricedLine:
    """Apply the Pipedrive formula to one line; refuse what cannot be invoiced."""
    if line.quantity <= 0:
        raise MoneyError(
            _("“%(name)s” has a quantity of %(qty)s; it must be above zero.")
            % {"name": line.name, "qty": line.quantity},
            field="quantity",
        )
    if line.item_price < 0:
        raise MoneyError(_("“%(name)s” has a negative price.") % {"name": line.name}, field="item_price")
    if line.discount < 0:
        raise MoneyError(_("“%(name)s” has a negative discount.") % {"name": line.name}, field="discount")
    if line.discount_type not in {"percentage", "amount"}:
        raise MoneyError(
            _("“%(name)s” has an unknown discount type %(type)r.") % {"name": line.name, "type": line.discount_type},
            field="discount_type",
        )
    if line.tax_method not in {"exclusive", "inclusive", "none"}:
        raise MoneyError(
            _("“%(name)s” has an unknown tax method %(method)r.") % {"name": line.name, "method": line.tax_method},
            field="tax_method",
        )
    if line.tax < 0:
        raise MoneyError(_("“%(name)s” has a negative tax rate.") % {"name": line.name}, field="tax")
    _check_bounds(line)
    gross = line.item_price * line.quantity
    if gross > MAX_LINE_AMOUNT:
        raise MoneyError(
            _("“%(name)s” comes to more than %(max)s; split it into several lines.")
            % {"name": line.name, "max": MAX_LINE_AMOUNT},
            field="quantity",
        )
    if line.discount_type == "percentage":
        if line.discount > 100:
            raise MoneyError(_("“%(name)s” has a discount above 100%%.") % {"name": line.name}, field="discount")
        discount = gross * line.discount / 100
    else:
        discount = line.discount
    net = round2(gross - discount)
    if net < 0:
        raise MoneyError(
            _("“%(name)s” has a discount larger than the line itself.") % {"name": line.name}, field="discount"
        )
    if line.tax_method == "exclusive":
        tax = round2(net * line.tax / 100)
        total = net + tax
    elif line.tax_method == "inclusive":
        tax = round2(net - net / (1 + line.tax / 100))
        total = net
    else:
        tax, total = ZERO, net
    if line.pipedrive_sum is not None and round2(line.pipedrive_sum) != total:
        raise MoneyError(
            _("“%(name)s” totals %(ours)s here but %(theirs)s in Pipedrive; refresh the deal and try again.")
            % {"name": line.name, "ours": total, "theirs": round2(line.pipedrive_sum)},
            field="sum",
        )
    return PricedLine(line=line, net=net, tax=tax, total=total)


def _check_bounds(line: DealLine) -> None:
    """Refuse values our columns or QBO cannot hold, before any arithmetic on them."""
    for field_name, value, highest, message in (
        ("quantity", line.quantity, MAX_QUANTITY, _("“%(name)s” has a quantity above %(max)s.")),
        ("item_price", line.item_price, MAX_PRICE, _("“%(name)s” has a price above %(max)s.")),
        ("tax", line.tax, MAX_TAX_RATE, _("“%(name)s” has a tax rate above %(max)s%%.")),
        (
            "discount",
            line.discount if line.discount_type == "amount" else ZERO,
            MAX_LINE_AMOUNT,
            _("“%(name)s” has a discount above %(max)s."),
        ),
    ):
        if value > highest:
            raise MoneyError(message % {"name": line.name, "max": highest}, field=field_name)
    if line.quantity < QBO_PRICE_PLACES:
        # QBO keeps 7 decimals: a smaller quantity would reach it as zero.
        raise MoneyError(
            _("“%(name)s” has a quantity below %(min)s.") % {"name": line.name, "min": "0.0000001"},
            field="quantity",
        )


@dataclass(frozen=True)
class QboAmounts:
    """What a QBO SalesItemLine carries so that Amount == round2(Qty × UnitPrice) exactly."""

    qty: Decimal
    unit_price: Decimal
    amount: Decimal
    collapsed: bool  # True when the quantity could not be kept and Qty=1 carries the whole amount


def qbo_amounts(*, quantity: Decimal, amount: Decimal) -> QboAmounts:
    """Split a line amount into Qty × UnitPrice that QBO accepts and that multiplies back exactly.

    QBO rejects a line whose Amount differs from Qty × UnitPrice (error 6070) and keeps 7
    decimals. When no 7-decimal unit price gives the amount back, send Qty 1 instead.
    """
    amount = round2(amount)
    qty = quantity.quantize(QBO_PRICE_PLACES, rounding=ROUND_HALF_UP).normalize()
    if qty > 0 and qty == quantity:
        unit = (amount / qty).quantize(QBO_PRICE_PLACES, rounding=ROUND_HALF_UP)
        if round2(qty * unit) == amount:
            return QboAmounts(qty=qty, unit_price=unit.normalize(), amount=amount, collapsed=False)
    return QboAmounts(qty=Decimal("1"), unit_price=amount, amount=amount, collapsed=True)


def deal_total(lines: Iterable[DealLine]) -> Decimal:
    """What Pipedrive shows for the deal's enabled products."""
    return sum((price_line(line).total for line in lines if line.is_enabled), ZERO)


# -- display -------------------------------------------------------------------------------------
# The one money-format rule: CLDR's, for the reader's locale and the currency's own symbol and
# decimals (JPY has none). The browser applies the same data through Intl.NumberFormat
# (static/panel/common.js money); the server through Babel here.


def _babel_locale(locale: str | None) -> str:
    from babel import Locale, UnknownLocaleError
    from django.utils import translation

    name = translation.to_locale(locale or translation.get_language() or "en")
    try:
        return str(Locale.parse(name))
    except (UnknownLocaleError, ValueError):
        return "en"


def format_money(amount, currency: str, *, locale: str | None = None) -> str:
    """`amount` in `currency` as the reader writes money ("$1,234.50", "1 234,50 USD")."""
    from babel.numbers import UnknownCurrencyError, format_currency

    try:
        value = _rounded(Decimal(str(amount)), currency)
        return format_currency(value, currency, locale=_babel_locale(locale), decimal_quantization=False)
    except (UnknownCurrencyError, InvalidOperation, ValueError):
        return f"{format_amount(amount, currency, locale=locale)} {currency}".strip()


def _rounded(value: Decimal, currency: str) -> Decimal:
    """Half-up to the currency's decimals, as every amount here (and as Intl rounds in the browser)."""
    from babel.numbers import get_currency_precision

    places = get_currency_precision(currency) if currency else 2
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


def format_amount(amount, currency: str = "", *, locale: str | None = None) -> str:
    """The number alone, grouped and with the currency's decimals, for sentences that already name the
    currency code ("1.234,50" in German for "… %(amount)s %(currency)s …")."""
    from babel.numbers import format_decimal, get_currency_precision

    places = get_currency_precision(currency) if currency else 2
    try:
        value = Decimal(str(amount))
    except (InvalidOperation, ValueError):
        return str(amount)
    pattern = "#,##0" + ("." + "0" * places if places else "")
    value = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return format_decimal(value, format=pattern, locale=_babel_locale(locale), decimal_quantization=False)
