"""Editable lines in real headless Chromium (issue 13): in the create-invoice modal the user edits a
line, removes one, adds one from the QuickBooks item search (its price and description prefilled),
sees the difference from the deal's value, creates, and finds the invoice in the panel with the
confirmed total. Launched as tests/e2e/test_invoice_journey.py does (Debian's chromium)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from integration.sandbox.pipedrive.models import SandboxRecord
from integration.sandbox.pipedrive.seed import seed
from integration.sandbox.quickbooks import controls
from invoices.models import Invoice
from tests.e2e.browser import TIMEOUT, chromium_page
from tests.e2e.journey import collect_console_errors, install_and_connect


def _deal_value(deal_id: int) -> Decimal:
    deal = SandboxRecord.objects.get(company_id=1001, kind="deal", object_id=deal_id)
    return Decimal(str(deal.data["value"])).quantize(Decimal("0.01"))


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_edit_remove_and_add_lines_then_create(sandbox_base_url, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    base = sandbox_base_url
    seed()
    controls.reset()
    with chromium_page(width=1280, height=900) as page:
        console_errors = collect_console_errors(page)
        install_and_connect(page, base)

        page.goto(f"{base}/sandbox/pipedrive/app/acme-demo/deal/1?user_id=11")
        panel = page.frame_locator("#pd-panel")
        expect(panel.locator("#empty")).to_be_visible()
        panel.get_by_role("button", name="+ Invoice").click()
        modal = page.frame_locator("#pd-modal-frame")
        expect(modal.locator("#invoice-form")).to_be_visible(timeout=TIMEOUT)
        rows = modal.locator("#lines tr")
        expect(rows).to_have_count(2)
        # the deal's value, and no difference while the lines are the deal's products
        expect(modal.locator("#difference")).to_have_attribute("data-difference", "0.00", timeout=TIMEOUT)

        # 1. Edit the first line: quantity, price, discount, tax, description; link it to an item
        first = rows.nth(0)
        first.locator('[data-line-field="quantity"]').fill("3")
        first.locator('[data-line-field="item_price"]').fill("100")
        first.locator('[data-line-field="discount"]').fill("0")
        first.locator('[data-line-field="tax"]').fill("0")
        first.locator('[data-line-field="description"]').fill("Robot arm, three units")
        first.locator("input[type=search]").fill("Hours")
        first.locator("[role=option]").first.click()
        expect(first.locator(".item-name")).to_have_text("Hours")

        # 2. Remove the second line
        rows.nth(1).locator(".remove-line").click()
        expect(rows).to_have_count(1)

        # 3. Add a line from the QuickBooks item search: price and description come from QBO
        modal.locator("#add-item-q").fill("Design")
        modal.locator("#add-item-results [role=option]").first.click()
        expect(rows).to_have_count(2)
        added = rows.nth(1)
        expect(added.locator('[data-line-field="item_price"]')).to_have_value("75")
        expect(added.locator('[data-line-field="description"]')).to_have_value("Custom Design")
        expect(added.locator(".item-name")).to_have_text("Design")
        added.locator('[data-line-field="quantity"]').fill("2")

        # 4. The modal prices the confirmed lines and shows the difference from the deal's value
        expect(rows.nth(0).locator(".amount")).to_have_text("$300.00", timeout=TIMEOUT)
        expect(added.locator(".amount")).to_have_text("$150.00", timeout=TIMEOUT)
        expect(modal.locator("#total")).to_have_text("$450.00")
        difference = Decimal("450.00") - _deal_value(1)
        expect(modal.locator("#difference")).to_have_attribute("data-difference", str(difference))
        expect(modal.locator("#modal")).to_have_attribute("data-problems", "0", timeout=TIMEOUT)

        # 5. Create: the invoice bills the confirmed lines; the panel shows it with that total
        modal.get_by_role("button", name="Create invoice").click()
        expect(page.locator("#pd-snackbar-text")).to_contain_text("created", timeout=TIMEOUT)
        expect(page.locator("#pd-modal")).to_be_hidden(timeout=TIMEOUT)
        invoice = Invoice.all_companies.get(deal_links__deal_id=1)
        assert (invoice.state, invoice.total) == ("created", Decimal("450.00"))
        assert [(str(line.quantity.normalize()), str(line.amount)) for line in invoice.lines.order_by("position")] == [
            ("3", "300.00"),
            ("2", "150.00"),
        ]
        item = panel.locator(f'li[data-invoice-id="{invoice.pk}"]')
        expect(item.locator(".flag")).to_have_text("Open")
        expect(item).to_contain_text("450.00")
        expect(panel.locator('.summary-row[data-currency="USD"] [data-kind="outstanding"]')).to_contain_text("450.00")
    # Only the browser's favicon probe may fail.
    assert not [e for e in console_errors if not e[1].split("#")[0].endswith("/favicon.ico")], console_errors


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_deal_without_products_is_invoiced_from_added_lines(sandbox_base_url, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    base = sandbox_base_url
    seed()
    controls.reset()
    with chromium_page(width=1280, height=900) as page:
        install_and_connect(page, base)
        page.goto(f"{base}/sandbox/pipedrive/app/acme-demo/deal/4?user_id=11")  # Hooli pilot: no products
        panel = page.frame_locator("#pd-panel")
        panel.get_by_role("button", name="+ Invoice").click()
        modal = page.frame_locator("#pd-modal-frame")
        expect(modal.locator("#invoice-form")).to_be_visible(timeout=TIMEOUT)
        expect(modal.locator("#lines tr")).to_have_count(0)
        expect(modal.locator("#no-lines")).to_be_visible()
        expect(modal.locator('[data-field="lines"] .problem')).to_have_attribute("data-code", "no_lines")

        modal.locator("#add-item-q").fill("Hours")
        modal.locator("#add-item-results [role=option]").first.click()
        row = modal.locator("#lines tr").first
        expect(row.locator('[data-line-field="item_price"]')).to_have_value("50")
        row.locator('[data-line-field="quantity"]').fill("10")
        expect(modal.locator("#total")).to_have_text("$500.00", timeout=TIMEOUT)
        difference = Decimal("500.00") - _deal_value(4)
        expect(modal.locator("#difference")).to_have_attribute("data-difference", str(difference))
        expect(modal.locator("#modal")).to_have_attribute("data-problems", "0", timeout=TIMEOUT)
        modal.get_by_role("button", name="Create invoice").click()
        expect(page.locator("#pd-snackbar-text")).to_contain_text("created", timeout=TIMEOUT)
        invoice = Invoice.all_companies.get(deal_links__deal_id=4)
        assert (invoice.state, invoice.total) == ("created", Decimal("500.00"))
        expect(panel.locator(f'li[data-invoice-id="{invoice.pk}"]')).to_contain_text("500.00")
