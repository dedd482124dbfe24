"""Factories for QuickBooks connection rows (no HTTP; tokens are placeholders)."""

from datetime import timedelta

import factory
from django.utils import timezone

from integration.quickbooks.models import QuickBooksConnection
from tests.factories import CompanyFactory


class QuickBooksConnectionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QuickBooksConnection

    @classmethod
    def _get_manager(cls, model_class):
        return model_class.all_companies

    company = factory.SubFactory(CompanyFactory)
    owner = None
    realm_id = factory.Sequence(lambda n: str(9130350000 + n))
    status = QuickBooksConnection.Status.ACTIVE
    access_token = "placeholder-access"
    refresh_token = "placeholder-refresh"
    access_expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(hours=1))
    refresh_expires_at = factory.LazyFunction(lambda: timezone.now() + timedelta(days=100))
    company_name = "Sandbox Company US"
    country = "US"
    home_currency = "USD"
    multicurrency_enabled = False
    tax_model = QuickBooksConnection.TaxModel.US
    connected_at = factory.LazyFunction(timezone.now)
