"""Money, numbers and dates on the server follow the reader's language (CLDR through Babel, the same
data the browser's Intl uses), with the invoice currency's own symbol and decimals."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import formats, translation

from invoices.money import format_amount, format_money

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("language", "currency", "expected"),
    [
        ("en", "USD", "$1,234.50"),
        ("uk", "USD", f"1{NBSP}234,50{NBSP}USD"),
        ("uk", "UAH", f"1{NBSP}234,50{NBSP}₴"),
        ("de", "EUR", f"1.234,50{NBSP}€"),
        ("fr", "EUR", f"1{NBSP}234,50{NBSP}€"),
        ("pt-br", "BRL", f"R${NBSP}1.234,50"),
        ("pl", "PLN", f"1{NBSP}234,50{NBSP}zł"),
        ("nl", "EUR", f"€{NBSP}1.234,50"),
        ("en", "JPY", "¥1,235"),  # no decimals in yen
    ],
)
def test_money_is_written_the_readers_way_in_the_invoice_currency(language, currency, expected):
    with translation.override(language):
        assert format_money(Decimal("1234.50"), currency).replace("\u202f", NBSP) == expected


def test_amounts_in_sentences_that_name_the_currency():
    with translation.override("uk"):
        assert format_amount(Decimal("1234.5"), "USD") == f"1{NBSP}234,50"
        assert format_amount(Decimal("1234"), "JPY") == f"1{NBSP}234"
    with translation.override("de"):
        assert format_amount(Decimal("1234.5"), "EUR") == "1.234,50"
    assert format_amount("not a number", "USD") == "not a number"
    with translation.override("en"):
        assert format_money("12.5", "XYZ") == "XYZ12.50"  # a code CLDR does not know: the code itself


def test_the_duplicate_warning_speaks_ukrainian_numbers_and_dates():
    """A sentence built on the server formats its amount and date for its reader."""
    from types import SimpleNamespace

    from django.utils.translation import gettext as _

    invoice = SimpleNamespace(
        doc_number="1001", total=Decimal("25763.50"), currency="USD", txn_date=dt.date(2026, 12, 13)
    )
    with translation.override("uk"):
        text = _(
            "Invoice %(number)s (%(amount)s %(currency)s, %(date)s) already bills this deal for the same lines. "
            "You can still create another one."
        ) % {
            "number": invoice.doc_number,
            "amount": format_amount(invoice.total, invoice.currency),
            "currency": invoice.currency,
            "date": formats.date_format(invoice.txn_date),
        }
    assert text.startswith(f"Рахунок 1001 (25{NBSP}763,50 USD, 13 грудня 2026 р.) уже виставлено за цю угоду")
