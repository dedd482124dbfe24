"""The sandbox's Invoices tab in Chromium: create from the deal's products through Pipedrive's
modal fields, see the status, void with a confirmation, read the contact summary."""

from __future__ import annotations

import pytest
from django.conf import settings
from playwright.sync_api import expect, sync_playwright

from integration.sandbox.pipedrive.models import SandboxInvoiceProviderLink
from integration.sandbox.pipedrive.seed import seed
from invoices.models import Invoice
from tests.e2e.browser import ARGS, CHROMIUM


@pytest.mark.browser
def test_invoices_tab_create_void_and_summary(connected, personas):
    seed()
    SandboxInvoiceProviderLink.objects.create(
        company_id=1001,
        user_id=11,
        link_id=str(connected.link_id),
        org_id=connected.realm_id,
        marketplace_client_id="sandbox-pipedrive-client-id",
    )
    base = f"{settings.PUBLIC_BASE_URL}/sandbox/pipedrive/app/acme-demo/deal/3?user_id=11"
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(base)
            tab = page.locator("#pd-invoices-tab")
            expect(tab).to_have_attribute("data-loaded", "true", timeout=15_000)
            expect(page.locator("#pd-inv-account")).to_contain_text("QuickBooks: Sandbox Landscaping Co.")

            page.locator("#pd-inv-new").click()
            expect(tab).to_have_attribute("data-modal", "open", timeout=15_000)
            # A product line booked to another account than its product's is refused field by field
            # (QuickBooks books a line to its item's account), and nothing is created.
            page.locator("#pd-inv-contact-search").fill("Red Rock")
            page.locator("#pd-inv-contact-search").dispatch_event("change")
            expect(page.locator("#pd-inv-contact")).to_have_attribute("data-search", "Red Rock")
            expect(page.locator("#pd-inv-contact option")).to_have_count(2)  # "new contact" + Red Rock Diner
            page.locator("#pd-inv-contact").select_option("3")
            page.locator("#pd-inv-taxmode").select_option("NoTax")
            lines = page.locator("#pd-inv-form tr.pd-inv-line")
            for index in range(lines.count()):
                lines.nth(index).locator("select[name=productId]").select_option("2")  # Hours (account 1)
            lines.nth(0).locator("select[name=accountId]").select_option("79")
            page.locator("#pd-inv-submit").click()
            expect(page.locator("#pd-inv-form-fields li[data-field='lineItems[0].accountId']")).to_be_visible()
            expect(lines.nth(0).locator("select[name=accountId]")).to_have_attribute("aria-invalid", "true")
            expect(page.locator("#pd-inv-list tbody tr[data-invoice-id]")).to_have_count(0)

            # Without a product, the line goes to the chosen account.
            lines.nth(0).locator("select[name=productId]").select_option("")
            lines.nth(0).locator("select[name=accountId]").select_option("79")
            page.locator("#pd-inv-submit").click()
            expect(page.locator("#pd-inv-modal")).to_be_hidden(timeout=15_000)
            row = page.locator("#pd-inv-list tbody tr[data-invoice-id]")
            expect(row).to_have_count(1)
            expect(row).to_have_attribute("data-status", "created")
            expect(row.locator(".pd-inv-status")).to_have_text("Open")

            page.once("dialog", lambda dialog: dialog.accept())
            row.locator("button[data-action=VOIDED]").click()
            expect(row).to_have_attribute("data-status", "voided", timeout=15_000)
            expect(row.locator("button[data-action=VOIDED]")).to_have_count(0)

            page.locator("#pd-inv-summary-contact").select_option("3")
            page.locator("#pd-inv-summary-form button[type=submit]").click()
            expect(tab).to_have_attribute("data-summary", "[]", timeout=15_000)
        finally:
            browser.close()
    invoice = Invoice.all_companies.get()  # the refused submit created nothing
    assert invoice.status == "voided" and invoice.created_by == personas.alice_membership
    from integration.sandbox.quickbooks.models import SandboxEntity

    qbo = SandboxEntity.objects.get(entity="Invoice", qbo_id=invoice.qbo_id).data
    booked = [line["SalesItemLineDetail"]["ItemAccountRef"]["value"] for line in qbo["Line"][:2]]
    assert booked == ["79", "1"]  # the product-less line on the chosen account, the Hours line on Hours'
    assert not [e for e in errors if "Failed to load resource" not in e], errors
