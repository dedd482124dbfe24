"""Serializing token refreshes: N concurrent callers, one call to the token endpoint."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction

_locks: defaultdict[str, threading.Lock] = defaultdict(threading.Lock)
_guard = threading.Lock()


@contextmanager
def serialized(key: str) -> Iterator[None]:
    """Run the block alone for `key`.

    PostgreSQL: a transaction, in which the caller locks its row with SELECT ... FOR UPDATE and
    re-reads it, so every worker process waits for the one refreshing. SQLite (the embedded demo,
    one process) has no row locks: an in-process lock instead, and no transaction, so that the
    HTTP call made inside the block is not tangled with an open SQLite transaction.
    """
    if connection.features.has_select_for_update:
        with transaction.atomic():
            yield
        return
    with _guard:
        lock = _locks[key]
    with lock:
        yield
