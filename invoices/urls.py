from django.urls import path

from invoices import apis, lookup_apis, money_apis, money_views, panel_reads, views

app_name = "invoices"

urlpatterns = [
    path("webhooks/quickbooks", views.quickbooks_webhook, name="quickbooks-webhook"),
    path("settings/money-loop", money_views.money_loop_settings, name="money-loop-settings"),
    path("money-loop/won-not-invoiced", money_views.won_not_invoiced_page, name="won-not-invoiced"),
    path("webhooks/pipedrive", money_views.pipedrive_webhook, name="pipedrive-webhook"),
]

api_urlpatterns = [
    # GETs of the panel's two hot reads skip DRF's dispatch (issue 12); other methods go to DRF.
    path(
        "deals/<int:deal_id>/invoices",
        panel_reads.deal_invoices_endpoint(apis.DealInvoicesApi.as_view()),
        name="deal-invoices",
    ),
    path("deals/<int:deal_id>/draft", apis.DealDraftApi.as_view(), name="deal-draft"),
    path("deals/<int:deal_id>/preflight", apis.DealPreflightApi.as_view(), name="deal-preflight"),
    path("deals/<int:deal_id>/installments", money_apis.DealInstallmentsApi.as_view(), name="deal-installments"),
    path(
        "deals/<int:deal_id>/installments/<int:installment_id>/invoice",
        money_apis.InstallmentInvoiceApi.as_view(),
        name="installment-invoice",
    ),
    path("deals/<int:deal_id>/refresh", apis.DealRefreshApi.as_view(), name="deal-refresh"),
    path("invoices/<int:invoice_id>", apis.InvoiceDetailApi.as_view(), name="invoice-detail"),
    path("invoices/<int:invoice_id>/pdf", apis.InvoicePdfApi.as_view(), name="invoice-pdf"),
    path("invoices/<int:invoice_id>/deals/<int:deal_id>", apis.InvoiceDealLinkApi.as_view(), name="invoice-deal"),
    path("invoices/<int:invoice_id>/<str:action>", apis.InvoiceActionApi.as_view(), name="invoice-action"),
    path("won-not-invoiced", money_apis.WonNotInvoicedApi.as_view(), name="won-not-invoiced-api"),
    path("connection/disconnect", apis.ConnectionDisconnectApi.as_view(), name="connection-disconnect"),
    path(
        "contact-invoices",
        panel_reads.contact_invoices_endpoint(apis.ContactInvoicesApi.as_view()),
        name="contact-invoices",
    ),
    path("products/<int:product_id>/item", lookup_apis.ProductLinkApi.as_view(), name="product-item"),
    path("quickbooks/customers", lookup_apis.QboCustomerSearchApi.as_view(), name="qbo-customers"),
    path("quickbooks/items", lookup_apis.QboItemSearchApi.as_view(), name="qbo-items"),
]
