from django.apps import AppConfig


class InvoicesConfig(AppConfig):
    name = "invoices"
    verbose_name = "Invoices"

    def ready(self) -> None:
        # Signal receivers that keep the deals' invoice figures current (money loop).
        from invoices import deal_figures  # noqa: F401
