from django.contrib import admin

from integration.pipedrive.models import PipedriveInstallation
from tenants.admin_base import ReadOnlyAdmin

TOKEN_FIELDS = ("access_token", "refresh_token")


@admin.register(PipedriveInstallation)
class PipedriveInstallationAdmin(ReadOnlyAdmin):
    """Support sees who installed and when; tokens are never shown (not even encrypted)."""

    list_display = ["company", "pipedrive_user_id", "membership", "access_expires_at", "installed_at", "refreshed_at"]
    list_select_related = ["company", "membership__user"]
    list_filter = ["installed_at"]
    search_fields = [
        "=pipedrive_user_id",
        "=company__pipedrive_company_id",
        "company__name",
        "company__domain",
        "membership__user__email",
    ]
    fields = readonly_fields = (
        "company",
        "membership",
        "pipedrive_user_id",
        "api_domain",
        "scopes",
        "access_expires_at",
        "installed_at",
        "refreshed_at",
        "updated_at",
    )

    def get_queryset(self, request):
        return super().get_queryset(request).defer(*TOKEN_FIELDS)
