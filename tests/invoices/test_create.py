"""Creating invoices in QuickBooks from a draft: pre-flight, money, idempotency, outages, actions."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
from django.db import connection as db_connection

from integration.quickbooks.services import client_for
from integration.sandbox.quickbooks import controls
from invoices import access, create_queue, errors, lifecycle
from invoices import create as creating
from invoices import preflight as preflight_module
from invoices.drafts import Draft, DraftAddress, DraftCustomer, DraftLine
from invoices.models import CustomerLink, Invoice, InvoiceDeal, InvoiceEvent, InvoiceLine, ProductLink
from tenants.scoping import company_scope


def a_draft(**changes) -> Draft:
    draft = Draft(
        deal_id=501,
        deal_title="Garden makeover",
        currency="USD",
        customer=DraftCustomer(
            name="Brand New Gardens LLC",
            email="ap@brandnew.example",
            address=DraftAddress(line1="1 Main St", city="Springfield", region="CA", postal_code="94000"),
            pipedrive_entity="organization",
            pipedrive_id=77,
        ),
        lines=[
            DraftLine(name="Hours", quantity="3", item_price="50", pipedrive_product_id=9001, qbo_item_id="2"),
            DraftLine(
                name="Design",
                quantity="1",
                item_price="80",
                discount="10",
                discount_type="percentage",
                pipedrive_product_id=9002,
                qbo_item_id="3",
            ),
        ],
        issue_date="2026-11-27",
        due_date="2026-12-27",
        tax_mode="none",
    )
    for key, value in changes.items():
        setattr(draft, key, value)
    return draft


def create(connected, personas, draft=None, key=None):
    with company_scope(connected.company):
        return creating.invoice_create(
            connection=connected,
            draft=draft or a_draft(),
            actor=personas.alice_membership,
            idempotency_key=key or str(uuid.uuid4()),
        )


def qbo_invoice_count(connected) -> int:
    with company_scope(connected.company):
        return int(client_for(connection=connected).query("SELECT COUNT(*) FROM Invoice").total_count or 0)


def wait_until_the_sandbox_is_idle(timeout: float = 15.0) -> None:
    """The sandbox's slow ("timeout") write finishes after the client gave up; let it land here."""
    import time

    from integration.sandbox.quickbooks.models import SandboxCall

    deadline = time.monotonic() + timeout
    while SandboxCall.objects.filter(path__endswith="/invoice", method="POST", status__isnull=True).exists():
        assert time.monotonic() < deadline, "the sandbox is still busy"
        time.sleep(0.1)


def test_create_with_a_new_customer(qbo, connected, personas):
    before = qbo_invoice_count(connected)
    invoice = create(connected, personas)
    assert invoice.state == "created" and invoice.status == "open"
    assert invoice.total == Decimal("222.00")  # 3 × 50 + 80 − 10 %
    assert invoice.customer_name == "Brand New Gardens LLC"
    assert qbo_invoice_count(connected) == before + 1
    qbo_copy = client_for(connection=connected).read("Invoice", invoice.qbo_id)
    assert Decimal(str(qbo_copy["TotalAmt"])) == Decimal("222.00")
    assert qbo_copy["DueDate"] == "2026-12-27"
    assert qbo_copy["BillEmail"]["Address"] == "ap@brandnew.example"
    lines = list(InvoiceLine.all_companies.filter(invoice=invoice).values_list("qbo_item_id", "quantity", "amount"))
    assert lines == [("2", Decimal("3"), Decimal("150.00")), ("3", Decimal("1"), Decimal("72.00"))]
    assert InvoiceDeal.all_companies.filter(invoice=invoice, deal_id=501).exists()
    link = CustomerLink.all_companies.get(connection=connected, entity="organization", pipedrive_id=77)
    assert link.qbo_customer_id == invoice.customer_qbo_id
    assert set(
        ProductLink.all_companies.filter(connection=connected).values_list("pipedrive_product_id", "qbo_item_id")
    ) == {(9001, "2"), (9002, "3")}
    event = InvoiceEvent.all_companies.get(invoice=invoice)
    assert (event.kind, event.actor) == ("created", personas.alice_membership)


def test_preflight_reports_every_problem_and_writes_nothing(qbo, connected, personas):
    draft = a_draft(currency="", due_date="2026-11-01")
    draft.customer.name = "Red Rock Diner"  # already a QBO customer
    draft.customer.email = "not-an-email"
    draft.lines[1].qbo_item_id = ""
    draft.lines.append(DraftLine(name="Ghost", quantity="1", item_price="5", qbo_item_id="999"))
    draft.lines.append(DraftLine(name="Negative", quantity="0", item_price="5", qbo_item_id="2"))
    with pytest.raises(errors.InvoiceError) as refused:
        create(connected, personas, draft)
    codes = {(p.field, p.code) for p in refused.value.problems}
    assert codes >= {
        ("currency", "currency_missing"),
        ("due_date", "due_before_issue"),
        ("customer.name", "display_name_taken"),
        ("customer.email", "email_invalid"),
        ("lines[1].qbo_item_id", "item_required"),
        ("lines[2].qbo_item_id", "item_not_found"),
        ("lines[3].quantity", "line_invalid"),
    }
    taken = next(p for p in refused.value.problems if p.code == "display_name_taken")
    assert taken.suggestion == {"qbo_customer_id": "3", "active": True}
    assert not Invoice.all_companies.exists()
    # pre-flight only reads: every call it made was a query
    from integration.sandbox.quickbooks.models import SandboxCall

    calls = SandboxCall.objects.filter(realm_id=qbo.us_realm, kind="api")
    assert calls.filter(path__endswith="/query").count() >= 2
    assert not calls.filter(method="POST").exclude(path__endswith="/query").exists()


def test_linking_an_existing_customer_in_another_currency_is_refused(qbo, connected, personas):
    connected.multicurrency_enabled = True
    connected.save()
    draft = a_draft(currency="EUR")
    draft.customer.qbo_customer_id = "3"  # Red Rock Diner bills in USD
    with pytest.raises(errors.InvoiceError) as refused:
        create(connected, personas, draft)
    assert [p.code for p in refused.value.problems] == ["currency_mismatch"]
    assert "USD" in refused.value.problems[0].message


def test_the_same_key_twice_gives_the_same_invoice(qbo, connected, personas):
    key = str(uuid.uuid4())
    before = qbo_invoice_count(connected)
    first = create(connected, personas, key=key)
    second = create(connected, personas, key=key)
    assert first.pk == second.pk
    assert qbo_invoice_count(connected) == before + 1


def test_ten_concurrent_submissions_of_one_key_make_one_invoice(qbo, connected, personas):
    key = str(uuid.uuid4())
    before = qbo_invoice_count(connected)

    def submit(_):
        try:
            return create(connected, personas, key=key).pk
        finally:
            db_connection.close()

    with ThreadPoolExecutor(max_workers=10) as pool:
        ids = list(pool.map(submit, range(10)))
    assert len(set(ids)) == 1
    assert Invoice.all_companies.filter(request_id=key).count() == 1
    assert qbo_invoice_count(connected) == before + 1


@pytest.mark.parametrize("kind", ["503", "timeout", "reset"])
def test_an_outage_during_create_keeps_the_intent_and_recovers_once(qbo, connected, personas, kind, settings):
    settings.HTTP_TIMEOUT_SECONDS = 2
    before = qbo_invoice_count(connected)
    # pre-flight reads go through; the writes fail (reset: the write happens, the answer is lost)
    draft = a_draft()
    draft.customer.qbo_customer_id = "3"
    draft.customer.name = ""
    with company_scope(connected.company):
        problems = creating.invoice_preflight(connection=connected, draft=draft)
    assert problems == []
    real_preflight = preflight_module.preflight

    def preflight_then_outage(**kwargs):
        checked = real_preflight(**kwargs)
        # the next call is the invoice write
        controls.inject_failure(kind=kind, count=1, realm_id=qbo.us_realm, delay_seconds=3 if kind == "timeout" else 0)
        return checked

    with company_scope(connected.company), pytest.MonkeyPatch.context() as patch:
        patch.setattr(preflight_module, "preflight", preflight_then_outage)
        # keep the retry from running inline (eager Celery); the test runs it below, like the worker would
        from invoices import tasks

        scheduled = []
        patch.setattr(create_queue, "schedule_retry", lambda **kw: scheduled.append(kw))
        pending = creating.invoice_create(
            connection=connected, draft=draft, actor=personas.alice_membership, idempotency_key=str(uuid.uuid4())
        )
    if kind == "reset" and pending.state == "created":
        # The reset raced the answer and the client saw QBO's reply: nothing to retry.
        done = pending
    else:
        assert pending.state == "pending"
        assert pending.attempts == 1 and pending.last_error
        assert len(scheduled) == 1
        assert scheduled[0]["company_id"] == connected.company_id and scheduled[0]["invoice_id"] == pending.pk
        assert scheduled[0]["delay"] > 0
        assert qbo_invoice_count(connected) == before + (1 if kind == "reset" else 0)
        with company_scope(connected.company):
            retry = {"company_id": scheduled[0]["company_id"], "invoice_id": scheduled[0]["invoice_id"]}
            assert tasks.submit_invoice.apply(kwargs=retry).get() == "created"
            done = Invoice.all_companies.get(pk=pending.pk)
        kinds = list(InvoiceEvent.all_companies.filter(invoice=done).order_by("id").values_list("kind", flat=True))
        assert kinds == ["create_pending", "created"]
    assert done.state == "created" and done.qbo_id, done.last_error
    if kind == "timeout":
        wait_until_the_sandbox_is_idle()  # the slow first write lands late: it must replay, not duplicate
    assert qbo_invoice_count(connected) == before + 1  # requestid replay: never twice
    assert Invoice.all_companies.filter(connection=connected, qbo_id=done.qbo_id).count() == 1


def test_void_send_delete_and_their_rules(qbo, connected, personas):
    invoice = create(connected, personas)
    with company_scope(connected.company):
        assert access.actions_for(invoice=invoice, membership=personas.alice_membership) == [
            "send",
            "pdf",
            "open_in_quickbooks",
            "void",
            "delete",
        ]
        with pytest.raises(errors.InvoiceError, match="not an email"):
            lifecycle.invoice_send(invoice=invoice, actor=personas.alice_membership, to="nope")
        lifecycle.invoice_send(invoice=invoice, actor=personas.alice_membership, to="boss@brandnew.example")
        assert invoice.sent
        pdf = lifecycle.invoice_pdf(invoice=invoice, actor=personas.alice_membership)
        body = b"".join(pdf.chunks())
        pdf.close()
        assert body.startswith(b"%PDF")
        lifecycle.invoice_void(invoice=invoice, actor=personas.alice_membership)
        assert (invoice.status, invoice.total) == ("voided", Decimal("0.00"))
        with pytest.raises(errors.ActionNotAllowed):
            lifecycle.invoice_void(invoice=invoice, actor=personas.alice_membership)
        lifecycle.invoice_delete(invoice=invoice, actor=personas.alice_membership)
        assert invoice.status == "deleted"
        assert access.actions_for(invoice=invoice, membership=personas.alice_membership) == []
    kinds = list(InvoiceEvent.all_companies.filter(invoice=invoice).order_by("id").values_list("kind", flat=True))
    assert kinds == ["created", "emailed", "voided", "deleted"]


def test_a_stale_sync_token_is_refreshed_once(qbo, connected, personas):
    invoice = create(connected, personas)
    controls.edit_invoice(realm_id=qbo.us_realm, invoice_id=invoice.qbo_id, changes={"DueDate": "2027-01-31"})
    with company_scope(connected.company):
        lifecycle.invoice_void(invoice=invoice, actor=personas.alice_membership)
    assert invoice.status == "voided"


def test_owner_only_companies_keep_invoices_to_the_owner(qbo, connected, personas):
    invoice = create(connected, personas)
    with company_scope(connected.company):
        assert not access.can_view(membership=personas.bob_membership, connection=connected)
        with pytest.raises(errors.ActionNotAllowed):
            lifecycle.invoice_void(invoice=invoice, actor=personas.bob_membership)
        with pytest.raises(errors.ActionNotAllowed):
            creating.invoice_create(
                connection=connected, draft=a_draft(), actor=personas.bob_membership, idempotency_key=str(uuid.uuid4())
            )
        personas.company_a.invoice_visibility = "team"
        personas.company_a.save()
        personas.bob_membership.refresh_from_db()
        assert access.can_view(membership=personas.bob_membership, connection=connected)
        assert "void" not in access.actions_for(invoice=invoice, membership=personas.bob_membership)
        assert "send" in access.actions_for(invoice=invoice, membership=personas.bob_membership)


def test_link_and_unlink_deals(qbo, connected, personas):
    invoice = create(connected, personas)
    with company_scope(connected.company):
        lifecycle.invoice_link_deal(invoice=invoice, deal_id=777, actor=personas.alice_membership)
        lifecycle.invoice_link_deal(invoice=invoice, deal_id=777, actor=personas.alice_membership)  # idempotent
        assert sorted(InvoiceDeal.objects.filter(invoice=invoice).values_list("deal_id", flat=True)) == [501, 777]
        assert lifecycle.invoice_unlink_deal(invoice=invoice, deal_id=777, actor=personas.alice_membership)
        assert not lifecycle.invoice_unlink_deal(invoice=invoice, deal_id=777, actor=personas.alice_membership)
    kinds = list(InvoiceEvent.all_companies.filter(invoice=invoice).order_by("id").values_list("kind", flat=True))
    assert kinds == ["created", "linked", "unlinked"]


def test_us_sales_tax_from_pipedrive_is_kept_to_the_cent(qbo, connected, personas):
    draft = a_draft()
    draft.customer.qbo_customer_id, draft.customer.name = "3", ""
    draft.lines = [
        DraftLine(name="Hours", quantity="3", item_price="19.99", tax="8.875", tax_method="exclusive", qbo_item_id="2"),
        DraftLine(name="Design", quantity="1", item_price="80", qbo_item_id="3"),
    ]
    invoice = create(connected, personas, draft)
    # 59.97 + 5.32 tax (8.875 %) + 80.00
    assert (invoice.total, invoice.tax_total, invoice.last_error) == (Decimal("145.29"), Decimal("5.32"), "")
    qbo_copy = client_for(connection=connected).read("Invoice", invoice.qbo_id)
    codes = [line["SalesItemLineDetail"]["TaxCodeRef"]["value"] for line in qbo_copy["Line"][:2]]
    assert codes == ["TAX", "NON"]


@pytest.fixture
def uk(qbo, personas, web_as, link_calls):
    """Company B connected to the sandbox's UK company (GBP, VAT codes, multicurrency)."""
    from integration.quickbooks.models import QuickBooksConnection
    from tests.integration.quickbooks import helpers

    helpers.connect(web_as("charlie"), realm_id=qbo.uk_realm)
    return QuickBooksConnection.all_companies.get(company=personas.company_b)


def uk_draft(**line) -> Draft:
    return Draft(
        deal_id=601,
        deal_title="Workshop",
        currency="GBP",
        customer=DraftCustomer(qbo_customer_id="1"),
        lines=[DraftLine(name="Consulting", quantity="2", qbo_item_id="1", tax_code="2", **line)],
        issue_date="2026-11-27",
        due_date="2026-12-27",
        tax_mode=line.get("tax_method", "exclusive"),
    )


@pytest.mark.parametrize(
    ("line", "total", "tax"),
    [
        ({"item_price": "100", "tax": "20", "tax_method": "exclusive"}, "240.00", "40.00"),
        ({"item_price": "120", "tax": "20", "tax_method": "inclusive"}, "240.00", "40.00"),
    ],
)
def test_non_us_vat_codes_and_modes(uk, personas, line, total, tax):
    with company_scope(uk.company):
        invoice = creating.invoice_create(
            connection=uk, draft=uk_draft(**line), actor=personas.charlie_membership, idempotency_key=str(uuid.uuid4())
        )
    assert (invoice.currency, invoice.total, invoice.tax_total, invoice.last_error) == (
        "GBP",
        Decimal(total),
        Decimal(tax),
        "",
    )
    qbo_copy = client_for(connection=uk).read("Invoice", invoice.qbo_id)
    assert qbo_copy["GlobalTaxCalculation"] == ("TaxInclusive" if line["tax_method"] == "inclusive" else "TaxExcluded")
    assert qbo_copy["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"]["value"] == "2"


def test_non_us_needs_a_tax_code_of_the_same_rate(uk, personas):
    draft = uk_draft(item_price="100", tax="19", tax_method="exclusive")
    draft.lines.append(DraftLine(name="Book", quantity="1", item_price="20", qbo_item_id="3"))  # no tax code
    with company_scope(uk.company), pytest.raises(errors.InvoiceError) as refused:
        creating.invoice_create(
            connection=uk, draft=draft, actor=personas.charlie_membership, idempotency_key=str(uuid.uuid4())
        )
    assert {(p.field, p.code) for p in refused.value.problems} == {
        ("lines[0].tax_code", "tax_rate_mismatch"),
        ("lines[1].tax_code", "tax_code_required"),
    }


def test_a_permanent_error_during_preflight_leaves_no_intent(qbo, connected, personas, monkeypatch):
    from integration.errors import AuthRevoked

    def revoked(**kwargs):
        raise AuthRevoked("QuickBooks needs reconnecting")

    monkeypatch.setattr(preflight_module, "preflight", revoked)
    with pytest.raises(AuthRevoked):
        create(connected, personas)
    assert not Invoice.all_companies.exists()


def test_an_abandoned_pending_intent_is_sent_when_the_user_retries(qbo, connected, personas):
    key = str(uuid.uuid4())
    draft = a_draft()
    with company_scope(connected.company):
        intent = create_queue.record_intent(
            connection=connected, draft=draft, actor=personas.alice_membership, key=uuid.UUID(key)
        )
    Invoice.all_companies.filter(pk=intent.pk).update(claimed_until=None)  # the worker that held it died
    invoice = create(connected, personas, draft, key=key)
    assert invoice.pk == intent.pk and invoice.state == "created" and invoice.qbo_id
