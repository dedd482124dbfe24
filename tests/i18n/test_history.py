"""The invoice's history speaks its reader's language (issue 14), whoever wrote the event and in
whatever language was active then: a Celery sync writes with no member and no language at all.
Events store a text id and raw args (invoices/event_text.py); each reader renders them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext_noop

from integration.errors import said
from invoices import event_text, outcomes, panel_reads, sync
from invoices.models import Invoice, InvoiceEvent
from tenants.models import Membership
from tenants.scoping import company_scope
from tests.invoices.test_panel_api import panel
from tests.personas import add_invoices

pytestmark = pytest.mark.django_db

NBSP = "\u00a0"


@pytest.fixture(autouse=True)
def _no_remembered_seats():
    panel_reads.forget_seats()
    yield
    panel_reads.forget_seats()


@pytest.fixture
def team(personas):
    """Company A shows invoices to every member, so Bob reads Alice's invoice too."""
    from tenants.models import Company

    Company.objects.filter(pk=personas.company_a.pk).update(invoice_visibility=Company.InvoiceVisibility.TEAM)
    return personas


def _speaks(membership: Membership, language: str) -> None:
    Membership.all_companies.filter(pk=membership.pk).update(pipedrive_language=language)
    panel_reads.forget_seats()


def _background_status_change(personas, *, old: str, new: str) -> InvoiceEvent:
    """What a webhook or CDC sync writes: English active (a worker's default), nobody acting."""
    invoice = Invoice.all_companies.get(pk=personas.invoice_a.pk)
    with translation.override("en"), company_scope(personas.company_a):
        invoice.status = new
        invoice.save(update_fields=["status"])
        sync.record_status_change(invoice=invoice, old_status=old)
    return InvoiceEvent.all_companies.filter(invoice=invoice).latest("id")


def _panel_history(membership, deal_id: int) -> list[str]:
    [row] = panel(membership).get(f"/api/v1/deals/{deal_id}/invoices").json()["invoices"]
    return [event["message"] for event in row["history"]]


def _detail_history(membership, invoice_id: int) -> list[str]:
    response = panel(membership).get(reverse("api:invoice-detail", args=[invoice_id]), HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 200, response.content
    return [event["message"] for event in response.json()["history"]]


def test_a_status_change_synced_in_english_reads_in_ukrainian_and_german(personas, team):
    add_invoices(personas)
    event = _background_status_change(personas, old="open", new="partially_paid")
    assert event.message == "Open → Partially paid in QuickBooks"  # stored in English, for search and fallback
    assert event.data["text"] == [
        {"id": "status_moved", "args": {"old": "open", "new": "partially_paid", "source": "QuickBooks"}}
    ]

    _speaks(personas.alice_membership, "uk-UA")
    _speaks(personas.bob_membership, "de-DE")
    ukrainian, german = "Відкритий → Частково сплачено у QuickBooks", "Offen → Teilweise bezahlt in QuickBooks"
    # (a) the panel's fast read (invoices/panel_sql.py + panel_json.py), (b) the serializer (invoice detail)
    assert _panel_history(personas.alice_membership, personas.deal_a)[0] == ukrainian
    assert _detail_history(personas.alice_membership, personas.invoice_a.pk)[0] == ukrainian
    assert _panel_history(personas.bob_membership, personas.deal_a)[0] == german
    assert _detail_history(personas.bob_membership, personas.invoice_a.pk)[0] == german
    # The member's own choice wins over Pipedrive's language, as everywhere else
    Membership.all_companies.filter(pk=personas.alice_membership.pk).update(language="en")
    panel_reads.forget_seats()
    assert _panel_history(personas.alice_membership, personas.deal_a)[0] == "Open → Partially paid in QuickBooks"


def test_the_fast_read_and_the_serializer_render_the_same_lines(personas):
    from invoices.serializers import InvoiceSerializer

    add_invoices(personas)
    _background_status_change(personas, old="open", new="paid")
    invoice = Invoice.all_companies.get(pk=personas.invoice_a.pk)
    with translation.override("en"), company_scope(personas.company_a):
        event_text.record_event(
            invoice=invoice,
            kind=InvoiceEvent.Kind.SYNCED,
            text=[event_text.part("amount_changed", old=Decimal("1234.5"), new=Decimal("25763.50"), currency="USD")],
        )
    _speaks(personas.alice_membership, "uk-UA")
    fast = _panel_history(personas.alice_membership, personas.deal_a)
    with translation.override("uk"), company_scope(personas.company_a):
        from invoices.selectors import invoices_of_deal

        [row] = invoices_of_deal(company=personas.company_a, connection=personas.connection_a, deal_id=personas.deal_a)
        slow = [
            e["message"]
            for e in InvoiceSerializer(row, context={"membership": personas.alice_membership}).data["history"]
        ]
    assert fast == slow
    assert fast[:2] == [
        f"Суму змінено в QuickBooks: 1{NBSP}234,50{NBSP}USD → 25{NBSP}763,50{NBSP}USD",
        "Відкритий → Сплачено у QuickBooks",
    ]


def test_rows_without_a_text_id_show_their_stored_message(personas, team):
    """Free-form text (QuickBooks' own error on a failed create, rows written before text ids) is
    shown as stored, in every language."""
    add_invoices(personas)
    for message in ["Business Validation Error: Invalid account", "Створено вручну"]:
        InvoiceEvent.all_companies.create(
            company=personas.company_a, invoice=personas.invoice_a, kind="create_failed", message=message, data={}
        )
    _speaks(personas.alice_membership, "uk-UA")
    _speaks(personas.bob_membership, "de-DE")
    for membership in (personas.alice_membership, personas.bob_membership):
        assert _panel_history(membership, personas.deal_a)[:2] == [
            "Створено вручну",
            "Business Validation Error: Invalid account",
        ]
    assert _panel_history(personas.alice_membership, personas.deal_a)[-1] == "Created for Acme Robotics"


def test_older_status_and_deal_rows_are_rendered_from_their_data(personas):
    """Rows written before text ids whose data says it all follow the reader too: a status move
    (from/to, the source named in any language), the overdue sweep (its ISO due date), deal links."""
    add_invoices(personas)
    old_rows = [
        ("status_changed", "Offen → Bezahlt in QuickBooks", {"from": "open", "to": "paid"}),
        ("voided", "Paid → Voided in Pipedrive", {"from": "paid", "to": "voided"}),
        ("status_changed", "Ouvert → En retard (échéance 2026-12-13)", {"from": "open", "to": "overdue"}),
        ("linked", "Linked to deal 502", {"deal_id": 502}),
        # Not enough to rebuild it: kept as written
        ("status_changed", "Open → Paid by hand", {"from": "open", "to": "paid"}),
    ]
    for kind, message, data in old_rows:
        InvoiceEvent.all_companies.create(
            company=personas.company_a, invoice=personas.invoice_a, kind=kind, message=message, data=data
        )
    _speaks(personas.alice_membership, "uk-UA")
    assert _panel_history(personas.alice_membership, personas.deal_a)[:5] == [
        "Open → Paid by hand",
        "Пов'язано з угодою 502",
        "Відкритий → Прострочено (дата сплати 13 грудня 2026 р.)",
        "Сплачено → Скасований у Pipedrive",
        "Відкритий → Сплачено у QuickBooks",
    ]


def test_every_writer_stores_english_and_a_text_id(personas):
    """The overdue sweep, a void from Pipedrive with payments turned into credit: English in
    `message`, the reader's language on the panel."""
    add_invoices(personas)
    invoice = Invoice.all_companies.get(pk=personas.invoice_a.pk)
    Invoice.all_companies.filter(pk=invoice.pk).update(due_date=dt.date(2020, 1, 1))
    with translation.override("uk"), company_scope(personas.company_a):  # a Ukrainian request's language
        assert sync.overdue_refresh(connection=personas.connection_a) == 1
    overdue = InvoiceEvent.all_companies.filter(invoice=invoice).latest("id")
    assert overdue.message == "Open → Overdue (due Jan. 1, 2020)"

    invoice.refresh_from_db()
    with translation.override("de"), company_scope(personas.company_a):
        invoice.status = "voided"
        invoice.save(update_fields=["status"])
        sync.record_status_change(invoice=invoice, old_status="paid")  # QBO's webhook came first
        outcomes.record_action_outcome(
            invoice=invoice, actor=personas.bob_membership, kind="voided", unapplied=Decimal("1222")
        )
    voided = InvoiceEvent.all_companies.filter(invoice=invoice).latest("id")
    assert voided.actor_id == personas.bob_membership.pk and voided.data["unapplied_credit"] == "1222.00"
    assert voided.message == (
        "Paid → Voided in Pipedrive. The payment of 1,222.00 USD is now unapplied credit for "
        "Customer of Acme Robotics in QuickBooks."
    )
    _speaks(personas.alice_membership, "uk-UA")
    assert _panel_history(personas.alice_membership, personas.deal_a)[:2] == [
        f"Сплачено → Скасований у Pipedrive. Платіж 1{NBSP}222,00 USD тепер є незастосованим кредитом для "
        "Customer of Acme Robotics у QuickBooks.",
        "Відкритий → Прострочено (дата сплати 01 січня 2020 р.)",
    ]


def test_a_pending_creates_waiting_line_follows_the_reader(personas):
    """A background retry stores its reason in last_error in English; the panel and the serializer
    show it in the reader's language (from the newest "waiting" event). QuickBooks' own words on a
    failed create stay as they came."""
    from invoices.serializers import InvoiceSerializer

    add_invoices(personas)
    invoice = Invoice.all_companies.get(pk=personas.invoice_a.pk)
    text = [event_text.part("create_unavailable")]
    with translation.override("en"), company_scope(personas.company_a):
        invoice.state, invoice.last_error = Invoice.State.PENDING, event_text.render_parts(text)
        invoice.save(update_fields=["state", "last_error"])
        event_text.record_event(invoice=invoice, kind=InvoiceEvent.Kind.CREATE_PENDING, text=text)
    assert invoice.last_error == "QuickBooks is unavailable; retrying automatically."
    _speaks(personas.alice_membership, "uk-UA")
    with translation.override("uk"):
        ukrainian = translation.gettext("QuickBooks is unavailable; retrying automatically.")
    assert ukrainian != invoice.last_error
    [row] = panel(personas.alice_membership).get(f"/api/v1/deals/{personas.deal_a}/invoices").json()["invoices"]
    assert row["last_error"] == ukrainian
    with translation.override("uk"), company_scope(personas.company_a):
        detail = InvoiceSerializer(
            Invoice.all_companies.get(pk=invoice.pk), context={"membership": personas.alice_membership}
        ).data
    assert detail["last_error"] == ukrainian

    Invoice.all_companies.filter(pk=invoice.pk).update(state=Invoice.State.FAILED, last_error="Invalid account")
    panel_reads.forget_seats()
    [row] = panel(personas.alice_membership).get(f"/api/v1/deals/{personas.deal_a}/invoices").json()["invoices"]
    assert row["last_error"] == "Invalid account"


SAMPLES = {
    "status_moved": {"old": "open", "new": "partially_paid", "source": "QuickBooks"},
    "overdue": {"date": dt.date(2026, 12, 13)},
    "found": {},
    "amount_changed": {"old": "1234.5", "new": "25763.50", "currency": "USD"},
    "adopted": {"number": "1001"},
    "created": {"number": "1001"},
    "emailed": {"email": "ap@example.com"},
    "emailed_cc": {"email": "ap@example.com", "cc": "boss@example.com"},
    "linked": {"deal": 501},
    "unlinked": {"deal": 501},
    "create_slow": {},
    "create_delayed": {"n": 3, "reason": "ThrottleExceeded"},
    "create_unavailable": {},
    "unapplied_credit": {"amount": "222.00", "currency": "USD", "customer": ""},
    "said": {"text": said(gettext_noop("QuickBooks is unavailable (HTTP %s); try again later."), 503)},
}


def test_every_history_text_has_a_sample_here():
    assert set(SAMPLES) == set(event_text.TEXTS)


@pytest.mark.parametrize("language", ["uk", "de", "es", "fr", "pt-br", "pl", "it", "nl"])
def test_every_history_text_is_translated(language):
    for text_id, args in SAMPLES.items():
        parts = [event_text.part(text_id, **args)]
        english = event_text.english(parts)
        with translation.override(language):
            shown = event_text.render("synced", english, {"text": parts})
        assert shown != english, (language, text_id, shown)


def test_render_falls_back_to_the_message_on_anything_it_cannot_read():
    for data in [
        {"text": [{"id": "no_such_text", "args": {}}]},
        {"text": [{"id": "created", "args": {}}]},  # its number missing
        {"text": [{"id": "status_moved", "args": {"old": "lost", "new": "paid", "source": "QuickBooks"}}]},
        {"text": "not a list"},
        "not json",
        None,
    ]:
        with translation.override("uk"):
            assert event_text.render("synced", "as stored", data) == "as stored", data
    with pytest.raises(KeyError):
        event_text.part("no_such_text")


def test_the_admin_shows_the_line_in_the_staff_members_language(personas):
    """Support reads the same lines (the list and the invoice's inline); the search stays on the
    stored English message."""
    from django.core.cache import cache

    from tests.support.conftest import make_staff

    add_invoices(personas)
    event = _background_status_change(personas, old="open", new="partially_paid")
    cache.clear()  # allauth remembers used TOTP codes
    client = make_staff("history@ops.test", superuser=True).login()
    for url in ["/admin/invoices/invoiceevent/", f"/admin/invoices/invoice/{event.invoice_id}/change/"]:
        page = client.get(url, HTTP_ACCEPT_LANGUAGE="uk").content.decode()
        assert "Відкритий → Частково сплачено у QuickBooks" in page, url
    found = client.get("/admin/invoices/invoiceevent/", {"q": "Partially paid in QuickBooks"}).content.decode()
    assert "Open → Partially paid in QuickBooks" in found and "Created for Acme Robotics" not in found
