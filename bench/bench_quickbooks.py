"""QuickBooks benchmarks (`make bench`).

1. Client + sandbox round trip over real HTTP on loopback: read, create and query latency.
2. The per-realm limiter under 2,000 queued calls from 16 workers on a scaled clock:
   the most calls it let start in any 60-second window, and the peak in flight.
Numbers are printed; the run fails if the limiter lets more than 450 calls start in a minute
or more than 4 run at once.
"""

from __future__ import annotations

import os
import statistics
import time

from bench.limiter_load import run_load
from integration.quickbooks.limiter import LimiterConfig

ROUNDS = 100  # per operation; 3 x 100 stays under the limiter's 450/min for one realm
LINE = {
    "Amount": 150.0,
    "DetailType": "SalesItemLineDetail",
    "SalesItemLineDetail": {"ItemRef": {"value": "2"}, "Qty": 3, "UnitPrice": 50},
}


def _timed(call, rounds: int) -> list[float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def _summary(name: str, samples: list[float]) -> str:
    ordered = sorted(samples)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return (
        f"{name:<7} n={len(samples):<4} mean={statistics.mean(samples):6.1f} ms  "
        f"p50={statistics.median(samples):6.1f} ms  p95={p95:6.1f} ms  max={ordered[-1]:6.1f} ms"
    )


def bench_round_trip(qbo, connected, client_of):
    client = client_of(connected)
    invoice = client.create("Invoice", {"CustomerRef": {"value": "1"}, "Line": [LINE]})
    reads = _timed(lambda: client.read("Invoice", invoice["Id"]), ROUNDS)
    creates = _timed(lambda: client.create("Invoice", {"CustomerRef": {"value": "1"}, "Line": [LINE]}), ROUNDS)
    queries = _timed(lambda: client.query("SELECT * FROM Invoice WHERE CustomerRef = '1' MAXRESULTS 20"), ROUNDS)
    # Our side of each call, without HTTP: token lookup (a DB read) and a limiter slot (Redis or local).
    tokens = _timed(client.tokens.get, ROUNDS)

    def slot():
        with client.limiter.slot(f"bench-overhead-{connected.pk}"):
            pass

    slots = _timed(slot, ROUNDS)
    # The same session to a trivial page of the same live server: the floor under every number above.
    health_url = f"{qbo.base_url}/healthz"
    baseline = _timed(lambda: client.session.get(health_url), ROUNDS)
    print("\nQBO client + sandbox round trip (loopback HTTP, token + limiter + call log included):")
    for name, samples in (
        ("read", reads),
        ("create", creates),
        ("query", queries),
        ("token", tokens),
        ("slot", slots),
        ("healthz", baseline),
    ):
        print("  " + _summary(name, samples))
    assert len(reads) == len(creates) == len(queries) == ROUNDS


def _limiter_line(kind: str, result) -> str:
    return (
        f"  {kind:<6} calls={result.calls} workers={result.workers} limiter instances={result.limiters} "
        f"simulated={result.sim_seconds:.0f} s (real {result.real_seconds:.1f} s)  "
        f"max in any 60 s={result.max_in_any_minute}  peak in flight={result.peak_in_flight}  "
        f"average={result.calls_per_minute:.0f}/min"
    )


def bench_limiter_holds_450_per_minute_under_2000_queued_calls():
    config = LimiterConfig(per_window=450, max_in_flight=4, max_wait_seconds=3600, lease_seconds=60)
    print("\nLimiter, one realm, 2,000 queued calls of 250 ms each, clock scaled 50x:")
    kinds = [("local", "")]
    if os.environ.get("REDIS_URL"):
        kinds.append(("redis", os.environ["REDIS_URL"]))
    for kind, url in kinds:
        result = run_load(calls=2000, workers=16, limiters=4, scale=50, config=config, redis_url=url)
        print(_limiter_line(kind, result))
        assert result.calls == 2000
        assert result.max_in_any_minute <= 450
        assert result.peak_in_flight <= 4
        # It is a limiter, not a brake: 2,000 calls at 450/min need a bit over four minutes.
        assert 240 <= result.sim_seconds <= 300
