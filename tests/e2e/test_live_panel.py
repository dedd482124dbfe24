"""Issue 13, "status changes show up by themselves", in real headless Chromium: a payment recorded
in the QuickBooks sandbox (its signed webhook is processed in-process) turns the open deal panel
Paid with no click, within 2 s of our database changing. The panel revalidates its read with
If-None-Match (304 while nothing changed), reuses one signed token instead of asking Pipedrive
for a new one per read, and reads nothing while the page is hidden.
Needs Debian's chromium at /usr/bin/chromium and the `playwright` package (never `playwright install`).
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect

from integration.sandbox.quickbooks import controls
from integration.sandbox.quickbooks import seed as qbo_seed
from tests.e2e.journey import create_invoice, flag, invoices_of, open_empty_deal

# Issue 13 asks for 2 s; the assertion leaves CI some slack, the measured time is printed.
LIMIT_SECONDS = 3.0


def _set_hidden(page, hidden: bool) -> None:
    """What a background tab looks like to the panel's frame: document.hidden and visibilitychange."""
    page.locator("#pd-panel").element_handle().content_frame().evaluate(
        """hidden => {
            Object.defineProperty(document, "hidden", { configurable: true, get: () => hidden });
            document.dispatchEvent(new Event("visibilitychange"));
        }""",
        hidden,
    )


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_panel_turns_paid_by_itself(browser_page, sandbox_base_url):
    page, base = browser_page, sandbox_base_url
    panel = open_empty_deal(page, base)
    create_invoice(page)
    [invoice] = invoices_of(1)
    expect(flag(page, invoice)).to_have_text("Open")

    reads: list[int] = []
    tokens: list[str] = []

    def watch(response):
        url = response.url
        if "/api/v1/deals/1/invoices" in url and response.request.method == "GET":
            reads.append(response.status)
        elif "/signed-token" in url:
            tokens.append(url)

    # Our own create still echoes back for a moment (QuickBooks' webhook for it, the deal
    # note's bookkeeping): the panel is settled once it gets its first 304.
    page.wait_for_event(
        "response",
        lambda r: "/api/v1/deals/1/invoices" in r.url and r.request.method == "GET" and r.status == 304,
        timeout=15_000,
    )
    page.on("response", watch)

    # Nothing changed: the panel revalidates about once a second and gets bodiless 304s,
    # with the signed token it already holds
    page.wait_for_timeout(3500)
    assert len(reads) >= 2 and set(reads) == {304}, reads
    assert len(tokens) <= 1, tokens

    # A payment in QuickBooks: the panel shows Paid with no click
    started = time.monotonic()
    controls.record_payment(realm_id=qbo_seed.US_REALM_ID, invoice_id=invoice.qbo_id)
    invoice.refresh_from_db()
    while invoice.status != "paid" and time.monotonic() - started < 10:
        time.sleep(0.05)
        invoice.refresh_from_db()
    changed = time.monotonic()
    assert invoice.status == "paid"
    expect(flag(page, invoice)).to_have_text("Paid", timeout=10_000)
    seen = time.monotonic()
    print(
        f"\nlive panel: Paid shown {seen - changed:.2f} s after our database changed "
        f"({seen - started:.2f} s after the payment was recorded in the QuickBooks sandbox)"
    )
    assert seen - changed < LIMIT_SECONDS
    expect(panel.locator('.summary-row[data-currency="USD"] [data-kind="paid"]')).to_contain_text(
        f"{invoice.total:,.2f}"
    )
    assert 200 in reads

    # A hidden page reads nothing; visible again, it catches up at once
    _set_hidden(page, True)
    page.wait_for_timeout(300)  # a read already on its way may still land
    reads.clear()
    page.wait_for_timeout(3000)
    assert reads == []
    _set_hidden(page, False)
    page.wait_for_timeout(1500)
    # Reads resume at once: 304, or a 200 if something changed meanwhile (the payment's echoes)
    assert reads and set(reads) <= {200, 304}, reads

    # Refresh still re-reads QuickBooks
    with page.expect_request(lambda r: r.url.endswith("/api/v1/deals/1/refresh") and r.method == "POST"):
        panel.get_by_role("button", name="Refresh").click()
    expect(panel.get_by_role("button", name="Refresh")).to_be_enabled()
    expect(flag(page, invoice)).to_have_text("Paid")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_reload_that_lands_after_a_click_keeps_the_menu_it_opened(browser_page, sandbox_base_url):
    """An action's reload (or any read) that lands just after the user opened another invoice's "…"
    menu must not close it (seen as a flaky journey: the menu shut under the test's second click).
    The reads are held back until the menu is open, then released; the "voided" message comes
    with the reloaded list, not before it."""
    page, base = browser_page, sandbox_base_url
    panel = open_empty_deal(page, base)
    create_invoice(page)
    create_invoice(page)
    first, second = invoices_of(1)
    expect(flag(page, first)).to_have_text("Open")
    expect(flag(page, second)).to_have_text("Open")

    # The panel sends one request at a time: hold only the reads sent after the void
    held: list = []
    voiding = {"sent": False, "released": False}
    page.on("request", lambda r: voiding.update(sent=True) if r.url.endswith("/void") else None)
    reads = "**/api/v1/deals/1/invoices"
    page.route(
        reads,
        lambda route: held.append(route)
        if voiding["sent"] and not voiding["released"] and route.request.method == "GET"
        else route.fallback(),
    )
    item = panel.locator(f'li[data-invoice-id="{first.pk}"]')
    item.locator("button.more").click()
    item.locator('[data-action="void"]').click()
    with page.expect_response(lambda r: r.url.endswith(f"/api/v1/invoices/{first.pk}/void")):
        page.locator("#pd-confirm-ok").click()
    expect(page.locator("#pd-snackbar-text")).not_to_contain_text("voided")

    other = panel.locator(f'li[data-invoice-id="{second.pk}"]')
    other.locator("button.more").click()
    expect(other.locator('[data-action="void"]')).to_be_visible()
    page.wait_for_timeout(200)
    assert held, "the reload after the void was not held back"
    # Still nothing said while the reload is held: the message waits for the list
    assert "voided" not in page.locator("#pd-snackbar-text").inner_text()
    voiding["released"] = True
    for route in held:
        route.continue_()

    expect(flag(page, first)).to_have_text("Voided")
    expect(page.locator("#pd-snackbar-text")).to_contain_text("voided")
    # The list was rebuilt under the open menu; it is still open, on the same invoice
    expect(other.locator('[role="menu"]')).to_be_visible()
    expect(other.locator("button.more")).to_have_attribute("aria-expanded", "true")
    other.locator('[data-action="void"]').click()
    expect(page.locator("#pd-confirm-title")).to_contain_text(second.doc_number)
    page.locator("#pd-confirm-cancel").click()
