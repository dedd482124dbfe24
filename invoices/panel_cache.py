"""The panel reads' answers remembered per process, dropped the moment PostgreSQL says their company's
data changed (issue 12).

A rep's panel reloads on every deal page and revalidates once a second while visible; most of those
reads find nothing new. Even the cheapest statement costs a PostgreSQL round trip, which on this
stack is most of a read's time (README "Performance": `/readyz`, one `SELECT 1`, runs at a third of
the bare view's speed). So each web process keeps the last answer of each (member, URL, language,
company day) and serves it, as a 200 or a 304, without touching the database, for as long as nothing
the answer depends on has changed.

How it knows: triggers (migration invoices 0010) on every table the panel statements read send
`NOTIFY panel_changed, '<company id>'` when a transaction that wrote to it commits ('*' for a user
row: every company). A daemon thread per process LISTENs on its own connection and drops that
company's answers. Races are closed by stamps: an answer is stored only if no notice for its company
(and no reconnect) arrived since its read began, and a notice arriving after it was stored drops it.
While the listener is not connected (starting, or after losing its connection) nothing is served
from or stored in the cache, and everything remembered is dropped on each (re)connect, since notices
sent meanwhile are lost. A change is therefore visible to the next read once the notice has reached
the process: on loopback well under a millisecond after the commit (measured in
tests/invoices/test_panel_cache.py).

What the key holds: the member's seat fingerprint (member, rights, language, connection facts:
panel_seats.fingerprint), the URL with its query, the active language and the company's date (the
overdue flags are worked out at read time). The token itself is still verified on every request.

Off on SQLite (no LISTEN) and when PANEL_CACHE_BYTES is 0 (the test settings: tests inside a
rolled-back transaction never commit, so no notice would ever come); bounded by PANEL_CACHE_BYTES per
process, least recently used first out.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from django.conf import settings
from django.db import connection as db

logger = logging.getLogger(__name__)

CHANNEL = "panel_changed"
ALL = "*"
PING_SECONDS = 10.0  # an idle listener checks its connection this often
RETRY_SECONDS = (0.5, 1, 2, 5, 10)  # back-off between reconnects


@dataclass(frozen=True)
class Answer:
    """A remembered read: its ETag and, when a 200 was read, its body (None: only a 304 was seen)."""

    etag: str
    body: bytes | None
    stamp: tuple[int, int]
    company: int


class PanelCache:
    """Answers keyed by the caller's key, per company, with stamps (epoch, company generation)."""

    def __init__(self, limit_bytes: int):
        self.limit = limit_bytes
        self.listening = False
        self.stopped = False  # reset(): the listener ends
        self.backend_pid: int | None = None  # the listener's PostgreSQL backend
        self.params: dict = {}  # its connection's parameters
        self._lock = threading.Lock()
        self._answers: OrderedDict[tuple, Answer] = OrderedDict()
        self._keys_of: dict[int, set[tuple]] = {}
        self._generation: dict[int, int] = {}
        self._epoch = 0
        self._bytes = 0

    # -- reading and storing ---------------------------------------------------------------------

    def stamp(self, company: int) -> tuple[int, int] | None:
        """Taken before a read: None while the cache may not be used."""
        if not self.listening:
            return None
        return (self._epoch, self._generation.get(company, 0))

    def get(self, key: tuple, stamp: tuple[int, int]) -> Answer | None:
        with self._lock:
            answer = self._answers.get(key)
            if answer is None or answer.stamp != stamp:
                return None
            self._answers.move_to_end(key)
            return answer

    def put(self, key: tuple, answer: Answer) -> bool:
        """Store `answer` unless a notice for its company (or a reconnect) came since its stamp."""
        size = len(answer.body or b"") + 200
        with self._lock:
            if not self.listening or answer.stamp != (self._epoch, self._generation.get(answer.company, 0)):
                return False
            self._drop(key)
            self._answers[key] = answer
            self._keys_of.setdefault(answer.company, set()).add(key)
            self._bytes += size
            while self._bytes > self.limit and self._answers:
                self._drop(next(iter(self._answers)))
            return key in self._answers

    def _drop(self, key: tuple) -> None:
        answer = self._answers.pop(key, None)
        if answer is not None:
            self._bytes -= len(answer.body or b"") + 200
            keys = self._keys_of.get(answer.company)
            if keys is not None:
                keys.discard(key)

    # -- notices ---------------------------------------------------------------------------------

    def changed(self, company: str) -> None:
        """A notice: that company's data changed ('*' or anything unreadable: every company's)."""
        with self._lock:
            if company.isdigit():
                pk = int(company)
                self._generation[pk] = self._generation.get(pk, 0) + 1
                for key in self._keys_of.pop(pk, set()):
                    self._drop(key)
            else:
                self._forget_all()

    def set_listening(self, listening: bool) -> None:
        """Connected (or lost): either way, what was remembered may have missed notices."""
        with self._lock:
            self._forget_all()
            self.listening = listening

    def _forget_all(self) -> None:
        self._epoch += 1
        self._answers.clear()
        self._keys_of.clear()
        self._bytes = 0

    def __len__(self) -> int:
        return len(self._answers)

    @property
    def size(self) -> int:
        return self._bytes


# -- the process's cache and its listener ------------------------------------------------------

_state_lock = threading.Lock()
_cache: PanelCache | None = None
_pid: int | None = None
_thread: threading.Thread | None = None


def current() -> PanelCache | None:
    """This process's cache (its listener started on first use), or None when the cache is off."""
    global _cache, _pid, _thread
    if _pid == os.getpid():
        return _cache
    with _state_lock:
        if _pid != os.getpid():  # first use in this process (or a fork of one that used it)
            limit = int(getattr(settings, "PANEL_CACHE_BYTES", 0))
            _cache = PanelCache(limit) if limit > 0 and db.vendor == "postgresql" else None
            if _cache is not None:
                _cache.params = _connection_params()
                _thread = threading.Thread(target=_listen, args=(_cache,), name="panel-cache-listener", daemon=True)
                _thread.start()
            _pid = os.getpid()
    return _cache


def reset() -> None:
    """Forget the process's cache and end its listener (tests, benchmarks); the next current() starts
    afresh from the settings."""
    global _cache, _pid
    with _state_lock:
        cache, thread = _cache, _thread
        _cache, _pid = None, None
    if cache is None:
        return
    cache.stopped = True
    cache.set_listening(False)
    if cache.backend_pid is not None:
        # Wake the listener at once (a test database cannot be dropped under it), from a connection
        # of our own: Django's may be closed or blocked by then.
        import psycopg

        with psycopg.connect(**cache.params, autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(%s)", [cache.backend_pid])
    if thread is not None:
        thread.join(timeout=5)


def _connection_params() -> dict:
    """Django's own connection parameters, minus what only Django's wrapper understands."""
    params = db.get_connection_params()
    for name in ("cursor_factory", "context", "prepare_threshold"):
        params.pop(name, None)
    return params


def _listen(cache: PanelCache) -> None:
    import psycopg

    failures = 0
    while not cache.stopped:
        try:
            with psycopg.connect(**cache.params, autocommit=True) as conn:
                conn.execute(f"LISTEN {CHANNEL}")
                cache.backend_pid = conn.info.backend_pid
                cache.set_listening(True)
                failures = 0
                while not cache.stopped:
                    for notice in conn.notifies(timeout=PING_SECONDS):
                        cache.changed(notice.payload)
                        if cache.stopped:
                            break
                    conn.execute("SELECT 1")  # a connection that died while idle shows up here
        except Exception:  # any failure: stop serving from the cache, reconnect
            if not cache.stopped:
                logger.warning("panel cache listener lost its connection; the cache is off until it reconnects")
        cache.backend_pid = None
        cache.set_listening(False)
        if cache.stopped:
            return
        time.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
        failures += 1
