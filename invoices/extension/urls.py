"""/ext/invoicing/… — the invoicing extension's reverse API (see endpoints.py for the manifest names)."""

from django.urls import path

from invoices.extension import views

app_name = "invoicing_extension"

link = "<str:link_id>"
invoice = f"{link}/invoices/<str:invoice_id>"

urlpatterns = [
    path("manifest.json", views.manifest, name="manifest"),
    path(f"users/{link}/auth", views.ConnectUrlView.as_view(), name="connect-url"),
    path(f"{link}", views.ProviderAccountView.as_view(), name="account"),
    path(f"{link}/invoices", views.InvoicesView.as_view(), name="invoices"),
    path(f"{invoice}/action", views.InvoiceActionView.as_view(), name="invoice-action"),
    path(f"{invoice}/email", views.InvoiceEmailView.as_view(), name="invoice-email"),
    path(f"{invoice}/share", views.InvoiceShareView.as_view(), name="invoice-share"),
    path(f"{invoice}/download", views.InvoicePdfView.as_view(), name="invoice-pdf"),
    path(f"{link}/report/invoice-summary", views.SummaryView.as_view(), name="summary"),
    path(f"{link}/currencies", views.CurrenciesView.as_view(), name="currencies"),
    path(f"{link}/tax-rates", views.TaxRatesView.as_view(), name="tax-rates"),
    path(f"{link}/invoice-accounts", views.AccountsView.as_view(), name="accounts"),
    path(f"{link}/invoice-templates", views.TemplatesView.as_view(), name="templates"),
    path(f"{link}/products", views.ProductsView.as_view(), name="products"),
    path(f"{link}/products/<str:product_id>", views.ProductView.as_view(), name="product"),
    path(f"{link}/contacts", views.ContactsView.as_view(), name="contacts"),
    path(f"{link}/contacts/<str:contact_id>", views.ContactView.as_view(), name="contact"),
]
