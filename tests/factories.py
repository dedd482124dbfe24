"""factory-boy factories for the tenant models."""

import factory

from tenants.models import Company, FieldMapping, Membership, User


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ["email"]

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Faker("name")
    password = factory.django.Password("correct horse battery staple")


class CompanyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Company

    pipedrive_company_id = factory.Sequence(lambda n: 7000 + n)
    name = factory.Sequence(lambda n: f"Company {n}")
    domain = factory.LazyAttribute(lambda o: f"company{o.pipedrive_company_id}")
    api_domain = factory.LazyAttribute(lambda o: f"https://{o.domain}.pipedrive.com")


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership
        # Factories build fixtures for every company, so they use the unscoped manager.
        django_get_or_create = ["company", "user"]

    @classmethod
    def _get_manager(cls, model_class):
        return model_class.all_companies

    company = factory.SubFactory(CompanyFactory)
    user = factory.SubFactory(UserFactory)
    pipedrive_user_id = factory.Sequence(lambda n: 100 + n)
    is_admin = False


class FieldMappingFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = FieldMapping

    @classmethod
    def _get_manager(cls, model_class):
        return model_class.all_companies

    company = factory.SubFactory(CompanyFactory)


def reconnect_card_html() -> str:
    """The QuickBooks card of a connection that needs reconnecting, rendered in the active language
    (a stand-in connection: the template reads only these attributes)."""
    import datetime as dt
    from types import SimpleNamespace

    from django.template.loader import render_to_string

    when = dt.datetime(2026, 11, 30, 0, 29, tzinfo=dt.UTC)
    card = SimpleNamespace(
        status="needs_reconnect",
        needs_reconnect_since=when,
        refresh_hard_expires_at=when,
        get_status_display="Needs reconnecting",
        company_name="Acme",
        realm_id="1",
        owner=None,
        connected_at=when,
        home_currency="USD",
        multicurrency_enabled=False,
        get_tax_model_display="US",
        last_sync_at=when,
        link_registered_at=when,
    )
    return render_to_string("quickbooks/_connection_card.html", {"quickbooks": {"connection": card}})
