from django.urls import path

from tenants import apis, language_views, views

app_name = "tenants"

urlpatterns = [
    path("settings/", views.company_settings, name="settings"),
    path("settings/language", language_views.language_update, name="language"),
]

api_urlpatterns = [
    path("company", apis.CompanyApi.as_view(), name="api-company"),
    path("members", apis.MembershipListApi.as_view(), name="api-member-list"),
    path("members/<int:membership_id>", apis.MembershipDetailApi.as_view(), name="api-member-detail"),
]
