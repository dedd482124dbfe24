"""A task travels through the configured broker (Redis in CI, in-memory locally) to a real worker."""

import threading
import time

import pytest
from celery.contrib.testing.worker import start_worker
from celery.signals import task_failure, task_success

from config.celery import app
from tenants.models import FieldMapping
from tenants.scoping import CompanyScopeError, with_company_scope


@app.task(name="tests.set_due_days")
@with_company_scope
def set_due_days(*, company_id: int, days: int) -> int:
    return FieldMapping.objects.update(due_days=days)


@app.task(name="tests.count_mappings_unscoped")
def count_mappings_unscoped() -> int:
    return FieldMapping.objects.count()


@pytest.fixture
def worker():
    """A worker thread consuming from the real broker; yields the outcomes it reports."""
    outcomes: dict[str, object] = {}
    done = threading.Event()

    def on_success(sender, result, **kwargs):
        outcomes[sender.request.id] = result
        done.set()

    def on_failure(sender, task_id, exception, **kwargs):
        outcomes[task_id] = exception
        done.set()

    task_success.connect(on_success, weak=False)
    task_failure.connect(on_failure, weak=False)
    # With namespace="CELERY", the Django-style key is the one Celery reads first.
    app.conf.CELERY_TASK_ALWAYS_EAGER = False
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield outcomes
    finally:
        app.conf.CELERY_TASK_ALWAYS_EAGER = True
        task_success.disconnect(on_success)
        task_failure.disconnect(on_failure)


def wait_for(outcomes: dict, task_id: str, timeout: float = 20.0):
    deadline = time.monotonic() + timeout
    while task_id not in outcomes:
        assert time.monotonic() < deadline, "the worker never ran the task"
        time.sleep(0.05)
    return outcomes[task_id]


@pytest.mark.django_db(transaction=True)
def test_task_runs_on_a_worker_inside_the_company_scope(worker):
    from tests.personas import make_personas

    personas = make_personas()
    result = set_due_days.delay(company_id=personas.company_a.pk, days=45)
    assert wait_for(worker, result.id) == 1
    assert FieldMapping.all_companies.get(company=personas.company_a).due_days == 45
    assert FieldMapping.all_companies.get(company=personas.company_b).due_days == 30


@pytest.mark.django_db(transaction=True)
def test_task_without_scope_fails_on_the_worker(worker):
    result = count_mappings_unscoped.delay()
    assert isinstance(wait_for(worker, result.id), CompanyScopeError)
