"""QuickBooks OAuth runs through requests-oauthlib (issue 11) and keeps our session's rules."""

from __future__ import annotations

import logging
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from django.conf import settings

from integration.errors import TransientError
from integration.models import ApiCall
from integration.quickbooks import oauth, services, tokens
from integration.quickbooks.models import OAuthState, QuickBooksConnection
from tests.integration.oauth_wire import assert_a_library_token_call, basic


def test_quickbooks_authorize_url_and_state_come_from_the_library(qbo, personas):
    url = services.connect_start(company=personas.company_a, membership=personas.alice_membership)
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == settings.QBO_AUTHORIZE_URL
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    assert query.keys() == {"response_type", "client_id", "redirect_uri", "scope", "state"}
    assert (query["response_type"], query["client_id"]) == ("code", settings.QBO_CLIENT_ID)
    assert (query["scope"], query["redirect_uri"]) == (oauth.SCOPE, services.redirect_uri())
    assert len(query["state"]) == oauth.STATE_LENGTH and query["state"].isalnum()
    # Only its hash is kept, for Alice and company A.
    stored = OAuthState.all_companies.get()
    assert stored.state_hash == services._state_hash(query["state"]) != query["state"]


def test_quickbooks_code_exchange_and_refresh_go_through_an_oauth2_session(qbo, personas, web_as, link_calls, wire):
    from tests.integration.quickbooks import helpers

    helpers.connect(web_as("alice"), realm_id=qbo.us_realm)
    connection = QuickBooksConnection.all_companies.get(company=personas.company_a)
    stale = connection.access_token
    fresh = tokens.access_token_refresh(connection=connection, stale=stale)
    assert fresh != stale

    calls = [call for call in wire if call.request.url == settings.QBO_TOKEN_URL]
    assert [call.form["grant_type"][0] for call in calls] == ["authorization_code", "refresh_token"]
    for call in calls:
        assert_a_library_token_call(
            call,
            client_id=settings.QBO_CLIENT_ID,
            client_secret=settings.QBO_CLIENT_SECRET,
            grant_type=call.form["grant_type"][0],
            timeout=oauth.TOKEN_TIMEOUT_SECONDS,
        )
        assert call.request.headers["x-include-refresh-token-hard-expires-in"] == "true"
    exchange, refresh = calls
    assert exchange.form["redirect_uri"] == [services.redirect_uri()]
    assert "scope" not in refresh.form and "redirect_uri" not in refresh.form
    # The rotated refresh token we stored is the one the refresh answered with; the hard expiry too.
    connection.refresh_from_db()
    assert connection.access_token == fresh and connection.refresh_hard_expires_at is not None
    # Both calls are in the company's call log, by path only.
    token_path = urlsplit(settings.QBO_TOKEN_URL).path
    logged = ApiCall.objects.filter(company=personas.company_a, path=token_path, method="POST")
    assert list(logged.values_list("status", flat=True)) == [200, 200]


def test_a_hung_quickbooks_token_endpoint_times_out_as_a_transient_error(connected, monkeypatch):
    from integration.sandbox.quickbooks import controls
    from integration.sandbox.quickbooks.models import SandboxCall

    monkeypatch.setattr(oauth, "TOKEN_TIMEOUT_SECONDS", 0.3)
    controls.inject_failure(kind="timeout", target="token", delay_seconds=1.0)
    started = time.monotonic()
    with pytest.raises(TransientError):
        oauth.refresh(refresh_token=connected.refresh_token)
    assert time.monotonic() - started < 0.9
    # Let the slow sandbox call finish before the test database goes away.
    deadline = time.monotonic() + 10
    while SandboxCall.objects.filter(kind="token", status__isnull=True).exists():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    # ...and its request's transaction too: the call's row is marked before the request ends, and a
    # test database flushed (TRUNCATE) under a writing request deadlocks on PostgreSQL.
    while _other_sessions_busy():
        assert time.monotonic() < deadline
        time.sleep(0.05)


def _other_sessions_busy() -> bool:
    from django.db import connection

    if connection.vendor != "postgresql":
        return False
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND state IN ('active', 'idle in transaction')"
        )
        return bool(cursor.fetchone()[0])


def test_library_debug_logging_never_prints_tokens_or_the_client_secret(connected, caplog):
    old_refresh = connected.refresh_token
    caplog.set_level(logging.DEBUG)
    tokens.access_token_refresh(connection=connected, stale=connected.access_token)
    connected.refresh_from_db()
    assert "tokens/bearer -> 200" in caplog.text  # the capture works: our call log line is there
    secrets = {
        old_refresh,
        connected.refresh_token,
        connected.access_token,
        settings.QBO_CLIENT_SECRET,
        basic(settings.QBO_CLIENT_ID, settings.QBO_CLIENT_SECRET).split()[1],
    }
    leaked = [secret for secret in secrets if secret in caplog.text]
    assert leaked == []
