"""A task travels through the configured broker (Redis in CI, in-memory locally) to a real worker."""

import pytest
from celery.contrib.testing.worker import start_worker

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
def worker(settings):
    app.conf.task_always_eager = False
    app.conf.result_backend = "cache+memory://"
    try:
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
            yield
    finally:
        app.conf.task_always_eager = True
        app.conf.result_backend = None


@pytest.mark.django_db(transaction=True)
def test_task_runs_on_a_worker_inside_the_company_scope(worker):
    from tests.personas import make_personas

    personas = make_personas()
    result = set_due_days.delay(company_id=personas.company_a.pk, days=45)
    assert result.get(timeout=20) == 1
    assert FieldMapping.all_companies.get(company=personas.company_a).due_days == 45
    assert FieldMapping.all_companies.get(company=personas.company_b).due_days == 30


@pytest.mark.django_db(transaction=True)
def test_task_without_scope_fails_on_the_worker(worker):
    result = count_mappings_unscoped.delay()
    with pytest.raises(CompanyScopeError):
        result.get(timeout=20)
