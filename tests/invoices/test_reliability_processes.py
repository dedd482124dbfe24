"""Issue 17, faults with real processes: a create killed (exit 137, as kill -9) at each step, a
Celery worker child killed mid-task, limiter slots of dead processes.

The create child and the worker are separate Python processes on the test database, talking to the
sandbox over HTTP; the worker test needs PostgreSQL and Redis (CI has both)."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from django.db import connection as db

from invoices.models import Invoice
from tests.invoices.test_create import qbo_invoice_count
from tests.invoices.test_reliability import _assert_final, _elapse, _sweep

ROOT = Path(__file__).resolve().parents[2]
ON_POSTGRES_AND_REDIS = bool(os.environ.get("REDIS_URL")) and os.environ.get("DATABASE_URL", "").startswith("postgres")

CHILD_CREATE = """
import sys
import django
django.setup()
from integration.quickbooks.models import QuickBooksConnection
from invoices import create
from tenants.models import Membership
from tenants.scoping import company_scope
from tests.invoices.test_create import a_draft
connection = QuickBooksConnection.all_companies.get(pk=int(sys.argv[1]))
with company_scope(connection.company):
    actor = Membership.objects.get(pk=int(sys.argv[2]))
    create.invoice_create(connection=connection, draft=a_draft(), actor=actor, idempotency_key=sys.argv[3])
"""


def child_env(settings, **extra) -> dict:
    """This test's database, Redis and sandbox URLs, for another process."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings_test", "PYTHONPATH": str(ROOT)}
    conf = db.settings_dict
    if db.vendor == "postgresql":
        env["DATABASE_URL"] = f"postgres://{conf['USER']}@{conf['HOST']}:{conf['PORT']}/{conf['NAME']}"
    else:
        env["DATABASE_URL"] = f"sqlite:///{conf['NAME']}"
    for name in ("QBO_API_BASE_URL", "QBO_TOKEN_URL", "QBO_AUTHORIZE_URL", "QBO_REVOKE_URL", "QBO_APP_BASE_URL"):
        env[name] = getattr(settings, name)
    env.update(extra)
    return env


@pytest.mark.parametrize(
    ("step", "in_qbo"),
    [
        ("before_intent_commit", False),
        ("after_intent", False),
        ("before_send", False),
        ("after_qbo", True),
        ("during_write", True),
    ],
)
def test_a_create_killed_at_each_step_ends_created_once(qbo, connected, personas, settings, tmp_path, step, in_qbo):
    before = qbo_invoice_count(connected)
    key = str(uuid.uuid4())
    marker = tmp_path / "kill"
    marker.touch()
    child = subprocess.run(  # noqa: S603
        [sys.executable, "-c", CHILD_CREATE, str(connected.pk), str(personas.alice_membership.pk), key],
        env=child_env(settings, INVOICE_FAULT=f"{step}:{marker}"),
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    assert child.returncode == 137, child.stderr.decode()[-2000:]
    assert qbo_invoice_count(connected) == before + (1 if in_qbo else 0)
    rows = list(Invoice.all_companies.filter(connection=connected))
    if step == "before_intent_commit":
        assert rows == []  # nothing committed: the user's request failed, nothing to heal
        return
    assert [r.state for r in rows] == ["pending"]  # the intent survives its process
    _elapse()  # its claim (30 s) runs out
    assert _sweep() == 1
    _assert_final(connected, before, key=key, created=True)


@pytest.mark.skipif(not ON_POSTGRES_AND_REDIS, reason="a real worker needs PostgreSQL and the Redis broker")
def test_a_worker_killed_mid_task_is_replaced_and_the_create_finishes(qbo, connected, personas, settings, tmp_path):
    """acks_late + reject_on_worker_lost: the killed child's task goes back to the queue at once."""
    from config.celery import app
    from tests.invoices.test_reliability import _intent

    before = qbo_invoice_count(connected)
    intent = _intent(connected, personas)
    Invoice.all_companies.filter(pk=intent.pk).update(claimed_until=None)
    marker = tmp_path / "kill"
    marker.touch()
    app.control.purge()  # this test's Redis db: nothing left over from earlier runs
    worker = subprocess.Popen(  # noqa: S603
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "config",
            "worker",
            "--pool=prefork",
            "--concurrency=1",
            "--without-heartbeat",
            "--without-mingle",
            "--without-gossip",
            "--loglevel=INFO",
        ],
        env=child_env(settings, INVOICE_FAULT=f"before_send:{marker}", CELERY_TASK_ALWAYS_EAGER="false"),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=(tmp_path / "worker.log").open("wb"),
    )
    try:
        app.send_task(
            "invoices.submit_invoice",
            kwargs={"company_id": connected.company_id, "invoice_id": intent.pk},
        )
        deadline = time.monotonic() + 90
        while marker.exists():
            assert time.monotonic() < deadline and worker.poll() is None, "the worker never took the task"
            time.sleep(0.1)
        killed_at = time.monotonic()
        while Invoice.all_companies.get(pk=intent.pk).state == "pending":
            log = (tmp_path / "worker.log").read_text()[-3000:]
            assert time.monotonic() - killed_at < 60, f"not created within 60 s of the kill:\n{log}"
            time.sleep(0.2)
        healed_in = time.monotonic() - killed_at
    finally:
        worker.terminate()
        try:
            worker.wait(timeout=20)
        except subprocess.TimeoutExpired:
            worker.kill()
    print(f"worker child killed mid-task: created {healed_in:.1f} s later")
    _assert_final(connected, before, key=str(intent.request_id), created=True)


CHILD_HOLD_SLOTS = """
import os, sys
import redis
from integration.quickbooks.limiter import LimiterConfig, RedisLimiter
limiter = RedisLimiter(LimiterConfig(max_in_flight=4, lease_seconds=600), client=redis.Redis.from_url(sys.argv[1]),
                       prefix=sys.argv[2], server_time=True)
for _ in range(4):
    limiter.acquire("realm")
os._exit(137)
"""


@pytest.mark.skipif(not os.environ.get("REDIS_URL"), reason="the shared limiter lives in Redis")
def test_slots_held_by_a_killed_process_are_reclaimed_at_once():
    import redis

    from integration.errors import RateLimited
    from integration.quickbooks.limiter import LimiterConfig, RedisLimiter

    url, prefix = os.environ["REDIS_URL"], f"test-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DJANGO_SETTINGS_MODULE": "config.settings_test"}
    child = subprocess.run(  # noqa: S603
        [sys.executable, "-c", CHILD_HOLD_SLOTS, url, prefix], env=env, cwd=ROOT, capture_output=True, timeout=60
    )
    assert child.returncode == 137, child.stderr.decode()[-2000:]
    config = LimiterConfig(max_in_flight=4, max_wait_seconds=0.5, lease_seconds=600)
    limiter = RedisLimiter(config, client=redis.Redis.from_url(url), prefix=prefix, server_time=True)
    assert limiter.client.zcard(limiter.keys("realm")[1]) == 4  # the dead process's leases (10 min)
    started = time.monotonic()
    mine = [limiter.acquire("realm") for _ in range(4)]  # all four back at once, not after the lease
    assert time.monotonic() - started < 0.5
    with pytest.raises(RateLimited):  # live holders (this process) are never reclaimed
        limiter.acquire("realm")
    for lease in mine:
        limiter.release("realm", lease)
