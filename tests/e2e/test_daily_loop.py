"""The rep's daily loop (issue 13) in real headless Chromium: the next step after connecting, the
panel's "…" menu, the contact's invoices on a deal without any, the same-lines warning, Escape and
unsaved edits in the modal, sending to another address with a "Sent" mark, voiding a paid invoice
(its payment becomes unapplied credit), the changelog notes on the deal, and linking a contact's
earlier invoice to a new deal.
Needs Debian's chromium at /usr/bin/chromium and the `playwright` package (never `playwright install`).
"""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from integration.sandbox.pipedrive.models import SandboxNote, SandboxRecord
from integration.sandbox.quickbooks import controls
from integration.sandbox.quickbooks import seed as qbo_seed
from tests.e2e.browser import TIMEOUT
from tests.e2e.journey import create_invoice, flag, invoice_menu, invoices_of, open_empty_deal


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_daily_loop(browser_page, sandbox_base_url):
    page, base = browser_page, sandbox_base_url
    # A deal without invoices still offers the contact's invoices, and the "…" menu
    panel = open_empty_deal(page, base)
    expect(panel.get_by_text("View all invoices of this contact")).to_be_visible()
    panel.locator("#panel-more").click()
    expect(panel.get_by_role("menuitem", name="Settings")).to_be_visible()
    expect(panel.get_by_role("menuitem", name="Disconnect QuickBooks")).to_be_visible()
    panel.get_by_role("menuitem", name="Settings").press("Escape")
    expect(panel.locator("#panel-menu")).to_be_hidden()

    create_invoice(page)
    [first] = invoices_of(1)

    # The same lines again: warned, not refused; Escape with unsaved edits asks first
    panel.get_by_role("button", name="+ Invoice").click()
    modal = page.frame_locator("#pd-modal-frame")
    expect(modal.locator("#invoice-form")).to_be_visible(timeout=TIMEOUT)
    expect(modal.locator("#duplicate-warning")).to_contain_text("already bills this deal for the same lines")
    modal.locator("#customer-new").click()  # a new customer: nothing to update in QuickBooks
    expect(modal.locator("#update-customer-row")).to_be_hidden()
    modal.locator("#c-name").fill("Someone else")
    modal.locator("#c-name").press("Escape")
    expect(page.locator("#pd-confirm-title")).to_have_text("Discard your changes?")
    page.locator("#pd-confirm-cancel").click()
    expect(page.locator("#pd-modal")).to_be_visible()
    modal.locator("#c-name").press("Escape")
    page.locator("#pd-confirm-ok").click()
    expect(page.locator("#pd-modal")).to_be_hidden()
    expect(flag(page, first)).to_have_text("Open")
    page.wait_for_timeout(500)  # the panel re-reads its invoices when the modal closes

    # Send to another address: the invoice shows a "Sent" mark
    invoice_menu(page, first, "send_to")
    item = panel.locator(f'li[data-invoice-id="{first.pk}"]')
    item.locator("input[name=to]").fill("accounts@initech.example")
    item.locator("input[name=cc]").fill("boss@initech.example")
    item.locator(".send-form").get_by_role("button", name="Send by email").click()
    expect(item.locator(".sent-mark")).to_have_text("Sent")
    first.refresh_from_db()
    assert (first.sent, first.bill_email) == (True, "accounts@initech.example")
    assert first.events.filter(message__contains="copy to boss@initech.example").exists()

    # Paid in QuickBooks, then voided from the panel: the confirmation and the history say
    # the payment stays as unapplied credit
    controls.record_payment(realm_id=qbo_seed.US_REALM_ID, invoice_id=first.qbo_id)
    page.reload()
    expect(flag(page, first)).to_have_text("Paid")
    invoice_menu(page, first, "void")
    expect(page.locator("#pd-confirm-description")).to_contain_text("unapplied credit")
    expect(page.locator("#pd-confirm-ok")).to_have_class("pd-button pd-danger")
    page.locator("#pd-confirm-ok").click()
    expect(flag(page, first)).to_have_text("Voided")
    item.locator(".history-box summary").click()
    expect(item.locator(".history")).to_contain_text("unapplied credit")
    expect(item.locator(".history")).to_contain_text("Alice")

    # The deal's changelog: a note per event, with number, amount, status and a link
    notes = list(SandboxNote.objects.filter(deal_id=1).order_by("id").values_list("content", flat=True))
    assert [n.split("</b>")[0].rsplit(" ", 1)[-1] for n in notes] == ["created", "paid", "voided"]
    assert all(first.doc_number in n for n in notes)

    # A new deal of the same organization: link the contact's earlier invoice to it
    deal = SandboxRecord.objects.get(company__domain="acme-demo", kind="deal", object_id=1)
    SandboxRecord.objects.create(
        company=deal.company, kind="deal", object_id=99, data={**deal.data, "id": 99, "title": "Initech II"}
    )
    page.goto(f"{base}/sandbox/pipedrive/app/acme-demo/deal/99?user_id=11")
    expect(panel.locator("#empty")).to_be_visible()
    panel.get_by_text("View all invoices of this contact").click()
    contact = panel.locator("#contact-invoices")
    contact.locator(f'li[data-invoice-id="{first.pk}"] button[data-link="link"]').click()
    expect(panel.locator(f'#invoices li[data-invoice-id="{first.pk}"]')).to_have_count(1)
    assert [i.pk for i in invoices_of(99)] == [first.pk]

    # Deleted invoices fold away under one line
    invoice_menu(page, first, "delete")
    page.locator("#pd-confirm-ok").click()
    expect(panel.locator("#deleted > summary")).to_have_text("Deleted invoices (1)")
    expect(panel.locator(f'#deleted li[data-invoice-id="{first.pk}"]')).to_be_hidden()
    expect(panel.locator("#empty")).to_be_hidden()
