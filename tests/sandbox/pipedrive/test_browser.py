"""The real app-extensions SDK (vendored from npm) against the sandbox's deal page, in Chromium.

Needs Debian's chromium at /usr/bin/chromium and the `playwright` Python package (never
`playwright install`). Select with `-m browser`.
"""

import json

import jwt
import pytest
from django.conf import settings
from playwright.sync_api import expect, sync_playwright

from integration.sandbox.pipedrive.seed import seed
from tests.e2e.browser import ARGS, CHROMIUM


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_sdk_handshake_commands_and_custom_modal(sandbox_base_url):
    seed()
    probe = "/sandbox/pipedrive/probe"
    url = f"{sandbox_base_url}/sandbox/pipedrive/app/acme-demo/deal/1?user_id=12&panel_url={probe}&modal_url={probe}"
    console_errors: list[tuple[str, str]] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        try:
            page = browser.new_page()
            page.on(
                "console",
                lambda m: console_errors.append((m.text, m.location.get("url", ""))) if m.type == "error" else None,
            )
            page.goto(url)
            panel = page.frame_locator("#pd-panel")

            # initialize + get_signed_token through the real SDK's MessageChannel protocol
            expect(panel.locator("#probe-status")).to_have_text("ready", timeout=10_000)
            expect(page.locator("#pd-host")).to_have_attribute("data-panel-state", "initialized")
            expect(page.locator("#pd-panel")).to_have_attribute("height", "260")
            claims = json.loads(panel.locator("#probe-claims").inner_text())
            assert (claims["userId"], claims["companyId"]) == (12, 1001)
            token = panel.locator("body").get_attribute("data-token")
            assert jwt.decode(token, settings.PIPEDRIVE_JWT_SECRET, algorithms=["HS256"])["userId"] == 12
            expect(panel.locator("#probe-theme")).to_have_text("light")

            panel.locator("#probe-snackbar").click()
            expect(page.locator("#pd-snackbar-text")).to_have_text("Invoice 1042 created")
            expect(page.locator("#pd-snackbar-link")).to_have_attribute("href", "https://example.test/1042")

            panel.locator("#probe-confirm-btn").click()
            expect(page.locator("#pd-confirm-title")).to_have_text("Void invoice?")
            page.locator("#pd-confirm-cancel").click()
            expect(panel.locator("#probe-confirm")).to_have_text("false")
            panel.locator("#probe-confirm-btn").click()
            page.locator("#pd-confirm-ok").click()
            expect(panel.locator("#probe-confirm")).to_have_text("true")

            panel.locator("#probe-resize").click()
            expect(page.locator("#pd-panel")).to_have_attribute("height", "400")

            # An action_id the app did not register in Developer Hub opens nothing: the command fails.
            panel.locator("#probe-open-unknown").click()
            expect(panel.locator("#probe-modal")).to_contain_text("error: This app has no custom modal")
            expect(page.locator("#pd-modal")).to_be_hidden()

            # open_modal(custom_modal, the registered id) loads the modal iframe; the user's X closes
            # it, then the opener (the panel) gets close_custom_modal and open_modal resolves.
            panel.locator("#probe-open-modal").click()
            expect(page.locator("#pd-modal")).to_be_visible()
            modal = page.frame_locator("#pd-modal-frame")
            expect(modal.locator("#probe-status")).to_have_text("ready", timeout=10_000)
            modal_claims = json.loads(modal.locator("#probe-claims").inner_text())
            assert (modal_claims["userId"], modal_claims["companyId"]) == (12, 1001)
            page.locator("#pd-modal-close").click()
            expect(page.locator("#pd-modal")).to_be_hidden()
            expect(panel.locator("#probe-modal")).to_have_text("closed")
            expect(panel.locator("#probe-closed")).to_have_text("1")

            # The modal's own close_modal: same routing
            panel.locator("#probe-open-modal").click()
            expect(modal.locator("#probe-status")).to_have_text("ready", timeout=10_000)
            modal.locator("#probe-close-modal").click()
            expect(page.locator("#pd-modal")).to_be_hidden()
            expect(panel.locator("#probe-closed")).to_have_text("2")

            names = page.evaluate("window.__pdHost.messages.map(m => m.frame + ':' + m.type + ':' + m.name)")
        finally:
            browser.close()
    assert names[:2] == ["panel:command:initialize", "panel:command:get_signed_token"]
    for expected in (
        "panel:command:show_snackbar",
        "panel:command:show_confirmation",
        "panel:command:resize",
        "panel:listener:close_custom_modal",
        "panel:command:open_modal",
        "modal:command:initialize",
        "modal:command:close_modal",
        "panel:event:close_custom_modal",
    ):
        assert expected in names, (expected, names)
    # the event is never sent to the modal, and only after the modal was closed
    assert "modal:event:close_custom_modal" not in names
    events = [i for i, name in enumerate(names) if name == "panel:event:close_custom_modal"]
    assert len(events) == 2  # the user's X, then the modal's close_modal
    assert events[1] > names.index("modal:command:close_modal")
    # only the deliberate unregistered modal (the host's look-up answers 404)
    assert [e for e in console_errors if "/custom-modal?" not in e[1]] == []
