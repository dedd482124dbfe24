"""One invoice per instalment (money loop, item 5), over both sandboxes: the Pipedrive sandbox's deal 1
is billed in three instalments (1001-1003); each is invoiced in QuickBooks exactly once."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from integration.sandbox.pipedrive.models import SandboxCompany
from integration.sandbox.quickbooks import controls
from invoices.installments import installment_key
from invoices.models import Invoice
from tests.invoices.test_deal_figures import installed  # noqa: F401
from tests.invoices.test_panel_api import panel
from tests.invoices.test_won import link_products

DEAL = 1


def draft_of(alice) -> dict:
    response = alice.get(f"/api/v1/deals/{DEAL}/draft")
    assert response.status_code == 200, response.content
    return response.json()


def test_each_instalment_is_invoiced_exactly_once(installed, connected, personas):  # noqa: F811
    link_products(connected)
    alice = panel(personas.alice_membership)
    schedule = alice.get(f"/api/v1/deals/{DEAL}/installments").json()["installments"]
    assert [(i["id"], i["billing_date"], i["invoice"]) for i in schedule] == [
        (1001, "2026-12-01", None),
        (1002, "2027-01-04", None),
        (1003, "2027-02-01", None),
    ]
    draft = draft_of(alice)
    assert sum(Decimal(i["amount"]) for i in schedule) == Decimal(draft["deal_value"])  # the sandbox's schedule

    url = f"/api/v1/deals/{DEAL}/installments/1001/invoice"
    first = alice.post(url, {"draft": draft}, format="json")
    assert first.status_code == 201, first.content
    invoice = Invoice.all_companies.get(pk=first.json()["id"])
    deposit = schedule[0]
    assert (invoice.due_date, invoice.total) == (dt.date(2026, 12, 1), Decimal(deposit["amount"]))
    assert invoice.request_id == installment_key(company=personas.company_a, deal_id=DEAL, installment_id=1001)
    (line,) = invoice.lines.all()
    assert deposit["description"] in line.description and draft["deal_title"] in line.description
    assert list(invoice.deal_links.values_list("deal_id", flat=True)) == [DEAL]
    qbo_invoices = controls.call_count(realm_id=connected.realm_id, kind="invoice", method="POST")

    # A second click, a retry, another draft: the same invoice, nothing new in QuickBooks.
    again = alice.post(url, {"draft": {**draft, "due_date": "2030-01-01"}}, format="json")
    assert again.status_code == 201 and again.json()["id"] == invoice.pk
    assert controls.call_count(realm_id=connected.realm_id, kind="invoice", method="POST") == qbo_invoices
    assert Invoice.all_companies.filter(connection=connected, deal_links__deal_id=DEAL).count() == 1

    # The modal shows which instalments are invoiced.
    schedule = alice.get(f"/api/v1/deals/{DEAL}/installments").json()["installments"]
    assert schedule[0]["invoice"]["id"] == invoice.pk and schedule[0]["invoice"]["state"] == "created"
    assert [i["invoice"] for i in schedule[1:]] == [None, None]

    # The next instalment is its own invoice, due on its own billing date.
    second = alice.post(f"/api/v1/deals/{DEAL}/installments/1002/invoice", {"draft": draft}, format="json")
    assert second.status_code == 201, second.content
    assert second.json()["id"] != invoice.pk
    assert second.json()["due_date"] == "2027-01-04" and second.json()["total"] == schedule[1]["amount"]


def test_an_unknown_instalment_is_a_clear_404_and_writes_nothing(installed, connected, personas):  # noqa: F811
    link_products(connected)
    alice = panel(personas.alice_membership)
    response = alice.post(f"/api/v1/deals/{DEAL}/installments/999/invoice", {"draft": draft_of(alice)}, format="json")
    assert response.status_code == 404 and response.json()["error"]["code"] == "installment_not_found"
    assert not Invoice.all_companies.filter(connection=connected).exists()


def test_a_plan_without_instalments_offers_none(installed, connected, personas):  # noqa: F811
    SandboxCompany.objects.filter(pk=1001).update(plan="lite")  # Pipedrive answers 403 on Lite
    alice = panel(personas.alice_membership)
    response = alice.get(f"/api/v1/deals/{DEAL}/installments")
    assert response.status_code == 200 and response.json() == {"installments": []}
    refused = alice.post(f"/api/v1/deals/{DEAL}/installments/1001/invoice", {"draft": draft_of(alice)}, format="json")
    assert refused.status_code == 404
    # The ordinary create is unchanged (tests/invoices/test_create.py covers it in full).


def test_members_who_may_not_see_invoices_cannot_read_or_invoice_instalments(installed, connected, personas):  # noqa: F811
    bob = panel(personas.bob_membership)  # owner-only company: Alice connected QuickBooks
    read = bob.get(f"/api/v1/deals/{DEAL}/installments")
    assert read.status_code == 403 and read.json()["error"]["code"] == "not_allowed_to_view"
    made = bob.post(f"/api/v1/deals/{DEAL}/installments/1001/invoice", {"draft": {}}, format="json")
    assert made.status_code == 403 and not Invoice.all_companies.exists()
