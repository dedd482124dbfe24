from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class InvoicesConfig(AppConfig):
    name = "invoices"
    verbose_name = _("Invoices")

    def ready(self) -> None:
        from django.db.models.signals import post_save

        from integration.quickbooks.signals import connection_connected

        # Signal receivers that keep the deals' invoice figures current (money loop).
        from invoices import (
            deal_figures,  # noqa: F401
            support,  # noqa: F401  (registers the support console's actions)
        )
        from invoices.deal_figure_fields import on_quickbooks_connected
        from invoices.deal_notes import on_invoice_event
        from invoices.models import InvoiceEvent

        # Connecting QuickBooks sets up the deal fields the app owns (money loop).
        connection_connected.connect(on_quickbooks_connected, dispatch_uid="invoices.deal_fields_setup")

        # Every history event is written through InvoiceEvent; the deal notes follow from them.
        post_save.connect(on_invoice_event, sender=InvoiceEvent, dispatch_uid="invoices.deal_notes")
