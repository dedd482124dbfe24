from django.urls import path

from tenants import apis

api_urlpatterns = [
    path("company", apis.CompanyApi.as_view(), name="api-company"),
    path("members", apis.MembershipListApi.as_view(), name="api-member-list"),
    path("members/<int:membership_id>", apis.MembershipDetailApi.as_view(), name="api-member-detail"),
]
