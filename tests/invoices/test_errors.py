"""One mapping of our errors to HTTP answers: the panel API and the reverse API agree."""

from __future__ import annotations

import json

import pytest

from integration.errors import AuthRevoked, PermanentError, TransientError
from invoices.errors import ActionNotAllowed, InvoiceError, integration_error_answer, invoice_error_answer
from invoices.extension.errors import from_integration_error, from_invoice_error


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (InvoiceError("QuickBooks needs reconnecting.", code="needs_reconnect"), 409, "needs_reconnect"),
        (InvoiceError("Bad input.", code="invalid"), 400, "invalid"),
        (ActionNotAllowed("Not in this state.", code="not_allowed"), 403, "not_allowed"),
    ],
)
def test_an_invoice_error_answers_the_same_on_both_surfaces(error, status, code):
    answer = invoice_error_answer(error)
    assert (answer.status, answer.code) == (status, code)
    reverse = from_invoice_error(error).response()
    assert reverse.status_code == status
    assert json.loads(reverse.content)["errorCode"] == code


@pytest.mark.parametrize(
    ("error", "status", "code"),
    [
        (AuthRevoked("revoked", service="quickbooks"), 409, "needs_reconnect"),
        (TransientError("down", service="quickbooks"), 503, "quickbooks_unavailable"),
        (PermanentError("refused", service="quickbooks", code="6000"), 400, "6000"),
        (PermanentError("no installation", service="pipedrive", code="not_installed"), 409, "not_installed"),
    ],
)
def test_an_integration_error_answers_the_same_on_both_surfaces(error, status, code):
    answer = integration_error_answer(error)
    assert (answer.status, answer.code) == (status, code)
    reverse = from_integration_error(error).response()
    assert (reverse.status_code, json.loads(reverse.content)["errorCode"]) == (status, code)


def test_the_owner_is_told_to_reconnect_and_others_to_ask():
    error = AuthRevoked("revoked", service="quickbooks")
    assert "reconnect it in Settings" in integration_error_answer(error, may_reconnect=True).message
    assert "Ask the connection owner" in integration_error_answer(error).message
