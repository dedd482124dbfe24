"""/panel/: the Pipedrive custom UI extensions (iframes)."""

from django.urls import path

from invoices import panel_views

app_name = "panel"

urlpatterns = [
    path("deal", panel_views.deal_panel, name="deal"),
    path("invoice-modal", panel_views.invoice_modal, name="invoice-modal"),
]
