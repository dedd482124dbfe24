"""The company settings page. It lives in invoices (it reads Pipedrive's and QuickBooks' lists for the
invoice mapping) but keeps its URL name `tenants:settings`, which links, redirects and bookmarks use."""

from django.urls import path

from invoices import settings_views
from tenants import language_views

app_name = "tenants"

urlpatterns = [
    path("settings/", settings_views.company_settings, name="settings"),
    # The member's own language (tenants/language.py), a section of the same page.
    path("settings/language", language_views.language_update, name="language"),
]
