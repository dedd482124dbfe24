from decimal import ROUND_DOWN, Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from invoices.money import DealLine, MoneyError, deal_total, price_line, qbo_amounts, round2

prices = st.decimals(min_value=0, max_value=1_000_000, places=2)
quantities = st.one_of(
    st.integers(min_value=1, max_value=10_000).map(Decimal),
    st.decimals(min_value=Decimal("0.0001"), max_value=10_000, places=4),
)
percentages = st.decimals(min_value=0, max_value=100, places=2)
tax_rates = st.sampled_from([Decimal(x) for x in ("0", "5", "7.25", "8.875", "10", "19", "20", "21", "25")])


@st.composite
def deal_lines(draw):
    price = draw(prices)
    quantity = draw(quantities)
    discount_type = draw(st.sampled_from(["percentage", "amount"]))
    if discount_type == "percentage":
        discount = draw(percentages)
    else:
        # at most the line's gross amount (rounded down: a discount above it is refused, see below)
        gross = (price * quantity).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
        discount = draw(st.decimals(min_value=0, max_value=gross, places=2))
    return DealLine(
        name="Line",
        item_price=price,
        quantity=quantity,
        discount=discount,
        discount_type=discount_type,
        tax=draw(tax_rates),
        tax_method=draw(st.sampled_from(["exclusive", "inclusive", "none"])),
        is_enabled=draw(st.booleans()),
    )


@settings(max_examples=1500, deadline=None)
@given(st.lists(deal_lines(), min_size=1, max_size=20))
def test_qbo_lines_add_up_to_the_deal_to_the_cent(lines):
    """Every line goes to QBO as Qty × UnitPrice that multiplies back to the line's net amount,
    and the QBO amounts (plus tax where Pipedrive adds it on top) sum to the deal's total."""
    expected = deal_total(lines)
    invoiced = Decimal("0")
    for line in lines:
        if not line.is_enabled:
            continue
        priced = price_line(line)
        amounts = qbo_amounts(quantity=line.quantity, amount=priced.net)
        assert amounts.amount == round2(amounts.qty * amounts.unit_price)
        assert amounts.amount == priced.net
        assert amounts.unit_price == amounts.unit_price.quantize(Decimal("0.0000001")).normalize()
        assert amounts.qty > 0
        assert priced.net >= 0 and priced.tax >= 0
        invoiced += amounts.amount + (priced.tax if line.tax_method == "exclusive" else 0)
    assert invoiced == expected
    assert expected == expected.quantize(Decimal("0.01"))


@settings(max_examples=1500, deadline=None)
@given(prices, quantities)
def test_quantity_is_kept_whenever_it_can_be(price, quantity):
    net = round2(price * quantity)
    amounts = qbo_amounts(quantity=quantity, amount=net)
    assert amounts.amount == net == round2(amounts.qty * amounts.unit_price)
    if not amounts.collapsed:
        assert amounts.qty == quantity
    else:
        assert (amounts.qty, amounts.unit_price) == (Decimal("1"), net)


@settings(max_examples=1000, deadline=None)
@given(deal_lines())
def test_pipedrive_sum_is_the_oracle(line):
    priced = price_line(line)
    agreeing = DealLine(**{**line.__dict__, "pipedrive_sum": priced.total})
    assert price_line(agreeing).total == priced.total
    off_by_a_cent = DealLine(**{**line.__dict__, "pipedrive_sum": priced.total + Decimal("0.01")})
    with pytest.raises(MoneyError, match="in Pipedrive") as refused:
        price_line(off_by_a_cent)
    assert refused.value.field == "sum"


@pytest.mark.parametrize(
    ("line", "net", "tax", "total"),
    [
        (DealLine("A", Decimal("10"), Decimal("3")), "30.00", "0", "30.00"),
        (DealLine("B", Decimal("100"), Decimal("2"), Decimal("10"), "percentage"), "180.00", "0", "180.00"),
        (DealLine("C", Decimal("100"), Decimal("2"), Decimal("15"), "amount"), "185.00", "0", "185.00"),
        (
            DealLine("D", Decimal("100"), Decimal("1"), tax=Decimal("20"), tax_method="exclusive"),
            "100.00",
            "20.00",
            "120.00",
        ),
        (
            DealLine("E", Decimal("120"), Decimal("1"), tax=Decimal("20"), tax_method="inclusive"),
            "120.00",
            "20.00",
            "120.00",
        ),
        (DealLine("F", Decimal("0.333"), Decimal("3")), "1.00", "0", "1.00"),  # 0.999 rounds half-up
        (DealLine("G", Decimal("0.125"), Decimal("1")), "0.13", "0", "0.13"),
        (
            DealLine("H", Decimal("19.99"), Decimal("0.5"), tax=Decimal("8.875"), tax_method="exclusive"),
            "10.00",
            "0.89",
            "10.89",
        ),
    ],
)
def test_worked_examples(line, net, tax, total):
    priced = price_line(line)
    assert (priced.net, priced.tax, priced.total) == (Decimal(net), Decimal(tax), Decimal(total))


def test_quantity_kept_when_a_7_decimal_price_multiplies_back():
    amounts = qbo_amounts(quantity=Decimal("3"), amount=Decimal("1.00"))  # 3 × 0.3333333 → 1.00
    assert (amounts.collapsed, amounts.qty, amounts.unit_price) == (False, 3, Decimal("0.3333333"))


def test_a_quantity_qbo_cannot_hold_is_sent_as_one_unit():
    # QBO keeps 7 decimals: a quantity with 9 cannot be sent as is.
    amounts = qbo_amounts(quantity=Decimal("0.123456789"), amount=Decimal("12.35"))
    assert (amounts.collapsed, amounts.qty, amounts.unit_price, amounts.amount) == (
        True,
        Decimal("1"),
        Decimal("12.35"),
        Decimal("12.35"),
    )


@pytest.mark.parametrize(
    ("line", "field"),
    [
        (DealLine("Q", Decimal("10"), Decimal("0")), "quantity"),
        (DealLine("Q", Decimal("10"), Decimal("-1")), "quantity"),
        (DealLine("P", Decimal("-10"), Decimal("1")), "item_price"),
        (DealLine("D", Decimal("10"), Decimal("1"), Decimal("101")), "discount"),
        (DealLine("D", Decimal("10"), Decimal("1"), Decimal("11"), "amount"), "discount"),
        (DealLine("D", Decimal("10"), Decimal("1"), Decimal("-1")), "discount"),
        (DealLine("D", Decimal("1.20"), Decimal("0.0125"), Decimal("0.02"), "amount"), "discount"),  # 0.015 - 0.02
        (DealLine("T", Decimal("10"), Decimal("1"), tax_method="compound"), "tax_method"),
        (DealLine("T", Decimal("10"), Decimal("1"), discount_type="fixed"), "discount_type"),
    ],
)
def test_lines_that_cannot_be_invoiced_are_refused_by_name(line, field):
    with pytest.raises(MoneyError) as refused:
        price_line(line)
    assert refused.value.field == field
    assert line.name in refused.value.message


def test_from_pipedrive_reads_the_v2_deal_product():
    product = {
        "name": "Widget",
        "item_price": 90,
        "quantity": 1,
        "discount": 0,
        "discount_type": "percentage",
        "tax": 0,
        "tax_method": "inclusive",
        "sum": 90,
        "is_enabled": True,
        "product_id": 1,
    }
    line = DealLine.from_pipedrive(product)
    assert price_line(line).total == Decimal("90.00")
    assert DealLine.from_pipedrive({**product, "is_enabled": False}).is_enabled is False
    with pytest.raises(MoneyError, match="not a number"):
        DealLine.from_pipedrive({**product, "item_price": "ninety"})


# -- edited lines (issue 13): the user types any value in the create window --------------------

DB_MAX = Decimal("1e11")  # Decimal(18, 7): quantity and unit price; Decimal(18, 2) amounts hold more
LINE_FIELDS = {"quantity", "item_price", "discount", "discount_type", "tax", "tax_method", "amount"}
typed = st.one_of(
    st.decimals(allow_nan=False, allow_infinity=False, min_value=-10, max_value=Decimal("1e13")),
    st.decimals(min_value=0, max_value=1000, places=7),
    st.sampled_from(["1e-8", "1e400", "-0", "0.0000001", "999999999999", "1000000", "1000000000"]).map(Decimal),
)


@st.composite
def edited_lines(draw):
    return DealLine(
        name="Edited",
        item_price=draw(typed),
        quantity=draw(typed),
        discount=draw(typed),
        discount_type=draw(st.sampled_from(["percentage", "amount"])),
        tax=draw(st.one_of(tax_rates, typed)),
        tax_method=draw(st.sampled_from(["exclusive", "inclusive", "none"])),
    )


@settings(max_examples=1500, deadline=None)
@given(edited_lines())
def test_an_edited_line_is_billed_exactly_or_refused_by_field(line):
    """Whatever the user types, a line is either refused naming its field, or billed with
    Amount == round2(Qty × UnitPrice), values that fit our columns, and the half-up formula."""
    try:
        priced = price_line(line)
    except MoneyError as refused:
        assert refused.field in LINE_FIELDS
        return
    assert Decimal("0.0000001") <= line.quantity <= Decimal("1000000")
    assert 0 <= line.item_price <= Decimal("1000000000") and 0 <= line.tax <= 100
    amounts = qbo_amounts(quantity=line.quantity, amount=priced.net)
    assert amounts.amount == round2(amounts.qty * amounts.unit_price) == priced.net
    assert 0 < amounts.qty < DB_MAX and 0 <= amounts.unit_price < DB_MAX
    assert amounts.unit_price == amounts.unit_price.quantize(Decimal("0.0000001"))
    gross = line.item_price * line.quantity
    off = gross * line.discount / 100 if line.discount_type == "percentage" else line.discount
    assert priced.net == round2(gross - off) >= 0
    assert priced.total == priced.net + (priced.tax if line.tax_method == "exclusive" else 0)


@settings(max_examples=500, deadline=None)
@given(st.lists(deal_lines(), min_size=1, max_size=8), st.data())
def test_the_draft_total_is_what_the_create_bills_and_an_edit_moves_only_its_line(lines, data):
    """The modal's total (drafts.priced) is the sum of the confirmed lines the create bills; editing
    one line's quantity or price changes the total by that line's change alone, and the
    difference from the deal's value is exactly total − value."""
    from invoices.drafts import Draft, DraftCustomer, DraftLine, priced

    def draft_line(line: DealLine) -> DraftLine:
        return DraftLine(
            name=line.name,
            quantity=str(line.quantity),
            item_price=str(line.item_price),
            discount=str(line.discount),
            discount_type=line.discount_type,
            tax=str(line.tax),
            tax_method=line.tax_method,
        )

    value = data.draw(prices)

    def draft_of(rows: list[DraftLine]) -> Draft:
        return Draft(
            deal_id=1,
            deal_title="",
            currency="USD",
            customer=DraftCustomer(),
            lines=rows,
            issue_date="2026-11-30",
            due_date="2026-12-30",
            deal_value=str(value),
            deal_currency="USD",
        )

    rows = [draft_line(line) for line in lines if line.is_enabled] or [draft_line(lines[0])]
    before = priced(draft_of(rows))
    billed = deal_total(row.deal_line() for row in rows)
    assert Decimal(before["total"]) == billed == sum((Decimal(r["total"]) for r in before["lines"]), Decimal(0))
    assert Decimal(before["difference"]) == billed - round2(value)

    index = data.draw(st.integers(min_value=0, max_value=len(rows) - 1))
    edited = DraftLine(**{**rows[index].__dict__})
    edited.quantity = str(data.draw(quantities))
    edited.item_price = str(data.draw(prices))
    if edited.discount_type == "amount":
        edited.discount = "0"  # an amount discount could now exceed the line: that is refused (above)
    after = priced(draft_of([*rows[:index], edited, *rows[index + 1 :]]))
    change = Decimal(after["lines"][index]["total"]) - Decimal(before["lines"][index]["total"])
    assert Decimal(after["total"]) - Decimal(before["total"]) == change
