"""Drive the QBO limiter with a queue of calls on a scaled clock and measure what it let through.

Used by `bench/bench_quickbooks.py` (`make bench`); importable on its own for experiments.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from bisect import bisect_left
from dataclasses import dataclass

from integration.quickbooks.limiter import BaseLimiter, LimiterConfig, LocalLimiter, RedisLimiter


class ScaledClock:
    """Simulated seconds run `scale` times faster than real ones; sleeping is scaled the same way."""

    def __init__(self, scale: float):
        self.scale = scale
        self._real0 = time.monotonic()
        self._sim0 = 1_700_000_000.0

    def __call__(self) -> float:
        return self._sim0 + (time.monotonic() - self._real0) * self.scale

    def sleep(self, seconds: float) -> None:
        time.sleep(max(seconds, 0) / self.scale)


@dataclass
class LoadResult:
    calls: int
    workers: int
    limiters: int
    sim_seconds: float
    real_seconds: float
    max_in_any_minute: int
    peak_in_flight: int
    calls_per_minute: float


def max_in_window(starts: list[float], window: float) -> int:
    starts = sorted(starts)
    best = 0
    for index, start in enumerate(starts):
        # calls in [start, start + window)
        best = max(best, bisect_left(starts, start + window) - index)
    return best


def run_load(
    *,
    calls: int = 2000,
    workers: int = 16,
    limiters: int = 4,
    scale: float = 100.0,
    call_seconds: float = 0.25,
    config: LimiterConfig | None = None,
    redis_url: str = "",
) -> LoadResult:
    """`limiters` separate limiter instances (one per simulated worker process) share the realm."""
    config = config or LimiterConfig(per_window=450, max_in_flight=4, max_wait_seconds=3600, lease_seconds=60)
    clock = ScaledClock(scale)
    realm = f"bench-{uuid.uuid4().hex[:12]}"
    instances: list[BaseLimiter]
    if redis_url:
        import redis

        instances = [
            RedisLimiter(config, client=redis.Redis.from_url(redis_url), clock=clock, sleep=clock.sleep)
            for _ in range(limiters)
        ]
    else:
        shared = LocalLimiter(config, clock=clock, sleep=clock.sleep)
        instances = [shared]
        limiters = 1
    work: queue.Queue[int] = queue.Queue()
    for index in range(calls):
        work.put(index)
    lock = threading.Lock()
    starts: list[float] = []
    state = {"now": 0, "peak": 0}

    def worker(limiter: BaseLimiter) -> None:
        while True:
            try:
                work.get_nowait()
            except queue.Empty:
                return
            with limiter.slot(realm):
                with lock:
                    starts.append(clock())
                    state["now"] += 1
                    state["peak"] = max(state["peak"], state["now"])
                clock.sleep(call_seconds)
                with lock:
                    state["now"] -= 1

    real0, sim0 = time.monotonic(), clock()
    threads = [threading.Thread(target=worker, args=(instances[i % len(instances)],)) for i in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sim_seconds = clock() - sim0
    return LoadResult(
        calls=len(starts),
        workers=workers,
        limiters=limiters,
        sim_seconds=round(sim_seconds, 1),
        real_seconds=round(time.monotonic() - real0, 2),
        max_in_any_minute=max_in_window(starts, config.window_seconds),
        peak_in_flight=state["peak"],
        calls_per_minute=round(len(starts) / (sim_seconds / 60.0), 1),
    )
