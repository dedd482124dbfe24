"""The rep's daily loop (issue 13): voiding paid invoices, who did it, the deal's changelog note."""

from __future__ import annotations

from decimal import Decimal

from integration.quickbooks.services import client_for
from integration.sandbox.quickbooks import controls
from invoices import services
from invoices.models import InvoiceEvent
from tenants.scoping import company_scope
from tests.invoices.test_create import create


def test_a_paid_invoice_can_be_voided_and_its_payment_becomes_unapplied_credit(qbo, connected, personas):
    invoice = create(connected, personas)
    controls.record_payment(realm_id=qbo.us_realm, invoice_id=invoice.qbo_id)
    with company_scope(connected.company):
        services.invoice_refresh(connection=connected, invoices=[invoice])
        invoice.refresh_from_db()
        assert invoice.status == "paid"
        assert "void" in services.actions_for(invoice=invoice, membership=personas.alice_membership)
        assert "delete" not in services.actions_for(invoice=invoice, membership=personas.alice_membership)
        services.invoice_void(invoice=invoice, actor=personas.alice_membership)
        assert (invoice.status, invoice.total, invoice.balance) == ("voided", Decimal("0.00"), Decimal("0.00"))
        payments = client_for(connection=connected).query("SELECT * FROM Payment").items
    assert [Decimal(str(p["UnappliedAmt"])) for p in payments] == [Decimal("222.00")]
    event = InvoiceEvent.all_companies.filter(invoice=invoice, kind="voided").get()
    assert event.actor_id == personas.alice_membership.pk
    assert "Paid → Voided in Pipedrive" in event.message
    assert "222.00 USD is now unapplied credit for Brand New Gardens LLC" in event.message
    assert event.data["unapplied_credit"] == "222.00"


def test_void_and_delete_from_the_panel_name_who_did_it(qbo, connected, personas):
    invoice = create(connected, personas)
    with company_scope(connected.company):
        services.invoice_void(invoice=invoice, actor=personas.alice_membership)
        services.invoice_delete(invoice=invoice, actor=personas.alice_membership)
    events = InvoiceEvent.all_companies.filter(invoice=invoice, kind__in=["voided", "deleted"]).order_by("id")
    assert [(e.kind, e.actor_id, "in Pipedrive" in e.message) for e in events] == [
        ("voided", personas.alice_membership.pk, True),
        ("deleted", personas.alice_membership.pk, True),
    ]
