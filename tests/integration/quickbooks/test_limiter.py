"""The per-realm limiter: ≤ N calls per sliding window and ≤ M in flight, locally and through Redis."""

from __future__ import annotations

import os
import threading
import time
import uuid

import pytest

from integration.errors import RateLimited
from integration.quickbooks.limiter import LimiterConfig, LocalLimiter, RedisLimiter

# The Redis variant runs wherever Redis is configured (CI); the local one always runs.
KINDS = ["local", *(["redis"] if os.environ.get("REDIS_URL") else [])]


class FakeClock:
    def __init__(self):
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def make(kind: str, config: LimiterConfig, clock=time.time, sleep=time.sleep):
    if kind == "local":
        return LocalLimiter(config, clock=clock, sleep=sleep)
    import redis

    return RedisLimiter(config, client=redis.Redis.from_url(os.environ["REDIS_URL"]), clock=clock, sleep=sleep)


@pytest.fixture
def realm():
    return f"test-{uuid.uuid4().hex}"


@pytest.mark.parametrize("kind", KINDS)
def test_window_allows_exactly_the_limit_then_waits_until_the_oldest_call_leaves(kind, realm):
    clock = FakeClock()
    config = LimiterConfig(per_window=450, max_in_flight=1000, guard_seconds=0)
    limiter = make(kind, config, clock=clock, sleep=clock.sleep)
    for index in range(450):
        assert limiter.try_acquire(realm, f"lease{index}") == 0
        clock.now += 0.01
    wait = limiter.try_acquire(realm, "one-too-many")
    # The first call was made 4.5 s ago, so it leaves the window in 55.5 s.
    assert wait == pytest.approx(55.5, abs=0.01)
    clock.now += wait + 0.001  # Redis scores are milliseconds
    assert limiter.try_acquire(realm, "after-the-window") == 0


@pytest.mark.parametrize("kind", KINDS)
def test_the_guard_keeps_a_call_in_the_window_a_little_longer(kind, realm):
    clock = FakeClock()
    limiter = make(kind, LimiterConfig(per_window=1, guard_seconds=1.0), clock=clock, sleep=clock.sleep)
    assert limiter.try_acquire(realm, "first") == 0
    limiter.release(realm, "first")
    assert limiter.try_acquire(realm, "second") == pytest.approx(61.0, abs=0.01)


@pytest.mark.parametrize("kind", KINDS)
def test_a_pause_holds_off_the_realm_and_is_never_shortened(kind, realm):
    clock = FakeClock()
    limiter = make(kind, LimiterConfig(), clock=clock, sleep=clock.sleep)
    limiter.pause(realm, 60)
    limiter.pause(realm, 5)  # a shorter, later pause does not cut the first one short
    assert limiter.try_acquire(realm, "a") == pytest.approx(60, abs=0.01)
    assert limiter.try_acquire(realm + "-other", "a") == 0
    clock.now += 60.01
    assert limiter.try_acquire(realm, "a") == 0


@pytest.mark.parametrize("kind", KINDS)
def test_in_flight_is_capped_and_release_frees_a_slot(kind, realm):
    clock = FakeClock()
    limiter = make(kind, LimiterConfig(max_in_flight=4), clock=clock, sleep=clock.sleep)
    leases = [f"l{i}" for i in range(4)]
    for lease in leases:
        assert limiter.try_acquire(realm, lease) == 0
    assert limiter.try_acquire(realm, "fifth") > 0
    limiter.release(realm, leases[0])
    assert limiter.try_acquire(realm, "fifth") == 0


@pytest.mark.parametrize("kind", KINDS)
def test_a_dead_workers_lease_expires(kind, realm):
    clock = FakeClock()
    limiter = make(kind, LimiterConfig(max_in_flight=1, lease_seconds=50), clock=clock, sleep=clock.sleep)
    assert limiter.try_acquire(realm, "crashed") == 0
    assert limiter.try_acquire(realm, "next") > 0
    clock.now += 51
    assert limiter.try_acquire(realm, "next") == 0


@pytest.mark.parametrize("kind", KINDS)
def test_realms_do_not_share_a_budget(kind, realm):
    clock = FakeClock()
    limiter = make(kind, LimiterConfig(per_window=2, max_in_flight=10), clock=clock, sleep=clock.sleep)
    assert limiter.try_acquire(realm, "a") == 0
    assert limiter.try_acquire(realm, "b") == 0
    assert limiter.try_acquire(realm, "c") > 0
    assert limiter.try_acquire(realm + "-other", "c") == 0


@pytest.mark.parametrize("kind", KINDS)
def test_waiting_longer_than_max_wait_raises_rate_limited(kind, realm):
    clock = FakeClock()
    limiter = make(kind, LimiterConfig(per_window=1, max_wait_seconds=5), clock=clock, sleep=clock.sleep)
    with limiter.slot(realm):
        pass
    started = clock.now
    with pytest.raises(RateLimited) as excinfo:
        limiter.acquire(realm)
    assert excinfo.value.retry_after == pytest.approx(61, abs=0.01)  # the window plus its 1 s guard
    assert clock.now == started  # it refused at once instead of sleeping past the deadline


@pytest.mark.parametrize("kind", KINDS)
def test_slot_waits_for_the_window_then_proceeds(kind, realm):
    clock = FakeClock()
    limiter = make(kind, LimiterConfig(per_window=3, max_wait_seconds=120), clock=clock, sleep=clock.sleep)
    for _ in range(3):
        with limiter.slot(realm):
            pass
    started = clock.now
    with limiter.slot(realm):
        pass
    assert clock.now - started >= 60


@pytest.mark.parametrize("kind", KINDS)
def test_threads_never_exceed_the_in_flight_cap(kind, realm):
    limiter = make(kind, LimiterConfig(per_window=10_000, max_in_flight=4, max_wait_seconds=30))
    lock = threading.Lock()
    state = {"now": 0, "peak": 0, "done": 0}

    def work():
        for _ in range(10):
            with limiter.slot(realm):
                with lock:
                    state["now"] += 1
                    state["peak"] = max(state["peak"], state["now"])
                time.sleep(0.002)
                with lock:
                    state["now"] -= 1
                    state["done"] += 1

    threads = [threading.Thread(target=work) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert state["done"] == 120
    assert state["peak"] == 4  # the cap was reached (so the test is meaningful) and never passed


def redis_server_clock_counts_calls_across_limiter_instances(realm):
    import redis

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    one = RedisLimiter(LimiterConfig(per_window=2, max_in_flight=10), client=client, server_time=True)
    two = RedisLimiter(LimiterConfig(per_window=2, max_in_flight=10), client=client, server_time=True)
    assert one.try_acquire(realm, "a") == 0
    assert two.try_acquire(realm, "b") == 0
    # A third call from either "worker" waits about a minute (scores are Redis's clock, in ms).
    assert 59 < one.try_acquire(realm, "c") <= 61
    assert client.zcard(one.keys(realm)[0]) == 2


if "redis" in KINDS:  # only where Redis is configured, as a real test rather than a skip
    test_redis_server_clock_counts_calls_across_limiter_instances = (
        redis_server_clock_counts_calls_across_limiter_instances
    )


def test_redis_keys_lead_with_the_realm():
    limiter = RedisLimiter(LimiterConfig(), client=_FakeRedis())
    assert limiter.keys("9130357992") == (
        "qbo:{9130357992}:calls",
        "qbo:{9130357992}:inflight",
        "qbo:{9130357992}:paused",
    )


class _FakeRedis:
    def register_script(self, script):
        return lambda **kwargs: 0


def test_reset_all_forgets_every_realm(settings):
    from integration.quickbooks import limiter as module

    settings.QBO_RATE_LIMIT_PER_MINUTE = 1
    first = module.get_limiter()
    realm = f"reset-{uuid.uuid4().hex}"
    lease = first.acquire(realm)
    first.release(realm, lease)
    assert first.try_acquire(realm, "again") > 0
    module.reset_all()
    assert module.get_limiter().try_acquire(realm, "again") == 0


def test_pointing_at_another_qbo_forgets_pauses(settings):
    from integration.quickbooks import limiter as module

    realm = f"moved-{uuid.uuid4().hex}"
    module.get_limiter().pause(realm, 60)
    assert module.get_limiter().try_acquire(realm, "a") > 0
    settings.QBO_API_BASE_URL = "http://127.0.0.1:9/another-sandbox"
    assert module.get_limiter().try_acquire(realm, "a") == 0
