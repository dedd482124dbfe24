"""Time to "panel ready" in headless Chromium (`make bench`): from navigating to the sandbox's deal
page until our panel (an iframe in it) shows the deal's 25 invoices (`#panel[data-state=ready]`).

Cold: a fresh browser context (empty HTTP cache and sessionStorage). Warm: reloads of the same page,
where the static assets come from the browser cache and the list revalidates with If-None-Match
(a 304). The server is the test live server (Django's threaded server on loopback), as in tests/e2e.
BENCH_READY_RUNS (7) sets how many warm reloads; the median is printed.
"""

from __future__ import annotations

import os
import statistics
import uuid
from decimal import Decimal

import pytest
from playwright.sync_api import sync_playwright

from integration.quickbooks.models import QuickBooksConnection
from integration.sandbox.pipedrive.seed import seed
from integration.sandbox.quickbooks import controls
from invoices.models import Invoice, InvoiceDeal, InvoiceEvent
from tests.e2e.browser import ARGS, CHROMIUM, TIMEOUT
from tests.e2e.journey import install_and_connect
from tests.e2e.test_custom_ui_contract import DEAL

VERBOSE = os.environ.get("BENCH_VERBOSE") == "1"
RUNS = int(os.environ.get("BENCH_READY_RUNS", 7))


def _add_invoices(count: int = 25) -> None:
    connection = QuickBooksConnection.all_companies.get()
    for i in range(count):
        invoice = Invoice.all_companies.create(
            company=connection.company,
            connection=connection,
            request_id=uuid.uuid4(),
            state="created",
            qbo_id=str(9000 + i),
            doc_number=f"B-{i}",
            customer_qbo_id="3",
            customer_name="Bench customer",
            currency="USD",
            total=Decimal("100.00"),
            balance=Decimal("40.00"),
            txn_date="2026-11-01",
            due_date="2099-12-01",
            status="partially_paid",
        )
        InvoiceDeal.all_companies.create(company=connection.company, invoice=invoice, deal_id=1)
        InvoiceEvent.all_companies.create(company=connection.company, invoice=invoice, kind="created", message="Made")


def _ready_ms(page, url: str, *, reload: bool = False) -> float:
    """From the deal page's navigation start to the panel's "panel-ready" mark (performance.mark in
    static/panel/panel.js), on one clock: each document's timeOrigin plus its own timeline."""
    if reload:
        page.reload()
    else:
        page.goto(url)
    page.frame_locator("#pd-panel").locator("#panel[data-state=ready]").wait_for(timeout=TIMEOUT)
    frame = next(f for f in page.frames if "/panel/deal" in f.url)
    ready = frame.evaluate(
        "performance.timeOrigin + performance.getEntriesByName('panel-ready').slice(-1)[0].startTime"
    )
    return ready - page.evaluate("performance.timeOrigin")


@pytest.mark.django_db(transaction=True)
def bench_panel_ready(sandbox_base_url, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    seed()
    controls.reset()
    base = sandbox_base_url
    url = f"{base}{DEAL}?user_id=11"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            setup = browser.new_context().new_page()
            setup.set_default_timeout(TIMEOUT)
            install_and_connect(setup, base)
            _add_invoices()
            cookies = setup.context.cookies()
            colds, warms, statuses = [], [], []
            for _ in range(3):
                context = browser.new_context(viewport={"width": 1280, "height": 900})
                context.add_cookies(cookies)  # the sandbox's Pipedrive session, not our app's
                page = context.new_page()
                page.on(
                    "response",
                    lambda r: statuses.append(r.status) if r.url.endswith("/api/v1/deals/1/invoices") else None,
                )
                colds.append(_ready_ms(page, url))
                for _ in range(RUNS):
                    warms.append(_ready_ms(page, url, reload=True))
                if VERBOSE:
                    frame = next(f for f in page.frames if "/panel/deal" in f.url)
                    print(
                        frame.evaluate(
                            "JSON.stringify(performance.getEntries().map(e => [e.entryType, e.name.split('?')[0]"
                            ".slice(-40), Math.round(e.startTime), Math.round(e.duration)]))"
                        )
                    )
                    print(
                        page.evaluate(
                            "JSON.stringify(performance.getEntries().map(e => [e.entryType, e.name.split('?')[0]"
                            ".slice(-40), Math.round(e.startTime), Math.round(e.duration)]))"
                        )
                    )
                count = page.frame_locator("#pd-panel").locator("li[data-invoice-id]").count()
                assert count == 25, count
                context.close()
        finally:
            browser.close()
    print(
        f"\npanel ready (Chromium, deal with 25 invoices): cold median {statistics.median(colds):.0f} ms "
        f"(min {min(colds):.0f}), warm median {statistics.median(warms):.0f} ms (min {min(warms):.0f}); "
        f"list answers: {statuses.count(200)} x 200, {statuses.count(304)} x 304"
    )
