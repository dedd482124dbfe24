"""Review 12: the panel's remembered answers (invoices/panel_cache.py) attacked. Each test names the
hole it shows; see the review report."""

from __future__ import annotations

import time

import pytest

from invoices import panel_cache, panel_seats
from tenants.models import Company, Membership
from tests.invoices.test_panel_api import panel
from tests.invoices.test_panel_cache import _eventually, _reads, _url, postgres_only
from tests.personas import add_invoices, make_personas


@pytest.fixture
def live_cache(settings, transactional_db):
    """As tests/invoices/test_panel_cache.py's: the cache on, its listener listening."""
    settings.PANEL_CACHE_BYTES = 1 << 24
    panel_cache.reset()
    cache = panel_cache.current()
    _eventually(lambda: cache.listening)
    yield cache
    panel_cache.reset()


def _notice_processed(cache, company_pk: int, write) -> None:
    """Run `write` (committed at once: transactional test) and wait until its notice reached the cache."""
    before = cache.stamp(company_pk)
    write()
    _eventually(lambda: cache.stamp(company_pk) != before)


@postgres_only
def test_a_seat_that_changes_between_its_reload_and_the_stamp_is_not_served_from_the_cache(live_cache, monkeypatch):
    """fast_reads: after SeatChanged the seat is reloaded, then the stamp is taken, then the data is read
    WITHOUT re-checking the seat (fingerprint=None). A change committed (and noticed) between the reload
    and the stamp is therefore not seen by the read, and its answer is stored under the stale seat's
    fingerprint with a fresh stamp. The stale seat stays in _seats for 30 s, so every request in that
    time is a cache hit on the stale rights (here: Bob keeps seeing invoices after visibility was
    set back to owner-only; without the cache the next read would re-check the seat and answer 403)."""
    personas = add_invoices(make_personas())
    company = personas.company_a
    Company.objects.filter(pk=company.pk).update(invoice_visibility="team")
    bob = panel(personas.bob_membership)
    assert bob.get(_url(personas)).status_code == 200  # Bob's seat remembered (team visibility)

    # Bob's seat becomes stale (his language changes): the next read raises SeatChanged and reloads it.
    _notice_processed(
        live_cache,
        company.pk,
        lambda: Membership.all_companies.filter(pk=personas.bob_membership.pk).update(language="de"),
    )
    real_load = panel_seats._load_seat
    fired = []

    def load_then_admin_restricts(claims):
        seat = real_load(claims)
        if not fired:  # the admin's change commits right after the reload, before the stamp
            fired.append(1)
            _notice_processed(
                live_cache,
                company.pk,
                lambda: Company.objects.filter(pk=company.pk).update(invoice_visibility="owner_only"),
            )
        return seat

    monkeypatch.setattr(panel_seats, "_load_seat", load_then_admin_restricts)
    bob.get(_url(personas))  # this one read may race (it did before the cache too)
    assert fired
    monkeypatch.setattr(panel_seats, "_load_seat", real_load)

    again, queries = _reads(bob, _url(personas))
    assert again.status_code == 403, (again.status_code, queries)


class _FreezableProxy:
    """A TCP proxy to PostgreSQL that can stop forwarding without closing anything: what a listener
    sees when the database host vanishes (failover, a NAT or firewall dropping an idle flow, a
    partition) and no RST ever comes."""

    def __init__(self, host: str, port: int):
        import socket
        import threading

        self.target = (host, port)
        self.frozen = threading.Event()
        self.closed = threading.Event()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.sockets = [self.server]
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        import socket
        import threading

        while not self.closed.is_set():
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            self.sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, a, b):
        while not self.closed.is_set():
            try:
                data = a.recv(65536)
            except OSError:
                return
            if not data:
                return
            while self.frozen.is_set() and not self.closed.is_set():
                time.sleep(0.01)  # swallowed: held, never forwarded, nothing closed
            try:
                b.sendall(data)
            except OSError:
                return

    def close(self):
        self.closed.set()
        import contextlib

        for s in self.sockets:
            with contextlib.suppress(OSError):
                s.close()


@postgres_only
def test_a_listener_whose_connection_hangs_turns_the_cache_off(transactional_db, monkeypatch):
    """The listener's only liveness check is `SELECT 1` every PING_SECONDS on its own connection, with
    no timeout: when the path to PostgreSQL goes silent (no RST: failover, NAT/firewall idle drop,
    partition) that SELECT blocks until the kernel gives up (tcp_retries2: ~15 minutes) while
    `listening` stays True. Meanwhile writes committed elsewhere (e.g. on the new primary) send notices
    that never arrive, and every process keeps serving its remembered answers. Expected: no answer is
    served once a ping has not come back within a few PING_SECONDS."""
    from django.db import connection

    personas = add_invoices(make_personas())
    company = personas.company_a.pk
    monkeypatch.setattr(panel_cache, "PING_SECONDS", 0.2)
    params = panel_cache._connection_params()
    proxy = _FreezableProxy(params.get("host") or "127.0.0.1", int(params.get("port") or 5432))
    cache = panel_cache.PanelCache(1 << 20)
    cache.params = {**params, "host": "127.0.0.1", "port": proxy.port}
    import threading

    thread = threading.Thread(target=panel_cache._listen, args=(cache,), daemon=True)
    thread.start()
    try:
        _eventually(lambda: cache.listening)
        stamp = cache.stamp(company)
        assert cache.put(("k",), panel_cache.Answer(etag='"e"', body=b"{}", stamp=stamp, company=company))
        proxy.frozen.set()
        with connection.cursor() as cursor:  # a write that commits (its notice is lost on the way)
            cursor.execute("UPDATE invoices_invoice SET status = 'paid' WHERE id = %s", [personas.invoice_a.pk])
        time.sleep(10 * panel_cache.PING_SECONDS)
        now = cache.stamp(company)
        served = now is not None and cache.get(("k",), now) is not None
        assert not served, "a stale answer is still served 10 pings after the listener's connection hung"
    finally:
        cache.stopped = True
        proxy.close()
        thread.join(timeout=5)


@postgres_only
def test_the_byte_bound_counts_what_a_remembered_answer_holds(live_cache, settings):
    """PanelCache.put counts len(body) + 200 bytes per answer; the key (URL path and the raw query
    string, which any member can pad up to the server's request-line limit, 4 kB in gunicorn by
    default), the ETag and the Python objects are not counted. A 304 is remembered with body None, so
    it counts 200 bytes whatever its key holds. One member with a valid token fills a process well
    past PANEL_CACHE_BYTES: here the query strings alone are ~20 x the bound (64 MiB -> ~1.3 GB per
    worker). Also each distinct query string is its own entry though the deal read ignores the query."""
    personas = add_invoices(make_personas())
    limit = 256 * 1024
    settings.PANEL_CACHE_BYTES = limit
    panel_cache.reset()
    cache = panel_cache.current()
    _eventually(lambda: cache.listening)
    alice = panel(personas.alice_membership)
    etag = alice.get(_url(personas))["ETag"]
    pad = "x" * 4000
    for n in range(1400):
        response = alice.get(f"{_url(personas)}?pad={pad}&n={n}", HTTP_IF_NONE_MATCH=etag)
        assert response.status_code == 304
    held = sum(len(key[0]) + len(key[1]) for key in list(cache._answers))
    assert cache.size <= limit
    assert held <= limit, f"{len(cache)} answers hold {held} bytes of keys alone; the bound is {limit}"


@postgres_only
def test_one_users_sign_in_does_not_empty_every_companys_answers(live_cache):
    """tenants_user's trigger sends '*' (every company) on any write to any user row, and every
    sign-in writes one: Django's update_last_login (user_logged_in; allauth's Pipedrive sign-in logs
    in) saves last_login. So each sign-in, anywhere, empties every process's cache for every tenant
    (and any user can repeat it). The panel reads only a user's name, email and is_active, and only
    through that user's memberships: the notice could name their companies, and only for those columns.
    """
    from django.db import connection
    from django.test import Client

    personas = add_invoices(make_personas())
    charlie = panel(personas.charlie_membership)
    url_b = f"/api/v1/deals/{personas.deal_b}/invoices"
    assert charlie.get(url_b).status_code == 200
    assert _reads(charlie, url_b)[1] == 0

    Client().force_login(personas.bob)  # Bob (company A) signs in on our site

    # A marker notice committed after the sign-in: once it is in, the sign-in's notices are too.
    marker = 987654321
    before = live_cache.stamp(marker)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_notify('panel_changed', %s)", [str(marker)])
    _eventually(lambda: live_cache.stamp(marker) != before)
    assert _reads(charlie, url_b)[1] == 0, "company B's answer was dropped by a company A user's sign-in"


def _notify_triggers() -> dict[str, int]:
    """table -> tgtype of the triggers in the database that call invoices_panel_notify()."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, t.tgtype FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid"
            " JOIN pg_proc p ON p.oid = t.tgfoid WHERE p.proname = 'invoices_panel_notify' AND NOT t.tgisinternal"
            " AND t.tgenabled <> 'D'"
        )
        found: dict[str, int] = {}
        for table, tgtype in cursor.fetchall():
            found[table] = found.get(table, 0) | tgtype
        return found


@postgres_only
@pytest.mark.django_db
def test_the_database_has_an_enabled_notify_trigger_on_every_table_the_panel_reads():
    """test_every_table_the_panel_reads_sends_notices compares READ_MODELS with a constant in migration
    0010, not with the database: a later migration that drops or disables a trigger (or a table added
    in a migration 0011 that adds its own trigger, where 0010's constant must not change) is not seen.
    Mutation check: 0010 without the invoices_invoicepayment trigger passes every existing test."""
    from invoices.panel_sql import READ_MODELS

    insert, delete, update = 4, 8, 16  # pg_trigger.tgtype bits
    found = _notify_triggers()
    for model in READ_MODELS.values():
        table = model._meta.db_table
        assert table in found, f"{table} has no panel_changed trigger"
        assert found[table] & (insert | delete | update) == insert | delete | update, table


@postgres_only
@pytest.mark.django_db
def test_a_truncate_sends_a_notice_too():
    """The triggers are FOR EACH ROW on INSERT/UPDATE/DELETE: TRUNCATE (manage.py flush, an operator
    emptying a table, a restore) sends no notice, and every process keeps serving answers that show
    the rows gone. A statement-level AFTER TRUNCATE trigger sending '*' closes it."""
    from invoices.panel_sql import READ_MODELS

    truncate = 32
    found = _notify_triggers()
    missing = [m._meta.db_table for m in READ_MODELS.values() if not found.get(m._meta.db_table, 0) & truncate]
    assert not missing, f"no notice on TRUNCATE of {missing}"


@postgres_only
def test_every_remembered_answer_is_the_one_the_database_gives(live_cache, settings, monkeypatch):
    """A guard for the key (_cache_key): requests that differ in member, URL, query, language or the
    company's day, each read twice with the cache on, must get the bodies the same requests get with
    it off. Mutation check: dropping the path, the query, the seat fingerprint, the language or the
    day from the key passed every existing test (the cache's tests never vary them)."""
    import datetime as dt

    from django.utils import timezone

    from invoices.models import Invoice

    personas = add_invoices(make_personas())
    Company.objects.filter(pk=personas.company_a.pk).update(invoice_visibility="team")
    real_now = timezone.now
    due = real_now().date() + dt.timedelta(days=1)
    Invoice.all_companies.filter(pk=personas.invoice_a.pk).update(due_date=due)
    alice, bob = panel(personas.alice_membership), panel(personas.bob_membership)
    deal, other = _url(personas), "/api/v1/deals/999/invoices"
    contact = f"/api/v1/contact-invoices?deal_id={personas.deal_a}"
    variants = [
        ("alice", deal, {}, 0),
        ("bob", deal, {}, 0),  # not an admin: no void/delete, may_disconnect false
        ("alice", other, {}, 0),  # another deal: no invoices
        ("alice", deal, {"HTTP_ACCEPT_LANGUAGE": "de"}, 0),  # no language of her own: the browser's
        ("alice", contact, {}, 0),
        ("alice", contact + "&date_from=2099-01-01", {}, 0),  # a range without the invoice
        ("alice", deal, {}, 3),  # three days on: the invoice is overdue
    ]
    clients = {"alice": alice, "bob": bob}

    def read_all():
        bodies = []
        for who, url, headers, days in variants:
            monkeypatch.setattr(timezone, "now", lambda d=days: real_now() + dt.timedelta(days=d))
            for _ in range(2):
                response = clients[who].get(url, **headers)
                assert response.status_code == 200, (who, url, response.content)
                bodies.append(response.json())
            monkeypatch.setattr(timezone, "now", real_now)
        return bodies

    remembered = read_all()
    settings.PANEL_CACHE_BYTES = 0
    panel_cache.reset()
    panel_seats.forget_seats()
    assert panel_cache.current() is None
    truth = read_all()
    for (who, url, headers, days), got, want in zip(
        [v for v in variants for _ in range(2)], remembered, truth, strict=True
    ):
        assert got == want, (who, url, headers, days)


@postgres_only
def test_an_answer_whose_company_changed_during_its_read_is_not_remembered(live_cache, monkeypatch):
    """The stamp is taken before the read: a write committed (and noticed) after the statement ran but
    before the answer is stored must void it. Mutation check: taking the stamp in _remember (after the
    read) passed every existing test."""
    from invoices import panel_reads
    from invoices.models import Invoice

    personas = add_invoices(make_personas())
    alice = panel(personas.alice_membership)
    alice.get(_url(personas))  # the seat is remembered; the statement is built
    _notice_processed(
        live_cache,
        personas.company_a.pk,
        lambda: Invoice.all_companies.filter(pk=personas.invoice_a.pk).update(status="open"),
    )
    real = panel_reads._statement
    once = []

    def statement_then_a_write(key, params):
        rows = real(key, params)
        if not once:
            once.append(1)
            _notice_processed(
                live_cache,
                personas.company_a.pk,
                lambda: Invoice.all_companies.filter(pk=personas.invoice_a.pk).update(status="paid"),
            )
        return rows

    monkeypatch.setattr(panel_reads, "_statement", statement_then_a_write)
    assert alice.get(_url(personas)).json()["invoices"][0]["status"] == "open"  # read before the write
    assert once
    assert alice.get(_url(personas)).json()["invoices"][0]["status"] == "paid"


@postgres_only
def test_a_process_reads_its_own_committed_write(live_cache):
    """The process that commits a write only learns of it from PostgreSQL's notice, delivered to its
    listener thread, which must then win the GIL (switch interval 5 ms) from the request threads. A
    read right after the commit in the same process (a panel action's POST followed by its load(), on
    a threaded server; a Celery-eager write then a read; a test) is served the remembered answer from
    before the write: here about half of 20 tries. Fix: bump the company's generation locally on
    commit (transaction.on_commit in the triggers' Python-side writers, or a post-write hook for
    the company-scoped API), so the writer's own process never needs the notice."""
    from invoices.models import Invoice

    personas = add_invoices(make_personas())
    alice = panel(personas.alice_membership)
    stale = 0
    for i in range(20):
        status = "paid" if i % 2 == 0 else "open"
        alice.get(_url(personas))
        alice.get(_url(personas))  # remembered
        Invoice.all_companies.filter(pk=personas.invoice_a.pk).update(status=status)  # commits
        if alice.get(_url(personas)).json()["invoices"][0]["status"] != status:
            stale += 1
        time.sleep(0.02)
    assert stale == 0, f"{stale} of 20 reads right after this process's own commit were stale"


@postgres_only
def test_a_listener_that_receives_no_notices_is_not_trusted(transactional_db):
    """The listener trusts a LISTEN that succeeded and a `SELECT 1` that answers, but never checks that
    notices actually reach it. Behind PgBouncer in transaction pooling (LISTEN "succeeds" on whatever
    server connection it was given, then that connection goes back to the pool), or with a DSN that
    reaches another database or server than the writers' (a replica, a wrong dbname), every notice is
    lost and each process serves its remembered answers forever. Emulated here with the listener on
    another database of the same server. Fix: a probe - NOTIFY a private payload from a Django
    connection and require it back before serving (on connect and as the ping), or a separate,
    checked setting for the listener's DSN."""
    import threading

    import psycopg
    from django.db import connection

    personas = add_invoices(make_personas())
    company = personas.company_a.pk
    params = panel_cache._connection_params()
    elsewhere = "review12_elsewhere"
    admin = {**params, "dbname": "postgres"}
    with psycopg.connect(**admin, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {elsewhere}")
        conn.execute(f"CREATE DATABASE {elsewhere}")
    cache = panel_cache.PanelCache(1 << 20)
    cache.params = {**params, "dbname": elsewhere}
    thread = threading.Thread(target=panel_cache._listen, args=(cache,), daemon=True)
    thread.start()
    try:
        _eventually(lambda: cache.listening)
        stamp = cache.stamp(company)
        assert cache.put(("k",), panel_cache.Answer(etag='"e"', body=b"{}", stamp=stamp, company=company))
        with connection.cursor() as cursor:
            cursor.execute("UPDATE invoices_invoice SET status = 'paid' WHERE id = %s", [personas.invoice_a.pk])
        time.sleep(1.0)
        now = cache.stamp(company)
        served = now is not None and cache.get(("k",), now) is not None
        assert not served, "a listener that never receives a notice is trusted: the stale answer is served"
    finally:
        cache.stopped = True
        if cache.backend_pid is not None:
            with psycopg.connect(**admin, autocommit=True) as conn:
                conn.execute("SELECT pg_terminate_backend(%s)", [cache.backend_pid])
        thread.join(timeout=5)
        with psycopg.connect(**admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {elsewhere} WITH (FORCE)")
