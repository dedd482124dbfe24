"""`make chaos`: rerun issue 17's fault experiments and print numbers.

gunicorn + a Celery worker + beat on PostgreSQL and a private Redis (started here on a free
loopback port, so stopping it touches nobody else), with the QuickBooks sandbox served by the
same gunicorn. Loopback only; every wait is bounded (CHAOS_MAX_SECONDS, default 600).

Experiments:
  A. kill -9 of the worker (main process and children) mid-batch of 20 creates, then a restart;
  B. Redis down 15 s: creates and QuickBooks webhooks during the outage, then recovery;
  C. QuickBooks throttling (429 on every call for 45 s) while 5 creates are pending.
For each: lost (not created), duplicated (QBO invoices beyond rows), and seconds to heal after
the fault ended.

Settings: CHAOS_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/chaos_invoices; the
database is dropped and re-created), CHAOS_MAX_SECONDS.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from anywhere: the project is importable
PY = sys.executable
DEADLINE = time.monotonic() + float(os.environ.get("CHAOS_MAX_SECONDS", "600"))
procs: dict[str, subprocess.Popen] = {}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_until(what: str, check, limit: float) -> float | None:
    """Seconds until check() is true, or None after `limit` (or the global deadline)."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > limit or time.monotonic() > DEADLINE:
            print(f"    ! gave up waiting for {what} after {time.monotonic() - started:.0f} s")
            return None
        time.sleep(0.5)
    return time.monotonic() - started


def start(name: str, args: list[str], env: dict, log_dir: Path) -> None:
    log = (log_dir / f"{name}.log").open("ab")
    procs[name] = subprocess.Popen(args, env=env, cwd=ROOT, stdout=log, stderr=log, start_new_session=True)  # noqa: S603


def stop(name: str, sig=signal.SIGTERM) -> None:
    proc = procs.pop(name, None)
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, sig)  # the process group this script started (worker children included)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def recreate_database(url: str) -> None:
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def main() -> int:
    database = os.environ.get("CHAOS_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/chaos_invoices")
    work = Path(tempfile.mkdtemp(prefix="chaos-"))
    redis_port, web_port = free_port(), free_port()
    base = f"http://127.0.0.1:{web_port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database,
        "REDIS_URL": f"redis://127.0.0.1:{redis_port}/0",
        "PUBLIC_BASE_URL": base,
        "SANDBOXES_ENABLED": "true",
        "HEAL_SECONDS": "5",
        "LOG_LEVEL": "WARNING",
        "INVOICE_RETRY_MAX_SECONDS": "20",  # the backoff cap, scaled down so the run stays short
    }
    redis_args = ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--dir", str(work)]
    worker_args = [PY, "-m", "celery", "-A", "config", "worker", "--pool=prefork", "--concurrency=2", "-l", "WARNING"]
    try:
        recreate_database(database)
        start("redis", redis_args, env, work)
        subprocess.run([PY, "manage.py", "migrate", "--noinput", "-v", "0"], env=env, cwd=ROOT, check=True)  # noqa: S603
        start("web", [PY, "-m", "gunicorn", "config.wsgi:application", "--bind", f"127.0.0.1:{web_port}",
                      "--workers", "3", "--timeout", "90"], env, work)  # fmt: skip
        start("worker", worker_args, env, work)
        beat_args = [PY, "-m", "celery", "-A", "config", "beat", "-s", str(work / "beat"), "-l", "WARNING"]
        start("beat", beat_args, env, work)
        os.environ.update(env)
        import django

        django.setup()
        return experiments(base=base, env=env, work=work, worker_args=worker_args, redis_args=redis_args)
    finally:
        for name in list(procs):
            stop(name)
        print(f"logs: {work}")
        if os.environ.get("CHAOS_KEEP_LOGS") != "1":
            shutil.rmtree(work, ignore_errors=True)


def experiments(*, base, env, work, worker_args, redis_args) -> int:
    import requests
    from django.test import Client

    from integration.quickbooks.models import QuickBooksConnection
    from integration.sandbox.quickbooks import controls, seed
    from integration.sandbox.quickbooks.models import SandboxEntity, SandboxWebhookDelivery
    from invoices import create, create_queue, tasks
    from invoices.models import Invoice
    from tenants.models import Membership
    from tenants.scoping import company_scope
    from tests.integration.quickbooks.helpers import connect
    from tests.invoices.test_create import a_draft
    from tests.personas import make_personas

    wait_until("gunicorn", lambda: _up(requests, base), 60)
    controls.reset()
    personas = make_personas()
    client = Client()
    client.force_login(personas.alice)
    connect(client, realm_id=seed.US_REALM_ID)
    connection = QuickBooksConnection.all_companies.get(company=personas.company_a)
    actor = Membership.all_companies.get(pk=personas.alice_membership.pk)

    def qbo_invoices() -> int:
        return SandboxEntity.objects.filter(realm__realm_id=seed.US_REALM_ID, entity="Invoice").count()

    def intents(n: int) -> list[int]:
        ids = []
        with company_scope(connection.company):
            for _n in range(n):
                draft = a_draft()
                draft.customer.qbo_customer_id, draft.customer.name = "3", "Red Rock Diner"
                invoice = create_queue.record_intent(connection=connection, draft=draft, actor=actor, key=uuid.uuid4())
                Invoice.objects.filter(pk=invoice.pk).update(claimed_until=None)
                ids.append(invoice.pk)
        return ids

    def report(name: str, ids: list[int], healed: float | None, before_qbo: int) -> bool:
        rows = Invoice.all_companies.filter(pk__in=ids)
        created = rows.filter(state="created").count()
        failed = rows.filter(state="failed").count()
        extra = qbo_invoices() - before_qbo - created
        healed_text = f"{healed:.1f} s" if healed is not None else "not healed"
        lost = len(ids) - created
        print(f"  {name}: {len(ids)} accepted, {created} created, {failed} failed, {lost} lost, ", end="")
        print(f"{max(extra, 0)} duplicated in QBO; healed {healed_text} after the fault")
        return created == len(ids) and extra == 0 and healed is not None and healed <= 60

    ok = True
    print("chaos: gunicorn + worker + beat, PostgreSQL, private Redis, QBO sandbox")

    # A. kill -9 of the worker mid-batch
    before = qbo_invoices()
    ids = intents(20)
    with company_scope(connection.company):
        for pk in ids:
            tasks.submit_invoice.delay(company_id=connection.company_id, invoice_id=pk)
    time.sleep(1.0)
    stop("worker", signal.SIGKILL)
    time.sleep(3)
    start("worker", worker_args, env, work)
    healed = wait_until("A", lambda: not Invoice.all_companies.filter(pk__in=ids, state="pending").exists(), 180)
    ok &= report("A worker kill -9", ids, healed, before)

    # B. Redis down 15 s: creates answer pending (intent stored), webhooks are stored and answered 200
    before = qbo_invoices()
    paid_targets = list(Invoice.all_companies.filter(pk__in=ids, state="created").values_list("qbo_id", flat=True)[:5])
    stop("redis", signal.SIGKILL)
    during = []
    with company_scope(connection.company):
        for _n in range(5):
            draft = a_draft()
            draft.customer.qbo_customer_id, draft.customer.name = "3", "Red Rock Diner"
            answer = create.invoice_create(
                connection=connection, draft=draft, actor=actor, idempotency_key=str(uuid.uuid4())
            )
            during.append(answer.pk)
    first_delivery = SandboxWebhookDelivery.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    for qbo_id in paid_targets:
        controls.record_payment(realm_id=seed.US_REALM_ID, invoice_id=qbo_id)
    codes = list(SandboxWebhookDelivery.objects.filter(pk__gt=first_delivery).values_list("status_code", flat=True))
    time.sleep(max(0.0, 15 - 2))
    start("redis", redis_args, env, work)
    healed = wait_until(
        "B",
        lambda: not Invoice.all_companies.filter(pk__in=during, state="pending").exists()
        and Invoice.all_companies.filter(qbo_id__in=paid_targets, status="paid").count() == len(paid_targets),
        180,
    )
    print(f"  B webhooks during the outage answered {sorted(set(codes))} ({len(codes)} deliveries)")
    ok &= report("B Redis down 15 s", during, healed, before)

    # C. 45 s of QuickBooks throttling (429) while creates are pending
    before = qbo_invoices()
    ids = intents(5)
    controls.inject_failure(kind="429", count=100_000, realm_id=seed.US_REALM_ID)
    with company_scope(connection.company):
        for pk in ids:
            tasks.submit_invoice.delay(company_id=connection.company_id, invoice_id=pk)
    time.sleep(45)
    controls.clear_failures()
    healed = wait_until("C", lambda: not Invoice.all_companies.filter(pk__in=ids, state="pending").exists(), 240)
    attempts = list(Invoice.all_companies.filter(pk__in=ids).values_list("attempts", flat=True))
    print(f"  C attempts per create during the throttle: {attempts}")
    ok &= report("C 429 for 45 s", ids, healed, before)
    print("chaos:", "OK" if ok else "FAILED")
    return 0 if ok else 1


def _up(requests, base: str) -> bool:
    try:
        return requests.get(f"{base}/healthz", timeout=2).status_code < 500
    except requests.RequestException:
        return False


if __name__ == "__main__":
    sys.exit(main())
