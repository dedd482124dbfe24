"""The history in the reader's language at its edges (issue 14; a review's findings, each failing on
the first version): our own reasons said by an English worker (delayed and failed creates), an old
row's malformed data (never a 500), event data kept small (it rides along in every panel read), and
no duplicate deal note when its author's language changed between attempts."""

from __future__ import annotations

import orjson
import pytest
import requests
from django.utils import timezone, translation
from django.utils.translation import gettext, gettext_noop

from integration.errors import PermanentError, TransientError, said
from integration.quickbooks import errors as qbo_errors
from invoices import create_queue, event_text, panel_reads
from invoices.models import Invoice, InvoiceEvent
from tenants.models import Membership
from tenants.scoping import company_scope
from tests.integration.quickbooks.conftest import connected, link_calls, qbo  # noqa: F401
from tests.invoices import test_draft
from tests.invoices.test_panel_api import panel
from tests.personas import add_invoices

installed = test_draft.installed  # Alice installed the app in the Pipedrive sandbox

pytestmark = pytest.mark.django_db


def _speaks(membership: Membership, language: str) -> None:
    Membership.all_companies.filter(pk=membership.pk).update(pipedrive_language=language)
    panel_reads.forget_seats()


def _row(membership, deal_id: int) -> dict:
    response = panel(membership).get(f"/api/v1/deals/{deal_id}/invoices")
    assert response.status_code == 200, response.content[:500]
    [row] = response.json()["invoices"]
    return row


def _pending(personas, *, attempts: int) -> Invoice:
    Invoice.all_companies.filter(pk=personas.invoice_a.pk).update(
        state=Invoice.State.PENDING, attempts=attempts, last_error=""
    )
    return Invoice.all_companies.get(pk=personas.invoice_a.pk)


def _worker_attempt(personas, *, error: Exception, kind: str) -> Invoice:
    """What a Celery retry does: no member, the worker's default language (English)."""
    with translation.override("en"), company_scope(personas.company_a):
        return create_queue.record_attempt(invoice_id=personas.invoice_a.pk, error=error, kind=kind)


# -- 1. lines still in the writer's language ---------------------------------------------------


def test_a_delayed_creates_reason_of_ours_is_not_shown_in_the_workers_english(personas):
    """The third failed attempt says "Delayed: … (attempt 3: <reason>)"; the reason is our own
    translated sentence (integration/quickbooks/errors.py: "QuickBooks is unavailable (HTTP 503); try
    again later."), frozen in the worker's English inside `args["reason"]`. A Ukrainian rep reads a
    Ukrainian sentence with an English one inside it, in the history and in the panel's error line."""
    add_invoices(personas)
    _pending(personas, attempts=2)
    with translation.override("en"):  # a 503 as the QuickBooks client maps it, on a worker
        answer = requests.Response()
        answer.status_code, answer._content = 503, b""
        error = qbo_errors.error_for_response(answer)
    assert isinstance(error, TransientError)
    _worker_attempt(personas, error=error, kind=create_queue.TRANSIENT)
    _speaks(personas.alice_membership, "uk-UA")
    row = _row(personas.alice_membership, personas.deal_a)
    with translation.override("uk"):
        ukrainian_reason = gettext("QuickBooks is unavailable (HTTP %s); try again later.") % 503
    assert "QuickBooks is unavailable" not in row["history"][0]["message"], row["history"][0]["message"]
    assert ukrainian_reason in row["last_error"], row["last_error"]


def test_a_failed_creates_problem_of_ours_reads_in_the_readers_language(personas):
    """A retry on a worker re-runs the pre-flight checks (create_queue.invoice_submit) and fails with
    their messages joined: our own texts, translated in every catalogue, but stored in the worker's
    English as free-form "QuickBooks' own words". The panel shows a failed create's last_error."""
    add_invoices(personas)
    _pending(personas, attempts=0)
    problem = "The invoice needs at least one line."
    with translation.override("en"):  # as create_queue.invoice_submit raises pre-flight problems
        messages = [said(gettext_noop(problem)), said(gettext_noop("This tax code does not exist."))]
        error = PermanentError("; ".join(messages), parts=messages)
    _worker_attempt(personas, error=error, kind=create_queue.PERMANENT)
    _speaks(personas.alice_membership, "uk-UA")
    with translation.override("uk"):
        ukrainian = gettext(problem)
        both = f"{ukrainian}. {gettext('This tax code does not exist.')}"
    assert ukrainian != problem
    row = _row(personas.alice_membership, personas.deal_a)
    assert row["state"] == "failed"
    assert row["last_error"] == both, row["last_error"]
    assert row["history"][0]["message"] == both, row["history"][0]["message"]
    # QuickBooks' own words on a failed create stay as they came
    with translation.override("en"):
        _worker_attempt(personas, error=PermanentError("Business Validation Error: x"), kind=create_queue.PERMANENT)
    row = _row(personas.alice_membership, personas.deal_a)
    assert row["last_error"] == row["history"][0]["message"] == "Business Validation Error: x"


# -- 2. malformed data never 500s --------------------------------------------------------------


@pytest.mark.parametrize(
    "data",
    [
        {"from": ["open"], "to": "paid"},  # an unhashable status code: `in dict` raises TypeError
        {"from": "open", "to": {"code": "paid"}},
    ],
)
def test_an_old_status_row_with_malformed_data_shows_its_message_not_a_500(personas, data):
    add_invoices(personas)
    InvoiceEvent.all_companies.create(
        company=personas.company_a, invoice=personas.invoice_a, kind="status_changed", message="as stored", data=data
    )
    _speaks(personas.alice_membership, "uk-UA")
    assert _row(personas.alice_membership, personas.deal_a)["history"][0]["message"] == "as stored"
    with translation.override("uk"):
        assert event_text.render("status_changed", "as stored", data) == "as stored"


# -- 5. what rides along in every panel read ---------------------------------------------------


def test_an_unexpected_errors_reason_is_bounded_in_the_events_data(personas):
    """An unexpected exception's text (an SQL error with its statement, a library's repr) goes into
    `args["reason"]` of the "delayed" part untruncated (message is cut at 500, data["error"] at 300),
    and the panel's fast read now carries `h.data` of 20 events for each of 25 invoices."""
    add_invoices(personas)
    _pending(personas, attempts=2)
    _worker_attempt(personas, error=RuntimeError("x" * 100_000), kind=create_queue.UNEXPECTED)
    event = InvoiceEvent.all_companies.filter(invoice_id=personas.invoice_a.pk).latest("id")
    assert event.kind == InvoiceEvent.Kind.CREATE_PENDING
    assert len(orjson.dumps(event.data)) < 2_000, len(orjson.dumps(event.data))


# -- 4. deal notes: the retry's duplicate check ------------------------------------------------


def test_a_retry_after_a_lost_answer_finds_the_note_though_its_author_changed_language(request, installed, personas):
    """`_already_written` looks for the headline in the author's language at retry time: a member who
    switched language (or a retry that falls back to the owner's access, in another language) between
    the lost answer and the retry writes the note a second time on the deal."""
    from invoices.deal_notes import deal_note_write
    from invoices.models import DealNote
    from tests.invoices.test_create import a_draft, create
    from tests.invoices.test_loop_friction import deal_notes

    connection = request.getfixturevalue("connected")  # the QuickBooks sandbox, company A connected
    invoice = create(connection, personas, draft=a_draft(deal_id=1))
    assert len(deal_notes(1)) == 1  # written in English
    note = DealNote.all_companies.get(invoice=invoice)
    Membership.all_companies.filter(pk=installed.membership_id).update(language="uk")
    # Pipedrive wrote it but the answer was lost: the row still says pending
    DealNote.all_companies.filter(pk=note.pk).update(state="pending", next_attempt_at=timezone.now())
    deal_note_write(note_id=note.pk)
    note.refresh_from_db()
    assert note.state == "written"
    assert len(deal_notes(1)) == 1, deal_notes(1)
