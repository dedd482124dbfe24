"""The money loop (issue 15) in real headless Chromium, over both sandboxes: instalment invoices from
the create modal, the deal's invoice figures updating in Pipedrive after a payment, payments and
credit under an invoice with the customer's balance in the contact view, a won deal invoiced
automatically, and "Won, not invoiced" on our site and in the panel's "…" menu.

Screenshots as in test_invoice_journey.py (`UPDATE_SCREENSHOTS=1` writes them to docs/screenshots/).
Needs Debian's chromium at /usr/bin/chromium and the `playwright` package (never `playwright install`).
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from playwright.sync_api import expect

from integration.quickbooks.models import QuickBooksConnection
from integration.quickbooks.services import client_for
from integration.sandbox.pipedrive import webhooks as pd_webhooks
from integration.sandbox.pipedrive.models import SandboxCompany, SandboxRecord
from integration.sandbox.pipedrive.seed import seed
from integration.sandbox.quickbooks import controls
from integration.sandbox.quickbooks import seed as qbo_seed
from invoices.models import Invoice, InvoicePayment
from tenants.scoping import company_scope
from tests.e2e.browser import TIMEOUT, chromium_page
from tests.e2e.journey import SHOTS, connect_from_scratch, flag, invoices_of, link_lines

DEAL = 1  # billed in three instalments (1001-1003) in the Pipedrive sandbox


def _apply_credit(connection: QuickBooksConnection, invoice: Invoice, amount: int) -> dict:
    """In QuickBooks: a credit memo for the customer, applied to the invoice by a Payment with no cash."""
    line = {"Amount": amount, "DetailType": "SalesItemLineDetail", "SalesItemLineDetail": {"ItemRef": {"value": "2"}}}
    with company_scope(connection.company):
        client = client_for(connection=connection)
        memo = client.create("CreditMemo", {"CustomerRef": {"value": invoice.customer_qbo_id}, "Line": [line]})
        client.create(
            "Payment",
            {
                "CustomerRef": {"value": invoice.customer_qbo_id},
                "TotalAmt": 0,
                "Line": [
                    {"Amount": amount, "LinkedTxn": [{"TxnId": invoice.qbo_id, "TxnType": "Invoice"}]},
                    {"Amount": amount, "LinkedTxn": [{"TxnId": memo["Id"], "TxnType": "CreditMemo"}]},
                ],
            },
        )
    return memo


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_money_loop(sandbox_base_url, monkeypatch):
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    base = sandbox_base_url
    seed()
    controls.reset()
    SHOTS.mkdir(parents=True, exist_ok=True)
    with chromium_page(width=1280, height=1000) as page:
        errors: list[str] = []
        page.on("response", lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 500 else None)
        connect_from_scratch(page, base)
        connection = QuickBooksConnection.all_companies.get(realm_id=qbo_seed.US_REALM_ID)
        deal_url = f"{base}/sandbox/pipedrive/app/acme-demo/deal/{DEAL}?user_id=11"

        # 1. Instalments: the modal lists the deal's schedule; one invoice per instalment, each once
        page.goto(deal_url)
        panel = page.frame_locator("#pd-panel")
        panel.get_by_role("button", name="+ Invoice").click()
        modal = page.frame_locator("#pd-modal-frame")
        expect(modal.locator("#invoice-form")).to_be_visible(timeout=TIMEOUT)
        link_lines(modal)
        expect(modal.locator("#installments li")).to_have_count(3)
        modal.get_by_role("button", name="One invoice per instalment").click()
        expect(modal.locator('#installments li[data-invoiced="true"]')).to_have_count(3, timeout=TIMEOUT)
        expect(modal.locator("#installments-create")).to_be_hidden()
        page.screenshot(path=str(SHOTS / "9-money-instalments.png"), full_page=True)
        invoices = invoices_of(DEAL)
        assert [i.due_date.isoformat() for i in invoices] == ["2026-12-01", "2027-01-04", "2027-02-01"]
        modal.get_by_role("button", name="Cancel").click()
        expect(page.locator("#pd-modal")).to_be_hidden()
        deposit, on_delivery, _final = invoices

        # 2. Paid in QuickBooks: the deal's own fields in Pipedrive follow (Paid, Outstanding, status)
        controls.record_payment(realm_id=qbo_seed.US_REALM_ID, invoice_id=deposit.qbo_id, reference="WIRE-7")
        page.reload()
        expect(flag(page, deposit)).to_have_text("Paid")
        details = page.locator("#pd-details")
        expect(details.locator('[data-field="Paid"]')).to_have_text(f"{deposit.total} USD")
        expect(details.locator('[data-field="Invoice status"]')).to_be_visible()
        page.screenshot(path=str(SHOTS / "10-money-deal-fields.png"), full_page=True)

        # 3. Credit from a credit memo under the invoice; the contact's balance and unapplied credit
        memo = _apply_credit(connection, on_delivery, 100)
        line = {"Amount": 50, "DetailType": "SalesItemLineDetail", "SalesItemLineDetail": {"ItemRef": {"value": "2"}}}
        with company_scope(connection.company):  # a second credit memo, not applied yet
            client_for(connection=connection).create(
                "CreditMemo", {"CustomerRef": {"value": on_delivery.customer_qbo_id}, "Line": [line]}
            )
        assert InvoicePayment.all_companies.get(invoice=on_delivery).credit_applied == Decimal("100.00")
        page.reload()
        item = panel.locator(f'li[data-invoice-id="{on_delivery.pk}"]')
        expect(flag(page, on_delivery)).to_have_text("Partially paid")
        item.locator(".payments-box summary").click()
        expect(item.locator(".payment")).to_contain_text("credit applied")
        expect(item.locator(".payment")).to_contain_text(memo["DocNumber"])
        panel.locator(f'li[data-invoice-id="{deposit.pk}"] .payments-box summary').click()
        panel.get_by_text("View all invoices of this contact").click()
        expect(panel.locator('#contact-balance [data-kind="open_balance"]')).to_be_visible()
        expect(panel.locator('#contact-balance [data-kind="unapplied_credit"]')).to_have_text("$50.00")
        page.screenshot(path=str(SHOTS / "11-money-payments-credit.png"), full_page=True)

        # 4. A won deal invoiced automatically: the rule is set on our site, the deal is won in Pipedrive
        page.goto(f"{base}/settings/money-loop")
        page.select_option("#won_rule", "create")
        page.locator("#won-rule").get_by_role("button", name="Save").click()
        expect(page.locator(".messages")).to_contain_text("Money loop settings saved.")
        company = SandboxCompany.objects.get(domain="acme-demo")
        source = SandboxRecord.objects.get(company=company, kind="deal", object_id=DEAL)
        SandboxRecord.objects.create(
            company=company, kind="deal", object_id=98, data={**source.data, "id": 98, "title": "Initech robot line II"}
        )
        for line in SandboxRecord.objects.filter(company=company, kind="deal_product", parent_id=DEAL):
            SandboxRecord.objects.create(
                company=company,
                kind="deal_product",
                parent_id=98,
                object_id=line.object_id + 9800,
                data={**line.data, "id": line.object_id + 9800, "deal_id": 98},
            )
        pd_webhooks.deal_status_set(company=company, deal_id=98, status="won", user_id=11)
        (won_invoice,) = invoices_of(98)
        page.goto(f"{base}/sandbox/pipedrive/app/acme-demo/deal/98?user_id=11")
        expect(flag(page, won_invoice)).to_have_text("Open")
        page.screenshot(path=str(SHOTS / "12-money-won-invoiced.png"), full_page=True)

        # 5. Won, not invoiced: the page on our site, and the panel's "…" menu (deal 4, won 2 Nov)
        page.goto(f"{base}/money-loop/won-not-invoiced?from=2026-10-01&to=2026-12-31")
        expect(page.locator('tr[data-deal-id="4"]')).to_be_visible()
        expect(page.locator('tr[data-deal-id="98"]')).to_have_count(0)  # fully invoiced
        page.screenshot(path=str(SHOTS / "13-money-won-not-invoiced-page.png"), full_page=True)
        page.goto(deal_url)
        panel.locator("#panel-more").click()
        panel.get_by_role("menuitem", name="Won, not invoiced").click()
        row = panel.locator('#won-rows li[data-deal-id="4"]')
        expect(row).to_be_visible(timeout=TIMEOUT)
        expect(row.locator("a")).to_have_attribute("href", f"{base}/sandbox/pipedrive/app/acme-demo/deal/4")
        expect(panel.locator('#won-gaps dd[data-currency="USD"]')).to_be_visible()
        page.screenshot(path=str(SHOTS / "14-money-won-not-invoiced-panel.png"), full_page=True)
        row.locator("a").click()  # opens the deal through the SDK's redirect_to (the sandbox acknowledges it)
        expect(page).to_have_url(deal_url)  # no navigation of the iframe itself
        assert errors == []  # no 5xx anywhere in the journey
