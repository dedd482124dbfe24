"""The QBO client against the sandbox over real HTTP: every typed function, errors and retries."""

from __future__ import annotations

import uuid
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.utils import timezone

from integration.calllog import call_recorder
from integration.errors import RateLimited, TransientError
from integration.http import make_session
from integration.quickbooks.client import QboClient, quote
from integration.quickbooks.errors import QboDuplicateName, QboNotFound, QboStaleObject, QboValidationError
from integration.quickbooks.tokens import ConnectionTokens

LINE = {
    "Amount": 150.0,
    "DetailType": "SalesItemLineDetail",
    "SalesItemLineDetail": {"ItemRef": {"value": "2"}, "Qty": 3, "UnitPrice": 50},
}


def invoice_count(client: QboClient) -> int:
    """How many invoices the realm holds (QBO's COUNT query, raw)."""
    return int(client.query("SELECT COUNT(*) FROM Invoice").total_count or 0)


@pytest.fixture
def seen(client_of, connected):
    """The client, plus every URL it sent (to check minorversion and requestid)."""
    client = client_of(connected)
    urls: list[tuple[str, str]] = []
    client.session.hooks["response"].append(lambda r, *a, **k: urls.append((r.request.method, r.request.url)))
    return client, urls


def _invoice(client, **extra) -> dict:
    return client.create("Invoice", {"CustomerRef": {"value": "1"}, "Line": [LINE], **extra})


def test_every_call_carries_minorversion_75_and_every_write_a_requestid(seen):
    client, urls = seen
    invoice = _invoice(client)
    client.read("Invoice", invoice["Id"])
    client.query("SELECT * FROM Customer MAXRESULTS 2")
    client.sparse_update("Invoice", invoice["Id"], invoice["SyncToken"], {"CustomerMemo": {"value": "Thanks"}})
    assert len(urls) == 4
    for method, url in urls:
        query = parse_qs(urlsplit(url).query)
        assert query["minorversion"] == ["75"]
        assert ("requestid" in query) == (method == "POST" and "/query" not in url)


def test_create_read_and_requestid_replay(seen):
    client, _ = seen
    request_id = str(uuid.uuid4())
    first = _invoice(client, PrivateNote="replay me")
    assert first["TotalAmt"] == 150.0 and first["Balance"] == 150.0 and first["SyncToken"] == "0"
    count = invoice_count(client)
    one = client.create("Invoice", {"CustomerRef": {"value": "1"}, "Line": [LINE]}, request_id=request_id)
    two = client.create("Invoice", {"CustomerRef": {"value": "1"}, "Line": [LINE]}, request_id=request_id)
    assert one["Id"] == two["Id"]  # QBO replayed its first answer
    assert invoice_count(client) == count + 1
    assert client.read("Invoice", first["Id"])["PrivateNote"] == "replay me"


def test_sparse_update_then_a_stale_synctoken_is_a_typed_error(seen):
    client, _ = seen
    invoice = _invoice(client)
    updated = client.sparse_update("Invoice", invoice["Id"], "0", {"DueDate": "2030-01-31"})
    assert updated["SyncToken"] == "1" and updated["DueDate"] == "2030-01-31"
    assert updated["Line"][0]["Amount"] == 150.0  # untouched by a sparse update
    with pytest.raises(QboStaleObject) as excinfo:
        client.sparse_update("Invoice", invoice["Id"], "0", {"DueDate": "2030-02-28"})
    assert excinfo.value.code == "5010" and excinfo.value.status == 400


def test_void_zeroes_the_invoice(seen):
    client, _ = seen
    invoice = _invoice(client)
    voided = client.void("Invoice", invoice["Id"], invoice["SyncToken"])
    assert voided["TotalAmt"] == 0 and voided["Balance"] == 0
    assert voided["PrivateNote"].startswith("Voided")
    assert int(voided["SyncToken"]) == int(invoice["SyncToken"]) + 1


def test_delete_then_read_is_not_found(seen):
    client, _ = seen
    invoice = _invoice(client)
    stub = client.delete("Invoice", invoice["Id"], invoice["SyncToken"])
    assert stub["status"] == "Deleted" and stub["Id"] == invoice["Id"]
    with pytest.raises(QboNotFound) as excinfo:
        client.read("Invoice", invoice["Id"])
    assert excinfo.value.code == "610"


def test_send_and_pdf(seen):
    client, _ = seen
    invoice = _invoice(client)
    sent = client.send_invoice(invoice["Id"], send_to="billing@example.com")
    assert sent["EmailStatus"] == "EmailSent"
    assert sent["BillEmail"]["Address"] == "billing@example.com"
    assert sent["DeliveryInfo"]["DeliveryType"] == "Email"
    pdf = client.invoice_pdf(invoice["Id"])
    body = b"".join(pdf.chunks())
    assert pdf.content_type == "application/pdf"
    assert body.startswith(b"%PDF-")
    assert invoice["DocNumber"].encode() in body or len(body) > 500


def test_query_pages_and_counts(seen):
    client, _ = seen
    for _ in range(5):
        _invoice(client)
    total = invoice_count(client)
    assert total >= 5
    page = client.query("SELECT * FROM Invoice STARTPOSITION 1 MAXRESULTS 2")
    assert page.entity == "Invoice" and len(page.items) == 2 and page.start_position == 1 and page.max_results == 2
    everything = list(client.query_all("SELECT * FROM Invoice", page_size=2))
    assert len(everything) == total
    assert len({row["Id"] for row in everything}) == total  # pages do not overlap
    past_the_end = client.query(f"SELECT * FROM Invoice STARTPOSITION {total + 1} MAXRESULTS 10")  # noqa: S608
    assert past_the_end.items == [] and past_the_end.entity is None
    # The apostrophe goes out escaped as Amy\'s (reference §2.5).
    amy = client.query("SELECT * FROM Customer WHERE DisplayName = " + quote("Amy's Bird Sanctuary"))  # noqa: S608 (QBO query language)
    assert [row["Id"] for row in amy.items] == ["1"]
    with pytest.raises(ValueError):
        list(client.query_all("SELECT * FROM Invoice MAXRESULTS 5"))


def test_cdc_returns_changed_and_deleted_objects(seen):
    client, _ = seen
    since = timezone.now() - timedelta(minutes=5)
    kept = _invoice(client)
    gone = _invoice(client)
    client.delete("Invoice", gone["Id"], gone["SyncToken"])
    result = client.cdc(["Invoice", "Customer"], changed_since=since)
    invoices = {row["Id"]: row for row in result.changes["Invoice"]}
    assert kept["Id"] in invoices and invoices[gone["Id"]]["status"] == "Deleted"
    # Invoicing customer 1 changed its Balance, so it is in the capture too.
    assert "1" in {row["Id"] for row in result.changes["Customer"]}
    assert result.time


def test_company_info_and_preferences(seen, connected):
    client, _ = seen
    assert client.company_info()["Country"] == "US"
    assert client.preferences()["CurrencyPrefs"]["HomeCurrency"]["value"] == "USD"


def test_validation_faults_name_the_field(seen):
    client, _ = seen
    with pytest.raises(QboValidationError) as excinfo:
        client.create("Invoice", {"Line": [LINE]})
    assert excinfo.value.fields, excinfo.value.message
    assert excinfo.value.fields[0] in excinfo.value.message
    with pytest.raises(QboDuplicateName):
        client.create("Customer", {"DisplayName": "Amy's Bird Sanctuary"})


def test_injected_503_and_429_are_transient_and_rate_limited(seen, connected):
    from integration.sandbox.quickbooks import controls

    client, _ = seen
    controls.inject_failure(kind="503", realm_id=connected.realm_id)
    with pytest.raises(TransientError) as unavailable:
        client.company_info()
    assert type(unavailable.value) is TransientError and unavailable.value.status == 503
    assert client.company_info()["Country"] == "US"  # the failure was for one call
    controls.inject_failure(kind="429", realm_id=connected.realm_id)
    with pytest.raises(RateLimited) as throttled:
        client.company_info()
    assert throttled.value.retry_after == 60.0 and throttled.value.code == "3001"
    # Intuit asks for 60 s of quiet: the next call is held back here without reaching QBO.
    before = controls.call_count(kind="api", realm_id=connected.realm_id)
    with pytest.raises(RateLimited) as held:
        client_for_same_realm = type(client)(realm_id=client.realm_id, tokens=client.tokens, session=client.session)
        client_for_same_realm.company_info()
    assert held.value.code == "local_limit" and 55 < held.value.retry_after <= 61
    assert controls.call_count(kind="api", realm_id=connected.realm_id) == before


def test_a_timeout_is_transient_and_the_retry_with_the_same_requestid_does_not_duplicate(connected):
    from integration.sandbox.quickbooks import controls

    session = make_session(service="quickbooks", recorder=call_recorder(company_id=connected.company_id), timeout=0.5)
    client = QboClient(realm_id=connected.realm_id, tokens=ConnectionTokens(connected), session=session)
    count = invoice_count(client)
    request_id = str(uuid.uuid4())
    controls.inject_failure(kind="timeout", realm_id=connected.realm_id, delay_seconds=1.5)
    with pytest.raises(TransientError):
        client.create("Invoice", {"CustomerRef": {"value": "1"}, "Line": [LINE]}, request_id=request_id)
    # The server finished the write after we gave up; the retry must not create a second one.
    import time

    time.sleep(1.5)
    retried = client.create("Invoice", {"CustomerRef": {"value": "1"}, "Line": [LINE]}, request_id=request_id)
    assert invoice_count(client) == count + 1
    assert retried["Id"]


def test_a_connection_reset_after_the_write_is_transient_and_replay_is_safe(seen, connected):
    from integration.sandbox.quickbooks import controls

    client, _ = seen
    count = invoice_count(client)
    request_id = str(uuid.uuid4())
    controls.inject_failure(kind="reset", realm_id=connected.realm_id)
    with pytest.raises(TransientError):
        client.create("Invoice", {"CustomerRef": {"value": "1"}, "Line": [LINE]}, request_id=request_id)
    retried = client.create("Invoice", {"CustomerRef": {"value": "1"}, "Line": [LINE]}, request_id=request_id)
    assert invoice_count(client) == count + 1
    assert client.read("Invoice", retried["Id"])["Id"] == retried["Id"]


def test_bad_ids_and_entities_never_reach_the_wire(seen):
    client, urls = seen
    with pytest.raises(ValueError):
        client.read("Invoice", "1/../../companyinfo")
    with pytest.raises(ValueError):
        client.read("invoice?x=1", "1")
    with pytest.raises(ValueError):
        client.create("Invoice", {}, request_id="x" * 51)
    assert urls == []


def test_a_401_right_after_a_refresh_is_transient_and_keeps_the_connection(connected):
    """Only invalid_grant on refresh revokes; a 401 right after a good refresh is retried later."""

    class Refuses:
        refreshed = 0
        revoked_calls = 0

        def get(self):
            return "not-a-token"

        def refresh(self, *, stale):
            self.refreshed += 1
            return "still-not-a-token"

        def revoked(self):
            self.revoked_calls += 1

    tokens = Refuses()
    client = QboClient(realm_id=connected.realm_id, tokens=tokens, session=make_session(service="quickbooks"))
    with pytest.raises(TransientError):
        client.company_info()
    assert (tokens.refreshed, tokens.revoked_calls) == (1, 0)  # refreshed once, not in a loop; not revoked


def test_connection_tokens_revoked_marks_needs_reconnect(connected):
    ConnectionTokens(connected).revoked()
    connected.refresh_from_db()
    assert connected.status == "needs_reconnect" and connected.refresh_token == ""
