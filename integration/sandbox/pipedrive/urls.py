"""URL map of the Pipedrive sandbox, mounted at /sandbox/pipedrive/ (see README.md in this folder)."""

from django.urls import path

from integration.sandbox.pipedrive import api_views, host_views, invoicing_host, oauth_views

app_name = "pipedrive_sandbox"

# `{api_domain}` = {PUBLIC_BASE_URL}/sandbox/pipedrive/api/<company-domain>; stands in for https://<domain>.pipedrive.com
api = "api/<slug:domain>/api"

urlpatterns = [
    path("", host_views.home, name="home"),
    # oauth.pipedrive.com stand-in
    path("oauth/authorize", oauth_views.authorize, name="authorize"),
    path("oauth/token", oauth_views.token, name="token"),
    path("oauth/revoke", oauth_views.revoke, name="revoke"),
    # Marketplace "Install" button and the uninstall control
    path("install", host_views.install, name="install"),
    path("controls/uninstall", host_views.uninstall, name="uninstall"),
    path("controls/limits", host_views.limits, name="limits"),
    path("controls/outage", host_views.outage, name="outage"),
    path("controls/deal-status", host_views.deal_status, name="deal-status"),
    # API v1
    path(f"{api}/v1/users/me", api_views.users_me, name="api-users-me"),
    path(f"{api}/v1/currencies", api_views.currencies, name="api-currencies"),
    path(f"{api}/v1/webhooks", api_views.webhooks_view, name="api-webhooks"),
    path(f"{api}/v1/notes", api_views.notes, name="api-notes"),
    path(f"{api}/v1/invoice/user/provider", api_views.invoice_provider, name="api-invoice-provider"),
    # API v2
    path(f"{api}/v2/deals", api_views.deals, name="api-deals"),
    path(f"{api}/v2/deals/products", api_views.deals_products, name="api-deals-products"),
    path(f"{api}/v2/deals/<int:deal_id>", api_views.deal_detail_or_update, name="api-deal"),
    path(f"{api}/v2/deals/<int:deal_id>/products", api_views.deal_products, name="api-deal-products"),
    path(f"{api}/v2/deals/installments", api_views.deals_installments, name="api-deals-installments"),
    path(f"{api}/v2/deals/<int:deal_id>/installments", api_views.deal_installment_add, name="api-deal-installments"),
    path(
        f"{api}/v2/deals/<int:deal_id>/installments/<int:installment_id>",
        api_views.deal_installment,
        name="api-deal-installment",
    ),
    path(f"{api}/v2/persons/<int:person_id>", api_views.person_detail, name="api-person"),
    path(f"{api}/v2/organizations/<int:org_id>", api_views.organization_detail, name="api-organization"),
    path(f"{api}/v2/products", api_views.products, name="api-products"),
    path(f"{api}/v2/products/search", api_views.products_search, name="api-products-search"),
    path(f"{api}/v2/products/<int:product_id>", api_views.product_detail, name="api-product"),
    path(f"{api}/v2/dealFields", api_views.deal_fields, name="api-deal-fields"),
    path(f"{api}/v2/personFields", api_views.person_fields, name="api-person-fields"),
    path(f"{api}/v2/organizationFields", api_views.organization_fields, name="api-organization-fields"),
    path(f"{api}/v2/productFields", api_views.product_fields, name="api-product-fields"),
    # Pipedrive web app stand-in: deal detail page hosting our custom UI iframes
    path("app/<slug:domain>/deal/<int:deal_id>", host_views.deal_page, name="deal-page"),
    path("app/<slug:domain>/signed-token", host_views.signed_token, name="signed-token"),
    path("app/<slug:domain>/custom-modal", host_views.custom_modal, name="custom-modal"),
    path("app/<slug:domain>/settings/invoicing", host_views.invoicing_settings, name="invoicing-settings"),
    path("probe", host_views.probe, name="probe"),
    # Pipedrive's backend calling the app's invoicing reverse API for the deal page's Invoices tab
    path("app/<slug:domain>/invoicing/<str:name>", invoicing_host.call, name="invoicing-call"),
]
