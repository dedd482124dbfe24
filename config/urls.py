from django.conf import settings
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config import views
from invoices.urls import api_urlpatterns as invoice_api
from tenants.urls import api_urlpatterns as tenant_api

api_v1 = [*tenant_api, *invoice_api]

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("", include("invoices.settings_urls")),
    path("quickbooks/", include("integration.quickbooks.urls")),
    path("pipedrive/", include("integration.pipedrive.urls")),
    path("", include("invoices.urls")),
    path("ext/invoicing/", include("invoices.extension.urls")),
    path("panel/", include("invoices.panel_urls")),
    path("api/v1/", include((api_v1, "api"))),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
]

if settings.SANDBOXES_ENABLED:
    urlpatterns.append(path("sandbox/", include("integration.sandbox.urls")))
