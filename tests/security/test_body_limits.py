"""Request body limits and JSON nesting on the panel API, the reverse API and the webhook (issue 17),
answered in each surface's JSON envelope rather than Django's HTML 400."""

from __future__ import annotations

import pytest

from integration.models import WebhookDelivery
from integration.sandbox.quickbooks.webhooks import sign
from invoices.models import Invoice
from tests.invoices.test_panel_api import panel


@pytest.fixture
def small_limits(settings):
    settings.REQUEST_BODY_LIMITS = {"api": 1000, "extension": 1000, "webhook": 1000}


def padded(size: int) -> bytes:
    return b'{"pad": "' + b"x" * size + b'"}'


def test_panel_api_body_limit(small_limits, personas):
    response = panel(personas.alice_membership).generic(
        "POST", "/api/v1/deals/501/invoices", padded(2000), content_type="application/json"
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "body_too_large"
    assert set(response.json()["error"]) == {"code", "message", "fields"}
    assert not Invoice.all_companies.exists()


def test_reverse_api_body_limit(small_limits, pipedrive):
    response = pipedrive.client.generic(
        "POST", pipedrive.url(":linkId/invoices"), padded(2000), content_type="application/json"
    )
    assert response.status_code == 413
    body = response.json()
    assert (body["success"], body["errorCode"]) == (False, "body_too_large")
    assert not Invoice.all_companies.exists()


def test_webhook_body_limit(small_limits, client, db):
    body = padded(2000)
    response = client.post(
        "/webhooks/quickbooks", body, content_type="application/json", headers={"intuit-signature": sign(body)}
    )
    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"
    assert not WebhookDelivery.objects.exists()


def test_bodies_under_the_limit_pass(small_limits, personas):
    response = panel(personas.alice_membership).post("/api/v1/deals/501/preflight", {"draft": {}}, format="json")
    assert response.status_code != 413


def test_default_limits_leave_room_for_a_large_draft(settings):
    assert settings.REQUEST_BODY_LIMITS["api"] >= 1_000_000
    largest = max(settings.REQUEST_BODY_LIMITS.values())
    assert largest <= settings.DATA_UPLOAD_MAX_MEMORY_SIZE


@pytest.mark.parametrize("depth, status", [(60, None), (70, 400)])
def test_json_nesting_limit(personas, depth, status):
    body = '{"draft": ' + "[" * depth + "]" * depth + "}"
    response = panel(personas.alice_membership).generic(
        "POST", "/api/v1/deals/501/preflight", body, content_type="application/json"
    )
    if status is None:
        assert response.json()["error"]["code"] != "json_too_deep"
    else:
        assert response.status_code == 400 and response.json()["error"]["code"] == "json_too_deep"


def test_brackets_inside_strings_do_not_count():
    from config.middleware import json_depth_exceeds

    assert not json_depth_exceeds(b'{"a": "' + b"[" * 500 + b'"}')
    assert not json_depth_exceeds(b'{"a": "\\"' + b"[" * 500 + b'"}')
    assert json_depth_exceeds(b"[" * 65 + b"]" * 65)
