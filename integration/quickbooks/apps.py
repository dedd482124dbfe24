from django.apps import AppConfig


class QuickBooksConfig(AppConfig):
    name = "integration.quickbooks"
    label = "quickbooks"
    verbose_name = "QuickBooks Online"

    def ready(self) -> None:
        from integration.pipedrive.signals import company_uninstalled
        from integration.quickbooks.services import on_company_uninstalled

        # Pipedrive's uninstall of a company disconnects its QuickBooks books (pipedrive never imports us).
        company_uninstalled.connect(on_company_uninstalled, dispatch_uid="quickbooks.company_uninstalled")
