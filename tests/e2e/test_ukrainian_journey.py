"""The journey once in Ukrainian, in real headless Chromium (issue 14): Alice works in Pipedrive in
Ukrainian, her browser says English. Install, connect QuickBooks, Settings, the deal panel and its
"…" menu, the create-invoice modal, the statuses as QuickBooks payments arrive, an invoice's "…"
menu, voiding and deleting: every page says `lang="uk"`, speaks the glossary's Ukrainian
(locale/glossary/uk.md), and writes dates and money the Ukrainian way ("13 груд. 2026 р.",
"1 234,50 USD"). The Pipedrive and QuickBooks sandbox pages around it stay English, like test
accounts of the real services.

Screenshots go where tests/e2e/test_invoice_journey.py puts them (UPDATE_SCREENSHOTS=1 writes
docs/screenshots/, which the README shows).
"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from integration.sandbox.pipedrive.models import SandboxUser
from integration.sandbox.pipedrive.seed import seed
from integration.sandbox.quickbooks import controls
from integration.sandbox.quickbooks import seed as qbo_seed
from tests.e2e.browser import TIMEOUT, chromium_page
from tests.e2e.journey import SHOTS, collect_console_errors, flag, invoice_menu, invoices_of, link_lines

# Intl.NumberFormat("uk-UA", {style: "currency", currency: "USD"}): digits grouped by no-break
# spaces, a decimal comma, the currency after the amount.
UK_USD = re.compile(r"^-?\d{1,3}(\u00a0\d{3})*,\d{2}\u00a0USD$")
# toLocaleDateString("uk-UA", {year, month: "short", day}): "13 груд. 2026 р."
UK_DATE = re.compile(r"\d{1,2} [а-яіїєґ]+\.? \d{4}\u00a0?\s?р\.")


def _create_invoice_in_ukrainian(page) -> None:
    panel = page.frame_locator("#pd-panel")
    panel.get_by_role("button", name="+ Рахунок").click()
    expect(page.locator("#pd-modal")).to_be_visible()
    modal = page.frame_locator("#pd-modal-frame")
    expect(modal.locator("#invoice-form")).to_be_visible(timeout=TIMEOUT)
    expect(modal.locator("html")).to_have_attribute("lang", "uk")
    expect(modal.locator("h1")).to_contain_text("Новий рахунок")
    expect(modal.locator("legend").nth(1)).to_have_text("Деталі рахунка")
    expect(modal.locator("legend").nth(2)).to_have_text("Позиції рахунка")
    expect(modal.locator('label[for="i-due"]')).to_have_text("Дата сплати")
    link_lines(modal, problem_says="QuickBooks")  # «…» Пов'яжіть з товаром QuickBooks
    expect(modal.locator("#total")).to_have_text(UK_USD)
    page.screenshot(path=str(SHOTS / "uk-3-create-invoice-modal.png"), full_page=True)
    modal.get_by_role("button", name="Створити рахунок").click()
    expect(page.locator("#pd-snackbar-text")).to_contain_text("створено", timeout=TIMEOUT)
    expect(page.locator("#pd-modal")).to_be_hidden(timeout=TIMEOUT)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_journey_in_ukrainian(sandbox_base_url, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    base = sandbox_base_url
    seed()
    controls.reset()
    # Alice's Pipedrive speaks Ukrainian (users/me: language uk-UA, locale uk_UA)
    SandboxUser.objects.filter(id=11).update(language="uk_UA", locale="uk_UA")
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium_page(width=1280, height=900, locale="en-US") as page:
        console_errors = collect_console_errors(page)

        # Install and connect: our pages follow Pipedrive's language, not the browser's English
        page.goto(f"{base}/pipedrive/install")
        page.select_option("#user_id", "11")
        page.get_by_role("button", name="Allow and install").click()
        expect(page.locator("html")).to_have_attribute("lang", "uk")
        expect(page.locator("html")).to_have_attribute("data-locale", "uk-UA")
        page.get_by_role("button", name="Підключитися до QuickBooks").click()
        page.check(f'input[name=realm_id][value="{qbo_seed.US_REALM_ID}"]')
        page.get_by_role("button", name="Connect", exact=True).click()
        expect(page.get_by_text("The invoicing app is connected.")).to_be_visible()

        # Settings, in Ukrainian, with server-side Ukrainian dates
        page.goto(f"{base}/settings/")
        expect(page.locator("html")).to_have_attribute("lang", "uk")
        expect(page).to_have_title("Налаштування")
        expect(page.locator('#quickbooks [data-field="status"]')).to_have_text("Підключено")
        expect(page.locator('#quickbooks [data-field="since"]')).to_contain_text(" р. ")  # "30 листопада 2026 р. 05:58"
        expect(page.locator("#mapping h2")).to_have_text("Зіставлення й типові значення рахунків")
        expect(page.locator("#mapping legend").first).to_have_text("Деталі клієнта з Pipedrive")
        page.locator('#mapping select[name="default_income_account_id"]').select_option(label="Services")
        page.locator("#mapping").get_by_role("button", name="Зберегти налаштування").click()
        expect(page.locator(".messages")).to_contain_text("Налаштування рахунків збережено.")
        expect(page.locator("#language select[name=language] option:checked")).to_have_text(
            "Як у Pipedrive (Українська)"
        )
        page.screenshot(path=str(SHOTS / "uk-1-settings.png"), full_page=True)

        # The deal panel and its "…" menu
        page.goto(f"{base}/sandbox/pipedrive/app/acme-demo/deal/1?user_id=11")
        panel = page.frame_locator("#pd-panel")
        expect(panel.locator("html")).to_have_attribute("lang", "uk")
        expect(panel.locator("#empty")).to_have_text("Для цієї угоди ще немає рахунків.")
        expect(panel.get_by_text("Переглянути всі рахунки цього контакту")).to_be_visible()
        panel.locator("#panel-more").click()
        expect(panel.get_by_role("menuitem", name="Налаштування")).to_be_visible()
        expect(panel.get_by_role("menuitem", name="Відключити QuickBooks")).to_be_visible()
        page.locator("#pd-panel-card").screenshot(path=str(SHOTS / "uk-2-panel-menu.png"))
        panel.get_by_role("menuitem", name="Налаштування").press("Escape")
        expect(panel.locator("#panel-menu")).to_be_hidden()

        # Create an invoice in the modal
        _create_invoice_in_ukrainian(page)
        [first] = invoices_of(1)
        expect(flag(page, first)).to_have_text("Відкритий")
        item = panel.locator(f'li[data-invoice-id="{first.pk}"]')
        expect(item.locator(".total")).to_have_text(UK_USD)
        expect(item.locator(".due")).to_contain_text("Сплатити до ")
        expect(item.locator(".due")).to_have_text(re.compile(r"^Сплатити до " + UK_DATE.pattern + "$"))
        expect(panel.locator('.summary-row[data-currency="USD"] [data-kind="outstanding"]')).to_have_text(UK_USD)

        # Statuses as QuickBooks payments arrive
        controls.record_payment(realm_id=qbo_seed.US_REALM_ID, invoice_id=first.qbo_id, amount="100")
        expect(flag(page, first)).to_have_text("Частково сплачено")
        expect(item.locator(".balance")).to_have_text(re.compile(r"^Залишок " + UK_USD.pattern[1:]))
        item.locator(".payments-box summary").click()
        expect(item.locator(".payment").first).to_contain_text("100,00\u00a0USD")
        controls.record_payment(realm_id=qbo_seed.US_REALM_ID, invoice_id=first.qbo_id)
        expect(flag(page, first)).to_have_text("Сплачено")
        item.locator(".history-box summary").click()
        expect(item.locator(".history-box summary")).to_have_text("Журнал змін")
        # The moves came in by QuickBooks' webhooks, written in no one's language: read in Alice's
        history = item.locator(".history li")
        expect(history.nth(0)).to_contain_text("Частково сплачено → Сплачено у QuickBooks")
        expect(history.nth(1)).to_contain_text("Відкритий → Частково сплачено у QuickBooks")
        page.screenshot(path=str(SHOTS / "uk-4-panel-statuses.png"), full_page=True)

        # The invoice's "…" menu: the glossary's actions
        item.locator("button.more").click()
        menu = item.locator('[role="menu"]')
        expect(menu.locator('[data-action="send"]')).to_have_text("Надіслати по електронній пошті")
        expect(menu.locator('[data-action="pdf"]')).to_have_text("Завантажити PDF")
        expect(menu.locator('[data-action="open_in_quickbooks"]')).to_have_text("Відкрити в QuickBooks")
        expect(menu.locator('[data-action="void"]')).to_have_text("Скасувати")
        page.locator("#pd-panel-card").screenshot(path=str(SHOTS / "uk-5-invoice-menu.png"))
        item.locator("button.more").click()

        # Void the paid invoice: Pipedrive's dialog gets our Ukrainian texts
        invoice_menu(page, first, "void")
        expect(page.locator("#pd-confirm-title")).to_have_text(f"Скасувати рахунок {first.doc_number}?")
        expect(page.locator("#pd-confirm-description")).to_contain_text("незастосований кредит")
        expect(page.locator("#pd-confirm-ok")).to_have_text("Скасувати")
        expect(page.locator("#pd-confirm-cancel")).to_have_text("Закрити")
        page.screenshot(path=str(SHOTS / "uk-6-void-confirmation.png"))
        page.locator("#pd-confirm-ok").click()
        expect(flag(page, first)).to_have_text("Скасований")
        expect(page.locator("#pd-snackbar-text")).to_contain_text("скасовано")

        # Delete it: deleted invoices fold away under one Ukrainian line
        invoice_menu(page, first, "delete")
        expect(page.locator("#pd-confirm-title")).to_have_text(f"Видалити рахунок {first.doc_number}?")
        page.locator("#pd-confirm-ok").click()
        expect(panel.locator("#deleted > summary")).to_have_text("Видалені рахунки (1)")
        first.refresh_from_db()
        assert first.status == "deleted"
    # Only the browser's favicon probe may fail.
    assert [e for e in console_errors if not e[1].endswith("/favicon.ico")] == [], console_errors
