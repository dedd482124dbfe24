"""Where one panel read spends its time (issue 12): in-process, Django's test client, PostgreSQL.

Not part of `make bench` (pytest collects bench_*.py there); run it on PostgreSQL with
`DATABASE_URL=… python -m pytest bench/profile_panel.py -q -s -p no:cacheprovider -o python_files="profile_*.py"
-o python_functions="profile_*"`. It loads BENCH_COMPANIES (10) x 1,000 invoices, warms up, then for each read
prints the per-request wall time, the statements (count and database time) and cProfile's top functions
(PROFILE_SORT=cumulative|tottime, PROFILE_TOP=45, PROFILE_REQUESTS=300, PROFILE_STATS=0 to skip them).
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import time

import pytest
from django.db import connection as db_connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from tests.personas import panel_token

N = int(os.environ.get("PROFILE_REQUESTS", 300))


def _measure(client: Client, label: str, path: str, headers: dict, *, status: int) -> None:
    for _ in range(20):  # warm: imports, caches, remembered seats, prepared plans
        assert client.get(path, headers=headers).status_code == status
    started = time.perf_counter()
    for _ in range(N):
        client.get(path, headers=headers)
    wall = (time.perf_counter() - started) / N * 1000
    db_connection.queries_log.clear()
    with CaptureQueriesContext(db_connection) as queries:
        client.get(path, headers=headers)
    db_ms = sum(float(q["time"]) for q in queries.captured_queries) * 1000
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(N):
        client.get(path, headers=headers)
    profiler.disable()
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).sort_stats(os.environ.get("PROFILE_SORT", "cumulative"))
    stats.print_stats(int(os.environ.get("PROFILE_TOP", 45)))
    print(f"\n=== {label}: {wall:.2f} ms per request; {len(queries)} queries, {db_ms:.2f} ms in the database")
    for q in queries.captured_queries:
        print(f"   {float(q['time']) * 1000:6.2f} ms  {q['sql'][:150]}")
    if os.environ.get("PROFILE_STATS", "1") == "1":
        print(out.getvalue())


@pytest.mark.django_db
def profile_panel_reads(settings):
    from bench import bench_panel_api

    if db_connection.vendor == "sqlite":
        pytest.fail("profile on PostgreSQL: set DATABASE_URL")
    settings.DEBUG = False
    bench_panel_api.COMPANIES = int(os.environ.get("BENCH_COMPANIES", 10))
    targets = bench_panel_api._populate()
    with db_connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    company, user = targets[0]
    auth = {"Authorization": f"Bearer {panel_token(company_id=company, user_id=user)}"}
    client = Client()
    deal = "/api/v1/deals/1/invoices"
    contact = "/api/v1/contact-invoices?deal_id=1&date_from=2026-01-01&date_to=2026-11-27"
    _measure(client, "bare view /healthz", "/healthz", {}, status=200)
    _measure(client, "deal invoices (200)", deal, auth, status=200)
    etag = client.get(deal, headers=auth)["ETag"]
    _measure(client, "deal invoices (304)", deal, {**auth, "If-None-Match": etag}, status=304)
    _measure(client, "contact summary (200)", contact, auth, status=200)
