"""The panel's remembered answers (invoices/panel_cache.py) attacked: each test is a hole a review
found in the first version, and fails on it."""

from __future__ import annotations

import time

import pytest

from invoices import panel_cache, panel_seats
from tenants.models import Company, Membership
from tests.invoices.test_panel_api import panel
from tests.invoices.test_panel_cache import _eventually, _reads, _url, postgres_only
from tests.personas import add_invoices, make_personas


def _notice_processed(cache, company_pk: int, write) -> None:
    """Run `write` (committed at once: transactional test) and wait until its notice reached the cache."""
    before = cache.stamp(company_pk)
    write()
    _eventually(lambda: cache.stamp(company_pk) != before)


@postgres_only
def test_a_seat_that_changes_between_its_reload_and_the_stamp_is_not_served_from_the_cache(live_cache, monkeypatch):
    """A read made without the seat check is not remembered. Found: after SeatChanged, fast_reads reloads
    the seat, then takes the stamp, then reads WITHOUT re-checking the seat (fingerprint=None). A change
    committed (and noticed) between the reload and the stamp is therefore not seen by the read, and its
    answer was stored under the stale seat's
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
    """When the path to PostgreSQL goes silent (no RST: failover, a NAT or firewall dropping idle
    connections, a partition), notices committed meanwhile never arrive. A `SELECT 1` health check
    would block for the kernel's ~15 minutes while the cache stayed trusted; the listener's probes
    stop coming back instead, and after DEAD_AFTER probes' time no answer is served."""
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
    """PANEL_CACHE_BYTES counts what an answer holds: its body, ETag and key and an allowance for its
    Python objects, 304s (no body) too; and only the query parameters a read uses are in the key.
    Found: keys were not counted, so one member padding query strings (4 kB each, gunicorn's limit)
    held ~20 x the bound (64 MiB -> ~1.3 GB per worker)."""
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
    """A user row's notice names the user's companies, and only for what the panel shows of a user
    (name, email, is_active). Found: every write to any user row sent '*', and every sign-in writes
    last_login, so each sign-in anywhere emptied every process's cache for every tenant."""
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
            " JOIN pg_proc p ON p.oid = t.tgfoid"
            " WHERE p.proname LIKE 'invoices\\_panel\\_notify%%' AND NOT t.tgisinternal"
            " AND t.tgenabled <> 'D'"
        )
        found: dict[str, int] = {}
        for table, tgtype in cursor.fetchall():
            found[table] = found.get(table, 0) | tgtype
        return found


@postgres_only
@pytest.mark.django_db
def test_the_database_has_an_enabled_notify_trigger_on_every_table_the_panel_reads():
    """The database (not only migration 0010's constant) has an enabled notify trigger on every table the
    panel statements read, for inserts, updates and deletes: a later migration dropping or disabling
    one, or a table added to READ_MODELS, fails here."""
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
    """TRUNCATE (manage.py flush, an operator emptying a table, a restore) fires no row trigger: a
    statement-level AFTER TRUNCATE trigger sends '*'."""
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
def test_a_panel_action_is_seen_by_the_reload_right_after_it_in_the_same_process(live_cache, monkeypatch):
    """The process that commits a write learns of it from PostgreSQL's notice, delivered to its
    listener thread, which must then win the GIL (switch interval 5 ms) from the request threads: a
    read right after the commit in the same process was served the answer from before the write in
    about half of 20 tries. A panel action (PanelApi, unsafe method) therefore drops its company's
    answers in its own process at once (panel_cache.forget_company); other processes get the notice.
    (A write made outside the panel API, e.g. a test's ORM update, still waits for the notice.)"""
    from invoices.models import Invoice, InvoiceDeal

    personas = add_invoices(make_personas())
    invoice = Invoice.all_companies.get(pk=personas.invoice_a.pk)
    deals = range(900, 910)
    for deal in deals:
        InvoiceDeal.all_companies.create(company=invoice.company, invoice=invoice, deal_id=deal)
    time.sleep(0.3)  # their notices are in
    alice = panel(personas.alice_membership)
    # The notices are slow today: only the process's own drop can make the reload right.
    monkeypatch.setattr(live_cache, "changed", lambda payload: None)
    stale = 0
    for deal in deals:
        url = f"/api/v1/deals/{deal}/invoices"
        assert len(alice.get(url).json()["invoices"]) == 1
        assert _reads(alice, url)[1] == 0  # remembered
        assert alice.delete(f"/api/v1/invoices/{invoice.pk}/deals/{deal}").status_code == 200
        if alice.get(url).json()["invoices"]:
            stale += 1
    assert stale == 0, f"{stale} of 10 reloads right after this process's own unlink were stale"


@postgres_only
def test_a_listener_that_receives_no_notices_is_not_trusted(transactional_db):
    """A listener whose notices never arrive (LISTEN behind a transaction-pooling PgBouncer, or a
    connection reaching another database than the writers') is never trusted: its probes, sent the
    writers' way, must come back first. Emulated with the listener on another database of the server."""
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
        _eventually(lambda: cache.backend_pid is not None)  # it connected and LISTENs (elsewhere)
        time.sleep(4 * panel_cache.PING_SECONDS)  # its probes, sent the writers' way, never come back
        assert not cache.listening and cache.stamp(company) is None
        assert not cache.put(("k",), panel_cache.Answer(etag='"e"', body=b"{}", stamp=(0, 0), company=company))
        with connection.cursor() as cursor:
            cursor.execute("UPDATE invoices_invoice SET status = 'paid' WHERE id = %s", [personas.invoice_a.pk])
        assert cache.stamp(company) is None, "a listener that never receives a notice is trusted"
    finally:
        cache.stopped = True
        if cache.backend_pid is not None:
            with psycopg.connect(**admin, autocommit=True) as conn:
                conn.execute("SELECT pg_terminate_backend(%s)", [cache.backend_pid])
        thread.join(timeout=5)
        with psycopg.connect(**admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {elsewhere} WITH (FORCE)")
