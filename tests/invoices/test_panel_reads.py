"""The panel's hot reads (issue 12): same JSON as the serializer, fixed queries, ETag and 304."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from invoices import panel_reads
from invoices.models import Invoice, InvoiceDeal, InvoiceEvent
from tenants.models import Company
from tenants.scoping import company_scope
from tests.invoices.test_panel_api import panel
from tests.personas import add_invoices

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _no_remembered_seats():
    panel_reads.forget_seats()
    yield
    panel_reads.forget_seats()


def _copies(personas, n: int, *, deal_id: int | None = None) -> list[Invoice]:
    made = []
    for i in range(n):
        copy = Invoice.all_companies.get(pk=personas.invoice_a.pk)
        copy.pk, copy.request_id, copy.qbo_id = None, uuid.uuid4(), f"8{i}"
        copy.status = ["open", "paid", "voided", "partially_paid"][i % 4]
        copy.currency = "EUR" if i % 3 else "USD"
        copy.save()
        InvoiceDeal.all_companies.create(company=copy.company, invoice=copy, deal_id=deal_id or personas.deal_a)
        InvoiceDeal.all_companies.create(company=copy.company, invoice=copy, deal_id=900 + i)
        for k in range(3):
            InvoiceEvent.all_companies.create(
                company=copy.company, invoice=copy, kind="synced", actor=None, message=f"sync {k}"
            )
        made.append(copy)
    return made


def _deal_url(personas) -> str:
    return f"/api/v1/deals/{personas.deal_a}/invoices"


def test_lean_read_renders_what_the_serializer_documents(personas):
    from invoices.selectors import invoices_of_deal, summary
    from invoices.serializers import InvoiceSerializer
    from invoices.sync import company_today

    add_invoices(personas)
    _copies(personas, 6)
    Invoice.all_companies.filter(pk=personas.invoice_a.pk).update(due_date="2020-01-01", total="1234.5")
    body = panel(personas.alice_membership).get(_deal_url(personas)).json()
    with company_scope(personas.company_a):
        invoices = invoices_of_deal(
            company=personas.company_a, connection=personas.connection_a, deal_id=personas.deal_a
        )
        today = company_today(personas.connection_a)
        expected = InvoiceSerializer(
            list(invoices), many=True, context={"membership": personas.alice_membership, "today": today}
        ).data
        expected_summary = summary(invoices, today=today)
    assert body["invoices"] == [dict(row) for row in expected]
    assert body["summary"] == expected_summary
    assert len(body["invoices"]) == 7 and body["invoices"][-1]["status"] == "overdue"


def test_history_is_the_last_twenty_events_newest_first(personas):
    from invoices.selectors import HISTORY_LIMIT

    add_invoices(personas)
    for k in range(HISTORY_LIMIT + 5):
        InvoiceEvent.all_companies.create(
            company=personas.company_a, invoice=personas.invoice_a, kind="synced", message=f"e{k}"
        )
    [row] = panel(personas.alice_membership).get(_deal_url(personas)).json()["invoices"]
    assert len(row["history"]) == HISTORY_LIMIT
    assert row["history"][0]["message"] == f"e{HISTORY_LIMIT + 4}"


def test_queries_are_the_same_for_one_and_thirty_invoices(personas):
    add_invoices(personas)
    alice = panel(personas.alice_membership)

    def count() -> tuple[int, int]:
        with CaptureQueriesContext(db_connection) as queries:
            response = alice.get(_deal_url(personas))
        return len(response.json()["invoices"]), len(queries)

    panel_reads.forget_seats()
    one = count()
    _copies(personas, 29)
    panel_reads.forget_seats()
    thirty = count()
    assert (one[0], thirty[0]) == (1, 30)
    # A fresh seat: the member, the connection, then one statement (seat re-check, invoices with
    # their deal links, history and payments, the deal's won flag).
    assert one[1] == thirty[1] == 3
    # With the seat remembered: that one statement only.
    assert count() == (30, 1)


def test_contact_reads_are_one_statement_too(personas):
    add_invoices(personas)
    _copies(personas, 12)
    alice = panel(personas.alice_membership)
    url = f"/api/v1/contact-invoices?deal_id={personas.deal_a}&date_from=2020-01-01"
    first = alice.get(url)
    assert first.status_code == 200 and len(first.json()["invoices"]) == 13
    with CaptureQueriesContext(db_connection) as queries:
        again = alice.get(url)
    assert again.json() == first.json()
    assert len(queries) == 1, [q["sql"] for q in queries.captured_queries]
    with CaptureQueriesContext(db_connection) as queries:
        assert alice.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    assert len(queries) == 1


def test_reads_answer_the_api_error_envelope_without_drf(personas):
    """The plain read views answer errors exactly as the DRF views do (one mapping)."""
    from rest_framework.test import APIClient

    add_invoices(personas)
    anonymous = APIClient().get(_deal_url(personas))
    assert anonymous.status_code == 401 and anonymous["WWW-Authenticate"] == 'Bearer realm="pipedrive"'
    assert anonymous.json() == {"error": {"code": "not_authenticated", "message": "Not authenticated.", "fields": {}}}
    forged = APIClient()
    forged.credentials(HTTP_AUTHORIZATION="Bearer not.a.token")
    assert forged.get(_deal_url(personas)).json()["error"]["code"] == "not_authenticated"
    bad = panel(personas.alice_membership).get("/api/v1/contact-invoices?deal_id=x&date_from=2026-02-30")
    assert bad.status_code == 400 and set(bad.json()["error"]["fields"]) == {"deal_id", "date_from"}
    huge = panel(personas.alice_membership).get("/api/v1/deals/99999999999999999999/invoices")
    assert huge.status_code == 404 and huge.json()["error"]["code"] == "not_found"
    # Other methods still reach the DRF view of the same URL (CSRF-exempt, Bearer only).
    post = panel(personas.alice_membership).post(_deal_url(personas), {}, format="json")
    assert post.status_code == 400 and post.json()["error"]["code"] == "invalid"


def test_a_matching_etag_answers_304_without_serializing(personas, monkeypatch):
    add_invoices(personas)
    _copies(personas, 5)
    alice = panel(personas.alice_membership)
    first = alice.get(_deal_url(personas))
    etag = first["ETag"]
    assert first.status_code == 200 and etag.startswith('"') and first["Cache-Control"] == "private, no-cache"

    def refuse(*args, **kwargs):
        raise AssertionError("serialized on a 304")

    monkeypatch.setattr(panel_reads.Reader, "invoice", refuse)
    monkeypatch.setattr(panel_reads, "_row", refuse)
    monkeypatch.setattr(panel_reads, "json_response", refuse)
    with CaptureQueriesContext(db_connection) as queries:
        again = alice.get(_deal_url(personas), HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b"" and again["ETag"] == etag
    # One query: the remembered member and connection re-checked, with the deal's ETag aggregates
    # (no invoice row read: _row, which every invoice row goes through, was never called).
    assert len(queries) == 1, [q["sql"] for q in queries.captured_queries]


def _etag(personas, membership=None) -> str:
    return panel(membership or personas.alice_membership).get(_deal_url(personas))["ETag"]


def test_the_etag_changes_with_every_write_the_panel_shows(personas):
    add_invoices(personas)
    [other] = _copies(personas, 1)
    seen = {_etag(personas)}

    def changed() -> bool:
        tag = _etag(personas)
        fresh = tag not in seen
        seen.add(tag)
        return fresh

    assert not changed()  # stable while nothing changes
    Invoice.all_companies.filter(pk=other.pk).update(balance="10.00")  # queryset update, no save()
    assert changed()
    InvoiceEvent.all_companies.create(company=other.company, invoice=other, kind="emailed", message="Sent")
    assert changed()
    InvoiceDeal.all_companies.filter(invoice=other, deal_id=900).delete()  # a link to another deal
    assert changed()
    InvoiceDeal.all_companies.filter(invoice=other, deal_id=personas.deal_a).delete()  # leaves this deal
    assert changed()
    InvoiceDeal.all_companies.create(company=other.company, invoice=other, deal_id=personas.deal_a)
    assert changed()
    invoice = Invoice.all_companies.get(pk=personas.invoice_a.pk)
    invoice.customer_name = "Renamed"
    invoice.save()
    assert changed()
    Invoice.all_companies.filter(pk=other.pk).delete()
    assert changed()
    Company.objects.filter(pk=personas.company_a.pk).update(invoice_visibility=Company.InvoiceVisibility.TEAM)
    assert changed()


def test_the_etag_is_per_member_and_per_day(personas, time_machine):
    add_invoices(personas)
    Company.objects.filter(pk=personas.company_a.pk).update(invoice_visibility=Company.InvoiceVisibility.TEAM)
    time_machine.move_to(dt.datetime(2026, 11, 27, 12, tzinfo=dt.UTC))
    alice, bob = _etag(personas), _etag(personas, personas.bob_membership)
    assert alice != bob  # Bob may not void: another body
    stale = panel(personas.bob_membership).get(_deal_url(personas), HTTP_IF_NONE_MATCH=alice)
    assert stale.status_code == 200 and "void" not in stale.json()["invoices"][0]["actions"]
    time_machine.move_to(dt.datetime(2026, 11, 28, 12, tzinfo=dt.UTC))
    assert _etag(personas) != alice  # overdue is computed for today


def test_contact_invoices_are_conditional_too(personas, monkeypatch):
    add_invoices(personas)
    alice = panel(personas.alice_membership)
    url = f"/api/v1/contact-invoices?deal_id={personas.deal_a}&date_from=2026-01-01&date_to=2026-12-31"
    first = alice.get(url)
    assert first.status_code == 200 and [i["id"] for i in first.json()["invoices"]] == [personas.invoice_a.pk]
    assert first.json()["summary"][0]["outstanding"] == "100.00"
    monkeypatch.setattr(panel_reads, "_row", lambda *a: pytest.fail("serialized on a 304"))
    assert alice.get(url, HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    monkeypatch.undo()
    Invoice.all_companies.filter(pk=personas.invoice_a.pk).update(balance="0")
    again = alice.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == 200 and again.json()["summary"][0]["outstanding"] == "0.00"


def test_another_company_never_gets_a_304_from_a_copied_etag(personas):
    add_invoices(personas)
    tag = _etag(personas)
    charlie = panel(personas.charlie_membership)
    response = charlie.get(f"/api/v1/deals/{personas.deal_a}/invoices", HTTP_IF_NONE_MATCH=tag)
    assert response.status_code == 200 and response.json()["invoices"] == []


def _warm(personas, membership=None):
    client = panel(membership or personas.alice_membership)
    assert client.get(_deal_url(personas)).status_code in (200, 403)
    assert panel_reads._seats, "the seat is remembered"
    return client


def test_a_remembered_seat_never_outlives_an_uninstall(personas):
    add_invoices(personas)
    alice = _warm(personas)
    Company.objects.filter(pk=personas.company_a.pk).update(status=Company.Status.UNINSTALLED)
    assert alice.get(_deal_url(personas)).status_code == 401
    url = f"/api/v1/contact-invoices?deal_id={personas.deal_a}"
    assert alice.get(url).status_code == 401


def test_a_remembered_seat_never_outlives_a_disconnect(personas):
    from integration.quickbooks.models import QuickBooksConnection

    add_invoices(personas)
    alice = _warm(personas)
    QuickBooksConnection.all_companies.filter(pk=personas.connection_a.pk).update(status="disconnected")
    response = alice.get(_deal_url(personas))
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_connected"


def test_a_removed_or_deactivated_member_is_refused_at_once(personas):
    from tenants.models import Membership, User

    add_invoices(personas)
    Company.objects.filter(pk=personas.company_a.pk).update(invoice_visibility=Company.InvoiceVisibility.TEAM)
    bob = _warm(personas, personas.bob_membership)
    User.objects.filter(pk=personas.bob.pk).update(is_active=False)
    assert bob.get(_deal_url(personas)).status_code == 401
    User.objects.filter(pk=personas.bob.pk).update(is_active=True)
    assert bob.get(_deal_url(personas)).status_code == 200
    Membership.all_companies.filter(pk=personas.bob_membership.pk).delete()
    assert bob.get(_deal_url(personas)).status_code == 401


def test_changed_rights_apply_to_the_next_read(personas):
    from tenants.models import Membership

    add_invoices(personas)
    bob = _warm(personas, personas.bob_membership)
    assert bob.get(_deal_url(personas)).status_code == 403  # owner-only company: Bob sees nothing
    Company.objects.filter(pk=personas.company_a.pk).update(invoice_visibility=Company.InvoiceVisibility.TEAM)
    [row] = bob.get(_deal_url(personas)).json()["invoices"]
    assert "void" not in row["actions"]
    Membership.all_companies.filter(pk=personas.bob_membership.pk).update(is_admin=True)
    [row] = bob.get(_deal_url(personas)).json()["invoices"]
    assert "void" in row["actions"]


@pytest.mark.django_db(transaction=True)
def test_a_read_survives_a_database_connection_that_died_between_requests(personas, monkeypatch):
    """The hot reads skip CONN_HEALTH_CHECKS' SELECT 1 per request and retry once on a fresh
    connection instead."""
    from django.db import OperationalError

    add_invoices(personas)
    alice = panel(personas.alice_membership)
    assert alice.get(_deal_url(personas)).status_code == 200
    run, calls, closed = panel_reads._run, [], []

    def dies_once(sql, params):
        calls.append(sql)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return run(sql, params)

    monkeypatch.setattr(panel_reads, "_run", dies_once)
    monkeypatch.setattr(db_connection, "close", lambda: closed.append(True))
    response = alice.get(_deal_url(personas))
    assert response.status_code == 200 and [i["id"] for i in response.json()["invoices"]] == [personas.invoice_a.pk]
    assert len(calls) == 2 and closed == [True]


def test_charlie_cannot_read_company_a_through_the_plain_views(personas):
    """Tenant isolation on the fast path: the company comes from the token, never from the URL."""
    add_invoices(personas)
    _copies(personas, 3)
    charlie = panel(personas.charlie_membership)
    deal = charlie.get(_deal_url(personas))
    assert deal.status_code == 200 and deal.json()["invoices"] == []
    contact = charlie.get(f"/api/v1/contact-invoices?deal_id={personas.deal_a}")
    # Charlie's company has no invoice on company A's deal number: no customer; nothing of A's
    assert personas.invoice_a.customer_qbo_id not in contact.content.decode()
    assert contact.status_code == 404 and contact.json()["error"]["code"] == "no_customer"
    # A's ETag sent by Charlie never answers 304 and never names A's invoices.
    tag = panel(personas.alice_membership).get(_deal_url(personas))["ETag"]
    again = charlie.get(_deal_url(personas), HTTP_IF_NONE_MATCH=tag)
    assert again.status_code == 200 and again.json()["invoices"] == []
