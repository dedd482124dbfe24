"""Panel API benchmark (`make bench`): the deal's invoices and the contact summary with
100 companies x 1,000 invoices, 20 concurrent clients over real HTTP on loopback.

Prints p50/p95/p99 latency per endpoint and the queries per request (which must not grow with
the number of invoices). Sizes: BENCH_COMPANIES (100), BENCH_INVOICES (1000), BENCH_REQUESTS (2000).
The server is gunicorn as in production (BENCH_WORKERS=2 processes x 4 threads on this 2-core
machine) reading the benchmark's database; BENCH_SERVER=devserver uses Django's threaded test server.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
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
REQUESTS = int(os.environ.get("BENCH_REQUESTS", 2000))
CLIENTS = 20
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
def _gunicorn(database_url: str):
    """gunicorn serving this checkout on a free loopback port, against the benchmark database."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DJANGO_SETTINGS_MODULE": "config.settings_test",
        "LOG_LEVEL": "WARNING",
    }
    workers = os.environ.get("BENCH_WORKERS", "2")
    server = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            workers,
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


def _percentiles(samples: list[float]) -> str:
    ordered = sorted(samples)

    def at(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(len(ordered) * q))]

    return f"n={len(ordered)} p50={at(0.50):6.1f} ms  p95={at(0.95):6.1f} ms  p99={at(0.99):6.1f} ms"


@pytest.mark.django_db(transaction=True)
def bench_panel_api(live_server):
    started = time.perf_counter()
    targets = _populate()
    print(f"\npopulated {COMPANIES} companies x {INVOICES} invoices in {time.perf_counter() - started:.1f} s")

    tokens = {key: panel_token(company_id=key[0], user_id=key[1], lifetime=3600) for key in targets}
    paths = {
        "deal invoices": lambda: f"/api/v1/deals/{random.randint(1, DEALS_PER_COMPANY)}/invoices",  # noqa: S311
        "contact summary": lambda: f"/api/v1/contact-invoices?deal_id={random.randint(1, DEALS_PER_COMPANY)}"  # noqa: S311
        "&date_from=2026-01-01&date_to=2026-11-27",
    }

    # Queries per request, in-process: the same for a deal with 1 invoice or with 25.
    for name, path in paths.items():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {tokens[targets[0]]}")
        with CaptureQueriesContext(db_connection) as queries:
            response = client.get(path())
        assert response.status_code == 200, response.content[:200]
        print(f"{name:<16} queries per request: {len(queries)}")

    use_gunicorn = os.environ.get("BENCH_SERVER", "gunicorn") == "gunicorn" and db_connection.vendor != "sqlite"
    with _gunicorn(_database_url()) if use_gunicorn else contextlib.nullcontext(live_server.url) as base:
        workers = os.environ.get("BENCH_WORKERS", "2")
        print("server:", f"gunicorn, {workers} workers x 4 threads" if use_gunicorn else "Django test server")
        _load(base, paths, tokens, targets)


def _load(base: str, paths: dict, tokens: dict, targets: list) -> None:
    for name, path in paths.items():
        sessions = [requests.Session() for _ in range(CLIENTS)]
        for session in sessions:  # a kept-alive connection the server closed is opened again (GET only)
            session.mount("http://", requests.adapters.HTTPAdapter(max_retries=2))

        def one(index: int, path=path, sessions=sessions) -> float:
            target = random.choice(targets)  # noqa: S311
            session = sessions[index % CLIENTS]
            began = time.perf_counter()
            response = session.get(f"{base}{path()}", headers={"Authorization": f"Bearer {tokens[target]}"}, timeout=30)
            elapsed = (time.perf_counter() - began) * 1000
            assert response.status_code == 200, response.text[:200]
            return elapsed

        began = time.perf_counter()
        with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
            samples = list(pool.map(one, range(REQUESTS)))
        wall = time.perf_counter() - began
        print(f"{name:<16} {CLIENTS} clients: {_percentiles(samples)}  ({REQUESTS / wall:.0f} req/s)")
        for session in sessions:
            session.close()
