"""Invoice figures on the deal (money loop, item 1): fields the app owns in Pipedrive, kept current
from invoice events through the outbox, over both sandboxes (real HTTP)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
import requests
from django.db.models import F
from django.utils import timezone

from integration.errors import PermanentError
from integration.models import ApiCall
from integration.pipedrive import client as pipedrive
from integration.pipedrive.errors import NotFound
from integration.pipedrive.models import PipedriveInstallation
from integration.quickbooks.services import client_for
from integration.sandbox.pipedrive import host_services
from integration.sandbox.pipedrive.models import SandboxCompany, SandboxField, SandboxRecord
from integration.sandbox.pipedrive.seed import seed
from integration.sandbox.quickbooks import controls
from invoices import create, deal_figure_fields, deal_figures, lifecycle, sync, tasks
from invoices.models import DealFigureFields, DealFiguresOutbox, Invoice
from tenants.scoping import company_scope
from tests.integration.pipedrive import flows
from tests.invoices.test_create import a_draft

DEAL = 1  # the sandbox's "Initech robot line", USD


@pytest.fixture
def installed(connected, personas, sandbox_base_url):
    """Company A has QuickBooks connected and Alice (admin) installed the app in the Pipedrive sandbox."""
    seed()
    with requests.Session() as browser:
        response = flows.install(browser, sandbox_base_url, user_id=11)
    assert response.status_code == 302, response.text[:300]
    return PipedriveInstallation.all_companies.get(company=personas.company_a, pipedrive_user_id=11)


def pd_deal(deal_id: int = DEAL) -> dict:
    return SandboxRecord.objects.get(company_id=1001, kind="deal", object_id=deal_id).data


def figures_on_deal(personas, deal_id: int = DEAL) -> dict:
    """What Pipedrive now shows in our four fields (status as its option label)."""
    config = DealFigureFields.all_companies.get(company=personas.company_a)
    custom = pd_deal(deal_id)["custom_fields"]
    status_field = SandboxField.objects.get(company_id=1001, entity="deal", field_code=config.status_key)
    labels = {o["id"]: o["label"] for o in status_field.data["options"]}
    return {
        "invoiced": custom[config.invoiced_key],
        "paid": custom[config.paid_key],
        "outstanding": custom[config.outstanding_key],
        "status": labels.get(custom[config.status_key]),
    }


def create_invoice(connected, personas, deal_id: int = DEAL, customer_id: str = "") -> Invoice:
    draft = a_draft(deal_id=deal_id, due_date="2030-12-31")
    draft.customer.qbo_customer_id = customer_id  # a second invoice goes to the customer the first made
    with company_scope(connected.company):
        return create.invoice_create(
            connection=connected,
            draft=draft,
            actor=personas.alice_membership,
            idempotency_key=str(__import__("uuid").uuid4()),
        )


def our_fields() -> list[dict]:
    return [
        f.data
        for f in SandboxField.objects.filter(company_id=1001, entity="deal")
        if f.data["field_name"] in {"Invoiced", "Paid", "Outstanding", "Invoice status"}
    ]


def test_the_sandbox_creates_deal_fields_and_updates_custom_fields_as_the_spec_says(installed, personas):
    with company_scope(personas.company_a):
        money = pipedrive.deal_field_create(installation=installed, field_name="Budget", field_type="monetary")
        choice = pipedrive.deal_field_create(
            installation=installed, field_name="Tier", field_type="enum", options=["Gold", "Silver"]
        )
        assert len(money["field_code"]) == 40 and [s["field_code"] for s in money["subfields"]] == ["value", "currency"]
        gold = choice["options"][0]["id"]
        listed = {f["field_code"] for f in pipedrive.fields_list(installation=installed, entity="deal")}
        assert {money["field_code"], choice["field_code"]} <= listed
        updated = pipedrive.deal_update(
            installation=installed,
            deal_id=DEAL,
            custom_fields={money["field_code"]: {"value": 12.5, "currency": "EUR"}, choice["field_code"]: gold},
        )
        assert updated["custom_fields"][money["field_code"]] == {"value": 12.5, "currency": "EUR"}
        assert pipedrive.deal_get(installation=installed, deal_id=DEAL)["custom_fields"][choice["field_code"]] == gold
        refused = [
            {money["field_code"]: 12.5},  # monetary needs {value, currency}
            {money["field_code"]: {"value": "12", "currency": "EUR"}},
            {choice["field_code"]: 999999},  # not one of its options
            {"f" * 40: "x"},  # no such field
        ]
        for body in refused:
            with pytest.raises(PermanentError) as error:
                pipedrive.deal_update(installation=installed, deal_id=DEAL, custom_fields=body)
            assert error.value.status == 400
        with pytest.raises(PermanentError):
            pipedrive.deal_field_create(installation=installed, field_name="No options", field_type="enum")
        with pytest.raises(NotFound):
            pipedrive.deal_update(installation=installed, deal_id=7, custom_fields={})  # a deleted deal
        # null clears
        pipedrive.deal_update(installation=installed, deal_id=DEAL, custom_fields={money["field_code"]: None})
    assert pd_deal()["custom_fields"][money["field_code"]] is None


def test_figures_follow_the_invoice_from_creation_to_payment_void_and_unlink(installed, connected, qbo, personas):
    invoice = create_invoice(connected, personas)
    assert invoice.total == Decimal("222.00")
    config = DealFigureFields.all_companies.get(company=personas.company_a)
    assert all([config.invoiced_key, config.paid_key, config.outstanding_key, config.status_key])
    assert len(our_fields()) == 4
    assert figures_on_deal(personas) == {
        "invoiced": {"value": 222, "currency": "USD"},
        "paid": {"value": 0, "currency": "USD"},
        "outstanding": {"value": 222, "currency": "USD"},
        "status": "Open",
    }

    controls.record_payment(realm_id=qbo.us_realm, invoice_id=invoice.qbo_id, amount="22.50")  # webhook → sync
    assert figures_on_deal(personas)["paid"] == {"value": 22.5, "currency": "USD"}
    assert figures_on_deal(personas)["outstanding"] == {"value": 199.5, "currency": "USD"}
    assert figures_on_deal(personas)["status"] == "Partially paid"

    second = create_invoice(connected, personas, customer_id=invoice.customer_qbo_id)
    assert figures_on_deal(personas)["invoiced"] == {"value": 444, "currency": "USD"}
    with company_scope(connected.company):
        lifecycle.invoice_void(invoice=second, actor=personas.alice_membership)
    assert figures_on_deal(personas)["invoiced"] == {"value": 222, "currency": "USD"}

    with company_scope(connected.company):
        lifecycle.invoice_link_deal(invoice=invoice, deal_id=3, actor=personas.alice_membership)
        lifecycle.invoice_unlink_deal(invoice=invoice, deal_id=DEAL, actor=personas.alice_membership)
    assert figures_on_deal(personas, 3)["invoiced"] == {"value": 222, "currency": "USD"}
    assert figures_on_deal(personas) == {"invoiced": None, "paid": None, "outstanding": None, "status": None}
    assert not DealFiguresOutbox.all_companies.filter(dirty=True).exists()
    # the fields were made once, at connect or on the first write, not once per event
    assert len(our_fields()) == 4


def test_a_pipedrive_outage_during_write_back_heals_later(installed, connected, qbo, personas):
    invoice = create_invoice(connected, personas)
    company = SandboxCompany.objects.get(pk=1001)
    host_services.company_outage_set(company=company, status=503)
    controls.record_payment(realm_id=qbo.us_realm, invoice_id=invoice.qbo_id)  # paid in full, Pipedrive down
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    row = DealFiguresOutbox.all_companies.get(company=personas.company_a, deal_id=DEAL)
    assert row.dirty and row.attempts >= 1 and "unavailable" in row.last_error.lower()
    assert row.next_attempt_at > timezone.now()
    company.refresh_from_db()
    host_services.company_outage_set(company=company, status=0)
    # Nothing is due before the backoff ends; then the beat sweeper writes it.
    assert tasks.deal_figures_sweep() == 0
    DealFiguresOutbox.all_companies.filter(pk=row.pk).update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
    host_services.company_outage_set(company=company, status=503)
    assert tasks.deal_figures_sweep() == 1  # still down: stays dirty, tried again later
    assert DealFiguresOutbox.all_companies.get(pk=row.pk).dirty
    host_services.company_outage_set(company=company, status=0)
    DealFiguresOutbox.all_companies.filter(pk=row.pk).update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
    assert tasks.deal_figures_sweep() == 1
    row.refresh_from_db()
    assert not row.dirty and row.last_error == "" and row.attempts == 0
    assert figures_on_deal(personas) == {
        "invoiced": {"value": 222, "currency": "USD"},
        "paid": {"value": 222, "currency": "USD"},
        "outstanding": {"value": 0, "currency": "USD"},
        "status": "Paid",
    }


def test_duplicate_and_out_of_order_invoice_events_give_correct_totals(installed, connected, qbo, personas):
    invoice = create_invoice(connected, personas)
    client = client_for(connection=connected)
    before = client.read("Invoice", invoice.qbo_id)  # unpaid snapshot
    controls.record_payment(realm_id=qbo.us_realm, invoice_id=invoice.qbo_id, amount="100")
    after = client.read("Invoice", invoice.qbo_id)
    # The older copy is clearly older (QBO's timestamps have one-second resolution).
    stamp = dt.datetime.fromisoformat(after["MetaData"]["LastUpdatedTime"]) - dt.timedelta(minutes=1)
    before["MetaData"]["LastUpdatedTime"] = stamp.isoformat()
    writes_before = ApiCall.objects.filter(service="pipedrive", method="PATCH").count()
    with company_scope(connected.company):
        # The later copy twice, then the older one late: none of it moves the totals.
        for data in (after, after, before):
            sync.invoice_apply_qbo(connection=connected, data=data)
        # Marks without any change coalesce into one row and write nothing new.
        for _ in range(3):
            deal_figures.deal_figures_mark_dirty(company_id=connected.company_id, deal_ids=[DEAL, DEAL])
    assert DealFiguresOutbox.all_companies.filter(company=personas.company_a, deal_id=DEAL).count() == 1
    tasks.push_deal_figures(company_id=connected.company_id)
    assert figures_on_deal(personas)["paid"] == {"value": 100, "currency": "USD"}
    assert figures_on_deal(personas)["outstanding"] == {"value": 122, "currency": "USD"}
    assert ApiCall.objects.filter(service="pipedrive", method="PATCH").count() == writes_before
    # An event that arrives while a write is in flight keeps the row dirty (generation check).
    row = DealFiguresOutbox.all_companies.get(company=personas.company_a, deal_id=DEAL)
    in_flight = DealFiguresOutbox.all_companies.get(pk=row.pk)
    DealFiguresOutbox.all_companies.filter(pk=row.pk).update(dirty=True, generation=F("generation") + 1)
    with company_scope(connected.company):
        deal_figures._done(in_flight, row.written)
    assert DealFiguresOutbox.all_companies.get(pk=row.pk).dirty
    tasks.push_deal_figures(company_id=connected.company_id)
    assert not DealFiguresOutbox.all_companies.get(pk=row.pk).dirty


def test_turning_it_off_stops_writes_and_removes_nothing(installed, connected, qbo, personas):
    invoice = create_invoice(connected, personas)
    shown = figures_on_deal(personas)
    with company_scope(connected.company):
        deal_figures.deal_figures_set_enabled(company=connected.company, enabled=False)
    controls.record_payment(realm_id=qbo.us_realm, invoice_id=invoice.qbo_id)
    assert figures_on_deal(personas) == shown  # the fields and their values stay as the user has them
    assert len(our_fields()) == 4
    assert not DealFiguresOutbox.all_companies.filter(dirty=True).exists()
    with company_scope(connected.company):
        deal_figures.deal_figures_set_enabled(company=connected.company, enabled=True)
    tasks.push_deal_figures(company_id=connected.company_id)
    assert figures_on_deal(personas)["status"] == "Paid"


def test_fields_are_made_once_and_a_field_the_user_deleted_is_not_made_again(installed, connected, personas):
    with company_scope(personas.company_a):
        config = deal_figure_fields.deal_fields_ensure(company=personas.company_a)
        # Our keys lost (e.g. a crash after Pipedrive answered): the fields are found again by name.
        DealFigureFields.objects.filter(pk=config.pk).update(invoiced_key="", status_key="", status_options={})
        again = deal_figure_fields.deal_fields_ensure(company=personas.company_a)
    assert len(our_fields()) == 4
    assert (again.invoiced_key, again.status_key) == (config.invoiced_key, config.status_key)
    assert set(again.status_options) == {"overdue", "open", "partially_paid", "paid"}
    # The user deletes "Paid" in Pipedrive: the next write drops it and the others still update.
    SandboxField.objects.filter(company_id=1001, field_code=config.paid_key).delete()
    create_invoice(connected, personas)
    config.refresh_from_db()
    assert config.paid_key == "" and "paid_key" in config.dismissed
    assert pd_deal()["custom_fields"][config.invoiced_key] == {"value": 222, "currency": "USD"}
    with company_scope(personas.company_a):
        deal_figure_fields.deal_fields_ensure(company=personas.company_a)
    assert len(our_fields()) == 3


def test_beat_sweeps_the_deal_figures_outbox():
    from django.conf import settings

    assert "invoices.deal_figures_sweep" in {e["task"] for e in settings.CELERY_BEAT_SCHEDULE.values()}


def test_the_setting_page_admins_switch_members_read(personas, web_as):
    from invoices.models import DealFigureFields

    page = web_as("bob").get("/settings/money-loop")
    assert page.status_code == 200 and b"Invoice figures on deals" in page.content
    assert web_as("bob").post("/settings/money-loop", {"deal_figures": "off"}).status_code == 403
    alice = web_as("alice")
    assert alice.post("/settings/money-loop", {"deal_figures": "maybe"}).status_code == 400
    assert alice.post("/settings/money-loop", {"deal_figures": "off"}).status_code == 302
    assert not DealFigureFields.all_companies.get(company=personas.company_a).enabled
    assert not DealFigureFields.all_companies.filter(company=personas.company_b, enabled=False).exists()
    # turned off: invoice events queue nothing
    deal_figures.deal_figures_mark_dirty(company_id=personas.company_a.pk, deal_ids=[5])
    assert not DealFiguresOutbox.all_companies.filter(company=personas.company_a).exists()


def test_connect_makes_the_fields_once(installed, connected, personas):
    assert our_fields() == []
    assert tasks.setup_deal_fields(company_id=personas.company_a.pk) is True
    assert tasks.setup_deal_fields(company_id=personas.company_a.pk) is True
    assert len(our_fields()) == 4
    config = DealFigureFields.all_companies.get(company=personas.company_a)
    assert {f["field_code"] for f in our_fields()} == {
        config.invoiced_key,
        config.paid_key,
        config.outstanding_key,
        config.status_key,
    }


def test_a_rate_limited_batch_is_rescheduled_then_written(installed, connected, personas, monkeypatch):
    monkeypatch.setattr(pipedrive, "sleep", lambda seconds: None)  # the client's 429 waits, without waiting
    with company_scope(personas.company_a):
        deal_figure_fields.deal_fields_ensure(company=personas.company_a)
    company = SandboxCompany.objects.get(pk=1001)
    host_services.company_limits_set(company=company, burst_limit=1, daily_budget=100000, reset_usage=True)
    DealFiguresOutbox.all_companies.bulk_create(
        [DealFiguresOutbox(company=personas.company_a, deal_id=d, next_attempt_at=timezone.now()) for d in (1, 2, 3)]
    )
    result = tasks.push_deal_figures(company_id=personas.company_a.pk)
    assert result["written"] < 3 and result["failed"] >= 1
    waiting = DealFiguresOutbox.all_companies.filter(dirty=True)
    assert waiting.exists() and all("RateLimited" in row.last_error for row in waiting)
    assert all(row.next_attempt_at > timezone.now() for row in waiting)
    company.refresh_from_db()
    host_services.company_limits_set(company=company, burst_limit=160, daily_budget=100000, reset_usage=True)
    waiting.update(next_attempt_at=timezone.now() - dt.timedelta(seconds=1))
    assert tasks.deal_figures_sweep() == 1
    assert not DealFiguresOutbox.all_companies.filter(dirty=True).exists()
    config = DealFigureFields.all_companies.get(company=personas.company_a)
    assert all(pd_deal(d)["custom_fields"][config.invoiced_key] is None for d in (1, 2, 3))  # no invoices: cleared
    assert all(row.written_at for row in DealFiguresOutbox.all_companies.all())
