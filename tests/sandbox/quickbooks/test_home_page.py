"""The sandbox's own page, where a demo user acts as a QuickBooks user."""

from decimal import Decimal

from integration.sandbox.quickbooks import controls
from integration.sandbox.quickbooks.models import SandboxEntity

LINE = [
    {
        "Amount": 100.0,
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"ItemRef": {"value": "2"}, "Qty": 2, "UnitPrice": 50},
    }
]


def invoice(realm_id, qbo_id) -> dict:
    return SandboxEntity.objects.get(realm__realm_id=realm_id, entity="Invoice", qbo_id=qbo_id).data


def test_record_payments_void_and_delete_from_the_page(client, db, settings):
    settings.QBO_SANDBOX_WEBHOOK_URL = "http://127.0.0.1:1/webhooks/quickbooks"  # nobody listens here
    realm = controls.reset()[0]
    created = controls.create_invoice(realm_id=realm, customer_id="3", lines=LINE, DueDate="2099-01-31")
    page = client.get("/sandbox/quickbooks/")
    assert page.status_code == 200
    assert created["DocNumber"] in page.content.decode()

    form = {"realm_id": realm, "invoice_id": created["Id"]}
    client.post("/sandbox/quickbooks/", {**form, "action": "payment", "amount": "40"})
    assert Decimal(str(invoice(realm, created["Id"])["Balance"])) == Decimal("60")
    client.post("/sandbox/quickbooks/", {**form, "action": "payment", "amount": ""})
    assert Decimal(str(invoice(realm, created["Id"])["Balance"])) == Decimal("0")

    other = controls.create_invoice(realm_id=realm, customer_id="3", lines=LINE)
    client.post("/sandbox/quickbooks/", {"realm_id": realm, "invoice_id": other["Id"], "action": "void"})
    assert invoice(realm, other["Id"])["PrivateNote"].startswith("Voided")
    refused = client.post("/sandbox/quickbooks/", {**form, "action": "payment", "amount": "abc"}, follow=True)
    assert "refused" in refused.content.decode()
    client.post("/sandbox/quickbooks/", {"realm_id": realm, "invoice_id": other["Id"], "action": "delete"})
    assert other["DocNumber"] not in client.get("/sandbox/quickbooks/").content.decode()
