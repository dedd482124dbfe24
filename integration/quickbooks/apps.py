from django.apps import AppConfig


class QuickBooksConfig(AppConfig):
    name = "integration.quickbooks"
    label = "quickbooks"
    verbose_name = "QuickBooks Online"
