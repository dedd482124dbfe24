"""Panel API benchmark (`make bench`): the bare view (/healthz) and the panel's reads side by side,
with 100 companies x 1,000 invoices on PostgreSQL, `wrk` with 20 connections on loopback.

Prints each endpoint's requests/s, p50/p99 latency and its ratio to the bare view run just before it
(each run is paired with its own bare-view run), plus the queries per request (which must not grow
with the number of invoices). The runs: /readyz (a bare view with one round trip each to PostgreSQL
and Redis: the floor of any read); the deal's invoices (random company and deal, a 200 each time);
the same with a matching If-None-Match (304); the contact summary; first with the remembered answers
off (every read from PostgreSQL), then on, as in production (invoices/panel_cache.py).
Sizes: BENCH_COMPANIES (100), BENCH_INVOICES (1000), BENCH_SECONDS (10). The server is gunicorn as
issue 12 measured it (BENCH_WORKERS=2 processes x 4 threads, DEBUG off); a run is repeated (up to 5
times) when one worker got most of wrk's keep-alive connections (`_connections_per_worker`).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from decimal import Decimal

import pytest
import requests
from django.db import connection as db_connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from integration.quickbooks.models import QuickBooksConnection
from invoices.models import Invoice, InvoiceDeal, InvoiceEvent
from tenants.models import Company, FieldMapping, Membership, User
from tests.personas import panel_token

COMPANIES = int(os.environ.get("BENCH_COMPANIES", 100))
INVOICES = int(os.environ.get("BENCH_INVOICES", 1000))
DURATION = int(os.environ.get("BENCH_SECONDS", 10))
CLIENTS = 20
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))  # gunicorn processes, 4 threads each
BALANCED = 0.7  # the most connections one worker may hold in a measured run (share of CLIENTS)
ETAG_DEALS = 4  # deals per company whose ETag the revalidation run sends
VERBOSE = os.environ.get("BENCH_VERBOSE") == "1"  # print wrk's own report too
WRK = shutil.which("wrk") or "/usr/bin/wrk"
DEALS_PER_COMPANY = 40  # 25 invoices on each deal
STATUSES = ["open", "overdue", "partially_paid", "paid", "voided"]


def _populate() -> list[tuple[int, int, int]]:
    """(pipedrive company id, pipedrive user id, deal id) for every company."""
    targets = []
    today = dt.date(2026, 11, 27)
    for n in range(COMPANIES):
        company = Company.objects.create(pipedrive_company_id=50_000 + n, name=f"Bench {n}", domain=f"bench{n}")
        FieldMapping.all_companies.create(company=company)
        user = User.objects.create(email=f"owner{n}@bench.test")
        owner = Membership.all_companies.create(company=company, user=user, pipedrive_user_id=900 + n, is_admin=True)
        connection = QuickBooksConnection.all_companies.create(
            company=company, owner=owner, realm_id=str(10**15 + n), status="active", home_currency="USD"
        )
        invoices = [
            Invoice(
                company=company,
                connection=connection,
                request_id=uuid.uuid4(),
                state="created",
                qbo_id=str(i + 1),
                doc_number=f"{n}-{i}",
                customer_qbo_id=str(i % 50),
                customer_name=f"Customer {i % 50}",
                currency="USD" if i % 4 else "EUR",
                total=Decimal("100.00"),
                balance=Decimal("40.00"),
                txn_date=today - dt.timedelta(days=i % 365),
                due_date=today - dt.timedelta(days=(i % 60) - 30),
                status=STATUSES[i % len(STATUSES)],
            )
            for i in range(INVOICES)
        ]
        Invoice.all_companies.bulk_create(invoices, batch_size=1000)
        InvoiceDeal.all_companies.bulk_create(
            [
                InvoiceDeal(company=company, invoice=inv, deal_id=1 + i % DEALS_PER_COMPANY)
                for i, inv in enumerate(invoices)
            ],
            batch_size=1000,
        )
        InvoiceEvent.all_companies.bulk_create(
            [
                InvoiceEvent(company=company, invoice=inv, kind="created", actor=owner, message="Created")
                for inv in invoices
            ],
            batch_size=1000,
        )
        targets.append((company.pipedrive_company_id, owner.pipedrive_user_id))
    return targets


@contextlib.contextmanager
def _gunicorn(database_url: str, *, cache_bytes: int):
    """gunicorn serving this checkout on a free loopback port, against the benchmark database."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "LOG_LEVEL": "WARNING",
        "DJANGO_DEBUG": "false",  # as in production: no query log kept per request
        "PANEL_CACHE_BYTES_IN_TESTS": str(cache_bytes),  # the remembered answers (invoices/panel_cache.py)
    }
    server = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(WORKERS),
            "--threads",
            "4",
            "--log-level",
            "warning",
        ],
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            with contextlib.suppress(requests.RequestException):
                if requests.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


def _database_url() -> str:
    settings = db_connection.settings_dict
    if db_connection.vendor == "sqlite":
        return f"sqlite:///{settings['NAME']}"
    password = f":{settings['PASSWORD']}" if settings.get("PASSWORD") else ""
    return (
        f"postgres://{settings['USER']}{password}@{settings['HOST'] or '127.0.0.1'}:{settings['PORT'] or 5432}"
        f"/{settings['NAME']}"
    )


WRK_SCRIPT = """
-- One random company (its own token) and deal per request; %(body)s
local seats = {%(seats)s}
local deals = %(deals)d
math.randomseed(%(seed)d)
request = function()
  local seat = seats[math.random(#seats)]
  local deal = math.random(deals)
  local path = string.gsub("%(path)s", "{deal}", tostring(deal))
  local headers = {["Authorization"] = "Bearer " .. seat.token}
  %(conditional)s
  return wrk.format("GET", path, headers)
end
"""


def _fresh_tokens(seats: list[dict]) -> None:
    """Panel tokens live 5 minutes (integration/pipedrive/jwt.py), the whole benchmark longer: each
    run gets new ones."""
    for seat in seats:
        seat["token"] = panel_token(company_id=seat["company"], user_id=seat["user"])


def _wrk(
    base: str,
    *,
    name: str,
    path: str,
    seats: list[dict] | None = None,
    conditional: bool = False,
    deals: int = DEALS_PER_COMPANY,
    seconds: int = DURATION,
) -> dict:
    """wrk -c20 for DURATION seconds; its requests/s and latency percentiles (wrk --latency)."""
    _fresh_tokens(seats or [])
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        lua_seats = ", ".join(
            "{{token = {}, etags = {{{}}}}}".format(
                json.dumps(s["token"]), ", ".join(json.dumps(e) for e in s.get("etags", []))
            )
            for s in seats or []
        )
        script.write(
            WRK_SCRIPT
            % {
                "body": name,
                "seats": lua_seats or '{token = ""}',
                "deals": deals,
                "seed": 12,
                "path": path,
                "conditional": 'headers["If-None-Match"] = seat.etags[deal]' if conditional else "",
            }
        )
    try:
        wrk = subprocess.Popen(  # noqa: S603
            [WRK, "-t", "2", "-c", str(CLIENTS), "-d", f"{seconds}s", "--latency", "-s", script.name, base],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(min(1.0, seconds / 4))
        spread = _connections_per_worker(base)
        output, errors = wrk.communicate(timeout=seconds + 60)
        if wrk.returncode:
            raise AssertionError(f"wrk failed ({wrk.returncode}): {errors}")
    finally:
        os.unlink(script.name)
    if VERBOSE:
        print(output)
    return {**_parse_wrk(output), "spread": spread}


def _connections_per_worker(base: str) -> tuple[int, ...]:
    """How wrk's connections are spread over gunicorn's workers (most first), read with `ss`: a
    gthread worker keeps the keep-alive connections it accepted, and now and then one worker wins
    all 20 (seen here: the other idle for a whole run, the throughput halved, bare view included)."""
    port = base.rsplit(":", 1)[1]
    listing = subprocess.run(  # noqa: S603
        ["ss", "-Htnp", "state", "established", f"( sport = :{port} )"],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    counts: dict[str, int] = {}
    for pid in re.findall(r"pid=(\d+)", listing):
        counts[pid] = counts.get(pid, 0) + 1
    return tuple(sorted(counts.values(), reverse=True))


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text).groups()
    return float(number) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}[unit]


def _parse_wrk(output: str) -> dict:
    latency = dict(re.findall(r"^\s+(50|99)%\s+(\S+)\s*$", output, re.MULTILINE))
    rps = float(re.search(r"Requests/sec:\s+([0-9.]+)", output).group(1))
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", output)
    errors = re.search(r"Socket errors: (.*)", output)
    if bad or errors:
        raise AssertionError(f"wrk saw failures:\n{output}")
    return {"rps": rps, "p50": _ms(latency["50"]), "p99": _ms(latency["99"])}


def _balanced(base: str, **kwargs) -> dict:
    """A wrk run whose connections reached every worker about evenly (no worker with more than
    BALANCED of them); up to 5 tries, the last one kept (and shown) otherwise."""
    for _ in range(5):
        result = _wrk(base, **kwargs)
        spread = result["spread"]
        if len(spread) == WORKERS and spread[0] <= BALANCED * CLIENTS:
            break
    return result


def _paired(base: str, name: str, path: str, **kwargs) -> dict:
    """The run, right after a run of the same server's bare view (/healthz) of the same length, both
    with their connections spread over the workers: the machine's speed drifts from one run to the
    next, so each ratio compares neighbours."""
    bare = _balanced(base, name="bare view /healthz", path="/healthz")
    return {**_balanced(base, name=name, path=path, **kwargs), "bare": bare["rps"], "bare_spread": bare["spread"]}


@pytest.mark.django_db(transaction=True)
def bench_panel_api():
    if db_connection.vendor == "sqlite":
        # Numbers from SQLite would say nothing about production: refuse, do not skip silently.
        pytest.fail("the panel API benchmark needs PostgreSQL: set DATABASE_URL (README, Performance)")
    started = time.perf_counter()
    targets = _populate()
    with db_connection.cursor() as cursor:
        # Planner statistics, as a production table has them (autovacuum would catch up later).
        cursor.execute("ANALYZE")
    print(f"\npopulated {COMPANIES} companies x {INVOICES} invoices in {time.perf_counter() - started:.1f} s")

    deal_path = "/api/v1/deals/{deal}/invoices"
    contact_path = "/api/v1/contact-invoices?deal_id={deal}&date_from=2026-01-01&date_to=2026-11-27"
    # Queries per request, in-process: the same for a deal with 1 invoice or with 25.
    for name, path in (("deal invoices", deal_path), ("contact summary", contact_path)):
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {panel_token(company_id=targets[0][0], user_id=targets[0][1])}")
        with CaptureQueriesContext(db_connection) as fresh:
            client.get(path.replace("{deal}", "2"))  # the member and connection read, then remembered
        with CaptureQueriesContext(db_connection) as queries:
            response = client.get(path.replace("{deal}", "1"))
        assert response.status_code == 200, response.content[:200]
        with CaptureQueriesContext(db_connection) as revalidation:
            again = client.get(path.replace("{deal}", "1"), HTTP_IF_NONE_MATCH=response["ETag"])
        assert again.status_code == 304
        print(
            f"{name:<16} queries per request: {len(queries)} (200), {len(revalidation)} (304),"
            f" {len(fresh)} (200, first read of a member in a process); body {len(response.content):,} bytes"
        )

    seats = [{"company": c, "user": u} for c, u in targets]
    _fresh_tokens(seats)
    print(f"server: gunicorn, {WORKERS} workers x 4 threads; load: wrk, {CLIENTS} connections, {DURATION} s each")
    results: dict[str, dict] = {}
    # 1. Nothing remembered (PANEL_CACHE_BYTES=0): every read is answered from PostgreSQL, as the first
    #    read of a deal in a process, or the first after its company's data changed, is.
    with _gunicorn(_database_url(), cache_bytes=0) as base:
        for seat in seats:
            seat["etags"] = [
                requests.get(
                    base + deal_path.replace("{deal}", str(deal)),
                    headers={"Authorization": f"Bearer {seat['token']}"},
                    timeout=30,
                ).headers["ETag"]
                for deal in range(1, ETAG_DEALS + 1)
            ]
        runs = [
            # The floor of any read: a bare view with a round trip to PostgreSQL (SELECT 1) and Redis.
            ("/readyz (DB+Redis)", "/readyz", {}),
            ("deal invoices", deal_path, {"seats": seats}),
            ("deal invoices 304", deal_path, {"seats": seats, "conditional": True, "deals": ETAG_DEALS}),
            ("contact summary", contact_path, {"seats": seats}),
        ]
        results.update({f"db: {name}": _paired(base, name, path, **kwargs) for name, path, kwargs in runs})
    # 2. As in production: each process remembers its answers until PostgreSQL's notice that their
    #    company changed (invoices/panel_cache.py). The deals each rep has opened (ETAG_DEALS per
    #    company) are read once unmeasured, then again: what a rep reloading or revalidating gets.
    with _gunicorn(_database_url(), cache_bytes=64 * 2**20) as base:
        for path in (deal_path, contact_path):
            _wrk(base, name="warm-up", path=path, seats=seats, deals=ETAG_DEALS, seconds=3)
        runs = [
            ("deal invoices", deal_path, {"seats": seats, "deals": ETAG_DEALS}),
            ("deal invoices 304", deal_path, {"seats": seats, "conditional": True, "deals": ETAG_DEALS}),
            ("contact summary", contact_path, {"seats": seats, "deals": ETAG_DEALS}),
        ]
        results.update({f"again: {name}": _paired(base, name, path, **kwargs) for name, path, kwargs in runs})
        # Any of the company's 40 deals, after 10 s of the same load unmeasured: what is left to read
        # from PostgreSQL once the processes have seen most deals (each process remembers its own).
        _wrk(base, name="warm-up", path=deal_path, seats=seats, seconds=10)
        results["again: deal invoices, any deal"] = _paired(base, "any deal", deal_path, seats=seats)
    print(
        f"{'endpoint':<32} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'bare req/s':>11} {'bare/this':>10}"
        "  connections per worker (bare, this)"
    )
    for name, result in results.items():
        ratio = result["bare"] / result["rps"]
        spread = "/".join(map(str, result["bare_spread"])) + ", " + "/".join(map(str, result["spread"]))
        print(
            f"{name:<32} {result['rps']:>8.0f} {result['p50']:>8.1f} {result['p99']:>8.1f}"
            f" {result['bare']:>11.0f} {ratio:>9.2f}x  {spread}"
        )
