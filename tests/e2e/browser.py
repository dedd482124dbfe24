"""One way to open Debian's Chromium for the browser tests (never `playwright install`)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
TIMEOUT = 15_000  # ms; generous for a loaded 2-core CI machine


@contextmanager
def chromium_page(*, width: int = 1280, height: int = 900, **context_options) -> Iterator[Page]:
    """A fresh page in a fresh browser, closed whatever the test does; `context_options` go to
    Playwright's new_context (accept_downloads, bypass_csp, …)."""
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_context(viewport={"width": width, "height": height}, **context_options).new_page()
            page.set_default_timeout(TIMEOUT)
            yield page
        finally:
            browser.close()
