import datetime as dt
from decimal import Decimal

import pytest

from invoices.status import Facts, Status, allowed_actions, compute_status, pipedrive_status
from tests.references import qbo_fixture as fixture

TODAY = dt.date(2026, 11, 27)


@pytest.mark.parametrize(
    ("name", "today", "expected"),
    [
        # invoice 264 as read before it was voided: nothing paid, due 2020-10-29
        ("accounting/invoice_read_response.json", dt.date(2020, 10, 29), Status.OPEN),
        ("accounting/invoice_read_response.json", dt.date(2020, 10, 30), Status.OVERDUE),
        # the same invoice after void: TotalAmt 0, PrivateNote "Voided" (Balance 0 too: not "paid")
        ("accounting/invoice_void_response.json", TODAY, Status.VOIDED),
        ("accounting/invoice_delete_response.json", TODAY, Status.DELETED),
        ("accounting/invoice_create_response.json", dt.date(2020, 9, 29), Status.OPEN),
        # docs sample: TotalAmt 362.07, Balance 362.07, due 2014-10-19
        ("docs-samples/invoice_read_sample.json", dt.date(2014, 10, 1), Status.OPEN),
        ("docs-samples/invoice_read_sample.json", TODAY, Status.OVERDUE),
        # send sample: TotalAmt 52, Deposit 12, Balance 40 → partially paid
        ("docs-samples/invoice_send_response_sample.json", TODAY, Status.PARTIALLY_PAID),
    ],
)
def test_status_of_real_invoices(name, today, expected):
    assert compute_status(Facts.from_qbo(fixture(name)["Invoice"]), today=today) == expected


def facts(total, balance, due="2026-11-26", note="", deleted=False):
    return Facts(Decimal(total), Decimal(balance), dt.date.fromisoformat(due) if due else None, note, deleted)


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (facts("100.00", "100.00", due="2026-11-27"), Status.OPEN),  # due today is not overdue
        (facts("100.00", "100.00", due="2026-11-26"), Status.OVERDUE),
        (facts("100.00", "100.00", due=None), Status.OPEN),
        (facts("100.00", "40.00"), Status.PARTIALLY_PAID),  # partial payment wins over overdue
        (facts("100.00", "0"), Status.PAID),
        (facts("0", "0"), Status.PAID),  # a zero invoice is closed
        (facts("0", "0", note="Voided"), Status.VOIDED),
        (facts("0", "0", note="Voided - customer cancelled"), Status.VOIDED),
        (facts("100.00", "0", note="Voided"), Status.PAID),  # a note alone does not void
        (facts("100.00", "100.00", deleted=True), Status.DELETED),
        (facts("0", "0", note="Voided", deleted=True), Status.DELETED),
    ],
)
def test_status_rules_table(case, expected):
    assert compute_status(case, today=TODAY) == expected


@pytest.mark.parametrize(
    ("status", "sent", "code", "label"),
    [
        (Status.OPEN, False, "created", ""),
        (Status.OPEN, True, "issued", ""),
        (Status.OVERDUE, True, "issued", "Overdue"),
        (Status.OVERDUE, False, "issued", "Overdue"),
        (Status.PARTIALLY_PAID, True, "partiallyPaid", ""),
        (Status.PAID, True, "paid", ""),
        (Status.VOIDED, False, "voided", ""),
        (Status.DELETED, False, "deleted", ""),
    ],
)
def test_pipedrive_status_codes(status, sent, code, label):
    mapped = pipedrive_status(status, sent=sent)
    assert (mapped.code, mapped.label) == (code, label)


def test_actions_match_the_status():
    assert "void" in allowed_actions(Status.OPEN)
    assert "void" in allowed_actions(Status.OVERDUE)
    assert "void" in allowed_actions(Status.PAID)  # QBO keeps the payment as unapplied credit
    assert "void" not in allowed_actions(Status.VOIDED)
    assert "void" in allowed_actions(Status.PARTIALLY_PAID)
    assert "delete" not in allowed_actions(Status.PAID)
    assert "delete" not in allowed_actions(Status.PAID)
    assert allowed_actions(Status.DELETED) == ()


@pytest.mark.parametrize(
    ("due", "expected"),
    [("2026-11-27", Status.OPEN), ("2026-11-26", Status.OVERDUE), (None, Status.OPEN)],
)
def test_the_read_time_boundary_is_the_same_rule(due, expected):
    """A stored Open invoice reads as Overdue only when due strictly before the company's today."""
    from invoices.status import effective_status, is_past_due

    due_date = dt.date.fromisoformat(due) if due else None
    assert effective_status(status="open", due_date=due_date, today=TODAY) == expected
    assert is_past_due(due_date, today=TODAY) is (expected == Status.OVERDUE)


def test_one_status_enum():
    from invoices.models import Invoice

    assert Invoice.Status is Status
    assert [value for value, _label in Invoice._meta.get_field("status").choices] == [s.value for s in Status]
