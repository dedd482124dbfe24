import pytest
from django.db import IntegrityError, transaction
from django.test import RequestFactory

from config.celery import app as celery_app
from tenants.middleware import CompanyScopeMiddleware
from tenants.models import Company, FieldMapping, Membership
from tenants.scoping import CompanyScopeError, company_scope, current_company, unscoped, with_company_scope
from tests.factories import CompanyFactory, MembershipFactory


def test_query_without_scope_raises(personas):
    with pytest.raises(CompanyScopeError, match="outside a company scope"):
        Membership.objects.all()
    with pytest.raises(CompanyScopeError):
        FieldMapping.objects.filter(due_days=30)


def test_scope_shows_only_the_company_rows(personas):
    with company_scope(personas.company_a):
        emails = sorted(Membership.objects.values_list("user__email", flat=True))
        assert emails == ["alice@acme.test", "bob@acme.test"]
        assert not Membership.objects.filter(pk=personas.charlie_membership.pk).exists()
    with company_scope(personas.company_b):
        assert list(Membership.objects.values_list("user__email", flat=True)) == ["charlie@borealis.test"]


def test_scope_is_restored_after_the_block(personas):
    with company_scope(personas.company_a):
        with company_scope(personas.company_b):
            assert current_company() == personas.company_b
        assert current_company() == personas.company_a
    with pytest.raises(CompanyScopeError):
        current_company()


def test_unscoped_needs_a_reason_and_sees_everything(personas):
    with pytest.raises(ValueError), unscoped(reason=""):
        pass
    with unscoped(reason="support: list all memberships"):
        assert Membership.objects.count() == 3
    assert Membership.all_companies.count() == 3


def test_create_for_another_company_inside_a_scope_is_refused(personas):
    with company_scope(personas.company_a), pytest.raises(CompanyScopeError):
        Membership.objects.create(company=personas.company_b, user=personas.alice, pipedrive_user_id=99)
    with company_scope(personas.company_a), pytest.raises(CompanyScopeError):
        Membership.objects.create(company_id=personas.company_b.pk, user=personas.alice, pipedrive_user_id=99)
    assert not Membership.all_companies.filter(pipedrive_user_id=99).exists()


def test_create_inside_a_scope_defaults_to_that_company(personas):
    other = CompanyFactory()
    with company_scope(other):
        mapping = FieldMapping.objects.create(due_days=14)
    assert mapping.company == other


def test_database_enforces_one_field_mapping_per_company(personas):
    with pytest.raises(IntegrityError), transaction.atomic():
        FieldMapping.all_companies.create(company=personas.company_a)


def test_request_without_a_company_runs_without_scope(personas):
    """In a request, an anonymous visitor (no seat) gets no scope: tenant queries raise."""
    from django.contrib.auth.models import AnonymousUser
    from django.contrib.sessions.backends.db import SessionStore

    def view(request):
        return list(Membership.objects.all())

    request = RequestFactory().get("/")
    request.user = AnonymousUser()
    request.session = SessionStore()
    with pytest.raises(CompanyScopeError):
        CompanyScopeMiddleware(view)(request)


def test_request_of_a_member_runs_in_their_company(personas):
    def view(request):
        return sorted(Membership.objects.values_list("user__email", flat=True))

    from django.contrib.sessions.backends.db import SessionStore

    request = RequestFactory().get("/")
    request.user = personas.charlie
    request.session = SessionStore()
    request.session.create()
    assert CompanyScopeMiddleware(view)(request) == ["charlie@borealis.test"]


@celery_app.task
def count_memberships_unscoped_task(company_id: int) -> int:
    return Membership.objects.count()


@celery_app.task
@with_company_scope
def count_memberships_task(*, company_id: int) -> int:
    return Membership.objects.count()


def test_celery_task_without_scope_raises(personas):
    with pytest.raises(CompanyScopeError):
        count_memberships_unscoped_task.apply(kwargs={"company_id": personas.company_a.pk}).get()


def test_celery_task_with_company_scope_decorator(personas):
    assert count_memberships_task.apply(kwargs={"company_id": personas.company_a.pk}).get() == 2
    assert count_memberships_task.apply(kwargs={"company_id": personas.company_b.pk}).get() == 1


def test_company_scope_decorator_requires_company_id(personas):
    with pytest.raises(CompanyScopeError, match="company_id"):
        count_memberships_task.apply(args=[]).get()


def test_every_model_with_a_company_fk_uses_the_scoped_manager():
    from django.apps import apps

    from tenants.managers import CompanyScopedManager

    offenders = []
    for model in apps.get_models():
        if model is Company:
            continue
        fields = [f for f in model._meta.get_fields() if getattr(f, "related_model", None) is Company]
        has_company_fk = any(f.name == "company" and f.many_to_one for f in fields)
        if getattr(model, "UNSCOPED_REASON", ""):
            continue  # a documented support-only model
        if has_company_fk and not isinstance(model.__dict__.get("objects") or model.objects, CompanyScopedManager):
            offenders.append(model.__name__)
    assert not offenders, f"tenant models without the fail-closed manager: {offenders}"


def test_membership_factory_for_company_b_is_invisible_to_a(personas):
    extra = MembershipFactory(company=personas.company_b)
    with company_scope(personas.company_a):
        assert not Membership.objects.filter(pk=extra.pk).exists()
