"""The rep's daily loop (issue 13): voiding paid invoices, who did it, the deal's changelog note."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from integration.errors import PermanentError
from integration.pipedrive.models import PipedriveInstallation
from integration.quickbooks.services import client_for
from integration.sandbox.quickbooks import controls
from invoices import access, lifecycle, tasks
from invoices.deal_notes import deal_note_write
from invoices.models import DealNote, InvoiceEvent, ProductLink
from tenants.scoping import company_scope
from tests.invoices import test_draft
from tests.invoices.test_create import a_draft, create

installed = test_draft.installed  # Alice installed the app in the Pipedrive sandbox


def test_a_paid_invoice_can_be_voided_and_its_payment_becomes_unapplied_credit(qbo, connected, personas):
    invoice = create(connected, personas)
    controls.record_payment(realm_id=qbo.us_realm, invoice_id=invoice.qbo_id)
    with company_scope(connected.company):
        lifecycle.invoice_refresh(connection=connected, invoices=[invoice])
        invoice.refresh_from_db()
        assert invoice.status == "paid"
        assert "void" in access.actions_for(invoice=invoice, membership=personas.alice_membership)
        assert "delete" not in access.actions_for(invoice=invoice, membership=personas.alice_membership)
        lifecycle.invoice_void(invoice=invoice, actor=personas.alice_membership)
        assert (invoice.status, invoice.total, invoice.balance) == ("voided", Decimal("0.00"), Decimal("0.00"))
        payments = client_for(connection=connected).query("SELECT * FROM Payment").items
    assert [Decimal(str(p["UnappliedAmt"])) for p in payments] == [Decimal("222.00")]
    event = InvoiceEvent.all_companies.filter(invoice=invoice, kind="voided").get()
    assert event.actor_id == personas.alice_membership.pk
    assert "Paid → Voided in Pipedrive" in event.message
    assert "222.00 USD is now unapplied credit for Brand New Gardens LLC" in event.message
    assert event.data["unapplied_credit"] == "222.00"


def test_void_and_delete_from_the_panel_name_who_did_it(qbo, connected, personas):
    invoice = create(connected, personas)
    with company_scope(connected.company):
        lifecycle.invoice_void(invoice=invoice, actor=personas.alice_membership)
        lifecycle.invoice_delete(invoice=invoice, actor=personas.alice_membership)
    events = InvoiceEvent.all_companies.filter(invoice=invoice, kind__in=["voided", "deleted"]).order_by("id")
    assert [(e.kind, e.actor_id, "in Pipedrive" in e.message) for e in events] == [
        ("voided", personas.alice_membership.pk, True),
        ("deleted", personas.alice_membership.pk, True),
    ]


# -- the deal's changelog: a Pipedrive note per invoice event --------------------------------


def deal_notes(deal_id: int) -> list[str]:
    from integration.sandbox.pipedrive.models import SandboxNote

    return list(SandboxNote.objects.filter(deal_id=deal_id).order_by("id").values_list("content", flat=True))


def test_created_paid_voided_deleted_each_write_a_note_on_the_deal(qbo, installed, connected, personas):
    invoice = create(connected, personas, draft=a_draft(deal_id=1))
    [note] = deal_notes(1)
    number = invoice.doc_number
    assert f"QuickBooks invoice {number} created" in note
    assert "Amount: 222.00 USD" in note and "Status: Open" in note and "Brand New Gardens LLC" in note
    assert f'href="{lifecycle.invoice_deep_link(invoice=invoice)}"' in note
    controls.record_payment(realm_id=qbo.us_realm, invoice_id=invoice.qbo_id)
    with company_scope(connected.company):
        lifecycle.invoice_refresh(connection=connected, invoices=[invoice])
        invoice.refresh_from_db()
        lifecycle.invoice_void(invoice=invoice, actor=personas.alice_membership)
        lifecycle.invoice_delete(invoice=invoice, actor=personas.alice_membership)
    notes = deal_notes(1)
    assert [n.split("</b>")[0].rsplit(" ", 1)[-1] for n in notes] == ["created", "paid", "voided", "deleted"]
    assert "Status: Paid" in notes[1]
    assert "Amount: 222.00 USD · Status: Voided" in notes[2]  # what it was, not QBO's zero
    assert set(DealNote.all_companies.values_list("state", flat=True)) == {"written"}


def test_a_note_is_written_in_its_authors_language_even_by_a_worker(qbo, installed, connected, personas):
    """A worker has no language; the note reads as its author (the Pipedrive access writing it) speaks."""
    from django.utils import translation

    from tenants.models import Membership

    Membership.all_companies.filter(pk=installed.membership_id).update(pipedrive_language="uk-UA")
    with translation.override("en"):  # what a worker has active
        invoice = create(connected, personas, draft=a_draft(deal_id=1))
    [note] = deal_notes(1)
    assert f"Рахунок QuickBooks {invoice.doc_number} створено" in note
    assert "Amount" not in note and "Status" not in note
    with translation.override("uk"):
        assert str(translation.gettext("Open in QuickBooks")) in note


def test_the_company_can_turn_deal_notes_off(qbo, installed, connected, personas):
    personas.company_a.deal_notes = False
    personas.company_a.save()
    create(connected, personas, draft=a_draft(deal_id=1))
    assert deal_notes(1) == []
    assert not DealNote.all_companies.exists()


def test_a_pipedrive_outage_never_breaks_the_create_and_the_note_is_written_later(qbo, installed, connected, personas):
    api_domain = installed.api_domain
    PipedriveInstallation.all_companies.filter(pk=installed.pk).update(api_domain="http://127.0.0.1:9")
    invoice = create(connected, personas, draft=a_draft(deal_id=1))
    assert invoice.state == "created"
    note = DealNote.all_companies.get(invoice=invoice)
    assert (note.state, note.attempts) == ("pending", 1) and note.last_error
    assert deal_notes(1) == []
    PipedriveInstallation.all_companies.filter(pk=installed.pk).update(api_domain=api_domain)
    DealNote.all_companies.filter(pk=note.pk).update(next_attempt_at=timezone.now())  # its backoff is over
    assert tasks.deal_notes_sweep() == 1
    note.refresh_from_db()
    assert (note.state, note.attempts, note.last_error) == ("written", 2, "")
    assert len(deal_notes(1)) == 1


def test_a_retry_after_a_lost_answer_does_not_write_the_note_twice(qbo, installed, connected, personas):
    invoice = create(connected, personas, draft=a_draft(deal_id=1))
    note = DealNote.all_companies.get(invoice=invoice)
    # Pipedrive wrote it but the answer was lost: the row still says pending
    DealNote.all_companies.filter(pk=note.pk).update(state="pending", next_attempt_at=timezone.now())
    deal_note_write(note_id=note.pk)
    note.refresh_from_db()
    assert note.state == "written"
    assert len(deal_notes(1)) == 1


def test_the_sandbox_validates_notes(qbo, installed):
    from integration.pipedrive import client
    from integration.pipedrive.errors import NotFound

    with company_scope(installed.company):
        with pytest.raises(PermanentError, match="Content is required"):
            client.call(installation=installed, method="POST", path="/api/v1/notes", json={"deal_id": 1})
        with pytest.raises(PermanentError, match="deal_id"):
            client.call(installation=installed, method="POST", path="/api/v1/notes", json={"content": "<p>x</p>"})
        with pytest.raises(NotFound):
            client.note_create(installation=installed, deal_id=999999, content="<p>x</p>")
        made = client.note_create(installation=installed, deal_id=1, content="<p>ok</p><script>alert(1)</script>")
        assert made["content"] == "<p>ok</p>" and made["deal_id"] == 1
        assert [n["id"] for n in client.notes_of_deal(installation=installed, deal_id=1)] == [made["id"]]


# -- friction -------------------------------------------------------------------------------


def test_a_deal_without_an_organization_is_billed_to_its_person(installed, connected, personas):
    from integration.pipedrive import client as pipedrive
    from invoices.deal_drafts import draft_from_deal
    from tenants.models import FieldMapping

    with company_scope(personas.company_a):
        mapping = FieldMapping.objects.get()
        assert mapping.to_entity == "organization"  # the default mapping names the organization
        deal = pipedrive.deal_get(installation=installed, deal_id=5)
        assert deal["org_id"] is None
        person = pipedrive.person_get(installation=installed, person_id=deal["person_id"])
        draft = draft_from_deal(installation=installed, connection=connected, mapping=mapping, deal_id=5)
    assert draft.customer.name == person["name"] != ""
    assert (draft.customer.pipedrive_entity, draft.customer.pipedrive_id) == ("person", person["id"])


def test_connecting_quickbooks_ends_on_a_page_with_the_next_step(qbo, personas, web_as, link_calls):
    from integration.sandbox.pipedrive.seed import seed
    from tests.integration.quickbooks import helpers

    seed()
    page = helpers.connect(web_as("alice"), realm_id=qbo.us_realm)
    assert any("Next: check the invoice settings below" in text for text in helpers.messages_of(page))
    landing = web_as("alice").get("/sandbox/pipedrive/app/acme-demo/settings/invoicing?linkId=5f7e-link")
    body = landing.content.decode()
    assert "linkId=" not in body and "5f7e-link" not in body.replace('data-link-id="5f7e-link"', "")
    assert 'id="pd-app-settings" href="/settings/"' in body


def test_admin_labels_read_as_english():
    from integration.models import WebhookDelivery
    from integration.quickbooks.models import OAuthState, QuickBooksConnection

    assert str(WebhookDelivery._meta.verbose_name_plural) == "webhook deliveries"
    assert str(OAuthState._meta.verbose_name_plural) == "OAuth states"
    assert str(QuickBooksConnection._meta.verbose_name_plural) == "QuickBooks connections"


def test_one_support_target_is_singular():
    from django.utils.translation import ngettext

    import tenants.admin_base

    source = Path(tenants.admin_base.__file__).read_text()
    assert "started as a background job on %(total)s target (audit" in source
    assert ngettext("%(n)s target", "%(n)s targets", 1) % {"n": 1} == "1 target"


def test_password_sign_in_lands_on_settings(client, personas):
    personas.alice.set_password("a-long-demo-password-13")
    personas.alice.save()
    answer = client.post("/accounts/login/", {"login": personas.alice.email, "password": "a-long-demo-password-13"})
    assert answer.status_code == 302, answer.content[:300]
    assert answer["Location"] == "/settings/"


def test_a_webhook_sync_shows_as_the_last_sync(qbo, connected, personas):
    from integration.quickbooks.models import QuickBooksConnection

    QuickBooksConnection.all_companies.filter(pk=connected.pk).update(last_sync_at=None)
    invoice = create(connected, personas)  # QBO's webhook for it is processed on the way
    controls.record_payment(realm_id=qbo.us_realm, invoice_id=invoice.qbo_id)
    connected.refresh_from_db()
    assert connected.last_sync_at is not None


def test_a_reconnect_warning_has_no_double_period():
    from tests.factories import reconnect_card_html

    html = reconnect_card_html()
    assert "stopped accepting our authorization on" in html
    assert ".." not in html.replace("...", "")


def test_the_owner_is_told_to_reconnect_not_to_ask_the_owner(qbo, connected, personas):
    from integration.sandbox.quickbooks import controls as qbo_controls
    from tests.invoices.test_panel_api import panel

    invoice = create(connected, personas)
    qbo_controls.disconnect(realm_id=qbo.us_realm)
    qbo_controls.expire_access_tokens(realm_id=qbo.us_realm)
    answer = panel(personas.alice_membership).post(f"/api/v1/invoices/{invoice.pk}/void", format="json")
    assert answer.status_code == 409, answer.content
    message = answer.json()["error"]["message"]
    assert "Ask the connection owner" not in message and "reconnect it in Settings" in message


def test_the_panel_menu_disconnects_for_the_owner_only(qbo, connected, personas):
    from tests.invoices.test_panel_api import panel

    personas.company_a.invoice_visibility = "team"
    personas.company_a.save()
    listing = panel(personas.alice_membership).get("/api/v1/deals/501/invoices").json()
    assert listing["connection"]["may_disconnect"] is True
    bob = panel(personas.bob_membership)
    assert bob.get("/api/v1/deals/501/invoices").json()["connection"]["may_disconnect"] is False
    refused = bob.post("/api/v1/connection/disconnect", format="json")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "not_allowed"
    done = panel(personas.alice_membership).post("/api/v1/connection/disconnect", format="json")
    assert done.status_code == 200
    connected.refresh_from_db()
    assert connected.status == "disconnected"


def test_a_product_linked_then_abandoned_keeps_the_item_name(qbo, connected, personas):
    from tests.invoices.test_panel_api import panel

    answer = panel(personas.alice_membership).put("/api/v1/products/9001/item", {"qbo_item_id": "2"}, format="json")
    assert answer.status_code == 200, answer.content
    with company_scope(connected.company):
        name = client_for(connection=connected).read("Item", "2")["Name"]
    link = ProductLink.all_companies.get(pipedrive_product_id=9001)
    assert link.item_name == name != "" and answer.json()["qbo_item_name"] == name
    missing = panel(personas.alice_membership).put("/api/v1/products/9001/item", {"qbo_item_id": "999"}, format="json")
    assert missing.status_code == 400 or missing.status_code == 404


def test_the_same_lines_on_the_same_deal_are_warned_about_not_refused(qbo, connected, personas):
    from invoices.drafts import Draft
    from tests.invoices.test_panel_api import panel

    first = create(connected, personas)
    draft = a_draft().as_dict()
    answer = panel(personas.alice_membership).post("/api/v1/deals/501/preflight", {"draft": draft}, format="json")
    assert answer.status_code == 200, answer.content
    [warning] = answer.json()["warnings"]
    assert warning["code"] == "same_lines" and warning["invoice_id"] == first.pk
    assert first.doc_number in warning["message"]
    # a warning, not a problem: nothing stops the user from going on
    assert all(p["code"] != "same_lines" for p in answer.json()["problems"])
    other = Draft.from_dict({**draft, "lines": draft["lines"][:1]}).as_dict()
    answer = panel(personas.alice_membership).post("/api/v1/deals/501/preflight", {"draft": other}, format="json")
    assert answer.json()["warnings"] == []


def test_send_can_change_the_recipient_and_add_one_in_copy(qbo, connected, personas):
    from tests.invoices.test_panel_api import panel

    invoice = create(connected, personas)
    alice = panel(personas.alice_membership)
    bad = alice.post(f"/api/v1/invoices/{invoice.pk}/send", {"to": "a@b.example", "cc": "nope"}, format="json")
    assert bad.status_code == 400 and "cc" in bad.json()["error"]["fields"]
    sent = alice.post(
        f"/api/v1/invoices/{invoice.pk}/send", {"to": "ap@other.example", "cc": "boss@other.example"}, format="json"
    )
    assert sent.status_code == 200, sent.content
    assert sent.json()["sent"] is True
    with company_scope(connected.company):
        qbo_invoice = client_for(connection=connected).read("Invoice", invoice.qbo_id)
    assert qbo_invoice["BillEmail"]["Address"] == "ap@other.example"
    assert qbo_invoice["BillEmailCc"]["Address"] == "boss@other.example"
    assert qbo_invoice["EmailStatus"] == "EmailSent"
    event = InvoiceEvent.all_companies.filter(invoice=invoice, kind="emailed").get()
    assert event.message == "Sent to ap@other.example, copy to boss@other.example"
