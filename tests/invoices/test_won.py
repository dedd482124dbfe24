"""Invoice when the deal is won (money loop, item 3), over both sandboxes: Pipedrive's sandbox sends the
deal-change webhook (v2 as registered, v1 too) with our Basic credentials; the rule runs exactly once."""

from __future__ import annotations

import base64
import json

import pytest

from integration.models import WebhookDelivery
from integration.sandbox.pipedrive import webhooks
from integration.sandbox.pipedrive.models import SandboxCompany, SandboxWebhook, SandboxWebhookDelivery
from invoices.models import DealFigureFields, Invoice, InvoiceDeal, ProductLink, WonDeal
from tests.invoices.test_deal_figures import installed  # noqa: F401
from tests.invoices.test_panel_api import panel

DEAL = 1  # "Initech robot line": products 1 and 2


def set_rule(web_as, rule: str) -> DealFigureFields:
    response = web_as("alice").post("/settings/money-loop", {"won_rule": rule})
    assert response.status_code == 302
    return DealFigureFields.all_companies.get(company__pipedrive_company_id=1001)


def win(deal_id: int = DEAL, status: str = "won") -> dict:
    return webhooks.deal_status_set(
        company=SandboxCompany.objects.get(pk=1001), deal_id=deal_id, status=status, user_id=11
    )


def link_products(connected) -> None:
    for product_id, item in ((1, "2"), (2, "3")):
        ProductLink.all_companies.create(
            company=connected.company, connection=connected, pipedrive_product_id=product_id, qbo_item_id=item
        )


def invoices_of_deal(deal_id: int = DEAL) -> list[Invoice]:
    return list(Invoice.all_companies.filter(deal_links__deal_id=deal_id, state="created"))


@pytest.mark.parametrize("version", ["2.0", "1.0"])
def test_a_won_deal_is_invoiced_exactly_once(installed, connected, personas, web_as, version):  # noqa: F811
    link_products(connected)
    config = set_rule(web_as, "create")
    hook = SandboxWebhook.objects.get(pk=config.webhook_id)
    assert (hook.event_action, hook.event_object, hook.http_auth_user) == ("change", "deal", config.webhook_user)
    assert hook.subscription_url.endswith("/webhooks/pipedrive") and hook.version == "2.0"
    SandboxWebhook.objects.filter(pk=hook.pk).update(version=version)  # v1 payloads are read too

    win()
    (invoice,) = invoices_of_deal()
    won = WonDeal.all_companies.get(company=personas.company_a, deal_id=DEAL)
    assert (won.state, won.invoice_id) == ("invoiced", invoice.pk)
    assert str(invoice.request_id) == str(won.idempotency_key)

    # Pipedrive delivers the same event again; then the deal is reopened and won again.
    delivery = SandboxWebhookDelivery.objects.filter(webhook=hook).order_by("-id").first()
    assert webhooks.send(delivery).status == 200
    win(status="open")
    win()
    assert [i.pk for i in invoices_of_deal()] == [invoice.pk]
    assert WebhookDelivery.objects.filter(service="pipedrive", processed_at__isnull=True).count() == 0
    flag = panel(personas.alice_membership).get(f"/api/v1/deals/{DEAL}/invoices").json()["won"]
    assert flag["state"] == "invoiced"


def test_a_won_deal_with_problems_gets_a_note_and_a_flag_not_an_invoice(installed, connected, personas, web_as):  # noqa: F811
    set_rule(web_as, "create")  # no QuickBooks items linked to the deal's products
    win()
    assert invoices_of_deal() == []
    won = WonDeal.all_companies.get(company=personas.company_a, deal_id=DEAL)
    assert won.state == "problems" and len(won.problems) >= 2
    assert {p["code"] for p in won.problems} >= {"item_required"}
    notes = webhooks.notes_of_deal(company_id=1001, deal_id=DEAL)
    assert len(notes) == 1 and "Won, not invoiced" in notes[0]["content"]
    flag = panel(personas.alice_membership).get(f"/api/v1/deals/{DEAL}/invoices").json()["won"]
    assert flag["label"] == f"Won, not invoiced: {len(won.problems)} problem(s)"
    # The same event again: the same problems, no second note.
    webhooks.send(SandboxWebhookDelivery.objects.order_by("-id").first())
    assert len(webhooks.notes_of_deal(company_id=1001, deal_id=DEAL)) == 1
    # Fixed, reopened and won again: now it is invoiced, once.
    link_products(connected)
    win(status="open")
    win()
    assert len(invoices_of_deal()) == 1
    assert WonDeal.all_companies.get(pk=won.pk).state == "invoiced"


def test_the_draft_rule_prepares_and_creates_nothing(installed, connected, personas, web_as):  # noqa: F811
    link_products(connected)
    set_rule(web_as, "draft")
    win()
    assert invoices_of_deal() == []
    assert WonDeal.all_companies.get(deal_id=DEAL).state == "draft_ready"


def test_rule_off_ignores_won_deals(installed, connected, personas, web_as):  # noqa: F811
    link_products(connected)
    set_rule(web_as, "create")
    set_rule(web_as, "off")
    win()
    assert invoices_of_deal() == [] and not WonDeal.all_companies.exists()


def basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def test_the_receiver_checks_basic_auth_and_the_body(installed, connected, personas, web_as, client):  # noqa: F811
    config = set_rule(web_as, "create")
    body = json.dumps({"meta": {"entity": "deal", "action": "change", "company_id": "1001"}, "data": {}})
    for header in ("", basic(config.webhook_user, "wrong"), basic("nobody", config.webhook_password), "Bearer x"):
        response = client.post(
            "/webhooks/pipedrive", data=body, content_type="application/json", HTTP_AUTHORIZATION=header
        )
        assert response.status_code == 401
    assert not WebhookDelivery.objects.filter(service="pipedrive").exists()
    good = basic(config.webhook_user, config.webhook_password)
    bad_body = client.post("/webhooks/pipedrive", data="[1]", content_type="application/json", HTTP_AUTHORIZATION=good)
    assert bad_body.status_code == 400
    # Company A's credentials with a payload naming another company act on nothing.
    other = {
        "meta": {"entity": "deal", "action": "change", "company_id": "2002"},
        "data": {"id": 1, "status": "won"},
        "previous": {"status": "open"},
    }
    link_products(connected)
    ok = client.post(
        "/webhooks/pipedrive", data=json.dumps(other), content_type="application/json", HTTP_AUTHORIZATION=good
    )
    assert ok.status_code == 200
    assert not WonDeal.all_companies.exists() and invoices_of_deal() == []
    assert InvoiceDeal.all_companies.count() == 0


def test_a_stale_pipedrive_delivery_is_swept_for_the_company_that_signed_it(
    installed,  # noqa: F811
    connected,
    personas,
    web_as,
    monkeypatch,
):
    """The broker was down when Pipedrive's webhook arrived: stored, answered 200, and the sweep of
    stale deliveries runs the rule later, for the company whose credentials it carried, once."""
    import datetime as dt

    from django.utils import timezone
    from kombu.exceptions import OperationalError as BrokerDown

    from invoices import tasks

    link_products(connected)
    set_rule(web_as, "create")

    def broker_down(*args, **kwargs):
        raise BrokerDown("Error 111 connecting to redis. Connection refused.")

    monkeypatch.setattr(tasks.process_pipedrive_webhook, "delay", broker_down)
    win()
    delivery = WebhookDelivery.objects.filter(service="pipedrive").order_by("-pk").first()
    assert delivery.processed_at is None and delivery.company_id == personas.company_a.pk
    assert invoices_of_deal() == []
    assert tasks.process_stale_webhooks() == 0  # within the grace period: a task may still be running it
    WebhookDelivery.objects.filter(pk=delivery.pk).update(received_at=timezone.now() - dt.timedelta(minutes=1))
    assert tasks.process_stale_webhooks() == 1
    (invoice,) = invoices_of_deal()
    delivery.refresh_from_db()
    assert delivery.processed_at is not None and delivery.attempts == 1
    assert tasks.process_stale_webhooks() == 0  # processed: never again
    assert [i.pk for i in invoices_of_deal()] == [invoice.pk]
