"""Test controls over JSON, seed data and the management command."""

import json

from django.core.management import call_command

from integration.sandbox.quickbooks import controls, seed
from integration.sandbox.quickbooks.models import SandboxEntity, SandboxRealm
from tests.sandbox.quickbooks.conftest import BASE, UK, US

CONTROL = f"{BASE}/_control"


def post(client, path, body=None):
    response = client.post(f"{CONTROL}/{path}", json.dumps(body or {}), content_type="application/json")
    return response


def _invoice(us_api, amount=100):
    body = {
        "CustomerRef": {"value": "3"},
        "Line": [
            {"DetailType": "SalesItemLineDetail", "Amount": amount, "SalesItemLineDetail": {"ItemRef": {"value": "2"}}}
        ],
    }
    return us_api.post("invoice", body).json()["Invoice"]


def test_seed_is_idempotent_and_has_both_companies(db):
    seed.seed()
    count = SandboxEntity.objects.count()
    seed.seed()
    assert SandboxEntity.objects.count() == count
    us, uk = SandboxRealm.objects.get(realm_id=US), SandboxRealm.objects.get(realm_id=UK)
    assert (us.country, us.home_currency, us.multicurrency) == ("US", "USD", False)
    assert (uk.country, uk.home_currency, uk.multicurrency) == ("GB", "GBP", True)
    for realm in (us, uk):
        customers = SandboxEntity.objects.filter(realm=realm, entity="Customer")
        assert any(not c.data["Active"] for c in customers) and customers.count() >= 4
        for entity in ("Item", "Account", "Term", "TaxCode", "TaxRate", "Preferences", "CompanyInfo"):
            assert SandboxEntity.objects.filter(realm=realm, entity=entity).exists(), entity
    uk_prefs = SandboxEntity.objects.get(realm=uk, entity="Preferences").data
    assert uk_prefs["CurrencyPrefs"] == {"MultiCurrencyEnabled": True, "HomeCurrency": {"value": "GBP"}}


def test_management_command_and_seed_demo(db, capsys):
    call_command("seed_qbo_sandbox")
    assert SandboxRealm.objects.count() == 2
    call_command("seed_demo")
    assert SandboxRealm.objects.count() == 2
    call_command("seed_qbo_sandbox", "--reset")
    assert SandboxEntity.objects.filter(entity="Invoice").count() == 0
    assert US in capsys.readouterr().out


def test_payment_edit_void_delete_controls_over_json(client, us_api):
    invoice = _invoice(us_api)
    paid = post(client, f"realms/{US}/invoices/{invoice['Id']}/payment", {"amount": "30.50"})
    assert paid.status_code == 200 and paid.json()["Payment"]["TotalAmt"] == 30.5
    assert us_api.get(f"invoice/{invoice['Id']}").json()["Invoice"]["Balance"] == 69.5

    edited = post(client, f"realms/{US}/invoices/{invoice['Id']}/edit", {"DueDate": "2031-05-01"}).json()
    assert edited["Invoice"]["DueDate"] == "2031-05-01" and edited["Invoice"]["SyncToken"] == "2"

    other = _invoice(us_api, 20)
    voided = post(client, f"realms/{US}/invoices/{other['Id']}/void").json()["Invoice"]
    assert voided["TotalAmt"] == 0 and voided["PrivateNote"] == "Voided"

    deleted = post(client, f"realms/{US}/invoices/{invoice['Id']}/delete").json()
    assert deleted["Invoice"]["status"] == "Deleted"
    assert us_api.get(f"invoice/{invoice['Id']}").json()["Fault"]["Error"][0]["code"] == "610"
    # The payment survives as unapplied credit, like in QuickBooks.
    payment_id = paid.json()["Payment"]["Id"]
    assert us_api.get(f"payment/{payment_id}").json()["Payment"]["UnappliedAmt"] == 30.5


def test_full_payment_control_pays_the_open_balance(client, us_api):
    invoice = _invoice(us_api, 75)
    post(client, f"realms/{US}/invoices/{invoice['Id']}/payment")
    assert us_api.get(f"invoice/{invoice['Id']}").json()["Invoice"]["Balance"] == 0


def test_clock_failures_tokens_and_state_controls(client, us_api):
    before = controls.state()["now"]
    advanced = post(client, "clock/advance", {"days": 2}).json()["now"]
    assert advanced > before
    # Advancing two days expired the access token.
    assert us_api.get("customer/1").status_code == 401
    failure = post(client, "failures", {"kind": "429", "count": 3, "realm_id": US})
    assert failure.json()["remaining"] == 3
    assert post(client, "failures", {"clear": True}).json()["cleared"] == 1
    assert post(client, "failures", {"kind": "teapot"}).status_code == 400
    state = client.get(f"{CONTROL}/state").json()
    assert {r["realm_id"] for r in state["realms"]} == {US, UK}
    assert state["calls"]["token"] >= 1


def test_expire_tokens_and_disconnect_controls(client, us_api):
    assert post(client, "tokens/expire", {"realm_id": US}).json()["expired"] == 1
    assert us_api.get("customer/1").status_code == 401
    assert post(client, f"realms/{US}/disconnect").json()["revoked_grants"] == 1


def test_reset_control_wipes_and_reseeds(client, us_api):
    _invoice(us_api)
    assert post(client, "reset").json()["realms"] == [US, UK]
    assert SandboxEntity.objects.filter(entity="Invoice").count() == 0
    assert us_api.get("customer/1").status_code == 401  # tokens are gone too


def test_control_errors_are_json(client, qbo_realms):
    response = post(client, f"realms/{US}/invoices/999/void")
    assert response.status_code == 400 and response.json()["error"] == "610"
    assert post(client, f"realms/{US}/invoices/1/explode").status_code == 400


def test_create_invoice_control_as_if_typed_in_quickbooks(qbo_realms):
    invoice = controls.create_invoice(
        realm_id=UK,
        customer_id="2",
        lines=[
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": 50,
                "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "TaxCodeRef": {"value": "5"}},
            }
        ],
    )
    assert invoice["CurrencyRef"]["value"] == "EUR" and invoice["TotalAmt"] == 50


def test_app_deep_link_shows_the_invoice(client, us_api):
    invoice = _invoice(us_api, 33)
    page = client.get(f"{BASE}/app/invoice", {"txnId": invoice["Id"], "companyId": US})
    text = page.content.decode()
    assert page.status_code == 200
    assert f"Invoice {invoice['DocNumber']}" in text and "Red Rock Diner" in text and "USD 33" in text
    assert client.get(f"{BASE}/app/invoice", {"txnId": "424242"}).status_code == 404
    assert client.get(f"{BASE}/app/homepage").status_code == 200
