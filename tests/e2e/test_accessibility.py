"""Accessibility (issue 13): axe-core on the deal panel (light and dark), the create-invoice modal
and the settings page, with no serious or critical violation (WCAG 2.x A and AA rules).

axe-core is vendored in tests/e2e/vendor/axe-core (npm `axe-core`, MPL-2.0, see its LICENSE and
VERSION) and injected into each page or iframe; nothing is fetched at test time.
Needs Debian's chromium at /usr/bin/chromium and the `playwright` package (never `playwright install`).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.sync_api import expect

from integration.sandbox.pipedrive.seed import seed
from integration.sandbox.quickbooks import controls
from tests.e2e.browser import TIMEOUT, chromium_page
from tests.e2e.journey import connect_from_scratch, create_invoice

AXE = Path(__file__).parent / "vendor" / "axe-core" / "axe.min.js"
TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]


def serious_violations(frame) -> list[str]:
    """Run axe in a page or frame; the serious and critical findings, one line each."""
    frame.add_script_tag(path=str(AXE))
    result = frame.evaluate("tags => axe.run(document, { runOnly: { type: 'tag', values: tags } })", TAGS)
    return [
        f"{v['impact']} {v['id']}: {node['target']} {node.get('failureSummary', '')[:200]}"
        for v in result["violations"]
        if v["impact"] in ("serious", "critical")
        for node in v["nodes"]
    ]


def frame_of(page, selector: str):
    return page.locator(selector).element_handle().content_frame()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_panel_modal_and_settings_have_no_serious_accessibility_violations(sandbox_base_url, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    base = sandbox_base_url
    seed()
    controls.reset()
    found: dict[str, list[str]] = {}
    # bypass_csp: only so the vendored axe script can be injected; the pages are unchanged.
    with chromium_page(bypass_csp=True) as page:
        connect_from_scratch(page, base)
        found["settings"] = serious_violations(page)

        page.goto(f"{base}/sandbox/pipedrive/app/acme-demo/deal/1?user_id=11")
        panel = page.frame_locator("#pd-panel")
        expect(panel.locator("#panel")).to_have_attribute("data-state", "ready")
        create_invoice(page)
        expect(panel.locator("#invoices li.invoice")).to_have_count(1)
        panel.get_by_text("View all invoices of this contact").click()
        expect(panel.locator("#contact-invoices li.invoice")).to_have_count(1)
        found["panel"] = serious_violations(frame_of(page, "#pd-panel"))

        panel.get_by_role("button", name="+ Invoice").click()
        modal = page.frame_locator("#pd-modal-frame")
        expect(modal.locator("#invoice-form")).to_be_visible(timeout=TIMEOUT)
        expect(modal.locator("#modal")).to_have_attribute("data-problems", "0", timeout=TIMEOUT)
        found["modal"] = serious_violations(frame_of(page, "#pd-modal-frame"))

        page.goto(f"{base}/sandbox/pipedrive/app/acme-demo/deal/1?user_id=11&theme=dark")
        expect(panel.locator("#panel")).to_have_attribute("data-state", "ready")
        expect(panel.locator("#invoices li.invoice")).to_have_count(1)
        found["panel (dark)"] = serious_violations(frame_of(page, "#pd-panel"))
        # no white strip: the whole dark panel page, html included, is dark
        background = frame_of(page, "#pd-panel").evaluate("getComputedStyle(document.documentElement).backgroundColor")
        assert background == "rgb(33, 35, 44)", background
    assert found == {"settings": [], "panel": [], "modal": [], "panel (dark)": []}, found
