"""The browser journeys' shared steps: install and connect as Alice, create an invoice through the
modal, find an invoice's flag and "…" menu in the panel. Screenshots land in a temporary folder;
`UPDATE_SCREENSHOTS=1 make test` writes them to docs/screenshots/ (the README shows them)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

from django.conf import settings
from playwright.sync_api import expect

from integration.sandbox.quickbooks import seed as qbo_seed
from invoices.models import Invoice
from tests.e2e.browser import TIMEOUT

SHOTS = (
    Path(settings.BASE_DIR) / "docs" / "screenshots"
    if os.environ.get("UPDATE_SCREENSHOTS")
    else Path(tempfile.gettempdir()) / "qbo-pipedrive-screenshots"
)


def invoices_of(deal_id: int) -> list[Invoice]:
    return list(Invoice.all_companies.filter(deal_links__deal_id=deal_id).order_by("id"))


def lose_first_create_answer(page) -> list[str]:
    """The first create reaches our server (the invoice is made) but its answer is lost on the way
    back; returns the idempotency keys the modal sent."""
    keys: list[str] = []

    def handle(route):
        if route.request.method != "POST":
            route.continue_()
            return
        keys.append(json.loads(route.request.post_data)["idempotency_key"])
        if len(keys) == 1:
            route.fetch()
            route.abort("connectionreset")
        else:
            route.continue_()

    page.route("**/api/v1/deals/*/invoices", handle)
    return keys


def collect_console_errors(page) -> list[tuple[str, str]]:
    """The page's console errors (text, url) as they come, for the journey's last assertion."""
    errors: list[tuple[str, str]] = []
    page.on("console", lambda m: errors.append((m.text, m.location.get("url", ""))) if m.type == "error" else None)
    return errors


def link_lines(modal, *, help_icon: bool = False, problem_says: str = "") -> None:
    """Link every unlinked line of the create modal to a QBO item ("Rock", then "Hours"); an unlinked
    line shows its pre-flight problem (saying `problem_says`) and, with `help_icon`, its help icon."""
    rows = modal.locator("#lines tr")
    for index in range(rows.count()):
        row = rows.nth(index)
        if row.locator(".item-name").count():
            continue
        if help_icon:
            expect(row.locator(".help")).to_be_visible()
        expect(row.locator(".problem")).to_be_visible(timeout=TIMEOUT)
        if problem_says:
            expect(row.locator(".problem")).to_contain_text(problem_says)
        row.locator("input[type=search]").fill("Hours" if index else "Rock")
        row.locator("[role=option]").first.click()
        expect(rows.nth(index).locator(".item-name")).to_be_visible()
    expect(modal.locator("#modal")).to_have_attribute("data-problems", "0", timeout=TIMEOUT)


def create_invoice(page, shot: str | None = None, retry: bool = False) -> None:
    """Open the modal from the panel, link every line to a QBO item, create; wait for the modal to close.
    With `retry`, the first answer is lost and the user presses Create again."""
    panel = page.frame_locator("#pd-panel")
    panel.get_by_role("button", name="+ Invoice").click()
    expect(page.locator("#pd-modal")).to_be_visible()
    modal = page.frame_locator("#pd-modal-frame")
    expect(modal.locator("#invoice-form")).to_be_visible(timeout=TIMEOUT)
    link_lines(modal, help_icon=True)
    expect(modal.locator(".problem")).to_have_count(0)
    if shot:
        page.screenshot(path=str(SHOTS / shot), full_page=True)
    keys = lose_first_create_answer(page) if retry else []
    modal.get_by_role("button", name="Create invoice").click()
    if retry:
        expect(modal.locator("#notice")).to_contain_text("will not be created twice", timeout=TIMEOUT)
        modal.get_by_role("button", name="Create invoice").click()
    expect(page.locator("#pd-snackbar-text")).to_contain_text("created", timeout=TIMEOUT)
    if retry:
        page.unroute("**/api/v1/deals/*/invoices")
        assert len(keys) == 2 and keys[0] == keys[1], keys  # the same key for the same submit
    expect(page.locator("#pd-modal")).to_be_hidden(timeout=TIMEOUT)


def flag(page, invoice: Invoice):
    return page.frame_locator("#pd-panel").locator(f'li[data-invoice-id="{invoice.pk}"] .flag')


def invoice_menu(page, invoice: Invoice, action: str) -> None:
    item = page.frame_locator("#pd-panel").locator(f'li[data-invoice-id="{invoice.pk}"]')
    item.locator("button.more").click()
    item.locator(f'[data-action="{action}"]').click()


def install_and_connect(page, base: str) -> None:
    """Alice (admin of Acme) installs the app and connects the sandbox's US QuickBooks company."""
    page.goto(f"{base}/pipedrive/install")
    page.select_option("#user_id", "11")
    page.get_by_role("button", name="Allow and install").click()
    page.get_by_role("button", name="Connect to QuickBooks").click()
    page.check(f'input[name=realm_id][value="{qbo_seed.US_REALM_ID}"]')
    page.get_by_role("button", name="Connect", exact=True).click()
    expect(page.get_by_text("The invoicing app is connected.")).to_be_visible()


def connect_from_scratch(page, base: str) -> None:
    """Install and connect, then land on Settings through the success page's link."""
    install_and_connect(page, base)
    expect(page.get_by_text("linkId=")).to_have_count(0)
    page.get_by_role("link", name="Open the app's settings").click()
    expect(page.locator(".messages")).to_contain_text("is connected")
    expect(page.locator(".messages")).to_contain_text("Next: check the invoice settings below")


def open_empty_deal(page, base: str):
    """Connect from scratch, then open deal 1 (no invoices yet) as Alice; its panel's frame."""
    connect_from_scratch(page, base)
    page.goto(f"{base}/sandbox/pipedrive/app/acme-demo/deal/1?user_id=11")
    panel = page.frame_locator("#pd-panel")
    expect(panel.locator("#empty")).to_be_visible()
    return panel
