"""50 workers need a token at once: exactly one call to Intuit's token endpoint, 50 valid tokens.

On PostgreSQL the callers serialize on the connection's row lock (SELECT ... FOR UPDATE) and
re-read after locking; on SQLite (no row locks, one process) on a per-connection process lock.
Either way the proof is the sandbox's own count of token-endpoint calls.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from django.db import connection as db_connection
from django.db import connections
from django.utils import timezone

from integration.quickbooks import services, tokens
from integration.quickbooks.models import QuickBooksConnection

CALLERS = 50


def _run_concurrently(target, count: int) -> tuple[list, list]:
    barrier = threading.Barrier(count)
    results, errors = [], []
    lock = threading.Lock()

    def worker():
        try:
            barrier.wait(timeout=30)
            value = target()
            with lock:
                results.append(value)
        except Exception as exc:  # collected and asserted below
            with lock:
                errors.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results, errors


def test_fifty_concurrent_callers_cause_exactly_one_refresh(connected):
    from integration.sandbox.quickbooks import controls

    old_access, old_refresh = connected.access_token, connected.refresh_token
    # The token is due (inside the 2-minute margin) for every caller at the same moment.
    QuickBooksConnection.all_companies.filter(pk=connected.pk).update(
        access_expires_at=timezone.now() + timedelta(seconds=30)
    )
    before = controls.call_count(kind="token")

    results, errors = _run_concurrently(lambda: tokens.access_token_get(connection=connected), CALLERS)

    assert errors == []
    assert len(results) == CALLERS
    assert controls.call_count(kind="token") == before + 1, db_connection.vendor
    connected.refresh_from_db()
    assert set(results) == {connected.access_token}
    assert connected.access_token != old_access
    assert connected.refresh_token != old_refresh  # the rotated refresh token was stored
    assert connected.status == QuickBooksConnection.Status.ACTIVE
    # And that one token is valid at QBO.
    assert services.client_for(connection=connected).company_info()["CompanyName"] == connected.company_name


def test_fifty_callers_after_a_401_share_one_refresh(connected):
    """The forced path (QBO refused the token we hold): callers pass the stale token they saw."""
    from integration.sandbox.quickbooks import controls

    stale = connected.access_token
    controls.expire_access_tokens(realm_id=connected.realm_id)
    before = controls.call_count(kind="token")

    results, errors = _run_concurrently(lambda: tokens.access_token_refresh(connection=connected, stale=stale), CALLERS)

    assert errors == []
    assert controls.call_count(kind="token") == before + 1
    connected.refresh_from_db()
    assert set(results) == {connected.access_token} and stale not in results


def test_invalid_grant_under_concurrency_marks_needs_reconnect_once(connected):
    from integration.errors import AuthRevoked
    from integration.sandbox.quickbooks import controls

    controls.disconnect(realm_id=connected.realm_id)
    QuickBooksConnection.all_companies.filter(pk=connected.pk).update(access_expires_at=timezone.now())
    before = controls.call_count(kind="token")

    results, errors = _run_concurrently(lambda: tokens.access_token_get(connection=connected), 20)

    assert results == []
    assert len(errors) == 20 and all(isinstance(error, AuthRevoked) for error in errors)
    assert controls.call_count(kind="token") == before + 1  # the others saw needs_reconnect and did not try
    connected.refresh_from_db()
    assert connected.status == QuickBooksConnection.Status.NEEDS_RECONNECT
