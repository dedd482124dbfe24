"""Per-realm limiter for QBO calls: at most N calls per sliding minute and M in flight.

Intuit allows 500 requests/min and 10 concurrent requests per realm and app, then answers 429
(reference §6, https://developer.intuit.com/app/developer/qbo/docs/learn/limits-and-throttles).
We stay under that with margin (450/min, 4 in flight by default) across every web and worker
process by keeping the counters in Redis; without Redis (the embedded default, one process) an
in-process limiter with the same rules is used.

Both keep two sets per realm: the start times of calls in the last window, and the in-flight
leases with an expiry. A lease lasts as long as one call can (the HTTP timeout plus a margin), and
names its holder (host and pid), so the slot of a process that died is taken back as soon as
another process on that host finds the slots full, instead of after the lease.

A web request waits for a slot only briefly (QBO_LIMITER_MAX_WAIT_SECONDS) and then answers 503
with Retry-After or 202 with the intent stored; background work (Celery tasks, marked with
`background_waits`) waits longer (QBO_LIMITER_BACKGROUND_WAIT_SECONDS).
"""

from __future__ import annotations

import abc
import contextvars
import functools
import os
import random
import socket
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.translation import gettext as _

from integration.errors import RateLimited
from integration.http import deadline_left

Clock = Callable[[], float]
Sleep = Callable[[float], None]

# Polling interval while all in-flight slots are taken (seconds, before jitter).
_INFLIGHT_POLL = 0.01

_background = contextvars.ContextVar("qbo_limiter_background", default=False)
_HOST = socket.gethostname()[:60].replace(":", "_")


def set_background(on: bool) -> contextvars.Token:
    """Mark the current thread's work as background (long limiter waits) or not."""
    return _background.set(on)


def in_background() -> bool:
    """Whether the current work is background (a Celery task), not a web request."""
    return _background.get()


@contextmanager
def background_waits() -> Iterator[None]:
    token = _background.set(True)
    try:
        yield
    finally:
        _background.reset(token)


def _new_lease() -> str:
    return f"{_HOST}:{os.getpid()}:{uuid.uuid4().hex}"


def _holder_dead(lease: str) -> bool:
    """True when the lease names a process on this host that no longer exists."""
    host, _sep, rest = lease.partition(":")
    pid_text = rest.partition(":")[0]
    if host != _HOST or not pid_text.isdigit() or int(pid_text) == os.getpid():
        return False
    try:
        os.kill(int(pid_text), 0)
    except ProcessLookupError:
        return True
    except OSError:  # exists, owned by someone else
        return False
    return False


@dataclass
class LimiterConfig:
    per_window: int = 450
    window_seconds: float = 60.0
    max_in_flight: int = 4
    max_wait_seconds: float = 2.0
    background_wait_seconds: float = 30.0
    lease_seconds: float = 25.0
    # A call leaves the window only this long after the minute is over: absorbs clock skew
    # between workers and the gap between taking a slot and the request leaving.
    guard_seconds: float = 1.0

    @property
    def span(self) -> float:
        return self.window_seconds + self.guard_seconds

    @classmethod
    def from_settings(cls) -> LimiterConfig:
        return cls(
            per_window=settings.QBO_RATE_LIMIT_PER_MINUTE,
            max_in_flight=settings.QBO_MAX_IN_FLIGHT,
            max_wait_seconds=settings.QBO_LIMITER_MAX_WAIT_SECONDS,
            background_wait_seconds=getattr(settings, "QBO_LIMITER_BACKGROUND_WAIT_SECONDS", 30.0),
            # One call: the HTTP timeout (connect and first byte) and a margin for the body.
            lease_seconds=settings.HTTP_TIMEOUT_SECONDS + 5,
        )


class BaseLimiter(abc.ABC):
    """`with limiter.slot(realm_id): call()` waits for a free slot, or raises RateLimited."""

    def __init__(self, config: LimiterConfig, *, clock: Clock = time.time, sleep: Sleep = time.sleep):
        self.config = config
        self.clock = clock
        self.sleep = sleep

    @abc.abstractmethod
    def try_acquire(self, key: str, lease: str) -> float:
        """Take a slot now and return 0, or return how long to wait (seconds) before trying again."""

    @abc.abstractmethod
    def release(self, key: str, lease: str) -> None:
        """Give the slot of `lease` back."""

    @abc.abstractmethod
    def pause(self, key: str, seconds: float) -> None:
        """QBO said 429: nobody calls this realm for `seconds` (Intuit asks for 60 s)."""

    def acquire(self, key: str) -> str:
        lease = _new_lease()
        wait_limit = self.config.background_wait_seconds if _background.get() else self.config.max_wait_seconds
        left = deadline_left()
        if left is not None:
            wait_limit = min(wait_limit, left)  # a web request never waits past its own deadline
        deadline = self.clock() + wait_limit
        while True:
            wait = self.try_acquire(key, lease)
            if wait <= 0:
                return lease
            if self.clock() + wait > deadline:
                raise RateLimited(
                    _("Too many QuickBooks calls for this company right now; try again shortly."),
                    service="quickbooks",
                    code="local_limit",
                    retry_after=wait,
                )
            # Jitter spreads waiting workers so they do not stampede the next free slot.
            self.sleep(wait * random.uniform(1.0, 1.2))  # noqa: S311 (jitter, not crypto)

    @contextmanager
    def slot(self, key: str) -> Iterator[None]:
        lease = self.acquire(key)
        try:
            yield
        finally:
            self.release(key, lease)


@dataclass
class _RealmState:
    starts: deque = field(default_factory=deque)
    leases: dict = field(default_factory=dict)  # lease -> expiry
    paused_until: float = 0.0


class LocalLimiter(BaseLimiter):
    """The same rules inside one process (threads share it)."""

    def __init__(self, config: LimiterConfig, **kwargs):
        super().__init__(config, **kwargs)
        self._lock = threading.Lock()
        self._realms: dict[str, _RealmState] = {}

    def try_acquire(self, key: str, lease: str) -> float:
        now = self.clock()
        with self._lock:
            state = self._realms.setdefault(key, _RealmState())
            if state.paused_until > now:
                return state.paused_until - now
            while state.starts and state.starts[0] <= now - self.config.span:
                state.starts.popleft()
            for stale in [name for name, expiry in state.leases.items() if expiry <= now]:
                del state.leases[stale]
            if len(state.starts) >= self.config.per_window:
                return state.starts[0] + self.config.span - now
            if len(state.leases) >= self.config.max_in_flight:
                return _INFLIGHT_POLL
            state.starts.append(now)
            state.leases[lease] = now + self.config.lease_seconds
            return 0.0

    def release(self, key: str, lease: str) -> None:
        with self._lock:
            state = self._realms.get(key)
            if state is not None:
                state.leases.pop(lease, None)

    def pause(self, key: str, seconds: float) -> None:
        with self._lock:
            state = self._realms.setdefault(key, _RealmState())
            state.paused_until = max(state.paused_until, self.clock() + seconds)


# Atomic check-and-take in Redis. KEYS: window zset, in-flight zset. Scores are milliseconds of
# Redis's own clock (one clock for every worker host), or of the caller's when it passes one
# (the benchmark's scaled clock); members are lease ids.
_ACQUIRE_LUA = """
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local window = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local max_inflight = tonumber(ARGV[4])
local lease = ARGV[5]
local lease_ms = tonumber(ARGV[6])
local paused_until = tonumber(redis.call('GET', KEYS[3]) or '0')
if paused_until > now then
  return paused_until - now
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return math.max(1, tonumber(oldest[2]) + window - now)
end
if redis.call('ZCARD', KEYS[2]) >= max_inflight then
  return -1
end
redis.call('ZADD', KEYS[1], now, lease)
redis.call('ZADD', KEYS[2], now + lease_ms, lease)
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 2))
redis.call('PEXPIRE', KEYS[2], math.ceil(lease_ms * 2))
return 0
"""


# KEYS: pause key. ARGV: now (ms, or -1 for Redis's clock), pause (ms). Never shortens a pause.
_PAUSE_LUA = """
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
local untl = now + tonumber(ARGV[2])
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if untl > current then
  redis.call('SET', KEYS[1], untl, 'PX', math.ceil(tonumber(ARGV[2])))
end
return 0
"""


class RedisLimiter(BaseLimiter):
    """Shared by every process that uses the same Redis."""

    def __init__(self, config: LimiterConfig, *, client, prefix: str = "qbo", server_time: bool = False, **kwargs):
        super().__init__(config, **kwargs)
        self.server_time = server_time
        self.client = client
        self.prefix = prefix
        self._acquire = client.register_script(_ACQUIRE_LUA)
        self._pause = client.register_script(_PAUSE_LUA)

    def keys(self, key: str) -> tuple[str, str, str]:
        # Keys lead with the realm; the braces keep them in one Redis Cluster slot.
        base = f"{self.prefix}:{{{key}}}"
        return f"{base}:calls", f"{base}:inflight", f"{base}:paused"

    def pause(self, key: str, seconds: float) -> None:
        now_ms = -1 if self.server_time else self.clock() * 1000.0
        self._pause(keys=[self.keys(key)[2]], args=[now_ms, max(seconds, 0.001) * 1000.0])

    def try_acquire(self, key: str, lease: str) -> float:
        now_ms = -1 if self.server_time else self.clock() * 1000.0
        result = self._acquire(
            keys=list(self.keys(key)),
            args=[
                now_ms,
                self.config.span * 1000.0,
                self.config.per_window,
                self.config.max_in_flight,
                lease,
                self.config.lease_seconds * 1000.0,
            ],
        )
        result = float(result)
        if result == 0:
            return 0.0
        if result < 0:
            if self.reclaim_dead(key):
                return self.try_acquire(key, lease)
            return _INFLIGHT_POLL
        return result / 1000.0

    def reclaim_dead(self, key: str) -> int:
        """Give back the slots of processes on this host that died holding them (kill -9, OOM)."""
        inflight = self.keys(key)[1]
        members = (v.decode() if isinstance(v, bytes) else v for v in self.client.zrange(inflight, 0, -1))
        dead = [m for m in members if _holder_dead(m)]
        return int(self.client.zrem(inflight, *dead)) if dead else 0

    def release(self, key: str, lease: str) -> None:
        self.client.zrem(self.keys(key)[1], lease)


@functools.cache
def _default_limiter() -> BaseLimiter:
    config = LimiterConfig.from_settings()
    if settings.REDIS_URL:
        import redis

        return RedisLimiter(config, client=redis.Redis.from_url(settings.REDIS_URL), server_time=True)
    return LocalLimiter(config)


def get_limiter() -> BaseLimiter:
    """The process-wide limiter chosen by settings (Redis when REDIS_URL is set)."""
    return _default_limiter()


def _reset(*, setting: str, **kwargs) -> None:
    if setting in {
        "REDIS_URL",
        "QBO_RATE_LIMIT_PER_MINUTE",
        "QBO_MAX_IN_FLIGHT",
        "QBO_LIMITER_MAX_WAIT_SECONDS",
        "QBO_LIMITER_BACKGROUND_WAIT_SECONDS",
        "HTTP_TIMEOUT_SECONDS",
    }:
        _default_limiter.cache_clear()
    elif setting == "QBO_API_BASE_URL":
        # Another QBO (tests point each one at a fresh sandbox): the old counters and pauses
        # belong to the old one. Settings never change at runtime in production.
        reset_all()


setting_changed.connect(_reset)


def reset_all() -> None:
    """Forget every realm's counters (tests and the demo reset; never needed in production)."""
    limiter = _default_limiter()
    if isinstance(limiter, RedisLimiter):
        keys = list(limiter.client.scan_iter(match=f"{limiter.prefix}:{{*}}:*", count=500))
        if keys:
            limiter.client.delete(*keys)
    _default_limiter.cache_clear()
