"""Webhooks from the sandbox: after commit, signed, legacy or CloudEvents, tolerant of a dead receiver."""

import base64
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from integration.sandbox.quickbooks import controls, webhooks
from integration.sandbox.quickbooks.models import SandboxWebhookDelivery
from tests.sandbox.quickbooks.conftest import UK, US
from tests.sandbox.quickbooks.shapes import FIXTURES, assert_same_shape, fixture


class Receiver:
    def __init__(self):
        self.requests = []
        self.status = 200
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/webhooks/quickbooks"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def bodies(self):
        return [json.loads(r["body"]) for r in self.requests]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver(settings):
    rec = Receiver()
    settings.QBO_SANDBOX_WEBHOOK_URL = rec.url
    settings.QBO_WEBHOOK_VERIFIER_TOKEN = "test-verifier-token"
    yield rec
    rec.close()


def _invoice(api, customer="3"):
    body = {
        "CustomerRef": {"value": customer},
        "Line": [
            {
                "DetailType": "SalesItemLineDetail",
                "Amount": 10,
                "SalesItemLineDetail": {"ItemRef": {"value": "1" if customer != "1" else "2"}},
            }
        ],
    }
    if api.realm_id == UK:
        body["Line"][0]["SalesItemLineDetail"]["TaxCodeRef"] = {"value": "2"}
    response = api.post("invoice", body)
    assert response.status_code == 200, response.content
    return response.json()["Invoice"]


def test_signature_matches_intuits_test_vectors():
    for vector in fixture("webhooks/signature_test_vectors.json"):
        body = (FIXTURES / "webhooks" / vector["payload_file"]).read_bytes().rstrip(b"\n")
        assert webhooks.sign(body, vector["verifier_token"]) == vector["intuit_signature"]


def test_invoice_create_sends_a_signed_legacy_notification_after_commit(
    us_api, receiver, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        invoice = _invoice(us_api)
    assert receiver.requests == []  # nothing before the commit
    for callback in callbacks:
        callback()
    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    expected = base64.b64encode(hmac.new(b"test-verifier-token", request["body"], hashlib.sha256).digest()).decode()
    assert request["headers"]["intuit-signature"] == expected
    body = json.loads(request["body"])
    assert_same_shape(body, "webhooks/legacy_payload_intuit_blog_sample.json")
    notification = body["eventNotifications"][0]
    assert notification["realmId"] == US
    assert notification["dataChangeEvent"]["entities"] == [
        {
            "name": "Invoice",
            "id": invoice["Id"],
            "operation": "Create",
            "lastUpdated": notification["dataChangeEvent"]["entities"][0]["lastUpdated"],
        }
    ]
    record = SandboxWebhookDelivery.objects.get()
    assert record.delivered and record.status_code == 200 and record.signature == expected


def test_cloudevents_format_per_realm(uk_api, receiver, django_capture_on_commit_callbacks):
    controls.set_webhook_format(realm_id=UK, fmt="cloudevents")
    with django_capture_on_commit_callbacks(execute=True):
        invoice = _invoice(uk_api, customer="1")
    with django_capture_on_commit_callbacks(execute=True):
        controls.void_invoice(realm_id=UK, invoice_id=invoice["Id"])
    created, voided = receiver.bodies()
    assert_same_shape(created, "webhooks/cloudevents_payload_intuit_blog_sample.json")
    assert created[0]["type"] == "qbo.invoice.created.v1"
    assert created[0]["intuitaccountid"] == UK and created[0]["intuitentityid"] == invoice["Id"]
    assert voided[0]["type"] == "qbo.invoice.voided.v1" and voided[0]["id"] != created[0]["id"]


def test_payment_control_notifies_payment_and_invoice(us_api, receiver, django_capture_on_commit_callbacks):
    invoice = _invoice(us_api)
    with django_capture_on_commit_callbacks(execute=True):
        payment = controls.record_payment(realm_id=US, invoice_id=invoice["Id"], amount="4")
    events = [e for b in receiver.bodies() for e in b["eventNotifications"][0]["dataChangeEvent"]["entities"]]
    assert [(e["name"], e["id"], e["operation"]) for e in events] == [
        ("Payment", payment["Id"], "Create"),
        ("Invoice", invoice["Id"], "Update"),
    ]


def test_failed_write_sends_nothing(us_api, receiver, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        assert us_api.post("customer", {"DisplayName": "Red Rock Diner"}).status_code == 400
    assert callbacks == [] and receiver.requests == []


def test_receiver_down_does_not_break_the_call_and_can_be_redelivered(
    us_api, receiver, settings, django_capture_on_commit_callbacks
):
    receiver.status = 500
    with django_capture_on_commit_callbacks(execute=True):
        response = us_api.post("customer", {"DisplayName": "Webhook Victim"})
    assert response.status_code == 200
    record = SandboxWebhookDelivery.objects.get()
    assert not record.delivered and record.error == "HTTP 500"
    receiver.status = 200
    assert controls.redeliver_webhooks() == 1
    record.refresh_from_db()
    assert record.delivered and record.attempts == 2
    assert receiver.requests[0]["body"] == receiver.requests[1]["body"]


def test_unreachable_receiver_is_logged_not_raised(us_api, settings, django_capture_on_commit_callbacks, caplog):
    settings.QBO_SANDBOX_WEBHOOK_URL = "http://127.0.0.1:9/webhooks/quickbooks"
    with django_capture_on_commit_callbacks(execute=True):
        assert us_api.post("customer", {"DisplayName": "Nobody Listens"}).status_code == 200
    record = SandboxWebhookDelivery.objects.get()
    assert not record.delivered and "ConnectionError" in record.error
    assert "sandbox webhook" in caplog.text


def test_default_url_is_public_base_url(settings):
    settings.QBO_SANDBOX_WEBHOOK_URL = ""
    settings.PUBLIC_BASE_URL = "http://example.test"
    assert webhooks.webhook_url() == "http://example.test/webhooks/quickbooks"


def test_format_off_sends_nothing(us_api, receiver, django_capture_on_commit_callbacks):
    controls.set_webhook_format(realm_id=US, fmt="off")
    with django_capture_on_commit_callbacks(execute=True):
        _invoice(us_api)
    assert receiver.requests == [] and SandboxWebhookDelivery.objects.count() == 0
