"""Issue 17, reliability: the create's state machine ends in a final state from every step, an
accepted create is never dropped by a retry budget, nothing in a request waits, imports never
make a twin of a pending create, and the logs are bounded.

Run on PostgreSQL (DATABASE_URL) for the real numeric overflow; on SQLite the same step raises the
DataError PostgreSQL would."""

from __future__ import annotations

import datetime as dt
import time
import uuid
from decimal import Decimal

import pytest
from django.db import DataError, OperationalError
from django.db import connection as db
from django.utils import timezone

from integration.errors import RateLimited, TransientError
from integration.sandbox.quickbooks import controls
from invoices import create, create_queue, faults, selectors, sync, sync_feeds, tasks
from invoices import preflight as preflight_module
from invoices.models import Invoice, InvoiceDeal, InvoiceEvent, InvoiceLine
from tenants.scoping import company_scope
from tests.invoices.test_create import a_draft, qbo_invoice_count


def _numeric_overflow():
    """What PostgreSQL answers for a unit price beyond InvoiceLine.unit_price (18 digits, 7 places)."""
    if db.vendor == "postgresql":
        with db.cursor() as cursor:
            cursor.execute("SELECT CAST(%s AS numeric(18, 7))", ["1e30"])
    raise DataError("numeric field overflow")


class Boom(RuntimeError):
    pass


def _raise_at(step_wanted: str, error):
    def fault(step: str) -> None:
        if step == step_wanted:
            if callable(error):
                error()
            raise error

    return fault


def _elapse(invoice_ids=None) -> None:
    """Let the retry delay and any claim run out, as the clock would (the sweeper's view of time)."""
    past = timezone.now() - dt.timedelta(minutes=10)
    rows = Invoice.all_companies.filter(state=Invoice.State.PENDING)
    if invoice_ids:
        rows = rows.filter(pk__in=invoice_ids)
    rows.exclude(next_attempt_at=None).update(next_attempt_at=past, claimed_until=None)
    rows.filter(next_attempt_at=None).update(updated_at=past, claimed_until=None)


def _sweep() -> int:
    """One beat tick of the healer (tasks run inline in tests)."""
    return tasks.resubmit_stuck()


def _create(connected, personas, key, draft=None):
    with company_scope(connected.company):
        return create.invoice_create(
            connection=connected, draft=draft or a_draft(), actor=personas.alice_membership, idempotency_key=key
        )


def _deal_summary(connected, deal_id=501):
    with company_scope(connected.company):
        invoices = selectors.invoices_of_deal(company=connected.company, connection=connected, deal_id=deal_id)
        return selectors.summary(invoices, today=dt.date(2026, 11, 28))


def _assert_final(connected, before, *, key, created: bool):
    """One QBO invoice (or none), one row in a final state, the deal's summary counting it once."""
    rows = list(Invoice.all_companies.filter(connection=connected))
    if not created:
        assert qbo_invoice_count(connected) == before
        assert rows == [] or all(r.state == Invoice.State.FAILED and r.last_error for r in rows)
        assert _deal_summary(connected) == []
        return None
    assert qbo_invoice_count(connected) == before + 1
    assert len(rows) == 1, [(r.pk, r.qbo_id, r.state) for r in rows]
    invoice = rows[0]
    assert str(invoice.request_id) == key
    assert invoice.state == Invoice.State.CREATED and invoice.qbo_id
    assert InvoiceDeal.all_companies.filter(invoice=invoice, deal_id=501).exists()
    assert _deal_summary(connected) == [
        {"currency": "USD", "outstanding": "222.00", "overdue": "0.00", "paid": "0.00", "total": "222.00"}
    ]
    return invoice


# -- a fault at every step -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "error", "outcome"),
    [
        # Nothing committed: the caller gets the error, nothing exists anywhere.
        ("before_intent_commit", Boom("crash"), "refused"),
        # Intent committed, then a bug before QBO is called: the intent is dropped, nothing sent.
        ("after_intent", Boom("crash"), "refused"),
        # Intent committed, then our database blinks: pending, the sweeper sends it.
        ("after_intent", OperationalError("server closed the connection"), "pending"),
        ("before_send", OperationalError("server closed the connection"), "pending"),
        ("before_send", Boom("crash"), "pending"),
        # QBO wrote the invoice, the answer is lost (or we crash reading it): the retry replays it.
        ("after_qbo", ConnectionResetError("reset by peer"), "pending"),
        ("after_qbo", Boom("crash"), "pending"),
        # Storing QBO's answer fails (numeric overflow on PostgreSQL): created, identity stored.
        ("during_write", _numeric_overflow, "created"),
    ],
)
def test_a_fault_at_every_step_of_the_create_ends_in_a_final_state(
    qbo, connected, personas, monkeypatch, step, error, outcome
):
    before = qbo_invoice_count(connected)
    key = str(uuid.uuid4())
    monkeypatch.setattr(faults, "step", _raise_at(step, error))
    if outcome == "refused":
        with pytest.raises(Boom):
            _create(connected, personas, key)
    else:
        answer = _create(connected, personas, key)
        assert answer.state == outcome
        if outcome == "pending":
            # The user is told; the next attempt is soon (first backoff ≤ 30 s).
            assert answer.last_error and answer.next_attempt_at is not None
            assert answer.next_attempt_at <= timezone.now() + dt.timedelta(seconds=31)
    monkeypatch.setattr(faults, "step", lambda step: None)  # the fault is over
    _elapse()
    _sweep()
    invoice = _assert_final(connected, before, key=key, created=outcome != "refused")
    if invoice is None:
        return
    # A retry with the same key answers the final state at once, never 202 "pending" again.
    again = _create(connected, personas, key)
    assert (again.pk, again.state) == (invoice.pk, Invoice.State.CREATED)
    if step == "during_write":
        assert "could not be stored" in invoice.last_error
        assert not InvoiceLine.all_companies.filter(invoice=invoice).exists()
    else:
        assert InvoiceLine.all_companies.filter(invoice=invoice).count() == 2
        kinds = list(InvoiceEvent.all_companies.filter(invoice=invoice).values_list("kind", flat=True))
        assert kinds.count("created") == 1


def test_a_failure_inside_the_qbo_call_replays_the_same_request(qbo, connected, personas, monkeypatch):
    """The QBO create raises after QBO wrote it (the answer was lost in transit)."""
    before = qbo_invoice_count(connected)
    real_send = create_queue.send_to_qbo
    calls = []

    def send_then_lose_the_answer(**kwargs):
        result = real_send(**kwargs)
        calls.append(1)
        if len(calls) == 1:
            raise TransientError("connection reset while reading the answer")
        return result

    monkeypatch.setattr(create_queue, "send_to_qbo", send_then_lose_the_answer)
    key = str(uuid.uuid4())
    assert _create(connected, personas, key).state == "pending"
    _elapse()
    _sweep()
    _assert_final(connected, before, key=key, created=True)


def test_the_webhook_before_our_write_makes_no_twin(qbo, connected, personas, monkeypatch):
    """The creating process dies after QBO wrote the invoice; QBO's webhook (or CDC) arrives
    first: the import attaches to the pending intent, never a second "Found in QuickBooks" row."""
    before = qbo_invoice_count(connected)
    controls.set_webhook_format(realm_id=qbo.us_realm, fmt="off")
    key = str(uuid.uuid4())
    monkeypatch.setattr(faults, "step", _raise_at("after_qbo", Boom("killed")))
    pending = _create(connected, personas, key)
    assert pending.state == "pending" and not pending.qbo_id
    monkeypatch.setattr(faults, "step", lambda step: None)
    Invoice.all_companies.filter(pk=pending.pk).update(claimed_until=None)  # its process is gone
    with company_scope(connected.company):
        synced = sync_feeds.connection_cdc_sync(connection=connected)
    assert synced >= 1
    rows = list(Invoice.all_companies.filter(connection=connected))
    assert [(r.pk, r.state) for r in rows] == [(pending.pk, "pending")]
    assert rows[0].qbo_id  # attached: the user sees one row, on the deal
    assert _deal_summary(connected) == []  # not counted twice, nor before it is created
    # The healer finishes it now (due at once), replaying the requestid.
    assert _sweep() == 1
    _assert_final(connected, before, key=key, created=True)
    assert InvoiceLine.all_companies.filter(invoice=rows[0]).count() == 2


# -- retries: never dropped while transient, failures answered as failures -------------------------


def _intent(connected, personas):
    with company_scope(connected.company):
        return create_queue.record_intent(
            connection=connected, draft=a_draft(), actor=personas.alice_membership, key=uuid.uuid4()
        )


def test_throttling_never_drops_an_accepted_create(qbo, connected, personas):
    invoice = _intent(connected, personas)
    delays = []
    for _attempt in range(30):  # far past the old budget of 12
        started = timezone.now()
        with company_scope(connected.company):
            invoice = create_queue.record_attempt(
                invoice_id=invoice.pk,
                error=RateLimited("throttled", retry_after=60),
                kind=create_queue.TRANSIENT,
            )
        delays.append((invoice.next_attempt_at - started).total_seconds())
    assert invoice.state == "pending" and invoice.attempts == 30
    assert min(delays) >= 59  # a 429 backs off at least as long as asked
    assert max(delays) <= create_queue.RETRY_MAX_SECONDS + 1  # capped
    assert delays[-1] > delays[0]  # and grows
    assert invoice.last_error.startswith("Delayed")  # the user is told it is delayed


def test_an_unexplained_error_ends_visibly_after_a_few_attempts(qbo, connected, personas):
    invoice = _intent(connected, personas)
    for _attempt in range(create_queue.MAX_UNEXPECTED_ATTEMPTS):
        with company_scope(connected.company):
            invoice = create_queue.record_attempt(
                invoice_id=invoice.pk, error=Boom("bug"), kind=create_queue.UNEXPECTED
            )
    assert invoice.state == "failed" and invoice.last_error == "bug"
    assert InvoiceEvent.all_companies.filter(invoice=invoice, kind="create_failed").count() == 1


def test_a_resubmitted_failed_key_answers_the_failure_not_202(qbo, connected, personas, monkeypatch):
    from integration.errors import PermanentError
    from tests.invoices.test_panel_api import DRAFT, panel

    alice = panel(personas.alice_membership)
    key = str(uuid.uuid4())
    body = {"draft": {**DRAFT, "due_date": "2026-12-27"}, "idempotency_key": key}

    def refused(**kwargs):  # QuickBooks refuses the invoice itself (a permanent 400)
        raise PermanentError("Invalid Reference Id: Item assigned to this transaction has been deleted")

    monkeypatch.setattr(create_queue, "send_to_qbo", refused)
    first = alice.post("/api/v1/deals/501/invoices", body, format="json")
    again = alice.post("/api/v1/deals/501/invoices", body, format="json")
    for response in (first, again):
        assert response.status_code == 400, response.content
        assert response.json()["error"]["code"] == "create_failed"
    invoice = Invoice.all_companies.get(request_id=key)
    assert invoice.state == "failed" and invoice.last_error


# -- no waiting in a request ------------------------------------------------------------------------


def test_a_repeated_key_never_waits_for_the_first_request(qbo, connected, personas):
    key = str(uuid.uuid4())
    intent = _intent(connected, personas)
    Invoice.all_companies.filter(pk=intent.pk).update(request_id=key)  # claimed by a live request
    started = time.monotonic()
    answer = _create(connected, personas, key)
    assert time.monotonic() - started < 1.0
    assert (answer.pk, answer.state) == (intent.pk, "pending")


def _slow_invoice_write(qbo, monkeypatch, *, seconds: float) -> None:
    """Pre-flight reads are answered at once; then QuickBooks takes `seconds` over the invoice
    write (and still writes it, like a slow Intuit: the sandbox's "timeout" fault)."""
    real_preflight = preflight_module.preflight

    def preflight_then_slow(**kwargs):
        checked = real_preflight(**kwargs)
        controls.inject_failure(kind="timeout", count=1, realm_id=qbo.us_realm, delay_seconds=seconds)
        return checked

    monkeypatch.setattr(preflight_module, "preflight", preflight_then_slow)


@pytest.mark.parametrize("surface", ["panel", "reverse"])
def test_a_create_against_a_slow_quickbooks_answers_202_within_seconds_and_is_created_once(
    qbo, connected, personas, settings, monkeypatch, surface, sandbox_base_url
):
    """The write takes 10 s at QuickBooks (each call may take HTTP_TIMEOUT_SECONDS = 20 s): the web
    request answers 202 with the pending intent at its deadline; the worker finishes the create with
    the same requestid while QuickBooks is still busy with the first write: one invoice."""
    from tests.invoices.test_create import wait_until_the_sandbox_is_idle

    settings.INVOICE_CREATE_WAIT_SECONDS = 3
    scheduled = []
    monkeypatch.setattr(create_queue, "schedule_retry", lambda **kw: scheduled.append(kw))
    before = qbo_invoice_count(connected)
    _slow_invoice_write(qbo, monkeypatch, seconds=10)
    key = str(uuid.uuid4())
    started = time.monotonic()
    if surface == "panel":
        from tests.invoices.test_panel_api import DRAFT, panel

        answer = panel(personas.alice_membership).post(
            "/api/v1/deals/501/invoices",
            {"draft": {**DRAFT, "due_date": "2026-12-27"}, "idempotency_key": key},
            format="json",
        )
    else:
        answer = _reverse_post_invoice(personas, key)
    elapsed = time.monotonic() - started
    assert answer.status_code == 202, answer.content
    assert elapsed < 5, elapsed
    invoice = Invoice.all_companies.get(connection=connected, request_id=key)
    if surface == "panel":
        # The client is not kept waiting: it polls the intent's URL for the outcome.
        from tests.invoices.test_panel_api import panel

        poll_url = answer["Location"]
        assert poll_url == f"/api/v1/invoices/{invoice.pk}"
        polled = panel(personas.alice_membership).get(poll_url)
        assert polled.status_code == 200 and polled.json()["state"] == "pending"
    assert invoice.state == Invoice.State.PENDING and invoice.attempts == 0  # handed over, not a failure
    assert "background" in invoice.last_error
    assert invoice.next_attempt_at <= timezone.now() + dt.timedelta(seconds=create_queue.HANDOVER_SECONDS + 1)
    assert [s["invoice_id"] for s in scheduled] == [invoice.pk]
    assert scheduled[0]["delay"] <= create_queue.HANDOVER_SECONDS
    # The worker runs the task now, while QuickBooks is still writing the first request.
    with company_scope(connected.company):
        assert tasks.submit_invoice.apply(kwargs={k: scheduled[0][k] for k in ("company_id", "invoice_id")}).get() == (
            "created"
        )
    wait_until_the_sandbox_is_idle()  # the slow first write lands late: it replays, never duplicates
    assert qbo_invoice_count(connected) == before + 1
    done = Invoice.all_companies.get(pk=invoice.pk)
    assert done.state == Invoice.State.CREATED and done.qbo_id
    assert Invoice.all_companies.filter(connection=connected).count() == 1
    if surface == "panel":
        polled = panel(personas.alice_membership).get(poll_url).json()
        assert (polled["state"], polled["qbo_id"]) == ("created", done.qbo_id)
    kinds = list(InvoiceEvent.all_companies.filter(invoice=done).order_by("id").values_list("kind", flat=True))
    assert kinds == ["create_pending", "created"]


def _reverse_post_invoice(personas, key):
    """Pipedrive's backend calling the reverse API's postInvoice for company A, as Alice."""
    from integration.quickbooks.models import QuickBooksConnection
    from tests.extension.conftest import Pipedrive
    from tests.extension.test_contract import CREATE

    link_id = QuickBooksConnection.all_companies.get(company=personas.company_a).link_id
    return Pipedrive(link_id, user_id=11).post(":linkId/invoices", CREATE, headers={"Idempotency-Key": key}, dealId=1)


def test_a_create_against_a_fast_quickbooks_still_answers_201(qbo, connected, personas, settings):
    from tests.invoices.test_panel_api import DRAFT, panel

    settings.INVOICE_CREATE_WAIT_SECONDS = 3
    answer = panel(personas.alice_membership).post(
        "/api/v1/deals/501/invoices",
        {"draft": {**DRAFT, "due_date": "2026-12-27"}, "idempotency_key": str(uuid.uuid4())},
        format="json",
    )
    assert answer.status_code == 201, answer.content


def test_a_worker_is_not_bound_by_the_request_deadline(qbo, connected, personas, settings, monkeypatch):
    """Background work (a task, the won-deal automation) waits for QuickBooks as each call allows."""
    from integration.quickbooks.limiter import background_waits

    settings.INVOICE_CREATE_WAIT_SECONDS = 0.5
    _slow_invoice_write(qbo, monkeypatch, seconds=2)
    with background_waits():
        invoice = _create(connected, personas, str(uuid.uuid4()))
    assert invoice.state == Invoice.State.CREATED


def test_a_limiter_wait_never_outlasts_the_requests_deadline():
    """The create's deadline (INVOICE_CREATE_WAIT_SECONDS) bounds the wait for a slot too: the
    request answers (202, a worker goes on) instead of sleeping past it."""
    from integration import http
    from integration.quickbooks.limiter import LimiterConfig, LocalLimiter

    limiter = LocalLimiter(LimiterConfig(per_window=1000, max_in_flight=1, max_wait_seconds=5))
    limiter.acquire("realm")  # the one slot, held
    started = time.monotonic()
    with http.deadline(0.2), pytest.raises(RateLimited):
        limiter.acquire("realm")
    assert time.monotonic() - started < 1.0


def test_a_web_request_waits_briefly_for_a_limiter_slot_then_gets_503(settings):
    from integration.quickbooks.limiter import LimiterConfig, LocalLimiter, background_waits

    limiter = LocalLimiter(LimiterConfig(per_window=1000, max_in_flight=1, max_wait_seconds=0.3))
    limiter.acquire("realm")  # the one slot, held
    started = time.monotonic()
    with pytest.raises(RateLimited) as refused:
        limiter.acquire("realm")
    assert time.monotonic() - started < 1.0 and refused.value.retry_after
    limiter.config.background_wait_seconds = 0.8
    started = time.monotonic()
    with background_waits(), pytest.raises(RateLimited):
        limiter.acquire("realm")
    assert time.monotonic() - started >= 0.7  # background work waits longer


def test_an_outage_of_our_database_answers_503_json(qbo, connected, personas, monkeypatch):
    from invoices import panel_reads
    from tests.invoices.test_panel_api import panel

    def down(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(panel_reads, "_statement", down)
    response = panel(personas.alice_membership).get("/api/v1/deals/501/invoices")
    assert response.status_code == 503 and response["Retry-After"]
    assert response.json()["error"]["code"] == "temporarily_unavailable"


# -- webhooks with the broker down --------------------------------------------------------------


def test_webhooks_are_stored_and_answered_200_with_the_broker_down(qbo, connected, personas, monkeypatch, client):
    from kombu.exceptions import OperationalError as BrokerDown

    from integration.models import WebhookDelivery

    invoice = _create(connected, personas, str(uuid.uuid4()))

    def broker_down(*args, **kwargs):
        raise BrokerDown("Error 111 connecting to redis. Connection refused.")

    monkeypatch.setattr(tasks.process_quickbooks_webhook, "delay", broker_down)
    controls.record_payment(realm_id=qbo.us_realm, invoice_id=invoice.qbo_id)  # the sandbox POSTs the webhook
    delivery = WebhookDelivery.objects.order_by("-pk").first()
    assert delivery is not None and delivery.processed_at is None
    deliveries = controls.webhook_deliveries(realm_id=qbo.us_realm)
    assert deliveries[0].status_code == 200, deliveries[0]
    invoice.refresh_from_db()
    assert invoice.status == "open"  # nothing processed yet
    WebhookDelivery.objects.filter(pk=delivery.pk).update(received_at=timezone.now() - dt.timedelta(minutes=1))
    assert tasks.process_stale_webhooks() >= 1
    invoice.refresh_from_db()
    assert invoice.status == "paid"
    delivery.refresh_from_db()
    assert delivery.processed_at is not None


def test_the_healer_catches_up_after_an_outage(qbo, connected, personas, monkeypatch):
    """No tick for a while (database, Redis or workers away): the next one runs a catch-up CDC."""
    from django.core.cache import cache

    swept = []
    monkeypatch.setattr(tasks, "cdc_sweep", lambda: swept.append(1) or 1)
    cache.delete(tasks.HEAL_KEY)
    assert tasks.heal()["catch_up"] == 1  # first tick after a restart
    assert tasks.heal()["catch_up"] == 0  # regular ticks: no extra sync
    cache.set(tasks.HEAL_KEY, timezone.now().timestamp() - 300)
    assert tasks.heal()["catch_up"] == 1
    assert len(swept) == 2


# -- CDC beyond 1,000 objects ------------------------------------------------------------------


def test_cdc_reads_every_change_beyond_the_1000_object_cap(qbo, connected, settings, monkeypatch):
    from integration.sandbox.quickbooks import api as sandbox_api

    # The same rule at a smaller scale, so the test takes seconds: the sandbox caps a CDC answer at
    # CDC_MAX_OBJECTS (Intuit: 1,000) and our sync knows the same cap.
    monkeypatch.setattr(sandbox_api, "CDC_MAX_OBJECTS", 40)
    monkeypatch.setattr(sync_feeds, "CDC_MAX_OBJECTS", 40)
    CDC_MAX_OBJECTS = 40
    with company_scope(connected.company):
        sync_feeds.connection_cdc_sync(connection=connected)  # the cursor is now
    line = [
        {
            "Amount": 10.0,
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": "2"}, "Qty": 1, "UnitPrice": 10},
        }
    ]
    controls.advance_clock(seconds=120)
    typed = [
        controls.create_invoice(realm_id=qbo.us_realm, customer_id="3", TxnDate="2026-11-20", lines=line)
        for _n in range(CDC_MAX_OBJECTS + 50)
    ]
    paid = controls.record_payment(realm_id=qbo.us_realm, invoice_id=typed[0]["Id"])
    assert paid
    with company_scope(connected.company):
        sync_feeds.connection_cdc_sync(connection=connected)
    ids = {str(t["Id"]) for t in typed}
    stored = set(Invoice.all_companies.filter(connection=connected, qbo_id__in=ids).values_list("qbo_id", flat=True))
    assert len(stored) == len(ids)  # none of the 1,050 dropped
    assert Invoice.all_companies.get(connection=connected, qbo_id=typed[0]["Id"]).status == "paid"


def _typed_line(amount) -> list[dict]:
    return [
        {
            "Amount": amount,
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": "2"}, "Qty": 1, "UnitPrice": amount},
        }
    ]


def test_an_invoice_typed_in_quickbooks_beyond_our_columns_never_fails_the_batch(qbo, connected, personas, caplog):
    """A total typed in QuickBooks beyond numeric(18, 2) overflowed on PostgreSQL and the CDC (or
    webhook) batch failed for every invoice in it. Now that invoice is skipped (a new one) or keeps
    its stored amounts and says why (a known one); the batch goes on. Meaningful on PostgreSQL."""
    ours = _create(connected, personas, str(uuid.uuid4()))
    assert ours.state == Invoice.State.CREATED
    with company_scope(connected.company):
        sync_feeds.connection_cdc_sync(connection=connected)  # the cursor is now
    controls.advance_clock(seconds=120)
    huge = controls.create_invoice(
        realm_id=qbo.us_realm, customer_id="3", TxnDate="2026-11-20", lines=_typed_line(1e20)
    )
    normal = controls.create_invoice(
        realm_id=qbo.us_realm, customer_id="3", TxnDate="2026-11-20", lines=_typed_line(10.0)
    )
    # Our own invoice, edited in QuickBooks to a total beyond our columns.
    controls.edit_invoice(realm_id=qbo.us_realm, invoice_id=ours.qbo_id, changes={"Line": _typed_line(5e17)})
    assert Decimal(str(huge["TotalAmt"])) > Decimal("1e16")
    with company_scope(connected.company):
        sync_feeds.connection_cdc_sync(connection=connected)  # does not raise
        # The webhook path (a targeted re-read of the same ids) goes on too.
        applied = sync.invoices_refetch(connection=connected, qbo_ids=[huge["Id"], normal["Id"], ours.qbo_id])
    assert len(applied) == 3
    assert Invoice.all_companies.filter(connection=connected, qbo_id=normal["Id"]).exists()
    assert not Invoice.all_companies.filter(connection=connected, qbo_id=huge["Id"]).exists()
    kept = Invoice.all_companies.get(pk=ours.pk)
    assert kept.total == ours.total and kept.state == Invoice.State.CREATED
    assert "TotalAmt" in kept.last_error and "beyond what can be stored" in kept.last_error
    assert any("not stored" in r.getMessage() and huge["Id"] in r.getMessage() for r in caplog.records)


def test_a_created_answer_beyond_our_columns_is_stored_by_its_identity(qbo, connected, personas, monkeypatch):
    """Our own create whose QuickBooks answer cannot be stored (a total QBO computed beyond our
    columns) still ends created, once, with the reason, not a crash."""
    real = sync.copy_qbo_fields

    def huge_answer(*, invoice, connection, data, deleted=False):
        return real(invoice=invoice, connection=connection, data={**data, "TotalAmt": "1e25"}, deleted=deleted)

    monkeypatch.setattr(sync, "copy_qbo_fields", huge_answer)
    invoice = _create(connected, personas, str(uuid.uuid4()))
    assert invoice.state == Invoice.State.CREATED and invoice.qbo_id
    assert "could not be stored" in Invoice.all_companies.get(pk=invoice.pk).last_error


def test_payments_beyond_our_columns_are_skipped_not_the_batch(db, caplog):
    from invoices import payments

    line = {"Amount": "1e999999999", "LinkedTxn": [{"TxnId": "1", "TxnType": "Invoice"}]}
    data = {"Id": "77", "Line": [line, {**line, "Amount": "NaN"}]}
    assert payments.payment_store(connection=None, data=data) == 0  # skipped before anything is written
    assert any("payment 77 not stored" in r.getMessage() for r in caplog.records)


# -- retention ------------------------------------------------------------------------------------


def test_retention_prunes_logs_and_keeps_the_audit_trail(db, settings):
    from integration.models import ApiCall, WebhookDelivery, WebhookEvent
    from tenants.models import AuditLog

    old = timezone.now() - dt.timedelta(days=400)
    ApiCall.objects.create(service="quickbooks", method="GET", path="/x", duration_ms=1)
    ApiCall.objects.filter(
        pk=ApiCall.objects.create(service="quickbooks", method="GET", path="/old", duration_ms=1).pk
    ).update(created_at=old)
    done = WebhookDelivery.objects.create(service="quickbooks", body=b"{}", processed_at=old)
    WebhookEvent.objects.create(
        delivery=done, event_id="e1", realm_id="1", entity="Invoice", entity_id="1", operation="Update"
    )
    unprocessed = WebhookDelivery.objects.create(service="quickbooks", body=b"{}")
    WebhookDelivery.objects.filter(pk__in=[done.pk, unprocessed.pk]).update(received_at=old)
    job = AuditLog.objects.create(action="retry_invoice", status=AuditLog.Status.DONE, results=[{"id": 1, "ok": True}])
    AuditLog.objects.filter(pk=job.pk).update(finished_at=old)
    outcome = tasks.prune_logs()
    assert outcome == {"api_calls": 1, "webhook_rows": 2, "support_jobs_trimmed": 1}
    assert list(ApiCall.objects.values_list("path", flat=True)) == ["/x"]
    assert list(WebhookDelivery.objects.values_list("pk", flat=True)) == [unprocessed.pk]  # kept for support
    job.refresh_from_db()
    assert job.results == [] and job.action == "retry_invoice"  # the audit row stays
    assert settings.RETENTION_API_CALLS_DAYS > 0 and settings.RETENTION_WEBHOOKS_DAYS > 0


# -- amounts --------------------------------------------------------------------------------------


def test_identity_only_store_still_counts_the_expected_amount(qbo, connected, personas, monkeypatch):
    monkeypatch.setattr(faults, "step", _raise_at("during_write", _numeric_overflow))
    invoice = _create(connected, personas, str(uuid.uuid4()))
    assert invoice.state == "created"
    invoice.refresh_from_db()
    assert (invoice.total, invoice.balance) == (Decimal("222.00"), Decimal("222.00"))


def test_a_webhook_while_our_database_is_down_answers_503_json(db, client, settings, monkeypatch):
    """Nothing could be stored, so Intuit must deliver again: a 503 it retries, never an HTML 500."""
    import base64
    import hashlib
    import hmac
    import json

    def down(**kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(sync_feeds, "webhook_record", down)
    body = json.dumps({"eventNotifications": []}).encode()
    token = settings.QBO_WEBHOOK_VERIFIER_TOKEN.encode()
    signature = base64.b64encode(hmac.new(token, body, hashlib.sha256).digest()).decode()
    response = client.post(
        "/webhooks/quickbooks", body, content_type="application/json", headers={"intuit-signature": signature}
    )
    assert response.status_code == 503 and response["Retry-After"]
    assert response.json() == {"error": "temporarily unavailable"}
