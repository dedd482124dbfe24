"""The panel reads' answers remembered per process, dropped when PostgreSQL says their company's data
changed (issue 12).

A rep's panel reloads on every deal page and revalidates once a second while visible; most of those
reads find nothing new. Even the cheapest statement costs a PostgreSQL round trip, which on this
stack is most of a read's time (README "Performance": `/readyz`, one `SELECT 1`, runs at a third of
the bare view's speed). So each web process keeps the last answer of each (member seat, URL, language,
company day) and serves it, as a 200 or a 304, without touching the database, for as long as nothing
the answer depends on has changed.

How it knows: triggers (migration invoices 0010) on every table the panel statements read send
`NOTIFY panel_changed, '<company id>'` when a transaction that wrote to it commits ('*' on TRUNCATE:
every company). A daemon thread per process LISTENs on its own connection and drops that company's
answers. Races are closed by stamps: an answer is stored only if no notice for its company (and no
reconnect) arrived since its read began, and a notice arriving after it was stored drops it.

When to trust the listener: only while its probes come back. Every PING_SECONDS it sends a notice of
its own (`probe:…`) through a second connection made like Django's, the writers' path; the cache is
used only while the last probe came back less than DEAD_AFTER probes' time ago. So a connection that
hangs without being reset, a listener that reaches another database than the writers, or LISTEN
behind a transaction-pooling PgBouncer (where notices never arrive) turn the cache off instead of
serving stale answers. Everything remembered is dropped whenever the listener (re)gains trust, since
notices sent meanwhile may be lost.

A change is visible to the next read once its notice reached the process: 5–6 ms after the commit in
tests/invoices/test_panel_cache.py (that includes the reads). The panel API's own writes do not wait
for it: after a POST/DELETE the process drops that company's answers itself (`forget_company`, from
PanelApi), so a panel's reload after its own action never needs the notice in the process that did it.

What the key holds (panel_seats._cache_key): the member's seat fingerprint (member, rights, language
choice, connection facts), the path, the query parameters the read uses, the active language and the
company's date (overdue is worked out at read time). The token is still verified on every request.

Off on SQLite (no LISTEN) and when PANEL_CACHE_BYTES is 0 (the test settings: tests inside a
rolled-back transaction never commit, so no notice would ever come); bounded by PANEL_CACHE_BYTES per
process (bodies, keys and a per-answer allowance for the objects), least recently used first out.
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
PROBE = "probe:"
PING_SECONDS = 1.0  # a probe this often
DEAD_AFTER = 3  # probes' time without one coming back: the cache is off
RETRY_SECONDS = (0.5, 1, 2, 5, 10)  # back-off between reconnects
ANSWER_OVERHEAD = 512  # bytes per remembered answer besides its body and key: its Python objects
# The listener's connections give up on a silent peer within seconds, not the kernel's 15 minutes.
KEEPALIVES = {
    "connect_timeout": 10,
    "keepalives": 1,
    "keepalives_idle": 5,
    "keepalives_interval": 2,
    "keepalives_count": 2,
    "tcp_user_timeout": 10_000,
}


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
        self.listening = False  # trusted: the listener's last probe came back in time
        self.stopped = False  # reset(): the listener ends
        self.backend_pid: int | None = None  # the listener's PostgreSQL backend
        self.params: dict = {}  # the listener's connection parameters
        self.probe_params: dict = {}  # the probes' (the writers' path); empty: the same as Django's
        self.last_probe = 0.0  # time.monotonic() of the last probe that came back
        self._lock = threading.Lock()
        self._answers: OrderedDict[tuple, tuple[Answer, int]] = OrderedDict()
        self._keys_of: dict[int, set[tuple]] = {}
        self._generation: dict[int, int] = {}
        self._epoch = 0
        self._bytes = 0

    # -- reading and storing ---------------------------------------------------------------------

    def trusted(self) -> bool:
        return self.listening and time.monotonic() - self.last_probe <= DEAD_AFTER * PING_SECONDS

    def stamp(self, company: int) -> tuple[int, int] | None:
        """Taken before a read: None while the cache may not be used."""
        if not self.trusted():
            return None
        return (self._epoch, self._generation.get(company, 0))

    def get(self, key: tuple, stamp: tuple[int, int]) -> Answer | None:
        with self._lock:
            held = self._answers.get(key)
            if held is None or held[0].stamp != stamp:
                return None
            self._answers.move_to_end(key)
            return held[0]

    def put(self, key: tuple, answer: Answer) -> bool:
        """Store `answer` unless a notice for its company (or a loss of trust) came since its stamp."""
        size = len(answer.body or b"") + len(answer.etag) + len(repr(key)) + ANSWER_OVERHEAD
        with self._lock:
            if not self.trusted() or answer.stamp != (self._epoch, self._generation.get(answer.company, 0)):
                return False
            self._drop(key)
            self._answers[key] = (answer, size)
            self._keys_of.setdefault(answer.company, set()).add(key)
            self._bytes += size
            while self._bytes > self.limit and self._answers:
                self._drop(next(iter(self._answers)))
            return key in self._answers

    def _drop(self, key: tuple) -> None:
        held = self._answers.pop(key, None)
        if held is not None:
            answer, size = held
            self._bytes -= size
            keys = self._keys_of.get(answer.company)
            if keys is not None:
                keys.discard(key)

    # -- notices ---------------------------------------------------------------------------------

    def changed(self, payload: str) -> None:
        """A notice: that company's data changed ('*' or anything unreadable: every company's)."""
        if payload.isdigit():
            self.forget(int(payload))
        else:
            with self._lock:
                self._forget_all()

    def forget(self, company: int) -> None:
        """Drop the company's answers, and void those being read (their stamps)."""
        with self._lock:
            self._generation[company] = self._generation.get(company, 0) + 1
            for key in self._keys_of.pop(company, set()):
                self._drop(key)

    def probed(self) -> None:
        """The listener's probe came back: notices reach it. Gaining trust forgets everything."""
        with self._lock:
            self.last_probe = time.monotonic()
            if not self.listening:
                self._forget_all()
                self.listening = True

    def set_listening(self, listening: bool) -> None:
        """Connected (or lost): either way, what was remembered may have missed notices."""
        with self._lock:
            self._forget_all()
            self.listening = listening
            if listening:
                self.last_probe = time.monotonic()

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


def forget_company(company: int) -> None:
    """This process has just changed the company's data (a panel action): drop its answers now,
    without waiting for PostgreSQL's notice (which other processes still get)."""
    cache = _cache if _pid == os.getpid() else None
    if cache is not None:
        cache.forget(company)


def reset() -> None:
    """Forget the process's cache and end its listener (tests, benchmarks); the next current() starts
    afresh from the settings."""
    global _cache, _pid
    with _state_lock:
        cache, thread = _cache, _thread
        _cache, _pid = None, None
    if cache is not None:
        stop(cache, thread)


def stop(cache: PanelCache, thread: threading.Thread | None) -> None:
    """End a listener now: from a connection of our own (Django's may be closed or blocked by then),
    so that a test database is droppable at once."""
    cache.stopped = True
    cache.set_listening(False)
    if cache.backend_pid is not None:
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
    token = f"{PROBE}{os.getpid()}:{id(cache)}:"
    while not cache.stopped:
        try:
            with (
                psycopg.connect(**{**KEEPALIVES, **cache.params}, autocommit=True) as conn,
                psycopg.connect(
                    **{**KEEPALIVES, **(cache.probe_params or _connection_params())}, autocommit=True
                ) as probe,
            ):
                conn.execute(f"LISTEN {CHANNEL}")
                cache.backend_pid = conn.info.backend_pid
                sent = 0
                while not cache.stopped:
                    sent += 1
                    probe.execute("SELECT pg_notify(%s, %s)", [CHANNEL, f"{token}{sent}"])
                    for notice in conn.notifies(timeout=PING_SECONDS):
                        if notice.payload.startswith(PROBE):
                            if notice.payload == f"{token}{sent}":
                                cache.probed()
                                failures = 0
                        else:
                            cache.changed(notice.payload)
                        if cache.stopped:
                            break
                    if cache.listening and not cache.trusted():
                        raise TimeoutError("the listener's probes stopped coming back")
        except Exception:  # any failure: stop serving from the cache, reconnect
            if not cache.stopped:
                logger.warning("panel cache listener: no notices; the cache is off until they arrive again")
        cache.backend_pid = None
        cache.set_listening(False)
        if cache.stopped:
            return
        time.sleep(RETRY_SECONDS[min(failures, len(RETRY_SECONDS) - 1)])
        failures += 1
