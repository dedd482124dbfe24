from django.contrib import admin

from integration.pipedrive.models import PipedriveInstallation


@admin.register(PipedriveInstallation)
class PipedriveInstallationAdmin(admin.ModelAdmin):
    """Support sees who installed and when; tokens are never shown (not even encrypted)."""

    list_display = ["company", "pipedrive_user_id", "membership", "access_expires_at", "installed_at", "refreshed_at"]
    list_select_related = ["company", "membership__user"]
    search_fields = ["=pipedrive_user_id", "=company__pipedrive_company_id", "company__name"]
    fields = [
        "company",
        "membership",
        "pipedrive_user_id",
        "api_domain",
        "scopes",
        "access_expires_at",
        "installed_at",
        "refreshed_at",
        "updated_at",
    ]
    readonly_fields = fields

    def has_add_permission(self, request):
        return False  # installations come from Pipedrive's OAuth flow only

    def has_change_permission(self, request, obj=None):
        return False
