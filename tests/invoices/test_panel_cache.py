"""The panel reads' per-process answers (invoices/panel_cache.py, issue 12): served without the
database until PostgreSQL's notice says the company's data changed."""

from __future__ import annotations

import importlib
import time

import pytest
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext

from invoices import panel_cache
from invoices.models import Invoice
from invoices.panel_cache import Answer, PanelCache
from invoices.panel_sql import READ_MODELS
from tenants.models import Company, User
from tests.invoices.test_panel_api import panel
from tests.personas import add_invoices, make_personas

ON_POSTGRES = db_connection.vendor == "postgresql"


# -- the cache's own rules (no database) -------------------------------------------------------


def _answer(cache: PanelCache, company: int, body: bytes = b"{}", *, stamp=None) -> Answer:
    return Answer(etag='"e"', body=body, stamp=stamp or cache.stamp(company), company=company)


def test_nothing_is_served_or_stored_until_the_listener_listens():
    cache = PanelCache(1 << 20)
    assert cache.stamp(1) is None
    assert not cache.put(("k",), Answer(etag='"e"', body=b"{}", stamp=(0, 0), company=1))
    cache.set_listening(True)
    stamp = cache.stamp(1)
    assert cache.put(("k",), _answer(cache, 1))
    assert cache.get(("k",), stamp).body == b"{}"


def test_a_notice_drops_that_company_only():
    cache = PanelCache(1 << 20)
    cache.set_listening(True)
    cache.put(("a",), _answer(cache, 1))
    cache.put(("b",), _answer(cache, 2))
    cache.changed("1")
    assert cache.get(("a",), cache.stamp(1)) is None
    assert cache.get(("b",), cache.stamp(2)) is not None
    assert len(cache) == 1


def test_an_answer_read_before_a_notice_is_not_stored():
    """The race: a read began, the company changed (notice) before it finished; its rows may be old."""
    cache = PanelCache(1 << 20)
    cache.set_listening(True)
    before = cache.stamp(1)
    cache.changed("1")
    assert not cache.put(("a",), _answer(cache, 1, stamp=before))
    assert cache.get(("a",), cache.stamp(1)) is None
    cache.changed("2")  # another company's notice does not void it
    assert cache.put(("a",), _answer(cache, 1))


@pytest.mark.parametrize("event", ["*", "", "garbage", "reconnect", "lost"])
def test_a_reconnect_or_an_unreadable_notice_forgets_everything(event):
    cache = PanelCache(1 << 20)
    cache.set_listening(True)
    old = cache.stamp(1)
    cache.put(("a",), _answer(cache, 1))
    cache.put(("b",), _answer(cache, 2))
    if event == "reconnect":
        cache.set_listening(True)
    elif event == "lost":
        cache.set_listening(False)
        assert cache.stamp(1) is None
        cache.set_listening(True)
    else:
        cache.changed(event)
    assert len(cache) == 0 and cache.size == 0
    assert cache.stamp(1) != old


def test_bounded_in_bytes_least_recently_used_out():
    each = 1000 + len('"e"') + len(repr(("a",))) + panel_cache.ANSWER_OVERHEAD  # body, ETag, key, objects
    cache = PanelCache(3 * each)
    cache.set_listening(True)
    for name in "abc":
        cache.put((name,), _answer(cache, 1, b"x" * 1000))
    assert cache.get(("a",), cache.stamp(1)) is not None  # a is now the most recently used
    cache.put(("d",), _answer(cache, 1, b"x" * 1000))
    assert cache.get(("b",), cache.stamp(1)) is None
    assert {k for (k,) in [("a",), ("c",), ("d",)] if cache.get((k,), cache.stamp(1))} == {"a", "c", "d"}
    assert cache.size <= cache.limit
    assert not cache.put(("huge",), _answer(cache, 1, b"x" * 10_000))  # larger than the whole cache


def test_every_table_the_panel_reads_sends_notices():
    """A table added to the panel's statements without a trigger would serve stale answers."""
    migration = importlib.import_module("invoices.migrations.0010_panel_notify")
    assert set(migration.TABLES) == {model._meta.db_table for model in READ_MODELS.values()}


def test_off_on_sqlite_and_when_its_size_is_zero(settings):
    panel_cache.reset()
    settings.PANEL_CACHE_BYTES = 0
    assert panel_cache.current() is None
    panel_cache.reset()
    settings.PANEL_CACHE_BYTES = 1 << 20
    try:
        assert (panel_cache.current() is None) == (not ON_POSTGRES)
    finally:
        panel_cache.reset()


# -- against PostgreSQL: the triggers, the listener, the reads ---------------------------------

postgres_only = pytest.mark.skipif(not ON_POSTGRES, reason="LISTEN/NOTIFY needs PostgreSQL")


def _eventually(check, seconds: float = 5.0):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.002)
    raise AssertionError("not within the deadline")


def _url(personas) -> str:
    return f"/api/v1/deals/{personas.deal_a}/invoices"


def _reads(client, url, **headers) -> tuple:
    with CaptureQueriesContext(db_connection) as queries:
        response = client.get(url, **headers)
    return response, len(queries)


@postgres_only
def test_a_read_again_is_answered_without_the_database_until_a_write_commits(live_cache):
    personas = add_invoices(make_personas())
    alice, charlie = panel(personas.alice_membership), panel(personas.charlie_membership)
    url_b = f"/api/v1/deals/{personas.deal_b}/invoices"
    first, queries = _reads(alice, _url(personas))
    assert first.status_code == 200 and queries >= 1
    assert charlie.get(url_b).status_code == 200

    again, queries = _reads(alice, _url(personas))
    assert queries == 0
    assert again.content == first.content and again["ETag"] == first["ETag"]
    assert again["Cache-Control"] == "private, no-cache"
    revalidated, queries = _reads(alice, _url(personas), HTTP_IF_NONE_MATCH=first["ETag"])
    assert (revalidated.status_code, queries, revalidated.content) == (304, 0, b"")

    # A write elsewhere (a sync, another process) commits: the next read shows it.
    written = time.monotonic()
    Invoice.all_companies.filter(pk=personas.invoice_a.pk).update(status="paid")

    def shows_paid():
        body = alice.get(_url(personas)).json()
        return body["invoices"][0]["status"] == "paid"

    _eventually(shows_paid, seconds=2.0)
    print(f"\nchange visible {1000 * (time.monotonic() - written):.1f} ms after the commit")
    changed, queries = _reads(alice, _url(personas), HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200 and changed["ETag"] != first["ETag"]
    # The other company's answer was not dropped.
    _, queries = _reads(charlie, url_b)
    assert queries == 0


@postgres_only
def test_a_revalidation_is_remembered_too(live_cache):
    personas = add_invoices(make_personas())
    alice = panel(personas.alice_membership)
    etag = alice.get(_url(personas))["ETag"]
    panel_cache.reset()  # a process that has not seen this deal yet
    cache = panel_cache.current()
    _eventually(lambda: cache.listening)
    first, queries = _reads(alice, _url(personas), HTTP_IF_NONE_MATCH=etag)
    assert (first.status_code, queries) == (304, 1)
    second, queries = _reads(alice, _url(personas), HTTP_IF_NONE_MATCH=etag)
    assert (second.status_code, queries) == (304, 0)
    full, queries = _reads(alice, _url(personas))  # only the ETag was remembered: a 200 reads
    assert (full.status_code, full["ETag"]) == (200, etag) and queries >= 1


@postgres_only
def test_rights_and_the_seat_change_the_answer_at_once(live_cache):
    personas = add_invoices(make_personas())
    Company.objects.filter(pk=personas.company_a.pk).update(invoice_visibility="team")
    bob = panel(personas.bob_membership)
    assert bob.get(_url(personas)).status_code == 200
    assert _reads(bob, _url(personas))[1] == 0

    Company.objects.filter(pk=personas.company_a.pk).update(invoice_visibility="owner_only")
    refused = _eventually(lambda: (r := bob.get(_url(personas))).status_code == 403 and r)
    assert refused.json()["error"]["code"] == "not_allowed_to_view"

    alice = panel(personas.alice_membership)
    assert alice.get(_url(personas)).status_code == 200
    User.objects.filter(pk=personas.alice.pk).update(is_active=False)  # a user row: every company
    _eventually(lambda: alice.get(_url(personas)).status_code == 401)


@postgres_only
def test_while_the_listener_is_down_every_read_goes_to_the_database(live_cache):
    personas = add_invoices(make_personas())
    alice = panel(personas.alice_membership)
    alice.get(_url(personas))
    assert _reads(alice, _url(personas))[1] == 0
    pid = live_cache.backend_pid
    with db_connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    _eventually(lambda: not live_cache.listening)  # it lost its connection: the cache is off
    assert live_cache.stamp(personas.company_a.pk) is None
    assert _reads(alice, _url(personas))[1] >= 1
    # It reconnects (after half a second) and is trusted again once its first probe is back; the
    # lost connection is dropped before the new one is made, so a new pid and trust mean "after".
    _eventually(lambda: live_cache.backend_pid not in (None, pid) and live_cache.listening)
    assert _reads(alice, _url(personas))[1] >= 1  # nothing survived the reconnect
    assert _reads(alice, _url(personas))[1] == 0
