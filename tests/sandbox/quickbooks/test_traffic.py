"""Throttling (500/min, 10 in flight per realm) and injected failures."""

import datetime as dt
import time

from integration.sandbox.quickbooks import clock, controls
from integration.sandbox.quickbooks.models import SandboxCall, SandboxEntity
from tests.sandbox.quickbooks.conftest import UK, US


def _fill(realm_id, n, *, finished=True, seconds_ago=1):
    at = clock.now() - dt.timedelta(seconds=seconds_ago)
    SandboxCall.objects.bulk_create(
        SandboxCall(
            realm_id=realm_id,
            kind="api",
            method="GET",
            path="/x",
            started_at=at,
            finished_at=at if finished else None,
            status=200 if finished else None,
        )
        for _ in range(n)
    )


def test_the_501st_call_in_a_minute_gets_429_with_the_xml_throttle_body(us_api, uk_api):
    _fill(US, 499)
    assert us_api.get("customer/1").status_code == 200  # the 500th
    throttled = us_api.get("customer/1")
    assert throttled.status_code == 429
    assert b"ThrottleExceeded" in throttled.content and b'code="3001"' in throttled.content
    assert throttled["intuit_tid"]
    assert uk_api.get("customer/1").status_code == 200  # per realm
    controls.advance_clock(seconds=61)
    # The minute has passed (the token is still valid: 61 s < 3600 s).
    assert us_api.get("customer/1").status_code == 200


def test_more_than_10_in_flight_gets_429(us_api):
    _fill(US, 10, finished=False)
    assert us_api.get("customer/1").status_code == 429
    SandboxCall.objects.filter(realm_id=US, finished_at__isnull=True).update(finished_at=clock.now())
    assert us_api.get("customer/1").status_code == 200


def test_calls_are_logged_with_status_and_finish(us_api):
    us_api.get("customer/1")
    call = SandboxCall.objects.filter(realm_id=US, kind="api").latest("id")
    assert call.status == 200 and call.finished_at is not None and call.path.endswith("/customer/1")


def test_injected_503_then_normal(us_api):
    controls.inject_failure(kind="503", count=2, realm_id=US)
    first, second, third = (us_api.get("customer/1") for _ in range(3))
    assert first.status_code == second.status_code == 503
    assert first.json()["Fault"]["type"] == "SystemFault"
    assert third.status_code == 200


def test_injected_failures_are_scoped_to_a_realm(us_api, uk_api):
    controls.inject_failure(kind="429", count=1, realm_id=UK)
    assert us_api.get("customer/1").status_code == 200
    assert uk_api.get("customer/1").status_code == 429
    assert uk_api.get("customer/1").status_code == 200


def test_injected_503_happens_before_the_write(us_api):
    controls.inject_failure(kind="503")
    body = {"DisplayName": "Only Once"}
    assert us_api.post("customer", body).status_code == 503
    assert not SandboxEntity.objects.filter(entity="Customer", data__DisplayName="Only Once").exists()


def test_injected_timeout_delays_then_still_writes(us_api):
    controls.inject_failure(kind="timeout", delay_seconds=0.3)
    started = time.monotonic()
    response = us_api.post("customer", {"DisplayName": "Slow Write"})
    assert time.monotonic() - started >= 0.3
    assert response.status_code == 200


def test_token_endpoint_failures(client, qbo_realms):
    from tests.sandbox.quickbooks.conftest import REDIRECT, authorize, token_request

    controls.inject_failure(kind="503", target="token")
    code = authorize(client)["code"]
    failed = token_request(client, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT})
    assert failed.status_code == 503
    ok = token_request(client, {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT})
    assert ok.status_code == 200  # the code was not consumed by the failed call
