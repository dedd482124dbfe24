"""Three bugs a mutation review showed the suite would let through (issue 11), each pinned here.

1. A customer created in QuickBooks must carry its `requestid`, the same one on every retry, so a
   create whose answer was lost makes exactly one customer.
2. Overdue is "due date before today": due today is not overdue, due yesterday is, in every read.
3. "Today" is the QuickBooks company's date, not UTC's nor the server's.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
import time_machine

from integration.quickbooks.models import QuickBooksConnection
from integration.quickbooks.services import client_for
from integration.sandbox.quickbooks.models import SandboxCall
from invoices import create, sync, tasks
from invoices.drafts import Draft, DraftAddress, DraftCustomer, DraftLine
from invoices.models import Invoice, InvoiceDeal
from invoices.status import Status, effective_status
from tenants.scoping import company_scope
from tests.invoices.test_panel_api import panel
from tests.personas import add_invoices

# -- 1. the customer create keeps its requestid ---------------------------------------------------


def _draft(*, customer_name: str) -> Draft:
    return Draft(
        deal_id=501,
        deal_title="Garden makeover",
        currency="USD",
        customer=DraftCustomer(
            name=customer_name,
            email="ap@lost-answer.example",
            address=DraftAddress(line1="1 Main St", city="Springfield", region="CA", postal_code="94000"),
            pipedrive_entity="organization",
            pipedrive_id=78,
        ),
        lines=[DraftLine(name="Hours", quantity="3", item_price="50", pipedrive_product_id=9001, qbo_item_id="2")],
        issue_date="2026-11-27",
        due_date="2026-12-27",
        tax_mode="none",
    )


@pytest.fixture
def lose_the_first_customer_answer(monkeypatch) -> list[str]:
    """QuickBooks creates the customer but its answer never arrives (a reset after the write): the
    request really goes to the sandbox, then the connection "drops". Returns the URLs it cut."""
    cut: list[str] = []
    original = requests.Session.send

    def send(self, request, **kwargs):
        response = original(self, request, **kwargs)
        if not cut and request.method == "POST" and request.path_url.split("?")[0].endswith("/customer"):
            cut.append(request.url)
            raise requests.ConnectionError("connection reset after the write")
        return response

    monkeypatch.setattr(requests.Session, "send", send)
    return cut


def test_a_lost_customer_create_is_replayed_with_its_requestid_and_makes_one_customer(
    qbo, connected, personas, lose_the_first_customer_answer
):
    name = f"Lost Answer Gardens {uuid.uuid4().hex[:8]}"
    with company_scope(connected.company):
        pending = create.invoice_create(
            connection=connected,
            draft=_draft(customer_name=name),
            actor=personas.alice_membership,
            idempotency_key=str(uuid.uuid4()),
        )
    assert lose_the_first_customer_answer, "the customer create never happened"
    assert pending.state == "pending", pending.last_error
    # The retry a worker would run.
    with company_scope(connected.company):
        tasks.submit_invoice.apply(kwargs={"company_id": connected.company_id, "invoice_id": pending.pk}).get()

    writes = SandboxCall.objects.filter(realm_id=connected.realm_id, method="POST", path__endswith="/customer")
    request_ids = list(writes.order_by("id").values_list("request_id", flat=True))
    assert len(request_ids) == 2  # the lost one and its replay
    assert request_ids[0] and request_ids[0] == request_ids[1]  # sent, and the same both times
    assert parse_qs(urlsplit(lose_the_first_customer_answer[0]).query)["requestid"] == [request_ids[0]]

    done = Invoice.all_companies.get(pk=pending.pk)
    assert done.state == "created" and done.customer_name == name, done.last_error
    with company_scope(connected.company):
        found = client_for(connection=connected).query(f"select * from Customer where DisplayName = '{name}'")  # noqa: S608
    assert [customer["Id"] for customer in found.items] == [done.customer_qbo_id]


# -- 2. the overdue boundary, read time -----------------------------------------------------------

# 2026-11-27 20:00 UTC: Auckland (UTC+13) is already on the 28th, Los Angeles (UTC-8) on the 27th.
EVENING_UTC = dt.datetime(2026, 11, 27, 20, 0, tzinfo=dt.UTC)
# 2026-11-28 03:00 UTC: UTC and Auckland are on the 28th, Los Angeles still on the 27th.
NIGHT_UTC = dt.datetime(2026, 11, 28, 3, 0, tzinfo=dt.UTC)


def _set_timezone(connection: QuickBooksConnection, zone: str) -> None:
    QuickBooksConnection.all_companies.filter(pk=connection.pk).update(timezone=zone)
    connection.refresh_from_db()


def _second_invoice(personas, *, due: dt.date) -> Invoice:
    """Another open invoice on Alice's deal, 40.00 owed."""
    invoice = Invoice.all_companies.create(
        company=personas.company_a,
        connection=personas.connection_a,
        state="created",
        qbo_id="5019",
        doc_number="501-2",
        customer_qbo_id="3",
        customer_name="Customer of A",
        currency="USD",
        total=Decimal("40.00"),
        balance=Decimal("40.00"),
        txn_date="2026-11-01",
        due_date=due,
    )
    InvoiceDeal.all_companies.create(company=personas.company_a, invoice=invoice, deal_id=personas.deal_a)
    return invoice


def test_due_today_is_not_overdue_and_due_yesterday_is_in_the_panel_read(personas):
    add_invoices(personas)
    _set_timezone(personas.connection_a, "America/Los_Angeles")
    today = dt.date(2026, 11, 27)  # in Los Angeles at EVENING_UTC
    Invoice.all_companies.filter(pk=personas.invoice_a.pk).update(due_date=today)  # 100.00 owed
    late = _second_invoice(personas, due=today - dt.timedelta(days=1))
    with time_machine.travel(EVENING_UTC, tick=False):
        body = panel(personas.alice_membership).get(f"/api/v1/deals/{personas.deal_a}/invoices").json()
    status = {row["id"]: (row["status"], row["pipedrive_status"]) for row in body["invoices"]}
    assert status[personas.invoice_a.pk] == ("open", {"code": "created", "label": ""})
    assert status[late.pk] == ("overdue", {"code": "issued", "label": "Overdue"})
    [usd] = body["summary"]
    assert (usd["outstanding"], usd["overdue"]) == ("140.00", "40.00")


def test_the_overdue_boundary_in_the_service_functions(personas):
    today = dt.date(2026, 11, 27)
    yesterday = today - dt.timedelta(days=1)
    assert effective_status(status=Status.OPEN, due_date=today, today=today) == Status.OPEN
    assert effective_status(status=Status.OPEN, due_date=yesterday, today=today) == Status.OVERDUE
    # The daily job records the same boundary.
    add_invoices(personas)
    _set_timezone(personas.connection_a, "America/Los_Angeles")
    Invoice.all_companies.filter(pk=personas.invoice_a.pk).update(due_date=today)
    late = _second_invoice(personas, due=yesterday)
    with time_machine.travel(EVENING_UTC, tick=False), company_scope(personas.company_a):
        assert sync.overdue_refresh(connection=personas.connection_a) == 1
    assert Invoice.all_companies.get(pk=personas.invoice_a.pk).status == Status.OPEN
    assert Invoice.all_companies.get(pk=late.pk).status == Status.OVERDUE


# -- 3. the company's time zone -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("instant", "auckland", "los_angeles"),
    [
        (EVENING_UTC, dt.date(2026, 11, 28), dt.date(2026, 11, 27)),
        (NIGHT_UTC, dt.date(2026, 11, 28), dt.date(2026, 11, 27)),
    ],
    ids=["utc-on-the-27th", "utc-on-the-28th"],
)
def test_company_today_is_the_date_in_the_companys_time_zone(personas, settings, instant, auckland, los_angeles):
    # The server's zone is neither company's nor UTC: using it would be caught too.
    settings.TIME_ZONE = "Pacific/Honolulu"
    add_invoices(personas)
    _set_timezone(personas.connection_a, "Pacific/Auckland")
    _set_timezone(personas.connection_b, "America/Los_Angeles")
    with time_machine.travel(instant, tick=False):
        assert instant.date() in {auckland, los_angeles}  # UTC's date is always one of them: it cannot pass
        assert sync.company_today(personas.connection_a) == auckland
        assert sync.company_today(personas.connection_b) == los_angeles


def test_the_panel_judges_overdue_by_the_companys_own_date(personas):
    """At NIGHT_UTC, Auckland's and UTC's date is the 28th, Los Angeles' the 27th. Both invoices are
    due on the 27th: overdue in Auckland (company A), not yet in Los Angeles (company B)."""
    add_invoices(personas)
    _set_timezone(personas.connection_a, "Pacific/Auckland")
    _set_timezone(personas.connection_b, "America/Los_Angeles")
    due = dt.date(2026, 11, 27)
    Invoice.all_companies.filter(pk__in=[personas.invoice_a.pk, personas.invoice_b.pk]).update(due_date=due)
    # And at EVENING_UTC (UTC on the 27th too), Auckland is already on the 28th.
    for instant in (NIGHT_UTC, EVENING_UTC):
        with time_machine.travel(instant, tick=False):
            [a] = panel(personas.alice_membership).get(f"/api/v1/deals/{personas.deal_a}/invoices").json()["invoices"]
            [b] = panel(personas.charlie_membership).get("/api/v1/deals/601/invoices").json()["invoices"]
        assert (a["status"], b["status"]) == ("overdue", "open"), instant
